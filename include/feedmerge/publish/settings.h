// The renderer's settings (site.h) made from the config: its [[output]]s, [server] base_url
// and [publish] options, and which feeds an output's categories take. The only place where
// publishing reads a config::Config; the renderer sees the plain values these return.
// Pure; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "feedmerge/config/config.h"
#include "feedmerge/publish/site.h"

namespace feedmerge::publish {

// `dedup` gives the headline languages and preferred hosts every output's entries use.
OutputSettings output_settings(const config::OutputConfig& output,
                               const config::DedupConfig& dedup = {});
SiteSettings site_settings(const config::Config& config);

// The URLs of the feeds in `categories` (a feed's category matches a listed one exactly or as
// a parent folder: "news" takes "news/linux"). Empty categories: nullopt, every feed.
std::optional<std::vector<std::string>> feeds_in_categories(
    const config::Config& config, const std::vector<std::string>& categories);

}  // namespace feedmerge::publish
