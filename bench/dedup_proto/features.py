#!/usr/bin/env python3
"""Item features for the story clusterer prototype (issue 14).

Per item: language, per-language Snowball stems (native), English pivot stems (FreeDict), names
(pivoted, folded, consonant skeletons), numbers, body shingles, link identity. Per feed:
boilerplate terms (in a large share of the feed's items) are dropped for that feed.
"""
import gzip
import math
import re
import unicodedata
from collections import Counter, defaultdict
from urllib.parse import urlsplit, parse_qsl, urlencode

import snowballstemmer

LANGS = ["en", "fr", "de", "es", "it", "pt"]
SNOWBALL = {"en": "english", "fr": "french", "de": "german", "es": "spanish", "it": "italian",
            "pt": "portuguese"}
DICT = {"fr": "fra", "de": "deu", "es": "spa", "it": "ita", "pt": "por"}

STOP = {
    "en": "a about above after again against all also am an and any are as at be because been before being below between both but by can could did do does doing down during each few for from further had has have having he her here hers him his how i if in into is it its itself just me more most my no nor not now of off on once only or other our out over own same she should so some such than that the their them then there these they this those through to too under until up very was we were what when where which while who whom why will with would you your said says say according new one two us get gets got amid",
    "fr": "a au aux avec ce ces cet cette dans de des du elle elles en et eux il ils je la le les leur leurs lui ma mais me meme mes moi mon ne nos notre nous on ou par pas pour qu que qui sa se ses son sur ta te tes toi ton tu un une vos votre vous c d j l m n s t y ete etre avait avoir ont est sont fait etait sera plus selon apres lors comme aussi tres tout tous toute toutes cela ceci dont si sans sous entre depuis chez vers ainsi donc car ni deja encore alors dit",
    "de": "aber alle allem allen aller alles als also am an andere anderen auch auf aus bei bin bis bist da damit dann das dass dazu dem den denn der des dich die dies diese diesem diesen dieser dieses doch dort du durch ein eine einem einen einer eines er es fur gegen gewesen habe haben hat hatte hatten hier ich ihm ihn ihnen ihr ihre im in ins ist jede jedem jeden jeder jetzt kann kein keine man mein mit muss nach nicht nichts noch nun nur ob oder ohne sehr sein seine seit sich sie sind so soll sondern um und uns unter vom von vor war waren was weil welche wenn werde werden wie wieder will wir wird wurde wurden zu zum zur zwischen uber laut sagte mehr bereits",
    "es": "a al algo algunas algunos ante antes como con contra cual cuando de del desde donde durante e el ella ellas ellos en entre era eran es esa esas ese eso esos esta estaba estan estas este esto estos fue fueron ha han hasta hay la las le les lo los mas me mi mis mucho muy ni no nos o otra otras otro otros para pero poco por porque que quien se sea ser si sido sin sobre su sus tambien tanto te tiene tienen todo todos tu un una uno unos y ya dijo segun tras",
    "it": "a ad al alla alle allo agli ai anche che chi ci come con contro cui da dal dalla dalle dai degli dei del della delle dello di dopo e ed gli ha hanno ho i il in io la le lei lo loro lui ma mi ne nei nel nella nelle noi non o per piu quale quando quello questa questo se sei si sono su sua sue sui sul sulla suo suoi tra tutti tutto un una uno vi e stato stata essere ha detto secondo",
    "pt": "a ao aos as com como da das de do dos e ela elas ele eles em entre era essa esse esta este foi for ha isso isto ja lhe mais mas me mesmo muito na nao nas no nos o os ou para pela pelas pelo pelos por qual quando que se sem ser seu seus sua suas tambem te tem um uma umas uns disse segundo apos sobre ate",
}


def fold(text):
    """Lower case, diacritics removed (ß -> ss)."""
    text = text.lower().replace("ß", "ss")
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


STOPSETS = {lang: set(words.split()) for lang, words in STOP.items()}
ALLSTOP = set().union(*STOPSETS.values())
STEMMERS = {lang: snowballstemmer.stemmer(name) for lang, name in SNOWBALL.items()}
_stem_cache = {}


def stem(lang, word):
    """Snowball stem of a lower-case word, then folded (cached: news vocabulary repeats)."""
    key = (lang, word)
    s = _stem_cache.get(key)
    if s is None:
        s = fold(STEMMERS[lang].stemWord(word))
        _stem_cache[key] = s
    return s


