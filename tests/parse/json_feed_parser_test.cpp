#include "parse/json_feed_parser.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

namespace feedmerge::parse {
namespace {

Result<ParsedFeed> parse(std::string_view json, std::string_view document_url = "") {
  return parse_json_feed(json, "", document_url);
}

ParsedFeed parse_ok(std::string_view json, std::string_view document_url = "") {
  auto result = parse(json, document_url);
  REQUIRE_MESSAGE(result.has_value(), (result ? "" : result.error().message));
  return std::move(*result);
}

std::vector<std::string> warning_texts(const ParsedFeed& parsed) {
  std::vector<std::string> texts;
  for (const auto& w : parsed.warnings)
    texts.push_back(to_string(w));
  return texts;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string nested_arrays(int depth) {
  return std::string(static_cast<std::size_t>(depth), '[') +
         std::string(static_cast<std::size_t>(depth), ']');
}

}  // namespace

TEST_CASE("looks_like_json sees an object after white space and byte order marks") {
  CHECK(looks_like_json("{}"));
  CHECK(looks_like_json(" \r\n\t{\"version\": 1}"));
  CHECK(looks_like_json("\xEF\xBB\xBF{}"));
  CHECK(looks_like_json(std::string_view("\xFF\xFE{\0}\0", 6)));  // UTF-16 LE with BOM
  CHECK(looks_like_json(std::string_view("\0{\0}", 4)));          // UTF-16 BE without BOM
  CHECK_FALSE(looks_like_json(""));
  CHECK_FALSE(looks_like_json("   "));
  CHECK_FALSE(looks_like_json("<?xml version=\"1.0\"?><rss/>"));
  CHECK_FALSE(looks_like_json("\xEF\xBB\xBF<rss/>"));
  CHECK_FALSE(looks_like_json("[{\"items\": []}]"));
}

TEST_CASE("the version member decides between JSON Feed 1.0 and 1.1") {
  struct Case {
    std::string_view version;
    model::FeedFormat format;
  };
  const Case cases[] = {
      {"https://jsonfeed.org/version/1", model::FeedFormat::json10},
      {"https://jsonfeed.org/version/1.1", model::FeedFormat::json11},
      {"http://jsonfeed.org/version/1", model::FeedFormat::json10},
      {"https://jsonfeed.org/version/1/", model::FeedFormat::json10},
      {"https://jsonfeed.org/version/1.0", model::FeedFormat::json10},
      {"jsonfeed.org/version/1.1", model::FeedFormat::json11},
      {"https://www.jsonfeed.org/version/1.1/", model::FeedFormat::json11},
  };
  for (const auto& c : cases) {
    CAPTURE(c.version);
    const ParsedFeed parsed =
        parse_ok("{\"version\": \"" + std::string(c.version) + "\", \"items\": []}");
    CHECK(parsed.feed.format == c.format);
    CHECK(parsed.warnings.empty());
  }
}

TEST_CASE("an items array without a known version is read as JSON Feed 1.1 with a warning") {
  SUBCASE("no version") {
    const ParsedFeed parsed = parse_ok(R"({"items": [{"id": "1"}]})");
    CHECK(parsed.feed.format == model::FeedFormat::json11);
    CHECK(warning_texts(parsed) ==
          std::vector<std::string>{"unknown JSON Feed version (none given); read as 1.1"});
    CHECK(parsed.feed.items.size() == 1);
  }
  SUBCASE("a version that is not a string") {
    const ParsedFeed parsed = parse_ok(R"({"version": 1.1, "items": []})");
    CHECK(parsed.feed.format == model::FeedFormat::json11);
    CHECK(warning_texts(parsed) ==
          std::vector<std::string>{"unknown JSON Feed version (a number); read as 1.1"});
  }
  SUBCASE("a jsonfeed.org version we do not know, even without items") {
    const ParsedFeed parsed = parse_ok(R"({"version": "https://jsonfeed.org/version/2"})");
    CHECK(parsed.feed.format == model::FeedFormat::json11);
    CHECK(warning_texts(parsed) ==
          std::vector<std::string>{
              "unknown JSON Feed version 'https://jsonfeed.org/version/2'; read as 1.1",
              "no 'items' array"});
  }
}

TEST_CASE("JSON that is not a JSON Feed is refused where its value starts") {
  SUBCASE("an object without version or items") {
    const auto result = parse("\n  {\"name\": \"package.json\", \"version\": \"1.0.0\"}");
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().kind == ErrorKind::invalid_input);
    CHECK(result.error().message.starts_with("not a JSON Feed"));
    CHECK(result.error().line == 2);
    CHECK(result.error().column == 3);
  }
  SUBCASE("an array") {
    const auto result = parse(R"([{"items": []}])");
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().message == "not a JSON Feed: the document is an array, not an object");
    CHECK(result.error().line == 1);
    CHECK(result.error().column == 1);
  }
  SUBCASE("items that is not an array") {
    const auto result = parse(R"({"items": {"id": "1"}})");
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().kind == ErrorKind::invalid_input);
  }
}

