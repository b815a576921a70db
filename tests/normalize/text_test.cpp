#include "feedmerge/normalize/text.h"

#include <doctest/doctest.h>

#include <string>
#include <string_view>

using feedmerge::normalize::collapse_whitespace;
using feedmerge::normalize::decode_html_entities;
using feedmerge::normalize::escape_html;
using feedmerge::normalize::html_entity;
using feedmerge::normalize::html_to_text;
using feedmerge::normalize::looks_double_escaped;
using feedmerge::normalize::looks_like_html;

TEST_CASE("html_entity knows the whole HTML5 table, case-sensitively") {
  CHECK(html_entity("eacute") == "é");
  CHECK(html_entity("Eacute") == "É");
  CHECK(html_entity("EACUTE") == "");
  CHECK(html_entity("amp") == "&");
  CHECK(html_entity("AMP") == "&");
  CHECK(html_entity("nbsp") == "\u00A0");
  SUBCASE("the first and last names of the sorted table") {
    CHECK(html_entity("AElig") == "Æ");
    CHECK(html_entity("zwnj") == "\u200C");
  }
  SUBCASE("long names and multi-code-point expansions") {
    CHECK(html_entity("CounterClockwiseContourIntegral") == "\u2233");
    CHECK(html_entity("NotEqualTilde") == "\u2242\u0338");
    CHECK(html_entity("fjlig") == "fj");
    CHECK(html_entity("bne") == "=\u20E5");
  }
  SUBCASE("astral-plane expansions") {
    CHECK(html_entity("Afr") == "\U0001D504");
  }
  SUBCASE("unknown names, empty names and names with their ';' are not found") {
    CHECK(html_entity("") == "");
    CHECK(html_entity("notanentity") == "");
    CHECK(html_entity("amp;") == "");
    CHECK(html_entity("zzzz") == "");
  }
}

TEST_CASE("decode_html_entities decodes numeric and named references") {
  CHECK(decode_html_entities("caf&eacute;") == "café");
  CHECK(decode_html_entities("&#233;&#xE9;&#XE9;&#x00e9;") == "éééé");
  CHECK(decode_html_entities("Fish &amp; Chips &lt;3") == "Fish & Chips <3");
  CHECK(decode_html_entities("&#x1F600;") == "\U0001F600");
  CHECK(decode_html_entities("&NotEqualTilde;") == "\u2242\u0338");
  CHECK(decode_html_entities("no references at all") == "no references at all");
  CHECK(decode_html_entities("") == "");
}

TEST_CASE("decoding is a single pass: &amp;lt; becomes &lt;, not <") {
  CHECK(decode_html_entities("&amp;lt;p&amp;gt;") == "&lt;p&gt;");
}

TEST_CASE("windows-1252 numeric references become the characters browsers show") {
  CHECK(decode_html_entities("&#150;") == "\u2013");  // en dash
  CHECK(decode_html_entities("&#151;") == "\u2014");  // em dash
  CHECK(decode_html_entities("&#128;") == "€");
  CHECK(decode_html_entities("&#145;quoted&#146;") == "\u2018quoted\u2019");
  CHECK(decode_html_entities("&#x93;hi&#x94;") == "\u201Chi\u201D");
  CHECK(decode_html_entities("&#159;") == "\u0178");
  // The five bytes windows-1252 leaves undefined stay C1 controls, as in the HTML standard.
  CHECK(decode_html_entities("&#129;") == "\u0081");
  CHECK(decode_html_entities("&#157;") == "\u009D");
}

TEST_CASE("references to NUL, surrogates or beyond U+10FFFF become U+FFFD") {
  CHECK(decode_html_entities("&#0;") == "\uFFFD");
  CHECK(decode_html_entities("&#xD800;") == "\uFFFD");
  CHECK(decode_html_entities("&#xDFFF;") == "\uFFFD");
  CHECK(decode_html_entities("&#x110000;") == "\uFFFD");
  CHECK(decode_html_entities("&#99999999999999999999999;") == "\uFFFD");
  CHECK(decode_html_entities("&#x10FFFF;") == "\U0010FFFF");
}

