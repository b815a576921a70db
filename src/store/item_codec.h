// How the store turns a model::Item into database values: its key within a feed, its content
// hash, and the JSON text of its list fields. Internal to src/store; pure and thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "feedmerge/error.h"
#include "feedmerge/model/feed.h"

namespace SQLite {
class Statement;
}

namespace feedmerge::store::detail {

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

}  // namespace feedmerge::store::detail
