#!/usr/bin/env python3
"""Writes the parse fixtures whose bytes matter: encodings, BOMs, control characters, deep nesting.

Run by hand from anywhere (`python3 tests/data/parse/make_encoding_fixtures.py`) after changing
this script; the generated files are checked in. The goldens beside them are NOT generated:
they are written by hand, as UTF-8 JSON, from what each fixture should mean.

Every fixture is written with Python's codecs so that the bytes are exactly what the name says
(0x93/0x94 smart quotes in windows-1252, 0xA4 for the euro sign in ISO-8859-15, ...).
Standard library only.
"""

import codecs
import pathlib

HERE = pathlib.Path(__file__).resolve().parent

# One small RSS 2.0 document; {decl} is the whole XML declaration line (or nothing).
RSS = """{decl}<rss version="2.0">
  <channel>
    <title>{feed_title}</title>
    <link>https://example.com/</link>
    <description>{description}</description>
    <item>
      <title>{item_title}</title>
      <link>https://example.com/1</link>
      <description>{item_description}</description>
    </item>
  </channel>
</rss>
"""


def decl(label):
    if label is None:
        return ""
    if label == "":
        return '<?xml version="1.0"?>\n'
    return '<?xml version="1.0" encoding="%s"?>\n' % label


def rss(label, feed_title, description, item_title, item_description):
    return RSS.format(decl=decl(label), feed_title=feed_title, description=description,
                      item_title=item_title, item_description=item_description)


def write(folder, name, data):
    path = HERE / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    print("wrote %s (%d bytes)" % (path.relative_to(HERE), len(data)))


def encoding_fixtures():
    # (file name, XML declaration label or None/"" for none, Python codec, BOM bytes, texts)
    cases = [
        ("encoding-utf-8-bom.xml", "UTF-8", "utf-8", codecs.BOM_UTF8,
         ("UTF-8 with BOM: naïve café", "Byte order mark first",
          "Emoji 😀 and CJK 漢字", "Ünïcödé")),
        ("encoding-utf-16le-bom.xml", "UTF-16", "utf-16-le", codecs.BOM_UTF16_LE,
         ("UTF-16LE: Ελληνικά", "Little endian with BOM",
          "Emoji 😀 outside the BMP", "Ελληνικά κείμενα")),
        ("encoding-utf-16be-bom.xml", "UTF-16", "utf-16-be", codecs.BOM_UTF16_BE,
         ("UTF-16BE: Ελληνικά", "Big endian with BOM",
          "Emoji 😀 outside the BMP", "Ελληνικά κείμενα")),
        ("encoding-utf-16le-no-bom.xml", "UTF-16", "utf-16-le", b"",
         ("UTF-16LE without BOM: Ελληνικά", "Recognised by its first bytes",
          "Emoji 😀 outside the BMP", "Ελληνικά κείμενα")),
        ("encoding-utf-16be-no-bom.xml", "UTF-16", "utf-16-be", b"",
         ("UTF-16BE without BOM: Ελληνικά", "Recognised by its first bytes",
          "Emoji 😀 outside the BMP", "Ελληνικά κείμενα")),
        ("encoding-iso-8859-1.xml", "ISO-8859-1", "latin-1", b"",
         ("ISO-8859-1: café, naïve, Straße", "© 2020 Größe",
          "Ça va à Zürich", "Ñandú über alles")),
        ("encoding-iso-8859-1-means-windows-1252.xml", "ISO-8859-1", "cp1252", b"",
         ("Declared ISO-8859-1, bytes windows-1252", "0x93 and 0x94 are quotes",
          "“Quoted” — dashed", "It’s 5 €")),
        ("encoding-iso-8859-15.xml", "ISO-8859-15", "iso8859-15", b"",
         ("ISO-8859-15: €uro", "€ is 0xA4 here",
          "Œuvre de Šárka: 10 €", "Ž and ž")),
        ("encoding-windows-1252.xml", "windows-1252", "cp1252", b"",
         ("windows-1252: “smart” quotes", "‘Single’ quotes — em dash",
          "“Smart quotes” — and ‘single’ ones", "Price: 5 € … or less")),
        ("encoding-windows-1251.xml", "windows-1251", "cp1251", b"",
         ("Новости дня", "Кириллица в windows-1251",
          "Привет, мир", "Съешь же ещё этих мягких французских булок")),
        ("encoding-koi8-r.xml", "KOI8-R", "koi8-r", b"",
         ("Новости KOI8-R", "Кодировка КОИ-8",
          "Ёлка и ёж", "Съешь же ещё этих мягких французских булок")),
        ("encoding-shift-jis.xml", "Shift_JIS", "shift_jis", b"",
         ("ニュース速報", "シフトJISの文書",
          "日本語のテキスト", "東京都の天気は晴れ")),
        ("encoding-gb2312.xml", "GB2312", "gb2312", b"",
         ("新闻中心", "简体中文的文档",
          "中文测试", "北京今天天气晴朗")),
        ("encoding-gbk.xml", "GBK", "gbk", b"",
         ("GBK 新闻", "GBK 多于 GB2312 的汉字",
          "朱镕基", "镕 is in GBK but not in GB2312")),
        # Real GB2312 feeds use GBK characters; browsers read the gb2312 label as GBK.
        ("encoding-gb2312-label-with-gbk-characters.xml", "GB2312", "gbk", b"",
         ("GB2312 label, GBK bytes", "标签说 GB2312",
          "朱镕基", "镕 needs GBK")),
        # RFC 7303: the charset of the Content-Type (see the .content-type sidecar) wins over
        # the declaration.
        ("encoding-content-type-charset-wins.xml", "ISO-8859-1", "cp1251", b"",
         ("Content-Type charset wins", "Объявлено ISO-8859-1, на деле windows-1251",
          "Привет, мир", "Заголовок HTTP важнее")),
        # No encoding in the declaration: only the Content-Type sidecar (or a real HTTP
        # header, in tests/cli/parse_cli_test.py) says windows-1251.
        ("encoding-windows-1251-charset-from-content-type.xml", "", "cp1251", b"",
         ("Кодировка из заголовка", "Без объявления кодировки",
          "Привет, мир", "Съешь же ещё этих мягких французских булок")),
        # Valid UTF-8 under a wrong single-byte declaration is read as UTF-8.
        ("encoding-utf-8-declared-iso-8859-1.xml", "ISO-8859-1", "utf-8", b"",
         ("UTF-8 bytes, ISO-8859-1 label", "café – naïve",
          "Größe “quoted”", "Ελληνικά")),
        # A UTF-16 declaration on bytes that are not UTF-16 (seen in the wild).
        ("encoding-declared-utf-16-but-utf-8.xml", "UTF-16", "utf-8", b"",
         ("UTF-16 label, UTF-8 bytes", "café",
          "naïve résumé", "Größe")),
        # No declaration at all and bytes that are not UTF-8: read as windows-1252.
        ("encoding-undeclared-latin-1.xml", None, "cp1252", b"",
         ("Notícias de São Paulo", "Sem declaração",
          "Olá — “ação”", "Coração")),
    ]
    for name, label, codec, bom, texts in cases:
        write("rss2.0", name, bom + rss(label, *texts).encode(codec))

    # Declared UTF-8 with one invalid byte: it becomes U+FFFD (with a warning).
    text = rss("UTF-8", "Invalid UTF-8", "One byte is not UTF-8", "Bad @@ byte", "The rest is fine")
    write("rss2.0", "encoding-invalid-utf-8.xml", text.encode("utf-8").replace(b"@@", b"\xff"))


