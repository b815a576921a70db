#!/usr/bin/env python3
"""Stories against arrival order: ingests a labelled corpus through the real pipeline in one poll
(every feed in one `feedmerge once --all`) and in two polls (half of the feeds first, then all of
them, into the same database), for either half first, and reports each run's scores and whether
its stories equal the one-poll run's; --shuffles N adds N runs in random feed orders (seeded),
each in three polls (the first third of the feeds, then two thirds, then all). --daemon adds
the two-poll runs through the daemon: one `run` starts on half of the feeds and is reloaded
(SIGHUP) with all of them; it places the second half against the index it kept, then settles
once no item came for a lease (--lease, default 3s), and its stories are read once it logged a
settle after the reload and they equal the one-poll run's, or after --daemon-wait seconds.
A measurement that exits 0 whatever the scores (non-zero only when feedmerge or the scorer
fails), unless --require-same: then it fails when any run's stories differ from the one-poll
run's.

  arrival_order.py --feedmerge BIN --feeds DIR --labels labels.json --score score.py [--json]
                   [--keep-dir DIR] [--shuffles N] [--seed S] [--require-same]
                   [--daemon [--lease 3s] [--daemon-wait 60]]

The halves alternate over the feed files sorted by name (files 1, 3, 5... and 2, 4, 6...), so
each half holds outlets of every kind; the second poll reads every feed again, as a daemon would.
"""
import argparse
import json
import pathlib
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

FEED_SUFFIXES = (".xml", ".rss", ".atom", ".rdf", ".json")


def run(command):
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(map(str, command))} failed ({result.returncode}):\n"
                 f"{result.stdout}{result.stderr}")
    return result.stdout


def write_config(path, database, feeds, lease=None):
    lines = ["[server]", 'listen = ""', "[storage]", f'database = "{database}"']
    if lease:
        lines.append(f'lease = "{lease}"')
    lines.append("")
    for feed in feeds:
        lines += ["[[feed]]", f'url = "{feed.resolve().as_uri()}"', ""]
    path.write_text("\n".join(lines))


def ingest(binary, workdir, polls):
    """Runs one `once --all` per entry of `polls` (a list of feed lists) into one database and
    returns the stories as clusters of item links."""
    database = workdir / "stories.db"
    config = workdir / "feedmerge.toml"
    for feeds in polls:
        write_config(config, database, feeds)
        run([binary, "once", "--all", "--config", str(config)])
    return stories_of(binary, config)


def stories_of(binary, config):
    """The stories as clusters of item links."""
    stories = json.loads(run([binary, "stories", "--json", "--config", str(config)]))
    return [[item["link"] for item in story["items"]] for story in stories["stories"]]


def all_placed(database, feeds):
    """Every feed of `feeds` polled and every stored item in a story."""
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
            polled = conn.execute("select count(*) from feeds where last_success is not null"
                                  ).fetchone()[0]
            items = conn.execute("select count(*) from items").fetchone()[0]
            members = conn.execute("select count(*) from item_stories").fetchone()[0]
    except sqlite3.Error:
        return False
    return polled >= len(feeds) and items > 0 and members == items


def ingest_daemon(binary, workdir, polls, reference, lease, wait):
    """One `run` through `polls`: it starts on the first list of feeds, and each later list is a
    reload (SIGHUP) once every item so far is in a story. Returns the stories once the daemon
    logged a settle after the last reload and they equal `reference` (a partition), or when
    `wait` seconds have passed since the last list was placed; and whether it settled."""
    database = workdir / "stories.db"
    config = workdir / "feedmerge.toml"
    log_path = workdir / "run.log"
    write_config(config, database, polls[0], lease)
    with open(log_path, "w") as log:
        daemon = subprocess.Popen([binary, "run", "--config", str(config)], cwd=workdir,
                                  stdout=log, stderr=subprocess.STDOUT)
    try:
        def until(condition, seconds, what):
            started = time.monotonic()
            while not condition():
                if daemon.poll() is not None:
                    sys.exit(f"feedmerge run exited ({daemon.returncode}) {what}:\n"
                             f"{log_path.read_text()[-3000:]}")
                if time.monotonic() - started > seconds:
                    return False
                time.sleep(0.1)
            return True

        for k, feeds in enumerate(polls):
            if k > 0:
                write_config(config, database, feeds, lease)
                daemon.send_signal(signal.SIGHUP)
            if not until(lambda: all_placed(database, feeds), 120, "while polling"):
                sys.exit(f"feedmerge run: not every feed polled and placed within 120 s:\n"
                         f"{log_path.read_text()[-3000:]}")
        # The settle may have come before the last placement was seen: any since the reload.
        reloaded_at = max(log_path.read_text().rfind("reloaded "), 0)

        def settled():
            return "stories: settled" in log_path.read_text()[reloaded_at:]
        clusters = []

        def settled_as_reference():
            nonlocal clusters
            was_settled = settled()
            clusters = stories_of(binary, config)  # after the log line: the settled stories
            return was_settled and as_partition(clusters) == reference
        until(settled_as_reference, wait, "while settling")
        return clusters, settled()
    finally:
        daemon.terminate()
        daemon.wait(timeout=60)


