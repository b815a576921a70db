#!/usr/bin/env python3
"""Print the corpus counts used in README.md (markdown).  usage: python3 build/corpus_stats.py"""
import json
import os
import sys
from collections import Counter, defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The feed reader of the first corpus's baseline (tests/data/dedup/dev/baseline.py), shared.
sys.path.insert(0, os.path.join(os.path.dirname(ROOT), "dev"))
import baseline  # noqa: E402

labels = json.load(open(os.path.join(ROOT, "labels.json"), encoding="utf-8"))
items = labels["items"]
feeds = json.load(open(os.path.join(ROOT, "build", "feeds.json"), encoding="utf-8"))
fmt = {"rss2": "RSS 2.0", "atom": "Atom 1.0", "rdf": "RSS 1.0 (RDF)"}
parsed = {it["link"]: it for it in baseline.read_feeds(os.path.join(ROOT, "feeds"))}
assert set(parsed) == set(items), "feeds and labels disagree"

per_feed = Counter(v["feed"] for v in items.values())
langs_by_feed = defaultdict(Counter)
for v in items.values():
    langs_by_feed[v["feed"]][v["lang"]] += 1
print("| feed file | outlet | format | items | language | notes |")
print("| --- | --- | --- | ---: | --- | --- |")
for code, f in feeds.items():
    o = f.get("opts", {})
    notes = []
    if o.get("content"):
        notes.append("content:encoded" if f["format"] != "atom" else "content (%s)" % o["content"])
    if o.get("dc_creator"):
        notes.append("dc:creator")
    if o.get("dc_date"):
        notes.append("dc:date instead of pubDate")
    if f["format"] == "atom" and o.get("published") is False:
        notes.append("no <published>, only <updated>")
    if o.get("date_style") == "gmt":
        notes.append("GMT dates")
    if f.get("title_prefix"):
        notes.append("every title starts %r" % f["title_prefix"])
    if f.get("summary_prefix"):
        notes.append("every summary starts %r" % f["summary_prefix"])
    if o.get("audio"):
        notes.append("podcast (audio enclosures)")
    print("| %s | %s | %s | %d | %s | %s |" % (f["file"], f["title"].replace("|", "\\|"), fmt[f["format"]], per_feed[f["file"]],
          ", ".join(sorted(langs_by_feed[f["file"]])), ", ".join(notes)))
stories = Counter(v["story"] for v in items.values())
decoy_stories = {v["story"] for v in items.values() if v["relation"] == "decoy"}
print()
print("items: %d; stories: %d (%d with 2+ items, %d single-item; %d decoy stories)" % (
    len(items), len(stories), sum(1 for c in stories.values() if c > 1), sum(1 for c in stories.values() if c == 1),
    len(decoy_stories)))
print("largest stories: " + ", ".join("%s %d" % kv for kv in stories.most_common(6)))
print("true pairs: %d" % sum(c * (c - 1) // 2 for c in stories.values()))
print("relation: " + ", ".join("%s %d" % kv for kv in Counter(v["relation"] for v in items.values()).most_common()))
print("role:     " + ", ".join("%s %d" % kv for kv in Counter(v["role"] for v in items.values()).most_common()))
print("lang:     " + ", ".join("%s %d" % kv for kv in Counter(v["lang"] for v in items.values()).most_common()))
dates = sorted(it["date"] for it in parsed.values() if it["date"])
print("dates:    %s to %s" % (dates[0].date(), dates[-1].date()))
by_story = defaultdict(list)
for link, v in items.items():
    by_story[v["story"]].append(parsed[link]["date"])
spans = [(max(d) - min(d)).total_seconds() / 3600 for d in by_story.values() if len(d) > 1 and all(d)]
print("within a story, items are 0 to %.0f hours apart" % max(spans))
from urllib.parse import urlsplit  # noqa: E402
home = Counter(urlsplit(link)._replace(query="", fragment="").geturl() for link in items)
shared = {u: c for u, c in home.items() if c > 1}
print("links that differ only in query or fragment: %s" % ", ".join("%s (%d items)" % kv for kv in sorted(shared.items())))
