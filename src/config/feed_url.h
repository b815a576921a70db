// Feed URL rules shared by the config loader and the OPML import: which URLs a feed may have,
// how a relative file: URL is resolved, and when two URLs name the same feed. Pure.
#pragma once

#include <string>
#include <string_view>

namespace feedmerge::config::detail {

enum class FeedUrlStatus {
  ok,
  unsupported,     // not a URL, or not http/https with a host, or not file
  file_with_host,  // file://host/...: feedmerge reads local files only
};

struct CheckedFeedUrl {
  FeedUrlStatus status = FeedUrlStatus::unsupported;
  std::string url;  // as written, or the absolute file:/// URL a relative one resolves to
  bool is_file = false;
};

// `base_dir` is the absolute folder relative file: URLs resolve against.
CheckedFeedUrl check_feed_url(std::string_view url, std::string_view base_dir);

// The form in which URLs are compared to find a feed listed twice: scheme and host
// lower-cased, percent-encoding and dot segments normalised. An invalid URL stays as written.
std::string feed_url_key(std::string_view url);

}  // namespace feedmerge::config::detail
