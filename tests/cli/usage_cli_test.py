#!/usr/bin/env python3
"""The feedmerge command behaves like the tools people know: --config before or after the
command, FEEDMERGE_CONFIG, "did you mean", exit statuses 0/1/2 and nothing else, an example in
every --help, a man page that documents every command, `once` and `run` logging each line once
to standard error, and TOML syntax errors told as FILE:LINE:COLUMN: what to do.

Usage: usage_cli_test.py --feedmerge BIN --configs config --man man/feedmerge.1

Runs the real binary on copies of the demo config in a scratch folder (file: feeds only, the
server on 127.0.0.1 port 0). Prints "N passed, M failed" last and exits 1 when anything failed.
"""

import argparse
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

TIMEOUT_SECONDS = 60


class Runner:
    def __init__(self, feedmerge, cwd):
        self.feedmerge = feedmerge
        self.cwd = cwd
        self.passed = 0
        self.failed = 0

    def run(self, *args, env=None, stdout=subprocess.PIPE):
        environment = {k: v for k, v in os.environ.items() if k != "FEEDMERGE_CONFIG"}
        environment.update(env or {})
        return subprocess.run([self.feedmerge, *map(str, args)], cwd=self.cwd, env=environment,
                              stdout=stdout, stderr=subprocess.PIPE, text=True,
                              timeout=TIMEOUT_SECONDS)

    def check(self, name, condition, detail=""):
        if condition:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL {name}" + (f"\n     {detail}" if detail else ""))


def show(r):
    return f"status {r.returncode}, stdout {r.stdout!r}, stderr {r.stderr!r}"


def config_tests(t, config):
    ok = f"{config}: ok ("
    before = t.run("--config", config, "check-config")
    after = t.run("check-config", "--config", config)
    t.check("--config before the command", before.returncode == 0 and before.stdout.startswith(ok),
            show(before))
    t.check("--config after the command", after.returncode == 0 and after.stdout.startswith(ok),
            show(after))
    same = t.run("--config", config, "check-config", "--config", config)
    t.check("the same --config before and after", same.returncode == 0, show(same))
    twice = t.run("--config", config, "check-config", "--config", "other.toml")
    t.check("two different --config files are a usage error (2)",
            twice.returncode == 2 and "--config given twice" in twice.stderr, show(twice))

    from_env = t.run("check-config", env={"FEEDMERGE_CONFIG": str(config)})
    t.check("FEEDMERGE_CONFIG names the config when --config is absent",
            from_env.returncode == 0 and from_env.stdout.startswith(ok), show(from_env))
    flag_wins = t.run("check-config", "--config", config, env={"FEEDMERGE_CONFIG": "nowhere.toml"})
    t.check("--config wins over FEEDMERGE_CONFIG",
            flag_wins.returncode == 0 and flag_wins.stdout.startswith(ok), show(flag_wins))
    default = t.run("check-config")
    t.check("without either, /etc/feedmerge/feedmerge.toml",
            "/etc/feedmerge/feedmerge.toml" in default.stdout + default.stderr
            and default.returncode in (0, 1), show(default))
    nested = t.run("story", "--config", "missing.toml", "merge", "1", "2")
    t.check("--config between `story` and `merge` reaches the command",
            nested.returncode == 1 and nested.stderr.startswith("missing.toml: cannot read"),
            show(nested))


