#!/usr/bin/env python3
"""Helpers of bench/serve_bench.sh: the corpus and config, the stories (by SQL, three members
each), waiting for a server, and the wrk runs with their comparison."""
import argparse
import gzip
import http.client
import os
import random
import re
import sqlite3
import subprocess
import sys
import time
import urllib.parse

OUTLETS = ["alpha", "beta", "gamma"]
STORIES = 100
# Words drawn at random from a large vocabulary, so that the output compresses about as well as
# real news text (roughly 3 to 4 times), not like a repeated sentence.
RANDOM = random.Random(1)
VOCABULARY = ["".join(RANDOM.choice("etaoinshrdlcumwfgypbvkjxqz") for _ in range(RANDOM.randint(2, 10)))
              for _ in range(5000)]
WORDS = VOCABULARY


def prepare(args):
    os.makedirs(os.path.join(args.work, "feeds"), exist_ok=True)
    for o, outlet in enumerate(OUTLETS):
        items = []
        for i in range(STORIES):
            words = " ".join(RANDOM.choice(VOCABULARY) for _ in range(150))
            items.append(f"""<item><title>Story {i}: {outlet} reports {WORDS[i % len(WORDS)]} &amp; more</title>
<link>https://{outlet}.example.com/2026/story-{i}</link><guid>https://{outlet}.example.com/2026/story-{i}</guid>
<pubDate>Mon, 02 Nov 2026 {i % 24:02d}:{(i * 7 + o) % 60:02d}:00 +0000</pubDate>
<category>Tech</category><category>{outlet.title()}</category>
<description>&lt;p&gt;{words}&lt;/p&gt;&lt;p&gt;&lt;a href="/more/{i}"&gt;Read more&lt;/a&gt;&lt;/p&gt;</description></item>""")
        with open(os.path.join(args.work, "feeds", f"{outlet}.rss"), "w") as f:
            f.write(f"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>
<title>{outlet.title()} News</title><link>https://{outlet}.example.com/</link><description>x</description>
{''.join(items)}</channel></rss>""")
    feeds = "".join(f'\n[[feed]]\nurl = "file:feeds/{o}.rss"\ncategory = "news"\n' for o in OUTLETS)
    with open(os.path.join(args.work, "feedmerge.toml"), "w") as f:
        f.write(f"""[server]
listen = "127.0.0.1:{args.port}"
[storage]
database = "bench.db"
[poll]
interval = "24h"
min_interval = "24h"
[publish]
output_dir = "www"
[log]
level = "warn"
[[output]]
path = "/feed.xml"
format = "rss"
title = "Benchmark, merged"
limit = {STORIES}
{feeds}""")


def stories(args):
    with sqlite3.connect(os.path.join(args.work, "bench.db")) as db:
        for i in range(STORIES):
            ids = [r[0] for r in db.execute("select id from items where link like ?", (f"%/story-{i}",))]
            cur = db.execute("insert into stories (first_published, first_seen, updated, representative_item_id) "
                             "select min(published), min(first_seen), max(first_seen), min(id) from items "
                             f"where id in ({','.join('?' * len(ids))})", ids)
            db.executemany("insert or replace into item_stories (item_id, story_id) values (?, ?)",
                           [(x, cur.lastrowid) for x in ids])


def wait(args):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            u = urllib.parse.urlsplit(args.url)
            c = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
            c.request("GET", u.path)
            r = c.getresponse()
            r.read()
            if r.status == 200 and (not args.file or os.path.exists(args.file)):
                return 0
        except OSError:
            pass
        time.sleep(0.1)
    print(f"serve_bench: {args.url} did not answer", file=sys.stderr)
    return 1


def fetch(url, headers):
    u = urllib.parse.urlsplit(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    c.request("GET", u.path, headers=headers)
    r = c.getresponse()
    return r, r.read()


def wrk(url, duration, headers):
    cmd = ["wrk", "-t2", "-c50", f"-d{duration}", "--latency"]
    for k, v in headers.items():
        cmd += ["-H", f"{k}: {v}"]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    p99_ms = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return rps, p99_ms, (int(bad.group(1)) if bad else 0), (errors.group(1) if errors else "")


def run(args):
    # Same bytes from both servers, and the headers that matter to readers.
    rf, bf = fetch(args.feedmerge, {})
    rn, bn = fetch(args.nginx, {})
    gf, gbf = fetch(args.feedmerge, {"Accept-Encoding": "gzip"})
    gn, gbn = fetch(args.nginx, {"Accept-Encoding": "gzip"})
    assert bf == bn, "the two servers send different bodies"
    assert gbf == gbn and gf.getheader("Content-Encoding") == gn.getheader("Content-Encoding") == "gzip", \
        "the gzip bodies differ"
    assert gzip.decompress(gbf) == bf
    print(f"output: {len(bf):,} bytes, gzip {len(gbf):,} bytes")
    for name, r in (("feedmerge", rf), ("nginx", rn)):
        print(f"  {name:9} " + "; ".join(f"{h}: {r.getheader(h)}" for h in
                                          ("Content-Type", "ETag", "Last-Modified", "Vary")))
    cases = [("200 plain", lambda r: {}), ("200 gzip", lambda r: {"Accept-Encoding": "gzip"}),
             ("304 If-None-Match", lambda r: {"If-None-Match": r.getheader("ETag")})]
    rows = []
    ok = True
    for case, headers in cases:
        f = wrk(args.feedmerge, args.duration, headers(rf))
        n = wrk(args.nginx, args.duration, headers(rn))
        for who, res in (("feedmerge", f), ("nginx", n)):
            if res[2] or res[3]:
                print(f"  warning: {who} {case}: {res[2]} non-2xx/3xx responses, socket errors: {res[3]}")
        rps_ratio, p99_ratio = f[0] / n[0], f[1] / n[1]
        met = rps_ratio >= 0.5 and p99_ratio <= 2.0
        ok &= met
        rows.append((case, f, n, rps_ratio, p99_ratio, met))
    print(f"\nwrk -t2 -c50 -d{args.duration} --latency, same run:")
    print(f"{'case':20} {'feedmerge req/s':>16} {'nginx req/s':>12} {'ratio':>6}   "
          f"{'feedmerge p99':>13} {'nginx p99':>10} {'ratio':>6}  target")
    for case, f, n, rr, pr, met in rows:
        print(f"{case:20} {f[0]:16,.0f} {n[0]:12,.0f} {rr:6.2f}   {f[1]:11.2f}ms {n[1]:8.2f}ms {pr:6.2f}  "
              f"{'met' if met else 'MISSED'}")
    print("targets: req/s ratio >= 0.50, p99 ratio <= 2.00")
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare"); p.add_argument("--work", required=True); p.add_argument("--port", required=True)
    p = sub.add_parser("stories"); p.add_argument("--work", required=True)
    p = sub.add_parser("wait"); p.add_argument("--url", required=True); p.add_argument("--file")
    p = sub.add_parser("run")
    for a in ("--feedmerge", "--nginx", "--duration", "--work"):
        p.add_argument(a, required=True)
    args = ap.parse_args()
    return {"prepare": prepare, "stories": stories, "wait": wait, "run": run}[args.command](args) or 0


if __name__ == "__main__":
    sys.exit(main())
