#include "feedmerge/normalize/url.h"

#include <doctest/doctest.h>

#include <string>
#include <string_view>

using feedmerge::normalize::absolutize_html_urls;
using feedmerge::normalize::feed_identity;
using feedmerge::normalize::is_absolute_url;
using feedmerge::normalize::resolve_url;

namespace {

struct Row {
  std::string_view ref;
  std::string_view expected;
};

constexpr std::string_view kRfcBase = "http://a/b/c/d;p?q";

}  // namespace

TEST_CASE("resolve_url gives the RFC 3986 section 5.4.1 normal examples") {
  const Row rows[] = {
      {"g:h", "g:h"},
      {"g", "http://a/b/c/g"},
      {"./g", "http://a/b/c/g"},
      {"g/", "http://a/b/c/g/"},
      {"/g", "http://a/g"},
      {"//g", "http://g"},
      {"?y", "http://a/b/c/d;p?y"},
      {"g?y", "http://a/b/c/g?y"},
      {"#s", "http://a/b/c/d;p?q#s"},
      {"g#s", "http://a/b/c/g#s"},
      {"g?y#s", "http://a/b/c/g?y#s"},
      {";x", "http://a/b/c/;x"},
      {"g;x", "http://a/b/c/g;x"},
      {"g;x?y#s", "http://a/b/c/g;x?y#s"},
      {"", "http://a/b/c/d;p?q"},
      {".", "http://a/b/c/"},
      {"./", "http://a/b/c/"},
      {"..", "http://a/b/"},
      {"../", "http://a/b/"},
      {"../g", "http://a/b/g"},
      {"../..", "http://a/"},
      {"../../", "http://a/"},
      {"../../g", "http://a/g"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.ref);
    CHECK(resolve_url(kRfcBase, row.ref) == row.expected);
  }
}

TEST_CASE("resolve_url gives the RFC 3986 section 5.4.2 abnormal examples") {
  const Row rows[] = {
      {"../../../g", "http://a/g"},
      {"../../../../g", "http://a/g"},
      {"/./g", "http://a/g"},
      {"/../g", "http://a/g"},
      {"g.", "http://a/b/c/g."},
      {".g", "http://a/b/c/.g"},
      {"g..", "http://a/b/c/g.."},
      {"..g", "http://a/b/c/..g"},
      {"./../g", "http://a/b/g"},
      {"./g/.", "http://a/b/c/g/"},
      {"g/./h", "http://a/b/c/g/h"},
      {"g/../h", "http://a/b/c/h"},
      {"g;x=1/./y", "http://a/b/c/g;x=1/y"},
      {"g;x=1/../y", "http://a/b/c/y"},
      {"g?y/./x", "http://a/b/c/g?y/./x"},
      {"g?y/../x", "http://a/b/c/g?y/../x"},
      {"g#s/./x", "http://a/b/c/g#s/./x"},
      {"g#s/../x", "http://a/b/c/g#s/../x"},
      {"../../../../", "http://a/"},
      {"../../../..", "http://a/"},
      {"/../../g/../h/./", "http://a/h/"},
      {"../../../g?y/../x#s/./z", "http://a/g?y/../x#s/./z"},
      {"http:g", "http:g"},  // strict parsers keep it, as RFC 3986 recommends
  };
  for (const Row& row : rows) {
    CAPTURE(row.ref);
    CHECK(resolve_url(kRfcBase, row.ref) == row.expected);
  }
}

TEST_CASE("resolve_url handles the references feeds use") {
  const std::string_view base = "https://example.com/blog/feed.xml?format=rss#top";
  CHECK(resolve_url(base, "/2020/09/post") == "https://example.com/2020/09/post");
  CHECK(resolve_url(base, "post.html") == "https://example.com/blog/post.html");
  CHECK(resolve_url(base, "//cdn.example.net/img.png") == "https://cdn.example.net/img.png");
  CHECK(resolve_url(base, "?page=2") == "https://example.com/blog/feed.xml?page=2");
  CHECK(resolve_url(base, "#comments") == "https://example.com/blog/feed.xml?format=rss#comments");
  CHECK(resolve_url("https://example.com", "about") == "https://example.com/about");
}

