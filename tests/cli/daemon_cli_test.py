#!/usr/bin/env python3
"""End-to-end checks of `feedmerge once` and `feedmerge feeds` through the real binary on the
shipped demo config (file:// feeds only: no network). Each run works in its own temporary
folder, so the database (a relative path in the config) lands there."""
import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import socket
import sys
import tempfile
import time
import urllib.request


def same_feed_spellings(binary, configs, check):
    """Issue 17: one feed written as "#frag", "?", ":80"-like forms or "127.1" was polled and
    stored once per spelling. A loopback server counts the requests it gets."""
    import http.server
    import threading

    sample = open(os.path.join(configs, "samples", "tech-news.rss"), "rb").read()
    requests = []

    class Feed(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(sample)))
            self.end_headers()
            self.wfile.write(sample)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Feed)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = os.path.join(tmp, "same.toml")

            def write(*urls):
                with open(config, "w", encoding="utf-8") as f:
                    f.write('[storage]\ndatabase = "same.db"\n\n[server]\nlisten = ""\n')
                    for url in urls:
                        f.write(f'\n[[feed]]\nurl = "{url}"\n')

            def feeds():
                with sqlite3.connect(os.path.join(tmp, "same.db")) as conn:
                    return conn.execute("SELECT url, (SELECT count(*) FROM items AS i "
                                        "WHERE i.feed_id = f.id) FROM feeds AS f").fetchall()

            run = lambda *a: subprocess.run([binary, *a, "--config", config], cwd=tmp,
                                            capture_output=True, text=True, timeout=120)
            write(f"http://127.0.0.1:{port}/feed.xml", f"http://127.1:{port}/feed.xml#top",
                  f"http://127.0.0.1.:{port}/feed.xml?")
            r = run("once", "--all")
            stored = feeds()
            check("a feed configured in three spellings is polled once",
                  r.returncode == 0 and requests == ["/feed.xml"], (requests, r.stderr[-2000:]))
            check("... and stored once", len(stored) == 1 and stored[0][1] > 0, stored)
            logged = r.stdout + r.stderr  # the log's stream is not this test's concern
            check("... with a warning naming both places",
                  logged.count("is the same feed as feed[1].url") == 2, logged[-2000:])

            # The config now names it in another form: the same row, its items kept.
            write(f"http://127.1:{port}/feed.xml")
            r = run("once", "--all")
            again = feeds()
            check("a feed renamed to another spelling keeps its row and items",
                  r.returncode == 0 and again == [(f"http://127.1:{port}/feed.xml", stored[0][1])],
                  (again, r.stderr[-2000:]))
    finally:
        server.shutdown()
        server.server_close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--feedmerge", required=True)
    ap.add_argument("--configs", required=True, help="the repository's config/ folder")
    args = ap.parse_args()
    binary = os.path.abspath(args.feedmerge)
    passed = failed = 0

    def check(name, ok, detail=""):
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
            print(f"FAIL {name}: {detail}")

    with tempfile.TemporaryDirectory() as tmp:
        # The demo config and its samples, copied so that relative file: URLs resolve inside tmp.
        shutil.copytree(os.path.join(args.configs, "samples"), os.path.join(tmp, "samples"))
        config = os.path.join(tmp, "demo.toml")
        shutil.copy(os.path.join(args.configs, "demo.toml"), config)
        run = lambda *a: subprocess.run([binary, *a, "--config", config], cwd=tmp,
                                        capture_output=True, text=True, timeout=120)

        first = run("once", "--all")
        check("once --all exits 0", first.returncode == 0, first.stderr[-2000:])
        db = os.path.join(tmp, "var", "demo.db")
        check("the database folder is created", os.path.exists(db), os.listdir(tmp))
        with sqlite3.connect(db) as conn:
            stored = conn.execute("select count(*) from items").fetchone()[0]
            integrity = conn.execute("pragma integrity_check").fetchone()[0]
        check("items are stored", stored > 0, stored)
        check("integrity_check is ok", integrity == "ok", integrity)

        report = run("feeds", "--json")
        check("feeds --json exits 0", report.returncode == 0, report.stderr[-2000:])
        feeds = json.loads(report.stdout)["feeds"]
        check("feeds lists every configured feed", len(feeds) == 5, len(feeds))
        check("every demo feed is ok", all(f["status"] == "ok" for f in feeds),
              [f["status"] for f in feeds])
        check("item counts add up", sum(f["items"] for f in feeds) == stored,
              (sum(f["items"] for f in feeds), stored))

        second = run("once", "--all")
        check("a second poll exits 0", second.returncode == 0, second.stderr[-2000:])
        with sqlite3.connect(db) as conn:
            again = conn.execute("select count(*) from items").fetchone()[0]
        check("a second poll duplicates nothing", again == stored, (again, stored))

        # A broken feed among good ones: the others are still stored, the error is recorded.
        with open(os.path.join(tmp, "samples", "tech-news.rss"), "w") as f:
            f.write("this is not a feed")
        third = run("once", "--all")
        check("one broken feed does not fail the poll", third.returncode == 0, third.stderr[-2000:])
        feeds = {f["url"].rsplit("/", 1)[-1]: f for f in json.loads(run("feeds", "--json").stdout)["feeds"]}
        broken = feeds["tech-news.rss"]
        check("the broken feed records its error", broken["error"] and broken["status"] != "ok", broken)
        check("the other feeds stay ok",
              all(f["status"] == "ok" for name, f in feeds.items() if name != "tech-news.rss"), feeds)

    first_start(binary, args.configs, check)
    stop_while_starting(binary, args.configs, check)
    one_poller(binary, args.configs, check)
    same_feed_spellings(binary, args.configs, check)

    for flag in (["run", "--help"], ["once", "--help"], ["feeds", "--help"]):
        r = subprocess.run([binary, *flag], capture_output=True, text=True)
        check(" ".join(flag), r.returncode == 0 and "--config" in r.stdout, r.stdout + r.stderr)

    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


