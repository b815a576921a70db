#!/usr/bin/env python3
"""FreeDict coverage: dictionary sizes, named phrases of dev2's README, and the share of the
corpora's content words, names and title words that the pivot translates."""
import json
from collections import Counter
from features import PIVOT, stem, fold, Corpus, DICT

print("entries (1-3 word headwords, after stemming keys):")
for lang in DICT:
    print("  %s %d" % (lang, len(PIVOT.load(lang))))
probes = {"fr": ["Maison Blanche", "Vladimir Poutine", "Super Ligue", "Tchad", "vaccin", "caillots", "sanctions", "retrait", "sommet", "climat", "Etats-Unis", "Allemagne"],
          "de": ["Weißes Haus", "Weißen Haus", "Wladimir Putin", "Superliga", "Impfstoff", "Blutgerinnsel", "Sanktionen", "Abzug", "Gipfel", "Klima", "Vereinigte Staaten", "Tschad"],
          "es": ["Casa Blanca", "Superliga", "vacuna", "coágulos", "sanciones", "retirada", "cumbre", "clima", "Estados Unidos", "Chad"],
          "it": ["Casa Bianca", "Superlega", "vaccino", "coaguli", "sanzioni", "ritiro", "vertice", "clima", "Stati Uniti", "Ciad"],
          "pt": ["Casa Branca", "Superliga", "vacina", "coágulos", "sanções", "retirada", "cimeira", "clima", "Estados Unidos", "Chade"]}
for lang, words in probes.items():
    out = []
    for w in words:
        st = [stem(lang, x.lower()) for x in w.replace("-", " ").split()]
        tr = PIVOT.translate(lang, st)
        out.append("%s -> %s" % (w, " | ".join(",".join(e) if e else "?" for _, _, e in tr)))
    print(lang + ": " + "; ".join(out))

for name in ["dev", "dev2"]:
    items = json.load(open(f"work/{name}.items.json"))
    before = dict(PIVOT.lookups), dict(PIVOT.hits)
    PIVOT.lookups.clear(); PIVOT.hits.clear()
    c = Corpus(items)
    names_tot, names_hit = Counter(), Counter()
    for it in c.items:
        lang = it["lang_guess"]
        if lang == "en":
            continue
        # names: the folded name words of the item; translated when the pivot gave English for them
        seq = [stem(lang, w.lower()) for w, s, n, t in it["_tok"] if not n and fold(w) in it["_names_raw"]] if "_names_raw" in it else []
    print(name, "content words/phrases translated:", ", ".join("%s %.2f (%d)" % (l, PIVOT.hits[l] / PIVOT.lookups[l], PIVOT.lookups[l]) for l in sorted(PIVOT.lookups)))
