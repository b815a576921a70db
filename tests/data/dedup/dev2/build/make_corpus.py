#!/usr/bin/env python3
"""Build feeds/*.xml and labels.json for a feedmerge dedup corpus.

Inputs (all in this build/ folder):
  feeds.json      one entry per outlet feed: format, title, link template, time zone, options
  stories.txt     one line per story event:  id | story|decoy | decoy_for,ids | description
  items/*.txt     the hand-written items (see the format notes below)

Outputs (in the corpus folder, the parent of build/):
  feeds/<file>.xml   RSS 2.0, Atom 1.0 or RSS 1.0 (RDF) documents
  labels.json        {"items": {link: {...}}, "stories": {id: description}}

Item format (items/*.txt):

  ### <item key>
  feed: <feed code>             story: <story id>        role: original|independent|syndicated|translated|singleton
  lang: en|fr|de|es|it|pt       date: YYYY-MM-DD HH:MM   (UTC)
  m: <feed> <story> <role> <lang> YYYY-MM-DD HH:MM   (the five fields above on one line)
  t: <title>  (same as title:)     s: <summary on one line>  (same as a one-paragraph summary:)
  by: <author>                  cats: a, b               slug: <url slug; default from title>
  src: <key of the item this one is copied or translated from>
  copy: <key>   (syndicated copy: summary/content taken from that item)
  pre: / post: / trim: / sub: old => new || old2 => new2   (light edits of a copy)
  seed: <file>  (the item's text is that file, verbatim)
  title: <title>
  summary:
  <plain text, may span lines; a blank line starts a new paragraph>
  content:
  <paragraphs; "- " list items, "> " quotes, "## " headings; a line starting with "<" is raw HTML>

Standard library only.  Run:  python3 build/make_corpus.py
"""
import glob
import hashlib
import html
import json
import os
import re
import sys
import unicodedata
import xml.dom.minidom
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from xml.sax.saxutils import escape, quoteattr

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

ROLES = {"original", "independent", "syndicated", "translated", "singleton"}
LANGS = {"en", "fr", "de", "es", "it", "pt"}
FIELD_RE = re.compile(r"^([a-z_]+):(?: (.*))?$")

problems = []


def warn(msg):
    problems.append(msg)


# ---------------------------------------------------------------- time zones
def _utc(y, mo, d, h):
    return datetime(y, mo, d, h, tzinfo=timezone.utc)


US_DST = [(_utc(2020, 3, 8, 7), _utc(2020, 11, 1, 6)), (_utc(2021, 3, 14, 7), _utc(2021, 11, 7, 6))]
EU_DST = [(_utc(2020, 3, 29, 1), _utc(2020, 10, 25, 1)), (_utc(2021, 3, 28, 1), _utc(2021, 10, 31, 1))]


def offset_for(tzname, when):
    def in_dst(rules):
        return any(a <= when < b for a, b in rules)
    if tzname == "UTC":
        return timedelta(0)
    if tzname == "US/Eastern":
        return timedelta(hours=-4 if in_dst(US_DST) else -5)
    if tzname == "US/Pacific":
        return timedelta(hours=-7 if in_dst(US_DST) else -8)
    if tzname in ("Europe/Paris", "Europe/Berlin", "Europe/Madrid", "Europe/Rome"):
        return timedelta(hours=2 if in_dst(EU_DST) else 1)
    if tzname in ("Europe/London", "Europe/Lisbon"):
        return timedelta(hours=1 if in_dst(EU_DST) else 0)
    if tzname == "America/Bogota":
        return timedelta(hours=-5)
    if tzname == "America/Sao_Paulo":
        return timedelta(hours=-3)
    if tzname == "Africa/Nairobi":
        return timedelta(hours=3)
    if tzname == "US/Central":
        return timedelta(hours=-5 if in_dst(US_DST) else -6)
    raise ValueError("unknown time zone " + tzname)


