#!/usr/bin/env python3
"""Quality gate for stories: ingests a labelled corpus through the real pipeline (a config
with file:// URLs, `feedmerge once --all`, `feedmerge stories --json`), turns the stories into
score.py predictions (one cluster per story, its items' links) and fails when a score is below
its target. Not a timing: it measures what dedup decides.

  quality_gate.py --feedmerge BIN --feeds DIR --labels labels.json --score score.py
                  [--min-pairwise-f1 0.90] [--min-bcubed-f1 0.93]
                  [--min-translated-recall 0.85] [--max-decoy-with-target 0]
                  [--min-pairwise-precision P] [--min-pairwise-recall R]
A --min-translated-recall below 0 skips that check (a corpus without translations).
"""
import argparse
import json
import pathlib
import subprocess
import sys
import tempfile


def run(command):
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(map(str, command))} failed ({result.returncode}):\n"
                 f"{result.stdout}{result.stderr}")
    return result.stdout


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--feedmerge", required=True)
    parser.add_argument("--feeds", required=True, type=pathlib.Path)
    parser.add_argument("--labels", required=True)
    parser.add_argument("--score", required=True)
    parser.add_argument("--min-pairwise-f1", type=float, default=0.90)
    parser.add_argument("--min-bcubed-f1", type=float, default=0.93)
    parser.add_argument("--min-translated-recall", type=float, default=0.85)
    parser.add_argument("--max-decoy-with-target", type=int, default=0)
    parser.add_argument("--min-pairwise-precision", type=float)
    parser.add_argument("--min-pairwise-recall", type=float)
    parser.add_argument("--keep", help="write the predictions here too")
    args = parser.parse_args()

    feeds = sorted(p for p in args.feeds.iterdir()
                   if p.suffix in (".xml", ".rss", ".atom", ".rdf", ".json"))
    if not feeds:
        sys.exit(f"{args.feeds}: no feed files")
    with tempfile.TemporaryDirectory(prefix="feedmerge-quality-") as tmp:
        tmp = pathlib.Path(tmp)
        config = tmp / "feedmerge.toml"
        lines = ["[server]", 'listen = ""', "[storage]", f'database = "{tmp / "stories.db"}"', ""]
        for feed in feeds:
            lines += ["[[feed]]", f'url = "{feed.resolve().as_uri()}"', ""]
        config.write_text("\n".join(lines))
        run([args.feedmerge, "once", "--all", "--config", str(config)])
        stories = json.loads(run([args.feedmerge, "stories", "--json", "--config", str(config)]))
        clusters = [[item["link"] for item in story["items"]] for story in stories["stories"]]
        stored = sum(len(c) for c in clusters)
        predictions = tmp / "predictions.json"
        predictions.write_text(json.dumps({"clusters": clusters}))
        if args.keep:
            pathlib.Path(args.keep).write_text(json.dumps({"clusters": clusters}))
        print(run([sys.executable, args.score, args.labels, str(predictions)]))
        scores = json.loads(run([sys.executable, args.score, args.labels, str(predictions),
                                 "--json"]))

    labelled = len(json.load(open(args.labels))["items"])
    checks = [
        ("items in stories", stored, labelled, stored == labelled),
        ("pairwise F1", scores["pairwise"]["f1"], args.min_pairwise_f1,
         scores["pairwise"]["f1"] >= args.min_pairwise_f1),
        ("b-cubed F1", scores["bcubed"]["f1"], args.min_bcubed_f1,
         scores["bcubed"]["f1"] >= args.min_bcubed_f1),
    ]
    for name, key, target in (("pairwise precision", "precision", args.min_pairwise_precision),
                              ("pairwise recall", "recall", args.min_pairwise_recall)):
        if target is not None:
            value = scores["pairwise"][key]
            checks.append((name, value, target, value >= target))
    # A corpus that labels translations must find them: a missing figure is a failure.
    if args.min_translated_recall >= 0:
        translated = scores["recall_by_relation"].get("translated") or {}
        value = translated.get("pairwise_recall")
        checks.append(("translated pairwise recall", value if value is not None else -1.0,
                       args.min_translated_recall,
                       value is not None and value >= args.min_translated_recall))
    decoys = scores["false_merged_pairs"]["decoy_with_its_target"]
    checks.append(("decoy with its target (max)", decoys, args.max_decoy_with_target,
                   decoys <= args.max_decoy_with_target))
    failed = False
    for name, value, target, ok in checks:
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {value:.3f} (target {target})")
        failed |= not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
