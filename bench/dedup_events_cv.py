#!/usr/bin/python3
"""Validates the story pair model with events held out inside each corpus, beside
bench/dedup_fit.py's corpora held out: for each labelled corpus C and each of K folds of C's
stories (events), fits on the other two corpora and on C's other folds (pairs whose two items
are both in training stories), chooses the threshold on the other two corpora, and scores C's
held-out fold alone (labels and predicted stories cut to the fold's items). A model then
meets the languages, outlets and writing of C without having seen its events: what a user's
feeds look like after the shipped model was fitted on all three corpora. The corpora held out
whole (dedup_fit.py) stay the stricter test; this one answers a narrower question (does a
signal generalise across events when its languages were seen?).

  /usr/bin/python3 bench/dedup_events_cv.py [BUILD_DIR] [--folds K]    (~1-2 minutes)

Prints, per corpus, the pooled pairwise figures over its folds (a held-out item put with an item
of a training story counts as a false pair), and the mean of the folds' B-cubed F1, translated
recall and false and decoy pairs as score.py gives them on the fold's items alone.
"""
import argparse
import json
import pathlib
import sys
import tempfile
import zlib

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import dedup_fit  # noqa: E402  (the same corpora, fit and scorer)

ROOT = dedup_fit.ROOT
DEDUP = dedup_fit.DEDUP


def fold_of(story, folds):
    # A stable hash of the story's name: the folds do not follow the labels' order.
    return zlib.crc32(story.encode()) % folds


def score_fold(corpus, replay, model, tmp, folds, k):
    predictions = tmp / f"{corpus.name}.pred.json"
    dedup_fit.run([replay, "--progress", "0", "--model", model, "--predictions", predictions,
                   corpus.feeds])
    keep = {link for link, v in corpus.labels.items() if fold_of(v["story"], folds) == k}
    labels = json.loads(pathlib.Path(corpus.labels_path).read_text())
    labels["items"] = {link: v for link, v in labels["items"].items() if link in keep}
    whole = json.loads(predictions.read_text())["clusters"]
    clusters = [[m for m in c if m in keep] for c in whole]
    clusters = [c for c in clusters if c]
    cut_labels = tmp / "fold.labels.json"
    cut_predictions = tmp / "fold.pred.json"
    cut_labels.write_text(json.dumps(labels))
    cut_predictions.write_text(json.dumps({"clusters": clusters}))
    scored = json.loads(dedup_fit.run([sys.executable, dedup_fit.SCORE, cut_labels,
                                       cut_predictions, "--json"]))
    # Pair counts, so that the folds pool (the scorer gives ratios). A held-out item put with a
    # labelled item of a training story is a false pair too.
    labelled = set(corpus.labels)
    predicted = {frozenset((a, b)) for c in whole for i, a in enumerate(c) for b in c[i + 1:]
                 if a in labelled and b in labelled and (a in keep or b in keep)}
    by_story = {}
    for link, v in labels["items"].items():
        by_story.setdefault(v["story"], []).append(link)
    true = {frozenset((a, b)) for c in by_story.values() for i, a in enumerate(c)
            for b in c[i + 1:]}
    scored["counts"] = (len(predicted & true), len(predicted - true), len(true - predicted))
    return scored


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("build", nargs="?", default=str(ROOT / "build"))
    parser.add_argument("--folds", type=int, default=3)
    args = parser.parse_args()
    build = pathlib.Path(args.build)
    replay = build / "dedup_replay"
    with tempfile.TemporaryDirectory(prefix="feedmerge-events-cv-") as tmp:
        tmp = pathlib.Path(tmp)
        real_feeds = tmp / "real-feeds"
        dedup_fit.run([sys.executable, DEDUP / "real-feb2026" / "build" / "window_feeds.py",
                       build / "feedmerge", real_feeds])
        corpora = [
            dedup_fit.Corpus("dev", DEDUP / "dev" / "feeds", DEDUP / "dev" / "labels.json"),
            dedup_fit.Corpus("dev2", DEDUP / "dev2" / "feeds", DEDUP / "dev2" / "labels.json"),
            dedup_fit.Corpus("real-feb2026", real_feeds,
                             DEDUP / "real-feb2026" / "labels.json")]
        data = {c.name: c.labelled_pairs(replay, tmp) for c in corpora}
        features = next(iter(data.values()))[0]
        print("| corpus (events held out) | P | R | F1 | B-cubed F1 | translated R | "
              "false pairs | decoy pairs |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for test in corpora:
            others = [c for c in corpora if c is not test]
            totals = {"tp": 0, "fp": 0, "fn": 0, "b3": [], "tt": 0, "tf": 0, "false": 0,
                      "decoy": 0}
            for k in range(args.folds):
                _, x, y, stories = data[test.name]
                train_rows = np.array([fold_of(a, args.folds) != k and fold_of(b, args.folds) != k
                                       for a, b in stories], dtype=bool)
                xs = [data[c.name][1] for c in others] + [x[train_rows]]
                ys = [data[c.name][2] for c in others] + [y[train_rows]]
                bias, weights = dedup_fit.fit(np.vstack(xs), np.concatenate(ys))
                best = None
                for t in dedup_fit.GRID:
                    model = tmp / "model.txt"
                    dedup_fit.write_model(model, features, bias, weights, t)
                    mean = np.mean([c.score(replay, model, tmp)["f1"] for c in others])
                    if best is None or mean > best[0] + 1e-9:
                        best = (mean, t)
                dedup_fit.write_model(tmp / "model.txt", features, bias, weights, best[1])
                s = score_fold(test, replay, tmp / "model.txt", tmp, args.folds, k)
                tp, fp, fn = s["counts"]
                totals["tp"] += tp
                totals["fp"] += fp
                totals["fn"] += fn
                totals["b3"].append(s["bcubed"]["f1"])
                tr = (s["recall_by_relation"].get("translated") or {})
                if tr.get("pairwise_recall") is not None:
                    n = tr.get("true_pairs", 0)
                    totals["tt"] += n
                    totals["tf"] += tr["pairwise_recall"] * n
                totals["false"] += s["false_merged_pairs"].get("total", 0)
                totals["decoy"] += s["false_merged_pairs"]["decoy_with_its_target"]
            tp, fp, fn = totals["tp"], totals["fp"], totals["fn"]
            precision = tp / (tp + fp) if tp + fp else 1.0
            recall = tp / (tp + fn) if tp + fn else 1.0
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            trans = f"{totals['tf'] / totals['tt']:.3f}" if totals["tt"] else "–"
            print(f"| {test.name} | {precision:.3f} | {recall:.3f} | **{f1:.3f}** | "
                  f"{np.mean(totals['b3']):.3f} | {trans} | {totals['false']} | "
                  f"{totals['decoy']} |")


if __name__ == "__main__":
    main()
