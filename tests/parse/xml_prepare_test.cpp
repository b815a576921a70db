#include "parse/xml_prepare.h"

#include <algorithm>
#include <string>

#include <doctest/doctest.h>
#include <pugixml.hpp>

namespace {

using feedmerge::ErrorKind;
using feedmerge::Warning;
using feedmerge::parse::prepare_xml;
using feedmerge::parse::PreparedXml;

PreparedXml prepare_ok(std::string_view xml, int max_depth = 256) {
  auto r = prepare_xml(xml, max_depth);
  REQUIRE_MESSAGE(r.has_value(), (r ? std::string() : r.error().message));
  return std::move(*r);
}

std::string warnings_of(const PreparedXml& p) {
  std::string out;
  for (const Warning& w : p.warnings)
    out += to_string(w) + "\n";
  return out;
}

bool contains(std::string_view hay, std::string_view needle) {
  return hay.find(needle) != std::string_view::npos;
}

std::ptrdiff_t newlines(std::string_view s) {
  return std::count(s.begin(), s.end(), '\n');
}

// pugixml must load what prepare_xml produced, with the options the feed parser uses.
pugi::xml_document load(const PreparedXml& p) {
  pugi::xml_document doc;
  pugi::xml_parse_result r =
      doc.load_buffer(p.text.data(), p.text.size(), pugi::parse_default, pugi::encoding_utf8);
  CHECK_MESSAGE(r, r.description() << " at offset " << r.offset << " in:\n" << p.text);
  return doc;
}

}  // namespace

TEST_CASE("white space, a BOM and blank lines before the XML declaration are dropped") {
  PreparedXml p = prepare_ok("\xEF\xBB\xBF\n\r\n  <?xml version=\"1.0\"?>\n<rss/>\n");
  CHECK(p.text == "<?xml version=\"1.0\"?>\n<rss/>\n");
  CHECK(p.lines_removed_before_root == 2);
  CHECK(warnings_of(p) == "line 1: white space before the XML declaration removed\n");
}

TEST_CASE("a document that starts at its declaration gets no warning") {
  PreparedXml p = prepare_ok("<?xml version=\"1.0\"?>\n<rss/>\n");
  CHECK(p.warnings.empty());
}

TEST_CASE("without a declaration the document starts at the root element") {
  PreparedXml p = prepare_ok("\n\n\n<rss version=\"2.0\"/>");
  CHECK(p.text == "<rss version=\"2.0\"/>");
  CHECK(p.lines_removed_before_root == 3);
}

TEST_CASE("junk a server printed before the XML declaration is dropped") {
  PreparedXml p = prepare_ok(
      "<br />\n<b>Warning</b>:  Undefined index in /var/www/feed.php on line 3<br />\n"
      "<?xml version=\"1.0\"?>\n<rss><channel/></rss>");
  CHECK(p.text.starts_with("<?xml version=\"1.0\"?>\n<rss>"));
  CHECK(p.lines_removed_before_root == 2);
}

TEST_CASE("\"<?xml\" inside CDATA of a document without declaration is not a start") {
  const std::string doc = "<rss><d><![CDATA[Write <?xml version=\"1.0\"?> first]]></d></rss>";
  CHECK(prepare_ok(doc).text == doc);
}

TEST_CASE("input without any markup prepares to nothing") {
  PreparedXml p = prepare_ok("\n just text \n");
  CHECK(p.text.empty());
  CHECK(p.lines_removed_before_root == 2);
  CHECK(prepare_ok("").text.empty());
}

TEST_CASE("a DOCTYPE is removed but its newlines are kept") {
  const std::string doc =
      "<?xml version=\"1.0\"?>\n"
      "<!DOCTYPE rss PUBLIC \"-//Netscape Communications//DTD RSS 0.91//EN\"\n"
      "  \"http://my.netscape.com/publish/formats/rss-0.91.dtd\">\n"
      "<rss version=\"0.91\"/>";
  PreparedXml p = prepare_ok(doc);
  CHECK(p.text == "<?xml version=\"1.0\"?>\n\n\n<rss version=\"0.91\"/>");
  CHECK(p.warnings.empty());
}

TEST_CASE("billion laughs: the internal subset is dropped and nothing expands") {
  const std::string doc = R"(<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ELEMENT lolz (#PCDATA)>
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!-- a comment with ] and > and a quote ' inside -->
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>)";
  PreparedXml p = prepare_ok(doc);
  CHECK(p.text == "<?xml version=\"1.0\"?>\n\n\n\n\n\n\n\n\n<lolz>&amp;lol9;</lolz>");
  CHECK(newlines(p.text) == newlines(doc));
  CHECK(warnings_of(p) ==
        "line 2: DOCTYPE internal subset ignored: its entities are not expanded\n"
        "line 10: undefined entity '&lol9;' kept as text\n");
  pugi::xml_document xml = load(p);
  CHECK(std::string(xml.child("lolz").text().get()) == "&lol9;");
}

