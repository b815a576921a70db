#!/usr/bin/env python3
"""Parse the three corpora with `feedmerge parse` into work/<corpus>.items.json (one list of items)."""
import html, json, pathlib, re, subprocess, sys
HERE = pathlib.Path(__file__).resolve().parent
FM = pathlib.Path(__import__("os").environ.get("FEEDMERGE", HERE.parent.parent / "build" / "feedmerge"))

def clean(text):
    text = re.sub(r"<[^>]*>", " ", text or "")
    text = html.unescape(text)
    return re.sub(r"\s+", " ", text).strip()

def parse(path):
    r = subprocess.run([str(FM), "parse", str(path)], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{path}: {r.stderr}")
    return json.loads(r.stdout)

def items_of(feed_files, labels, window=None):
    out = []
    for f in feed_files:
        doc = parse(f)
        for idx, it in enumerate(doc["items"]):
            link = it.get("link", "")
            date = it.get("published") or it.get("updated")
            if window and (not date or not (window[0] <= date <= window[1])):
                continue
            if link not in labels:
                continue
            body = clean(it.get("summary") or "")
            if len(body) < 200 and it.get("content"):
                body = clean(it.get("content"))
            out.append({"link": link, "guid": it.get("id", ""), "feed": f.name,
                        "feed_title": doc.get("title", ""), "feed_link": doc.get("link", ""),
                        "feed_lang": (doc.get("language") or "").split("-")[0].lower(),
                        "title": clean(it.get("title", "")), "body": body.encode()[:1500].decode(errors="ignore"),
                        "date": date, "gold": labels[link]["story"], "lang": labels[link].get("lang", "en"),
                        "relation": labels[link]["relation"], "decoy_for": labels[link].get("decoy_for", []),
                        "source": labels[link].get("source")})
    return out

def main():
    (HERE / "work").mkdir(exist_ok=True)
    for name, feeds, window in [("dev", "data/dev/feeds", None), ("dev2", "data/dev2/feeds", None),
                                ("real", None, ("2026-02-14T00:00:00Z", "2026-02-18T23:59:59Z"))]:
        ldir = {"dev": "dev", "dev2": "dev2", "real": "real-feb2026"}[name]
        labels = json.load(open(HERE / "data" / ldir / "labels.json"))["items"]
        if feeds:
            files = sorted((HERE / feeds).iterdir())
        else:
            man = (HERE / "data/realfeeds/MANIFEST.tsv").read_text().splitlines()[1:]
            files = [HERE / "data/realfeeds" / l.split("\t")[0] for l in man if l.strip()]
        items = items_of(files, labels, window)
        seen = {i["link"] for i in items}
        print(name, len(items), "items;", len(labels) - len(seen), "labelled links missing")
        json.dump(items, open(HERE / "work" / f"{name}.items.json", "w"), ensure_ascii=False, indent=0)

main()