WORD_RE = re.compile(r"[0-9]+(?:[.,][0-9]+)*|[^\W\d_]+(?:['’][^\W\d_]+)*", re.UNICODE)
SENT_END = re.compile(r"[.!?:\"“«|—]\s*$")


def tokenize(text):
    """(raw word, sentence_start, is_number) in text order; clitics l' d' split, 's cut."""
    out = []
    pos = 0
    sentence_start = True
    for m in WORD_RE.finditer(text):
        gap = text[pos:m.start()]
        if SENT_END.search(gap) or (pos == 0):
            sentence_start = True if pos == 0 or SENT_END.search(gap) else sentence_start
        pos = m.end()
        w = m.group(0)
        number = w[0].isdigit()
        if not number:
            w = re.sub(r"^(?:[ldjmnstcLDJMNSTC]|[Qq]u)['’]", "", w)
            w = re.sub(r"['’][sS]$", "", w)
        if w:
            out.append((w, sentence_start, number))
        sentence_start = False
    return out


def norm_number(n):
    first = re.search(r"[.,]", n)
    if not first:
        return n
    groups = re.split(r"[.,]", n)
    if all(len(g) == 3 for g in groups[1:]):
        return "".join(groups)
    return groups[0] + "." + groups[1]


def guess_lang(tokens, declared):
    hits = Counter()
    for w, _, num in tokens:
        if num:
            continue
        f = fold(w)
        for lang in LANGS:
            if f in STOPSETS[lang]:
                hits[lang] += 1
    if hits:
        best, n = hits.most_common(1)[0]
        if n >= 3:
            return best
    return declared if declared in LANGS else (hits.most_common(1)[0][0] if hits else "en")


# ---------------------------------------------------------------------------------- FreeDict
class Pivot:
    """Foreign word or phrase -> English stems, from FreeDict (dictd format).

    Keys are the Snowball stems of the headword's words (so inflected forms meet their lemma);
    values the English stems of the first sense's first three translations."""

    def __init__(self):
        self.maps = {}
        self.lookups = Counter()
        self.hits = Counter()

    def load(self, lang):
        if lang in self.maps:
            return self.maps[lang]
        code = DICT[lang]
        base = f"/usr/share/dictd/freedict-{code}-eng"
        data = gzip.open(base + ".dict.dz").read()
        b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        dec = lambda s: sum(b64.index(c) * 64 ** i for i, c in enumerate(reversed(s)))
        m = {}
        for line in open(base + ".index", encoding="utf-8"):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3 or parts[0].startswith("00database") or not parts[0]:
                continue
            head = parts[0]
            hw = head.split()
            if len(hw) > 3:
                continue
            key = " ".join(stem(lang, fold(w)) if False else stem(lang, w.lower()) for w in hw)
            if key in m:
                continue
            off, ln = dec(parts[1]), dec(parts[2])
            entry = data[off:off + ln].decode("utf-8", "ignore").split("\n")[1:]
            trans = []
            for l in entry:
                if not l.strip() or l.startswith(" ") or l.startswith("Note"):
                    if trans:
                        break
                    continue
                l = re.sub(r"^\d+\.\s*", "", l)
                l = re.sub(r"<[^>]*>|\([^)]*\)", "", l)
                trans += [t.strip() for t in re.split(r"[,;]", l) if t.strip()]
                if trans:
                    break
            stems = []
            for t in trans[:3]:
                for w in re.findall(r"[a-zA-Z]+", t):
                    w = w.lower()
                    if w not in STOPSETS["en"] and len(w) > 1:
                        stems.append(stem("en", w))
            if stems:
                m[key] = tuple(dict.fromkeys(stems))
        self.maps[lang] = m
        return m

    def translate(self, lang, stems_seq):
        """Greedy longest match (3, 2, 1 words) over a sequence of native stems.
        Returns a list of (start, length, english stems or None)."""
        m = self.load(lang)
        out = []
        i = 0
        while i < len(stems_seq):
            for n in (3, 2, 1):
                if i + n > len(stems_seq):
                    continue
                key = " ".join(stems_seq[i:i + n])
                if key in m:
                    out.append((i, n, m[key]))
                    i += n
                    break
            else:
                out.append((i, 1, None))
                i += 1
        return out


PIVOT = Pivot()