def local(when, tzname):
    return when.astimezone(timezone(offset_for(tzname, when)))


def rfc822(when, tzname, style="offset"):
    if style == "gmt":
        return format_datetime(when.astimezone(timezone.utc), usegmt=True)
    return format_datetime(local(when, tzname))


def iso(when, tzname):
    if tzname == "UTC":
        return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return local(when, tzname).isoformat()


# ---------------------------------------------------------------- parsing
def parse_stories(path):
    stories = {}
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            parts = [p.strip() for p in line.split("|", 3)]
            if len(parts) != 4 or parts[1] not in ("story", "decoy"):
                sys.exit("%s:%d: bad story line" % (path, n))
            sid, kind, dfor, desc = parts
            if sid in stories:
                sys.exit("%s:%d: duplicate story %s" % (path, n, sid))
            stories[sid] = {"kind": kind, "decoy_for": [x.strip() for x in dfor.split(",") if x.strip()],
                            "desc": desc}
    return stories


def parse_items(path):
    items = []
    cur = None
    mode = None
    with open(path, encoding="utf-8") as fh:
        lines = fh.read().split("\n")
    for n, ln in enumerate(lines, 1):
        if ln.startswith("### "):
            if cur:
                items.append(cur)
            cur = {"key": ln[4:].strip(), "summary": [], "content": [], "_where": "%s:%d" % (os.path.basename(path), n)}
            mode = "hdr"
            continue
        if cur is None:
            continue
        if mode == "hdr":
            if not ln.strip():
                continue
            m = FIELD_RE.match(ln)
            if not m:
                sys.exit("%s:%d: expected 'field: value', got %r" % (path, n, ln))
            name, val = m.group(1), (m.group(2) or "")
            if name in ("summary", "content") and not val:
                mode = name
                continue
            if name == "m":
                parts = val.split()
                if len(parts) != 6:
                    sys.exit("%s:%d: m: wants feed story role lang date time" % (path, n))
                pairs = zip(("feed", "story", "role", "lang"), parts[:4])
                for k, v in list(pairs) + [("date", parts[4] + " " + parts[5])]:
                    if k in cur:
                        sys.exit("%s:%d: field %s given twice" % (path, n, k))
                    cur[k] = v
                continue
            if name == "t":
                name = "title"
            if name == "s":
                cur["summary"] = [val.strip()]
                continue
            if name in cur and name not in ("summary", "content"):
                sys.exit("%s:%d: field %s given twice" % (path, n, name))
            cur[name] = val.strip()
        elif mode == "summary":
            if ln == "content:":
                mode = "content"
                continue
            cur["summary"].append(ln)
        else:
            cur["content"].append(ln)
    if cur:
        items.append(cur)
    return items


def paragraphs(lines):
    paras, buf = [], []
    for ln in lines:
        if ln.strip():
            buf.append(ln.strip())
        elif buf:
            paras.append(buf)
            buf = []
    if buf:
        paras.append(buf)
    return paras


def summary_text(lines):
    return "\n\n".join(" ".join(p) for p in paragraphs(lines))


def content_html(lines):
    """Paragraph markup -> HTML (XHTML-safe)."""
    out = []
    for para in paragraphs(lines):
        if para[0].startswith("<"):
            out.append("\n".join(para))
        elif para[0].startswith("- "):
            lis = []
            for p in para:
                if p.startswith("- "):
                    lis.append(p[2:].strip())
                else:
                    lis[-1] += " " + p
            out.append("<ul>" + "".join("<li>%s</li>" % escape(li) for li in lis) + "</ul>")
        elif para[0].startswith("> "):
            out.append("<blockquote><p>%s</p></blockquote>" % escape(" ".join(p[2:] if p.startswith("> ") else p for p in para)))
        elif para[0].startswith("## "):
            out.append("<h2>%s</h2>" % escape(" ".join(para)[3:]))
        else:
            out.append("<p>%s</p>" % escape(" ".join(para)))
    return "\n".join(out)


