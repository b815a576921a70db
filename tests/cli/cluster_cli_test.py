#!/usr/bin/env python3
"""Three `feedmerge run` processes sharing one PostgreSQL database: feed leases by host, one
story assigner at a time, and what survives SIGKILL.

300 feeds are served over loopback (scripts/gen-corpus --serve) under 30 host names
(hN.localhost): the 20 feeds of a labelled dedup corpus (tests/data/dedup/dev2, whose stories
CTest's dedup_arrival_order_dev2 shows to be the same whatever the order in which feeds are
polled) and 280 feeds of 8 items each made of random words, which form no story with anything. The items table is locked while the three start, so that every poller's
first write waits inside its transaction; one poller that is not the story assigner is killed
with SIGKILL right there. Later the story assigner is killed, and new items are added to ten
feeds. Then:
- every item of the corpus is stored once (per-feed counts against the corpus);
- the killed poller's feeds are claimed by the others and polled again, within a lease (plus
  one renewal period and one interval, the spread of overdue polls);
- a new story assigner takes over within the keeper's period, and no two assigner terms
  overlap (each batch is counted under its term, inside its transaction);
- every item is in a story, and once the assigner settles (a lease after the last item) the
  stories (as sets of members) equal those of a single-process `once --all` of the same feeds
  into SQLite.
Conditions are awaited by polling the database, with generous time limits.

Usage: cluster_cli_test.py --feedmerge BIN --gen-corpus scripts/gen-corpus
                           --feeds tests/data/dedup/dev2/feeds
The server: $FEEDMERGE_TEST_PG_URL (CTest's pg_server fixture); the test makes its own database
there and drops it after."""
import argparse
import json
import os
import pathlib
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

LEASE = 6       # seconds ([storage] lease); the keeper renews every 2 s
PERIOD = 2
INTERVAL = 10   # every feed's poll interval
HOSTS = 30


def word(rng):
    return "".join(rng.choice("bcdfghjklmnpqrstvwxz") + rng.choice("aeiou") for _ in range(4))


def filler_item(rng, feed, n):
    """An RSS item of random words: it shares no word with any other item. Dated February 2026,
    far from the labelled corpus's April 2021: within one window, unrelated items shift the
    dedup stage's term statistics, and its stories then depend on the batches the items arrive
    in (one `once --all` against four `once` runs of growing subsets, on SQLite alone: 2 to 6
    stories of 2,326 differ), which is the dedup stage's matter, not this test's."""
    words = lambda k: " ".join(word(rng) for _ in range(k))
    return (f"<item><title>{words(6).capitalize()}</title>"
            f"<link>https://filler-{feed}.example.org/{n}</link>"
            f"<guid isPermaLink=\"false\">filler-{feed}-{n}</guid>"
            f"<pubDate>{rng.choice((14, 15, 16, 17))} Feb 2026 {rng.randrange(24):02d}:"
            f"{rng.randrange(60):02d}:00 GMT</pubDate><description>{words(25)}</description></item>")


def write_filler(folder, count, items, rng):
    for feed in range(count):
        body = "".join(filler_item(rng, feed, n) for n in range(items))
        (folder / f"filler-{feed:03d}.rss").write_text(
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Filler {feed}</title><link>https://filler-{feed}.example.org/</link>"
            f"<description>Filler</description>{body}</channel></rss>")


