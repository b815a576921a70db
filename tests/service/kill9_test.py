#!/usr/bin/env python3
"""kill -9 loop: `feedmerge run` polls a local server whose feeds gain a new item on every
request; the test freezes it (SIGSTOP) at a random moment, notes whether it holds SQLite's WAL
write lock at that instant (an open write transaction), kills it with SIGKILL and restarts it,
KILLS times. After every kill the committed items are read back: nothing seen stored before may
be missing. A third of the kills land at any moment, a third just after a feed was served, a
third as soon as the daemon is seen inside a write transaction. At the end, after a clean run that polled every feed again, it checks
PRAGMA integrity_check, that every item the server ever served is stored (the feeds list every
item they ever had, so each one is offered again after a kill), and that nothing is stored
twice. Prints the figures. Usage: kill9_test.py --feedmerge BIN [--kills 100] [--seed N]"""
import argparse
import contextlib
import fcntl
import http.client
import json
import os
import random
import signal
import sqlite3
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

# SQLite's unix VFS takes the WAL write lock as an exclusive fcntl lock on byte 120 of the -shm
# file (UNIX_SHM_BASE + WAL_WRITE_LOCK) for as long as a write transaction is open.
WAL_WRITE_LOCK_BYTE = 120


def holds_write_lock(shm_path):
    """True when another process holds the WAL write lock, i.e. is inside a write transaction."""
    try:
        fd = os.open(shm_path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        request = struct.pack("hhxxxxqqixxxx", fcntl.F_WRLCK, os.SEEK_SET, WAL_WRITE_LOCK_BYTE, 1, 0)
        answer = fcntl.fcntl(fd, fcntl.F_GETLK, request)
        return struct.unpack("hhxxxxqqixxxx", answer)[0] != fcntl.F_UNLCK
    finally:
        os.close(fd)


def stored_keys(db_path):
    if not os.path.exists(db_path):
        return set()
    # Closed right away (a `with` block would not close it): an open connection keeps the -shm
    # mapped, and the next daemon may resize it under us.
    db = sqlite3.connect(db_path, timeout=30)
    try:
        if not db.execute("select 1 from sqlite_master where name = 'items'").fetchone():
            return set()  # killed before the first migration committed: nothing stored yet
        return {k for (k,) in db.execute("select key from items")}
    finally:
        db.close()


def merged_feed(port):
    """{item link: story id} of every member of every entry the merged JSON Feed serves now, or
    None when the server does not answer (the daemon may still be starting)."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/feed.json")
        response = conn.getresponse()
        body = response.read()
        conn.close()
    except OSError:
        return None
    if response.status != 200:
        return None
    served = {}
    for item in json.loads(body).get("items", []):
        extension = item["_feedmerge"]
        for member in extension["members"]:
            served[member["url"]] = str(extension["story_id"])
    return served


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--feedmerge", required=True)
    ap.add_argument("--kills", type=int, default=100)
    ap.add_argument("--feeds", type=int, default=12)
    ap.add_argument("--backlog", type=int, default=150, help="items in a feed's first response")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--max-delay", type=float, default=0.8, help="seconds before a kill, at most")
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    binary = os.path.abspath(args.feedmerge)
    failures = []

    with tempfile.TemporaryDirectory() as folder:
        # A window larger than any feed's request count: every item stays listed forever.
        server = harness.FeedServer(window=1 << 30, backlog=args.backlog)
        urls = [server.url(f"/grow/f{i}.xml") for i in range(args.feeds)]
        port = harness.free_port()
        config = harness.write_config(
            folder, urls, interval="1s",
            extra=f'[server]\nlisten = "127.0.0.1:{port}"\n\n'
                  '[[output]]\npath = "/feed.json"\nformat = "json"\nlimit = 100000\n')
        db_path = harness.database(folder)
        shm_path = db_path + "-shm"
        kills = in_transaction = never_started = 0
        ever_stored = set()
        lost_after_kill = set()
        published = {}  # item link -> story id, for every member the merged feed ever showed
        snapshots = 0
        started = time.monotonic()
        try:
            for _ in range(args.kills):
                daemon = harness.start_daemon(binary, config, folder)
                mode = rng.random()
                if mode < 1 / 3:
                    time.sleep(rng.uniform(0.0, args.max_delay))  # any moment at all
                elif mode < 2 / 3:
                    # A moment while a write transaction is open, when one is seen within 2 s:
                    # the frozen process is probed again below, and only that probe counts.
                    end = time.monotonic() + 2
                    while time.monotonic() < end and not holds_write_lock(shm_path):
                        pass
                else:
                    # A moment just after a feed was served: while its poll is parsed and
                    # written, where a kill can hurt.
                    total = sum(server.requests.values())
                    with server.lock:
                        server.lock.wait_for(lambda: sum(server.requests.values()) > total, 5)
                    time.sleep(rng.uniform(0.0, 0.03))
                if daemon.poll() is not None:
                    never_started += 1  # it died on its own: that is a failure below
                    failures.append(f"the daemon exited with {daemon.returncode} before the kill")
                    continue
                if rng.random() < 0.5:
                    shown = merged_feed(port)
                    if shown is not None:
                        snapshots += 1
                        published.update(shown)
                os.kill(daemon.pid, signal.SIGSTOP)
                if holds_write_lock(shm_path):
                    in_transaction += 1
                os.kill(daemon.pid, signal.SIGKILL)
                daemon.wait()
                kills += 1
                now = stored_keys(db_path)
                lost_after_kill |= ever_stored - now
                ever_stored |= now

            # A clean run until every feed has been polled twice more, then SIGTERM.
            counts = {u: server.count(u.split(str(server.httpd.server_address[1]))[1]) for u in urls}
            daemon = harness.start_daemon(binary, config, folder)
            for url, count in counts.items():
                path = url.split(str(server.httpd.server_address[1]))[1]
                if not server.wait_count(path, count + 2):
                    failures.append(f"{path} was not polled after the kills")
            # SIGTERM finishes the open transaction but cancels fetches in flight.
            daemon.send_signal(signal.SIGTERM)
            if daemon.wait(timeout=harness.BOUND) != 0:
                failures.append(f"the final run exited with {daemon.returncode}")
        finally:
            server.close()

        with contextlib.closing(sqlite3.connect(db_path)) as db:
            integrity = db.execute("pragma integrity_check").fetchone()[0]
            keys = [k for (k,) in db.execute("select key from items")]
            stories_of = dict(db.execute("select i.link, m.story_id from items i "
                                         "left join item_stories m on m.item_id = i.id"))
            unassigned = db.execute("select count(*) from items i where not exists "
                                    "(select 1 from item_stories m where m.item_id = i.id)").fetchone()[0]
            empty_stories = db.execute(
                "select count(*) from stories s where not exists "
                "(select 1 from item_stories m where m.story_id = s.id)").fetchone()[0]
            duplicated_titles = db.execute(
                "select count(*) from (select feed_id, title from items group by feed_id, title "
                "having count(*) > 1)").fetchone()[0]
        stored = set(keys)
        served = set()
        for guids in server.served.values():
            served |= guids
        # Items the server served: the final run polled every feed, so each must be stored.
        # The last request of each feed may have been answered after the daemon stopped
        # writing; its newest item is offered only by that response.
        last_items = {f"f{i}-{server.counter[f'f{i}']}" for i in range(args.feeds)
                      if f"f{i}" in server.counter}
        checked = served - last_items
        lost = checked - stored
        duplicated = len(keys) - len(stored) + duplicated_titles
        lost_stored = (ever_stored | lost_after_kill) - stored
        # What subscribers saw must survive: each published member is still stored, and in the
        # story it was published under (story ids never change once published).
        unpublished = sorted(link for link in published if link not in stories_of)
        moved = sorted(link for link, story in published.items()
                       if link in stories_of and str(stories_of[link]) != story)

    elapsed = time.monotonic() - started
    print(f"kill -9 loop (seed {seed}): {kills} kills, {in_transaction} inside an open write "
          f"transaction; {len(checked)} items checked, {len(lost)} lost, {duplicated} duplicated; "
          f"{len(lost_after_kill)} stored items missing after a kill, {len(lost_stored)} at the "
          f"end; {len(published)} items seen in {snapshots} merged-feed snapshots, "
          f"{len(unpublished)} of them lost, {len(moved)} moved to another story; "
          f"{unassigned} items without a story, {empty_stories} empty stories; "
          f"integrity_check {integrity}; {elapsed:.0f} s")
    if kills != args.kills:
        failures.append(f"{kills} kills instead of {args.kills}")
    if integrity != "ok":
        failures.append(f"integrity_check: {integrity}")
    if lost:
        failures.append(f"{len(lost)} served items missing, e.g. {sorted(lost)[:5]}")
    if lost_after_kill or lost_stored:
        failures.append(f"stored items vanished: {sorted(lost_after_kill | lost_stored)[:5]}")
    if duplicated:
        failures.append(f"{duplicated} items stored twice")
    if unpublished:
        failures.append(f"{len(unpublished)} items the merged feed served are gone: {unpublished[:5]}")
    if moved:
        failures.append(f"{len(moved)} published items changed story: {moved[:5]}")
    if unassigned or empty_stories:
        failures.append(f"stories not intact: {unassigned} items without one, {empty_stories} empty")
    if not published:
        failures.append("the merged feed was never read: the published-items check tested nothing")
    if not checked:
        failures.append("nothing was served: the loop tested nothing")
    for failure in failures:
        print("FAIL", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