TEST_CASE("numeric references without ';' are decoded, as browsers do") {
  CHECK(decode_html_entities("&#233 x") == "é x");
  CHECK(decode_html_entities("x&#233") == "xé");
  CHECK(decode_html_entities("&#xE9ghi") == "éghi");
  CHECK(decode_html_entities("&#xE9abc") == "\U000E9ABC");  // every hex digit counts
}

TEST_CASE("unknown or unterminated named references and stray ampersands stay verbatim") {
  CHECK(decode_html_entities("&bogus; stays") == "&bogus; stays");
  CHECK(decode_html_entities("&amp without semicolon") == "&amp without semicolon");
  CHECK(decode_html_entities("?a=1&copy=2") == "?a=1&copy=2");
  CHECK(decode_html_entities("AT&T") == "AT&T");
  CHECK(decode_html_entities("a && b &") == "a && b &");
  CHECK(decode_html_entities("&#; &#x; &#xZZ; &;") == "&#; &#x; &#xZZ; &;");
  CHECK(decode_html_entities("&&amp;") == "&&");
}

TEST_CASE("collapse_whitespace folds every Unicode space run to one ASCII space and trims") {
  CHECK(collapse_whitespace("  a \t\n b  ") == "a b");
  CHECK(collapse_whitespace("a\r\n\r\nb\fc\vd") == "a b c d");
  CHECK(collapse_whitespace("a\u00A0\u00A0b") == "a b");
  CHECK(collapse_whitespace("") == "");
  CHECK(collapse_whitespace(" \u00A0\u3000 ") == "");
  CHECK(collapse_whitespace("é\u3000ü") == "é ü");
  SUBCASE("each of the Unicode spaces") {
    const char* const spaces[] = {"\u0085", "\u00A0", "\u1680", "\u2000", "\u2001",
                                  "\u2002", "\u2003", "\u2004", "\u2005", "\u2006",
                                  "\u2007", "\u2008", "\u2009", "\u200A", "\u2028",
                                  "\u2029", "\u202F", "\u205F", "\u3000"};
    for (const char* space : spaces) {
      CAPTURE(std::string_view(space));
      CHECK(collapse_whitespace(std::string("a") + space + "b") == "a b");
    }
  }
  SUBCASE("zero-width and near-space characters are not spaces") {
    CHECK(collapse_whitespace("a\u200Bb") == "a\u200Bb");
    CHECK(collapse_whitespace("a\u2010b\u2030c") == "a\u2010b\u2030c");
    CHECK(collapse_whitespace("\u00C2\u00A1") == "\u00C2\u00A1");
  }
  SUBCASE("a truncated UTF-8 sequence at the end is kept as it is") {
    CHECK(collapse_whitespace("a \xE2\x80") == "a \xE2\x80");
    CHECK(collapse_whitespace("a \xC2") == "a \xC2");
  }
}

TEST_CASE("html_to_text removes tags and keeps their text") {
  CHECK(html_to_text("<p>Hello <b>world</b></p>") == "Hello world");
  CHECK(html_to_text("Inline<span>joined</span>up") == "Inlinejoinedup");
  CHECK(html_to_text("<a href=\"x?a=1&amp;b=2\" title='1 > 0'>link</a>") == "link");
  CHECK(html_to_text("<img src=x alt=\"a > b\">after") == "after");
  CHECK(html_to_text("plain text") == "plain text");
  CHECK(html_to_text("") == "");
}

