#!/usr/bin/env python3
"""Runs the real `feedmerge parse` on every fixture in tests/data/parse and on the other ways a
source can be given (stdin, file:// URL, http:// from a local server, a missing file).

Usage: parse_cli_test.py --feedmerge BIN --data tests/data/parse [-v]

A fixture with a golden must exit 0 and print JSON equal (as a value) to the golden; a fixture
with an .expected-error must exit 1, print nothing on stdout and exactly one stderr line
"SOURCE:LINE:COLUMN: error: WHAT" whose position equals the expected one and whose WHAT
contains the expected text, ignoring ASCII case (tests/data/parse/README.md). Prints
"N passed, M failed" last and exits 1 when anything failed. Standard library only.
"""

import argparse
import http.server
import json
import os
import pathlib
import re
import subprocess
import sys
import threading

DOCUMENT_SUFFIXES = (".xml", ".rss", ".atom", ".rdf", ".json")
GOLDEN = ".expected.json"
EXPECTED_ERROR = ".expected-error"
TIMEOUT_SECONDS = 60


# ---- fixtures and comparison (the same rules as tests/support/golden.cpp) ---------------------

class Fixture:
    def __init__(self, root, document):
        self.document = document
        self.name = document.relative_to(root).as_posix()
        stem = document.with_suffix("")
        self.golden = sidecar(stem, GOLDEN)
        self.expected_error = sidecar(stem, EXPECTED_ERROR)
        self.content_type = read_sidecar(sidecar(stem, ".content-type"))
        self.base_url = read_sidecar(sidecar(stem, ".base-url"))

    def options(self):
        args = []
        if self.content_type:
            args += ["--content-type", self.content_type]
        if self.base_url:
            args += ["--base-url", self.base_url]
        return args


def sidecar(stem, suffix):
    path = stem.parent / (stem.name + suffix)
    return path if path.is_file() else None


def read_sidecar(path):
    if path is None:
        return ""
    lines = path.read_text(encoding="utf-8").splitlines()
    return lines[0].strip() if lines else ""


def find_fixtures(root):
    fixtures = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix in DOCUMENT_SUFFIXES and not path.name.endswith(GOLDEN):
            fixtures.append(Fixture(root, path))
    return fixtures


def show(value):
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 300 else text[:300] + "..."


def json_differences(expected, actual, path=""):
    """Every differing JSON path, as golden.cpp reports them."""
    where = path or "(document)"
    number = (int, float)
    if (isinstance(expected, number) and not isinstance(expected, bool)
            and isinstance(actual, number) and not isinstance(actual, bool)):
        return [] if expected == actual else ["%s: expected %s, got %s" % (where, show(expected), show(actual))]
    if type(expected) is not type(actual):
        return ["%s: expected %s, got %s" % (where, show(expected), show(actual))]
    out = []
    if isinstance(expected, dict):
        for key, value in expected.items():
            sub = key if not path else path + "." + key
            if key in actual:
                out += json_differences(value, actual[key], sub)
            else:
                out.append("%s: missing, expected %s" % (sub, show(value)))
        for key, value in actual.items():
            if key not in expected:
                out.append("%s: unexpected %s" % (key if not path else path + "." + key, show(value)))
    elif isinstance(expected, list):
        if len(expected) != len(actual):
            out.append("%s: expected %d elements, got %d" % (where, len(expected), len(actual)))
        for i, (e, a) in enumerate(zip(expected, actual)):
            out += json_differences(e, a, "%s[%d]" % (path, i))
        for i in range(len(actual), len(expected)):
            out.append("%s[%d]: missing, expected %s" % (path, i, show(expected[i])))
        for i in range(len(expected), len(actual)):
            out.append("%s[%d]: unexpected %s" % (path, i, show(actual[i])))
    elif expected != actual:
        out.append("%s: expected %s, got %s" % (where, show(expected), show(actual)))
    return out


EXPECTED_ERROR_RE = re.compile(r"^(\d+):(\d+): error: (.+)$")


def error_problems(source, expected_line, stderr_text):
    """Problems with a refusal's stderr, or [] when it matches the expected-error line."""
    m = EXPECTED_ERROR_RE.match(expected_line)
    if not m:
        return ["expected-error file is not 'LINE:COLUMN: error: TEXT': %r" % expected_line]
    lines = stderr_text.splitlines()
    if len(lines) != 1:
        return ["expected exactly one stderr line, got %d: %r" % (len(lines), stderr_text)]
    prefix = source + ":"
    if not lines[0].startswith(prefix):
        return ["stderr does not start with %r: %r" % (prefix, lines[0])]
    got = EXPECTED_ERROR_RE.match(lines[0][len(prefix):])
    if not got:
        return ["stderr is not 'SOURCE:LINE:COLUMN: error: WHAT': %r" % lines[0]]
    problems = []
    if (got.group(1), got.group(2)) != (m.group(1), m.group(2)):
        problems.append("position: expected %s:%s, got %s:%s"
                        % (m.group(1), m.group(2), got.group(1), got.group(2)))
    if m.group(3).lower() not in got.group(3).lower():
        problems.append("message: expected it to contain %r, got %r" % (m.group(3), got.group(3)))
    return problems