TEST_CASE("invalid JSON is an error at the line and column where parsing stopped") {
  SUBCASE("a trailing comma") {
    const auto result = parse(
        "{\n  \"version\": \"https://jsonfeed.org/version/1.1\",\n"
        "  \"items\": [1, 2,]\n}");
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().kind == ErrorKind::invalid_input);
    CHECK(result.error().message.starts_with("invalid JSON: "));
    CHECK(result.error().line == 3);
    CHECK(result.error().column == 18);
  }
  SUBCASE("columns count characters, not bytes") {
    const auto result = parse("{\"title\": \"Café\" \"items\": []}");
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().line == 1);
    CHECK(result.error().column == 18);  // the '"' that should have been a comma
  }
  SUBCASE("a document cut short fails at its end") {
    const auto result = parse("{\n\"items\": [\n{\"id\": \"1\"");
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().kind == ErrorKind::invalid_input);
    CHECK(result.error().line == 3);
    CHECK(result.error().column == 11);
  }
}

TEST_CASE("nesting beyond kMaxNestingDepth is refused as too deep") {
  // The top-level object and the items array are two levels.
  const std::string at_limit = "{\"items\": [" + nested_arrays(kMaxNestingDepth - 2) + "]}";
  const ParsedFeed parsed = parse_ok(at_limit);
  CHECK(parsed.feed.items.empty());
  CHECK(warning_texts(parsed).back() == "item 1: an array, not an object; skipped");

  const std::string beyond = "{\"items\": [" + nested_arrays(kMaxNestingDepth - 1) + "]}";
  const auto result = parse(beyond);
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().kind == ErrorKind::too_deep);
  CHECK(result.error().line == 1);
  CHECK(result.error().column == 11 + kMaxNestingDepth - 1);  // the first '[' too many

  const auto far_beyond = parse("{\"items\": [" + nested_arrays(100000) + "]}");
  REQUIRE_FALSE(far_beyond.has_value());
  CHECK(far_beyond.error().kind == ErrorKind::too_deep);
}

TEST_CASE("wrong-typed members are skipped with a warning naming the item") {
  const ParsedFeed parsed = parse_ok(R"({
    "version": "https://jsonfeed.org/version/1.1",
    "title": ["not", "text"],
    "home_page_url": 5,
    "items": [
      42,
      {"id": {"x": 1}, "url": "https://example.com/2", "title": 7, "tags": ["a", false],
       "attachments": [{"url": 3}, {"url": "https://example.com/a.mp3", "size_in_bytes": true}]}
    ]
  })");
  CHECK(parsed.feed.title.empty());
  CHECK(parsed.feed.link.empty());
  REQUIRE(parsed.feed.items.size() == 1);
  const model::Item& item = parsed.feed.items[0];
  CHECK(item.id == "https://example.com/2");  // falls back to the link
  CHECK(item.title.empty());
  CHECK(item.categories == std::vector<std::string>{"a"});
  REQUIRE(item.enclosures.size() == 1);
  CHECK(item.enclosures[0].url == "https://example.com/a.mp3");
  CHECK_FALSE(item.enclosures[0].length.has_value());
  CHECK(warning_texts(parsed) ==
        std::vector<std::string>{
            "'title' is an array, not a string; ignored",
            "'home_page_url' is a number, not a string; ignored",
            "item 1: a number, not an object; skipped",
            "item 2: 'id' is an object, not a string; ignored",
            "item 2: 'title' is a number, not a string; ignored",
            "item 2: tag 2 is a boolean, not a string; ignored",
            "item 2: attachment 1: 'url' is a number, not a string; ignored",
            "item 2: attachment 1: no url; skipped",
            "item 2: attachment 2: 'size_in_bytes' true is not a byte count; ignored",
        });
}

TEST_CASE("null members are absent, silently") {
  const ParsedFeed parsed = parse_ok(R"({"version": "https://jsonfeed.org/version/1.1",
    "title": null, "items": [{"id": null, "url": null, "title": null, "image": null,
    "date_published": null, "authors": null, "tags": null, "attachments": null}]})");
  CHECK(parsed.warnings.empty());
  REQUIRE(parsed.feed.items.size() == 1);
  CHECK(parsed.feed.items[0] == model::Item{});
}