TEST_CASE("html_to_text turns block tags and <br> into a space") {
  CHECK(html_to_text("<p>a</p><p>b</p>") == "a b");
  CHECK(html_to_text("a<br>b") == "a b");
  CHECK(html_to_text("a<br/>b") == "a b");
  CHECK(html_to_text("a<BR />b") == "a b");
  CHECK(html_to_text("<ul><li>one</li><li>two</li></ul>") == "one two");
  CHECK(html_to_text("<h1>Title</h1>Body") == "Title Body");
  CHECK(html_to_text("<div>x</div><div>y</div>") == "x y");
  CHECK(html_to_text("<table><tr><td>1</td><td>2</td></tr></table>") == "1 2");
}

TEST_CASE("html_to_text drops comments, script and style contents, doctypes") {
  CHECK(html_to_text("x<!-- comment <b> -->y") == "xy");
  CHECK(html_to_text("x<!-- never closed") == "x");
  CHECK(html_to_text("a<script>if (a < b) alert('</p>')</script>b") == "ab");
  CHECK(html_to_text("<SCRIPT type=text/javascript>x</SCRIPT >y") == "y");
  CHECK(html_to_text("<style>p { color: red }</style>Text") == "Text");
  CHECK(html_to_text("before<script>never closed") == "before");
  CHECK(html_to_text("<!DOCTYPE html><html><body>Hi</body></html>") == "Hi");
  CHECK(html_to_text("<?xml version='1.0'?>text") == "text");
  CHECK(html_to_text("<scripted>kept</scripted>") == "kept");
}

TEST_CASE("html_to_text decodes references and collapses white space") {
  CHECK(html_to_text("Fish &amp; Chips") == "Fish & Chips");
  CHECK(html_to_text("caf&eacute;&nbsp;au\n\tlait") == "café au lait");
  CHECK(html_to_text("  <div>\n  spaced\n  </div>  ") == "spaced");
  CHECK(html_to_text("&lt;p&gt; is a tag") == "<p> is a tag");
  CHECK(html_to_text("It&#8217;s &#150; ok") == "It\u2019s \u2013 ok");
}

TEST_CASE("html_to_text keeps CDATA content as it stands") {
  CHECK(html_to_text("<![CDATA[a &amp; <b>]]> c") == "a &amp; <b> c");
}

TEST_CASE("a lone '<' that starts no tag is text") {
  CHECK(html_to_text("a < b and c > d") == "a < b and c > d");
  CHECK(html_to_text("I <3 you") == "I <3 you");
  CHECK(html_to_text("x <y") == "x <y");
  CHECK(html_to_text("1 << 2") == "1 << 2");
  CHECK(html_to_text("trailing <") == "trailing <");
  CHECK(html_to_text("a <! b") == "a <! b");
  CHECK(html_to_text("<b>bold</b> & a < b") == "bold & a < b");
}

TEST_CASE("escape_html escapes &, <, > and double quotes") {
  CHECK(escape_html("a & b < c > d \"e\" 'f'") == "a &amp; b &lt; c &gt; d &quot;e&quot; 'f'");
  CHECK(escape_html("&amp;") == "&amp;amp;");
  CHECK(escape_html("plain é") == "plain é");
  CHECK(escape_html("") == "");
}

TEST_CASE("looks_double_escaped spots escaped markup without real tags") {
  CHECK(looks_double_escaped("&lt;p&gt;Hello&lt;/p&gt;"));
  CHECK(looks_double_escaped("&lt;a href=\"https://example.com/\"&gt;link&lt;/a&gt;"));
  CHECK(looks_double_escaped("Text &lt;br/&gt; more"));
  CHECK(looks_double_escaped("&lt;img src=x.png&gt;"));
  CHECK(looks_double_escaped("&LT;P&GT;shouting"));
  CHECK(looks_double_escaped("&#60;p&#62;numeric"));
  CHECK(looks_double_escaped("&#x3C;div&#x3E;hex"));
  CHECK(looks_double_escaped("&lt;!-- comment --&gt;"));
}

