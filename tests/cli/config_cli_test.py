#!/usr/bin/env python3
"""Runs the real `feedmerge check-config`, `import-opml` and `export-opml` on the shipped
configs and on the fixtures in tests/data/config, in a scratch folder.

Usage: config_cli_test.py --feedmerge BIN --data tests/data/config --configs config [-v]

Errors must come as one stderr line per problem, "FILE:LINE:COLUMN: KEY: WHAT", with exit
status 1 and nothing on stdout. Prints "N passed, M failed" last and exits 1 when anything
failed. Standard library only (tomllib needs Python 3.11, as Debian 12 has).
"""

import argparse
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import xml.etree.ElementTree as ET

TIMEOUT_SECONDS = 60


class Runner:
    def __init__(self, feedmerge, verbose):
        self.feedmerge = feedmerge
        self.verbose = verbose
        self.passed = 0
        self.failed = 0

    def run(self, *args, stdin=None):
        return subprocess.run([self.feedmerge, *map(str, args)], input=stdin, capture_output=True,
                              timeout=TIMEOUT_SECONDS)

    def check(self, name, condition, detail=""):
        if condition:
            self.passed += 1
            if self.verbose:
                print(f"ok   {name}")
        else:
            self.failed += 1
            print(f"FAIL {name}" + (f"\n     {detail}" if detail else ""))


def text(data):
    return data.decode("utf-8", errors="replace")


def check_config_tests(t, configs, scratch):
    for name, outputs in (("feedmerge.toml", 9), ("demo.toml", 4)):
        path = configs / name
        r = t.run("check-config", "--config", path)
        match = re.fullmatch(re.escape(str(path)) + r": ok \((\d+) feeds?, (\d+) outputs?\)\n",
                             text(r.stdout))
        t.check(f"check-config accepts config/{name}",
                r.returncode == 0 and match is not None and int(match.group(2)) == outputs
                and r.stderr == b"", f"status {r.returncode}, stdout {r.stdout!r}, stderr {r.stderr!r}")
        if name == "feedmerge.toml" and match:
            feeds = int(match.group(1))
            t.check("config/feedmerge.toml lists 20 to 40 feeds", 20 <= feeds <= 40, f"{feeds} feeds")

    bad = scratch / "bad.toml"
    bad.write_text('[poll]\ninterval = "30 minutes"\nconcurency = 4\n\n[[feed]]\n'
                   'url = "ftp://example.com/feed"\n', encoding="utf-8")
    r = t.run("check-config", "--config", bad)
    expected = (f'{bad}:2:12: poll.interval: expected a duration like "30m"\n'
                f'{bad}:3:1: poll.concurency: unknown key (did you mean "concurrency"?)\n'
                f'{bad}:6:7: feed[1].url: expected an http, https or file URL, got '
                f'"ftp://example.com/feed"\n')
    t.check("check-config prints every problem as FILE:LINE:COLUMN: KEY: WHAT and exits 1",
            r.returncode == 1 and r.stdout == b"" and text(r.stderr) == expected,
            f"status {r.returncode}, stdout {r.stdout!r}, stderr {text(r.stderr)!r}")

    syntax = scratch / "syntax.toml"
    syntax.write_text("[poll\n", encoding="utf-8")
    r = t.run("check-config", "--config", syntax)
    t.check("a TOML syntax error is reported with its position",
            r.returncode == 1 and re.fullmatch(re.escape(str(syntax)) + r":1:\d+: .+\n",
                                               text(r.stderr)) is not None, text(r.stderr))

    missing = scratch / "missing.toml"
    r = t.run("check-config", "--config", missing)
    t.check("a missing config file is one line without a position",
            r.returncode == 1 and text(r.stderr) == f"{missing}: cannot read: No such file or directory\n",
            text(r.stderr))