def usage_tests(t, config):
    cases = [
        (["chek-config"], 'feedmerge: unknown command "chek-config"; did you mean "check-config"?'),
        (["--config", config, "exprot-opml"], 'did you mean "export-opml"?'),
        (["check"], 'did you mean "check-config"?'),
        (["story", "mrege", "1", "2"],
         'feedmerge story: unknown command "mrege"; did you mean "merge"?'),
        (["frobnicate"], 'unknown command "frobnicate"; the commands are parse, check-config'),
    ]
    for args, expected in cases:
        r = t.run(*args)
        t.check(f"`feedmerge {' '.join(map(str, args))}` suggests, status 2",
                r.returncode == 2 and expected in r.stderr and r.stdout == "", show(r))

    usage_errors = [
        [],
        ["check-config", "--bogus"],
        ["parse"],
        ["parse", "a.xml", "b.xml"],
        ["story"],
        ["story", "merge", "one", "two"],
        ["stories", "--since", "soon", "--config", config],
        ["feeds", "--json=maybe", "--config", config],
        ["render", "--config", config],
    ]
    for args in usage_errors:
        r = t.run(*args)
        t.check(f"`feedmerge {' '.join(map(str, args))}` is a usage error (2)",
                r.returncode == 2 and r.stderr != "", show(r))
    since = t.run("stories", "--since", "soon", "--config", config)
    t.check("a malformed --since says what it expected",
            'expected a duration like "24h", got "soon"' in since.stderr, show(since))

    for args in (["--help"], ["--version"], ["run", "--help"], ["story", "merge", "--help"]):
        r = t.run(*args)
        t.check(f"`feedmerge {' '.join(args)}` exits 0", r.returncode == 0 and r.stdout, show(r))

    bad = pathlib.Path(t.cwd) / "bad.toml"
    bad.write_text('[poll]\ninterval = "soon"\n', encoding="utf-8")
    r = t.run("check-config", "--config", bad)
    t.check("an invalid config is status 1", r.returncode == 1, show(r))
    r = t.run("parse", pathlib.Path(t.cwd) / "no-such-feed.xml")
    t.check("an unreadable feed is status 1", r.returncode == 1, show(r))

    # A reader that went away: the write fails (status 1), no death by SIGPIPE (-13).
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        r = t.run("export-opml", "--config", config, stdout=write_end)
    finally:
        os.close(write_end)
    t.check("a closed standard output is status 1, not SIGPIPE", r.returncode == 1, show(r))


COMMANDS = ["run", "once", "feeds", "check-config", "parse", "import-opml", "export-opml",
            "render", "stories", "why", "story", "story merge", "story split", "migrate-store"]


def help_and_man_tests(t, man_page):
    listed = t.run("--help").stdout
    top = re.findall(r"^  (\S+)\s{2,}", listed.split("Subcommands:", 1)[-1], re.M)
    t.check("--help lists every command", sorted(top) == sorted(c for c in COMMANDS if " " not in c),
            top)
    for command in [""] + COMMANDS:
        r = t.run(*command.split(), "--help")
        example = re.search(r"^Examples?:\n  feedmerge ", r.stdout, re.M)
        t.check(f"`feedmerge {command} --help` ends with an example",
                r.returncode == 0 and example is not None, r.stdout[-600:])

    troff = man_page.read_text(encoding="utf-8")
    commands_section = troff.split(".SH COMMANDS", 1)[-1].split("\n.SH ", 1)[0]
    for command in COMMANDS:
        if command == "story":
            continue  # documented as its two commands
        pattern = r"^\.B " + re.escape(command.replace("-", r"\-")) + r"(\s|$)"
        t.check(f"man/feedmerge.1 documents `{command}`",
                re.search(pattern, commands_section, re.M) is not None)
    status = troff.split(".SH EXIT STATUS", 1)[-1].split("\n.SH ", 1)[0]
    t.check("the man page gives exit statuses 0, 1 and 2",
            all(re.search(rf"^\.B {n}$", status, re.M) for n in (0, 1, 2)), status)
    t.check("the man page documents FEEDMERGE_CONFIG", "FEEDMERGE_CONFIG" in troff)


def message(line):
    """A log line without spdlog's "[time] [logger] [level]" prefix."""
    return re.sub(r"^(\[[^]]*\] )+", "", line)


def logging_tests(t, folder):
    config = folder / "demo.toml"
    (folder / "samples" / "tech-news.rss").write_text("this is not a feed", encoding="utf-8")
    r = t.run("once", "--all", "--config", config)
    summary = re.fullmatch(r"polled \d+ feeds: .* (\d+) failed; .*\n", r.stdout)
    t.check("once prints only its summary on standard output", summary is not None, show(r))
    t.check("once counts the broken feed", summary is not None and summary.group(1) == "1",
            r.stdout)
    failures = [line for line in r.stderr.splitlines() if "tech-news.rss" in line]
    t.check("once logs the failing feed once, on standard error", len(failures) == 1,
            r.stderr[-2000:])
    lines = [message(line) for line in r.stderr.splitlines()]
    repeated = {line for line in lines if lines.count(line) > 1}
    t.check("once prints no line twice", not repeated, repeated)

    # run: the same log stream; one "stopped" after SIGTERM, sent once the daemon said
    # READY=1 (its signal handlers are in place by then) on a notify socket of our own.
    notify_path = str(folder / "notify.sock")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)
    notify.settimeout(TIMEOUT_SECONDS)
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("FEEDMERGE_CONFIG", "JOURNAL_STREAM", "INVOCATION_ID")}
    environment["NOTIFY_SOCKET"] = notify_path
    process = subprocess.Popen([t.feedmerge, "run", "--config", config], cwd=folder,
                               env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        ready = False
        while not ready:
            ready = b"READY=1" in notify.recv(4096).split(b"\n")
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=TIMEOUT_SECONDS)
    finally:
        notify.close()
        if process.poll() is None:
            process.kill()
            process.communicate()
    lines = [message(line) for line in err.splitlines()]
    t.check("run logs to standard error, nothing to standard output", out == "" and lines, out)
    t.check("run exits 0 after SIGTERM", process.returncode == 0, process.returncode)
    t.check("run logs `stopped` once", lines.count("stopped") == 1, lines[-5:])
    repeated = {line for line in lines if lines.count(line) > 1}
    t.check("run prints no line twice", not repeated, repeated)


