// How the store turns model values into database values and back: times, an item's key within
// a feed, its content hash, its stored date, the JSON text of its list fields and the SQL of a
// story's default representative (both backends), and the SQLite rows of an item, a stored item
// and a story member (pg_store.cpp reads PostgreSQL's rows, in the same column order). Internal to
// src/store; pure and thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "feedmerge/error.h"
#include "feedmerge/model/feed.h"
#include "feedmerge/model/story.h"
#include "feedmerge/store/store.h"

namespace SQLite {
class Statement;
}

namespace feedmerge::store::detail {

// Times are stored as whole seconds since the Unix epoch.
inline std::int64_t to_db(model::Time time) {
  return static_cast<std::int64_t>(time.time_since_epoch().count());
}
inline model::Time from_db(std::int64_t seconds) {
  return model::Time{std::chrono::seconds{seconds}};
}
// Column `column` of the current row as a time; NULL is nullopt.
std::optional<model::Time> optional_time(const SQLite::Statement& row, int column);

// A date after the poll is never used as it is: it would pin the item at the top of every
// merged feed until that time. Clocks a few minutes fast are common and not worth a warning.
inline constexpr std::chrono::minutes kClockSkew{5};
// A tombstone's last_seen only needs day precision; refreshing it on every poll would write on
// every poll.
inline constexpr std::chrono::hours kTombstoneTouchEvery{24};
// A tombstone outlives retention by at least this long once its key leaves the document.
inline constexpr std::chrono::seconds kMinTombstoneLife = std::chrono::days{30};

// The date an item is stored with (Store::record_poll): its own, else `first_seen` when it has
// none or one after `now` (with a warning when more than kClockSkew ahead).
struct Dating {
  model::Time published;
  bool estimated = false;
};
Dating date_item(const model::Item& item, const std::string& key, model::Time first_seen,
                 model::Time now, std::vector<Warning>& warnings);

// Keys longer than this are replaced by "long:" + a hash, so that a feed stuffing whole
// articles into its guids cannot bloat the (feed_id, key) index.
inline constexpr std::size_t kMaxKeyBytes = 512;

// The item's identity within its feed: its id, else its link, else "hash:" + 16 hex digits of
// XXH3-64 over its title, summary, content and publication date (summary included so that
// two undated, untitled link-less items with different text stay two items).
std::string item_key(const model::Item& item);

// XXH3-64 over every field a reader would notice changing; each field is length-prefixed so
// that moving text from one field to the next changes the hash.
std::uint64_t content_hash(const model::Item& item);

// 16 lowercase hex digits.
std::string to_hex(std::uint64_t value);

// List fields are stored as JSON text: ["a","b"] and [{"url":..,"type":..,"length":n|null}].
std::string strings_to_json(const std::vector<std::string>& values);
std::string enclosures_to_json(const std::vector<model::Enclosure>& enclosures);
Result<std::vector<std::string>> strings_from_json(std::string_view text);
Result<std::vector<model::Enclosure>> enclosures_from_json(std::string_view text);

// The columns of an item that make its model::Item, in the order item_from_row reads them,
// for a query that names the items table `i`.
inline constexpr std::string_view kItemFields =
    "i.guid, i.title, i.link, i.summary, i.content, i.authors, i.categories, i.image, "
    "i.enclosures, i.published, i.updated";
inline constexpr int kItemFieldCount = 11;

// The item whose kItemFields start at column `first` of the current row. Errors (a list field
// that is not the JSON we write) say what is wrong, not where: the caller names the database.
Result<model::Item> item_from_row(const SQLite::Statement& row, int first);

// A FeedState's columns, read by feed_from_row, for a query naming the feeds table `f`.
inline constexpr std::string_view kFeedFields =
    "f.id, f.url, f.fetch_url, f.title, f.link, f.etag, f.last_modified, f.body_hash, "
    "f.next_poll, f.interval_seconds, f.last_attempt, f.last_success, f.consecutive_failures, "
    "f.failing_since, f.last_status, f.last_error, f.disabled, f.disabled_reason, "
    "f.pending_redirect, f.pending_redirect_polls, "
    "(SELECT count(*) FROM items AS i WHERE i.feed_id = f.id)";
store::FeedState feed_from_row(const SQLite::Statement& row);

// A StoredItem's columns, read by stored_item_from_row, for a query over kStoredItemFrom.
inline constexpr std::string_view kStoredItemFields =
    "i.id, i.feed_id, i.key, i.guid, i.title, i.link, i.summary, i.content, i.authors, "
    "i.categories, i.image, i.enclosures, i.published, i.updated, i.published_estimated, "
    "i.first_seen, i.changed_at, f.url, m.story_id, m.relation, m.joined_by, m.matched_item_id, "
    "m.matched_p";
inline constexpr std::string_view kStoredItemFrom =
    " FROM items AS i JOIN feeds AS f ON f.id = i.feed_id "
    "LEFT JOIN item_stories AS m ON m.item_id = i.id";
Result<store::StoredItem> stored_item_from_row(const SQLite::Statement& row);

// A story member's columns, read by member_from_row, for a query naming items `i`, feeds `f`
// and item_stories `m`.
inline constexpr std::string_view kMemberFields =
    "i.id, i.feed_id, f.url, f.title, f.link, i.guid, i.title, i.link, i.summary, i.content, "
    "i.authors, i.categories, i.image, i.enclosures, i.published, i.updated, i.first_seen, "
    "i.key, i.published_estimated, m.relation, m.joined_by, m.matched_item_id, m.matched_p";
Result<model::StoryMember> member_from_row(const SQLite::Statement& row);

// The member a story shows when the caller has no better idea, as an SQL subquery (both
// backends' dialects): the earliest that is not a copy, else the earliest; ties to the most
// central (P in hundredths summed over the stored links: its own matched pair and those
// matched with it), as StoryIndex::representative. As in
// StoryIndex::representative, a member seen well after the story's first sighting (f) that
// claims to predate it by much counts as published when seen. `story` is the story's id in the
// statement: a parameter ("?1", "$1") or a column ("s.id").
std::string default_representative_sql(std::string_view story);
// The earliest publication among `story`'s members (an SQL expression; the stored value when it
// has none left).
std::string first_published_sql(std::string_view story);

// Clears the links of memberships (item_stories) whose matched item leaves their story, to be
// completed with "AND ..." saying which: the reason goes too, unless a person gave it.
inline constexpr std::string_view kCutLinks =
    "UPDATE item_stories SET matched_item_id = NULL, matched_p = 0, joined_by = CASE WHEN "
    "joined_by = 'merged_by_hand' THEN joined_by ELSE '' END WHERE matched_item_id IS NOT NULL";

// The stories of `touched` given a representative by the caller.
std::unordered_set<std::int64_t> stories_with_representative(
    const std::vector<StoryTouch>& touched);

// Members come earliest first; the representative, when stored, moves to the front.
void representative_first(model::Story& story, std::optional<std::int64_t> representative);

}  // namespace feedmerge::store::detail
