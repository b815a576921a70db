#!/usr/bin/env python3
"""The daemon as systemd runs it, through the real binary and a local feed server:
the notify sequence (READY once the database is open, STATUS, WATCHDOG while the loop makes
progress and none while a test hook stalls the writer, STOPPING), SIGHUP reloads (feeds added
and removed, an invalid file keeps the old config and says so), and SIGTERM that exits 0 while
a stalled feed is still stalled. Assertions are by order of events, not by wall-clock time."""
import argparse
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

check = harness.Checks()


def feeds_json(binary, config, folder):
    env = dict(os.environ, STATE_DIRECTORY=os.path.join(folder, "state"))
    r = subprocess.run([binary, "feeds", "--json", "--config", config], cwd=folder, env=env,
                       capture_output=True, text=True, timeout=60)
    return {f["url"]: f for f in json.loads(r.stdout)["feeds"]}


def stored_items(folder, url):
    with contextlib.closing(sqlite3.connect(harness.database(folder))) as db:
        return db.execute("select count(*) from items join feeds on feeds.id = items.feed_id "
                          "where feeds.url = ?", (url,)).fetchone()[0]


def test_notify_sequence(binary):
    with tempfile.TemporaryDirectory() as folder:
        server = harness.FeedServer()
        notify = harness.NotifyListener(folder)
        config = harness.write_config(folder, [server.url("/grow/a.xml"), server.url("/grow/b.xml"),
                                               server.url("/missing.xml")])
        db = harness.database(folder)
        seen_db_at_ready = []

        daemon = harness.start_daemon(binary, config, folder, notify=notify, watchdog_usec=200_000,
                                      env={"FEEDMERGE_TEST_HOOKS": "1",
                                           "FEEDMERGE_TEST_STALL_MS": "3000"})
        try:
            ready = notify.wait_for(lambda m: m.get("READY") == "1")
            seen_db_at_ready.append(os.path.exists(db))
            check("READY=1 is sent", ready is not None)
            check("the database exists when READY=1 arrives", seen_db_at_ready == [True])
            check("READY=1 carries a STATUS line",
                  ready is not None and "feeds" in notify.snapshot()[ready][1].get("STATUS", ""),
                  notify.snapshot()[ready][2] if ready is not None else "")
            first_ping = notify.wait_for(lambda m: m.get("WATCHDOG") == "1")
            check("WATCHDOG=1 pings arrive", first_ping is not None)
            polled = notify.wait_for(lambda m: "last poll" in m.get("STATUS", ""))
            check("STATUS reports the last poll once a poll finished", polled is not None,
                  [m[2] for m in notify.snapshot()[-5:]])
            check("STATUS counts the feeds",
                  polled is not None and notify.snapshot()[polled][1]["STATUS"].startswith("3 feeds"),
                  notify.snapshot()[polled][2] if polled is not None else "")
            failing = notify.wait_for(lambda m: "1 feeds failing; last error: " in m.get("STATUS", "")
                                      and "/missing.xml: HTTP 404" in m.get("STATUS", ""))
            check("STATUS names the failing feed and its error", failing is not None,
                  [m[2] for m in notify.snapshot()[-5:]])

            daemon.send_signal(signal.SIGUSR2)  # test hook: the writer stalls for 3 s
            stalled = notify.wait_for(lambda m: m.get("STATUS") == "test hook: writer stalled")
            resumed = notify.wait_for(lambda m: m.get("STATUS") == "test hook: writer resumed",
                                      start=stalled or 0)
            check("the stall hook reports its start and end", stalled is not None and resumed is not None)
            if stalled is not None and resumed is not None:
                messages = notify.snapshot()
                during = [m for m in messages[stalled:resumed] if m[1].get("WATCHDOG") == "1"]
                # A heartbeat that passed the writer just before the stall may still land; no
                # other may: 3 s of a healthy loop would have sent about 30.
                check("no watchdog ping while the writer is stalled", len(during) <= 1,
                      f"{len(during)} pings between stall and resume")
                before = [m for m in messages[first_ping:stalled] if m[1].get("WATCHDOG") == "1"]
                check("pings were flowing before the stall", len(before) >= 1, len(before))
                again = notify.wait_for(lambda m: m.get("WATCHDOG") == "1", start=resumed)
                check("pings resume once the writer moves again", again is not None)

            stop_from = len(notify.snapshot())
            daemon.send_signal(signal.SIGTERM)
            code = daemon.wait(timeout=harness.BOUND)
            check("SIGTERM exits 0", code == 0, code)
            stopping = notify.wait_for(lambda m: m.get("STOPPING") == "1", start=stop_from, timeout=5)
            check("STOPPING=1 is sent on SIGTERM", stopping is not None)
            if stopping is not None:
                after = notify.snapshot()[stopping + 1:]
                check("nothing claims READY after STOPPING",
                      not any(m[1].get("READY") == "1" for m in after), [m[2] for m in after])
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.wait()
            notify.close()
            server.close()