def interrupted_once_tests(t, folder):
    """SIGINT while `once` waits on a feed that never answers: status 1, not death by signal."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    server.settimeout(TIMEOUT_SECONDS)
    port = server.getsockname()[1]
    config = folder / "silent.toml"
    config.write_text(f'[storage]\ndatabase = "silent.db"\n\n[[feed]]\n'
                      f'url = "http://127.0.0.1:{port}/feed.xml"\n', encoding="utf-8")
    process = subprocess.Popen([t.feedmerge, "once", "--all", "--config", config], cwd=folder,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        connection, _ = server.accept()  # the fetch is in flight
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=TIMEOUT_SECONDS)
        connection.close()
    finally:
        server.close()
        if process.poll() is None:
            process.kill()
            process.communicate()
    t.check("once stopped by SIGINT exits 1 and says it was interrupted",
            process.returncode == 1 and "interrupted" in err, f"status {process.returncode}, {err!r}")


def syntax_error_tests(t):
    broken = pathlib.Path(t.cwd) / "syntax.toml"
    broken.write_text('[poll]\ninterval = "30m\nconcurrency = 4\n', encoding="utf-8")
    r = t.run("check-config", "--config", broken)
    t.check("a TOML syntax error reads FILE:LINE:COLUMN: what to do",
            r.returncode == 1 and r.stdout == ""
            and r.stderr == f'{broken}:2:12: unterminated string; close it with "\n', show(r))
    broken.write_text('[poll]\ninterval = 30m\n', encoding="utf-8")
    r = t.run("run", "--config", broken)
    t.check("run reports it the same way",
            r.returncode == 1 and r.stderr == f'{broken}:2:12: text must be quoted: write "30m"\n',
            show(r))


def parse_error_tests(t):
    # Port 1 on loopback: refused at once, no other host is ever contacted.
    url = "http://127.0.0.1:1/feed.xml"
    r = t.run("parse", url)
    t.check("a feed URL that cannot be fetched is named without :0:0",
            r.returncode == 1 and r.stderr.startswith(f"{url}: error: ") and ":0:0" not in r.stderr
            and r.stderr.count(url) == 1 and r.stderr.count("\n") == 1, show(r))
    missing = pathlib.Path(t.cwd) / "missing.xml"
    r = t.run("parse", missing)
    t.check("a file that cannot be read is named without :0:0",
            r.returncode == 1 and r.stderr.startswith(f"{missing}: error: ")
            and r.stderr.count(str(missing)) == 1, show(r))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--feedmerge", required=True)
    ap.add_argument("--configs", required=True, help="the repository's config/ folder")
    ap.add_argument("--man", required=True, help="man/feedmerge.1")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = pathlib.Path(tmp)
        shutil.copytree(pathlib.Path(args.configs) / "samples", folder / "samples")
        demo = (pathlib.Path(args.configs) / "demo.toml").read_text(encoding="utf-8")
        demo = demo.replace('listen = "127.0.0.1:8080"', 'listen = "127.0.0.1:0"')
        demo = demo.replace('level = "debug"', 'level = "info"')
        (folder / "demo.toml").write_text(demo, encoding="utf-8")
        t = Runner(os.path.abspath(args.feedmerge), str(folder))
        config = folder / "demo.toml"
        config_tests(t, config)
        usage_tests(t, config)
        help_and_man_tests(t, pathlib.Path(args.man))
        syntax_error_tests(t)
        parse_error_tests(t)
        logging_tests(t, folder)
        interrupted_once_tests(t, folder)
    print(f"{t.passed} passed, {t.failed} failed")
    return 1 if t.failed else 0


if __name__ == "__main__":
    sys.exit(main())
