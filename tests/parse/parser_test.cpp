#include "feedmerge/parse/parser.h"

#include <string>

#include <doctest/doctest.h>

#include "feedmerge/normalize/date.h"

namespace {

using feedmerge::ErrorKind;
using feedmerge::model::FeedFormat;
using feedmerge::parse::parse_feed;
using feedmerge::parse::ParsedFeed;
using feedmerge::parse::ParseInput;

ParsedFeed parse_ok(std::string_view bytes, std::string_view url = {},
                    std::string_view content_type = {}) {
  auto r = parse_feed(ParseInput{bytes, content_type, url});
  REQUIRE_MESSAGE(r.has_value(), (r ? std::string() : r.error().message));
  return std::move(*r);
}

std::string rfc3339(const std::optional<feedmerge::model::Time>& t) {
  return t ? feedmerge::normalize::format_rfc3339(*t) : "null";
}

bool has_warning_containing(const ParsedFeed& p, std::string_view needle) {
  for (const auto& w : p.warnings)
    if (w.message.find(needle) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("Atom bound to an arbitrary prefix is still Atom") {
  auto p = parse_ok(R"(<?xml version="1.0"?>
<a:feed xmlns:a="http://www.w3.org/2005/Atom">
  <a:title>Prefixed</a:title>
  <a:entry><a:id>urn:x:1</a:id><a:title>One</a:title>
    <a:link rel="alternate" href="https://example.com/1"/></a:entry>
</a:feed>)");
  CHECK(p.feed.format == FeedFormat::atom10);
  CHECK(p.feed.title == "Prefixed");
  REQUIRE(p.feed.items.size() == 1);
  CHECK(p.feed.items[0].id == "urn:x:1");
  CHECK(p.feed.items[0].link == "https://example.com/1");
}

TEST_CASE("an element is matched by namespace URI, not by its usual prefix") {
  // Here "dc" is bound to an unrelated namespace and DC is bound to "x".
  auto p = parse_ok(R"(<rss version="2.0" xmlns:dc="urn:not-dublin-core"
      xmlns:x="http://purl.org/dc/elements/1.1/" xmlns:t="http://purl.org/dc/terms/">
  <channel><title>T</title><item><title>I</title>
    <dc:creator>Wrong</dc:creator><x:creator>Right</x:creator>
    <x:date>2020-09-22T14:05:00Z</x:date><t:modified>2020-09-23T10:00:00+02:00</t:modified>
  </item></channel></rss>)");
  REQUIRE(p.feed.items.size() == 1);
  const auto& item = p.feed.items[0];
  CHECK(item.authors == std::vector<std::string>{"Right"});
  CHECK(rfc3339(item.published) == "2020-09-22T14:05:00Z");
  CHECK(rfc3339(item.updated) == "2020-09-23T08:00:00Z");
}

TEST_CASE("atom:link rel=self in an RSS channel is not the site link") {
  auto p = parse_ok(R"(<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>
    <atom:link href="https://example.com/feed" rel="self"/>
    <link>https://example.com/</link><title>T</title></channel></rss>)");
  CHECK(p.feed.link == "https://example.com/");
}

TEST_CASE("xml:base is inherited and chained, for links and for URLs inside content") {
  auto p =
      parse_ok(R"(<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://example.com/blog/">
  <entry xml:base="2020/">
    <id>tag:example.com,2020:1</id><title>T</title>
    <link href="post.html"/>
    <content type="html" xml:base="/media/">&lt;img src="a.png"&gt; &lt;a href="../x"&gt;x&lt;/a&gt;</content>
  </entry></feed>)");
  REQUIRE(p.feed.items.size() == 1);
  CHECK(p.feed.items[0].link == "https://example.com/blog/2020/post.html");
  CHECK(p.feed.items[0].content ==
        R"(<img src="https://example.com/media/a.png"> <a href="https://example.com/x">x</a>)");
}

TEST_CASE("without any base a relative link stays relative") {
  auto p =
      parse_ok(R"(<rss version="2.0"><channel><item><link>/p/1</link></item></channel></rss>)");
  REQUIRE(p.feed.items.size() == 1);
  CHECK(p.feed.items[0].link == "/p/1");
  CHECK(p.feed.items[0].id == "/p/1");
}

TEST_CASE("the document URL resolves relative links") {
  auto p = parse_ok(
      R"(<rss version="2.0"><channel><link>/</link><item><link>p/1</link></item></channel></rss>)",
      "https://example.com/feeds/rss.xml");
  CHECK(p.feed.link == "https://example.com/");
  CHECK(p.feed.items[0].link == "https://example.com/feeds/p/1");
}

TEST_CASE("Atom xhtml content is serialised without its wrapping div and prefixes") {
  auto p =
      parse_ok(R"(<feed xmlns="http://www.w3.org/2005/Atom" xmlns:h="http://www.w3.org/1999/xhtml">
  <entry><id>1</id>
    <title type="xhtml"><h:div>Fish &amp; <h:b>chips</h:b></h:div></title>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>One<br/>two &lt;3</p></div></content>
  </entry></feed>)");
  REQUIRE(p.feed.items.size() == 1);
  CHECK(p.feed.items[0].title == "Fish & chips");
  CHECK(p.feed.items[0].content == "<p>One<br>two &lt;3</p>");
}

TEST_CASE("Atom text title is plain text even when it contains angle brackets") {
  auto p = parse_ok(R"(<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>1</id>
    <title type="text">Why a &lt; b &amp;&amp; c</title>
    <summary type="text">x &lt; y</summary></entry></feed>)");
  CHECK(p.feed.items[0].title == "Why a < b && c");
  CHECK(p.feed.items[0].summary == "x &lt; y");
}

TEST_CASE("RSS 1.0 items outside the channel are read in document order") {
  auto p = parse_ok(R"(<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
      xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://example.com/"><title>R</title><link>https://example.com/</link></channel>
  <item rdf:about="https://example.com/a"><title>A</title><link>https://example.com/a</link></item>
  <item rdf:about="https://example.com/b"><title>B</title></item>
</rdf:RDF>)");
  CHECK(p.feed.format == FeedFormat::rss10);
  REQUIRE(p.feed.items.size() == 2);
  CHECK(p.feed.items[0].id == "https://example.com/a");
  CHECK(p.feed.items[1].title == "B");
  CHECK(p.feed.items[1].link == "https://example.com/b");
}

TEST_CASE("RSS version attribute selects the format") {
  CHECK(parse_ok(R"(<rss version="0.91"><channel/></rss>)").feed.format == FeedFormat::rss091);
  CHECK(parse_ok(R"(<rss version="0.92"><channel/></rss>)").feed.format == FeedFormat::rss092);
  CHECK(parse_ok(R"(<rss version="2.0"><channel/></rss>)").feed.format == FeedFormat::rss20);
  CHECK(parse_ok(R"(<rss><channel/></rss>)").feed.format == FeedFormat::rss);
  CHECK(parse_ok(R"(<rss version="0.94"><channel/></rss>)").feed.format == FeedFormat::rss);
  CHECK(parse_ok(R"(<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
      xmlns="http://my.netscape.com/rdf/simple/0.9/"><channel><title>x</title></channel></rdf:RDF>)")
            .feed.format == FeedFormat::rss090);
  CHECK(parse_ok(R"(<feed version="0.3" xmlns="http://purl.org/atom/ns#"/>)").feed.format ==
        FeedFormat::atom03);
  CHECK(parse_ok(R"(<feed><title>x</title></feed>)").feed.format == FeedFormat::atom);
}

TEST_CASE("poll hints: ttl, sy:updatePeriod, skipHours and skipDays") {
  auto p = parse_ok(R"(<rss version="2.0" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">
  <channel><ttl>90</ttl><sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>2</sy:updateFrequency>
  <skipHours><hour>0</hour><hour>23</hour></skipHours><skipDays><day>Sunday</day><day>Saturday</day></skipDays>
  </channel></rss>)");
  CHECK(p.feed.hints.ttl == std::chrono::minutes(90));
  CHECK(p.feed.hints.update_period == std::chrono::seconds(1800));
  CHECK(p.feed.hints.skip_hours == std::vector<int>{0, 23});
  CHECK(p.feed.hints.skip_days == std::vector<int>{0, 6});
}

TEST_CASE("a truncated document keeps the items before the break, with a warning") {
  auto p = parse_ok(R"(<rss version="2.0"><channel><title>T</title>
<item><title>Complete</title><link>https://example.com/1</link></item>
<item><title>Cut off</title><link>https://exa)");
  REQUIRE(!p.feed.items.empty());
  CHECK(p.feed.items[0].title == "Complete");
  CHECK(has_warning_containing(p, "document ends before <link> is closed"));
}

TEST_CASE("a document that is not a feed is refused with its position") {
  auto r = parse_feed(ParseInput{"<html>\n  <body>hello</body></html>", {}, {}});
  REQUIRE(!r);
  CHECK(r.error().kind == ErrorKind::invalid_input);
  CHECK(r.error().line == 1);
  CHECK(r.error().column == 1);
  CHECK(r.error().message.find("<html>") != std::string::npos);
}

TEST_CASE("an empty document is refused") {
  auto r = parse_feed(ParseInput{"", {}, {}});
  REQUIRE(!r);
}

TEST_CASE("nesting deeper than the limit is refused before DOM work") {
  std::string doc = "<rss version=\"2.0\"><channel><item><description>";
  for (int i = 0; i < feedmerge::parse::kMaxNestingDepth + 10; ++i)
    doc += "<b>";
  auto r = parse_feed(ParseInput{doc, {}, {}});
  REQUIRE(!r);
  CHECK(r.error().kind == ErrorKind::too_deep);
  CHECK(r.error().line == 1);
}

TEST_CASE("billion laughs expands to nothing") {
  std::string doc = R"(<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<rss version="2.0"><channel><title>&lol9;</title><item><title>ok</title></item></channel></rss>)";
  auto p = parse_ok(doc);
  CHECK(p.feed.title.size() < 20);
  CHECK(p.feed.title.find("lollol") == std::string::npos);
  REQUIRE(p.feed.items.size() == 1);
}

TEST_CASE("an external entity is never read") {
  auto p = parse_ok(R"(<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><title>&xxe;</title></channel></rss>)");
  CHECK(p.feed.title.find("root:") == std::string::npos);
}

TEST_CASE("RSS enclosures, media and itunes images") {
  auto p = parse_ok(R"(<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"
      xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel>
  <item><title>a</title><enclosure url="https://example.com/a.mp3" type="audio/mpeg" length="12"/>
    <itunes:image href="https://example.com/cover.jpg"/></item>
  <item><title>b</title><media:group><media:content url="https://example.com/v.mp4" type="video/mp4" fileSize="99"/>
    <media:thumbnail url="https://example.com/t.jpg"/></media:group></item>
  <item><title>c</title><media:content url="https://example.com/p.jpg" medium="image"/>
    <enclosure url="https://example.com/x" length="lots"/></item>
  </channel></rss>)");
  REQUIRE(p.feed.items.size() == 3);
  CHECK(p.feed.items[0].image == "https://example.com/cover.jpg");
  REQUIRE(p.feed.items[0].enclosures.size() == 1);
  CHECK(p.feed.items[0].enclosures[0].length == 12);
  CHECK(p.feed.items[1].image == "https://example.com/t.jpg");
  REQUIRE(p.feed.items[1].enclosures.size() == 1);
  CHECK(p.feed.items[1].enclosures[0].type == "video/mp4");
  CHECK(p.feed.items[1].enclosures[0].length == 99);
  CHECK(p.feed.items[2].image == "https://example.com/p.jpg");
  REQUIRE(p.feed.items[2].enclosures.size() == 2);
  CHECK(!p.feed.items[2].enclosures[1].length);
}

TEST_CASE("RSS author forms give the name") {
  auto p = parse_ok(R"(<rss version="2.0"><channel>
  <item><author>jane@example.com (Jane Doe)</author></item>
  <item><author>John Roe &lt;john@example.com&gt;</author></item>
  <item><author>desk@example.com</author></item></channel></rss>)");
  CHECK(p.feed.items[0].authors == std::vector<std::string>{"Jane Doe"});
  CHECK(p.feed.items[1].authors == std::vector<std::string>{"John Roe"});
  CHECK(p.feed.items[2].authors == std::vector<std::string>{"desk@example.com"});
}

TEST_CASE("guid rules: isPermaLink=false is never the link; a permalink guid is") {
  auto p = parse_ok(R"(<rss version="2.0"><channel>
  <item><guid isPermaLink="false">https://example.com/not-a-link</guid></item>
  <item><guid>https://example.com/permalink</guid></item>
  <item><title>nothing</title></item></channel></rss>)");
  CHECK(p.feed.items[0].link.empty());
  CHECK(p.feed.items[0].id == "https://example.com/not-a-link");
  CHECK(p.feed.items[1].link == "https://example.com/permalink");
  CHECK(p.feed.items[2].id.empty());
}

TEST_CASE("unreadable dates are null with a warning naming the line") {
  auto p = parse_ok(
      "<rss version=\"2.0\"><channel>\n<item>\n<pubDate>Tuesday</pubDate></item></channel></rss>");
  CHECK(!p.feed.items[0].published);
  REQUIRE(p.warnings.size() == 1);
  CHECK(p.warnings[0].line == 3);
  CHECK(p.warnings[0].message.find("Tuesday") != std::string::npos);
}

TEST_CASE("unescaped markup inside an RSS description is kept as HTML") {
  auto p = parse_ok(R"(<rss version="2.0"><channel><item>
    <description><p>Hello <b>world</b></p></description></item></channel></rss>)");
  CHECK(p.feed.items[0].summary == "<p>Hello <b>world</b></p>");
}

TEST_CASE("plain-text RSS description is escaped into HTML") {
  auto p = parse_ok(R"(<rss version="2.0"><channel><item>
    <description>Tom &amp; Jerry</description></item></channel></rss>)");
  CHECK(p.feed.items[0].summary == "Tom &amp; Jerry");
}

TEST_CASE("a 50 MB feed parses completely") {
  // Bounded time and memory are measured in bench/; here: nothing is dropped or truncated.
  const std::string item =
      "<item><title>Story &amp; more</title><link>https://example.com/p/</link>"
      "<pubDate>Tue, 22 Sep 2020 14:05:00 GMT</pubDate>"
      "<description>&lt;p&gt;Some &lt;a href=\"/rel\"&gt;text&lt;/a&gt; padding padding "
      "padding padding padding padding padding padding padding padding padding padding "
      "padding padding padding padding padding padding padding padding.&lt;/p&gt;</description>"
      "</item>\n";
  std::string doc = "<rss version=\"2.0\"><channel><title>Big</title>\n";
  std::size_t count = 0;
  while (doc.size() < (50u << 20)) {
    doc += item;
    ++count;
  }
  doc += "</channel></rss>\n";
  auto p = parse_ok(doc, "https://example.com/feed");
  REQUIRE(p.feed.items.size() == count);
  CHECK(p.warnings.empty());
  CHECK(p.feed.items.back().title == "Story & more");
  CHECK(p.feed.items.back().summary.find("href=\"https://example.com/rel\"") != std::string::npos);
}

TEST_CASE("a document cut off inside text keeps its last character whole") {
  // Found by fuzz_xml: parsing in place once dropped the final byte of a truncated document,
  // leaving half a UTF-8 character in the title.
  auto p = parse_ok("<rss version=\"2.0\"><channel><item><title>caf\xC3\xA9");
  REQUIRE(p.feed.items.size() == 1);
  CHECK(p.feed.items[0].title == "caf\xC3\xA9");
}

TEST_CASE("items past max_items are dropped with a warning, the first ones kept") {
  std::string xml = "<rss version=\"2.0\"><channel><title>many</title>";
  const std::size_t total = feedmerge::parse::kMaxItemsPerFeed + 5;
  for (std::size_t i = 0; i < total; ++i)
    xml += "<item><guid>g" + std::to_string(i) + "</guid></item>";
  xml += "</channel></rss>";
  auto parsed = parse_feed(ParseInput{.bytes = xml,
                                      .content_type = {},
                                      .document_url = {},
                                      .max_items = feedmerge::parse::kMaxItemsPerFeed});
  REQUIRE(parsed.has_value());
  const ParsedFeed& p = *parsed;
  REQUIRE(p.feed.items.size() == feedmerge::parse::kMaxItemsPerFeed);
  CHECK(p.feed.items.front().id == "g0");
  CHECK(p.feed.items.back().id == "g" + std::to_string(feedmerge::parse::kMaxItemsPerFeed - 1));
  CHECK(has_warning_containing(p, "5 items after the first 10000 ignored"));
}
