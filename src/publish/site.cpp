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

EntryOptions entry_options(const OutputSettings& output) {
  return {.languages = output.headline_languages,
          .preferred_hosts = output.preferred_hosts,
          .language = output.language};
}

// The entries of `stories`; an outlet is named by its feed's configured title in `feeds`.
std::vector<Entry> make_entries(const std::vector<FeedRow>& feeds,
                                const std::vector<model::Story>& stories,
                                const EntryOptions& options) {
  std::unordered_map<std::string_view, std::string_view> titles;
  for (const FeedRow& feed : feeds)
    titles.emplace(feed.url, feed.title);
  std::vector<Entry> entries;
  entries.reserve(stories.size());
  for (const model::Story& story : stories) {
    std::vector<std::string> outlet_titles;
    for (const model::StoryMember& member : story.members) {
      const auto found = titles.find(member.feed_url);
      outlet_titles.emplace_back(found == titles.end() ? std::string_view() : found->second);
    }
    entries.push_back(make_entry(story, outlet_titles, options));
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

std::string health_status(const FeedStatus& status, bool enabled) {
  if (!enabled || status.disabled) return "disabled";
  if (!status.last_attempt) return "never polled";
  if (status.consecutive_failures > 0)
    return "failing (" + std::to_string(status.consecutive_failures) + " in a row)";
  return "ok";
}

FeedHealth health_row(const FeedRow& feed) {
  // Linked only when the URL has nothing to hide: not a local path, no secrets to redact.
  const bool linkable =
      !normalize::is_file_url(feed.url) && normalize::redact_url(feed.url) == feed.url;
  FeedHealth row{.title = {},
                 .url = linkable ? xml_safe_text(feed.url) : std::string(),
                 .status = "never polled"};
  const FeedStatus* status = feed.status ? &*feed.status : nullptr;
  row.title =
      outlet_name(feed.title, status ? status->title : "", status ? status->link : "", feed.url);
  if (!feed.enabled) row.status = "disabled";
  if (status) {
    row.status = health_status(*status, feed.enabled);
    if (status->last_success) row.last_success = normalize::format_rfc3339(*status->last_success);
    row.error =
        public_error(status->disabled ? status->disabled_reason : status->last_error, feed.url);
    row.items = status->item_count;
  }
  return row;
}

// The public subscription list: config::feeds_to_opml over the configured feeds, named by
// their own titles where the config gives none.
std::string sources_opml(const std::vector<FeedRow>& feeds) {
  config::OpmlListing listing{.own_titles = {}, .public_listing = true};
  std::vector<config::FeedConfig> listed;
  listed.reserve(feeds.size());
  for (const FeedRow& feed : feeds) {
    config::FeedConfig entry;
    entry.url = feed.url;
    entry.title = feed.title;
    entry.category = feed.category;
    entry.enabled = feed.enabled;
    listed.push_back(std::move(entry));
    if (feed.status) listing.own_titles.emplace(feed.url, feed.status->title);
  }
  return xml_safe_text(config::feeds_to_opml(listed, listing));
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

RenderedFile render_output(const OutputSettings& output, std::string_view base_url,
                           const std::vector<model::Story>& stories,
                           const std::vector<FeedRow>& feeds) {
  const std::vector<Entry> entries = make_entries(feeds, stories, entry_options(output));
  Channel channel = make_channel(output.title, output.description, base_url, output.path, entries);
  channel.language = clean_text(output.language);
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

Result<std::vector<RenderedFile>> render_site(const SiteSettings& settings,
                                              const SiteStories& stories,
                                              const std::vector<FeedRow>& feeds) {
  if (stories.outputs.size() != settings.outputs.size()) {
    return Error{ErrorKind::invalid_input,
                 "render: " + std::to_string(stories.outputs.size()) + " story lists for " +
                     std::to_string(settings.outputs.size()) + " outputs"};
  }
  std::vector<RenderedFile> files;
  model::Time newest{};
  for (std::size_t i = 0; i < settings.outputs.size(); ++i) {
    RenderedFile file =
        render_output(settings.outputs[i], settings.base_url, stories.outputs[i], feeds);
    newest = std::max(newest, file.updated);
    files.push_back(std::move(file));
  }

  if (settings.sources_opml) {
    files.push_back({.path = "/sources.opml",
                     .content_type = "text/x-opml; charset=utf-8",
                     .body = sources_opml(feeds),
                     .updated = newest,
                     .is_output = false});
  }

  // The index page speaks as the first output does (its title, its words and headlines).
  OutputSettings first;
  first.title = "feedmerge";
  if (!settings.outputs.empty()) first = settings.outputs.front();
  const std::vector<Entry> entries = make_entries(feeds, stories.index, entry_options(first));
  Channel channel = make_channel(first.title, "", settings.base_url, "/", entries);
  channel.language = clean_text(first.language);
  std::vector<OutputLink> links;
  for (const OutputSettings& output : settings.outputs)
    links.push_back(
        {output.path, clean_text(output.title), std::string(media_type(output.format))});
  std::vector<FeedHealth> health;
  health.reserve(feeds.size());
  for (const FeedRow& feed : feeds)
    health.push_back(health_row(feed));
  files.push_back({.path = "/",
                   .content_type = "text/html; charset=utf-8",
                   .body = write_index_html(channel, entries, links, health, settings.sources_opml),
                   .updated = channel.updated.value_or(model::Time{}),
                   .is_output = false});
  return files;
}

}  // namespace feedmerge::publish
