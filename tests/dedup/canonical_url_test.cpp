#include "feedmerge/dedup/canonical_url.h"

#include <doctest/doctest.h>

#include <string>

using feedmerge::dedup::canonical_url;

TEST_CASE("canonical URL folds the forms of one article's address") {
  struct Case {
    const char* input;
    const char* expected;
  };
  const Case cases[] = {
      {"https://example.com/a/story", "https://example.com/a/story"},
      {"HTTP://Example.COM/a/story", "https://example.com/a/story"},
      {"https://www.example.com/a/story", "https://example.com/a/story"},
      {"https://m.example.com/a/story", "https://example.com/a/story"},
      {"https://example.com:443/a/story", "https://example.com/a/story"},
      {"http://example.com:80/a/story", "https://example.com/a/story"},
      {"https://example.com:8443/a/story", "https://example.com:8443/a/story"},
      {"https://example.com/a/story/", "https://example.com/a/story"},
      {"https://example.com/a/story/index.html", "https://example.com/a/story"},
      {"https://example.com/a/story#comments", "https://example.com/a/story"},
      {"https://example.com/a/story/amp", "https://example.com/a/story"},
      {"https://example.com/amp/a/story", "https://example.com/a/story"},
      {"https://example.com/a/story.amp.html", "https://example.com/a/story.html"},
      {"https://example.com/a/story?amp=1", "https://example.com/a/story"},
      {"https://example.com/a/story?utm_source=rss&utm_medium=feed", "https://example.com/a/story"},
      {"https://example.com/a/story?fbclid=XYZ&gclid=1", "https://example.com/a/story"},
      {"https://example.com/a/story?ref=home&cmpid=rss", "https://example.com/a/story"},
      {"https://example.com/read?id=42&utm_campaign=x", "https://example.com/read?id=42"},
      {"https://example.com/read?b=2&a=1", "https://example.com/read?a=1&b=2"},
      {"https://example.com/", "https://example.com"},
      {"mailto:someone@example.com", ""},
      {"not a url", ""},
  };
  for (const Case& c : cases) {
    CAPTURE(c.input);
    CHECK(canonical_url(c.input) == c.expected);
  }
}

TEST_CASE("canonical URL keeps parameters that name the article") {
  CHECK(canonical_url("https://example.com/?p=41917") == "https://example.com?p=41917");
  CHECK(canonical_url("https://example.com/?p=1") != canonical_url("https://example.com/?p=2"));
}

TEST_CASE("url_host drops www and case") {
  CHECK(feedmerge::dedup::url_host("https://WWW.CNBC.com/x") == "cnbc.com");
  CHECK(feedmerge::dedup::url_host("https://theverge.com/x") == "theverge.com");
}