TEST_CASE("xml:base chains resolve each level against the one above") {
  std::string base = "https://example.com/blog/";
  base = resolve_url(base, "2020/");
  CHECK(base == "https://example.com/blog/2020/");
  CHECK(resolve_url(base, "posts/1.html") == "https://example.com/blog/2020/posts/1.html");
  base = resolve_url(base, "../archive/");
  CHECK(base == "https://example.com/blog/archive/");
  base = resolve_url(base, "https://other.org/x/");
  CHECK(base == "https://other.org/x/");
  CHECK(resolve_url(base, "y") == "https://other.org/x/y");
}

TEST_CASE("absolute references of any scheme are returned as they are") {
  CHECK(resolve_url("https://example.com/", "mailto:jane@example.com") ==
        "mailto:jane@example.com");
  CHECK(resolve_url("https://example.com/", "HTTPS://Other.Example/A") ==
        "HTTPS://Other.Example/A");
  CHECK(resolve_url("https://example.com/", "urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a") ==
        "urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a");
  CHECK(resolve_url("https://example.com/", "  http://x.example/a \n") == "http://x.example/a");
}

TEST_CASE("resolve_url trims white space and percent-encodes what URLs forbid") {
  const std::string_view base = "https://example.com/a/";
  CHECK(resolve_url(base, "  b.html \n") == "https://example.com/a/b.html");
  CHECK(resolve_url(base, "b c.html") == "https://example.com/a/b%20c.html");
  CHECK(resolve_url(base, "café.html") == "https://example.com/a/caf%C3%A9.html");
  CHECK(resolve_url(base, "x?q=a|b") == "https://example.com/a/x?q=a%7Cb");
  CHECK(resolve_url(base, "50%off") == "https://example.com/a/50%25off");
  CHECK(resolve_url(base, "x?a[]=1") == "https://example.com/a/x?a%5B%5D=1");
  // As in browsers, tabs and newlines vanish anywhere, other spaces are encoded.
  CHECK(resolve_url(base, "long/\n  link.html") == "https://example.com/a/long/%20%20link.html");
  CHECK(resolve_url(base, "wrapped-\r\n\tlink.html") == "https://example.com/a/wrapped-link.html");
  CHECK(resolve_url(base, "already%20encoded") == "https://example.com/a/already%20encoded");
}

TEST_CASE("resolve_url returns the trimmed ref when there is no usable base") {
  CHECK(resolve_url("", " /x ") == "/x");
  CHECK(resolve_url("/feed/", "x") == "x");
  CHECK(resolve_url("example.com/feed", "x") == "x");
  CHECK(resolve_url("https://[broken/", "x") == "x");
}

TEST_CASE("is_absolute_url checks for a scheme") {
  CHECK(is_absolute_url("https://example.com/"));
  CHECK(is_absolute_url("mailto:jane@example.com"));
  CHECK(is_absolute_url("urn:isbn:0451450523"));
  CHECK(is_absolute_url("git+ssh://host/repo"));
  CHECK(is_absolute_url("  http://x"));
  CHECK_FALSE(is_absolute_url("/path"));
  CHECK_FALSE(is_absolute_url("//host/path"));
  CHECK_FALSE(is_absolute_url("page.html"));
  CHECK_FALSE(is_absolute_url("./a:b"));
  CHECK_FALSE(is_absolute_url("1http://x"));
  CHECK_FALSE(is_absolute_url("a b:c"));
  CHECK_FALSE(is_absolute_url(""));
  CHECK_FALSE(is_absolute_url("?q=a:b"));
}

