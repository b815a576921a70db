// Rendering what the configured outputs publish: each [[output]] from the latest stories of
// its categories, the subscription list (/sources.opml) and the index page (/). Reads the
// stories and the feeds' state through a read-only Store; the caller
// owns it (the publisher's thread, or `feedmerge render`).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "feedmerge/config/config.h"
#include "feedmerge/error.h"
#include "feedmerge/model/feed.h"
#include "feedmerge/store/store.h"

namespace feedmerge::publish {

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

// The URLs of the feeds in `categories` (a feed's category matches a listed one exactly or as
// a parent folder: "news" takes "news/linux"). Empty categories: nullopt, every feed.
std::optional<std::vector<std::string>> feeds_in_categories(
    const config::Config& config, const std::vector<std::string>& categories);

// One [[output]].
Result<RenderedFile> render_output(const config::Config& config, const config::OutputConfig& output,
                                   store::Store& reader);

// Every output, then /sources.opml and /. `feeds` is the store's feed state (health column).
Result<std::vector<RenderedFile>> render_site(const config::Config& config, store::Store& reader,
                                              const std::vector<store::FeedState>& feeds);

}  // namespace feedmerge::publish
