// Feed URL rules shared by the config loader and the OPML import: which URLs a feed may have,
// how a relative file: URL is resolved, and when two URLs name the same feed. Pure.
#pragma once

#include <string>
#include <string_view>

namespace feedmerge::config::detail {

enum class FeedUrlStatus {
  ok,
  unsupported,     // not a URL, or not http/https/feed with a host, or not file
  file_with_host,  // file://host/...: feedmerge reads local files only
};

struct CheckedFeedUrl {
  FeedUrlStatus status = FeedUrlStatus::unsupported;
  // As written, except: the absolute file:/// URL a relative one resolves to; the http(s) URL
  // a feed: one stands for.
  std::string url;
  bool is_file = false;
};

// `base_dir` is the absolute folder relative file: URLs resolve against.
CheckedFeedUrl check_feed_url(std::string_view url, std::string_view base_dir);

// feed://example.com/rss and feed:https://example.com/rss, the old "subscribe" links, as the
// http(s) URL they stand for; any other text as it is.
std::string subscription_url(std::string_view url);

// The form in which URLs are compared to find one feed listed twice: normalize::feed_identity
// (the spellings that fetch the same thing), and, since people copy a feed's link in either
// form, http and https, and a path with or without its trailing slash, taken as one feed.
// An invalid URL stays as written.
std::string same_feed_key(std::string_view url);

}  // namespace feedmerge::config::detail