def html_to_text(s):
    s = re.sub(r"<[^>]+>", " ", s)
    return re.sub(r"\s+", " ", html.unescape(s)).strip()


def slugify(title, maxwords=9):
    t = unicodedata.normalize("NFKD", title.replace("\u2019", "").replace("'", ""))
    t = t.encode("ascii", "ignore").decode("ascii").lower()
    words = [w for w in re.split(r"[^a-z0-9]+", t) if w]
    return "-".join(words[:maxwords])


def num(key, lo, hi):
    h = int(hashlib.sha1(key.encode()).hexdigest(), 16)
    return lo + h % (hi - lo)


def hexid(key, n=8):
    return hashlib.sha1(("x" + key).encode()).hexdigest()[:n]


# ---------------------------------------------------------------- resolve items
def resolve(items, stories, feeds):
    by_key = {}
    for it in items:
        if it["key"] in by_key:
            sys.exit("duplicate item key %s (%s)" % (it["key"], it["_where"]))
        by_key[it["key"]] = it
    done = set()

    def build(it, stack=()):
        if it["key"] in done:
            return
        if it["key"] in stack:
            sys.exit("copy loop at " + it["key"])
        for f in ("feed", "story", "role", "lang", "date", "title"):
            if f not in it and not (f == "title" and "seed" in it):
                sys.exit("%s: item %s lacks %s" % (it["_where"], it["key"], f))
        if it["feed"] not in feeds:
            sys.exit("%s: unknown feed %s" % (it["_where"], it["feed"]))
        if "by" not in it and feeds[it["feed"]].get("default_by"):
            it["by"] = feeds[it["feed"]]["default_by"]
        if "cats" not in it and feeds[it["feed"]].get("default_cats"):
            it["cats"] = feeds[it["feed"]]["default_cats"]
        if it["story"] not in stories:
            sys.exit("%s: unknown story %s" % (it["_where"], it["story"]))
        if it["role"] not in ROLES or it["lang"] not in LANGS:
            sys.exit("%s: bad role/lang" % it["_where"])
        it["when"] = datetime.strptime(it["date"], "%Y-%m-%d %H:%M").replace(tzinfo=timezone.utc)
        if "seed" in it:
            with open(os.path.join(HERE, it["seed"]), encoding="utf-8") as fh:
                raw = fh.read()
            lines = raw.split("\n")
            nonempty = [l for l in lines if l.strip()]
            it.setdefault("title", nonempty[1].strip())
            it["summary_text"] = None       # excerpt made from the content below
            it["content_lines"] = lines
            it["content_is_seed"] = True
        elif "copy" in it:
            src = by_key.get(it["copy"])
            if not src:
                sys.exit("%s: copy of unknown item %s" % (it["_where"], it["copy"]))
            build(src, stack + (it["key"],))
            it.setdefault("src", it["copy"])
            summ = summary_text(it["summary"]) if any(l.strip() for l in it["summary"]) else src["summary_text"]
            if summ is None:
                summ = src["excerpt"]
            cont = list(it["content"]) if any(l.strip() for l in it["content"]) else list(src["content_lines"])
            for rule in [r for r in it.get("sub", "").split("||") if r.strip()]:
                old, new = [x.strip() for x in rule.split("=>")]
                if old not in summ and not any(old in l for l in cont):
                    warn("%s: sub %r matches nothing" % (it["key"], old))
                summ = summ.replace(old, new)
                cont = [l.replace(old, new) for l in cont]
            if it.get("trim"):
                words = summ.split()
                k = int(it["trim"])
                if len(words) > k:
                    summ = " ".join(words[:k]).rstrip(",;:") + " \u2026"
            if it.get("pre"):
                summ = it["pre"] + " " + summ
                if cont:
                    cont = [it["pre"], ""] + cont
            if it.get("post"):
                summ = summ + " " + it["post"]
                if cont:
                    cont = cont + ["", it["post"]]
            it["summary_text"] = summ
            it["content_lines"] = cont
            it["content_is_seed"] = src.get("content_is_seed", False)
        else:
            it["summary_text"] = summary_text(it["summary"]) if any(l.strip() for l in it["summary"]) else None
            it["content_lines"] = list(it["content"])
            it["content_is_seed"] = False
        feed = feeds[it["feed"]]
        chrome = feed.get("chrome")
        if chrome and not it["content_is_seed"] and it["content_lines"] and "copy" not in it:
            cats = it.get("cats", feed.get("default_cats", ""))
            pre = [c.format(title=it["title"], cats=cats.replace(",", ""), author=it.get("by", "")) for c in chrome["pre"]]
            post = [c.format(title=it["title"], cats=cats, author=it.get("by", "")) for c in chrome["post"]]
            cl = []
            for p in pre:
                cl += [p, ""]
            cl += it["content_lines"]
            for p in post:
                cl += ["", p]
            it["content_lines"] = cl
            it["content_is_seed"] = True     # plain-text layout, one paragraph per block
        # excerpt (WordPress style) when asked or when no summary was written
        text_for_excerpt = "\n".join(it["content_lines"])
        if it["content_is_seed"]:
            plain = re.sub(r"[ \t\r\n]+", " ", text_for_excerpt).strip()
        else:
            plain = html_to_text(content_html(it["content_lines"]))
        words = [w for w in re.split(r"[ \t\r\n]+", plain) if w]
        it["excerpt"] = " ".join(words[:55]) + (" [\u2026]" if len(words) > 55 else "")
        if it["summary_text"] is None or feed.get("wp_excerpt"):
            if feed.get("wp_excerpt") and "copy" not in it:
                it["summary_text"] = it["excerpt"]
            elif it["summary_text"] is None:
                it["summary_text"] = it["excerpt"]
        if it["content_is_seed"]:
            it["content_html"] = seed_html(it["content_lines"]) if it["content_lines"] else ""
        else:
            it["content_html"] = content_html(it["content_lines"]) if it["content_lines"] else ""
        done.add(it["key"])

    for it in items:
        build(it)
    # Feed boilerplate: a title prefix and a summary prefix that every item of the feed carries.
    for it in items:
        feed = feeds[it["feed"]]
        if feed.get("title_prefix"):
            it["title"] = feed["title_prefix"] + it["title"]
        if feed.get("summary_prefix"):
            it["summary_text"] = feed["summary_prefix"] + " " + it["summary_text"]
            if it["content_html"]:
                it["content_html"] = "<p>%s</p>\n%s" % (escape(feed["summary_prefix"]), it["content_html"])
    return by_key