TEST_CASE("XXE: an external entity is never resolved") {
  const std::string doc =
      "<?xml version=\"1.0\"?>\n"
      "<!DOCTYPE foo [ <!ENTITY xxe SYSTEM \"file:///etc/passwd\"> ]>\n"
      "<foo>&xxe;</foo>";
  PreparedXml p = prepare_ok(doc);
  CHECK(p.text == "<?xml version=\"1.0\"?>\n\n<foo>&amp;xxe;</foo>");
  pugi::xml_document xml = load(p);
  CHECK(std::string(xml.child("foo").text().get()) == "&xxe;");
}

TEST_CASE("a lower-case doctype and other stray declarations are removed too") {
  PreparedXml p = prepare_ok("<!doctype html>\n<rss><!ENTITY x \"y\"></rss>");
  CHECK(p.text == "\n<rss></rss>");
  CHECK(warnings_of(p) == "line 2: markup declaration '<!ENTITY' removed\n");
}

TEST_CASE("HTML named references become numeric references") {
  SUBCASE("in text") {
    PreparedXml p = prepare_ok("<t>a&nbsp;b &eacute;t&eacute; &hellip;</t>");
    CHECK(p.text == "<t>a&#160;b &#233;t&#233; &#8230;</t>");
    CHECK(p.warnings.empty());
    CHECK(std::string(load(p).child("t").text().get()) ==
          "a\xC2\xA0"
          "b \xC3\xA9t\xC3\xA9 \xE2\x80\xA6");
  }
  SUBCASE("in an attribute value") {
    PreparedXml p = prepare_ok("<a title=\"x&nbsp;y\" alt='&copy; 2020'/>");
    CHECK(p.text == "<a title=\"x&#160;y\" alt='&#169; 2020'/>");
    pugi::xml_document xml = load(p);
    CHECK(std::string(xml.child("a").attribute("title").value()) == "x\xC2\xA0y");
  }
  SUBCASE("one that expands to two code points") {
    CHECK(prepare_ok("<t>&NotEqualTilde;</t>").text == "<t>&#8770;&#824;</t>");
  }
  SUBCASE("the name is case-sensitive, as in HTML") {
    PreparedXml p = prepare_ok("<t>&Nbsp;</t>");
    CHECK(p.text == "<t>&amp;Nbsp;</t>");
  }
}

TEST_CASE("XML references are kept as they are") {
  const std::string doc = "<t a=\"&quot;&amp;\">&lt;b&gt; &apos; &#233; &#xE9; &#x1F600;</t>";
  PreparedXml p = prepare_ok(doc);
  CHECK(p.text == doc);
  CHECK(p.warnings.empty());
}

TEST_CASE("a bare '&' in a URL query is escaped with one warning") {
  const std::string doc =
      "<rss>\n<link>https://example.com/?a=1&b=2&c=3</link>\n"
      "<enclosure url=\"https://example.com/x.mp3?a=1&copy=2\"/>\n</rss>";
  PreparedXml p = prepare_ok(doc);
  CHECK(p.text ==
        "<rss>\n<link>https://example.com/?a=1&amp;b=2&amp;c=3</link>\n"
        "<enclosure url=\"https://example.com/x.mp3?a=1&amp;copy=2\"/>\n</rss>");
  CHECK(warnings_of(p) == "line 2: unescaped '&' escaped as &amp; (3 times)\n");
  pugi::xml_document xml = load(p);
  CHECK(std::string(xml.child("rss").child("enclosure").attribute("url").value()) ==
        "https://example.com/x.mp3?a=1&copy=2");
}

TEST_CASE("an '&' that starts no complete reference is escaped") {
  CHECK(prepare_ok("<t>AT&T & co</t>").text == "<t>AT&amp;T &amp; co</t>");
  CHECK(prepare_ok("<t>&#;&#x;&#12a;&;&nbsp</t>").text ==
        "<t>&amp;#;&amp;#x;&amp;#12a;&amp;;&amp;nbsp</t>");
}