def import_tests(t, data, scratch):
    opml = data / "subscriptions-2.0.opml"
    r = t.run("import-opml", opml)
    try:
        feeds = tomllib.loads(text(r.stdout)).get("feed", [])
    except tomllib.TOMLDecodeError as e:
        feeds = []
        t.check("import-opml prints valid TOML", False, str(e))
    got = [(f["url"], f.get("category", "")) for f in feeds]
    t.check("import-opml prints one [[feed]] per outline, folders as categories",
            r.returncode == 0 and got == [
                ("https://feeds.arstechnica.com/arstechnica/index", "Tech"),
                ("https://www.theverge.com/rss/index.xml", "Tech"),
                ("https://lwn.net/headlines/rss", "Tech/Linux"),
                ("http://www.phoronix.com/rss.php", "Tech/Linux"),
                ("https://krebsonsecurity.com/feed/", "Security & Privacy"),
                ("https://news.ycombinator.com/rss", "Community/Links"),
            ], f"status {r.returncode}, feeds {got}")
    warnings = text(r.stderr).splitlines()
    t.check("import-opml warns about skipped outlines with their lines",
            len(warnings) == 2 and warnings[0].startswith(f"{opml}:21: warning: ")
            and warnings[1].startswith(f"{opml}:22: warning: "), text(r.stderr))

    missing = scratch / "missing.opml"
    r = t.run("import-opml", missing)
    t.check("a missing OPML file is named once, without a position",
            r.returncode == 1 and text(r.stderr) == f"{missing}: error: No such file or directory\n",
            text(r.stderr))

    r = t.run("import-opml", "-", stdin=opml.read_bytes())
    t.check("import-opml reads standard input", r.returncode == 0 and r.stdout.count(b"[[feed]]") == 6,
            text(r.stderr))

    not_opml = scratch / "feed.xml"
    not_opml.write_text('<?xml version="1.0"?>\n<rss version="2.0"><channel/></rss>\n', encoding="utf-8")
    r = t.run("import-opml", not_opml)
    t.check("import-opml refuses a document that is not OPML",
            r.returncode == 1 and r.stdout == b""
            and text(r.stderr) == f"{not_opml}:2:1: not an OPML document: the root element is <rss>\n",
            text(r.stderr))

    config = scratch / "feedmerge.toml"
    shutil.copyfile(data / "commented.toml", config)
    original = config.read_bytes()
    r = t.run("import-opml", opml, "--config", config, "--append")
    t.check("import-opml --append reports what it did",
            r.returncode == 0 and text(r.stdout) ==
            f"{config}: appended 4 feeds, skipped 2 already listed; the old file is {config}.bak\n",
            f"status {r.returncode}, stdout {r.stdout!r}, stderr {text(r.stderr)!r}")
    updated = config.read_bytes()
    t.check("import-opml --append keeps the file byte for byte before the new tables",
            updated.startswith(original) and updated.count(b"[[feed]]") == 2 + 4)
    backup = pathlib.Path(str(config) + ".bak")
    t.check("import-opml --append leaves the old file as FILE.bak",
            backup.is_file() and backup.read_bytes() == original)
    r = t.run("check-config", "--config", config)
    t.check("the appended config is valid", r.returncode == 0, text(r.stderr))

    r = t.run("import-opml", opml, "--config", config, "--append")
    t.check("appending again adds nothing and writes no new backup",
            r.returncode == 0 and config.read_bytes() == updated
            and not pathlib.Path(str(config) + ".bak.1").exists(), text(r.stdout))


