#!/usr/bin/env python3
"""The hostile-input suite: every case under tests/data/hostile/ (generate.py there says what each
attacks) goes through the real pipeline. A local raw-socket server on 127.0.0.1 serves documents
with a feed Content-Type and writes *.http files byte for byte as the whole response; one
`feedmerge once --all` polls every case as a feed (fetch, parse, normalise, store); each document
also goes through `feedmerge parse` alone so that a crash names its case. Checks: no process dies
of a signal, every case was polled, PRAGMA integrity_check is ok, every stored text is valid UTF-8
free of the characters XML 1.0 forbids.
Then `feedmerge run` serves what was stored: each requests/*.http is written byte for byte to its
server, and the statuses that come back, in order, before it closes the connection must be those
of requests/expected.json (a refused request is answered once and nothing after it is). Last,
1,000 clients connect at once (past the 512-connection limit): every one must get an answer,
200 or 503 with Retry-After, none a silent close."""
import argparse
import gzip
import json
import os
import re
import resource
import select
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

MIN_CASES = 150
REQUEST_GROUP = "requests"  # requests to our own server, not documents to poll
BURST_CLIENTS = 1000
FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
CONTENT_TYPES = {"json": "application/feed+json"}


def load_cases(root):
    cases = {}
    for group in sorted(os.listdir(root)):
        folder = os.path.join(root, group)
        if not os.path.isdir(folder) or group == REQUEST_GROUP:
            continue
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            data = open(path, "rb").read()
            if name.endswith(".gz"):
                data = gzip.decompress(data)
                name = name[:-3]
            cases[f"{group}/{name}"] = data
    return cases


class RawServer:
    """Answers GET /CASE with the case's bytes: documents behind a plain 200, .http files as is."""

    def __init__(self, cases):
        self.cases = cases
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(256)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        with conn:
            try:
                conn.settimeout(30)
                request = b""
                while b"\r\n\r\n" not in request and len(request) < 65536:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    request += chunk
                path = request.split(b" ", 2)[1].decode("latin-1").lstrip("/")
                data = self.cases.get(path)
                if data is None:
                    conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                elif path.endswith(".http"):
                    conn.sendall(data)
                else:
                    kind = CONTENT_TYPES.get(path.split("/")[0], "application/xml")
                    conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: "
                                 f"{len(data)}\r\nConnection: close\r\n\r\n".encode() + data)
                conn.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def url(self, case):
        return f"http://127.0.0.1:{self.port}/{case}"

    def close(self):
        self.sock.close()


OUTPUTS = [("/feed.xml", "rss"), ("/atom.xml", "atom"), ("/feed.json", "json")]


def load_requests(root):
    folder = os.path.join(root, REQUEST_GROUP)
    expected = json.load(open(os.path.join(folder, "expected.json")))
    return {name: (open(os.path.join(folder, name + ".http"), "rb").read(), spec["statuses"])
            for name, spec in sorted(expected.items())}