# ---------------------------------------------------------------------------------- links
TRACKING = re.compile(r"^(utm_.*|fbclid|gclid|ref|ref_src|cmpid|cmp|icid|ncid|ocid|mc_cid|mc_eid|src|source|via|amp|share|spm)$", re.I)


def canonical(link):
    try:
        u = urlsplit(link)
    except ValueError:
        return link
    host = re.sub(r"^(www|m|mobile|amp)\.", "", u.netloc.lower())
    q = [(k, v) for k, v in parse_qsl(u.query) if not TRACKING.match(k)]
    path = re.sub(r"/(index\.(html?|php)|default\.aspx)$", "/", u.path).rstrip("/")
    return host + path + ("?" + urlencode(sorted(q)) if q else "")


def is_section_page(link):
    """A home or section page: no path, or one short segment without digits or dashes."""
    path = urlsplit(link).path.strip("/")
    if not path:
        return True
    segs = path.split("/")
    return len(segs) == 1 and not re.search(r"[0-9-]", segs[0]) and len(segs[0]) < 20


def skeleton(name):
    """Consonant skeleton of a folded name: Putin/Poutine -> ptn, Wladimir/Vladimir -> vldmr."""
    s = name.replace("w", "v").replace("ph", "f").replace("ck", "k").replace("ch", "k")
    s = s.replace("c", "k").replace("q", "k").replace("z", "s").replace("j", "i")
    s = re.sub(r"e$", "", s)
    s = re.sub(r"[aeiouyh]", "", s)
    s = re.sub(r"(.)\1+", r"\1", s)
    return s