def seed_html(lines):
    """Plain text kept verbatim: one <p> per block of lines (blocks are separated by empty lines);
    the text inside each block is not altered (no trimming, bullets kept as characters)."""
    out, buf = [], []
    for ln in lines + [""]:
        if ln == "":
            if buf:
                out.append("<p>%s</p>" % escape("\n".join(buf)))
                buf = []
        else:
            buf.append(ln)
    return "\n".join(out)


# ---------------------------------------------------------------- links
def make_link(feed, it):
    w = it["when"]
    lw = local(w, feed["tz"])
    slug = it.get("slug") or slugify(it["title"])
    return feed["link"].format(y=lw.strftime("%Y"), m=lw.strftime("%m"), d=lw.strftime("%d"), slug=slug,
                               n=num(it["key"], feed.get("nlo", 100000), feed.get("nhi", 999999)),
                               h=hexid(it["key"]))


# ---------------------------------------------------------------- writers
def cdata(s):
    assert "]]>" not in s
    return "<![CDATA[" + s + "]]>"


def summary_html(text):
    return "".join("<p>%s</p>" % escape(p) for p in text.split("\n\n"))


def summary_plain(text):
    return text.replace("\n\n", " ")


def write_rss2(feed, items):
    o = feed.get("opts", {})
    ns = ['version="2.0"']
    if o.get("content"):
        ns.append('xmlns:content="http://purl.org/rss/1.0/modules/content/"')
    if o.get("dc_creator") or o.get("dc_date"):
        ns.append('xmlns:dc="http://purl.org/dc/elements/1.1/"')
    ns.append('xmlns:atom="http://www.w3.org/2005/Atom"')
    if o.get("wordpress"):
        ns += ['xmlns:wfw="http://wellformedweb.org/CommentAPI/"', 'xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"',
               'xmlns:slash="http://purl.org/rss/1.0/modules/slash/"']
    L = ['<?xml version="1.0" encoding="UTF-8"?>', "<rss %s>" % " ".join(ns), "<channel>"]
    L.append("\t<title>%s</title>" % escape(feed["title"]))
    L.append('\t<atom:link href=%s rel="self" type="application/rss+xml" />' % quoteattr(feed["self"]))
    L.append("\t<link>%s</link>" % escape(feed["home"]))
    L.append("\t<description>%s</description>" % escape(feed["description"]))
    newest = max(it["when"] for it in items)
    L.append("\t<lastBuildDate>%s</lastBuildDate>" % rfc822(newest, feed["tz"], o.get("date_style", "offset")))
    L.append("\t<language>%s</language>" % feed["language"])
    if o.get("wordpress"):
        L.append("\t<sy:updatePeriod>\n\thourly\t</sy:updatePeriod>\n\t<sy:updateFrequency>\n\t1\t</sy:updateFrequency>")
    if feed.get("generator"):
        L.append("\t<generator>%s</generator>" % escape(feed["generator"]))
    if feed.get("copyright"):
        L.append("\t<copyright>%s</copyright>" % escape(feed["copyright"]))
    if feed.get("image"):
        L.append("\t<image>\n\t\t<url>%s</url>\n\t\t<title>%s</title>\n\t\t<link>%s</link>\n\t</image>"
                 % (escape(feed["image"]), escape(feed["title"]), escape(feed["home"])))
    for it in items:
        L.append("\t<item>")
        L.append("\t\t<title>%s</title>" % escape(it["title"]))
        L.append("\t\t<link>%s</link>" % escape(it["link"]))
        if o.get("wordpress"):
            L.append("\t\t<comments>%s#respond</comments>" % escape(it["link"]))
        if o.get("dc_creator") and it.get("by"):
            L.append("\t\t<dc:creator>%s</dc:creator>" % (cdata(it["by"]) if o.get("wordpress") else escape(it["by"])))
        elif o.get("author_email") and it.get("by"):
            L.append("\t\t<author>%s (%s)</author>" % (escape(o["author_email"]), escape(it["by"])))
        if o.get("dc_date"):
            L.append("\t\t<dc:date>%s</dc:date>" % iso(it["when"], feed["tz"]))
        else:
            L.append("\t\t<pubDate>%s</pubDate>" % rfc822(it["when"], feed["tz"], o.get("date_style", "offset")))
        for c in [c.strip() for c in it.get("cats", "").split(",") if c.strip()]:
            L.append("\t\t<category>%s</category>" % (cdata(c) if o.get("wordpress") else escape(c)))
        g = o.get("guid", "permalink")
        if g == "permalink":
            L.append("\t\t<guid>%s</guid>" % escape(it["link"]))
        elif g == "wp":
            L.append('\t\t<guid isPermaLink="false">%s?p=%d</guid>' % (escape(feed["home"]), num(it["key"], 1000, 99999)))
        elif g == "id":
            L.append('\t\t<guid isPermaLink="false">%s-%s</guid>' % (escape(feed.get("guid_prefix", "item")), hexid(it["key"], 12)))
        dm = o.get("description", "text")
        if dm == "text":
            L.append("\t\t<description>%s</description>" % escape(summary_plain(it["summary_text"])))
        elif dm == "html":
            L.append("\t\t<description>%s</description>" % escape(summary_html(it["summary_text"])))
        elif dm == "cdata":
            L.append("\t\t<description>%s</description>" % cdata(summary_html(it["summary_text"])))
        elif dm == "cdata-text":
            L.append("\t\t<description>%s</description>" % cdata(summary_plain(it["summary_text"])))
        if o.get("content") and it["content_html"]:
            if o["content"] == "cdata":
                L.append("\t\t<content:encoded>%s</content:encoded>" % cdata(it["content_html"]))
            else:
                L.append("\t\t<content:encoded>%s</content:encoded>" % escape(it["content_html"]))
        if o.get("wordpress"):
            L.append("\t\t<wfw:commentRss>%sfeed/</wfw:commentRss>" % escape(it["link"]))
            L.append("\t\t<slash:comments>%d</slash:comments>" % num(it["key"] + "c", 0, 7))
        if o.get("audio"):
            L.append('\t\t<enclosure url=%s length="%d" type="audio/mpeg" />'
                     % (quoteattr("https://media.%s/%s.mp3" % (o["audio"], slugify(it["title"], 4))), num(it["key"] + "a", 20000000, 90000000)))
        if o.get("enclosure"):
            L.append('\t\t<enclosure url=%s length="%d" type="image/jpeg" />'
                     % (quoteattr("%swp-content/uploads/%s/%s.jpg" % (feed["home"], it["when"].strftime("%Y/%m"), (it.get("slug") or slugify(it["title"]))[:40])),
                        num(it["key"] + "e", 40000, 400000)))
        L.append("\t</item>")
    L.append("</channel>\n</rss>\n")
    return "\n".join(L)