TEST_CASE("a numeric item id becomes its decimal text with a warning") {
  const ParsedFeed parsed = parse_ok(R"({"version": "https://jsonfeed.org/version/1.1",
    "items": [{"id": 1234567890123}, {"id": 2.0}, {"id": 0.25}]})");
  REQUIRE(parsed.feed.items.size() == 3);
  CHECK(parsed.feed.items[0].id == "1234567890123");
  CHECK(parsed.feed.items[1].id == "2");
  CHECK(parsed.feed.items[2].id == "0.25");
  CHECK(warning_texts(parsed)[0] == "item 1: numeric id 1234567890123 read as a string");
}

TEST_CASE("content_html wins over content_text, which is escaped into HTML") {
  const ParsedFeed parsed = parse_ok(R"({"version": "https://jsonfeed.org/version/1.1",
    "items": [{"id": "1", "content_html": "<p>html</p>", "content_text": "text"},
              {"id": "2", "content_text": "a < b & \"c\"\nnext line"},
              {"id": "3", "content_html": "", "content_text": "only text has words"},
              {"id": "4", "summary": "<b>not markup</b>"}]})");
  REQUIRE(parsed.feed.items.size() == 4);
  CHECK(parsed.feed.items[0].content == "<p>html</p>");
  CHECK(parsed.feed.items[1].content == "a &lt; b &amp; &quot;c&quot;\nnext line");
  CHECK(parsed.feed.items[2].content == "only text has words");
  CHECK(parsed.feed.items[3].summary == "&lt;b&gt;not markup&lt;/b&gt;");
  CHECK(parsed.feed.items[3].content.empty());
}

TEST_CASE("a title with character references is read as HTML") {
  const ParsedFeed parsed = parse_ok(R"({"version": "https://jsonfeed.org/version/1.1",
    "title": "Blog &#8211; InfluxData", "items": [{"id": "1", "title": " Tom &amp;  Jerry "}]})");
  CHECK(parsed.feed.title == "Blog \u2013 InfluxData");
  CHECK(parsed.feed.items[0].title == "Tom & Jerry");
}

TEST_CASE("1.1 authors supersede the 1.0 author, in either version") {
  const ParsedFeed parsed = parse_ok(R"({"version": "https://jsonfeed.org/version/1",
    "author": {"name": "Feed Author"},
    "items": [{"id": "1", "author": {"name": "Old"}, "authors": [{"name": "New"}, {"name": "New"}]},
              {"id": "2", "author": {"name": "Only Old"}, "authors": []},
              {"id": "3"}]})");
  REQUIRE(parsed.feed.items.size() == 3);
  CHECK(parsed.feed.items[0].authors == std::vector<std::string>{"New"});
  CHECK(parsed.feed.items[1].authors == std::vector<std::string>{"Only Old"});
  // JSON Feed lets items inherit the feed's author; the model keeps only what the item says.
  CHECK(parsed.feed.items[2].authors.empty());
}

TEST_CASE("links, images, enclosures and content URLs resolve against the document URL") {
  const ParsedFeed parsed = parse_ok(R"({"version": "https://jsonfeed.org/version/1.1",
    "home_page_url": "/",
    "items": [{"url": "posts/1", "image": "/img/1.png",
               "content_html": "<a href=\"/about\">about</a> <img src=\"x.png\">",
               "attachments": [{"url": "media/1.mp3"}]}]})",
                                     "https://example.com/blog/feed.json");
  CHECK(parsed.feed.link == "https://example.com/");
  REQUIRE(parsed.feed.items.size() == 1);
  const model::Item& item = parsed.feed.items[0];
  CHECK(item.link == "https://example.com/blog/posts/1");
  CHECK(item.id == "https://example.com/blog/posts/1");
  CHECK(item.image == "https://example.com/img/1.png");
  CHECK(item.content ==
        "<a href=\"https://example.com/about\">about</a> "
        "<img src=\"https://example.com/blog/x.png\">");
  REQUIRE(item.enclosures.size() == 1);
  CHECK(item.enclosures[0].url == "https://example.com/blog/media/1.mp3");
}

TEST_CASE("unpaired surrogate escapes become U+FFFD instead of failing the feed") {
  const ParsedFeed parsed = parse_ok(
      "{\"version\": \"https://jsonfeed.org/version/1.1\",\n"
      "\"items\": [{\"id\": \"1\", \"title\": \"cut \\ud83d\", \"summary\": \"\\ud83d\\ude00\"}]}");
  REQUIRE(parsed.feed.items.size() == 1);
  CHECK(parsed.feed.items[0].title == "cut \uFFFD");
  CHECK(parsed.feed.items[0].summary == "\U0001F600");
  CHECK(warning_texts(parsed) ==
        std::vector<std::string>{"line 2: unpaired UTF-16 surrogate escape replaced with U+FFFD"});
}

