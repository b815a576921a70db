#include "feedmerge/publish/settings.h"

namespace feedmerge::publish {

OutputSettings output_settings(const config::OutputConfig& output,
                               const config::DedupConfig& dedup) {
  return {.path = output.path,
          .format = output.format,
          .title = output.title,
          .description = output.description,
          .language = output.language,
          .headline_languages = dedup.languages,
          .preferred_hosts = dedup.preferred};
}

SiteSettings site_settings(const config::Config& config) {
  SiteSettings settings{.base_url = config::effective_base_url(config.server),
                        .sources_opml = config.publish.sources_opml,
                        .outputs = {}};
  settings.outputs.reserve(config.outputs.size());
  for (const config::OutputConfig& output : config.outputs)
    settings.outputs.push_back(output_settings(output, config.dedup));
  return settings;
}

std::optional<std::vector<std::string>> feeds_in_categories(
    const config::Config& config, const std::vector<std::string>& categories) {
  if (categories.empty()) return std::nullopt;
  std::vector<std::string> urls;
  for (const config::FeedConfig& feed : config.feeds) {
    if (config::in_categories(feed.category, categories)) urls.push_back(feed.url);
  }
  return urls;
}

}  // namespace feedmerge::publish
