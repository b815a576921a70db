// The renderer: what the configured outputs publish, as bytes, from values alone: each
// [[output]] from its stories, the subscription list (/sources.opml) and the index page (/).
// No database, no config object, no clock, no environment, no file: the caller (the publisher,
// `feedmerge render`, through site_reader.h) reads the values and passes them in. The same
// values give the same bytes. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "feedmerge/config/config.h"
#include "feedmerge/error.h"
#include "feedmerge/model/feed.h"
#include "feedmerge/model/story.h"

namespace feedmerge::publish {

// How many stories the index page (/) lists: the latest of every feed.
inline constexpr int kIndexStories = 50;

// One [[output]] as the renderer needs it (which stories it shows is the caller's query).
struct OutputSettings {
  std::string path = "/feed.xml";  // URL path
  config::OutputFormat format = config::OutputFormat::rss;
  std::string title{};
  std::string description{};
  std::string language{};  // the channel's language and its words; "" = unsaid, words in en
  std::vector<std::string> headline_languages{};  // [dedup] languages (EntryOptions)
  std::vector<std::string> preferred_hosts{};     // [dedup] preferred

  bool operator==(const OutputSettings&) const = default;
};

struct SiteSettings {
  std::string base_url{};    // the server's public URL: config::effective_base_url([server])
  bool sources_opml = true;  // [publish] sources_opml
  std::vector<OutputSettings> outputs{};  // in config order

  bool operator==(const SiteSettings&) const = default;
};

// What the store last recorded of a feed, for its row on the index page and its name.
struct FeedStatus {
  std::string title{};  // the feed's own, from its last document
  std::string link{};   // its home page
  std::optional<model::Time> last_attempt{};
  std::optional<model::Time> last_success{};
  int consecutive_failures = 0;
  std::string last_error{};  // "" after a success
  bool disabled = false;
  std::string disabled_reason{};
  std::int64_t item_count = 0;

  bool operator==(const FeedStatus&) const = default;
};

// One configured [[feed]], in config order: its own settings and its status.
struct FeedRow {
  std::string url{};       // as configured: the feed's identity
  std::string title{};     // the configured title; "" = the feed's own
  std::string category{};  // "" = none
  bool enabled = true;
  std::optional<FeedStatus> status{};  // nullopt: the store does not know the feed (yet)

  bool operator==(const FeedRow&) const = default;
};

// The stories a site shows.
struct SiteStories {
  std::vector<std::vector<model::Story>> outputs{};  // one list per SiteSettings::outputs
  std::vector<model::Story> index{};                 // the latest kIndexStories of every feed

  bool operator==(const SiteStories&) const = default;
};

struct RenderedFile {
  std::string path;  // URL path: "/feed.xml", "/sources.opml", "/"
  std::string content_type;
  std::string body;
  model::Time updated{};   // the newest story in it (Last-Modified); epoch when it has none
  bool is_output = false;  // a configured [[output]]: also written to [publish] output_dir

  bool operator==(const RenderedFile&) const = default;
};

std::string_view content_type_of(config::OutputFormat format);  // with "; charset=utf-8"

// A feed's error as public pages (the index, /healthz) show it: URLs redacted, and a local
// feed's path (in "cannot open /srv/feeds/a.rss") replaced by its file name.
std::string public_error(std::string_view error, std::string_view feed_url);

// One [[output]] over `stories` (newest first, as the output lists them). `feeds` names the
// outlets: a member's feed listed there with a title is shown under that title.
RenderedFile render_output(const OutputSettings& output, std::string_view base_url,
                           const std::vector<model::Story>& stories,
                           const std::vector<FeedRow>& feeds);

// Every output, then /sources.opml (when enabled) and /. An error when `stories` does not
// hold one list per output.
Result<std::vector<RenderedFile>> render_site(const SiteSettings& settings,
                                              const SiteStories& stories,
                                              const std::vector<FeedRow>& feeds);

}  // namespace feedmerge::publish