def exchange(port, data, timeout=20):
    """Writes `data`, reads until the server closes; (bytes read, closed by the server)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(data)
        except OSError:
            pass  # answered and closed before the whole request was written
        received = b""
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                return received, False
            except OSError:
                return received, True
            if not chunk:
                return received, True
            received += chunk


def statuses(data):
    """The status codes of the responses in `data`, in order (bodies skipped by length)."""
    found = []
    while data.startswith(b"HTTP/"):
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            break
        found.append(int(head.split(b" ", 2)[1]))
        length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
        data = rest[int(length.group(1)) if length else 0:]
    return found, data


def burst(port, clients, deadline):
    """`clients` connections opened at once, each sending a GET as soon as it is connected;
    returns (200s, 503s with Retry-After, closed without an answer, other, unfinished)."""
    polls = select.poll()
    sockets = {}
    for _ in range(clients):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        sockets[s.fileno()] = [s, b"", False]  # socket, received, request sent
        polls.register(s.fileno(), select.POLLOUT)
    request = b"GET /feed.xml HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    results = []
    end = time.monotonic() + deadline
    while sockets and time.monotonic() < end:
        for fd, event in polls.poll(200):
            entry = sockets.get(fd)
            if entry is None:
                continue
            s = entry[0]
            done = False
            if not entry[2]:
                try:
                    s.send(request)
                except OSError:
                    done = True  # refused or reset before the request: no answer
                entry[2] = True
                polls.modify(fd, select.POLLIN)
            else:
                try:
                    chunk = s.recv(65536)
                    entry[1] += chunk
                    done = not chunk
                except BlockingIOError:
                    pass
                except OSError:
                    done = True
            if done:
                results.append(entry[1])
                polls.unregister(fd)
                s.close()
                del sockets[fd]
    for s, _, _ in sockets.values():
        s.close()
    ok = sum(1 for r in results if r.startswith(b"HTTP/1.1 200"))
    busy = sum(1 for r in results if r.startswith(b"HTTP/1.1 503") and b"\r\nRetry-After: " in r)
    silent = sum(1 for r in results if not r)
    return ok, busy, silent, len(results) - ok - busy - silent, len(sockets)


def serve_checks(binary, folder, data, failures):
    """`feedmerge run` over the stored database: the raw requests, then the burst. Returns the
    number of request cases."""
    cases = load_requests(data)
    port = harness.free_port()
    config = os.path.join(folder, "serve.toml")
    with open(config, "w") as f:
        f.write(f'[server]\nlisten = "127.0.0.1:{port}"\n[storage]\ndatabase = "hostile.db"\n'
                '[log]\nlevel = "error"\n')
        for path, fmt in OUTPUTS:
            f.write(f'[[output]]\npath = "{path}"\nformat = "{fmt}"\nlimit = 100\n')
    env = dict(os.environ, STATE_DIRECTORY=folder)
    daemon = subprocess.Popen([binary, "run", "--config", config], cwd=folder, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        def serving():
            if daemon.poll() is not None:
                return True
            try:
                return exchange(port, b"GET /feed.xml HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                      b"Connection: close\r\n\r\n", 5)[0].startswith(b"HTTP/1.1 200")
            except OSError:
                return False
        if not harness.wait_until(serving) or daemon.poll() is not None:
            failures.append(f"run did not serve: {daemon.stderr.read()[-300:]!r}"
                            if daemon.poll() is not None else "run did not serve /feed.xml")
            return len(cases)
        for name, (raw, expected) in cases.items():
            received, closed = exchange(port, raw)
            got, rest = statuses(received)
            if got != expected or not closed or rest:
                failures.append(f"request {name}: expected {expected} then close, got {got}"
                                f"{'' if closed else ' and no close'}"
                                f"{f' then {rest[:60]!r}' if rest else ''}")
        ok, busy, silent, other, unfinished = burst(port, BURST_CLIENTS, 60)
        print(f"{BURST_CLIENTS} parallel connections: {ok} answered 200, {busy} answered 503 "
              f"with Retry-After, {silent} closed without an answer, {other} other, "
              f"{unfinished} unfinished after 60 s")
        if silent or other or unfinished or ok + busy != BURST_CLIENTS:
            failures.append(f"burst: {silent} closed without an answer, {other} other, "
                            f"{unfinished} unfinished")
        if ok == 0:
            failures.append("burst: no client was served")
        if daemon.poll() is not None:
            failures.append(f"run exited with {daemon.returncode}")
    finally:
        if daemon.poll() is None:
            daemon.terminate()
            daemon.wait(timeout=60)
    return len(cases)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--feedmerge", required=True)
    ap.add_argument("--data", required=True, help="tests/data/hostile")
    args = ap.parse_args()
    binary = os.path.abspath(args.feedmerge)
    failures = []
    # The burst holds 1,000 sockets here and as many in the daemon (which inherits the limit).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4 * BURST_CLIENTS:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4 * BURST_CLIENTS, hard), hard))
    cases = load_cases(args.data)
    if len(cases) < MIN_CASES:
        failures.append(f"only {len(cases)} cases, at least {MIN_CASES} expected")

    # Each document alone through the parser: a crash names its case.
    with tempfile.TemporaryDirectory() as folder:
        for case, data in cases.items():
            if case.endswith(".http"):
                continue
            path = os.path.join(folder, "doc")
            with open(path, "wb") as f:
                f.write(data)
            r = subprocess.run([binary, "parse", path], capture_output=True, timeout=120)
            if r.returncode not in (0, 1):
                failures.append(f"parse {case}: exit {r.returncode}: {r.stderr[-300:]!r}")

    server = RawServer(cases)
    with tempfile.TemporaryDirectory() as folder:
        config = os.path.join(folder, "feedmerge.toml")
        with open(config, "w") as f:
            f.write('[storage]\ndatabase = "hostile.db"\n[poll]\nconcurrency = 16\nper_host = 16\n'
                    'timeout = "20s"\n[log]\nlevel = "error"\n')
            for path, fmt in OUTPUTS:
                f.write(f'[[output]]\npath = "{path}"\nformat = "{fmt}"\nlimit = 100000\n')
            for case in cases:
                f.write(f'[[feed]]\nurl = "{server.url(case)}"\n')
        env = dict(os.environ, STATE_DIRECTORY=folder)
        r = subprocess.run([binary, "once", "--all", "--config", config], cwd=folder, env=env,
                           capture_output=True, timeout=600)
        if r.returncode < 0 or r.returncode > 1:
            failures.append(f"once --all died: exit {r.returncode}: {r.stderr[-500:]!r}")
        server.close()

        db = sqlite3.connect(os.path.join(folder, "hostile.db"))  # closed below
        db.text_factory = bytes
        integrity = db.execute("pragma integrity_check").fetchone()[0].decode()
        if integrity != "ok":
            failures.append(f"integrity_check: {integrity}")
        polled = {url.decode() for (url,) in db.execute("select url from feeds where last_attempt is not null")}
        missing = [c for c in cases if server.url(c) not in polled]
        if missing:
            failures.append(f"{len(missing)} cases never polled, e.g. {missing[:3]}")
        texts = 0
        for table in ("items", "feeds"):
            columns = [row[1].decode() for row in db.execute(f"pragma table_info({table})")]
            for row in db.execute(f"select * from {table}"):
                for column, value in zip(columns, row):
                    if not isinstance(value, bytes):
                        continue
                    texts += 1
                    try:
                        text = value.decode("utf-8")
                    except UnicodeDecodeError as e:
                        failures.append(f"{table}.{column}: invalid UTF-8 stored: {e}")
                        continue
                    bad = FORBIDDEN.search(text)
                    if bad:
                        failures.append(f"{table}.{column}: forbidden character U+{ord(bad.group()):04X} "
                                        f"stored in {text[:80]!r}")
        items = db.execute("select count(*) from items").fetchone()[0]
        published = db.execute("select count(*) from item_stories").fetchone()[0]
        if published == 0:
            failures.append("no item was assigned to a story: the merged outputs test nothing")

        # The merged outputs over everything the hostile feeds left: well-formed XML (xmllint),
        # valid JSON, no character XML forbids, no script.
        for path, fmt in OUTPUTS:
            r = subprocess.run([binary, "render", "--config", config, path], cwd=folder, env=env,
                               capture_output=True, timeout=300)
            if r.returncode != 0:
                failures.append(f"render {path}: exit {r.returncode}: {r.stderr[-300:]!r}")
                continue
            body = r.stdout
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError as e:
                failures.append(f"render {path}: invalid UTF-8: {e}")
                continue
            bad = FORBIDDEN.search(text)
            if bad:
                failures.append(f"render {path}: forbidden character U+{ord(bad.group()):04X}")
            if fmt == "json":
                try:
                    document = json.loads(text)
                except ValueError as e:
                    failures.append(f"render {path}: not JSON: {e}")
                    continue
                for item in document.get("items", []):
                    if "<script" in item.get("content_html", "").lower():
                        failures.append(f"render {path}: a script survived in {item.get('id')}")
            else:
                lint = subprocess.run(["xmllint", "--noout", "-"], input=body, capture_output=True,
                                      timeout=300)
                if lint.returncode != 0:
                    failures.append(f"render {path}: not well-formed: {lint.stderr[:300]!r}")
                if "<script" in text.lower():  # an element, not escaped text
                    failures.append(f"render {path}: a script element in the XML")
        ok_feeds = db.execute("select count(*) from feeds where last_error = '' or last_error is null").fetchone()[0]
        db.close()
        request_cases = serve_checks(binary, folder, args.data, failures)

    print(f"hostile inputs: {len(cases) + request_cases} cases ({len(cases)} documents and responses "
          f"polled, {request_cases} requests served), 0 crashes expected; {ok_feeds} feeds stored "
          f"without error, {items} items ({published} in stories), {texts} stored texts checked; "
          f"merged outputs {', '.join(p for p, _ in OUTPUTS)} checked")
    for failure in failures[:40]:
        print("FAIL", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
