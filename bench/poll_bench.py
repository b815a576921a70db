#!/usr/bin/python3
"""Report of the poll benchmark: reads the work folder bench/poll_bench.sh filled
(NAME.time from /usr/bin/time -v, NAME.out, NAME.rc, feedmerge.db, newsboat.db) and prints the
table, the ratios against the issue's targets and the item coverage (every item newsboat
stored must be stored by feedmerge too). Standard library only."""

import argparse
import json
import os
import re
import sqlite3
import sys

TARGET_FIRST_VS_NEWSBOAT = 10.0  # our first poll at least 10x faster than newsboat's first load
TARGET_CONDITIONAL = 10.0  # our conditional poll at least 10x faster than our first
TARGET_RSS_MB = 100.0  # peak RSS of each feedmerge run


def read_time(path):
    """Wall, user+sys and peak RSS (MB = 2^20 bytes) from /usr/bin/time -v output."""
    fields = {}
    with open(path) as f:
        for line in f:
            key, sep, value = line.strip().rpartition(": ")
            if sep:
                fields[key] = value
    wall = 0.0
    for part in fields["Elapsed (wall clock) time (h:mm:ss or m:ss)"].split(":"):
        wall = wall * 60 + float(part)
    cpu = float(fields["User time (seconds)"]) + float(fields["System time (seconds)"])
    rss_mb = int(fields["Maximum resident set size (kbytes)"]) / 1024
    return wall, cpu, rss_mb


def query(db, sql):
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", required=True)
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--concurrency", default="?")
    parser.add_argument("--per-host", default="?")
    parser.add_argument("--newsboat-threads", default="?")
    parser.add_argument("--server-cpus", default="any")
    args = parser.parse_args()
    work = args.work

    with open(os.path.join(args.corpus, "corpus.json")) as f:
        corpus = json.load(f)
    ours_db = os.path.join(work, "feedmerge.db")
    theirs_db = os.path.join(work, "newsboat.db")

    ours_items = query(ours_db, "SELECT count(*) FROM items")[0][0]
    theirs_items = query(theirs_db, "SELECT count(*) FROM rss_item")[0][0]
    theirs_feeds = query(theirs_db, "SELECT count(DISTINCT feedurl) FROM rss_item")[0][0]
    ours_feeds = query(ours_db, "SELECT count(DISTINCT feed_id) FROM items")[0][0]

    runs = [
        ("feedmerge-1", "feedmerge once --all (first)"),
        ("feedmerge-2", "feedmerge once --all (conditional)"),
        ("curl-conditional", "curl --parallel, same 1000 cond. GETs"),
        ("newsboat-1", "newsboat -x reload (first)"),
        ("newsboat-2", "newsboat -x reload (second)"),
        ("newsboat-3", "newsboat -x reload (conditional)"),
    ]
    measured = {}
    print(f"corpus: {corpus['feeds']} feeds, {corpus['items']} items, "
          f"{corpus['bytes'] / 1e6:.0f} MB, served by gen-corpus on 127.0.0.1 "
          f"({'server on any CPU' if args.server_cpus == 'any' else 'server pinned to CPU ' + args.server_cpus}); "
          f"feedmerge concurrency={args.concurrency} per_host={args.per_host}, "
          f"newsboat reload-threads={args.newsboat_threads}")
    print()
    print(f"{'run':<36} {'wall s':>7} {'CPU s':>7} {'peak RSS MB':>11} {'exit':>4}  note")
    for name, label in runs:
        wall, cpu, rss = read_time(os.path.join(work, name + ".time"))
        with open(os.path.join(work, name + ".rc")) as f:
            rc = int(f.read())
        measured[name] = (wall, cpu, rss)
        note = ""
        if name.startswith("feedmerge"):
            with open(os.path.join(work, name + ".out")) as f:
                summary = [line.strip() for line in f if line.startswith("polled ")]
            note = summary[-1] if summary else "(no summary line)"
        elif name == "curl-conditional":
            with open(os.path.join(work, name + ".out")) as f:
                codes = [line.strip() for line in f if line.strip().isdigit()]
            note = (f"{codes.count('304')} of {len(codes)} answered 304: the server's floor "
                    f"for a conditional poll")
        print(f"{label:<36} {wall:>7.2f} {cpu:>7.2f} {rss:>11.1f} {rc:>4}  {note}")
    print()
    print(f"items stored: feedmerge {ours_items} (from {ours_feeds} feeds), "
          f"newsboat {theirs_items} (from {theirs_feeds} feeds; it reads no JSON Feed)")
    print()

    def verdict(ok):
        return "meets" if ok else "MISSES"

    first = measured["feedmerge-1"][0]
    conditional = measured["feedmerge-2"][0]
    newsboat_first = measured["newsboat-1"][0]
    ratio_first = newsboat_first / first
    ratio_conditional = first / conditional
    peak = max(measured["feedmerge-1"][2], measured["feedmerge-2"][2])
    print(f"newsboat first / feedmerge first      {ratio_first:6.1f}x  "
          f"(target >= {TARGET_FIRST_VS_NEWSBOAT:.0f}x: {verdict(ratio_first >= 10)})")
    print(f"feedmerge first / feedmerge condit.   {ratio_conditional:6.1f}x  "
          f"(target >= {TARGET_CONDITIONAL:.0f}x: {verdict(ratio_conditional >= 10)})")
    print(f"feedmerge peak RSS                    {peak:6.1f} MB "
          f"(target < {TARGET_RSS_MB:.0f} MB: {verdict(peak < TARGET_RSS_MB)})")
    floor = measured["curl-conditional"][0]
    print(f"feedmerge first / curl's conditional  {first / floor:6.1f}x  "
          f"(for information: the best ratio any client could reach against this server; "
          f"our conditional poll is {conditional / floor:.2f}x curl's time)")
    newsboat_conditional = measured["newsboat-3"][0]
    print(f"newsboat conditional / ours           {newsboat_conditional / conditional:6.1f}x  "
          f"(for information)")

    # Coverage. newsboat's guid is the RSS guid, the Atom id or the RSS 1.0 rdf:about, else
    # the link; ours is in items.guid, items.link or items.key (see src/store/item_codec.h).
    # An item of newsboat's counts as stored by us when its (feed URL, guid) matches any of the
    # three, or its (feed URL, link) matches our link.
    ours = set()
    for url, key, guid, link in query(
            ours_db, "SELECT f.url, i.key, i.guid, i.link FROM items i JOIN feeds f "
            "ON f.id = i.feed_id"):
        for value in (key, guid, link):
            if value:
                ours.add((url, value))
    missing = []
    for feed_url, guid, link, title in query(
            theirs_db, "SELECT feedurl, guid, url, title FROM rss_item"):
        if (feed_url, guid) in ours or (link and (feed_url, link) in ours):
            continue
        missing.append((feed_url, guid, link, title))
    print(f"items newsboat stored that feedmerge did not: {len(missing)} of {theirs_items} "
          f"(target 0: {verdict(not missing)})")
    for feed_url, guid, link, title in missing[:20]:
        print(f"  {feed_url}  guid={guid!r}  link={link!r}  title={title[:60]!r}")
    if len(missing) > 20:
        print(f"  ... and {len(missing) - 20} more")

    met = (ratio_first >= TARGET_FIRST_VS_NEWSBOAT and ratio_conditional >= TARGET_CONDITIONAL
           and peak < TARGET_RSS_MB and not missing)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
