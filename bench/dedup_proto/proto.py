#!/usr/bin/env python3
"""Story clusterer prototype: pair features -> logistic model -> average-linkage stories.

  python3 proto.py xval            # cross-corpus table (fit on two, report the third)
  python3 proto.py ablate          # the same with parts switched off
  python3 proto.py perm            # arrival-order permutation test of the online algorithm
"""
import json
import math
import random
import sys
import time
from collections import Counter, defaultdict
from datetime import datetime

import numpy as np

sys.path.insert(0, "data/dev")
import score as scorer  # noqa: E402  (data/dev/score.py, unchanged)
from features import Corpus, PIVOT  # noqa: E402

CORPORA = {"dev": "data/dev/labels.json", "dev2": "data/dev2/labels.json",
           "real": "data/real-feb2026/labels.json"}
WINDOW_H = 72.0


def hours(it):
    return datetime.fromisoformat(it["date"].replace("Z", "+00:00")).timestamp() / 3600.0


def cos(a, b):
    if len(a) > len(b):
        a, b = b, a
    return sum(x * b[k] for k, x in a.items() if k in b)


FEATURES = ["terms_same_lang", "terms_pivot", "title_pivot", "names", "name_skeletons", "numbers",
            "copy_shingles", "same_link", "days_apart", "cross_language", "cross_x_pivot",
            "cross_x_names", "name_order", "few_names", "title_cover", "title_same_lang"]


def pair_features(a, b):
    cross = a["lang_guess"] != b["lang_guess"]
    sa, sb = a["shingles"], b["shingles"]
    copy = len(sa & sb) / len(sa | sb) if len(sa) >= 8 and len(sb) >= 8 else 0.0
    tn = 0.0 if cross else cos(a["vn"], b["vn"])
    tp = cos(a["vp"], b["vp"])
    tt = cos(a["vt"], b["vt"])
    ne = wjaccard(a["ve"], b["ve"])
    sk = cos(a["vk"], b["vk"])
    nu = cos(a["vd"], b["vd"])
    link = 1.0 if a["identity"] and a["identity"] == b["identity"] else 0.0
    dt = min(abs(a["h"] - b["h"]) / 24.0, 3.0)
    if EXEMPT.get("on"):  # copies and translations join whenever they come
        tr = lcs(a["name_seq"], b["name_seq"]) if a["lang_guess"] != b["lang_guess"] else 0.0
        dt *= 1.0 - min(1.0, max(copy_of(a, b), tr))
    few = 1.0 if min(len(a["names"]), len(b["names"])) <= 1 else 0.0
    tc = min(cover(a, b), cover(b, a))
    ts = 0.0 if cross else cos(a["vtn"], b["vtn"])
    return [tn, tp, tt, ne, sk, nu, copy, link, dt, float(cross), float(cross) * tp,
            float(cross) * ne, lcs(a["name_seq"], b["name_seq"]), few, tc, ts]


def wjaccard(a, b):
    """IDF-weighted Jaccard of two name sets (vectors hold idf/norm: undo the norm)."""
    if not a or not b:
        return 0.0
    na = 1.0 / max(a.values()) * max(a.values())
    inter = sum(min(a[k], b[k]) for k in a if k in b)
    union = sum(a.values()) + sum(b.values()) - inter
    return inter / union if union else 0.0


def lcs(x, y, cap=40):
    """Longest common subsequence of two name sequences over the shorter (>= 4 names)."""
    x, y = x[:cap], y[:cap]
    if min(len(x), len(y)) < 4:
        return 0.0
    prev = [0] * (len(y) + 1)
    for i in range(1, len(x) + 1):
        cur = [0] * (len(y) + 1)
        for j in range(1, len(y) + 1):
            cur[j] = prev[j - 1] + 1 if x[i - 1] == y[j - 1] else max(prev[j], cur[j - 1])
        prev = cur
    return prev[-1] / min(len(x), len(y))