def with_database(url, name, application=None):
    head, _, query = url.partition("?")
    scheme, _, rest = head.partition("://")
    authority = rest.split("/", 1)[0]
    params = [query] if query else []
    if application:
        params.append(f"application_name={application}")
    return f"{scheme}://{authority}/{name}" + ("?" + "&".join(params) if params else "")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--feedmerge", required=True)
    ap.add_argument("--gen-corpus", required=True)
    ap.add_argument("--feeds", required=True, type=pathlib.Path)
    args = ap.parse_args()
    server = os.environ.get("FEEDMERGE_TEST_PG_URL", "")
    if not server:
        sys.exit("FAIL: FEEDMERGE_TEST_PG_URL is not set (CTest's pg_server fixture sets it; "
                 "by hand: scripts/pg-test-server.sh start DIR)")
    binary = os.path.abspath(args.feedmerge)
    failures = []

    def check(name, ok, detail=""):
        print(f"{'ok  ' if ok else 'FAIL'} {name}", flush=True)
        if not ok:
            failures.append(name)
            if detail:
                print(f"     {detail}")

    database = f"feedmerge_cluster_{os.getpid()}"
    url = with_database(server, database)

    def psql(sql, target=None):
        done = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                               target or url, "-c", sql],
                              check=True, capture_output=True, text=True, timeout=60)
        return [line.split("|") for line in done.stdout.splitlines() if line]

    def scalar(sql):
        return psql(sql)[0][0]

    def await_(what, condition, timeout=60):
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            value = condition()
            if value:
                return value
            time.sleep(0.2)
        check(what, False, f"not within {timeout} s")
        raise SystemExit(finish())

    processes = {}
    corpus_server = None
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="feedmerge-cluster-"))

    def finish():
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()
        if corpus_server is not None:
            corpus_server.kill()
            corpus_server.wait()
        psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)", server)
        if failures:
            for log in sorted(tmp.glob("p*.log")):
                print(f"--- {log.name} (tail)")
                print(log.read_text()[-3000:])
        shutil.rmtree(tmp, ignore_errors=True)
        if failures:
            print(f"{len(failures)} failed")
            return 1
        print("all passed")
        return 0

    psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)", server)
    psql(f"CREATE DATABASE {database}", server)
    corpus = tmp / "corpus"
    corpus.mkdir()
    for labelled in sorted(args.feeds.iterdir()):
        shutil.copy(labelled, corpus / labelled.name)
    rng = random.Random(16)
    write_filler(corpus, 300 - len(list(corpus.iterdir())), 8, rng)
    port_file = tmp / "port"
    corpus_server = subprocess.Popen([sys.executable, args.gen_corpus, "--serve", "0", "--out",
                                      str(corpus), "--port-file", str(port_file)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started = time.monotonic()
    while not (port_file.exists() and port_file.read_text().strip()):
        if time.monotonic() - started > 30 or corpus_server.poll() is not None:
            check("gen-corpus serves", False)
            return finish()
        time.sleep(0.05)
    port = int(port_file.read_text())

    expected = {}  # feed URL -> items in the corpus
    files = {}     # feed URL -> file
    for i, path in enumerate(sorted(corpus.iterdir())):
        feed = f"http://h{i % HOSTS}.localhost:{port}/{path.name}"
        expected[feed] = 0
        files[feed] = path
    unit_of = {feed: feed.split("/")[2].split(":")[0] for feed in expected}

    def config(name, storage, level="info", listen=""):
        path = tmp / name
        lines = ["[server]", f'listen = "{listen}"', 'base_url = "http://localhost/"',
                 "[storage]", *storage,
                 "[poll]", f'interval = "{INTERVAL}s"', f'min_interval = "{INTERVAL}s"',
                 f'max_interval = "{INTERVAL}s"', "allow_private_networks = true",
                 "concurrency = 16", "per_host = 2", "[log]", f'level = "{level}"', ""]
        for feed in expected:
            lines += ["[[feed]]", f'url = "{feed}"', ""]
        path.write_text("\n".join(lines))
        return path

    def pg_config(name, application=None, listen=""):
        return config(name, ['backend = "postgresql"',
                             f'url = "{with_database(server, database, application)}"',
                             f'lease = "{LEASE}s"'], listen=listen)

    def free_port():
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]

    def get(port, path):
        try:
            return urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10).read()
        except OSError:
            return None

    # What the corpus holds, as one process reads it: items per feed.
    reference = config("reference.toml", [f'database = "{tmp / "reference.db"}"'], level="warn")
    once = subprocess.run([binary, "once", "--all", "--config", str(reference)],
                          capture_output=True, text=True, timeout=300)
    check("once --all of the corpus into SQLite", once.returncode == 0, once.stderr[-2000:])
    listed = subprocess.run([binary, "feeds", "--json", "--config", str(reference)],
                            capture_output=True, text=True, timeout=60)
    for feed in json.loads(listed.stdout)["feeds"]:
        expected[feed["url"]] = feed["items"]
    check("the corpus: 300 feeds, every one with items",
          len(expected) == 300 and all(expected.values()))

    # The schema first (a `once` of no feed), so that the lock below has a table to lock.
    empty = tmp / "empty.toml"
    empty.write_text("[server]\nlisten = \"\"\n[storage]\nbackend = \"postgresql\"\n"
                     f"url = \"{url}\"\n")
    made = subprocess.run([binary, "once", "--config", str(empty)], capture_output=True,
                          text=True, timeout=60)
    check("the schema is created", made.returncode == 0, made.stderr)

    # Every item write waits while this session holds the table in SHARE mode.
    locker = subprocess.Popen(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", url],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    locker.stdin.write("BEGIN;\nLOCK TABLE items IN SHARE MODE;\nSELECT 'locked';\n")
    locker.stdin.flush()
    assert locker.stdout.readline().strip() == "locked"

    logs = {}
    ports = {}
    for name in ("p1", "p2", "p3"):
        logs[name] = open(tmp / f"{name}.log", "w")
        ports[name] = free_port()
        processes[name] = subprocess.Popen(
            [binary, "run", "--config",
             str(pg_config(f"{name}.toml", f"fm-{name}", f"127.0.0.1:{ports[name]}"))],
            stdout=logs[name], stderr=subprocess.STDOUT)
        if name == "p1":
            # p1 becomes the story assigner: it starts first.
            await_("p1 holds the assigner lock", lambda: scalar(
                "SELECT count(*) FROM assigner_terms WHERE owner LIKE "
                f"'%:{processes['p1'].pid}:%'") == "1")

    def owners():
        return {row[0]: int(row[1]) for row in psql(
            "SELECT owner, count(*) FROM leases WHERE expires_at >= clock_timestamp() AND "
            "owner <> '' GROUP BY owner")}

    def pid_of(owner):
        return int(owner.split(":")[1])

    # The hosts are shared out: three owners, every host held, none by two.
    shared = await_("three pollers share the 30 hosts",
                    lambda: (lambda o: o if len(o) == 3 and sum(o.values()) == HOSTS and
                             max(o.values()) <= HOSTS // 3 + 1 else None)(owners()))
    check("each poller holds a fair share", all(n >= HOSTS // 3 - 1 for n in shared.values()),
          str(shared))
    assigner = scalar("SELECT owner FROM assigner_terms ORDER BY term DESC LIMIT 1")
    reader = pg_config("read.toml")
    listed = json.loads(subprocess.run([binary, "feeds", "--json", "--config", str(reader)],
                                       capture_output=True, text=True, timeout=60).stdout)
    holders = {feed["holder"] for feed in listed["feeds"]}
    check("feeds names the story assigner and a live holder for every feed",
          listed["story_assigner"] == assigner and holders == set(shared), str(holders))

    def assigner_gauges():
        gauges = {}
        for name, port in ports.items():
            text = (get(port, "/metrics") or b"").decode()
            line = [l for l in text.splitlines() if l.startswith("feedmerge_story_assigner{")]
            if line:
                gauges[name] = line[0].rsplit(" ", 1)[1]
        return gauges if len(gauges) == 3 else None

    gauges = await_("every process serves /metrics", assigner_gauges)
    check("/metrics: exactly one process says it assigns stories",
          sorted(gauges.values()) == ["0", "0", "1"], str(gauges))
    victim_name = "p2"
    victim_owner = next(o for o in shared if pid_of(o) == processes[victim_name].pid)
    check("the victim is not the story assigner", victim_owner != assigner)
    # SIGKILL while the victim's poll is inside its write transaction (record_poll's first
    # statement, the feed's row, or its items), waiting on a lock: the items table's, or the
    # row of a feed whose first poll another poller began before the hosts were shared out.
    await_("the victim's poll waits inside its write transaction", lambda: scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'fm-p2' AND "
        "wait_event_type = 'Lock' AND (query LIKE 'INSERT INTO items %' OR "
        "query LIKE 'UPDATE feeds SET fetch_url %')") == "1")
    victim_units = {row[0] for row in psql(
        f"SELECT unit FROM leases WHERE owner = '{victim_owner}'")}
    killed_at = float(scalar("SELECT extract(epoch FROM clock_timestamp())"))
    processes[victim_name].send_signal(signal.SIGKILL)
    processes[victim_name].wait()
    locker.stdin.write("ROLLBACK;\n\\q\n")
    locker.stdin.close()
    locker.wait(timeout=30)

    # Its hosts go to the others once its lease runs out; its feeds are polled again.
    victim_feeds = [feed for feed in expected if unit_of[feed] in victim_units]
    feed_list = ",".join("'" + feed.replace("'", "''") + "'" for feed in victim_feeds)

    def claimed():
        rows = psql(f"SELECT count(*) FROM leases WHERE owner NOT IN ('{victim_owner}', '') AND "
                    f"expires_at >= clock_timestamp() AND unit IN "
                    f"({','.join(repr(u) for u in victim_units)})")
        return rows[0][0] == str(len(victim_units))

    await_("the killed poller's hosts are claimed by the others", claimed, timeout=60)
    claimed_after = time.time() - killed_at

    def repolled():
        rows = psql(f"SELECT count(*), max(last_attempt) FROM feeds WHERE url IN ({feed_list}) "
                    f"AND last_attempt >= {int(killed_at)}")
        return float(rows[0][1]) if rows[0][0] == str(len(victim_feeds)) else None

    last = await_("every feed of the killed poller is polled again", repolled, timeout=90)
    repoll_after = last - killed_at
    print(f"     the killed poller held {len(victim_units)} hosts ({len(victim_feeds)} feeds); "
          f"claimed by others {claimed_after:.1f} s after the kill, every feed polled again "
          f"{repoll_after:.1f} s after it (lease {LEASE} s)")
    check(f"within a lease, a renewal period and an interval ({LEASE + PERIOD + INTERVAL} s)",
          repoll_after <= LEASE + PERIOD + INTERVAL + 2, f"{repoll_after:.1f} s")

    def stored_counts():
        return {row[0]: int(row[1]) for row in psql(
            "SELECT f.url, count(i.id) FROM feeds AS f LEFT JOIN items AS i ON i.feed_id = f.id "
            "GROUP BY f.url")}

    await_("every item of the corpus is stored",
           lambda: sum(stored_counts().values()) >= sum(expected.values()), timeout=90)

    # Stories reach the servers that did not assign them (NOTIFY): the remaining poller that
    # is not the assigner serves what `render` renders from the database, once all is assigned.
    await_("every stored item is in a story", lambda: scalar(
        "SELECT count(*) FROM items AS i WHERE NOT EXISTS (SELECT 1 FROM item_stories AS m "
        "WHERE m.item_id = i.id)") == "0", timeout=90)
    listener = next(n for n, p in processes.items()
                    if p.poll() is None and p.pid != pid_of(assigner))

    def served_as_rendered():
        rendered = subprocess.run([binary, "render", "/feed.xml", "--config", str(reader)],
                                  capture_output=True, timeout=60).stdout
        return b"<item>" in rendered and get(ports[listener], "/feed.xml") == rendered

    await_(f"{listener}, not the assigner, serves the stories as stored", served_as_rendered,
           timeout=30)
    check(f"{listener}, not the assigner, serves the stories as stored", True)

    # Now the story assigner: killed, then ten feeds gain an item each, which only a new
    # assigner can put into stories.
    assigner_name = next(n for n, p in processes.items() if p.pid == pid_of(assigner))
    terms_before = int(scalar("SELECT count(*) FROM assigner_terms"))
    killed_at = float(scalar("SELECT extract(epoch FROM clock_timestamp())"))
    processes[assigner_name].send_signal(signal.SIGKILL)
    processes[assigner_name].wait()
    added = 0
    for feed, path in files.items():
        if added == 10 or not path.name.startswith("filler-"):
            continue
        text = path.read_text()
        item = filler_item(rng, path.stem, "added")
        path.write_text(text.replace("</channel>", item + "</channel>", 1))
        expected[feed] += 1
        added += 1
    took_over = await_("a new story assigner takes over", lambda: psql(
        f"SELECT extract(epoch FROM started), owner FROM assigner_terms WHERE term > "
        f"{terms_before} ORDER BY term LIMIT 1"), timeout=60)[0]
    takeover = float(took_over[0]) - killed_at
    print(f"     story assigner killed; {took_over[1]} took over {takeover:.1f} s later")
    # The bound: one keeper period after the server ended the dead session (at once), plus
    # the time this test takes to see it.
    check(f"the new assigner within the keeper's period ({PERIOD} s) and 2 s",
          takeover <= PERIOD + 2.0, f"{takeover:.1f} s")

    def all_assigned():
        total = sum(stored_counts().values())
        unassigned = int(scalar("SELECT count(*) FROM items AS i WHERE NOT EXISTS (SELECT 1 FROM "
                                "item_stories AS m WHERE m.item_id = i.id)"))
        return total == sum(expected.values()) and unassigned == 0

    await_("every item, the added ones too, is stored and in a story", all_assigned, timeout=90)
    counts = stored_counts()
    wrong = {feed: (counts.get(feed), n) for feed, n in expected.items() if counts.get(feed) != n}
    check(f"each feed holds its corpus items once ({sum(expected.values())} items)", not wrong,
          str(list(wrong.items())[:5]))

    terms = psql("SELECT term, owner, extract(epoch FROM started), batches, "
                 "coalesce(extract(epoch FROM last_batch), 0) FROM assigner_terms ORDER BY term")
    print("     assigner terms: " + "; ".join(f"{t[0]} {t[1]} batches {t[3]}" for t in terms))
    overlaps = [(a[0], b[0]) for a, b in zip(terms, terms[1:])
                if float(a[4]) and float(a[4]) > float(b[2])]
    check("two assigner terms, batches by the live one only, never overlapping",
          len(terms) >= 2 and not overlaps and int(terms[-1][3]) > 0, str(terms))

    # `once` beside a `run` that assigns stories stores items only.
    beside = subprocess.run([binary, "once", "--all", "--config", str(reader)],
                            capture_output=True, text=True, timeout=120)
    check("once beside the assigner polls, and leaves stories to it",
          beside.returncode == 0 and "another process assigns them" in beside.stderr,
          beside.stderr[-1000:])

    def stories(config_path):
        listed = subprocess.run([binary, "stories", "--json", "--config", str(config_path)],
                                capture_output=True, text=True, timeout=120)
        if listed.returncode != 0:
            check(f"stories --json through {config_path.name}", False, listed.stderr)
            raise SystemExit(finish())
        return sorted(sorted((m["feed"], m["link"]) for m in s["items"])
                      for s in json.loads(listed.stdout)["stories"])

    # The stories against a single process's. The assigner places each batch against the index
    # it kept since the last one, and settles the stories (rebuilds the index from the store and
    # clusters the window again) once no item came for a lease: then they are what a new
    # assigner, or one process reading every feed at once, makes of the stored items.
    single = config("single.toml", [f'database = "{tmp / "single.db"}"'], level="warn")
    once = subprocess.run([binary, "once", "--all", "--config", str(single)],
                          capture_output=True, text=True, timeout=300)
    check("once --all of the same feeds into SQLite", once.returncode == 0, once.stderr[-2000:])
    single_stories = stories(single)
    all_in = time.monotonic()
    owner_now = scalar("SELECT owner FROM assigner_terms ORDER BY term DESC LIMIT 1")
    assigner_now = next(n for n, p in processes.items() if p.pid == pid_of(owner_now))
    log_path = tmp / f"{assigner_now}.log"
    shared_stories = []
    was_settled = False

    def settled():
        # The log line first: stories read after it are the settled ones.
        nonlocal shared_stories, was_settled
        was_settled = "stories: settled" in log_path.read_text()
        shared_stories = stories(reader)
        return was_settled and shared_stories == single_stories

    limit = LEASE + 2 * PERIOD + 30
    while not settled() and time.monotonic() - all_in < limit:
        time.sleep(0.5)
    check(f"{assigner_now} kept its index between batches, and settled", was_settled,
          log_path.read_text()[-1500:])
    logged = 0
    for line in log_path.read_text().splitlines():
        if "stories: settled" in line:
            logged += 1
            print("     " + line.split("] ", 3)[-1])
    counted = [line.rsplit(" ", 1)[1] for line in
               (get(ports[assigner_now], "/metrics") or b"").decode().splitlines()
               if line.startswith("feedmerge_story_settles_total{")]
    check(f"/metrics counts {assigner_now}'s settles (at least the {logged} it logged)",
          counted and logged >= 1 and int(counted[0]) >= logged, str(counted))
    differ = [s for s in shared_stories if s not in single_stories]
    check(f"the stories settle to a single process's ({len(single_stories)} stories, "
          f"{sum(len(s) > 1 for s in single_stories)} with several members), "
          f"{time.monotonic() - all_in:.1f} s after every item was in a story (lease {LEASE} s)",
          shared_stories == single_stories,
          f"{len(shared_stories)} vs {len(single_stories)}; differing: {differ[:3]}")

    # The survivor stops cleanly.
    survivor = next(n for n, p in processes.items() if p.poll() is None)
    processes[survivor].send_signal(signal.SIGTERM)
    check("the survivor stops cleanly on SIGTERM", processes[survivor].wait(timeout=60) == 0)
    freed = scalar("SELECT count(*) FROM leases WHERE owner <> ''")
    check("a clean stop frees its leases at once", freed == "0", freed)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