def test_reload(binary):
    with tempfile.TemporaryDirectory() as folder:
        server = harness.FeedServer()
        notify = harness.NotifyListener(folder)
        a, b, c = server.url("/grow/a.xml"), server.url("/grow/b.xml"), server.url("/grow/c.xml")
        config = harness.write_config(folder, [a])
        log = open(os.path.join(folder, "daemon.log"), "w")
        daemon = harness.start_daemon(binary, config, folder, notify=notify, log=log)
        try:
            check("reload: READY", notify.wait_for(lambda m: m.get("READY") == "1") is not None)
            check("reload: feed a is polled", server.wait_count("/grow/a.xml", 2))
            harness.wait_until(lambda: stored_items(folder, a) > 0)
            items_a = stored_items(folder, a)

            # Edit: a removed, b and c added.
            harness.write_config(folder, [b, c])
            mark = len(notify.snapshot())
            daemon.send_signal(signal.SIGHUP)
            reloading = notify.wait_for(lambda m: m.get("RELOADING") == "1", start=mark)
            ready = notify.wait_for(lambda m: m.get("READY") == "1", start=reloading or mark)
            check("SIGHUP sends RELOADING=1 then READY=1", reloading is not None and ready is not None
                  and reloading < ready)
            a_at_reload = server.count("/grow/a.xml")
            check("an added feed starts polling", server.wait_count("/grow/b.xml", 3)
                  and server.wait_count("/grow/c.xml", 3))
            # An a-poll already in flight at the reload may finish; no new one starts.
            check("a removed feed stops polling", server.count("/grow/a.xml") <= a_at_reload + 1,
                  (a_at_reload, server.count("/grow/a.xml")))
            check("a removed feed keeps its items", stored_items(folder, a) >= items_a,
                  (items_a, stored_items(folder, a)))
            reported = harness.wait_until(
                lambda: (lambda f: f if f[b]["items"] > 0 and f[c]["items"] > 0 else None)(
                    feeds_json(binary, config, folder)))
            check("feeds --json shows the added feeds with items", reported is not None)

            # An invalid file: reported with file:line:column, the old config stays in force.
            with open(config, "a") as f:
                f.write("\n[poll]\ninterval = 5\n")
            bad_line = sum(1 for _ in open(config))  # "interval = 5" is the last line
            mark = len(notify.snapshot())
            daemon.send_signal(signal.SIGHUP)
            ready = notify.wait_for(lambda m: m.get("READY") == "1", start=mark)
            status = notify.snapshot()[ready][1].get("STATUS", "") if ready is not None else ""
            check("an invalid config: STATUS says the reload failed and names file:line:column",
                  "config reload failed" in status and f"{config}:" in status, status)
            b_count = server.count("/grow/b.xml")
            check("an invalid config: the old feeds keep polling",
                  server.wait_count("/grow/b.xml", b_count + 2))
            log.flush()
            text = open(os.path.join(folder, "daemon.log")).read()
            check("an invalid config is logged with its position",
                  f"{config}:{bad_line - 1}:" in text or f"{config}:{bad_line}:" in text, text[-1500:])

            harness.write_config(folder, [b])  # fixed: c removed
            mark = len(notify.snapshot())
            daemon.send_signal(signal.SIGHUP)
            ready = notify.wait_for(lambda m: m.get("READY") == "1", start=mark)
            status = notify.snapshot()[ready][1].get("STATUS", "") if ready is not None else ""
            check("a fixed config clears the failure from STATUS",
                  ready is not None and "reload failed" not in status, status)
            daemon.send_signal(signal.SIGTERM)
            check("reload: exits 0", daemon.wait(timeout=harness.BOUND) == 0)
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.wait()
            log.close()
            notify.close()
            server.close()


