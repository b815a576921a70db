#include "feedmerge/normalize/encoding.h"

#include <unicode/ucnv.h>

#include <fstream>
#include <iterator>
#include <string>

#include <doctest/doctest.h>

namespace {

using feedmerge::Warning;
using feedmerge::normalize::charset_from_content_type;
using feedmerge::normalize::decode_json;
using feedmerge::normalize::decode_xml;
using feedmerge::normalize::DecodedText;
using feedmerge::normalize::make_valid_utf8;

// Real bytes in `charset`, made by ICU from UTF-8 text (no BOM: ICU's UTF-16LE/BE and
// UTF-32LE/BE converters write none).
std::string encode(const char* charset, std::string_view utf8) {
  std::string out(utf8.size() * 4 + 16, '\0');
  UErrorCode status = U_ZERO_ERROR;
  const int32_t n = ucnv_convert(charset, "UTF-8", out.data(), static_cast<int32_t>(out.size()),
                                 utf8.data(), static_cast<int32_t>(utf8.size()), &status);
  REQUIRE_MESSAGE(U_SUCCESS(status), u_errorName(status));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string rss(std::string_view declaration, std::string_view title) {
  std::string doc;
  if (!declaration.empty())
    doc += "<?xml version=\"1.0\" encoding=\"" + std::string(declaration) + "\"?>\n";
  doc +=
      "<rss version=\"2.0\"><channel><title>" + std::string(title) + "</title></channel></rss>\n";
  return doc;
}

// The same document with its declaration and markup encoded along with the text.
std::string rss_in(const char* charset, std::string_view declaration, std::string_view title) {
  return encode(charset, rss(declaration, title));
}

bool has_warning(const DecodedText& d, std::string_view needle) {
  for (const Warning& w : d.warnings)
    if (w.message.find(needle) != std::string::npos) return true;
  return false;
}

std::string warnings_of(const DecodedText& d) {
  std::string out;
  for (const Warning& w : d.warnings)
    out += to_string(w) + "\n";
  return out;
}

std::string read_corpus(const char* name) {
  const std::string path = std::string(FEEDMERGE_TEST_DATA) + "/corpus/real/" + name;
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot open " << path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

bool contains(std::string_view hay, std::string_view needle) {
  return hay.find(needle) != std::string_view::npos;
}

}  // namespace

TEST_CASE("charset is read from a Content-Type value") {
  CHECK(charset_from_content_type("application/rss+xml; charset=UTF-8") == "utf-8");
  CHECK(charset_from_content_type("text/xml;charset=\"ISO-8859-1\"") == "iso-8859-1");
  CHECK(charset_from_content_type("text/xml; Charset = windows-1251 ") == "windows-1251");
  CHECK(charset_from_content_type("text/xml; q=\"a;b\"; charset=koi8-r") == "koi8-r");
  CHECK(charset_from_content_type("text/xml; boundary=x; charset=gbk; format=flowed") == "gbk");
  CHECK(charset_from_content_type("text/xml") == "");
  CHECK(charset_from_content_type("") == "");
  CHECK(charset_from_content_type("text/xml; charset") == "");
}

TEST_CASE("make_valid_utf8 replaces each invalid sequence with one U+FFFD") {
  std::size_t replaced = 99;
  CHECK(make_valid_utf8("plain ascii \xC3\xA9t\xC3\xA9", &replaced) ==
        "plain ascii \xC3\xA9t\xC3\xA9");
  CHECK(replaced == 0);

  SUBCASE("a stray byte") {
    CHECK(make_valid_utf8("a\xFF"
                          "b",
                          &replaced) ==
          "a\xEF\xBF\xBD"
          "b");
    CHECK(replaced == 1);
  }
  SUBCASE("a truncated sequence counts once (maximal subpart)") {
    CHECK(make_valid_utf8("a\xE2\x82z", &replaced) == "a\xEF\xBF\xBDz");
    CHECK(replaced == 1);
  }
  SUBCASE("a truncated sequence at the very end") {
    CHECK(make_valid_utf8("end\xF0\x9F\x98", &replaced) == "end\xEF\xBF\xBD");
    CHECK(replaced == 1);
  }
  SUBCASE("overlong encodings and surrogates are invalid") {
    CHECK(make_valid_utf8("\xC0\xAF", &replaced) == "\xEF\xBF\xBD\xEF\xBF\xBD");
    CHECK(replaced == 2);
    CHECK(make_valid_utf8("\xED\xA0\x80", &replaced) == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    CHECK(replaced == 3);
  }
  SUBCASE("long ASCII runs around a bad byte") {
    const std::string run(100, 'x');
    CHECK(make_valid_utf8(run + "\x80" + run, &replaced) == run + "\xEF\xBF\xBD" + run);
    CHECK(replaced == 1);
  }
}

TEST_CASE("valid UTF-8 without BOM is copied as it is") {
  const std::string doc = rss("utf-8", "Caf\xC3\xA9 \xE2\x80\x94 \xF0\x9F\x98\x80");
  DecodedText d = decode_xml(doc, "");
  CHECK(d.utf8 == doc);
  CHECK(d.encoding == "utf-8");
  CHECK(d.warnings.empty());
}

TEST_CASE("undeclared valid UTF-8 is UTF-8") {
  const std::string doc = rss("", "\xD0\x9F\xD1\x80\xD0\xB8");
  DecodedText d = decode_xml(doc, "");
  CHECK(d.utf8 == doc);
  CHECK(d.encoding == "utf-8");
  CHECK(d.warnings.empty());
}

TEST_CASE("a UTF-8 byte order mark is removed") {
  const std::string doc = rss("utf-8", "Caf\xC3\xA9");
  DecodedText d = decode_xml("\xEF\xBB\xBF" + doc, "");
  CHECK(d.utf8 == doc);
  CHECK(d.encoding == "utf-8");
  CHECK(d.warnings.empty());
}

TEST_CASE("a byte order mark wins over Content-Type and declaration") {
  const std::string doc = rss("iso-8859-1", "Caf\xC3\xA9");
  DecodedText d = decode_xml("\xEF\xBB\xBF" + doc, "application/xml; charset=windows-1251");
  CHECK(d.utf8 == doc);
  CHECK(d.encoding == "utf-8");
  CHECK(has_warning(d, "overruled by the utf-8 byte order mark"));
}

TEST_CASE("UTF-16 and UTF-32 with a byte order mark") {
  const std::string title = "\xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80 caf\xC3\xA9";
  struct Case {
    const char* charset;
    const char* bom;
    std::size_t bom_size;
    const char* name;
    const char* declared;
  };
  const Case cases[] = {
      {"UTF-16LE", "\xFF\xFE", 2, "utf-16le", "UTF-16"},
      {"UTF-16BE", "\xFE\xFF", 2, "utf-16be", "utf-16"},
      {"UTF-32LE", "\xFF\xFE\0\0", 4, "utf-32le", "UTF-32"},
      {"UTF-32BE", "\0\0\xFE\xFF", 4, "utf-32be", "ucs-4"},
  };
  for (const Case& c : cases) {
    CAPTURE(std::string(c.charset));
    const std::string doc = rss(c.declared, title);
    DecodedText d = decode_xml(std::string(c.bom, c.bom_size) + encode(c.charset, doc), "");
    CHECK(d.utf8 == doc);
    CHECK(d.encoding == c.name);
    CHECK_MESSAGE(d.warnings.empty(), warnings_of(d));
  }
}

TEST_CASE("UTF-16 without a byte order mark is recognised from its zero bytes") {
  const std::string doc = rss("UTF-16", "\xCE\xB1\xCE\xB2\xCE\xB3");
  SUBCASE("little endian") {
    DecodedText d = decode_xml(encode("UTF-16LE", doc), "");
    CHECK(d.utf8 == doc);
    CHECK(d.encoding == "utf-16le");
  }
  SUBCASE("big endian") {
    DecodedText d = decode_xml(encode("UTF-16BE", doc), "");
    CHECK(d.utf8 == doc);
    CHECK(d.encoding == "utf-16be");
  }
  SUBCASE("even with leading white space and no declaration") {
    const std::string bare = "\n\n" + rss("", "x");
    DecodedText d = decode_xml(encode("UTF-16LE", bare), "");
    CHECK(d.utf8 == bare);
  }
  SUBCASE("even when Content-Type names a single-byte charset") {
    DecodedText d = decode_xml(encode("UTF-16BE", doc), "text/xml; charset=iso-8859-1");
    CHECK(d.utf8 == doc);
    CHECK(has_warning(d, "overruled"));
  }
}

TEST_CASE("ISO-8859-1 is read as windows-1252") {
  // 0xE9 is e-acute in both; 0x93/0x94 are C1 controls in ISO-8859-1 but curly quotes in
  // windows-1252, which is what such feeds mean.
  const std::string doc = rss("ISO-8859-1", "caf\xE9 \x93quoted\x94");
  DecodedText d = decode_xml(doc, "");
  CHECK(d.utf8 == rss("ISO-8859-1", "caf\xC3\xA9 \xE2\x80\x9Cquoted\xE2\x80\x9D"));
  CHECK(d.encoding == "windows-1252");
  CHECK(d.warnings.empty());
}

TEST_CASE("us-ascii and latin1 labels are windows-1252 too") {
  CHECK(decode_xml(rss("us-ascii", "\xE9"), "").encoding == "windows-1252");
  CHECK(decode_xml(rss("latin1", "\xE9"), "").utf8 == rss("latin1", "\xC3\xA9"));
}

TEST_CASE("windows-1252 smart quotes become U+2018/U+2019") {
  DecodedText d = decode_xml(rss("windows-1252",
                                 "it\x92s \x91"
                                 "quoted\x92 \x80"
                                 "5"),
                             "");
  CHECK(d.utf8 == rss("windows-1252",
                      "it\xE2\x80\x99s \xE2\x80\x98quoted\xE2\x80\x99 \xE2\x82\xAC"
                      "5"));
  CHECK(d.encoding == "windows-1252");
}

TEST_CASE("ISO-8859-15 has the euro sign at 0xA4") {
  DecodedText d = decode_xml(rss("iso-8859-15", "5 \xA4"), "");
  CHECK(d.utf8 == rss("iso-8859-15", "5 \xE2\x82\xAC"));
  CHECK(d.encoding == "iso-8859-15");
}

TEST_CASE("legacy encodings are converted to UTF-8") {
  struct Case {
    const char* label;  // as written in the declaration
    const char* icu;    // what the test encodes with
    const char* text;   // UTF-8
    const char* name;   // DecodedText::encoding
  };
  const Case cases[] = {
      {"windows-1251", "windows-1251", "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82",
       "windows-1251"},
      {"KOI8-R", "KOI8-R", "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82", "koi8-r"},
      {"Shift_JIS", "Shift_JIS",
       "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x81\xAE\xE3\x83\x8B\xE3\x83\xA5\xE3\x83\xBC\xE3"
       "\x82\xB9",
       "shift_jis"},
      {"EUC-JP", "EUC-JP", "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E", "euc-jp"},
      {"EUC-KR", "EUC-KR", "\xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4", "euc-kr"},
      {"Big5", "Big5", "\xE4\xB8\xAD\xE6\x96\x87\xE6\x96\xB0\xE8\x81\x9E", "big5"},
      {"gb18030", "gb18030", "\xE4\xB8\xAD\xE6\x96\x87 \xF0\xA0\x80\x80", "gb18030"},
      {"GBK", "GBK", "\xE4\xB8\xAD\xE6\x96\x87", "gb18030"},
  };
  for (const Case& c : cases) {
    CAPTURE(std::string(c.label));
    DecodedText d = decode_xml(rss_in(c.icu, c.label, c.text), "");
    CHECK(d.utf8 == rss(c.label, c.text));
    CHECK(d.encoding == c.name);
    CHECK_MESSAGE(d.warnings.empty(), warnings_of(d));
  }
}

TEST_CASE("GB2312 is read as GB18030, so GBK-only characters survive") {
  // U+5586 (喆) is in GBK but not in GB2312; Chinese feeds labelled gb2312 contain such.
  const std::string text = "\xE4\xB8\xAD\xE5\x96\x86";
  DecodedText d = decode_xml(rss_in("GBK", "gb2312", text), "");
  CHECK(d.utf8 == rss("gb2312", text));
  CHECK(d.encoding == "gb18030");
  CHECK(d.warnings.empty());
}

TEST_CASE("the charset of an XML media type wins over the XML declaration") {
  const std::string text = "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82";
  const std::string bytes = rss_in("windows-1251", "iso-8859-1", text);
  DecodedText d = decode_xml(bytes, "application/rss+xml; charset=windows-1251");
  CHECK(d.utf8 == rss("iso-8859-1", text));
  CHECK(d.encoding == "windows-1251");
  CHECK(has_warning(d,
                    "encoding 'iso-8859-1' in the XML declaration overruled by charset "
                    "'windows-1251' in Content-Type"));

  SUBCASE("text/xml with a charset binds too") {
    CHECK(decode_xml(bytes, "text/xml;charset=\"windows-1251\"").encoding == "windows-1251");
  }
}

TEST_CASE("text/xml without charset follows the XML declaration") {
  const std::string text = "\xD0\x9F\xD1\x80\xD0\xB8";
  DecodedText d = decode_xml(rss_in("KOI8-R", "koi8-r", text), "text/xml");
  CHECK(d.utf8 == rss("koi8-r", text));
  CHECK(d.encoding == "koi8-r");
}

TEST_CASE("the charset of a non-XML media type does not override the declaration") {
  const std::string text = "\xD0\x9F\xD1\x80\xD0\xB8";
  DecodedText d =
      decode_xml(rss_in("windows-1251", "windows-1251", text), "text/html; charset=iso-8859-1");
  CHECK(d.utf8 == rss("windows-1251", text));
  CHECK(d.warnings.empty());
}

TEST_CASE("a non-XML charset is a hint for undeclared bytes that are not UTF-8") {
  const std::string text = "\xD0\x9F\xD1\x80\xD0\xB8";
  DecodedText d = decode_xml(rss_in("windows-1251", "", text), "text/html; charset=windows-1251");
  CHECK(d.utf8 == rss("", text));
  CHECK(d.encoding == "windows-1251");
}

TEST_CASE("valid UTF-8 under a legacy declaration is read as UTF-8") {
  const std::string doc = rss("ISO-8859-1", "caf\xC3\xA9");
  DecodedText d = decode_xml(doc, "");
  CHECK(d.utf8 == doc);
  CHECK(d.encoding == "utf-8");
  CHECK(has_warning(d, "encoding 'ISO-8859-1' in the XML declaration but the bytes are UTF-8"));

  SUBCASE("also when the single-byte charset comes from Content-Type") {
    DecodedText e = decode_xml(doc, "application/rss+xml; charset=iso-8859-1");
    CHECK(e.utf8 == doc);
    CHECK(e.encoding == "utf-8");
  }
  SUBCASE("a stale Content-Type charset over a UTF-8 declaration gives one warning") {
    DecodedText e =
        decode_xml(rss("utf-8", "caf\xC3\xA9"), "application/xml; charset=windows-1252");
    CHECK(e.utf8 == rss("utf-8", "caf\xC3\xA9"));
    CHECK(e.encoding == "utf-8");
    CHECK(e.warnings.size() == 1);
  }
  SUBCASE("a multi-byte legacy label too") {
    DecodedText e = decode_xml(rss("gb2312", "\xE4\xB8\xAD\xE6\x96\x87"), "");
    CHECK(e.encoding == "utf-8");
    CHECK(e.utf8 == rss("gb2312", "\xE4\xB8\xAD\xE6\x96\x87"));
  }
  SUBCASE("pure ASCII under a single-byte declaration is silent") {
    DecodedText e = decode_xml(rss("ISO-8859-1", "cafe"), "");
    CHECK(e.warnings.empty());
  }
}

TEST_CASE("Content-Type utf-8 on bytes that are not UTF-8 yields to the declaration") {
  // A server-wide charset=utf-8 over a Latin-1 feed.
  DecodedText d = decode_xml(rss("iso-8859-1", "caf\xE9"), "application/xml; charset=utf-8");
  CHECK(d.utf8 == rss("iso-8859-1", "caf\xC3\xA9"));
  CHECK(d.encoding == "windows-1252");
  CHECK(has_warning(d, "the bytes are not UTF-8"));
}

TEST_CASE("a declared UTF-16 document whose bytes are ASCII-compatible is read as UTF-8") {
  const std::string doc = rss("utf-16", "caf\xC3\xA9");
  DecodedText d = decode_xml(doc, "");
  CHECK(d.utf8 == doc);
  CHECK(d.encoding == "utf-8");
  CHECK(has_warning(d, "encoding 'utf-16' in the XML declaration but the bytes are not utf-16"));

  SUBCASE("the real feed") {
    const std::string bytes = read_corpus("eliot-jones-mislabeled-utf16.rss");
    DecodedText e = decode_xml(bytes, "");
    CHECK(e.encoding == "utf-8");
    CHECK(e.utf8 == bytes);
    CHECK(e.warnings.size() == 1);
  }
  SUBCASE("and as windows-1252 when the bytes are not UTF-8 either") {
    DecodedText e = decode_xml(rss("utf-16", "caf\xE9"), "");
    CHECK(e.utf8 == rss("utf-16", "caf\xC3\xA9"));
    CHECK(e.encoding == "windows-1252");
  }
}

TEST_CASE("undeclared bytes that are not UTF-8 are windows-1252") {
  DecodedText d = decode_xml(rss("",
                                 "\xDAltimas Not\xED"
                                 "cias \x96 hoje"),
                             "");
  CHECK(d.utf8 == rss("",
                      "\xC3\x9Altimas Not\xC3\xAD"
                      "cias \xE2\x80\x93 hoje"));
  CHECK(d.encoding == "windows-1252");
  CHECK(has_warning(d, "no encoding declared and the bytes are not UTF-8; read as windows-1252"));

  SUBCASE("the real feed") {
    DecodedText e = decode_xml(read_corpus("uol-noticias-undeclared-latin1.rss"), "");
    CHECK(e.encoding == "windows-1252");
    CHECK(contains(e.utf8,
                   "<description>\xC3\x9Altimas Not\xC3\xAD"
                   "cias</description>"));
  }
}

TEST_CASE("undeclared UTF-8 with one bad byte stays UTF-8") {
  // Reading it as windows-1252 would garble every correct character to save one.
  const std::string good = "\xC3\xA9t\xC3\xA9 \xE2\x80\x94 na\xC3\xAFve";
  DecodedText d = decode_xml(rss("", good + " \xFF"), "");
  CHECK(d.utf8 == rss("", good + " \xEF\xBF\xBD"));
  CHECK(d.encoding == "utf-8");
  CHECK(has_warning(d, "1 invalid byte sequence in utf-8 replaced with U+FFFD"));
}

TEST_CASE("invalid UTF-8 becomes U+FFFD with one warning naming the first line") {
  std::string doc = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss>\n<channel>\n";
  doc += "<title>a</title>\n<link>x</link>\n<description>\n";
  doc += "bad \xFF here\n";                                    // line 7
  doc += "truncated \xE2\x82 and \xC0 too\n</description>\n";  // line 8
  doc += "</channel></rss>\n";
  DecodedText d = decode_xml(doc, "");
  REQUIRE(d.warnings.size() == 1);
  CHECK(to_string(d.warnings[0]) ==
        "line 7: 3 invalid byte sequences in utf-8 replaced with U+FFFD");
  CHECK(d.encoding == "utf-8");
  CHECK(contains(d.utf8, "bad \xEF\xBF\xBD here\ntruncated \xEF\xBF\xBD and \xEF\xBF\xBD too\n"));
  CHECK(d.utf8.size() == doc.size() + 2 + 1 + 2);  // nothing lost, nothing cut
}

TEST_CASE("invalid sequences in a legacy multi-byte encoding become U+FFFD with the line") {
  // 0x81 0x20 is a Shift_JIS lead byte followed by a byte that cannot trail it.
  std::string doc = encode("Shift_JIS", rss("Shift_JIS", "\xE6\x97\xA5\xE6\x9C\xAC"));
  doc += "\n\n<!-- \x81 -->\n";  // three lines after the two of the document
  DecodedText d = decode_xml(doc, "");
  CHECK(d.encoding == "shift_jis");
  REQUIRE(d.warnings.size() == 1);
  CHECK(to_string(d.warnings[0]) ==
        "line 5: 1 invalid byte sequence in shift_jis replaced with U+FFFD");
  CHECK(contains(d.utf8, "\xE6\x97\xA5\xE6\x9C\xAC"));
  CHECK(contains(d.utf8, "<!-- \xEF\xBF\xBD"));
}

TEST_CASE("invalid UTF-16 becomes U+FFFD") {
  // An unpaired high surrogate.
  std::string bytes = std::string("\xFF\xFE", 2) + encode("UTF-16LE", "<a>x");
  bytes += std::string("\x00\xD8", 2) + encode("UTF-16LE", "y</a>");
  DecodedText d = decode_xml(bytes, "");
  CHECK(d.utf8 == "<a>x\xEF\xBF\xBDy</a>");
  REQUIRE(d.warnings.size() == 1);
  CHECK(d.warnings[0].line == 1);
}

TEST_CASE("an unknown encoding name falls back with a warning") {
  SUBCASE("to UTF-8 when the bytes are UTF-8") {
    DecodedText d = decode_xml(rss("x-made-up", "caf\xC3\xA9"), "");
    CHECK(d.utf8 == rss("x-made-up", "caf\xC3\xA9"));
    CHECK(d.encoding == "utf-8");
    REQUIRE(d.warnings.size() == 1);
    CHECK(to_string(d.warnings[0]) ==
          "line 1: unknown encoding 'x-made-up' in the XML declaration; read as utf-8");
  }
  SUBCASE("to windows-1252 when they are not") {
    DecodedText d = decode_xml(rss("x-made-up", "caf\xE9"), "");
    CHECK(d.utf8 == rss("x-made-up", "caf\xC3\xA9"));
    CHECK(d.encoding == "windows-1252");
    REQUIRE(d.warnings.size() == 1);
    CHECK(contains(d.warnings[0].message, "read as windows-1252"));
  }
  SUBCASE("an unknown Content-Type charset too") {
    DecodedText d = decode_xml(rss("", "caf\xC3\xA9"), "application/atom+xml; charset=bogus");
    CHECK(d.encoding == "utf-8");
    CHECK(has_warning(d, "unknown charset 'bogus' in Content-Type"));
  }
}

TEST_CASE("an empty document decodes to nothing") {
  DecodedText d = decode_xml("", "");
  CHECK(d.utf8.empty());
  CHECK(d.warnings.empty());
  CHECK(decode_xml("\xEF\xBB\xBF", "").utf8.empty());
  CHECK(decode_xml("\xFF\xFE", "").utf8.empty());
}

TEST_CASE("output never starts with a byte order mark, even a doubled one") {
  const std::string doc = rss("utf-16", "x");
  for (const char* charset : {"UTF-8", "UTF-16LE", "UTF-16BE", "UTF-32LE", "UTF-32BE"}) {
    CAPTURE(std::string(charset));
    // ICU writes no BOM for these names, so both BOMs here are U+FEFF characters we added.
    DecodedText d = decode_xml(encode(charset, "\xEF\xBB\xBF\xEF\xBB\xBF" + doc), "");
    CHECK(d.utf8 == doc);
  }
  CHECK(decode_json("\xEF\xBB\xBF\xEF\xBB\xBF{}", "").utf8 == "{}");
}

TEST_CASE("JSON is UTF-8 by default, whatever a charset says") {
  const std::string json = "{\"title\":\"caf\xC3\xA9\"}";
  DecodedText d = decode_json(json, "application/json; charset=iso-8859-1");
  CHECK(d.utf8 == json);
  CHECK(d.encoding == "utf-8");
  CHECK(d.warnings.empty());
}

TEST_CASE("JSON with a BOM or in UTF-16 is converted") {
  const std::string json = "{\"title\":\"\xE6\x97\xA5\"}";
  CHECK(decode_json("\xEF\xBB\xBF" + json, "").utf8 == json);
  CHECK(decode_json("\xFF\xFE" + encode("UTF-16LE", json), "").utf8 == json);
  CHECK(decode_json(encode("UTF-16BE", json), "").utf8 == json);
  CHECK(decode_json(encode("UTF-16LE", json), "").encoding == "utf-16le");
}

TEST_CASE("JSON that is not UTF-8 uses the Content-Type charset, else windows-1252") {
  const std::string text = "\xD0\x9F\xD1\x80\xD0\xB8";
  const std::string json = "{\"title\":\"" + text + "\"}";
  DecodedText d =
      decode_json(encode("windows-1251", json), "application/json; charset=windows-1251");
  CHECK(d.utf8 == json);
  CHECK(d.encoding == "windows-1251");

  DecodedText e = decode_json("{\"title\":\"caf\xE9\"}", "application/json");
  CHECK(e.utf8 == "{\"title\":\"caf\xC3\xA9\"}");
  CHECK(e.encoding == "windows-1252");
  CHECK(has_warning(e, "read as windows-1252"));
}

TEST_CASE("decoding never truncates: a long document with bad bytes keeps its length") {
  std::string doc = "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss>";
  for (int i = 0; i < 10000; ++i)
    doc += "<p>caf\xC3\xA9 \x80</p>\n";
  doc += "</rss>";
  DecodedText d = decode_xml(doc, "");
  CHECK(d.utf8.size() == doc.size() + 10000 * 2);
  CHECK(d.utf8.ends_with("</rss>"));
  REQUIRE(d.warnings.size() == 1);
  CHECK(d.warnings[0].message == "10000 invalid byte sequences in utf-8 replaced with U+FFFD");
}
