#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "feedmerge/normalize/text.h"
#include "support/xorshift.h"

using feedmerge::normalize::html_to_text;
using feedmerge::normalize::html_to_text_prefix;

namespace {

// What html_to_text_prefix promises: the whole text cut to `limit` bytes at a UTF-8 boundary.
std::string cut(std::string text, std::size_t limit) {
  if (text.size() <= limit) return text;
  while (limit > 0 && (static_cast<unsigned char>(text[limit]) & 0xC0) == 0x80)
    --limit;
  text.resize(limit);
  return text;
}

}  // namespace

TEST_CASE("html_to_text_prefix is the start of html_to_text") {
  CHECK(html_to_text_prefix("<p>Hello <b>world</b></p>", 100) == "Hello world");
  CHECK(html_to_text_prefix("<p>Hello <b>world</b></p>", 5) == "Hello");
  CHECK(html_to_text_prefix("<p>Hello <b>world</b></p>", 6) == "Hello ");
  CHECK(html_to_text_prefix("<p>Hello <b>world</b></p>", 7) == "Hello w");
  CHECK(html_to_text_prefix("caf&eacute; au lait", 4) == "caf");  // é is two bytes
  CHECK(html_to_text_prefix("caf&eacute; au lait", 5) == "café");
  CHECK(html_to_text_prefix("  \u00a0 a  \n b ", 3) == "a b");
  CHECK(html_to_text_prefix("", 10) == "");
  CHECK(html_to_text_prefix("abc", 0) == "");
}

TEST_CASE("html_to_text_prefix matches html_to_text on random markup at every limit") {
  // Pieces that exercise tags, references, comments, CDATA, scripts, unclosed tags, quoted
  // '>' and every kind of white space collapse_whitespace knows.
  // The first kText pieces hold no markup.
  constexpr std::size_t kText = 22;
  const std::vector<std::string_view> pieces = {
      "word", "Zeta", " ", "  ", "\t\n", "\u00a0", "\u2003", "\u3000", "é", "東京", "&amp;",
      "&eacute;", "&#233;", "&#x20;", "&#160;", "&nbsp;", "&bogus;", "&", "x.y", "12,5", "&#",
      "&#000000000000000000233;",
      // Markup.
      "<p>", "</p>", "<br/>", "<b>", "</b>", "<div>", "<", ">", "a < b", "<!-- c -->", "<!--",
      "<![CDATA[", "]]>", "<script>", "</script>", "<style>", "</style>", "<a href='x>y'>",
      "<a title=\"", "\"", "<!DOCTYPE x>", "<?xml?>"};
  feedmerge::test::XorShift64 next(0x2545F4914F6CDD1DULL);
  int differing = 0;
  for (int round = 0; round < 2000; ++round) {
    std::string html;
    const std::size_t length = 1 + next() % 40;
    for (std::size_t i = 0; i < length; ++i)
      html += pieces[next() % pieces.size()];
    const std::string whole = html_to_text(html);
    for (std::size_t limit = 0; limit <= whole.size() + 2; ++limit) {
      if (html_to_text_prefix(html, limit) != cut(whole, limit)) {
        if (++differing <= 5) MESSAGE("differs at " << limit << ": [" << html << "]");
      }
    }
  }
  CHECK(differing == 0);
  // Long text between tags is decoded a piece at a time: long inputs, a few limits each.
  for (int round = 0; round < 300; ++round) {
    std::string html;
    const std::size_t length = 1 + next() % 600;
    for (std::size_t i = 0; i < length; ++i)
      html += pieces[next() % (round % 2 == 0 ? kText : pieces.size())];  // even: no markup
    const std::string whole = html_to_text(html);
    for (std::size_t limit :
         {std::size_t{0}, std::size_t{255}, std::size_t{256}, std::size_t{1000}, whole.size() / 2,
          whole.size() - 1, static_cast<std::size_t>(next() % (whole.size() + 1))}) {
      if (html_to_text_prefix(html, limit) != cut(whole, limit)) {
        if (++differing <= 5) MESSAGE("differs at " << limit << ": [" << html << "]");
      }
    }
  }
  CHECK(differing == 0);
}