TEST_CASE("absolutize_html_urls rewrites relative href and src") {
  const std::string_view base = "https://example.com/blog/post/";
  CHECK(absolutize_html_urls(R"(<a href="/about">About</a>)", base) ==
        R"(<a href="https://example.com/about">About</a>)");
  CHECK(absolutize_html_urls(R"(<img src='img/a.png' alt="/not/a/url">)", base) ==
        R"(<img src='https://example.com/blog/post/img/a.png' alt="/not/a/url">)");
  CHECK(absolutize_html_urls("<img src=a.png>", base) ==
        "<img src=https://example.com/blog/post/a.png>");
  CHECK(absolutize_html_urls("<img src=a.png/>", base) ==
        "<img src=https://example.com/blog/post/a.png/>");
  CHECK(absolutize_html_urls(R"(<A HREF="x.html">)", base) ==
        R"(<A HREF="https://example.com/blog/post/x.html">)");
  CHECK(absolutize_html_urls(R"(<a href = "x.html" >)", base) ==
        R"(<a href = "https://example.com/blog/post/x.html" >)");
  CHECK(absolutize_html_urls(R"(<a href=" x.html ">)", base) ==
        R"(<a href="https://example.com/blog/post/x.html">)");
  CHECK(absolutize_html_urls(R"(<a href="#top">)", base) ==
        R"(<a href="https://example.com/blog/post/#top">)");
  CHECK(absolutize_html_urls(R"(<video poster="p.jpg" src="v.mp4" controls></video>)", base) ==
        R"(<video poster="https://example.com/blog/post/p.jpg" )"
        R"(src="https://example.com/blog/post/v.mp4" controls></video>)");
}

TEST_CASE("absolutize_html_urls decodes references in values and re-escapes the result") {
  const std::string_view base = "https://example.com/";
  CHECK(absolutize_html_urls(R"(<a href="page?a=1&amp;b=2">)", base) ==
        R"(<a href="https://example.com/page?a=1&amp;b=2">)");
  CHECK(absolutize_html_urls(R"(<a href="page?a=1&b=2">)", base) ==
        R"(<a href="https://example.com/page?a=1&amp;b=2">)");
  CHECK(absolutize_html_urls(R"(<a href="&#47;about">)", base) ==
        R"(<a href="https://example.com/about">)");
  CHECK(absolutize_html_urls(R"(<a href='it"s'>)", base) ==
        R"(<a href='https://example.com/it%22s'>)");
}

TEST_CASE("absolutize_html_urls resolves every candidate of a srcset") {
  const std::string_view base = "https://example.com/a/";
  CHECK(absolutize_html_urls(R"(<img srcset="s.jpg 1x, /l.jpg 2x,x.jpg">)", base) ==
        R"(<img srcset="https://example.com/a/s.jpg 1x, https://example.com/l.jpg 2x,)"
        R"(https://example.com/a/x.jpg">)");
  CHECK(absolutize_html_urls(R"(<source srcset="a.webp 480w,b.webp 800w">)", base) ==
        R"(<source srcset="https://example.com/a/a.webp 480w,https://example.com/a/b.webp 800w">)");
  CHECK(absolutize_html_urls(R"(<img srcset="  one.jpg  ,  two.jpg 2x  ">)", base) ==
        R"(<img srcset="  https://example.com/a/one.jpg  ,  https://example.com/a/two.jpg 2x  ">)");
  SUBCASE("absolute candidates and data: URLs with commas are kept") {
    const std::string html =
        R"(<img srcset="data:image/png;base64,iVBOR 1x, https://cdn.example/b.png 2x">)";
    CHECK(absolutize_html_urls(html, base) == html);
  }
}

TEST_CASE("absolutize_html_urls leaves everything else byte for byte") {
  const std::string_view base = "https://example.com/";
  const std::string untouched[] = {
      R"(<P CLASS=x>Hello &amp; <b>world</b> &nbsp;</P>)",
      R"(<a href="https://other.org/x">abs</a>)",
      R"(<a href="mailto:jane@example.com">mail</a>)",
      R"html(<a href="javascript:void(0)">js</a>)html",
      R"(<img src="">)",
      R"(<a data-href="x" xhref="y" hreflang="en" title="href=z">)",
      R"(text says href="x" and src=y, and a < b)",
      R"(<!-- <a href="x"> -->)",
      R"(<![CDATA[<a href="x">]]>)",
      R"(<script>document.write('<img src="x.png">')</script>)",
      R"(<STYLE>a[href="x"] { }</STYLE>)",
      R"(<a href="x)",
      R"(<a href=)",
      R"(<a)",
      "",
  };
  for (const std::string& html : untouched) {
    CAPTURE(html);
    CHECK(absolutize_html_urls(html, base) == html);
  }
  CHECK(absolutize_html_urls(R"(<script>x</script><img src="a.png">)", base) ==
        R"(<script>x</script><img src="https://example.com/a.png">)");
}

TEST_CASE("absolutize_html_urls is a no-op without an absolute base") {
  const std::string html = R"(<a href="/x">x</a>)";
  CHECK(absolutize_html_urls(html, "") == html);
  CHECK(absolutize_html_urls(html, "/relative/base") == html);
  // The base is only looked at once a value needs it: what came before is not half-rewritten,
  // and a srcset is not reformatted.
  const std::string mixed =
      R"(<a href="https://a.example/">a</a><img srcset=" https://a.example/1.png   1x "><a href="/x">)";
  CHECK(absolutize_html_urls(mixed, "") == mixed);
  CHECK(absolutize_html_urls(mixed, "not a url") == mixed);
}

TEST_CASE("URL functions survive truncated and arbitrary input") {
  std::string bytes;
  for (int i = 0; i < 256; ++i)
    bytes.push_back(static_cast<char>(i));
  const std::string html = R"(<a href="x?a=1&amp;b" src='y'><img srcset="a 1x, b 2x">)";
  for (std::size_t n = 0; n <= html.size(); ++n) {
    (void)absolutize_html_urls(html.substr(0, n), "https://example.com/");
  }
  for (std::size_t n = 0; n <= bytes.size(); n += 7) {
    const std::string input = bytes.substr(n) + bytes.substr(0, n);
    (void)absolutize_html_urls("<a href=\"" + input + "\">", "https://example.com/");
    (void)absolutize_html_urls("<img srcset='" + input + "'>", "https://example.com/");
    (void)resolve_url("https://example.com/", input);
    (void)resolve_url(input, "x");
    (void)is_absolute_url(input);
  }
  CHECK(resolve_url("https://example.com/",
                    "a\x01"
                    "b") == "https://example.com/a%01b");
}

TEST_CASE("absolutize_html_urls is linear on long and broken input") {
  std::string many;
  std::string broken;
  for (int i = 0; i < 100000; ++i) {
    many += "<img src=a.png>";
    broken += "<a href=x <b ";
  }
  const std::string out = absolutize_html_urls(many, "https://example.com/");
  CHECK(out.size() == many.size() + 100000 * std::string_view("https://example.com/").size());
  CHECK(absolutize_html_urls(broken, "https://example.com/").size() > broken.size());
}

TEST_CASE("redact_url hides the userinfo and every query value") {
  using feedmerge::normalize::redact_url;
  CHECK(redact_url("https://example.org/feed?api_key=s3cret") ==
        "https://example.org/feed?api_key=REDACTED");
  CHECK(redact_url("https://alice:S3cretPa55@example.org:8443/rss") ==
        "https://REDACTED@example.org:8443/rss");
  CHECK(redact_url("http://token@example.org/") == "http://REDACTED@example.org/");
  // The last '@' of the authority ends the userinfo, as in a password with an '@'.
  CHECK(redact_url("http://a:p@ss@example.org/x?u=a@b") ==
        "http://REDACTED@example.org/x?u=REDACTED");
  CHECK(redact_url("https://example.org/f?a=1&b=2;c=3&&token#top") ==
        "https://example.org/f?a=REDACTED&b=REDACTED;c=REDACTED&&REDACTED#top");
  // A '?' or '@' in the fragment is neither a query nor a userinfo.
  CHECK(redact_url("https://example.org/f#a?b=c") == "https://example.org/f#a?b=c");
  CHECK(redact_url("https://example.org/p@th") == "https://example.org/p@th");
  CHECK(redact_url("https://example.org/feed.xml") == "https://example.org/feed.xml");
  CHECK(redact_url("file:///srv/feeds/a.rss") == "file:///srv/feeds/a.rss");
  // Malformed URLs are still redacted: the rules work on the text.
  CHECK(redact_url("https://u:p@[bad/x?k=v") == "https://REDACTED@[bad/x?k=REDACTED");
  CHECK(redact_url("") == "");
}

TEST_CASE("redact_urls_in redacts every URL quoted in a message") {
  using feedmerge::normalize::redact_urls_in;
  CHECK(redact_urls_in("https://u:pw@a.org/f?key=K: HTTP 500 (failure 2 in a row)") ==
        "https://REDACTED@a.org/f?key=REDACTED: HTTP 500 (failure 2 in a row)");
  CHECK(redact_urls_in("refused to connect to 10.0.0.1 for http://a.org/x?t=1, "
                       "redirected from \"https://b.org/?s=2\".") ==
        "refused to connect to 10.0.0.1 for http://a.org/x?t=REDACTED, redirected from "
        "\"https://b.org/?s=REDACTED\".");
  CHECK(redact_urls_in("(see <http://x.org/?a=b>)") == "(see <http://x.org/?a=REDACTED>)");
  CHECK(redact_urls_in("no url here: a://") == "no url here: a://");
  CHECK(redact_urls_in("odd :// text ?x=1") == "odd :// text ?x=1");
  CHECK(redact_urls_in("") == "");
}

TEST_CASE("feed_identity folds the spellings of one feed URL that fetch the same thing") {
  // Issue 17: each of these was polled and stored as a feed of its own.
  constexpr std::string_view kSame = "http://127.0.0.1:8080/feed.xml";
  for (const std::string_view written : {
           "http://127.0.0.1:8080/feed.xml",
           "http://127.0.0.1:8080/feed.xml#frag",
           "http://127.0.0.1:8080/feed.xml?",
           "http://127.0.0.1:8080/feed.xml?#top",
           "HTTP://127.0.0.1:8080/./a/../feed.xml",
           "http://127.1:8080/feed.xml",
           "http://0x7f.0.0.1:8080/feed.xml",
           "http://2130706433:8080/feed.xml",
           "http://0177.0.0.1:8080/feed.xml",
           "http://127.0.0.1.:8080/feed.xml",
           "http://127.0.0.1:8080/%66eed.xml",
       }) {
    CAPTURE(written);
    CHECK(feed_identity(written) == kSame);
  }
  CHECK(feed_identity("http://LOCALHOST.:80/feed") == "http://localhost/feed");
  CHECK(feed_identity("http://localhost/feed") == "http://localhost/feed");
  CHECK(feed_identity("https://Example.COM:443") == "https://example.com/");
  CHECK(feed_identity("https://example.com:/feed") == "https://example.com/feed");
  CHECK(feed_identity("http://[0:0:0:0:0:0:0:1]:80/feed") == "http://[::1]/feed");
  CHECK(feed_identity("http://[::FFFF:7f00:1]/feed") == "http://[::ffff:127.0.0.1]/feed");
  CHECK(feed_identity("file://localhost/srv/a.xml") == "file:///srv/a.xml");
}

TEST_CASE("feed_identity keeps what can change the answer") {
  // Another port, scheme, path, query, host or credentials may be another feed.
  CHECK(feed_identity("http://example.com:8080/feed") == "http://example.com:8080/feed");
  CHECK(feed_identity("https://example.com:80/feed") == "https://example.com:80/feed");
  CHECK(feed_identity("http://example.com/feed/") == "http://example.com/feed/");
  CHECK(feed_identity("http://example.com/feed?a=1") == "http://example.com/feed?a=1");
  CHECK(feed_identity("http://example.com/Feed") == "http://example.com/Feed");
  CHECK(feed_identity("http://user:pw@example.com/feed") == "http://user:pw@example.com/feed");
  CHECK(feed_identity("http://localhost/feed") != feed_identity("http://127.0.0.1/feed"));
  // A name that only looks numeric stays a name.
  CHECK(feed_identity("http://1e100.net/feed") == "http://1e100.net/feed");
  CHECK(feed_identity("http://cafe.example/feed") == "http://cafe.example/feed");
  CHECK(feed_identity("not a url") == "not a url");
}