def cover(a, b):
    """IDF-weighted share of a's headline terms (pivot) found anywhere in b."""
    t = a["vt"]
    tot = sum(t.values())
    return sum(x for k, x in t.items() if k in b["vp"]) / tot if tot else 0.0


def copy_of(a, b):
    sa, sb = a["shingles"], b["shingles"]
    return len(sa & sb) / len(sa | sb) if len(sa) >= 8 and len(sb) >= 8 else 0.0


EXEMPT = {}


def same_feed_join(f):
    """Same feed: only a copy (shingles) or the same article link (an update)."""
    return f[6] >= 0.6 or f[7] > 0


class Pairs:
    """All item pairs of a corpus inside the window, with features; same-feed pairs masked."""

    def __init__(self, corpus):
        self.items = corpus.items
        for it in self.items:
            it["h"] = hours(it)
        n = len(self.items)
        self.idx, self.X, self.y, self.masked, self.samefeed_copy = [], [], [], set(), {}
        for i in range(n):
            a = self.items[i]
            for j in range(i + 1, n):
                b = self.items[j]
                if abs(a["h"] - b["h"]) > WINDOW_H:
                    continue
                f = pair_features(a, b)
                if a["feed"] == b["feed"]:
                    if same_feed_join(f):
                        self.samefeed_copy[(i, j)] = 1.0
                    else:
                        self.masked.add((i, j))
                    continue
                self.idx.append((i, j))
                self.X.append(f)
                self.y.append(1.0 if a["gold"] == b["gold"] else 0.0)
        self.X = np.array(self.X)
        self.y = np.array(self.y)


def fit_logistic(X, y, l2=1e-2, iters=50, sw=None):
    """IRLS with an L2 penalty (not on the bias), optional sample weights. Returns (bias, weights)."""
    if sw is None:
        sw = np.ones(len(y))
    Xb = np.hstack([np.ones((len(X), 1)), X])
    w = np.zeros(Xb.shape[1])
    reg = l2 * np.eye(Xb.shape[1])
    reg[0, 0] = 0
    for _ in range(iters):
        z = Xb @ w
        p = 1 / (1 + np.exp(-z))
        g = Xb.T @ (sw * (p - y)) + reg @ w
        H = (Xb * (sw * p * (1 - p))[:, None]).T @ Xb + reg
        step = np.linalg.solve(H, g)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def probs(pairs, w, mask_features=None):
    X = pairs.X if mask_features is None else pairs.X * mask_features
    Xb = np.hstack([np.ones((len(X), 1)), X])
    p = 1 / (1 + np.exp(-(Xb @ w)))
    P = {pairs.idx[k]: p[k] for k in range(len(p))}
    P.update(pairs.samefeed_copy)
    return P


# ------------------------------------------------------------------------------- clustering
def single_clusters(n, P, masked, T, keys):
    """Nearest-member joining (today's code, in batch form): union of all pairs with p >= T."""
    parent = list(range(n))
    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x
    for (i, j), p in P.items():
        if p >= T:
            parent[find(i)] = find(j)
    groups = defaultdict(list)
    for i in range(n):
        groups[find(i)].append(i)
    return list(groups.values())


LINKAGE = {}
DRIFT = {}
BALANCE = {}


def linkage_clusters(n, P, masked, T, keys):
    if LINKAGE.get("single"):
        return single_clusters(n, P, masked, T, keys)
    if LINKAGE.get("majority"):
        # a story joins another when most of their member pairs are judged the same event
        return average_clusters(n, {k: (1.0 if p >= T else 0.0) for k, p in P.items()}, masked, 0.5, keys)
    return average_clusters(n, P, masked, T, keys)