def test_sigterm_with_stalled_feed(binary):
    with tempfile.TemporaryDirectory() as folder:
        server = harness.FeedServer()
        notify = harness.NotifyListener(folder)
        config = harness.write_config(folder, [server.url("/stall/slow.xml"),
                                               server.url("/grow/g.xml")], interval="1s")
        daemon = harness.start_daemon(binary, config, folder, notify=notify)
        try:
            check("sigterm: the stalled feed is being fetched", server.wait_stalled(1))
            check("sigterm: the other feed is stored", server.wait_count("/grow/g.xml", 2))
            daemon.send_signal(signal.SIGTERM)
            code = daemon.wait(timeout=harness.BOUND)
            still_stalled = server.stalled >= 1  # read before anything releases it
            check("SIGTERM exits 0 without waiting for the stalled feed", code == 0 and still_stalled,
                  (code, still_stalled))
            check("sigterm: STOPPING=1", notify.wait_for(lambda m: m.get("STOPPING") == "1",
                                                        timeout=5) is not None)
            with contextlib.closing(sqlite3.connect(harness.database(folder))) as db:
                integrity = db.execute("pragma integrity_check").fetchone()[0]
                items = db.execute("select count(*) from items").fetchone()[0]
            check("sigterm: the database is intact and kept its items", integrity == "ok" and items > 0,
                  (integrity, items))
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.wait()
            notify.close()
            server.close()


def http_get(port, path):
    """(status, body) of GET path on 127.0.0.1:port, or (None, error) when nothing answers."""
    import http.client
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        conn.close()
        return response.status, body
    except OSError as e:
        return None, str(e)


def serving_config(folder, feeds, port, outputs):
    extra = f'[server]\nlisten = "127.0.0.1:{port}"\n\n' + "".join(
        f'[[output]]\npath = "{path}"\nformat = "{fmt}"\n\n' for path, fmt in outputs)
    return harness.write_config(folder, feeds, extra=extra)


def test_reload_outputs_and_listen(binary):
    with tempfile.TemporaryDirectory() as folder:
        server = harness.FeedServer()
        notify = harness.NotifyListener(folder)
        feed = server.url("/grow/a.xml")
        first, second = harness.free_port(), harness.free_port()
        config = serving_config(folder, [feed], first, [("/feed.xml", "rss")])
        daemon = harness.start_daemon(binary, config, folder, notify=notify)
        try:
            check("outputs: READY", notify.wait_for(lambda m: m.get("READY") == "1") is not None)
            check("outputs: /feed.xml is served before the reload",
                  http_get(first, "/feed.xml")[0] == 200)
            check("outputs: /atom.xml is not configured yet", http_get(first, "/atom.xml")[0] == 404)

            # A new output and a new listen address.
            serving_config(folder, [feed], second, [("/feed.xml", "rss"), ("/atom.xml", "atom")])
            mark = len(notify.snapshot())
            daemon.send_signal(signal.SIGHUP)
            check("outputs: READY after the reload",
                  notify.wait_for(lambda m: m.get("READY") == "1", start=mark) is not None)
            atom = harness.wait_until(
                lambda: (lambda r: r if r[0] == 200 else None)(http_get(second, "/atom.xml")))
            check("a reload adds the new output, on the new listen address",
                  atom is not None and b"<feed" in atom[1], atom)
            check("the old listen address is closed after the reload",
                  http_get(first, "/feed.xml")[0] is None)

            # A listen address that cannot be bound: the old one keeps serving.
            blocker = __import__("socket").socket()
            blocker.bind(("127.0.0.1", 0))
            blocker.listen(1)
            taken = blocker.getsockname()[1]
            serving_config(folder, [feed], taken, [("/feed.xml", "rss")])
            mark = len(notify.snapshot())
            daemon.send_signal(signal.SIGHUP)
            notify.wait_for(lambda m: m.get("READY") == "1", start=mark)
            # The publisher re-renders with the new outputs (the atom output goes away) while the
            # server stays on the address that works.
            gone = harness.wait_until(
                lambda: True if http_get(second, "/atom.xml")[0] == 404 else None)
            check("an address in use: the old address keeps serving the new outputs",
                  gone is not None and http_get(second, "/feed.xml")[0] == 200)
            blocker.close()
            daemon.send_signal(signal.SIGTERM)
            check("outputs: exits 0", daemon.wait(timeout=harness.BOUND) == 0)
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.wait()
            notify.close()
            server.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--feedmerge", required=True)
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    binary = os.path.abspath(args.feedmerge)
    for test in (test_notify_sequence, test_reload, test_reload_outputs_and_listen,
                 test_sigterm_with_stalled_feed):
        if args.only and args.only not in test.__name__:
            continue
        test(binary)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