# ---- running the binary ----------------------------------------------------------------------

class Runner:
    def __init__(self, binary, verbose):
        self.binary = binary
        self.verbose = verbose
        self.passed = 0
        self.failed = 0

    def run(self, args, stdin=None):
        # A proxy from the environment must not intercept the local test server.
        env = dict(os.environ, NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
        return subprocess.run([self.binary] + args, input=stdin, capture_output=True,
                              timeout=TIMEOUT_SECONDS, env=env)

    def record(self, name, problems):
        if problems:
            self.failed += 1
            print("FAIL %s" % name)
            for problem in problems:
                print("  " + problem)
        else:
            self.passed += 1
            if self.verbose:
                print("ok   %s" % name)

    def expect_json(self, name, args, golden_value, stdin=None, transform=None):
        try:
            result = self.run(args, stdin)
        except subprocess.TimeoutExpired:
            self.record(name, ["timed out after %d s" % TIMEOUT_SECONDS])
            return None
        stderr = result.stderr.decode("utf-8", "replace")
        if result.returncode != 0:
            self.record(name, ["exit status %d, stderr: %s" % (result.returncode, stderr.strip())])
            return None
        try:
            actual = json.loads(result.stdout.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            self.record(name, ["stdout is not UTF-8 JSON (%s): %r" % (e, result.stdout[:200])])
            return None
        if golden_value is not None:
            expected = transform(golden_value) if transform else golden_value
            self.record(name, json_differences(expected, actual))
        return actual

    def expect_refusal(self, name, args, source, expected_line, stdin=None):
        try:
            result = self.run(args, stdin)
        except subprocess.TimeoutExpired:
            self.record(name, ["timed out after %d s" % TIMEOUT_SECONDS])
            return
        problems = []
        if result.returncode != 1:
            problems.append("exit status %d, expected 1" % result.returncode)
        if result.stdout:
            problems.append("stdout must be empty, got %r" % result.stdout[:200])
        problems += error_problems(source, expected_line, result.stderr.decode("utf-8", "replace"))
        self.record(name, problems)


def load_golden(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


# ---- a local HTTP server that sends a chosen Content-Type ------------------------------------

class Routes(http.server.BaseHTTPRequestHandler):
    routes = {}  # path -> (content type, body bytes)

    def do_GET(self):  # noqa: N802 (the name http.server calls)
        route = self.routes.get(self.path)
        if route is None:
            self.send_error(404, "no such feed")
            return
        content_type, body = route
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # keep the test output clean
        pass


def start_server(routes):
    Routes.routes = routes
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Routes)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


# ---- the checks ------------------------------------------------------------------------------

def check_fixtures(runner, fixtures):
    for fixture in fixtures:
        source = str(fixture.document)
        args = ["parse", source] + fixture.options()
        name = "fixture %s" % fixture.name
        if fixture.golden and fixture.expected_error:
            runner.record(name, ["has both a golden and an expected error"])
        elif fixture.golden:
            runner.expect_json(name, args, load_golden(fixture.golden))
        elif fixture.expected_error:
            runner.expect_refusal(name, args, source, read_sidecar(fixture.expected_error))
        else:
            runner.record(name, ["has neither %s nor %s" % (GOLDEN, EXPECTED_ERROR)])


def check_sources(runner, data):
    basic = data / "rss2.0" / "basic.xml"
    basic_golden = load_golden(data / "rss2.0" / "basic.expected.json")

    runner.expect_json("stdin: parse - reads standard input", ["parse", "-"], basic_golden,
                       stdin=basic.read_bytes())
    html = data / "refused" / "html-page.xml"
    runner.expect_refusal("stdin: a refused document is reported as '-'", ["parse", "-"], "-",
                          read_sidecar(data / "refused" / "html-page.expected-error"),
                          stdin=html.read_bytes())

    runner.expect_json("file:// URL source", ["parse", basic.resolve().as_uri()], basic_golden)

    missing = str(data / "rss2.0" / "no-such-file.xml")
    result = runner.run(["parse", missing])
    problems = []
    if result.returncode != 1:
        problems.append("exit status %d, expected 1" % result.returncode)
    if result.stdout:
        problems.append("stdout must be empty, got %r" % result.stdout[:200])
    stderr = result.stderr.decode("utf-8", "replace")
    if len(stderr.splitlines()) != 1 or not stderr.startswith(missing + ":"):
        problems.append("expected one stderr line starting with %r, got %r" % (missing + ":", stderr))
    runner.record("a missing file exits 1 with one line naming it", problems)

    for args in (["--help"], ["parse", "--help"]):
        result = runner.run(args)
        problems = []
        if result.returncode != 0:
            problems.append("exit status %d, expected 0" % result.returncode)
        if b"parse" not in result.stdout:
            problems.append("help on stdout should mention 'parse': %r" % result.stdout[:300])
        runner.record("feedmerge %s exits 0" % " ".join(args), problems)


def check_http(runner, data):
    rss = data / "rss2.0"
    cyrillic = rss / "encoding-windows-1251-charset-from-content-type.xml"
    relative = rss / "relative-links-base-url.xml"
    routes = {
        "/cp1251.xml": ("application/rss+xml; charset=windows-1251", cyrillic.read_bytes()),
        "/no-charset.xml": ("application/rss+xml", cyrillic.read_bytes()),
        "/blog/feed.xml": ("application/rss+xml", relative.read_bytes()),
    }
    server = start_server(routes)
    try:
        base = "http://127.0.0.1:%d" % server.server_address[1]

        # The body has no encoding declaration: only the real header says windows-1251.
        runner.expect_json("http: the Content-Type charset of the response is used",
                           ["parse", base + "/cp1251.xml"],
                           load_golden(rss / "encoding-windows-1251-charset-from-content-type.expected.json"))

        # Control: the same bytes without the charset must not come out as that Cyrillic text.
        actual = runner.expect_json("http: the same body without a charset", ["parse", base + "/no-charset.xml"], None)
        if actual is not None:
            problems = []
            if actual.get("title") == "Кодировка из заголовка":
                problems.append("decoded as windows-1251 without being told: the header is not what decides")
            runner.record("http: without the charset the body is not read as windows-1251", problems)

        # The URL a document was fetched from is its base: the golden's --base-url
        # (https://example.com/blog/feed.xml) becomes this server's URL, and the
        # protocol-relative //cdn.example.net/2 takes this server's scheme.
        def rebase(value):
            if isinstance(value, str):
                return (value.replace("https://example.com/", base + "/")
                        .replace("https://cdn.example.net/", "http://cdn.example.net/"))
            if isinstance(value, list):
                return [rebase(v) for v in value]
            if isinstance(value, dict):
                return {k: rebase(v) for k, v in value.items()}
            return value

        runner.expect_json("http: relative links resolve against the fetched URL",
                           ["parse", base + "/blog/feed.xml"],
                           load_golden(rss / "relative-links-base-url.expected.json"), transform=rebase)

        missing = base + "/gone.xml"
        result = runner.run(["parse", missing])
        problems = []
        if result.returncode != 1:
            problems.append("exit status %d, expected 1" % result.returncode)
        if result.stdout:
            problems.append("stdout must be empty, got %r" % result.stdout[:200])
        stderr = result.stderr.decode("utf-8", "replace")
        if len(stderr.splitlines()) != 1 or not stderr.startswith(missing + ":"):
            problems.append("expected one stderr line starting with %r, got %r" % (missing + ":", stderr))
        runner.record("http: a 404 exits 1 with one line naming the URL", problems)
    finally:
        server.shutdown()
        server.server_close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feedmerge", required=True, help="the feedmerge binary")
    parser.add_argument("--data", required=True, help="tests/data/parse")
    parser.add_argument("-v", "--verbose", action="store_true", help="list passing checks too")
    args = parser.parse_args()

    binary = os.path.abspath(args.feedmerge)
    data = pathlib.Path(args.data).resolve()
    if not os.access(binary, os.X_OK):
        print("not an executable: %s" % binary)
        print("0 passed, 1 failed")
        return 1
    fixtures = find_fixtures(data)
    if not fixtures:
        print("no fixtures under %s" % data)
        print("0 passed, 1 failed")
        return 1

    runner = Runner(binary, args.verbose)
    check_fixtures(runner, fixtures)
    check_sources(runner, data)
    check_http(runner, data)
    print("%d passed, %d failed" % (runner.passed, runner.failed))
    return 1 if runner.failed else 0


if __name__ == "__main__":
    sys.exit(main())
