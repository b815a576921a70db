"""Numbers for the cost estimate and the FreeDict name coverage."""
import json, numpy as np
from collections import Counter
from proto import *
from features import stem, fold
rows = json.load(open("work/xval.json"))
for r in rows:
    corpus, pairs = build(r["test"]); w = np.array(r["w"]); P = probs(pairs, w); n = len(corpus.items)
    live = sum(1 for p in P.values() if p >= 0.02)
    comps = components(n, P, r["T"], range(n))
    sizes = sorted((len(c) for c in comps), reverse=True)
    toks = np.mean([len(it["_tok"]) for it in corpus.items]); terms = np.mean([len(it["native"]) for it in corpus.items])
    names = np.mean([len(it["names"]) for it in corpus.items])
    print(f"{r['test']}: {n} items, window pairs/item {2*len(pairs.idx)/n:.1f}, pairs p>=0.02 per item {2*live/n:.2f}, "
          f"components at T: largest {sizes[:5]}, words/item {toks:.0f}, distinct stems/item {terms:.0f}, names/item {names:.1f}")
# names: how many non-English name words meet an English item's names, directly or through the pivot
items = json.load(open("work/dev2.items.json")); c = Corpus(items)
en_names = set().union(*[it["names"] for it in c.items if it["lang_guess"] == "en"])
en_terms = set().union(*[set(it["pivot"]) for it in c.items if it["lang_guess"] == "en"])
tot = direct = via = 0
per = Counter(); per_hit = Counter()
for it in c.items:
    lang = it["lang_guess"]
    if lang == "en": continue
    raw = {fold(w) for w, s, nn, t in it["_tok"] if not nn and w[0].isupper() and not s and len(w) > 2}
    for f in raw:
        tot += 1; per[lang] += 1
        if stem("en", f) in en_names or stem("en", f) in en_terms:
            direct += 1; per_hit[lang] += 1
        else:
            m = PIVOT.translate(lang, [stem(lang, f)])
            if m and m[0][2] and set(m[0][2]) & en_terms:
                via += 1; per_hit[lang] += 1
print(f"dev2 capitalised mid-sentence words in non-English items: {tot}; met English items' names/terms as written: {direct} ({direct/tot:.2f}); only through FreeDict: {via} ({via/tot:.2f})")
print("per language (either way):", ", ".join(f"{l} {per_hit[l]/per[l]:.2f}" for l in sorted(per)))
