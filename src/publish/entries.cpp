#include "feedmerge/publish/entries.h"

#include <algorithm>

#include <boost/url/parse.hpp>

#include "feedmerge/normalize/text.h"
#include "feedmerge/normalize/url.h"
#include "feedmerge/publish/sanitize.h"

namespace feedmerge::publish {
namespace {

std::string host_of(std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return {};
  std::string host(parsed->encoded_host());
  if (host.starts_with("www.")) host.erase(0, 4);
  return host;
}

// The base for an item's relative URLs: its own link, else its feed's page, else the feed
// (redacted: a link resolved against it must not inherit its query's secrets).
std::string base_of(const model::StoryMember& member) {
  const std::string feed_url = normalize::redact_url(member.feed_url);
  for (std::string_view candidate :
       {std::string_view(member.item.link), std::string_view(member.feed_link),
        std::string_view(feed_url)}) {
    const std::string url = safe_url(candidate, {});
    if (!url.empty()) return url;
  }
  return {};
}

// The last segment of a path-like URL ("file:///srv/feeds/a.rss" -> "a.rss").
std::string_view file_name_of(std::string_view url) {
  const std::size_t slash = url.find_last_of('/');
  return slash == std::string_view::npos ? url.substr(url.find(':') + 1) : url.substr(slash + 1);
}

EntryMember make_member(const model::StoryMember& member, std::string_view configured_title) {
  EntryMember out;
  const std::string base = base_of(member);
  out.title = clean_text(member.item.title);
  out.link = safe_url(member.item.link, base);
  out.feed_url = published_feed_url(member.feed_url);
  out.feed_id = member.feed_id;
  out.feed_link = safe_url(member.feed_link, normalize::redact_url(member.feed_url));
  out.outlet = outlet_name(configured_title, member.feed_title, member.feed_link, member.feed_url);
  out.published = member.item.published.value_or(member.first_seen);
  return out;
}

void append_also_covered(std::string& html, const std::vector<EntryMember>& also) {
  if (also.empty()) return;
  html += "<p>Also covered by:</p><ul>";
  for (const EntryMember& member : also) {
    html += "<li>";
    if (!member.link.empty()) {
      html += "<a href=\"" + normalize::escape_html(member.link) + "\">";
      html += normalize::escape_html(member.outlet);
      html += "</a>";
    } else {
      html += normalize::escape_html(member.outlet);
    }
    if (!member.title.empty()) html += ": " + normalize::escape_html(member.title);
    html += "</li>";
  }
  html += "</ul>";
}

}  // namespace

std::string story_entry_id(std::int64_t story_id) {
  return "tag:feedmerge,2026:story/" + std::to_string(story_id);
}

std::string outlet_name(std::string_view configured_title, std::string_view feed_title,
                        std::string_view feed_link, std::string_view feed_url) {
  for (std::string_view title : {configured_title, feed_title}) {
    std::string name = clean_text(title);
    if (!name.empty()) return name;
  }
  for (std::string_view url : {feed_link, feed_url}) {
    std::string host = xml_safe_text(host_of(url));
    if (!host.empty()) return host;
  }
  // A local feed is named, never located: its file name, not its path.
  if (normalize::is_file_url(feed_url)) return clean_text(file_name_of(feed_url));
  return xml_safe_text(normalize::redact_url(feed_url));
}

std::string published_feed_url(std::string_view feed_url) {
  if (normalize::is_file_url(feed_url)) return {};
  return xml_safe_text(normalize::redact_url(feed_url));
}

Entry make_entry(const model::Story& story, const std::vector<std::string>& outlet_titles) {
  Entry entry;
  entry.story_id = story.id;
  entry.id = story_entry_id(story.id);
  entry.published = story.first_published;
  entry.updated = std::max(story.updated, story.first_published);
  if (story.members.empty()) return entry;
  // The story's last change is its members' own latest date, not when the store last wrote it
  // (a whole first poll is written at one instant). Never before the story's publication, and
  // never after the store saw it change (a date in the future is not a change yet).
  Time changed = story.first_published;
  for (const model::StoryMember& member : story.members)
    changed = std::max(
        changed, member.item.updated.value_or(member.item.published.value_or(member.first_seen)));
  entry.updated = std::clamp(changed, story.first_published, entry.updated);

  const auto configured = [&](std::size_t i) -> std::string_view {
    return i < outlet_titles.size() ? std::string_view(outlet_titles[i]) : std::string_view();
  };
  const model::StoryMember& representative = story.members.front();
  const model::Item& item = representative.item;
  const std::string base = base_of(representative);
  entry.source = make_member(representative, configured(0));
  entry.title = entry.source.title.empty() ? entry.source.outlet : entry.source.title;
  entry.link = entry.source.link;
  for (const std::string& author : item.authors) {
    std::string name = clean_text(author);
    if (!name.empty()) entry.authors.push_back(std::move(name));
  }
  for (std::size_t i = 0; i < story.members.size(); ++i) {
    if (i > 0) entry.also.push_back(make_member(story.members[i], configured(i)));
    for (const std::string& category : story.members[i].item.categories) {
      std::string term = clean_text(category);
      if (!term.empty() && std::find(entry.categories.begin(), entry.categories.end(), term) ==
                               entry.categories.end())
        entry.categories.push_back(std::move(term));
    }
  }
  // The summary is HTML in the model; readers take Atom's and JSON Feed's as plain text.
  entry.summary = clean_text(normalize::html_to_text(item.summary));
  entry.content_html = sanitize_html(item.content.empty() ? item.summary : item.content, base);
  append_also_covered(entry.content_html, entry.also);
  entry.image = safe_url(item.image, base, UrlUse::image);
  for (const model::Enclosure& enclosure : item.enclosures) {
    std::string url = safe_url(enclosure.url, base, UrlUse::media);
    if (url.empty()) continue;
    entry.enclosures.push_back(
        {.url = std::move(url), .type = clean_text(enclosure.type), .length = enclosure.length});
  }
  return entry;
}

std::string url_under(std::string_view base_url, std::string_view path) {
  std::string url(base_url);
  while (!url.empty() && url.back() == '/')
    url.pop_back();
  if (!path.starts_with('/')) url += '/';
  url += path;
  return url;
}

Channel make_channel(std::string_view title, std::string_view description,
                     std::string_view base_url, std::string_view path,
                     const std::vector<Entry>& entries) {
  Channel channel;
  channel.title = clean_text(title);
  channel.description = clean_text(description);
  channel.home_url = std::string(base_url);
  channel.self_url = url_under(base_url, path);
  channel.id = "tag:feedmerge,2026:output" + std::string(path);
  for (const Entry& entry : entries) {
    if (!channel.updated || entry.updated > *channel.updated) channel.updated = entry.updated;
  }
  return channel;
}

}  // namespace feedmerge::publish