def score(scorer, labels, clusters, workdir, name):
    predictions = workdir / f"{name}.predictions.json"
    predictions.write_text(json.dumps({"clusters": clusters}))
    return json.loads(run([sys.executable, scorer, labels, str(predictions), "--json"])), predictions


def as_partition(clusters):
    return {frozenset(c) for c in clusters}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--feedmerge", required=True)
    parser.add_argument("--feeds", required=True, type=pathlib.Path)
    parser.add_argument("--labels", required=True)
    parser.add_argument("--score", required=True)
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.add_argument("--keep-dir", type=pathlib.Path, help="write each run's predictions here")
    parser.add_argument("--shuffles", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--require-same", action="store_true")
    parser.add_argument("--daemon", action="store_true", help="two polls through `run` too")
    parser.add_argument("--lease", default="3s", help="the daemon's [storage] lease")
    parser.add_argument("--daemon-wait", type=float, default=60)
    args = parser.parse_args()
    args.feedmerge = str(pathlib.Path(args.feedmerge).resolve())  # `run` starts in its folder

    feeds = sorted(p for p in args.feeds.iterdir() if p.suffix in FEED_SUFFIXES)
    if len(feeds) < 2:
        sys.exit(f"{args.feeds}: fewer than two feed files")
    odd, even = feeds[0::2], feeds[1::2]
    runs = [("one poll", [feeds]),
            ("two polls, half A first", [odd, feeds]),
            ("two polls, half B first", [even, feeds])]
    shuffler = random.Random(args.seed)
    for k in range(args.shuffles):
        order = feeds[:]
        shuffler.shuffle(order)
        third = max(1, len(order) // 3)
        runs.append((f"shuffle {k + 1}, three polls", [order[:third], order[:2 * third], order]))
    if args.daemon:
        runs += [("daemon, two polls, half A first", [odd, feeds]),
                 ("daemon, two polls, half B first", [even, feeds])]

    rows = []
    reference = None
    for name, polls in runs:
        with tempfile.TemporaryDirectory(prefix="feedmerge-arrival-") as tmp:
            tmp = pathlib.Path(tmp)
            if name.startswith("daemon"):
                clusters, settled = ingest_daemon(args.feedmerge, tmp, polls, reference,
                                                  args.lease, args.daemon_wait)
                name += ", settled" if settled else ", not settled"
            else:
                clusters = ingest(args.feedmerge, tmp, polls)
            result, predictions = score(args.score, args.labels, clusters, tmp, name.replace(" ", "-"))
            if args.keep_dir:
                args.keep_dir.mkdir(parents=True, exist_ok=True)
                (args.keep_dir / predictions.name.replace(",", "")).write_text(predictions.read_text())
        partition = as_partition(clusters)
        if reference is None:
            reference = partition
        translated = (result["recall_by_relation"] or {}).get("translated") or {}
        rows.append({
            "run": name,
            "first_poll": [p.name for p in polls[0]] if len(polls) > 1 else None,
            "stories": len(clusters),
            "items": sum(len(c) for c in clusters),
            "pairwise": result["pairwise"],
            "bcubed_f1": result["bcubed"]["f1"],
            "translated_recall": translated.get("pairwise_recall"),
            "cross_language_recall": result["cross_language"]["recall"],
            "false_pairs": result["false_merged_pairs"]["total"],
            "decoy_with_target": result["false_merged_pairs"]["decoy_with_its_target"],
            "same_stories_as_one_poll": partition == reference,
            "stories_differing_from_one_poll": len(partition ^ reference),
        })

    differing = [r["run"] for r in rows if not r["same_stories_as_one_poll"]]
    failed = args.require_same and bool(differing)
    if args.json:
        print(json.dumps(rows, indent=1))
        return 1 if failed else 0
    print("half A: " + ", ".join(p.name for p in odd))
    print("half B: " + ", ".join(p.name for p in even))
    print()
    print("| run | stories | pairwise P | pairwise R | pairwise F1 | b-cubed F1 | translated recall "
          "| cross-language recall | false pairs | decoy with target | same stories as one poll |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for r in rows:
        same = "yes" if r["same_stories_as_one_poll"] else \
            f"no ({r['stories_differing_from_one_poll']} clusters not in both)"
        tr = "n/a" if r["translated_recall"] is None else f"{r['translated_recall']:.3f}"
        cl = "n/a" if r["cross_language_recall"] is None else f"{r['cross_language_recall']:.3f}"
        print(f"| {r['run']} | {r['stories']} | {r['pairwise']['precision']:.3f} | "
              f"{r['pairwise']['recall']:.3f} | {r['pairwise']['f1']:.3f} | {r['bcubed_f1']:.3f} | "
              f"{tr} | {cl} | {r['false_pairs']} | {r['decoy_with_target']} | {same} |")
    if failed:
        print(f"FAIL stories depend on arrival order: {', '.join(differing)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
