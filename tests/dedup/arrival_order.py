#!/usr/bin/env python3
"""Stories against arrival order: ingests a labelled corpus through the real pipeline in one poll
(every feed in one `feedmerge once --all`) and in two polls (half of the feeds first, then all of
them, into the same database), for either half first, and reports each run's scores and whether
its stories equal the one-poll run's; --shuffles N adds N runs in random feed orders (seeded),
each in three polls (the first third of the feeds, then two thirds, then all). A measurement
that exits 0 whatever the scores (non-zero only when feedmerge or the scorer fails), unless
--require-same: then it fails when any run's stories differ from the one-poll run's.

  arrival_order.py --feedmerge BIN --feeds DIR --labels labels.json --score score.py [--json]
                   [--keep-dir DIR] [--shuffles N] [--seed S] [--require-same]

The halves alternate over the feed files sorted by name (files 1, 3, 5... and 2, 4, 6...), so
each half holds outlets of every kind; the second poll reads every feed again, as a daemon would.
"""
import argparse
import json
import pathlib
import random
import subprocess
import sys
import tempfile

FEED_SUFFIXES = (".xml", ".rss", ".atom", ".rdf", ".json")


def run(command):
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(map(str, command))} failed ({result.returncode}):\n"
                 f"{result.stdout}{result.stderr}")
    return result.stdout


def write_config(path, database, feeds):
    lines = ["[server]", 'listen = ""', "[storage]", f'database = "{database}"', ""]
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
    stories = json.loads(run([binary, "stories", "--json", "--config", str(config)]))
    return [[item["link"] for item in story["items"]] for story in stories["stories"]]


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
    args = parser.parse_args()

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

    rows = []
    reference = None
    for name, polls in runs:
        with tempfile.TemporaryDirectory(prefix="feedmerge-arrival-") as tmp:
            tmp = pathlib.Path(tmp)
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