def average_clusters(n, P, masked, T, keys):
    """Average linkage over story members: merge the two stories whose mean pair probability
    (pairs of one feed that are not copies do not count; pairs never compared count 0) is
    highest, while it is >= T. Deterministic: ties by the smallest member key."""
    cl = {i: [i] for i in range(n)}
    S = defaultdict(float)
    M = defaultdict(int)
    for (i, j), p in P.items():
        if p >= 0.02:  # smaller probabilities count as 0 (the C++ keeps only candidate pairs)
            S[(i, j)] += p
    for (i, j) in masked:
        M[(i, j)] += 1
    of = list(range(n))
    while True:
        best, bpair = -1.0, None
        for (c1, c2), s in S.items():
            den = len(cl[c1]) * len(cl[c2]) - M.get((c1, c2), 0)
            if den <= 0:
                continue
            avg = s / den
            if avg > best + 1e-12 or (abs(avg - best) <= 1e-12 and bpair and
                                      min(keys[cl[c1][0]], keys[cl[c2][0]]) < min(keys[cl[bpair[0]][0]], keys[cl[bpair[1]][0]])):
                best, bpair = avg, (c1, c2)
        if bpair is None or best < T:
            break
        c1, c2 = bpair
        # merge c2 into c1
        cl[c1] += cl.pop(c2)
        for i in cl[c1]:
            of[i] = c1
        newS, newM = defaultdict(float), defaultdict(int)
        for (x, y), s in S.items():
            x2, y2 = (c1 if x == c2 else x), (c1 if y == c2 else y)
            if x2 == y2:
                continue
            newS[(min(x2, y2), max(x2, y2))] += s
        for (x, y), m in M.items():
            x2, y2 = (c1 if x == c2 else x), (c1 if y == c2 else y)
            if x2 == y2:
                continue
            newM[(min(x2, y2), max(x2, y2))] += m
        S, M = newS, newM
    return list(cl.values())


def online_clusters(order, P, masked, T, n):
    """The incremental form the C++ would run: an item joins the story with the highest mean
    probability over its members (>= T), else starts one; then its story merges with any story
    whose mean pair probability with it is >= T (repeated until none), best first."""
    pp = lambda i, j: P.get((min(i, j), max(i, j)), 0.0)
    mk = lambda i, j: (min(i, j), max(i, j)) in masked
    story_of, stories, next_id = {}, {}, 0

    def link(A, B):
        s, d = 0.0, 0
        for i in A:
            for j in B:
                if mk(i, j):
                    continue
                s += pp(i, j)
                d += 1
        return s / d if d else -1.0

    for x in order:
        best, bs = -1.0, None
        cand = {story_of[j] for j in story_of if pp(x, j) > 0.05}
        for sid in sorted(cand):
            v = link([x], stories[sid])
            if v > best:
                best, bs = v, sid
        if bs is not None and best >= T:
            stories[bs].append(x)
            story_of[x] = bs
        else:
            bs = next_id
            next_id += 1
            stories[bs] = [x]
            story_of[x] = bs
        while True:
            cur = stories[bs]
            cand = {story_of[j] for i in cur for j in story_of if story_of[j] != bs and pp(i, j) > 0.05}
            best, other = -1.0, None
            for sid in sorted(cand):
                v = link(cur, stories[sid])
                if v > best:
                    best, other = v, sid
            if other is None or best < T:
                break
            keep, gone = min(bs, other), max(bs, other)  # the older story id survives
            stories[keep] += stories.pop(gone)
            for i in stories[keep]:
                story_of[i] = keep
            bs = keep
    return list(stories.values())


# ------------------------------------------------------------------------------- evaluation
def evaluate(name, items, clusters):
    labels = json.load(open(CORPORA[name]))
    pred = {"clusters": [[items[i]["link"] for i in c] for c in clusters]}
    r = scorer.score(labels, pred)
    tr = (r["recall_by_relation"] or {}).get("translated") or {}
    return {"P": r["pairwise"]["precision"], "R": r["pairwise"]["recall"], "F1": r["pairwise"]["f1"],
            "B3": r["bcubed"]["f1"], "trans": tr.get("pairwise_recall"),
            "xlang": r["cross_language"]["recall"],
            "false": r["false_merged_pairs"]["total"],
            "decoy": r["false_merged_pairs"]["decoy_with_its_target"],
            "top": r["false_merged_pairs"]["top_story_pairs"][:4]}


