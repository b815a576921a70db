#include "feedmerge/publish/site.h"

#include <algorithm>
#include <unordered_map>

#include "feedmerge/config/opml.h"
#include "feedmerge/normalize/date.h"
#include "feedmerge/normalize/url.h"
#include "feedmerge/publish/entries.h"
#include "feedmerge/publish/sanitize.h"
#include "feedmerge/publish/writers.h"

namespace feedmerge::publish {
namespace {

constexpr int kIndexStories = 50;

std::vector<Entry> make_entries(const config::Config& config,
                                const std::vector<model::Story>& stories) {
  std::unordered_map<std::string_view, std::string_view> titles;
  for (const config::FeedConfig& feed : config.feeds)
    titles.emplace(feed.url, feed.title);
  std::vector<Entry> entries;
  entries.reserve(stories.size());
  for (const model::Story& story : stories) {
    std::vector<std::string> outlet_titles;
    for (const model::StoryMember& member : story.members) {
      const auto found = titles.find(member.feed_url);
      outlet_titles.emplace_back(found == titles.end() ? std::string_view() : found->second);
    }
    entries.push_back(make_entry(story, outlet_titles));
  }
  return entries;
}

std::string_view media_type(config::OutputFormat format) {
  switch (format) {
    case config::OutputFormat::rss:
      return "application/rss+xml";
    case config::OutputFormat::atom:
      return "application/atom+xml";
    case config::OutputFormat::json:
      return "application/feed+json";
  }
  return "application/octet-stream";
}

std::string health_status(const store::FeedState& state, bool enabled) {
  if (!enabled || state.disabled) return "disabled";
  if (!state.last_attempt) return "never polled";
  if (state.consecutive_failures > 0)
    return "failing (" + std::to_string(state.consecutive_failures) + " in a row)";
  return "ok";
}

}  // namespace

std::string public_error(std::string_view error, std::string_view feed_url) {
  std::string out = normalize::redact_urls_in(error);
  if (normalize::is_file_url(feed_url)) {
    std::string_view path = feed_url.substr(5);  // after "file:"
    while (path.starts_with("//"))
      path.remove_prefix(1);
    const std::string_view name = path.substr(path.find_last_of('/') + 1);
    for (std::string_view located : {feed_url, path}) {
      for (std::size_t at = out.find(located); !located.empty() && at != std::string::npos;
           at = out.find(located, at + name.size()))
        out.replace(at, located.size(), name);
    }
  }
  return xml_safe_text(out);
}

std::string_view content_type_of(config::OutputFormat format) {
  switch (format) {
    case config::OutputFormat::rss:
      return "application/rss+xml; charset=utf-8";
    case config::OutputFormat::atom:
      return "application/atom+xml; charset=utf-8";
    case config::OutputFormat::json:
      return "application/feed+json; charset=utf-8";
  }
  return "application/octet-stream";
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

Result<RenderedFile> render_output(const config::Config& config, const config::OutputConfig& output,
                                   store::Store& reader) {
  const auto urls = feeds_in_categories(config, output.categories);
  auto stories = reader.latest(urls ? &*urls : nullptr, output.limit);
  if (!stories) return stories.error();
  const std::vector<Entry> entries = make_entries(config, *stories);
  const Channel channel =
      make_channel(output.title, output.description, config::effective_base_url(config.server),
                   output.path, entries);
  RenderedFile file{.path = output.path,
                    .content_type = std::string(content_type_of(output.format)),
                    .body = {},
                    .updated = channel.updated.value_or(model::Time{}),
                    .is_output = true};
  switch (output.format) {
    case config::OutputFormat::rss:
      file.body = write_rss(channel, entries);
      break;
    case config::OutputFormat::atom:
      file.body = write_atom(channel, entries);
      break;
    case config::OutputFormat::json:
      file.body = write_json_feed(channel, entries);
      break;
  }
  return file;
}

Result<std::vector<RenderedFile>> render_site(const config::Config& config, store::Store& reader,
                                              const std::vector<store::FeedState>& feeds) {
  std::vector<RenderedFile> files;
  model::Time newest{};
  for (const config::OutputConfig& output : config.outputs) {
    auto file = render_output(config, output, reader);
    if (!file) return file.error();
    newest = std::max(newest, file->updated);
    files.push_back(std::move(*file));
  }

  if (config.publish.sources_opml) {
    config::OpmlListing listing{.own_titles = {}, .public_listing = true};
    for (const store::FeedState& state : feeds)
      listing.own_titles.emplace(state.url, state.title);
    std::string opml = config::config_to_opml(config, listing);
    files.push_back({.path = "/sources.opml",
                     .content_type = "text/x-opml; charset=utf-8",
                     .body = xml_safe_text(opml),
                     .updated = newest,
                     .is_output = false});
  }

  auto stories = reader.latest(nullptr, kIndexStories);
  if (!stories) return stories.error();
  const std::vector<Entry> entries = make_entries(config, *stories);
  const std::string base_url = config::effective_base_url(config.server);
  const std::string title =
      config.outputs.empty() ? std::string("feedmerge") : config.outputs.front().title;
  Channel channel = make_channel(title, "", base_url, "/", entries);
  std::vector<OutputLink> links;
  for (const config::OutputConfig& output : config.outputs)
    links.push_back(
        {output.path, clean_text(output.title), std::string(media_type(output.format))});
  std::unordered_map<std::string_view, const store::FeedState*> states;
  for (const store::FeedState& state : feeds)
    states.emplace(state.url, &state);
  std::vector<FeedHealth> health;
  for (const config::FeedConfig& feed : config.feeds) {
    // Linked only when the URL has nothing to hide: not a local path, no secrets to redact.
    const bool linkable =
        !normalize::is_file_url(feed.url) && normalize::redact_url(feed.url) == feed.url;
    FeedHealth row{.title = {},
                   .url = linkable ? xml_safe_text(feed.url) : std::string(),
                   .status = "never polled"};
    const auto found = states.find(feed.url);
    const store::FeedState* state = found == states.end() ? nullptr : found->second;
    row.title =
        outlet_name(feed.title, state ? state->title : "", state ? state->link : "", feed.url);
    if (!feed.enabled) row.status = "disabled";
    if (state) {
      row.status = health_status(*state, feed.enabled);
      if (state->last_success) row.last_success = normalize::format_rfc3339(*state->last_success);
      row.error =
          public_error(state->disabled ? state->disabled_reason : state->last_error, feed.url);
      row.items = state->item_count;
    }
    health.push_back(std::move(row));
  }
  files.push_back(
      {.path = "/",
       .content_type = "text/html; charset=utf-8",
       .body = write_index_html(channel, entries, links, health, config.publish.sources_opml),
       .updated = channel.updated.value_or(model::Time{}),
       .is_output = false});
  return files;
}

}  // namespace feedmerge::publish
