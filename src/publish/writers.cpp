#include "feedmerge/publish/writers.h"

#include <array>
#include <cstdio>

#include <boost/json.hpp>

#include "feedmerge/normalize/date.h"

namespace feedmerge::publish {
namespace {

constexpr std::string_view kGenerator = "feedmerge";
constexpr std::string_view kVersion = "0.1.0";

// Escapes for XML text and double-quoted attribute values; the input is already
// xml_safe_text, so no forbidden character can reach the output.
class Xml {
 public:
  Xml& raw(std::string_view text) {
    out_ += text;
    return *this;
  }
  Xml& text(std::string_view text) {
    for (char c : text) {
      switch (c) {
        case '&':
          out_ += "&amp;";
          break;
        case '<':
          out_ += "&lt;";
          break;
        case '>':
          out_ += "&gt;";
          break;
        case '"':
          out_ += "&quot;";
          break;
        default:
          out_ += c;
      }
    }
    return *this;
  }
  // <name>text</name> on its own line, nothing when `value` is empty.
  Xml& element(std::string_view indent, std::string_view name, std::string_view value) {
    if (value.empty()) return *this;
    raw(indent).raw("<").raw(name).raw(">").text(value).raw("</").raw(name).raw(">\n");
    return *this;
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

std::string rfc3339(Time time) {
  return normalize::format_rfc3339(time);
}

std::string date_with(Time time, const char* zone) {
  static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                       "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const auto day = std::chrono::floor<std::chrono::days>(time);
  const std::chrono::year_month_day date{day};
  const std::chrono::hh_mm_ss clock{time - day};
  const std::chrono::weekday weekday{day};
  char text[64];
  std::snprintf(text, sizeof text, "%s, %02u %s %04d %02d:%02d:%02d %s",
                kDays[weekday.c_encoding()], static_cast<unsigned>(date.day()),
                kMonths[static_cast<unsigned>(date.month()) - 1], static_cast<int>(date.year()),
                static_cast<int>(clock.hours().count()), static_cast<int>(clock.minutes().count()),
                static_cast<int>(clock.seconds().count()), zone);
  return text;
}

std::string enclosure_type(const model::Enclosure& enclosure) {
  return enclosure.type.empty() ? "application/octet-stream" : enclosure.type;
}

}  // namespace

std::string format_rfc822(Time time) {
  return date_with(time, "+0000");
}

std::string format_http_date(Time time) {
  return date_with(time, "GMT");
}

std::string write_rss(const Channel& channel, const std::vector<Entry>& entries) {
  Xml x;
  x.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
  x.raw(
      "<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\" "
      "xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\n<channel>\n");
  x.element("  ", "title", channel.title);
  x.element("  ", "link", channel.home_url);
  // description is required; the title says what the feed is when the config does not.
  x.element("  ", "description", channel.description.empty() ? channel.title : channel.description);
  x.raw("  <atom:link href=\"").text(channel.self_url);
  x.raw("\" rel=\"self\" type=\"application/rss+xml\"/>\n");
  x.element("  ", "language", channel.language);
  if (channel.updated) x.element("  ", "lastBuildDate", format_rfc822(*channel.updated));
  x.raw("  <generator>").raw(kGenerator).raw(" ").raw(kVersion).raw("</generator>\n");
  x.raw("  <docs>https://www.rssboard.org/rss-specification</docs>\n");
  for (const Entry& entry : entries) {
    x.raw("  <item>\n");
    x.element("    ", "title", entry.title);
    x.element("    ", "link", entry.link);
    x.raw("    <guid isPermaLink=\"false\">").text(entry.id).raw("</guid>\n");
    x.element("    ", "pubDate", format_rfc822(entry.published));
    x.element("    ", "description", entry.content_html);
    // RSS <author> must be an e-mail address: names go to dc:creator, as the profile advises.
    for (const std::string& author : entry.authors)
      x.element("    ", "dc:creator", author);
    for (const std::string& category : entry.categories)
      x.element("    ", "category", category);
    // The profile allows one enclosure per item: the first.
    if (!entry.enclosures.empty()) {
      const model::Enclosure& enclosure = entry.enclosures.front();
      x.raw("    <enclosure url=\"").text(enclosure.url).raw("\" length=\"");
      x.raw(std::to_string(enclosure.length.value_or(0))).raw("\" type=\"");
      x.text(enclosure_type(enclosure)).raw("\"/>\n");
    }
    if (!entry.source.feed_url.empty()) {
      x.raw("    <source url=\"").text(entry.source.feed_url).raw("\">");
      x.text(entry.source.outlet).raw("</source>\n");
    }
    x.raw("  </item>\n");
  }
  x.raw("</channel>\n</rss>\n");
  return x.take();
}

std::string write_atom(const Channel& channel, const std::vector<Entry>& entries) {
  Xml x;
  x.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
  x.raw("<feed xmlns=\"http://www.w3.org/2005/Atom\"");
  if (!channel.language.empty()) x.raw(" xml:lang=\"").text(channel.language).raw("\"");
  x.raw(">\n");
  x.element("  ", "id", channel.id);
  x.raw("  <title type=\"text\">").text(channel.title).raw("</title>\n");
  if (!channel.description.empty())
    x.raw("  <subtitle type=\"text\">").text(channel.description).raw("</subtitle>\n");
  // A feed without entries still needs an updated: the epoch says "never".
  x.element("  ", "updated", rfc3339(channel.updated.value_or(Time{})));
  x.raw("  <link rel=\"self\" type=\"application/atom+xml\" href=\"").text(channel.self_url);
  x.raw("\"/>\n");
  x.raw("  <link rel=\"alternate\" type=\"text/html\" href=\"").text(channel.home_url);
  x.raw("\"/>\n");
  x.raw("  <generator version=\"").raw(kVersion).raw("\">").raw(kGenerator).raw("</generator>\n");
  for (const Entry& entry : entries) {
    x.raw("  <entry>\n");
    x.element("    ", "id", entry.id);
    x.raw("    <title type=\"text\">").text(entry.title).raw("</title>\n");
    x.element("    ", "updated", rfc3339(entry.updated));
    x.element("    ", "published", rfc3339(entry.published));
    // RFC 4287 4.1.2: an entry needs an author unless its source or feed has one; the
    // outlet stands in when the item named nobody.
    if (entry.authors.empty()) {
      x.raw("    <author><name>").text(entry.source.outlet).raw("</name></author>\n");
    }
    for (const std::string& author : entry.authors)
      x.raw("    <author><name>").text(author).raw("</name></author>\n");
    const std::string& link = entry.link.empty() ? channel.home_url : entry.link;
    x.raw("    <link rel=\"alternate\" type=\"text/html\" href=\"").text(link).raw("\"/>\n");
    for (const model::Enclosure& enclosure : entry.enclosures) {
      x.raw("    <link rel=\"enclosure\" href=\"").text(enclosure.url).raw("\" type=\"");
      x.text(enclosure_type(enclosure)).raw("\"");
      if (enclosure.length) x.raw(" length=\"").raw(std::to_string(*enclosure.length)).raw("\"");
      x.raw("/>\n");
    }
    for (const std::string& category : entry.categories)
      x.raw("    <category term=\"").text(category).raw("\"/>\n");
    if (!entry.summary.empty())
      x.raw("    <summary type=\"text\">").text(entry.summary).raw("</summary>\n");
    x.raw("    <content type=\"html\">").text(entry.content_html).raw("</content>\n");
    {
      // A local feed (no published URL) is named by its title; its id says no path either.
      x.raw("    <source>\n");
      x.element("      ", "id",
                entry.source.feed_url.empty()
                    ? "tag:feedmerge,2026:feed/" + std::to_string(entry.source.feed_id)
                    : entry.source.feed_url);
      x.raw("      <title type=\"text\">").text(entry.source.outlet).raw("</title>\n");
      x.element("      ", "updated", rfc3339(entry.updated));
      if (!entry.source.feed_url.empty())
        x.raw("      <link rel=\"self\" href=\"").text(entry.source.feed_url).raw("\"/>\n");
      if (!entry.source.feed_link.empty()) {
        x.raw("      <link rel=\"alternate\" type=\"text/html\" href=\"");
        x.text(entry.source.feed_link).raw("\"/>\n");
      }
      x.raw("    </source>\n");
    }
    x.raw("  </entry>\n");
  }
  x.raw("</feed>\n");
  return x.take();
}

std::string write_json_feed(const Channel& channel, const std::vector<Entry>& entries) {
  namespace json = boost::json;
  json::object feed;
  feed["version"] = "https://jsonfeed.org/version/1.1";
  feed["title"] = channel.title;
  if (!channel.home_url.empty()) feed["home_page_url"] = channel.home_url;
  if (!channel.self_url.empty()) feed["feed_url"] = channel.self_url;
  if (!channel.description.empty()) feed["description"] = channel.description;
  if (!channel.language.empty()) feed["language"] = channel.language;
  json::array items;
  for (const Entry& entry : entries) {
    json::object item;
    item["id"] = entry.id;
    if (!entry.link.empty()) item["url"] = entry.link;
    if (!entry.title.empty()) item["title"] = entry.title;
    item["content_html"] = entry.content_html;
    if (!entry.summary.empty()) item["summary"] = entry.summary;
    if (!entry.image.empty()) item["image"] = entry.image;
    item["date_published"] = rfc3339(entry.published);
    item["date_modified"] = rfc3339(entry.updated);
    json::array authors;
    for (const std::string& author : entry.authors)
      authors.push_back(json::object{{"name", author}});
    if (authors.empty()) {
      json::object outlet{{"name", entry.source.outlet}};
      if (!entry.source.feed_link.empty()) outlet["url"] = entry.source.feed_link;
      authors.push_back(std::move(outlet));
    }
    item["authors"] = std::move(authors);
    if (!entry.categories.empty()) {
      json::array tags;
      for (const std::string& category : entry.categories)
        tags.emplace_back(category);
      item["tags"] = std::move(tags);
    }
    if (!entry.enclosures.empty()) {
      json::array attachments;
      for (const model::Enclosure& enclosure : entry.enclosures) {
        json::object attachment{{"url", enclosure.url}, {"mime_type", enclosure_type(enclosure)}};
        if (enclosure.length && *enclosure.length > 0)
          attachment["size_in_bytes"] = *enclosure.length;
        attachments.push_back(std::move(attachment));
      }
      item["attachments"] = std::move(attachments);
    }
    // Extension (JSON Feed 1.1: keys starting with "_"): every member of the story.
    json::array members;
    const auto member_json = [](const EntryMember& member, bool representative) {
      json::object out{{"title", member.title},
                       {"url", member.link},
                       {"outlet", member.outlet},
                       {"date_published", rfc3339(member.published)},
                       {"representative", representative}};
      if (!member.feed_url.empty()) out["feed_url"] = member.feed_url;  // "" for a local feed
      if (!member.feed_link.empty()) out["home_page_url"] = member.feed_link;
      json::object joined{{"reason", member.joined_by}};
      if (!member.matched_link.empty()) {
        joined["url"] = member.matched_link;
        joined["p"] = member.matched_p;
      }
      out["joined_by"] = std::move(joined);
      return out;
    };
    members.push_back(member_json(entry.source, true));
    for (const EntryMember& member : entry.also)
      members.push_back(member_json(member, false));
    item["_feedmerge"] = json::object{{"about", "https://github.com/feedmerge"},
                                      {"story_id", entry.story_id},
                                      {"members", std::move(members)}};
    items.push_back(std::move(item));
  }
  feed["items"] = std::move(items);
  std::string out = json::serialize(feed);
  out += '\n';
  return out;
}

std::string write_index_html(const Channel& channel, const std::vector<Entry>& entries,
                             const std::vector<OutputLink>& outputs,
                             const std::vector<FeedHealth>& feeds, bool link_sources_opml) {
  Xml x;  // HTML escaping is the same for text and double-quoted attributes
  x.raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
  x.raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
  x.raw("<title>").text(channel.title).raw("</title>\n");
  for (const OutputLink& output : outputs) {
    x.raw("<link rel=\"alternate\" type=\"").text(output.type).raw("\" title=\"");
    x.text(output.title).raw("\" href=\"").text(output.path).raw("\">\n");
  }
  x.raw(
      "<style>body{font-family:sans-serif;max-width:50em;margin:auto;padding:1em;line-height:1.4}"
      "li{margin:.3em 0}.members{font-size:.9em;color:#444}table{border-collapse:collapse}"
      "td,th{border-bottom:1px solid #ddd;padding:.2em .5em;text-align:left}</style>\n");
  x.raw("</head>\n<body>\n<h1>").text(channel.title).raw("</h1>\n");
  x.raw("<p>Subscribe:");
  for (const OutputLink& output : outputs) {
    x.raw(" <a href=\"").text(output.path).raw("\">").text(output.path).raw("</a>");
  }
  if (link_sources_opml) x.raw(" &middot; <a href=\"/sources.opml\">sources.opml</a>");
  x.raw("</p>\n");
  x.raw("<h2>Latest stories</h2>\n");
  // An empty page must say why: first polls still running, or every feed failing.
  int polled = 0;
  int pending = 0;
  int failing = 0;
  for (const FeedHealth& feed : feeds) {
    if (feed.status == "disabled") continue;
    if (feed.status == "never polled") {
      ++pending;
    } else {
      ++polled;
      if (feed.status.starts_with("failing")) ++failing;
    }
  }
  if (pending > 0) {
    x.raw("<p class=\"progress\">First polls in progress: ").raw(std::to_string(polled));
    x.raw(" of ").raw(std::to_string(polled + pending)).raw(" done.</p>\n");
  }
  if (entries.empty()) {
    x.raw("<p>No stories yet");
    if (pending == 0 && polled > 0 && failing == polled) {
      x.raw(": every feed is failing; the table below says why");
    } else if (pending == 0 && polled == 0) {
      x.raw(": no feed is configured");
    }
    x.raw(".</p>\n");
  }
  x.raw("<ol>\n");
  for (const Entry& entry : entries) {
    x.raw("<li id=\"story-").raw(std::to_string(entry.story_id)).raw("\">");
    if (!entry.link.empty()) {
      x.raw("<a href=\"").text(entry.link).raw("\">").text(entry.title).raw("</a>");
    } else {
      x.text(entry.title);
    }
    x.raw(" <small>").text(entry.source.outlet).raw(", ").text(rfc3339(entry.published));
    x.raw("</small>");
    if (!entry.covered_by.empty()) {
      x.raw("<div class=\"members\">").text(also_covered_label(channel.language)).raw(" ");
      bool first = true;
      for (const EntryMember& member : entry.covered_by) {
        if (!first) x.raw(", ");
        first = false;
        if (!member.link.empty()) {
          x.raw("<a href=\"").text(member.link).raw("\" title=\"").text(member.title).raw("\">");
          x.text(member.outlet).raw("</a>");
        } else {
          x.text(member.outlet);
        }
      }
      x.raw("</div>");
    }
    x.raw("</li>\n");
  }
  x.raw("</ol>\n<h2>Feeds</h2>\n<table>\n");
  x.raw("<tr><th>Feed</th><th>Status</th><th>Last success</th><th>Items</th><th>Error</th></tr>\n");
  for (const FeedHealth& feed : feeds) {
    x.raw("<tr><td>");
    if (feed.url.empty()) {
      x.text(feed.title);
    } else {
      x.raw("<a href=\"").text(feed.url).raw("\">").text(feed.title).raw("</a>");
    }
    x.raw("</td><td>");
    x.text(feed.status).raw("</td><td>").text(feed.last_success).raw("</td><td>");
    x.raw(std::to_string(feed.items)).raw("</td><td>").text(feed.error).raw("</td></tr>\n");
  }
  x.raw("</table>\n<p><small>").raw(kGenerator).raw(" ").raw(kVersion);
  x.raw("</small></p>\n</body>\n</html>\n");
  return x.take();
}

}  // namespace feedmerge::publish
