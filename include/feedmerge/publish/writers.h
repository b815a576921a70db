// The published formats: RSS 2.0 (RSS Advisory Board profile), Atom 1.0 (RFC 4287), JSON Feed
// 1.1, the OPML subscription list and the HTML index page. Entries arrive sanitised
// (entries.h); the writers escape every field for their syntax and write times in its own
// format. Output is deterministic: the same entries give the same bytes, so an unchanged
// feed keeps its ETag. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "feedmerge/publish/entries.h"

namespace feedmerge::publish {

std::string write_rss(const Channel& channel, const std::vector<Entry>& entries);
std::string write_atom(const Channel& channel, const std::vector<Entry>& entries);
std::string write_json_feed(const Channel& channel, const std::vector<Entry>& entries);

// "Tue, 22 Sep 2020 14:05:00 +0000" (RFC 822 with a four-digit year, as RSS 2.0 wants).
std::string format_rfc822(Time time);
// "Tue, 22 Sep 2020 14:05:00 GMT" (HTTP dates, RFC 9110).
std::string format_http_date(Time time);

// One link of the index page to an output.
struct OutputLink {
  std::string path;   // "/feed.xml"
  std::string title;  // the output's title
  std::string type;  // media type: application/rss+xml, application/atom+xml, application/feed+json
};

// One row of the index page's feed health table; texts are plain (escaped by the writer).
struct FeedHealth {
  std::string title{};
  std::string url{};     // the link to the feed: "" for none (a local feed, or one with secrets)
  std::string status{};  // "ok", "failing (N in a row)", "disabled", "never polled"
  std::string last_success{};  // RFC 3339, or ""
  std::string error{};
  std::int64_t items = 0;
};

std::string write_index_html(const Channel& channel, const std::vector<Entry>& entries,
                             const std::vector<OutputLink>& outputs,
                             const std::vector<FeedHealth>& feeds, bool link_sources_opml = true);

}  // namespace feedmerge::publish