TEST_CASE("looks_double_escaped is false for real markup and for plain comparisons") {
  CHECK_FALSE(looks_double_escaped("<p>&lt;p&gt; is the paragraph tag</p>"));
  CHECK_FALSE(looks_double_escaped("<p>Hello</p>"));
  CHECK_FALSE(looks_double_escaped("if a &lt; b then"));
  CHECK_FALSE(looks_double_escaped("x &lt;3 y"));
  CHECK_FALSE(looks_double_escaped("&lt;notatag&gt;"));
  CHECK_FALSE(looks_double_escaped("plain text"));
  CHECK_FALSE(looks_double_escaped(""));
}

TEST_CASE("looks_like_html sees tags, comments and references") {
  CHECK(looks_like_html("<p>Hi</p>"));
  CHECK(looks_like_html("Hi<br>there"));
  CHECK(looks_like_html("text</b>"));
  CHECK(looks_like_html("<!-- x -->"));
  CHECK(looks_like_html("Fish &amp; Chips"));
  CHECK(looks_like_html("It&#39;s"));
  CHECK(looks_like_html("It&#x27;s"));
  CHECK(looks_like_html("caf&eacute;"));
}

TEST_CASE("looks_like_html is false for plain text with stray < and &") {
  CHECK_FALSE(looks_like_html("AT&T"));
  CHECK_FALSE(looks_like_html("Tom & Jerry"));
  CHECK_FALSE(looks_like_html("a < b"));
  CHECK_FALSE(looks_like_html("x <y"));
  CHECK_FALSE(looks_like_html("I <3 you"));
  CHECK_FALSE(looks_like_html("5 > 3"));
  CHECK_FALSE(looks_like_html("&#39 without semicolon"));
  CHECK_FALSE(looks_like_html("&bogus;"));
  CHECK_FALSE(looks_like_html("plain"));
  CHECK_FALSE(looks_like_html(""));
}

TEST_CASE("text functions survive arbitrary bytes") {
  std::string bytes;
  for (int i = 0; i < 256; ++i)
    bytes.push_back(static_cast<char>(i));
  const std::string inputs[] = {bytes,       "<",  "&",         "&#", "&#x",     "<!--",
                                "<![CDATA[", "<a", "<a href='", "</", "<script", "&#xFFFFFFFFFFFF"};
  for (const std::string& input : inputs) {
    CAPTURE(input);
    (void)decode_html_entities(input);
    (void)collapse_whitespace(input);
    (void)html_to_text(input);
    (void)escape_html(input);
    (void)looks_double_escaped(input);
    (void)looks_like_html(input);
  }
  CHECK(html_to_text("&#") == "&#");
}

TEST_CASE("a quoted value that never closes does not swallow the rest of the text") {
  CHECK(html_to_text(R"(<a title="x>link</a> and <b>bold</b>)") == "link and bold");
}

TEST_CASE("broken markup is handled in linear time") {
  // Each of these would take minutes if every '<' rescanned the rest of the input.
  std::string lone_lt;
  std::string open_quotes;
  std::string bogus;
  for (int i = 0; i < 200000; ++i) {
    lone_lt += "x <y ";
    open_quotes += "<a b='";
    bogus += "<!x ";
  }
  CHECK(html_to_text(lone_lt).size() == lone_lt.size() - 1);
  CHECK(html_to_text(open_quotes + ">") == "");
  CHECK(html_to_text(bogus) == collapse_whitespace(bogus));
  CHECK_FALSE(looks_like_html(lone_lt));
  CHECK_FALSE(looks_double_escaped(lone_lt));
}

TEST_CASE("edit_distance counts a swap of neighbours once, for did-you-mean") {
  using feedmerge::normalize::edit_distance;
  CHECK(edit_distance("check", "check") == 0);
  CHECK(edit_distance("chekc", "check") == 1);  // swapped
  CHECK(edit_distance("chek-config", "check-config") == 1);
  CHECK(edit_distance("", "feeds") == 5);
  CHECK(edit_distance("feeds", "stories") == edit_distance("stories", "feeds"));
  CHECK(edit_distance("ab", "ba") == 1);
}