def broken_fixtures():
    # A BOM, then blank lines, then the XML declaration.
    text = "\n\n" + rss("UTF-8", "BOM and newlines before the declaration", "Recovered",
                         "Item", "Text")
    write("rss2.0", "bom-and-newlines-before-declaration.xml", codecs.BOM_UTF8 + text.encode())

    # C0 control characters that XML 1.0 forbids, one per line: BEL, NUL, FF.
    text = rss("UTF-8", "Bell\x07 rings", "Stray control characters",
               "Null\x00 byte", "Form\x0cfeed")
    write("rss2.0", "control-characters.xml", text.encode())


def nesting_fixtures():
    # rss (1) > channel (2) > item (3) > x (4..): one element per line, so that the element
    # that crosses the limit sits at column 1 of a known line.
    def nested(levels_of_x):
        lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<rss version="2.0">', "<channel>",
                 "<item>"]
        lines += ["<x>"] * levels_of_x
        lines += ["</x>"] * levels_of_x
        lines += ["<title>Deep item</title>", "<link>https://example.com/deep</link>",
                  "</item>", "<title>Nesting</title>", "<link>https://example.com/</link>",
                  "</channel>", "</rss>", ""]
        return "\n".join(lines).encode()

    # Depth 256 exactly is allowed: 3 + 253.
    write("rss2.0", "nesting-256-levels.xml", nested(253))
    # Depth 257 is refused: the 254th <x> is on line 4 + 254 = 258.
    write("refused", "too-deep.xml", nested(300))


def refused_fixtures():
    write("refused", "empty.xml", b"")


if __name__ == "__main__":
    encoding_fixtures()
    broken_fixtures()
    nesting_fixtures()
    refused_fixtures()
