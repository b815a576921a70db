// The feed model: plain values that every format parser produces and every later stage reads.
// No behaviour, no dependencies; thread-compatible like any value type.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace feedmerge::model {

using Time = std::chrono::sys_seconds;

enum class FeedFormat {
  rss090,
  rss091,
  rss092,
  rss10,
  rss20,
  rss,  // <rss> with a missing or unknown version
  atom03,
  atom10,
  atom,  // <feed> without a known namespace
  json10,
  json11,
};

struct Enclosure {
  std::string url;
  std::string type;
  std::optional<std::int64_t> length;

  bool operator==(const Enclosure&) const = default;
};

struct Item {
  std::string id;
  std::string title;  // plain text
  std::string link;   // absolute where a base was known
  std::optional<Time> published;
  std::optional<Time> updated;
  std::vector<std::string> authors;
  std::string summary;  // HTML, not sanitised
  std::string content;  // HTML, not sanitised
  std::vector<std::string> categories;
  std::string image;
  std::vector<Enclosure> enclosures;

  bool operator==(const Item&) const = default;
};

// Hints a feed gives about how often to poll it (RSS ttl, sy:updatePeriod, skipHours...).
struct PollHints {
  std::optional<std::chrono::seconds> ttl;
  std::optional<std::chrono::seconds> update_period;  // sy:updatePeriod / sy:updateFrequency
  std::vector<int> skip_hours;                        // 0..23, GMT
  std::vector<int> skip_days;                         // 0 = Sunday .. 6 = Saturday

  bool operator==(const PollHints&) const = default;
};

struct Feed {
  FeedFormat format = FeedFormat::rss20;
  std::string title;        // plain text
  std::string link;         // the site's home page
  std::string description;  // plain text
  std::string language;
  std::optional<Time> updated;
  PollHints hints;
  std::vector<Item> items;  // document order

  bool operator==(const Feed&) const = default;
};

}  // namespace feedmerge::model