def write_atom(feed, items):
    o = feed.get("opts", {})
    L = ['<?xml version="1.0" encoding="utf-8"?>',
         '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="%s">' % feed["language"]]
    L.append('  <title type="text">%s</title>' % escape(feed["title"]))
    if feed.get("description"):
        L.append('  <subtitle type="text">%s</subtitle>' % escape(feed["description"]))
    L.append('  <link rel="alternate" type="text/html" href=%s/>' % quoteattr(feed["home"]))
    L.append('  <link rel="self" type="application/atom+xml" href=%s/>' % quoteattr(feed["self"]))
    L.append("  <id>%s</id>" % escape(feed.get("atom_id", feed["home"])))
    newest = max(it["when"] for it in items)
    L.append("  <updated>%s</updated>" % iso(newest, feed["tz"]))
    if feed.get("generator"):
        L.append("  <generator>%s</generator>" % escape(feed["generator"]))
    if feed.get("copyright"):
        L.append("  <rights>%s</rights>" % escape(feed["copyright"]))
    if o.get("feed_author"):
        L.append("  <author><name>%s</name></author>" % escape(o["feed_author"]))
    for it in items:
        L.append("  <entry>")
        L.append('    <title type="text">%s</title>' % escape(it["title"]))
        L.append('    <link rel="alternate" type="text/html" href=%s/>' % quoteattr(it["link"]))
        idm = o.get("id", "link")
        if idm == "tag":
            L.append("    <id>tag:%s,%s:%s</id>" % (o["tag_domain"], it["when"].strftime("%Y"), hexid(it["key"], 10)))
        elif idm == "urn":
            L.append("    <id>urn:uuid:%s-%s-4%s-a%s-%s</id>" % (hexid(it["key"], 8), hexid(it["key"] + "1", 4), hexid(it["key"] + "2", 3),
                                                                hexid(it["key"] + "3", 3), hexid(it["key"] + "4", 12)))
        else:
            L.append("    <id>%s</id>" % escape(it["link"]))
        if o.get("published", True):
            L.append("    <published>%s</published>" % iso(it["when"], feed["tz"]))
        upd = it["when"] + timedelta(minutes=num(it["key"] + "u", 0, 50) if o.get("updated_lag") else 0)
        L.append("    <updated>%s</updated>" % iso(upd, feed["tz"]))
        if it.get("by"):
            L.append("    <author><name>%s</name></author>" % escape(it["by"]))
        for c in [c.strip() for c in it.get("cats", "").split(",") if c.strip()]:
            L.append('    <category term=%s/>' % quoteattr(c))
        st = o.get("summary", "text")
        if st == "text":
            L.append('    <summary type="text">%s</summary>' % escape(summary_plain(it["summary_text"])))
        else:
            L.append('    <summary type="html">%s</summary>' % escape(summary_html(it["summary_text"])))
        ct = o.get("content")
        if ct and it["content_html"]:
            if ct == "xhtml":
                L.append('    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">%s</div></content>' % it["content_html"])
            elif ct == "cdata":
                L.append('    <content type="html">%s</content>' % cdata(it["content_html"]))
            else:
                L.append('    <content type="html">%s</content>' % escape(it["content_html"]))
        L.append("  </entry>")
    L.append("</feed>\n")
    return "\n".join(L)