def demo_on_free_port(configs, tmp):
    """The demo config and its samples in `tmp`, listening on a free loopback port: the
    config's path, the port and the shipped config's text."""
    shutil.copytree(os.path.join(configs, "samples"), os.path.join(tmp, "samples"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with open(os.path.join(configs, "demo.toml")) as f:
        text = f.read()
    config = os.path.join(tmp, "demo.toml")
    with open(config, "w") as f:
        f.write(text.replace('listen = "127.0.0.1:8080"', f'listen = "127.0.0.1:{port}"'))
    return config, port, text


def first_start(binary, configs, check):
    """`run` on the demo config and an empty database: every sample's stories are in /feed.xml
    within 15 seconds, and the first round logs what it did."""
    with tempfile.TemporaryDirectory() as tmp:
        config, port, text = demo_on_free_port(configs, tmp)
        check("the demo listens on 8080", 'listen = "127.0.0.1:8080"' in text, text[:400])
        db = os.path.join(tmp, "var", "demo.db")
        log_path = os.path.join(tmp, "run.log")

        def complete():
            """The number of stories once every sample was polled, every item is in a story and
            /feed.xml lists every story; else None."""
            if not os.path.exists(db):
                return None
            try:
                with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
                    polled = conn.execute("select count(*) from feeds where last_success is not null").fetchone()[0]
                    items = conn.execute("select count(*) from items").fetchone()[0]
                    stories = conn.execute("select count(distinct story_id) from item_stories").fetchone()[0]
                    members = conn.execute("select count(*) from item_stories").fetchone()[0]
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/feed.xml", timeout=5).read()
            except (sqlite3.Error, OSError):
                return None
            if polled < 5 or items == 0 or members < items:
                return None
            return stories if body.count(b"<item>") == stories else None

        started = time.monotonic()
        with open(log_path, "w") as log:
            daemon = subprocess.Popen([binary, "run", "--config", config], cwd=tmp,
                                      stdout=log, stderr=subprocess.STDOUT)
        try:
            stories = None
            while time.monotonic() - started < 60 and daemon.poll() is None:
                stories = complete()
                if stories:
                    break
                time.sleep(0.1)
            elapsed = time.monotonic() - started
            check("the demo's merged feed is complete within 15 s of the start",
                  stories and elapsed < 15, f"{elapsed:.1f} s, stories {stories}")
        finally:
            daemon.terminate()
            daemon.wait(timeout=60)
        with open(log_path) as f:
            logged = f.read()
        check("the start says every feed is polled now",
              "polling 5 feeds: 5 never polled, polled now" in logged, logged[-3000:])
        check("the first round ends with a summary",
              "first poll done in " in logged and ": 5 feeds, 5 ok, 0 failing" in logged,
              logged[-3000:])
        check("no diagnosis when the feeds are reached", "no feed could be reached" not in logged,
              logged[-3000:])


def stop_while_starting(binary, configs, check):
    """SIGTERM once the merged feed is served but before the poller and the service exist (on
    PostgreSQL opening the cluster takes a while there): a clean stop, status 0, not death by
    the signal. The daemon waits at a FIFO (FEEDMERGE_TEST_START_GATE) in that gap; the signal
    is sent first and the gate opened after, so the order is fixed, not timed."""
    with tempfile.TemporaryDirectory() as tmp:
        config, port, _ = demo_on_free_port(configs, tmp)
        gate = os.path.join(tmp, "gate")
        os.mkfifo(gate)
        log_path = os.path.join(tmp, "run.log")
        env = dict(os.environ, FEEDMERGE_TEST_HOOKS="1", FEEDMERGE_TEST_START_GATE=gate)
        with open(log_path, "w") as log:
            daemon = subprocess.Popen([binary, "run", "--config", config], cwd=tmp, env=env,
                                      stdout=log, stderr=subprocess.STDOUT)
        try:
            served = False
            deadline = time.monotonic() + 60
            while not served and time.monotonic() < deadline and daemon.poll() is None:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/feed.xml", timeout=5).read()
                    served = True
                except OSError:
                    time.sleep(0.05)  # not listening yet
            check("the feed is served before the poller starts", served,
                  open(log_path).read()[-2000:])
            daemon.terminate()
            # Opens the gate once the daemon is waiting at it (a reader), or gives up when it
            # has exited: a non-blocking open for writing fails while there is no reader.
            while daemon.poll() is None:
                try:
                    os.close(os.open(gate, os.O_WRONLY | os.O_NONBLOCK))
                    break
                except OSError:
                    time.sleep(0.01)
            status = daemon.wait(timeout=60)
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.wait(timeout=60)
        logged = open(log_path).read()
        check("SIGTERM before the poller starts stops cleanly, status 0",
              status == 0 and "stopping" in logged, f"status {status}: {logged[-2000:]}")


def one_poller(binary, configs, check):
    """Issue 16: a second polling process on the same SQLite database is refused at start,
    naming the database as configured and the holder's pid; the read-only commands still
    work; a holder killed by SIGKILL leaves no stale lock."""
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(os.path.join(configs, "samples"), os.path.join(tmp, "samples"))
        with open(os.path.join(configs, "demo.toml")) as f:
            text = f.read()
        config = os.path.join(tmp, "demo.toml")
        with open(config, "w") as f:
            f.write(text.replace('listen = "127.0.0.1:8080"', 'listen = ""'))
        run = lambda *a: subprocess.run([binary, *a, "--config", config], cwd=tmp,
                                        capture_output=True, text=True, timeout=120)
        lock = os.path.join(tmp, "var", "demo.db.lock")
        log_path = os.path.join(tmp, "run.log")
        with open(log_path, "w") as log:
            daemon = subprocess.Popen([binary, "run", "--config", config], cwd=tmp,
                                      stdout=log, stderr=subprocess.STDOUT)
        try:
            # Held once the pid is in the lock file and `feeds` can read what the daemon wrote.
            deadline = time.monotonic() + 60
            feeds = None
            while time.monotonic() < deadline and daemon.poll() is None:
                try:
                    with open(lock) as f:
                        holder = f.read().strip()
                except OSError:
                    holder = ""
                if holder == str(daemon.pid):
                    feeds = run("feeds", "--json")
                    if feeds.returncode == 0 and all(
                            f["status"] == "ok" for f in json.loads(feeds.stdout)["feeds"]):
                        break
                time.sleep(0.05)
            check("run holds the lock with its pid", daemon.poll() is None and feeds is not None,
                  open(log_path).read()[-2000:])
            second = run("once", "--all")
            expected = f"another feedmerge is using var/demo.db (pid {daemon.pid})"
            check("a second poller is refused, naming the database and the holder",
                  second.returncode != 0 and expected in second.stderr,
                  (second.returncode, second.stderr[-2000:]))
            check("... and polls nothing", "polled " not in second.stdout, second.stdout)
            try:
                third = subprocess.run([binary, "run", "--config", config], cwd=tmp,
                                       capture_output=True, text=True, timeout=60)
                check("a second run is refused too",
                      third.returncode != 0 and expected in third.stderr,
                      (third.returncode, third.stderr[-2000:]))
            except subprocess.TimeoutExpired:
                check("a second run is refused too", False, "it ran beside the first")
            feeds = run("feeds", "--json")
            check("feeds reads beside the running daemon",
                  feeds.returncode == 0 and len(json.loads(feeds.stdout)["feeds"]) == 5,
                  feeds.stderr[-2000:])
            stories = run("stories", "--json")
            check("stories reads beside the running daemon", stories.returncode == 0,
                  stories.stderr[-2000:])
            # `story split` is a short writer, not a poller: it writes beside the daemon, which
            # notices the override.
            link = json.loads(stories.stdout)["stories"][0]["items"][0]["link"]
            split = run("story", "split", link)
            check("story split writes beside the running daemon",
                  split.returncode == 0 and "is now story" in split.stdout,
                  (split.returncode, split.stderr[-2000:]))
            daemon.kill()  # SIGKILL: no clean-up runs
            daemon.wait(timeout=60)
            after = run("once", "--all")
            check("a SIGKILLed holder leaves no stale lock", after.returncode == 0,
                  after.stderr[-2000:])
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.wait(timeout=60)


if __name__ == "__main__":
    sys.exit(main())
