#include "feedmerge/publish/entries.h"

#include <algorithm>
#include <array>
#include <tuple>

#include "feedmerge/dedup/canonical_url.h"
#include "feedmerge/dedup/features.h"
#include "feedmerge/dedup/story_index.h"
#include "feedmerge/normalize/ascii.h"
#include "feedmerge/normalize/text.h"
#include "feedmerge/normalize/url.h"
#include "feedmerge/publish/sanitize.h"

namespace feedmerge::publish {
namespace {

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

EntryMember make_member(const model::Story& story, const model::StoryMember& member,
                        std::string_view configured_title) {
  EntryMember out;
  const std::string base = base_of(member);
  out.title = clean_text(member.item.title);
  out.link = safe_url(member.item.link, base);
  out.feed_url = published_feed_url(member.feed_url);
  out.feed_id = member.feed_id;
  out.feed_link = safe_url(member.feed_link, normalize::redact_url(member.feed_url));
  out.outlet = outlet_name(configured_title, member.feed_title, member.feed_link, member.feed_url);
  out.published = member.item.published.value_or(member.first_seen);
  out.joined_by = model::shown_reason(member.joined_by);
  if (const model::StoryMember* matched = model::matched_member(story, member)) {
    out.matched_link = safe_url(matched->item.link, base_of(*matched));
    out.matched_p = member.joined_by.p;
  }
  return out;
}

// ---- Outlet names ----------------------------------------------------------------------

// Section and listing words: a feed title made only of these names a page of a site, not the
// site ("World", "Top Stories", "Actualités"). Lowercase; ASCII letters are folded
// before the lookup, others compared as written.
constexpr std::string_view kGenericWords =
    " & a accueil actualites actualités africa aktuell aktuelles all alle americas"
    " and articles asia blog breaking business culture de del der dernières des die"
    " du e east el en entertainment et europe feed feeds for front headlines health"
    " home in info infos inicio international la las latest le les local los main"
    " middle monde more mundo nachrichten national neueste news noticias notícias of"
    " opinion page politics portada posts rss science sport sports startseite stories"
    " story tech technology the top uk ultimas und us welt world últimas"
    " ";

bool is_generic(std::string_view part) {
  std::size_t i = 0;
  while (i < part.size()) {
    const std::size_t end = std::min(part.find(' ', i), part.size());
    std::string word = ascii::to_lower(part.substr(i, end - i));
    while (!word.empty() && (word.back() == ',' || word.back() == '.'))
      word.pop_back();
    i = end + 1;
    if (word.empty()) continue;
    if (kGenericWords.find(" " + word + " ") == std::string_view::npos) return false;
  }
  return true;  // every word generic, or none at all
}

// Letters and digits of a name as a host would spell it: "The Washington Post" ->
// "washingtonpost", "CBSNews.com" -> "cbsnews".
std::string squashed(std::string_view name) {
  std::string lower = ascii::to_lower(ascii::trim(name));
  if (lower.starts_with("the ")) lower.erase(0, 4);
  const std::size_t dot = lower.rfind('.');
  if (dot != std::string::npos && dot > 0 && lower.size() - dot >= 3 && lower.size() - dot <= 5)
    lower.erase(dot);
  std::string out;
  for (char c : lower)
    if (ascii::is_alnum(c)) out += c;
  return out;
}

bool spells_host(std::string_view part, std::string_view host) {
  const std::string name = squashed(part);
  if (name.size() < 2) return false;
  std::size_t start = 0;
  while (start < host.size()) {
    const std::size_t end = std::min(host.find('.', start), host.size());
    if (end == host.size()) break;  // the top-level domain names no outlet
    if (host.substr(start, end - start) == name) return true;
    start = end + 1;
  }
  return false;
}

// Cuts `text` at the first of `phrases` found in it (ASCII case ignored).
void cut_at(std::string& text, std::initializer_list<std::string_view> phrases) {
  const std::string lower = ascii::to_lower(text);
  for (std::string_view phrase : phrases) {
    const std::size_t at = lower.find(phrase);
    if (at != std::string::npos) {
      text.erase(std::min(at, text.size()));
      return;
    }
  }
}

// Separators left at either end of a part ("Rest of World -"), whole characters only.
std::string_view trim_separators(std::string_view part) {
  static constexpr std::array<std::string_view, 8> kEnds{
      " ", "-", "|", ">", ":", "\xC2\xBB", "\xE2\x80\x93", "\xE2\x80\x94"};
  for (bool trimmed = true; trimmed && !part.empty();) {
    trimmed = false;
    for (std::string_view end : kEnds) {
      if (part.starts_with(end)) {
        part.remove_prefix(end.size());
        trimmed = true;
      }
      if (part.ends_with(end)) {
        part.remove_suffix(end.size());
        trimmed = true;
      }
    }
  }
  return part;
}

std::vector<std::string_view> split_sections(std::string_view title) {
  static constexpr std::array<std::string_view, 8> kSeparators{
      " - ", " \xE2\x80\x93 ", " \xE2\x80\x94 ", " | ", " > ", " \xC2\xBB ", ": ", " :: "};
  std::vector<std::string_view> parts;
  while (!title.empty()) {
    std::size_t at = std::string_view::npos;
    std::size_t length = 0;
    for (std::string_view separator : kSeparators) {
      const std::size_t found = title.find(separator);
      if (found < at) {
        at = found;
        length = separator.size();
      }
    }
    const std::string_view part = trim_separators(title.substr(0, at));
    if (!part.empty()) parts.push_back(part);
    if (at == std::string_view::npos) break;
    title.remove_prefix(at + length);
  }
  return parts;
}

// ---- The representative ----------------------------------------------------------------

std::string primary_subtag(std::string_view tag) {
  return ascii::to_lower(tag.substr(0, tag.find('-')));
}

std::string detected_language(const model::StoryMember& member) {
  const std::string& body = member.item.summary.empty() ? member.item.content : member.item.summary;
  const dedup::Features features = dedup::extract_features(
      member.item.title, normalize::html_to_text_prefix(body, dedup::kMaxBodyBytes));
  if (features.language == dedup::Language::unknown) return {};
  return std::string(dedup::to_string(features.language));
}

bool is_derived(std::string_view relation) {
  const dedup::Relation kind = dedup::relation_from_string(relation);
  return kind == dedup::Relation::copy || kind == dedup::Relation::translation ||
         kind == dedup::Relation::same_url;
}

bool on_preferred_host(const model::StoryMember& member, const std::vector<std::string>& hosts) {
  if (hosts.empty()) return false;
  // As the story stage reads [dedup] preferred (StoryIndex): the item link's host, exactly.
  const std::string host = dedup::url_host(member.item.link);
  return std::find(hosts.begin(), hosts.end(), host) != hosts.end();
}

// The comparable form of an outlet's name: two feeds shown under one name are one outlet.
std::string outlet_key(std::string_view outlet) {
  return ascii::to_lower(outlet);
}

// "Also covered by": each outlet but the representative's once, by its earliest member that
// is not a same-URL copy (its canonical link the entry's or a listed member's).
std::vector<EntryMember> covered_by(const EntryMember& source,
                                    const std::vector<EntryMember>& also) {
  std::vector<const EntryMember*> by_time;
  for (const EntryMember& member : also)
    by_time.push_back(&member);
  std::stable_sort(by_time.begin(), by_time.end(), [](const EntryMember* a, const EntryMember* b) {
    return a->published < b->published;
  });
  std::vector<std::string> outlets{outlet_key(source.outlet)};
  std::vector<std::string> links;
  if (!source.link.empty()) links.push_back(dedup::canonical_url(source.link));
  std::vector<EntryMember> listed;
  for (const EntryMember* member : by_time) {
    std::string outlet = outlet_key(member->outlet);
    if (std::find(outlets.begin(), outlets.end(), outlet) != outlets.end()) continue;
    std::string link = member->link.empty() ? std::string() : dedup::canonical_url(member->link);
    if (!link.empty() && std::find(links.begin(), links.end(), link) != links.end()) continue;
    outlets.push_back(std::move(outlet));
    if (!link.empty()) links.push_back(std::move(link));
    listed.push_back(*member);
  }
  return listed;
}

void append_also_covered(std::string& html, const std::vector<EntryMember>& also,
                         std::string_view label) {
  if (also.empty()) return;
  html += "<p>" + normalize::escape_html(label) + "</p><ul>";
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

std::string clean_feed_title(std::string_view feed_title, std::string_view feed_link) {
  std::string title = clean_text(feed_title);
  cut_at(title, {"search records found", "records found", "search results"});
  for (bool cut = true; cut;) {
    cut = false;
    const std::string_view kept = ascii::trim(title);
    const std::size_t space = kept.find_last_of(' ');
    if (space == std::string_view::npos) break;
    const std::string last = ascii::to_lower(kept.substr(space + 1));
    if (last == "rss" || last == "feed" || last == "feeds") {
      title.erase(static_cast<std::size_t>(kept.data() - title.data()) + space);
      cut = true;
    }
  }
  const std::vector<std::string_view> parts = split_sections(title);
  const std::string host = dedup::url_host(feed_link);
  for (std::string_view part : parts)
    if (!host.empty() && spells_host(part, host)) return std::string(part);
  for (std::string_view part : parts)
    if (!is_generic(part)) return std::string(part);
  return {};
}

std::string_view also_covered_label(std::string_view language) {
  const std::string primary = primary_subtag(language);
  if (primary == "fr") return "\xC3\x89galement couvert par :";
  if (primary == "de") return "Auch berichtet von:";
  if (primary == "es") return "Tambi\xC3\xA9n cubierto por:";
  if (primary == "it") return "Riportato anche da:";
  if (primary == "pt") return "Tamb\xC3\xA9m noticiado por:";
  return "Also covered by:";
}

std::size_t representative_index(const model::Story& story, const EntryOptions& options) {
  if (options.languages.empty() || story.members.size() < 2) return 0;
  std::vector<std::string> wanted;
  for (const std::string& tag : options.languages)
    wanted.push_back(primary_subtag(tag));
  const auto rank_of = [&](const model::StoryMember& member) {
    const std::string language = detected_language(member);
    const auto found = std::find(wanted.begin(), wanted.end(), language);
    return language.empty() ? wanted.size() : static_cast<std::size_t>(found - wanted.begin());
  };
  std::size_t best = 0;
  auto best_key = std::tuple(rank_of(story.members[0]), is_derived(story.members[0].relation),
                             !on_preferred_host(story.members[0], options.preferred_hosts));
  for (std::size_t i = 1; i < story.members.size(); ++i) {
    const model::StoryMember& member = story.members[i];
    const auto key = std::tuple(rank_of(member), is_derived(member.relation),
                                !on_preferred_host(member, options.preferred_hosts));
    if (key < best_key) {  // strictly better: ties keep the store's order
      best = i;
      best_key = key;
    }
  }
  return best;
}

std::string outlet_name(std::string_view configured_title, std::string_view feed_title,
                        std::string_view feed_link, std::string_view feed_url) {
  if (std::string name = clean_text(configured_title); !name.empty()) return name;
  if (std::string name = clean_feed_title(feed_title, feed_link); !name.empty()) return name;
  for (std::string_view url : {feed_link, feed_url}) {
    std::string host = xml_safe_text(dedup::url_host(url));
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

Entry make_entry(const model::Story& story, const std::vector<std::string>& outlet_titles,
                 const EntryOptions& options) {
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
  const std::size_t chosen = representative_index(story, options);
  const model::StoryMember& representative = story.members[chosen];
  const model::Item& item = representative.item;
  const std::string base = base_of(representative);
  entry.source = make_member(story, representative, configured(chosen));
  entry.title = entry.source.title.empty() ? entry.source.outlet : entry.source.title;
  entry.link = entry.source.link;
  for (const std::string& author : item.authors) {
    std::string name = clean_text(author);
    if (!name.empty()) entry.authors.push_back(std::move(name));
  }
  for (std::size_t i = 0; i < story.members.size(); ++i) {
    if (i != chosen) entry.also.push_back(make_member(story, story.members[i], configured(i)));
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
  entry.covered_by = covered_by(entry.source, entry.also);
  append_also_covered(entry.content_html, entry.covered_by, also_covered_label(options.language));
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