def write_rdf(feed, items):
    o = feed.get("opts", {})
    L = ['<?xml version="1.0" encoding="UTF-8"?>',
         '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" '
         'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
         'xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">']
    L.append(" <channel rdf:about=%s>" % quoteattr(feed["self"]))
    L.append("  <title>%s</title>" % escape(feed["title"]))
    L.append("  <link>%s</link>" % escape(feed["home"]))
    L.append("  <description>%s</description>" % escape(feed["description"]))
    L.append("  <dc:language>%s</dc:language>" % feed["language"])
    if feed.get("copyright"):
        L.append("  <dc:rights>%s</dc:rights>" % escape(feed["copyright"]))
    newest = max(it["when"] for it in items)
    L.append("  <dc:date>%s</dc:date>" % iso(newest, feed["tz"]))
    L.append("  <sy:updatePeriod>hourly</sy:updatePeriod>")
    L.append("  <items>\n   <rdf:Seq>")
    for it in items:
        L.append("    <rdf:li rdf:resource=%s/>" % quoteattr(it["link"]))
    L.append("   </rdf:Seq>\n  </items>\n </channel>")
    for it in items:
        L.append(" <item rdf:about=%s>" % quoteattr(it["link"]))
        L.append("  <title>%s</title>" % escape(it["title"]))
        L.append("  <link>%s</link>" % escape(it["link"]))
        L.append("  <description>%s</description>" % escape(summary_plain(it["summary_text"])))
        L.append("  <dc:date>%s</dc:date>" % iso(it["when"], feed["tz"]))
        if it.get("by"):
            L.append("  <dc:creator>%s</dc:creator>" % escape(it["by"]))
        for c in [c.strip() for c in it.get("cats", "").split(",") if c.strip()]:
            L.append("  <dc:subject>%s</dc:subject>" % escape(c))
        if o.get("content") and it["content_html"]:
            L.append("  <content:encoded>%s</content:encoded>" % cdata(it["content_html"]))
        L.append(" </item>")
    L.append("</rdf:RDF>\n")
    return "\n".join(L)


