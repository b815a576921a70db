#!/usr/bin/env python3
"""Experiment: a learned story-merge model on top of average linkage (for sagas).

During average linkage (pairs' mean p >= 0.2), each candidate merge of stories A and B is
described by story-level features and accepted when a second logistic model says so. The
merge model is fitted on the merge decisions met while clustering the training corpora
(label: A's and B's majority gold stories are the same)."""
import math, sys
import numpy as np
from collections import Counter, defaultdict
from proto import *

MF = ["mean_p", "max_p", "share_p_ge_05", "title_centroid_cos", "body_centroid_cos", "median_gap_days", "log_sizes"]


def centroid(items, idx, key):
    c = Counter()
    for i in idx:
        for k, v in items[i][key].items():
            c[k] += v
    n = math.sqrt(sum(v * v for v in c.values())) or 1.0
    return {k: v / n for k, v in c.items()}


def story_features(items, P, A, B, avg):
    ps = [P.get((min(i, j), max(i, j)), 0.0) for i in A for j in B]
    ha = sorted(items[i]["h"] for i in A); hb = sorted(items[i]["h"] for i in B)
    return [avg, max(ps), sum(p >= 0.5 for p in ps) / len(ps),
            cos(centroid(items, A, "vt"), centroid(items, B, "vt")),
            cos(centroid(items, A, "vp"), centroid(items, B, "vp")),
            min(abs(ha[len(ha) // 2] - hb[len(hb) // 2]) / 24.0, 3.0), math.log(len(A) * len(B))]


def agglomerate(items, P, masked, T, decide=None, record=None):
    n = len(items)
    cl = {i: [i] for i in range(n)}
    S, M = defaultdict(float), defaultdict(int)
    for (i, j), p in P.items():
        if p >= 0.02:
            S[(i, j)] += p
    for k in masked:
        M[k] += 1
    blocked = set()
    while True:
        best, bp = -1, None
        for (c1, c2), s in S.items():
            if (c1, c2) in blocked:
                continue
            den = len(cl[c1]) * len(cl[c2]) - M.get((c1, c2), 0)
            if den <= 0:
                continue
            avg = s / den
            if avg > best:
                best, bp = avg, (c1, c2)
        if bp is None or best < T:
            break
        c1, c2 = bp
        f = story_features(items, P, cl[c1], cl[c2], best)
        if record is not None:
            ga = Counter(items[i]["gold"] for i in cl[c1]).most_common(1)[0][0]
            gb = Counter(items[i]["gold"] for i in cl[c2]).most_common(1)[0][0]
            record.append((f, 1.0 if ga == gb else 0.0))
        if decide is not None and not decide(f):
            blocked.add(bp)
            continue
        cl[c1] += cl.pop(c2)
        nS, nM = defaultdict(float), defaultdict(int)
        for (x, y), s in S.items():
            x2, y2 = (c1 if x == c2 else x), (c1 if y == c2 else y)
            if x2 != y2:
                nS[(min(x2, y2), max(x2, y2))] += s
        for (x, y), m in M.items():
            x2, y2 = (c1 if x == c2 else x), (c1 if y == c2 else y)
            if x2 != y2:
                nM[(min(x2, y2), max(x2, y2))] += m
        S, M = nS, nM
        blocked = {b for b in blocked if c1 not in b and c2 not in b}
    return list(cl.values())


def main():
    T_LOW = float(sys.argv[1]) if len(sys.argv) > 1 else 0.2
    for test in CORPORA:
        train = [n for n in CORPORA if n != test]
        w = fit_logistic(np.vstack([build(n)[1].X for n in train]), np.concatenate([build(n)[1].y for n in train]))
        rec = []
        for n in train:
            corpus, pairs = build(n)
            agglomerate(corpus.items, probs(pairs, w), pairs.masked, T_LOW, record=rec)
        X = np.array([r[0] for r in rec]); y = np.array([r[1] for r in rec])
        v = fit_logistic(X, y, l2=0.1)
        decide = lambda f: 1 / (1 + math.exp(-(v[0] + sum(a * b for a, b in zip(v[1:], f))))) >= 0.5
        corpus, pairs = build(test)
        cl = agglomerate(corpus.items, probs(pairs, w), pairs.masked, T_LOW, decide=decide)
        ev = evaluate(test, corpus.items, cl)
        fmt = lambda x: "-" if x is None else "%.3f" % x
        print(f"merge model (T_low {T_LOW}, {len(y)} decisions, {int(y.sum())} right) -> {test:5s} P {ev['P']:.3f} R {ev['R']:.3f} "
              f"F1 {ev['F1']:.3f} B3 {ev['B3']:.3f} trans {fmt(ev['trans'])} false {ev['false']} decoy {ev['decoy']}", flush=True)
        print("    weights", " ".join(f"{k}={x:.2f}" for k, x in zip(["bias"] + MF, v)))


main()