# ---------------------------------------------------------------------------------- items
class Corpus:
    """Features of a batch of items (the prototype sees a corpus at once; statistics that the
    C++ keeps as running counts are computed here over the batch)."""

    def __init__(self, items, use_pivot=True, boilerplate=True, title_names=True, share=0.3):
        self.items = items
        self.use_pivot = use_pivot
        for it in items:
            self._tokens(it)
        # Name lexicon: words written capitalised mid-sentence more often than lower case.
        cap, low = Counter(), Counter()
        for it in items:
            for w, start, num, in_title in it["_tok"]:
                if num or (in_title and it["_titlecase"]):
                    continue
                f = fold(w)
                if w[0].isupper() and not start:
                    cap[f] += 1
                elif w[0].islower():
                    low[f] += 1
        self.name_words = {w for w in cap if cap[w] > low[w] and w not in ALLSTOP and len(w) > 1}
        if not title_names:
            self.name_words = set()
        for it in items:
            self._features(it)
        # Per-feed boilerplate: a key in >= share of a feed's items (and in >= 3 of them).
        per_feed = defaultdict(list)
        for it in items:
            per_feed[it["feed"]].append(it)
        self.boiler = {}
        for feed, its in per_feed.items():
            df = Counter()
            for it in its:
                df.update(set(it["native"]) | set(it["names"]))
            lim = max(3, share * len(its))
            self.boiler[feed] = {k for k, c in df.items() if c >= lim} if boilerplate else set()
            for it in its:
                b = self.boiler[feed]
                it["native"] = Counter({k: v for k, v in it["native"].items() if k not in b})
                it["pivot"] = Counter({k: v for k, v in it["pivot"].items() if k not in b and ("en:" + k) not in b})
                it["names"] = {k for k in it["names"] if k not in b}
                it["shingles"] = {s for s in it["shingles"] if not (set(s) & b)}
        # Link identity: not a home/section page, not shared by two items of one feed.
        by_feed_link = Counter((it["feed"], it["curl"]) for it in items)
        for it in items:
            it["identity"] = None if (is_section_page(it["link"]) or by_feed_link[(it["feed"], it["curl"])] > 1) else it["curl"]
        # Document frequencies (the C++ keeps these as running, halving counts).
        self.N = len(items)
        self.df = Counter()
        for it in items:
            self.df.update({"n:" + k for k in it["native"]})
            self.df.update({"p:" + k for k in it["pivot"]})
            self.df.update({"e:" + k for k in it["names"]})
            self.df.update({"k:" + k for k in it["skel"]})
            self.df.update({"d:" + k for k in it["numbers"]})
        for it in items:
            it["vn"] = self._vec(it["native"], "n:")
            it["vp"] = self._vec(it["pivot"], "p:")
            it["vt"] = self._vec(it["pivot_title"], "p:")
            it["vtn"] = self._vec(it["native_title"], "n:")
            it["ve"] = {k: self.idf("e:" + k) for k in it["names"]}
            it["vk"] = self._vec(Counter(it["skel"]), "k:")
            it["vd"] = self._vec(Counter(it["numbers"]), "d:")

    def idf(self, key):
        return math.log((self.N + 1) / (self.df[key] + 1)) + 1.0

    def _vec(self, counts, prefix):
        v = {k: (1 + math.log(c)) * self.idf(prefix + k) for k, c in counts.items() if c > 0}
        n = math.sqrt(sum(x * x for x in v.values())) or 1.0
        return {k: x / n for k, x in v.items()}

    def _tokens(self, it):
        tt = tokenize(it["title"])
        bt = tokenize(it["body"])
        it["_tok"] = [(w, s, n, True) for w, s, n in tt] + [(w, s, n, False) for w, s, n in bt]
        it["lang_guess"] = guess_lang(it["_tok"] and [(w, s, n) for w, s, n, _ in it["_tok"]], it.get("feed_lang"))
        content = [w for w, s, n in tt if not n and len(w) > 3 and fold(w) not in ALLSTOP]
        it["_titlecase"] = len(content) >= 3 and sum(w[0].isupper() for w in content) >= 0.7 * len(content)
        it["curl"] = canonical(it["link"])

    def _features(self, it):
        lang = it["lang_guess"]
        stop = STOPSETS[lang]
        native = Counter()
        native_title = Counter()
        names = set()
        numbers = set()
        seq = []  # (native stem, in_title, is_name) of content words in order
        body_caps = {fold(w) for w, s, n, t in it["_tok"] if not t and not n and w[0].isupper() and not s}
        for w, start, num, in_title in it["_tok"]:
            weight = 2 if in_title else 1
            if num:
                nn = norm_number(w)
                if len(nn) >= 2 or nn == "0":
                    numbers.add(nn)
                    native["#" + nn] += weight
                continue
            f = fold(w)
            if f in stop or f in ALLSTOP and len(f) <= 3 or len(f) < 2:
                continue
            s = stem(lang, w.lower())
            native[s] += weight
            if in_title:
                native_title[s] += 1
            inner = any(c.isupper() for c in w[1:])
            is_name = inner or f in self.name_words or (
                w[0].isupper() and not start and not (in_title and it["_titlecase"] and f not in body_caps)
                and not (lang == "de" and not inner and f not in self.name_words))
            if is_name:
                names.add(f)
            seq.append((s, in_title, is_name, f))
        pivot = Counter()
        pivot_title = Counter()
        if lang == "en" or not self.use_pivot:
            for s, t, _, f in seq:
                pivot[s] += 2 if t else 1
                if t:
                    pivot_title[s] += 1
            pivot_names = set(names)
        else:
            pivot_names = set(names)
            trans = PIVOT.translate(lang, [s for s, _, _, _ in seq])
            for start, n, eng in trans:
                t = seq[start][1]
                PIVOT.lookups[lang] += 1
                if eng:
                    PIVOT.hits[lang] += 1
                    keys = eng
                    if any(seq[k][2] for k in range(start, start + n)):
                        pivot_names.update(eng)
                else:
                    keys = [seq[start][3]]  # untranslated: the folded word (names, cognates)
                for k in keys:
                    pivot[k] += 2 if t else 1
                    if t:
                        pivot_title[k] += 1
                # the folded form too: names and cognates meet English text
                if eng and seq[start][2]:
                    pivot[stem("en", seq[start][3])] += 1
        # English names are compared through English stems of the folded form
        it["native"] = native
        it["native_title"] = native_title
        it["name_seq"] = [stem("en", f) for s, t, nm, f in seq if nm and not t]
        it["pivot"] = pivot
        it["pivot_title"] = pivot_title
        it["names"] = {stem("en", n) for n in pivot_names} | ({stem("en", n) for n in names})
        it["skel"] = {skeleton(n) for n in names if len(skeleton(n)) >= 3}
        it["numbers"] = numbers
        bw = [fold(w) for w, s, n, t in it["_tok"] if not t]
        it["shingles"] = {tuple(bw[i:i + 3]) for i in range(len(bw) - 2)}
        it["lang"] = it.get("lang", lang)
