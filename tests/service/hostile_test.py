#!/usr/bin/env python3
"""The hostile-input suite: every case under tests/data/hostile/ (generate.py there says what each
attacks) goes through the real pipeline. A local raw-socket server on 127.0.0.1 serves documents
with a feed Content-Type and writes *.http files byte for byte as the whole response; one
`feedmerge once --all` polls every case as a feed (fetch, parse, normalise, store); each document
also goes through `feedmerge parse` alone so that a crash names its case. Checks: no process dies
of a signal, every case was polled, PRAGMA integrity_check is ok, every stored text is valid UTF-8
free of the characters XML 1.0 forbids."""
import argparse
import gzip
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading

MIN_CASES = 150
FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
CONTENT_TYPES = {"json": "application/feed+json"}


def load_cases(root):
    cases = {}
    for group in sorted(os.listdir(root)):
        folder = os.path.join(root, group)
        if not os.path.isdir(folder):
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--feedmerge", required=True)
    ap.add_argument("--data", required=True, help="tests/data/hostile")
    args = ap.parse_args()
    binary = os.path.abspath(args.feedmerge)
    failures = []
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

    print(f"hostile inputs: {len(cases)} cases, 0 crashes expected; {ok_feeds} feeds stored "
          f"without error, {items} items ({published} in stories), {texts} stored texts checked; "
          f"merged outputs {', '.join(p for p, _ in OUTPUTS)} checked")
    for failure in failures[:40]:
        print("FAIL", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