def same_feed_tests(t, data, scratch):
    """Issues 13 and 17: one feed in several spellings is one feed, said with both places."""
    twice = data / "same-feed-twice.toml"
    r = t.run("check-config", "--config", twice)
    warnings = text(r.stderr).splitlines()
    t.check("check-config keeps one feed of each spelling and exits 0",
            r.returncode == 0 and text(r.stdout) == f"{twice}: ok (4 feeds, 1 output)\n",
            f"status {r.returncode}, stdout {r.stdout!r}, stderr {text(r.stderr)!r}")
    t.check("check-config names both places of a feed listed twice",
            warnings == [
                f'{twice}:9:7: warning: feed[2].url: "https://example.com/feed" is the same feed as '
                f'feed[1].url "http://example.com/feed/" (line 5, column 7); keeping feed[1], '
                f'ignoring feed[2]',
                f'{twice}:13:7: warning: feed[3].url: "feed://example.com:80/feed/" is the same '
                f'feed as feed[1].url "http://example.com/feed/" (line 5, column 7); keeping '
                f'feed[1], ignoring feed[3]',
                f'{twice}:19:7: warning: feed[5].url: "http://127.1:8080/news.xml?#latest" is the '
                f'same feed as feed[4].url "http://127.0.0.1:8080/news.xml" (line 16, column 7); '
                f'keeping feed[4], ignoring feed[5]',
                f'{twice}:25:7: warning: feed[7].url: "http://LOCALHOST.:80/local.xml" is the same '
                f'feed as feed[6].url "http://localhost/local.xml" (line 22, column 7); keeping '
                f'feed[6], ignoring feed[7]',
            ], text(r.stderr))

    r = t.run("export-opml", "--config", twice)
    t.check("a feed listed twice is exported once",
            r.returncode == 0 and r.stdout.count(b"xmlUrl=") == 4, text(r.stdout))

    hazards = data / "subscriptions-hazards.opml"
    r = t.run("import-opml", hazards)
    try:
        urls = [f["url"] for f in tomllib.loads(text(r.stdout)).get("feed", [])]
    except tomllib.TOMLDecodeError as e:
        urls = [str(e)]
    t.check("import-opml never imports a cloud metadata address, nor one feed twice",
            r.returncode == 0 and urls == [
                "http://127.0.0.1:8080/feed.xml", "http://LOCALHOST./feed.xml",
                "https://10.1.2.3/rss", "http://[fe80::1]/rss", "https://example.com/feed/",
                "https://example.org/rss"], str(urls))
    lines = text(r.stderr).splitlines()
    by_line = {}
    for line in lines:
        match = re.match(re.escape(str(hazards)) + r":(\d+): warning: (.*)", line)
        if match:
            by_line[int(match.group(1))] = match.group(2)
    t.check("import-opml warns about loopback, private and link-local feeds at their lines",
            all(" is on a " + kind + " address" in by_line.get(n, "") for n, kind in
                ((8, "loopback"), (10, "loopback"), (11, "private"), (12, "link-local"))),
            text(r.stderr))
    t.check("import-opml refuses every metadata address, named at its line",
            all("a cloud metadata address" in by_line.get(n, "") and by_line[n].startswith("skipped")
                for n in (15, 16, 17, 18, 19)), text(r.stderr))
    t.check("import-opml names the line an equivalent feed was first listed on",
            all(by_line.get(n, "").endswith("already listed on line 22") for n in (23, 24, 25))
            and by_line.get(9, "").endswith("already listed on line 8")
            and len(lines) == len(by_line) == 13, text(r.stderr))

    # Appending: the configured form is kept, and the warning names both files' lines.
    config = scratch / "same-feed.toml"
    config.write_text('[[output]]\npath = "/feed.xml"\n\n[[output]]\npath = "/local.xml"\n'
                      'categories = ["local"]\n\n'
                      '[[feed]]\nurl = "http://example.com/feed"\ncategory = "News"\n',
                      encoding="utf-8")
    r = t.run("import-opml", hazards, "--config", config, "--append")
    lines = text(r.stderr).splitlines()
    t.check("import-opml --append keeps the configured form of a feed the list repeats",
            r.returncode == 0 and text(r.stdout).startswith(f"{config}: appended 5 feeds, skipped 1 "
                                                            "already listed")
            and f'{hazards}:22: warning: skipped "https://example.com/feed/": the same feed as '
                f'"http://example.com/feed" at {config}:8, which is kept' in lines,
            f"stdout {r.stdout!r}, stderr {text(r.stderr)!r}")
    t.check("import-opml warns once per category no [[output]] filter takes",
            f'{hazards}:8: warning: category "Local" matches no [[output]] categories (they are '
            f'"local"): its feeds appear only in the outputs without categories' in lines
            and sum("matches no [[output]]" in line for line in lines) == 2, text(r.stderr))
    r = t.run("check-config", "--config", config)
    t.check("the appended config has one of each feed and no warning",
            r.returncode == 0 and r.stderr == b"" and b"(6 feeds, 2 outputs)" in r.stdout,
            f"stdout {r.stdout!r}, stderr {text(r.stderr)!r}")


def export_tests(t, configs):
    path = configs / "feedmerge.toml"
    r = t.run("export-opml", "--config", path)
    try:
        root = ET.fromstring(r.stdout)
    except ET.ParseError as e:
        t.check("export-opml prints well-formed XML", False, str(e))
        return
    urls = [o.get("xmlUrl") for o in root.iter("outline") if o.get("xmlUrl")]
    expected = [f["url"] for f in tomllib.loads(path.read_text(encoding="utf-8"))["feed"]]
    t.check("export-opml lists every configured feed as OPML 2.0",
            r.returncode == 0 and root.tag == "opml" and root.get("version") == "2.0"
            and sorted(urls) == sorted(expected), f"{len(urls)} of {len(expected)} feeds")
    folders = [o.get("text") for o in root.find("body") if o.get("xmlUrl") is None]
    t.check("export-opml makes one folder per category", folders == [
        "news", "community", "devices", "linux", "security", "blogs"], str(folders))


def help_tests(t):
    for command in ("check-config", "import-opml", "export-opml"):
        r = t.run(command, "--help")
        t.check(f"{command} --help", r.returncode == 0 and b"--config" in r.stdout, text(r.stdout))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feedmerge", required=True)
    parser.add_argument("--data", required=True, type=pathlib.Path, help="tests/data/config")
    parser.add_argument("--configs", required=True, type=pathlib.Path, help="the config/ folder")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()

    t = Runner(args.feedmerge, args.verbose)
    with tempfile.TemporaryDirectory(prefix="feedmerge-config-cli-") as folder:
        scratch = pathlib.Path(folder)
        check_config_tests(t, args.configs.resolve(), scratch)
        import_tests(t, args.data.resolve(), scratch)
        same_feed_tests(t, args.data.resolve(), scratch)
        export_tests(t, args.configs.resolve())
        help_tests(t)
    print(f"{t.passed} passed, {t.failed} failed")
    return 1 if t.failed else 0


if __name__ == "__main__":
    sys.exit(main())