TEST_CASE("text after the JSON value is ignored with a warning") {
  const ParsedFeed parsed = parse_ok(
      "{\"version\": \"https://jsonfeed.org/version/1.1\", \"items\": [{\"id\": \"1\"}]}\n"
      "<br />\n<b>Warning</b>: something in feed.php\n");
  CHECK(parsed.feed.items.size() == 1);
  CHECK(warning_texts(parsed) ==
        std::vector<std::string>{"line 2: text after the JSON value ignored"});
}

TEST_CASE("unreadable dates are null with a warning quoting them") {
  const ParsedFeed parsed = parse_ok(R"({"version": "https://jsonfeed.org/version/1.1",
    "items": [{"id": "1", "date_published": "soon", "date_modified": "2020-09-22T14:05:00Z"}]})");
  REQUIRE(parsed.feed.items.size() == 1);
  CHECK_FALSE(parsed.feed.items[0].published.has_value());
  REQUIRE(parsed.feed.items[0].updated.has_value());
  CHECK(parsed.feed.items[0].updated->time_since_epoch().count() == 1600783500);
  CHECK(warning_texts(parsed) == std::vector<std::string>{"item 1: unreadable date 'soon'"});
}

TEST_CASE("every truncation of a feed gives an error or a feed, never an exception") {
  const std::string whole =
      read_file(std::filesystem::path(FEEDMERGE_TEST_DATA) / "parse/json1.1/basic.json");
  REQUIRE(whole.size() > 100);
  for (std::size_t n = 0; n <= whole.size(); ++n) {
    CAPTURE(n);
    CHECK_NOTHROW((void)parse(std::string_view(whole).substr(0, n)));
  }
  CHECK(parse(whole).has_value());
}

TEST_CASE("real JSON Feeds in the corpus parse with their manifest's item count") {
  const std::filesystem::path real = std::filesystem::path(FEEDMERGE_TEST_DATA) / "corpus/real";
  std::istringstream manifest(read_file(real / "MANIFEST.tsv"));
  REQUIRE(manifest.good());
  std::string line;
  int checked = 0;
  while (std::getline(manifest, line)) {
    // file, format, bytes, items, ...
    std::vector<std::string> cells;
    std::istringstream row(line);
    for (std::string cell; std::getline(row, cell, '\t');)
      cells.push_back(cell);
    if (cells.size() < 4 || !cells[0].ends_with(".json")) continue;
    CAPTURE(cells[0]);
    const std::string bytes = read_file(real / cells[0]);
    REQUIRE_FALSE(bytes.empty());
    CHECK(looks_like_json(bytes));
    const auto result = parse(bytes);
    REQUIRE_MESSAGE(result.has_value(), (result ? "" : result.error().message));
    CHECK(result->feed.items.size() == std::stoul(cells[3]));
    CHECK(result->feed.format ==
          (cells[1] == "jsonfeed-1.0" ? model::FeedFormat::json10 : model::FeedFormat::json11));
    ++checked;
  }
  CHECK(checked >= 4);
}

}  // namespace feedmerge::parse

TEST_CASE("characters XML forbids, escaped or raw, never reach the model from a JSON Feed") {
  // Found by the hostile-input suite (tests/data/hostile/json/): NUL escapes reached storage.
  const auto parsed = feedmerge::parse::parse_json_feed(
      "{\"version\":\"https://jsonfeed.org/version/"
      "1.1\",\"title\":\"a\\u0000b\",\"items\":[{\"id\":"
      "\"x\\u0001\",\"title\":\"c\xEF\xBF\xBE"
      "d\\uFFFF\",\"content_text\":\"tab\\tok\"}]}",
      "", "");
  REQUIRE(parsed.has_value());
  CHECK(parsed->feed.title ==
        "a\xEF\xBF\xBD"
        "b");
  REQUIRE(parsed->feed.items.size() == 1);
  CHECK(parsed->feed.items[0].id == "x\xEF\xBF\xBD");
  CHECK(parsed->feed.items[0].title ==
        "c\xEF\xBF\xBD"
        "d\xEF\xBF\xBD");
  CHECK(parsed->feed.items[0].content.find("tab\tok") != std::string::npos);
  CHECK_FALSE(parsed->warnings.empty());
}
