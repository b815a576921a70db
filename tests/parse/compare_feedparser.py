#!/usr/bin/env python3
"""Compares `feedmerge parse` with Debian's python3-feedparser (6.0.10), the reference parser.

Usage:
  compare_feedparser.py --feedmerge BIN --data tests/data/parse --real tests/data/corpus/real \
                        --accepted tests/parse/feedparser_differences.json [-v] [--only GLOB]

Documents: every XML fixture under --data that has a golden file (refused documents and JSON
Feed are skipped: feedparser 6.0.10 cannot read JSON Feed), named "rss2.0/basic.xml", and every
XML file of the real corpus, named "real/<file>". Sidecars apply to both parsers: .content-type
becomes feedparser's Content-Type response header, .base-url its Content-Location.

Compared: the number of items, and per item (by position) title, link, id, published, updated,
authors and categories. Feedparser's side is normalised to the spec (docs/spec/parse-json.md):
  - title: plain text: HTML titles lose their markup, references are decoded, white space
    (U+00A0 included) collapses to one space;
  - id: entry id, falling back to the link, else "";
  - published/updated: the *_parsed times as RFC 3339 UTC; dcterms:created counts as published.
    Feedparser reads dc:date as "updated" where the spec reads it as "published": that one
    mapping is switched before parsing (see patch_feedparser), nothing else is changed;
  - authors: entry.authors[].name (else their email), else entry.author, white space collapsed;
  - categories: entry.tags[].term, white space collapsed (names, like titles, are one line).
Every difference must match a rule of --accepted (a JSON list of {"file", "field", "item",
"reason"} with optional "ours"/"feedparser" values that must also be equal, and optional
"feedparser_is_our": FIELD, met when feedparser's value equals our value of FIELD for that item;
"file" is an fnmatch glob on the document name, "item" an index or "*"). A difference no rule accepts fails
its document; a rule that matched nothing fails too (it is stale). Prints "N passed, M failed".
"""

import argparse
import concurrent.futures
import fnmatch
import html
import html.parser
import io
import json
import os
import pathlib
import re
import subprocess
import sys
import time
import warnings

import feedparser
import feedparser.namespaces.dc

FIELDS = ("title", "link", "id", "published", "updated", "authors", "categories")
XML_SUFFIXES = (".xml", ".rss", ".atom", ".rdf")
GOLDEN = ".expected.json"
TIMEOUT_SECONDS = 60
MAX_SHOWN = 8  # differences listed per document unless --verbose


def patch_feedparser():
    """Feedparser files dc:date under "updated"; the spec (like RSS 1.0 practice) reads it as the
    publication date. Switching the handler keeps every other behaviour of feedparser as it is
    while making the published/updated comparison mean something for RDF and DC-only feeds."""
    dc = feedparser.namespaces.dc.Namespace
    dc._start_dc_date = dc._start_dcterms_issued
    dc._end_dc_date = dc._end_dcterms_issued


# ---- documents ---------------------------------------------------------------------------------

class Document:
    def __init__(self, name, path, content_type="", base_url="", golden=None):
        self.name = name
        self.path = path
        self.content_type = content_type
        self.base_url = base_url
        self.golden = golden


def read_sidecar(path):
    if not path.is_file():
        return ""
    lines = path.read_text(encoding="utf-8").splitlines()
    return lines[0].strip() if lines else ""


def find_documents(data, real):
    documents = []
    for path in sorted(data.rglob("*")):
        if not path.is_file() or path.suffix not in XML_SUFFIXES:
            continue
        stem = path.with_suffix("")
        golden = stem.parent / (stem.name + GOLDEN)
        if not golden.is_file():
            continue  # refused documents have no items to compare
        documents.append(Document(
            path.relative_to(data).as_posix(), path,
            read_sidecar(stem.parent / (stem.name + ".content-type")),
            read_sidecar(stem.parent / (stem.name + ".base-url")), golden))
    if real is not None:
        for path in sorted(real.iterdir()):
            if path.is_file() and path.suffix in XML_SUFFIXES:
                documents.append(Document("real/" + path.name, path))
    return documents


# ---- our side ------------------------------------------------------------------------------------