_cache = {}


def build(name, **opts):
    key = (name, tuple(sorted(opts.items())))
    if key not in _cache:
        items = json.load(open(f"work/{name}.items.json"))
        corpus = Corpus(items, **opts)
        _cache[key] = (corpus, Pairs(corpus))
    return _cache[key]


def xval(opts=None, feature_mask=None, verbose=True, thresholds=(0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6)):
    opts = opts or {}
    names = list(CORPORA)
    rows = []
    for test in names:
        train = [n for n in names if n != test]
        Xs = [build(n, **opts)[1].X for n in train]
        ys = [build(n, **opts)[1].y for n in train]
        X = np.vstack(Xs)
        if feature_mask is not None:
            X = X * feature_mask
        sw = None
        if BALANCE.get("on"):  # every training corpus weighs the same in the fit
            sw = np.concatenate([np.full(len(yy), len(np.concatenate(ys)) / (len(ys) * len(yy))) for yy in ys])
        w = fit_logistic(X, np.concatenate(ys), sw=sw)
        # threshold chosen on the two training corpora (mean pairwise F1), never on the test one
        best_t, best_f = None, -1
        for T in thresholds:
            fs = []
            for n in train:
                corpus, pairs = build(n, **opts)
                P = probs(pairs, w, feature_mask)
                keys = [it["link"] for it in corpus.items]
                cl = linkage_clusters(len(corpus.items), P, pairs.masked, T, keys)
                fs.append(evaluate(n, corpus.items, cl)["F1"])
            if np.mean(fs) > best_f:
                best_f, best_t = np.mean(fs), T
        corpus, pairs = build(test, **opts)
        P = probs(pairs, w, feature_mask)
        keys = [it["link"] for it in corpus.items]
        cl = linkage_clusters(len(corpus.items), P, pairs.masked, best_t, keys)
        ev = evaluate(test, corpus.items, cl)
        ev.update({"test": test, "train": "+".join(train), "T": best_t, "w": w.tolist()})
        rows.append(ev)
        if verbose:
            fmt = lambda v: "-" if v is None else "%.3f" % v
            print(f"fit {ev['train']:10s} T={best_t:.2f} -> {test:5s} P {ev['P']:.3f} R {ev['R']:.3f} F1 {ev['F1']:.3f} "
                  f"B3 {ev['B3']:.3f} trans {fmt(ev['trans'])} xlang {fmt(ev['xlang'])} false {ev['false']} decoy {ev['decoy']}")
            for t in ev["top"]:
                print("      ", t["pairs"], " + ".join(t["stories"]))
    return rows