WRITERS = {"rss2": write_rss2, "atom": write_atom, "rdf": write_rdf}


# ---------------------------------------------------------------- main
def main():
    with open(os.path.join(HERE, "feeds.json"), encoding="utf-8") as fh:
        feeds = json.load(fh)
    stories = parse_stories(os.path.join(HERE, "stories.txt"))
    items = []
    for path in sorted(glob.glob(os.path.join(HERE, "items", "*.txt"))):
        items += parse_items(path)
    by_key = resolve(items, stories, feeds)

    # links
    links = {}
    for it in items:
        it["link"] = make_link(feeds[it["feed"]], it)
        if it["link"] in links:
            sys.exit("duplicate link %s (%s, %s)" % (it["link"], it["key"], links[it["link"]]))
        links[it["link"]] = it["key"]

    # checks
    per_story = {}
    for it in items:
        per_story.setdefault(it["story"], []).append(it)
    for sid in stories:
        if sid not in per_story:
            warn("story %s has no items" % sid)
    for sid, its in per_story.items():
        roles = [i["role"] for i in its]
        if len(its) == 1:
            if roles != ["singleton"]:
                warn("story %s has one item but role %s" % (sid, roles[0]))
        else:
            if roles.count("original") != 1 or "singleton" in roles:
                warn("story %s: roles %s" % (sid, roles))
            first = min(its, key=lambda i: i["when"])
            if first["role"] != "original":
                warn("story %s: earliest item %s is not the original" % (sid, first["key"]))
            span = max(i["when"] for i in its) - first["when"]
            if span > timedelta(hours=48):
                warn("story %s spans %s" % (sid, span))
            feeds_used = [i["feed"] for i in its]
            if len(set(feeds_used)) != len(feeds_used):
                warn("story %s has two items in one feed" % sid)
        for i in its:
            if i["role"] in ("syndicated", "translated"):
                if "src" not in i:
                    warn("%s: %s without src" % (i["key"], i["role"]))
                elif by_key[i["src"]]["story"] != sid:
                    warn("%s: src in another story" % i["key"])
                elif by_key[i["src"]]["when"] > i["when"]:
                    warn("%s: copy is older than its source" % i["key"])
            if i["role"] == "translated" and by_key.get(i.get("src"), {}).get("lang") == i["lang"]:
                warn("%s: translated but same language as source" % i["key"])
            if i["role"] == "syndicated" and by_key.get(i.get("src"), {}).get("lang") != i["lang"]:
                warn("%s: syndicated across languages" % i["key"])
            nw = len(html_to_text(i["summary_text"]).split())
            if not feeds[i["feed"]].get("min_words", 20) <= nw <= 150:
                warn("%s: summary has %d words" % (i["key"], nw))

    # write feeds
    os.makedirs(os.path.join(ROOT, "feeds"), exist_ok=True)
    for old in glob.glob(os.path.join(ROOT, "feeds", "*.*")):
        os.remove(old)
    for code, feed in feeds.items():
        its = sorted([i for i in items if i["feed"] == code], key=lambda i: i["when"], reverse=True)
        if not its:
            warn("feed %s is empty" % code)
            continue
        if not 5 <= len(its) <= 50:
            warn("feed %s has %d items" % (code, len(its)))
        doc = WRITERS[feed["format"]](feed, its)
        path = os.path.join(ROOT, "feeds", feed["file"])
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(doc)
        xml.dom.minidom.parse(path)

    # labels
    labels = {"items": {}, "stories": {}}
    for sid in stories:
        if sid in per_story:
            labels["stories"][sid] = stories[sid]["desc"]
    for it in sorted(items, key=lambda i: (i["when"], i["link"])):
        st = stories[it["story"]]
        rec = {"story": it["story"], "relation": "decoy" if st["kind"] == "decoy" else it["role"], "lang": it["lang"],
               "role": it["role"], "feed": feeds[it["feed"]]["file"]}
        if it.get("src"):
            rec["source"] = by_key[it["src"]]["link"]
        if st["kind"] == "decoy":
            rec["decoy_for"] = st["decoy_for"]
        labels["items"][it["link"]] = rec
    for sid, st in stories.items():
        for d in st["decoy_for"]:
            if d not in stories:
                warn("story %s: decoy_for unknown story %s" % (sid, d))
    with open(os.path.join(ROOT, "labels.json"), "w", encoding="utf-8") as fh:
        json.dump(labels, fh, ensure_ascii=False, indent=1, sort_keys=False)
        fh.write("\n")

    print("%d feeds, %d items, %d stories" % (len(feeds), len(items), len(per_story)))
    for p in problems:
        print("WARNING:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
