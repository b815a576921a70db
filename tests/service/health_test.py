#!/usr/bin/env python3
"""An honest status, through the real `feedmerge run` (issues 13 and 17):
- the database's -wal or the database file deleted while the daemon writes: it stops writing,
  says why, exits non-zero (systemd restarts it), and the next start finds what the disk held;
- a corrupt page mid-file at start: nothing is fetched or written, a configured output is never
  404, /healthz says why;
- /healthz is 503 with a reason when every feed's last poll failed, or while the writer is stuck;
- the index page follows failures (re-rendered when a feed's health changes) and explains an
  empty state ("First polls in progress: 1 of 2 done").
Every wait is for a condition, bounded by harness.BOUND; the one fixed observation window is
where the test shows that something does not happen (no fetch, no write)."""
import argparse
import contextlib
import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

check = harness.Checks()


def http_get(port, path):
    """(status, body text) of GET path on 127.0.0.1:port, or (None, error) when nothing answers."""
    import http.client
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read().decode("utf-8", "replace")
        conn.close()
        return response.status, body
    except OSError as e:
        return None, str(e)


def config_with(folder, feeds, port, interval="1s", outputs=(("/feed.xml", "rss"),)):
    extra = f'[server]\nlisten = "127.0.0.1:{port}"\n\n' + "".join(
        f'[[output]]\npath = "{path}"\nformat = "{fmt}"\n\n' for path, fmt in outputs)
    return harness.write_config(folder, feeds, extra=extra, interval=interval)