TEST_CASE("numeric references to characters XML forbids become U+FFFD") {
  PreparedXml p = prepare_ok("<t>\n&#0;&#x1;&#xD800;&#x110000;&#99999999999999;&#xFFFE;ok&#9;</t>");
  CHECK(p.text ==
        "<t>\n"
        "&#xFFFD;&#xFFFD;&#xFFFD;&#xFFFD;&#xFFFD;&#xFFFD;ok&#9;</t>");
  CHECK(warnings_of(p) ==
        "line 2: reference '&#0;' to a character XML forbids replaced with U+FFFD (6 times)\n");
  load(p);
}

TEST_CASE("numeric references in the windows-1252 range mean windows-1252") {
  CHECK(prepare_ok("<t>it&#146;s &#x93;q&#148; &#128;</t>").text ==
        "<t>it&#8217;s &#8220;q&#8221; &#8364;</t>");
}

TEST_CASE("an upper-case X in a hex reference is made lower-case XML") {
  PreparedXml p = prepare_ok("<t>&#X41;</t>");
  CHECK(p.text == "<t>&#65;</t>");
  CHECK(std::string(load(p).child("t").text().get()) == "A");
}

TEST_CASE("characters XML forbids are removed with one warning") {
  const std::string doc =
      "<rss>\n<t>a\x01"
      "b\x0B</t>\n<u x=\"\x1F\">tab\there\r\n\xEF\xBF\xBE\xEF\xBF\xBF\xEF\xBC\x81</u>"
      "<![CDATA[c\x08"
      "d]]></rss>";
  PreparedXml p = prepare_ok(doc);
  CHECK(p.text == "<rss>\n<t>ab</t>\n<u x=\"\">tab\there\r\n\xEF\xBC\x81</u><![CDATA[cd]]></rss>");
  CHECK(warnings_of(p) == "line 2: 6 characters that XML forbids removed (first U+0001)\n");
  load(p);
}

TEST_CASE("a NUL byte is a forbidden character") {
  PreparedXml p = prepare_ok(std::string("<t>a\0b</t>", 10));
  CHECK(p.text == "<t>ab</t>");
  CHECK(warnings_of(p) == "line 1: character U+0000 that XML forbids removed\n");
}

TEST_CASE("CDATA, comments and processing instructions are copied untouched") {
  const std::string doc =
      "<?xml version=\"1.0\"?>\n<?xml-stylesheet href=\"a?b&c\"?>\n"
      "<rss><!-- a & b &nbsp; <c> --><d><![CDATA[AT&T &nbsp; <b>bold</b> & ]]></d></rss>";
  PreparedXml p = prepare_ok(doc);
  CHECK(p.text == doc);
  CHECK(p.warnings.empty());
  CHECK(std::string(load(p).child("rss").child("d").text().get()) == "AT&T &nbsp; <b>bold</b> & ");
}

TEST_CASE("a bare '<' in text is escaped") {
  PreparedXml p = prepare_ok("<t>1 < 2 and 3 <= 4</t>");
  CHECK(p.text == "<t>1 &lt; 2 and 3 &lt;= 4</t>");
  CHECK(warnings_of(p) == "line 1: unescaped '<' escaped as &lt; (2 times)\n");
  load(p);
}

TEST_CASE("'<' and '>' inside a quoted attribute value are not markup") {
  PreparedXml p = prepare_ok("<a title=\"<b>x</b>\" alt='say \"hi\"'><c/></a>", 2);
  CHECK(p.text == "<a title=\"&lt;b>x&lt;/b>\" alt='say \"hi\"'><c/></a>");
  load(p);
}

TEST_CASE("nesting deeper than the limit is refused with line and column") {
  std::string doc = "\n\n<?xml version=\"1.0\"?>\n<rss>\n";  // <rss> at line 4
  for (int i = 0; i < 5; ++i)
    doc += "  <a>";  // depth 6 on line 5
  auto r = prepare_xml(doc, 5);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().kind == ErrorKind::too_deep);
  CHECK(r.error().line == 5);
  CHECK(r.error().column == 4 * 5 + 3);
  CHECK(contains(r.error().message, "5"));
  CHECK(prepare_xml(doc, 6).has_value());
}

TEST_CASE("deep nesting is refused in the scan, before any DOM work") {
  std::string doc;
  for (int i = 0; i < 100000; ++i)
    doc += "<a>";
  auto r = prepare_xml(doc, 256);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().kind == ErrorKind::too_deep);
  CHECK(r.error().line == 1);
  CHECK(r.error().column == 256 * 3 + 1);
}

TEST_CASE("end tags and self-closing tags keep the depth down") {
  std::string doc = "<rss><channel>";
  for (int i = 0; i < 1000; ++i)
    doc += "<item><title>t</title><br/><enclosure url=\"x\" /></item>";
  doc += "</channel></rss>";
  CHECK(prepare_xml(doc, 4).has_value());  // rss > channel > item > title
  CHECK_FALSE(prepare_xml(doc, 3).has_value());
}