def run_feedmerge(binary, document):
    args = [binary, "parse", str(document.path)]
    if document.content_type:
        args += ["--content-type", document.content_type]
    if document.base_url:
        args += ["--base-url", document.base_url]
    try:
        result = subprocess.run(args, capture_output=True, timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        return None, "feedmerge timed out after %d s" % TIMEOUT_SECONDS
    if result.returncode != 0:
        return None, "feedmerge exited %d: %s" % (
            result.returncode, result.stderr.decode("utf-8", "replace").strip())
    try:
        return json.loads(result.stdout.decode("utf-8")), None
    except (UnicodeDecodeError, ValueError) as e:
        return None, "feedmerge printed no JSON: %s" % e


def our_items(parsed):
    return [{field: item.get(field) for field in FIELDS} for item in parsed.get("items", [])]


# ---- feedparser's side, normalised to the spec ------------------------------------------------------

class _TextExtractor(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []

    def handle_data(self, data):
        self.parts.append(data)

    def handle_starttag(self, tag, attrs):
        if tag in ("br", "p", "div", "li"):
            self.parts.append(" ")


WHITE_SPACE = re.compile(r"[\s\u00a0]+")


def collapse(text):
    return WHITE_SPACE.sub(" ", text).strip()


def html_to_text(text):
    extractor = _TextExtractor()
    extractor.feed(text)
    extractor.close()
    return collapse("".join(extractor.parts))


def rfc3339(parsed):
    if not parsed:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", parsed)


def their_title(entry):
    title = entry.get("title")
    if title is None:
        return ""
    kind = (entry.get("title_detail") or {}).get("type", "text/plain")
    if kind in ("text/html", "application/xhtml+xml"):
        return html_to_text(title)
    return collapse(title)


def their_authors(entry):
    names = []
    for author in entry.get("authors") or []:
        name = collapse(author.get("name") or author.get("email") or "")
        if name:
            names.append(name)
    if not names and entry.get("author"):
        names.append(collapse(entry["author"]))
    return names


def their_item(entry):
    link = entry.get("link") or ""
    # dict.get: FeedParserDict.get("updated_parsed") would fall back to published_parsed.
    updated = dict.get(entry, "updated_parsed")
    published = dict.get(entry, "published_parsed") or dict.get(entry, "created_parsed")
    return {
        "title": their_title(entry),
        "link": link,
        "id": entry.get("id") or link,
        "published": rfc3339(published),
        "updated": rfc3339(updated),
        "authors": their_authors(entry),
        "categories": [collapse(tag["term"]) for tag in entry.get("tags") or []
                       if collapse(tag.get("term") or "")],
    }


def run_feedparser(document):
    headers = {}
    if document.content_type:
        headers["content-type"] = document.content_type
    if document.base_url:
        headers["content-location"] = document.base_url
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = feedparser.parse(io.BytesIO(document.path.read_bytes()),
                                  response_headers=headers or None)
    return [their_item(entry) for entry in result.entries]


# ---- differences and the accepted list ---------------------------------------------------------------

class Difference:
    def __init__(self, file, field, item, ours, theirs, our_item=None):
        self.file = file
        self.field = field
        self.item = item  # index, or None for the item count
        self.ours = ours
        self.theirs = theirs
        self.our_item = our_item or {}  # all our fields of that item

    def __str__(self):
        where = "items" if self.item is None else "items[%d].%s" % (self.item, self.field)
        return "%s %s: ours %s, feedparser %s" % (
            self.file, where, json.dumps(self.ours, ensure_ascii=False)[:300],
            json.dumps(self.theirs, ensure_ascii=False)[:300])


def differences(name, ours, theirs):
    out = []
    if len(ours) != len(theirs):
        out.append(Difference(name, "count", None, len(ours), len(theirs)))
    for i, (a, b) in enumerate(zip(ours, theirs)):
        for field in FIELDS:
            if a[field] != b[field]:
                out.append(Difference(name, field, i, a[field], b[field], a))
    return out


class Rule:
    KEYS = {"file", "field", "item", "reason", "ours", "feedparser", "feedparser_is_our"}

    def __init__(self, raw, index):
        unknown = set(raw) - self.KEYS
        missing = {"file", "field", "item", "reason"} - set(raw)
        if unknown or missing or not str(raw.get("reason", "")).strip():
            raise ValueError("accepted rule %d: needs file, field, item and a reason%s" % (
                index, " (unknown keys: %s)" % sorted(unknown) if unknown else ""))
        if raw["field"] not in FIELDS + ("count", "*"):
            raise ValueError("accepted rule %d: unknown field %r" % (index, raw["field"]))
        self.raw = raw
        self.index = index
        self.matches = 0

    def accepts(self, difference):
        raw = self.raw
        if not fnmatch.fnmatchcase(difference.file, raw["file"]):
            return False
        if raw["field"] not in ("*", difference.field):
            return False
        if raw["item"] != "*" and raw["item"] != difference.item:
            return False
        if "ours" in raw and raw["ours"] != difference.ours:
            return False
        if "feedparser" in raw and raw["feedparser"] != difference.theirs:
            return False
        if "feedparser_is_our" in raw and (
                difference.item is None
                or difference.our_item.get(raw["feedparser_is_our"]) != difference.theirs):
            return False
        return True

    def __str__(self):
        return json.dumps(self.raw, ensure_ascii=False)


def load_rules(path):
    with open(path, encoding="utf-8") as f:
        raw = json.load(f)
    if not isinstance(raw, list):
        raise ValueError("%s: expected a JSON list of rules" % path)
    return [Rule(r, i) for i, r in enumerate(raw)]


# ---- main ------------------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feedmerge", help="the feedmerge binary")
    parser.add_argument("--data", required=True, help="tests/data/parse")
    parser.add_argument("--real", help="tests/data/corpus/real (a missing folder is an error)")
    parser.add_argument("--accepted", required=True, help="tests/parse/feedparser_differences.json")
    parser.add_argument("--use-goldens", action="store_true",
                        help="compare feedparser with the golden files instead of running feedmerge "
                             "(fixtures only; to review goldens before the binary exists)")
    parser.add_argument("--only", help="only documents whose name matches this glob "
                                       "(stale rules are not reported then)")
    parser.add_argument("-v", "--verbose", action="store_true", help="also list accepted differences")
    args = parser.parse_args()
    if not args.feedmerge and not args.use_goldens:
        parser.error("--feedmerge is required (or --use-goldens)")

    patch_feedparser()
    data = pathlib.Path(args.data).resolve()
    real = pathlib.Path(args.real).resolve() if args.real else None
    if real is not None and not real.is_dir():
        # A missing corpus must fail, not shrink the comparison to the fixtures unnoticed.
        sys.exit("error: no real corpus at %s" % real)
    rules = load_rules(args.accepted)

    documents = find_documents(data, None if args.use_goldens else real)
    if args.only:
        documents = [d for d in documents if fnmatch.fnmatchcase(d.name, args.only)]
    if not documents:
        print("no documents to compare")
        print("0 passed, 1 failed")
        return 1

    started = time.monotonic()
    passed = failed = 0
    # feedmerge runs in worker processes while feedparser works in this one.
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        ours_by_name = {}
        if not args.use_goldens:
            binary = os.path.abspath(args.feedmerge)
            ours_by_name = {d.name: pool.submit(run_feedmerge, binary, d) for d in documents}
        for document in documents:
            if args.use_goldens:
                with open(document.golden, encoding="utf-8") as f:
                    ours, error = json.load(f), None
            else:
                ours, error = ours_by_name[document.name].result()
            if error:
                failed += 1
                print("FAIL %s: %s" % (document.name, error))
                continue
            theirs = run_feedparser(document)
            unaccepted = []
            for difference in differences(document.name, our_items(ours), theirs):
                rule = next((r for r in rules if r.accepts(difference)), None)
                if rule is None:
                    unaccepted.append(difference)
                    continue
                rule.matches += 1
                if args.verbose:
                    print("accepted %s (%s)" % (difference, rule.raw["reason"]))
            if unaccepted:
                failed += 1
                print("FAIL %s: %d difference(s) no rule accepts" % (document.name, len(unaccepted)))
                shown = unaccepted if args.verbose else unaccepted[:MAX_SHOWN]
                for difference in shown:
                    print("  " + str(difference))
                if len(shown) < len(unaccepted):
                    print("  ... and %d more (-v shows all)" % (len(unaccepted) - len(shown)))
            else:
                passed += 1
                if args.verbose:
                    print("ok   %s" % document.name)

    if not args.only and not args.use_goldens:
        for rule in rules:
            if rule.matches == 0:
                failed += 1
                print("FAIL stale rule %d matched nothing: %s" % (rule.index, rule))
    print("compared %d documents in %.1f s" % (len(documents), time.monotonic() - started))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