def items_in(path):
    """Items stored in the database at `path`; 0 before the daemon has created it."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            return db.execute("select count(*) from items").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def integrity(path):
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        return db.execute("pragma integrity_check").fetchone()[0]


def wait_exit(daemon):
    """The exit code, or None when the daemon is still running after harness.BOUND."""
    try:
        return daemon.wait(timeout=harness.BOUND)
    except subprocess.TimeoutExpired:
        return None


def stop(daemon):
    if daemon.poll() is None:
        daemon.send_signal(signal.SIGTERM)
        if wait_exit(daemon) is None:
            daemon.kill()
            daemon.wait()


def feeds(binary, config, folder):
    """`feeds --json` as the operator runs it: (exit code, stdout, stderr)."""
    env = dict(os.environ, STATE_DIRECTORY=os.path.join(folder, "state"))
    r = subprocess.run([binary, "feeds", "--json", "--config", config], cwd=folder, env=env,
                       capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout, r.stderr


def read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def test_file_deleted_while_writing(binary, which):
    """which: "-wal" or "" (the database file itself)."""
    name = f"deleted {which or 'database file'}"
    with tempfile.TemporaryDirectory() as folder:
        server = harness.FeedServer()
        port = harness.free_port()
        config = config_with(folder, [server.url("/grow/a.xml")], port)
        db = harness.database(folder)
        log_path = os.path.join(folder, "daemon.log")
        with open(log_path, "w") as log:
            daemon = harness.start_daemon(binary, config, folder, log=log)
            try:
                check(f"{name}: items are stored", harness.wait_until(
                    lambda: os.path.exists(db + "-wal") and items_in(db) > 0))
                before = items_in(db)
                # A poll has been stored; the -wal holds what no checkpoint has moved yet.
                os.remove(db + which)
                polls_at_delete = server.count("/grow/a.xml")
                code = wait_exit(daemon)
                check(f"{name}: the daemon exits non-zero, for systemd to restart it",
                      code not in (None, 0), code)
                check(f"{name}: it stops fetching once it stopped writing",
                      server.count("/grow/a.xml") <= polls_at_delete + 2,
                      (polls_at_delete, server.count("/grow/a.xml")))
            finally:
                if daemon.poll() is None:
                    daemon.kill()
                    daemon.wait()
        text = read(log_path)
        # The daemon's own publisher may have recreated a -wal meanwhile: "replaced" then.
        what = f"write-ahead log {db}-wal was " if which else "the database file was deleted"
        check(f"{name}: the log says which file went", what in text, text[-2000:])
        code, out, err = feeds(binary, config, folder)
        fault = json.loads(out).get("database_fault") if code == 0 else None
        check(f"{name}: `feeds` says why the daemon stopped writing",
              fault is not None and ("deleted while open" in fault or "replaced" in fault),
              (code, out, err))
        if which:
            # The deleted -wal's transactions were moved into the database file before exit.
            check("deleted -wal: the database file holds every item stored before",
                  os.path.exists(db) and integrity(db) == "ok" and items_in(db) >= before,
                  (before, os.path.exists(db) and items_in(db)))

        # The next start (systemd's restart) recovers what the disk holds and runs on.
        with open(log_path, "w") as log:
            daemon = harness.start_daemon(binary, config, folder, log=log)
            try:
                status = harness.wait_until(
                    lambda: (lambda r: r if r[0] == 200 else None)(http_get(port, "/healthz")))
                check(f"{name}: the restarted daemon is healthy", status is not None,
                      http_get(port, "/healthz"))
                # A deleted database file starts anew; a deleted -wal's database file grows on.
                least = before if which else 0
                grown = harness.wait_until(lambda: integrity(db) == "ok" and items_in(db) > least)
                check(f"{name}: the restarted daemon stores again", grown, items_in(db))
                code, out, err = feeds(binary, config, folder)
                check(f"{name}: `feeds` no longer reports a fault once restarted",
                      code == 0 and json.loads(out).get("database_fault", "missing") is None, (code, out, err))
                daemon.send_signal(signal.SIGTERM)
                check(f"{name}: the restarted daemon exits 0 on SIGTERM", wait_exit(daemon) == 0)
            finally:
                stop(daemon)
                server.close()


def corrupt_middle_page(path):
    """Garbage over a leaf page of the items table half-way through it: the header and the
    schema still read, as after a torn write or a bad sector."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        page_size = db.execute("pragma page_size").fetchone()[0]
        leaves = [row[0] for row in db.execute(
            "select pageno from dbstat where name = 'items' and pagetype = 'leaf' order by pageno")]
    assert len(leaves) >= 3, leaves
    with open(path, "r+b") as f:
        f.seek((leaves[len(leaves) // 2] - 1) * page_size)
        f.write(b"\xa5" * page_size)


def test_corrupt_at_start(binary):
    with tempfile.TemporaryDirectory() as folder:
        server = harness.FeedServer(window=400, backlog=400)  # enough items for many pages
        port = harness.free_port()
        config = config_with(folder, [server.url("/grow/a.xml")], port)
        db = harness.database(folder)
        daemon = harness.start_daemon(binary, config, folder)
        try:
            check("corrupt: the first run stores items", harness.wait_until(lambda: items_in(db) > 0))
        finally:
            stop(daemon)
        corrupt_middle_page(db)
        with open(db, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        requests_before = server.count("/grow/a.xml")

        notify = harness.NotifyListener(folder)
        log_path = os.path.join(folder, "daemon.log")
        with open(log_path, "w") as log:
            daemon = harness.start_daemon(binary, config, folder, notify=notify, log=log)
        try:
            ready = notify.wait_for(lambda m: m.get("READY") == "1")
            status = notify.snapshot()[ready][1].get("STATUS", "") if ready is not None else ""
            check("corrupt: READY's STATUS says it refuses to write",
                  "refusing to write" in status and "corrupt" in status, status)
            health = http_get(port, "/healthz")
            check("corrupt: /healthz is 503 and says the database is corrupt",
                  health[0] == 503 and "corrupt" in health[1], health)
            feed = http_get(port, "/feed.xml")
            check("corrupt: a configured output is served or 503, never 404",
                  feed[0] in (200, 503), feed[0])
            check("corrupt: an unknown path is still 404", http_get(port, "/nothing.xml")[0] == 404)
            code, out, err = feeds(binary, config, folder)
            check("corrupt: `feeds` says the database is corrupt", "corrupt" in out + err,
                  (code, out, err))
            # Polls every second if it polled at all: three seconds of nothing show it does not.
            time.sleep(3)
            with open(db, "rb") as f:
                after = hashlib.sha256(f.read()).hexdigest()
            check("corrupt: the file is left untouched", after == digest
                  and not (os.path.exists(db + "-wal") and os.path.getsize(db + "-wal") > 0))
            check("corrupt: no feed is fetched", server.count("/grow/a.xml") == requests_before,
                  server.count("/grow/a.xml") - requests_before)
            daemon.send_signal(signal.SIGTERM)
            check("corrupt: SIGTERM stops it", wait_exit(daemon) is not None)
        finally:
            stop(daemon)
            notify.close()
            server.close()
        check("corrupt: the log says why and what to do",
              "database is corrupt" in read(log_path) and "refusing to write" in read(log_path),
              read(log_path)[-1500:])


def test_healthz_every_feed_failing(binary):
    with tempfile.TemporaryDirectory() as folder:
        server = harness.FeedServer()
        port = harness.free_port()
        # The feed URLs carry secrets: /healthz is public and must not show them.
        secret = lambda path: server.url(path + "?api_key=Hush4711").replace("http://", "http://al:Pw0815@")
        config = config_with(folder, [secret("/missing-a.xml"), secret("/missing-b.xml")], port)
        daemon = harness.start_daemon(binary, config, folder)
        try:
            # 503 from the first failure on; the reason counts both once both were polled.
            health = harness.wait_until(
                lambda: (lambda r: r if r[0] == 503 and "(2 feeds)" in r[1] else None)(
                    http_get(port, "/healthz")))
            check("every feed failing: /healthz is 503", health is not None,
                  http_get(port, "/healthz"))
            check("every feed failing: /healthz says why",
                  health is not None and "the last poll of every feed failed (2 feeds)" in health[1]
                  and "HTTP 404" in health[1], health)
            body = http_get(port, "/healthz")[1]
            check("every feed failing: /healthz shows no secret of a feed URL",
                  "Hush4711" not in body and "Pw0815" not in body, body)
        finally:
            stop(daemon)
            server.close()


def test_healthz_writer_stuck(binary):
    with tempfile.TemporaryDirectory() as folder:
        server = harness.FeedServer()
        port = harness.free_port()
        notify = harness.NotifyListener(folder)
        config = config_with(folder, [server.url("/grow/a.xml")], port)
        daemon = harness.start_daemon(binary, config, folder, notify=notify, env={
            "FEEDMERGE_TEST_HOOKS": "1", "FEEDMERGE_TEST_STALL_MS": "4000",
            "FEEDMERGE_TEST_WRITER_STUCK_MS": "500"})
        try:
            # READY comes after the test hook's signal handler is in place.
            check("stuck: READY", notify.wait_for(lambda m: m.get("READY") == "1") is not None)
            check("stuck: healthy at first", harness.wait_until(
                lambda: http_get(port, "/healthz")[0] == 200))
            daemon.send_signal(signal.SIGUSR2)  # test hook: the writer stalls for 4 s
            stuck = harness.wait_until(
                lambda: (lambda r: r if r[0] == 503 else None)(http_get(port, "/healthz")))
            check("stuck: /healthz is 503 while the writer is stuck",
                  stuck is not None and "the database writer has been stuck" in stuck[1], stuck)
            check("stuck: /healthz is 200 again once the writer moves", harness.wait_until(
                lambda: http_get(port, "/healthz")[0] == 200))
        finally:
            stop(daemon)
            notify.close()
            server.close()


def test_index_follows_health(binary):
    with tempfile.TemporaryDirectory() as folder:
        server = harness.FeedServer()
        port = harness.free_port()
        local = os.path.join(folder, "local.xml")
        with open(local, "w") as f:
            f.write(harness.rss("local", [1, 2]))
        config = config_with(folder, ["file://" + local, server.url("/stall/slow.xml")], port)
        daemon = harness.start_daemon(binary, config, folder)
        try:
            page = harness.wait_until(
                lambda: (lambda r: r[1] if r[0] == 200 and "1 of 2 done" in r[1] else None)(
                    http_get(port, "/")))
            check("index: the empty state counts the first polls done",
                  page is not None and "First polls in progress: 1 of 2 done" in page,
                  http_get(port, "/")[1][-1500:])
            os.remove(local)
            failing = harness.wait_until(
                lambda: (lambda r: r[1] if "failing (" in r[1] else None)(http_get(port, "/")))
            check("index: a feed that starts failing shows as failing without any new story",
                  failing is not None, http_get(port, "/")[1][-1500:])
        finally:
            server.release()
            stop(daemon)
            server.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--feedmerge", required=True)
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    binary = os.path.abspath(args.feedmerge)
    tests = [("wal_deleted", lambda: test_file_deleted_while_writing(binary, "-wal")),
             ("database_deleted", lambda: test_file_deleted_while_writing(binary, "")),
             ("corrupt_at_start", lambda: test_corrupt_at_start(binary)),
             ("every_feed_failing", lambda: test_healthz_every_feed_failing(binary)),
             ("writer_stuck", lambda: test_healthz_writer_stuck(binary)),
             ("index_follows_health", lambda: test_index_follows_health(binary))]
    for name, test in tests:
        if args.only and args.only not in name:
            continue
        test()
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
