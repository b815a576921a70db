#include "feedmerge/publish/sanitize.h"

#include <doctest/doctest.h>

#include <string>

namespace feedmerge::publish {

constexpr std::string_view kBase = "https://news.example.org/2020/09/story.html";

TEST_CASE("relative links and images are made absolute against the item link") {
  CHECK(sanitize_html(R"~(<a href="/tags/x">X</a>)~", kBase) ==
        R"~(<a href="https://news.example.org/tags/x" rel="nofollow noopener noreferrer">X</a>)~");
  CHECK(sanitize_html(R"~(<img src="pic.png" alt="a">)~", kBase) ==
        R"~(<img src="https://news.example.org/2020/09/pic.png" alt="a">)~");
}

TEST_CASE("safe_url refuses script schemes however they are spelled") {
  for (const char* url : {"javascript:alert(1)", " JaVaScRiPt:alert(1)", "java\tscript:alert(1)",
                          "vbscript:msgbox(1)", "\x01javascript:alert(1)",
                          "data:text/html,<script>alert(1)</script>"}) {
    CAPTURE(url);
    CHECK(safe_url(url, kBase) == "");
    CHECK(safe_url(url, kBase, UrlUse::image) == "");
  }
  CHECK(safe_url("data:image/png;base64,iVBORw0KGgo=", kBase, UrlUse::image) ==
        "data:image/png;base64,iVBORw0KGgo=");
  CHECK(safe_url("data:image/svg+xml;base64,PHN2Zz4=", kBase, UrlUse::image) == "");
  CHECK(safe_url("data:image/png;base64,iVBORw0KGgo=", kBase, UrlUse::link) == "");
  CHECK(safe_url("mailto:desk@example.org", kBase) == "mailto:desk@example.org");
  CHECK(safe_url("mailto:desk@example.org", kBase, UrlUse::media) == "");
  CHECK(safe_url("other.html", "") == "");
}

TEST_CASE("scripts, styles, frames, forms and event handlers are removed") {
  const std::string out = sanitize_html(
      R"~(<p onclick="steal()" style="color:red">Hi<script>alert(1)</script><style>p{}</style>)~"
      R"~(<iframe src="https://evil.example/"></iframe><object data="x"></object>)~"
      R"~(<embed src="x.swf"><form action="/x"><input name="a"></form>)~"
      R"~(<a href="javascript:alert(1)" onmouseover="x()">link</a>)~"
      R"~(<img src="x.png" onerror="alert(1)"></p>)~",
      kBase);
  // <form> closes an open <p>, as in a browser; what follows it stays.
  CHECK(out == R"~(<p>Hi</p><a rel="nofollow noopener noreferrer">link</a>)~"
               R"~(<img src="https://news.example.org/2020/09/x.png"><p></p>)~");
}

TEST_CASE("entity-encoded script URLs are refused after decoding") {
  CHECK(sanitize_html(R"~(<a href="&#106;avascript:alert(1)">x</a>)~", kBase) ==
        R"~(<a rel="nofollow noopener noreferrer">x</a>)~");
  CHECK(sanitize_html(R"~(<a href="jav&#x09;ascript:alert(1)">x</a>)~", kBase) ==
        R"~(<a rel="nofollow noopener noreferrer">x</a>)~");
}

// tests/data/hostile/html/nested-divs-20k: a recursive walk overflowed the stack under ASan.
TEST_CASE("markup nested 20,000 deep is written without recursion, its depth capped") {
  std::string html;
  for (int i = 0; i < 20000; ++i)
    html += "<div><b>";
  html += "deep text";
  const std::string out = sanitize_html(html, kBase);
  CHECK(out.find("deep text") != std::string::npos);
  std::size_t opened = 0;
  for (std::size_t at = out.find("<div>"); at != std::string::npos; at = out.find("<div>", at + 1))
    ++opened;
  std::size_t closed = 0;
  for (std::size_t at = out.find("</div>"); at != std::string::npos;
       at = out.find("</div>", at + 1))
    ++closed;
  CHECK(opened == closed);
  CHECK(opened > 0);
  CHECK(opened <= 64);
  // Shallow markup is written in full, each element closed after its content.
  CHECK(sanitize_html("<div><p>a<b>b</b></p>c</div>", kBase) == "<div><p>a<b>b</b></p>c</div>");
}

TEST_CASE("broken HTML is repaired, not truncated") {
  CHECK(sanitize_html("<p>one <b>two <i>three</p><p>four", kBase) ==
        "<p>one <b>two <i>three</i></b></p><p><b><i>four</i></b></p>");
  CHECK(sanitize_html("a < b && c > d", kBase) == "a &lt; b &amp;&amp; c &gt; d");
  CHECK(sanitize_html("<ul><li>one<li>two</ul>", kBase) == "<ul><li>one</li><li>two</li></ul>");
}

TEST_CASE("unknown tags are unwrapped and their text kept") {
  CHECK(sanitize_html("<custom-tag>kept <font color=red>text</font></custom-tag>", kBase) ==
        "kept text");
}

TEST_CASE("characters that XML 1.0 forbids are removed, invalid UTF-8 replaced") {
  CHECK(xml_safe_text(std::string("a\x01"
                                  "b\x1F"
                                  "c\tnl\n",
                                  10)) == "abc\tnl\n");
  CHECK(xml_safe_text("caf\xC3\xA9 \xF0\x9F\x98\x80") == "caf\xC3\xA9 \xF0\x9F\x98\x80");
  CHECK(xml_safe_text("bad \xC3 end") == "bad \xEF\xBF\xBD end");
  CHECK(xml_safe_text("\xEF\xBF\xBEx\xEF\xBF\xBF") == "x");                        // U+FFFE, U+FFFF
  CHECK(xml_safe_text("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate
  CHECK(sanitize_html("<p>x\x0By</p>", kBase) == "<p>xy</p>");
}

TEST_CASE("titles lose control characters but keep their text as written") {
  CHECK(clean_text("C++ <vector> \x07 \"big\"") == "C++ <vector> \"big\"");
  CHECK(clean_text("  Fish   &amp;   chips ") == "Fish &amp; chips");  // plain text: not decoded
  CHECK(clean_text("שלום עולם 😀") == "שלום עולם 😀");
}

TEST_CASE("safe_url gives no URL for an empty one instead of the base") {
  CHECK(safe_url("", "https://example.org/post/1") == "");
  CHECK(safe_url(" \t", "https://example.org/post/1", UrlUse::image) == "");
}

TEST_CASE("safe_url drops the credentials a link inherits from the feed URL") {
  CHECK(safe_url("/post/2", "https://alice:S3cret@example.org/feed") ==
        "https://example.org/post/2");
  CHECK(safe_url("http://u@example.org/a?b=c", "") == "http://example.org/a?b=c");
  CHECK(safe_url("https://example.org/p@th", "") == "https://example.org/p@th");
}

}  // namespace feedmerge::publish
