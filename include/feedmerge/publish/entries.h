// What a published feed says, ready to write: stories turned into entries (sanitised, with
// their "Also covered by" list) and the channel around them. The writers (writers.h) only
// escape and lay these out. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "feedmerge/model/feed.h"
#include "feedmerge/model/story.h"

namespace feedmerge::publish {

using model::Time;

// One member of a story as an entry lists it; every field is sanitised.
struct EntryMember {
  std::string title;
  std::string link;          // "" when the item had none we may publish
  std::string outlet;        // the feed's name: the config's title, the feed's own, else its host
  std::string feed_url;      // published_feed_url() of the configured URL ("" for a local feed)
  std::string feed_link;     // the outlet's home page ("" when unknown)
  std::int64_t feed_id = 0;  // the store's id of the feed (Atom source id of a local feed)
  Time published{};
  // Why it is in the story (model::JoinedBy): "founder", "link", "same_url", "merged_by_hand"
  // or "unknown"; for a link, the member it matched (its published link) and that pair's P.
  std::string joined_by;
  std::string matched_link;
  double matched_p = 0;

  bool operator==(const EntryMember&) const = default;
};

struct Entry {
  std::int64_t story_id = 0;
  std::string id;  // stable for the story's life: story_entry_id(story_id)
  std::string title;
  std::string link;
  Time published{};  // the story's first publication
  Time updated{};    // its members' latest own date, within [published, the story's updated]
  std::vector<std::string> authors;
  std::vector<std::string> categories;  // the union over the members, first seen first
  std::string summary;                  // plain text, short: the representative's summary
  std::string content_html;             // sanitised representative content + "Also covered by"
  std::string image;
  std::vector<model::Enclosure> enclosures;  // the representative's, URLs checked
  EntryMember source;                        // the representative
  std::vector<EntryMember> also;             // the other members, in the story's order
  // "Also covered by": one member per outlet other than the representative's (its earliest
  // that is not a same-URL copy of the entry's link or of one listed before), by publication.
  std::vector<EntryMember> covered_by;

  bool operator==(const Entry&) const = default;
};

struct Channel {
  std::string title;
  std::string description;
  std::string home_url;         // the server's public URL ([server] base_url)
  std::string self_url;         // this output's absolute URL
  std::string id;               // stable id of this output (Atom feed id)
  std::string language;         // "" when the config does not say
  std::optional<Time> updated;  // the newest entry's `updated`; nullopt when there is none
};

// "tag:feedmerge,2026:story/ID": derived from the story id alone, which the database never
// hands out twice, so it survives restarts, representative changes and base_url changes.
std::string story_entry_id(std::int64_t story_id);

// The name that identifies an outlet: its configured title as written, else its feed's own
// title cleaned (clean_feed_title), else the host of its home page or URL, else (a local
// feed) its file name.
std::string outlet_name(std::string_view configured_title, std::string_view feed_title,
                        std::string_view feed_link, std::string_view feed_url);

// A feed's title as an outlet's name ("" when nothing of it names an outlet). The rules, in
// order, none of them about a particular site:
// 1. Listing boilerplate is cut: from "Search Records Found", "Records Found" or "Search
//    Results" to the end, and a last word "RSS", "Feed" or "Feeds".
// 2. The title splits at section separators (" - ", " – ", " — ", " | ", " > ", " » ",
//    ": "). A part that spells the home page's host ("TIME" for time.com, "The Washington
//    Post" for washingtonpost.com: letters and digits compared, without a leading "The" and
//    a ".com"-like ending) is the name; else the first part that is not generic.
// 3. Generic is a title made only of section and listing words ("World", "Home", "News",
//    "RSS", "Latest", "Top Stories", "Asia", "Actualités"...): it names no outlet, and the
//    caller falls back to the host.
std::string clean_feed_title(std::string_view feed_title, std::string_view feed_link);

// "Also covered by" in the output's language (a tag: "fr", "de-AT"; "" and unknown: English).
std::string_view also_covered_label(std::string_view language);

// What an output asks of its entries beyond the stories.
struct EntryOptions {
  // [dedup] languages: primary subtags a reader prefers for headlines, best first. Empty:
  // the story's first member (the representative the story stage chose) heads the entry.
  std::vector<std::string> languages{};
  std::vector<std::string> preferred_hosts{};  // [dedup] preferred
  std::string language{};                      // [[output]] language: the label's words
};

// The member that heads the entry. Without languages, the store's choice: members[0].
// With them, the member first by: its language's rank in `languages` (detected from its title
// and summary; unlisted and undetected languages rank last), then being no copy, translation
// or same-URL join ("original" or "report"), then a preferred host, then the store's order
// (its representative, then by publication). Returns an index into story.members.
std::size_t representative_index(const model::Story& story, const EntryOptions& options);

// A feed URL as outputs may show it: secrets redacted (normalize::redact_url); "" for a local
// file: feed, whose path is nobody's business.
std::string published_feed_url(std::string_view feed_url);

// The story as an entry. `outlet_titles[i]` is the configured title of member i's feed ("" =
// none). Every text and URL is sanitised here; relative URLs resolve against the item link,
// else the feed's home page, else the feed URL. The representative: representative_index.
Entry make_entry(const model::Story& story, const std::vector<std::string>& outlet_titles,
                 const EntryOptions& options = {});

// The channel of an output over `entries`.
Channel make_channel(std::string_view title, std::string_view description,
                     std::string_view base_url, std::string_view path,
                     const std::vector<Entry>& entries);

// An absolute URL for `path` under `base_url` ("https://x.org/news/" + "/feed.xml" ->
// "https://x.org/news/feed.xml").
std::string url_under(std::string_view base_url, std::string_view path);

}  // namespace feedmerge::publish