def coefficients(opts=None):
    opts = opts or {}
    X = np.vstack([build(n, **opts)[1].X for n in CORPORA])
    y = np.concatenate([build(n, **opts)[1].y for n in CORPORA])
    w = fit_logistic(X, y)
    sd = X.std(axis=0)
    print("fit on all three corpora: %d pairs, %d positive" % (len(y), int(y.sum())))
    print("%-16s %8s %8s" % ("feature", "weight", "w*sd"))
    print("%-16s %8.3f" % ("bias", w[0]))
    for k, f in enumerate(FEATURES):
        print("%-16s %8.3f %8.3f" % (f, w[k + 1], w[k + 1] * sd[k]))
    return w


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else "xval"
    t0 = time.time()
    if cmd == "xval":
        rows = xval()
        json.dump(rows, open("work/xval.json", "w"), indent=1)
        coefficients()
        for lang in PIVOT.lookups:
            print("pivot %s: %d of %d content words/phrases translated (%.2f)" % (
                lang, PIVOT.hits[lang], PIVOT.lookups[lang], PIVOT.hits[lang] / PIVOT.lookups[lang]))
    if cmd == "ablate":
        th = (0.4, 0.5, 0.6)
        variants = [("full model", {}, None, False),
                    ("no FreeDict pivot", {"use_pivot": False}, None, False),
                    ("no per-feed boilerplate", {"boilerplate": False}, None, False),
                    ("no name lexicon (Title Case)", {"title_names": False}, None, False),
                    ("nearest member (single link)", {}, None, True)]
        for label, opts, fm, single in variants:
            LINKAGE["single"] = single
            print("==", label)
            rows = xval(opts, fm, verbose=True, thresholds=th)
        LINKAGE["single"] = False
    if cmd == "balanced":
        BALANCE["on"] = True
        xval()
    if cmd == "exempt":
        EXEMPT["on"] = True
        xval()
        xval(thresholds=(0.4,))
    if cmd == "majority":
        LINKAGE["majority"] = True
        xval(thresholds=(0.3, 0.4, 0.5, 0.6, 0.7))
    if cmd == "perm":
        perm()
    print("%.1fs" % (time.time() - t0), file=sys.stderr)


def same_partition(a, b):
    return {frozenset(c) for c in a} == {frozenset(c) for c in b}


def perm(T=None):
    """Arrival order: the online algorithm in feed order, two polls (each half first) and five
    shuffles, against the batch (average linkage) clusters, with the model fitted on the other
    two corpora and T chosen on them."""
    names = list(CORPORA)
    rows = json.load(open("work/xval.json"))
    for r in rows:
        test = r["test"]
        w = np.array(r["w"])
        corpus, pairs = build(test)
        P = probs(pairs, w)
        n = len(corpus.items)
        keys = [it["link"] for it in corpus.items]
        batch = linkage_clusters(n, P, pairs.masked, r["T"], keys)
        feeds = sorted({it["feed"] for it in corpus.items})
        half_a = set(feeds[0::2])
        base = sorted(range(n), key=lambda i: (corpus.items[i]["feed"], i))
        orders = [("feed order (one poll)", base),
                  ("two polls, half A first", [i for i in base if corpus.items[i]["feed"] in half_a] +
                   [i for i in base if corpus.items[i]["feed"] not in half_a]),
                  ("two polls, half B first", [i for i in base if corpus.items[i]["feed"] not in half_a] +
                   [i for i in base if corpus.items[i]["feed"] in half_a])]
        rng = random.Random(14)
        for k in range(5):
            o = base[:]
            rng.shuffle(o)
            orders.append(("shuffle %d" % (k + 1), o))
        eb = evaluate(test, corpus.items, batch)
        print(f"{test}: batch T={r['T']:.2f} F1 {eb['F1']:.3f} B3 {eb['B3']:.3f} decoy {eb['decoy']}")
        for label, o in orders:
            cl = online_clusters(o, P, pairs.masked, r["T"], n)
            ev = evaluate(test, corpus.items, cl)
            diff = len({frozenset(c) for c in cl} ^ {frozenset(c) for c in batch})
            print(f"   {label:26s} F1 {ev['F1']:.3f} B3 {ev['B3']:.3f} decoy {ev['decoy']:3d}  same as batch: "
                  f"{'yes' if diff == 0 else 'no (%d clusters differ)' % diff}")


if __name__ == "__main__":
    main()


# ------------------------------------------------------------------ order independence, polls
def components(n, P, T, nodes):
    """Connected components over pairs with p >= T among `nodes` (average linkage never merges
    two stories without one such pair)."""
    parent = {i: i for i in nodes}
    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x
    for (i, j), p in P.items():
        if p >= T and i in parent and j in parent:
            parent[find(i)] = find(j)
    groups = defaultdict(list)
    for i in nodes:
        groups[find(i)].append(i)
    return list(groups.values())