TEST_CASE("markup inside comments, CDATA, PIs and attributes does not count as nesting") {
  const std::string doc =
      "<r><!-- <a><a><a> --><![CDATA[<a><a><a>]]><?pi <a><a>?><x y='<a><a>'/></r>";
  CHECK(prepare_xml(doc, 1).has_value());
}

TEST_CASE("truncated input is handled without reading past the end") {
  const char* cases[] = {
      "<rss><!-- unterminated",
      "<rss><![CDATA[ unterminated &",
      "<rss><?pi unterminated",
      "<rss><item title=\"unterminated",
      "<rss><item title='x' ",
      "<rss></item",
      "<!DOCTYPE x [ <!ENTITY a \"",
      "<!DOCTYPE x [ <!-- ",
      "<rss>&am",
      "<rss>&#",
      "<rss>&#x1F",
      "<rss>&",
      "<rss><",
      "<rss></",
      "<rss><!",
      "<rss>\xEF",
      "<rss>\xEF\xBF",
      "<a b='&",
      "<a b=\"&#",
  };
  for (const char* c : cases) {
    CAPTURE(std::string(c));
    auto r = prepare_xml(c, 256);
    REQUIRE(r.has_value());
    CHECK(r->text.size() <= std::string_view(c).size() + 8);
  }
  CHECK(prepare_ok("<rss><!-- unterminated").text == "<rss><!-- unterminated");
  CHECK(prepare_ok("<rss>&am").text == "<rss>&amp;am");
  CHECK(prepare_ok("<rss>\xEF\xBF").text == "<rss>\xEF\xBF");
}

TEST_CASE("every newline is kept, so lines on the output are lines of the input") {
  const std::string doc =
      "\n<?xml version=\"1.0\"?>\n<!DOCTYPE a [\n<!ENTITY b 'c'>\n]>\n<a x='1&\n2'>&b;\n"
      "<!--\n-->\n<![CDATA[\n]]>\x01\n&nbsp;\n</a>\n";
  PreparedXml p = prepare_ok(doc);
  CHECK(p.lines_removed_before_root == 1);
  CHECK(newlines(p.text) + p.lines_removed_before_root == newlines(doc));
  load(p);
}

TEST_CASE("warnings name lines of the original text, junk before the root included") {
  PreparedXml p = prepare_ok("\n\n<rss>\n&bogus;</rss>");
  CHECK(warnings_of(p) ==
        "line 1: white space before the root element removed\n"
        "line 4: undefined entity '&bogus;' kept as text\n");
}

TEST_CASE("nasty real-world shapes load in pugixml after preparation") {
  const char* docs[] = {
      "\n\n<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel>"
      "<title>Tom &amp; Jerry&nbsp;&mdash; AT&T</title>"
      "<link>http://x/?a=1&b=2</link><description>&lt;p&gt;Hi&lt;/p&gt; &raquo;</description>"
      "<item><title>1 < 2</title><enclosure url=\"http://x/a.mp3?u=1&v=2\" length=\"1\"/>"
      "</item></channel></rss>",
      "<?xml version=\"1.0\"?><!DOCTYPE rss SYSTEM \"http://x/rss.dtd\">"
      "<rss><channel><title>caf&eacute; &#146;quoted&#146; \x0B&#1;</title></channel></rss>",
      "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title type=\"html\">&lt;b&gt;"
      "&bogus;</title><entry><content type=\"html\"><![CDATA[<p>A & B</p>]]></content>"
      "</entry></feed>",
  };
  for (const char* d : docs) {
    CAPTURE(std::string(d));
    load(prepare_ok(d));
  }
}

TEST_CASE("pathological input is prepared with bounded growth") {
  // Shapes that would be quadratic with a careless rescan: many '&' with no ';', long
  // would-be entity names, many unterminated '<'. Time is not asserted here (shared, noisy
  // machines): the fuzzers' -timeout and bench/ catch a quadratic scan; this checks the
  // output stays proportional to the input.
  const std::size_t size = 4 << 20;
  for (std::string unit :
       {"&", "&aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "<", "<!-", "&#1"}) {
    CAPTURE(unit);
    std::string doc = "<r>";
    while (doc.size() < size)
      doc += unit;
    auto r = prepare_xml(doc, 256);
    REQUIRE(r.has_value());
    CHECK(r->text.size() <= 6 * doc.size());  // "&" -> "&amp;" is the worst expansion
  }
}