def polled(name, w, T, polls):
    """Items arrive in polls (lists of item indices of the full corpus). After each poll the
    statistics (IDF, boilerplate, name lexicon) are those of everything seen so far, and every
    component that holds a new item is clustered again from scratch (average linkage);
    untouched components keep their stories. Returns the final clusters (full-corpus indices)."""
    full = json.load(open(f"work/{name}.items.json"))
    seen, clusters, prev = [], [], {}
    for poll in polls:
        newg = set(poll) - set(seen)
        seen = sorted(set(seen) | set(poll))
        items = [dict(full[i]) for i in seen]
        corpus = Corpus(items)
        pairs = Pairs(corpus)
        P = probs(pairs, w)
        new = {seen.index(i) for i in poll}
        # pair probabilities in full-corpus indices; a pair whose probability moved (the
        # statistics drifted) marks its items as touched too
        Pg = {(seen[i], seen[j]): p for (i, j), p in P.items()}
        if DRIFT.get("on"):
            for k, p in Pg.items():
                if abs(prev.get(k, 0.0) - p) > 0.01 and (k[0] not in newg and k[1] not in newg):
                    new.add(seen.index(k[0]))
                    new.add(seen.index(k[1]))
        prev.clear()
        prev.update(Pg)
        keep = [c for c in clusters if not any(seen.index(i) in new for i in c)]
        comps = components(len(seen), P, T, range(len(seen)))
        touched = [c for c in comps if new & set(c)]
        touched_items = {i for c in touched for i in c}
        # stories of earlier polls inside a touched component are clustered again
        keep = [c for c in keep if not any(seen.index(i) in touched_items for i in c)]
        keys = [it["link"] for it in items]
        fresh = []
        for comp in touched:
            sub = {k: v for k, v in P.items() if k[0] in comp and k[1] in comp}
            idx = sorted(comp)
            pos = {g: l for l, g in enumerate(idx)}
            subP = {(pos[i], pos[j]): p for (i, j), p in sub.items()}
            subM = {(pos[i], pos[j]) for (i, j) in pairs.masked if i in pos and j in pos}
            for c in linkage_clusters(len(idx), subP, subM, T, [keys[g] for g in idx]):
                fresh.append([seen[idx[l]] for l in c])
        clusters = keep + fresh
    return clusters


def perm_polls():
    rows = json.load(open("work/xval.json"))
    for r in rows:
        test, w, T = r["test"], np.array(r["w"]), r["T"]
        full = json.load(open(f"work/{test}.items.json"))
        n = len(full)
        feeds = sorted({it["feed"] for it in full})
        half_a = set(feeds[0::2])
        A = [i for i in range(n) if full[i]["feed"] in half_a]
        B = [i for i in range(n) if full[i]["feed"] not in half_a]
        runs = [("one poll", [list(range(n))]), ("two polls, half A first", [A, list(range(n))]),
                ("two polls, half B first", [B, list(range(n))])]
        rng = random.Random(14)
        for k in range(5):
            o = list(range(n))
            rng.shuffle(o)
            runs.append(("shuffle %d, 5 polls" % (k + 1), [o[m * n // 5:(m + 1) * n // 5] for m in range(5)]))
        ref = None
        items = [dict(it) for it in full]
        for label, polls in runs:
            cl = polled(test, w, T, polls)
            ev = evaluate(test, full, cl)
            if ref is None:
                ref = cl
            diff = len({frozenset(c) for c in cl} ^ {frozenset(c) for c in ref})
            print(f"{test:5s} {label:26s} F1 {ev['F1']:.3f} B3 {ev['B3']:.3f} decoy {ev['decoy']:3d}  "
                  f"same stories as one poll: {'yes' if diff == 0 else 'no (%d clusters differ)' % diff}", flush=True)


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] in ("polls", "polls-drift"):
    DRIFT["on"] = sys.argv[1] == "polls-drift"
    perm_polls()
