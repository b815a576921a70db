#include "store/item_codec.h"

#include <SQLiteCpp/Column.h>
#include <SQLiteCpp/Statement.h>
// For XXH3_state_t, which the streaming hash keeps on the stack.
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include <boost/json.hpp>

#include <algorithm>
#include <array>

#include "feedmerge/dedup/story_index.h"
#include "feedmerge/normalize/date.h"

namespace feedmerge::store::detail {
namespace {

// Hashes length-prefixed fields (numbers as 8 little-endian bytes) as XXH3 of their
// concatenation, which stored content hashes are. Streamed: an item's content is not copied.
class FieldHasher {
 public:
  FieldHasher() { XXH3_64bits_reset(&state_); }
  FieldHasher(const FieldHasher&) = delete;
  FieldHasher& operator=(const FieldHasher&) = delete;

  void add(std::string_view text) {
    add_number(text.size());
    XXH3_64bits_update(&state_, text.data(), text.size());
  }
  void add(const std::optional<model::Time>& time) {
    add_number(time ? 1 : 0);
    if (time) add_number(static_cast<std::uint64_t>(time->time_since_epoch().count()));
  }
  void add(const std::optional<std::int64_t>& value) {
    add_number(value ? 1 : 0);
    if (value) add_number(static_cast<std::uint64_t>(*value));
  }
  void add_number(std::uint64_t value) {
    std::array<unsigned char, 8> bytes{};
    for (std::size_t i = 0; i < bytes.size(); ++i)
      bytes[i] = static_cast<unsigned char>((value >> (8 * i)) & 0xff);
    XXH3_64bits_update(&state_, bytes.data(), bytes.size());
  }
  std::uint64_t digest() const { return XXH3_64bits_digest(&state_); }

 private:
  XXH3_state_t state_;
};

Error json_error(std::string_view what, std::string_view text) {
  return Error{ErrorKind::database, "stored " + std::string(what) +
                                        " are not valid JSON: " + std::string(text.substr(0, 80))};
}

}  // namespace

Dating date_item(const model::Item& item, const std::string& key, model::Time first_seen,
                 model::Time now, std::vector<Warning>& warnings) {
  if (!item.published) return {first_seen, true};
  if (*item.published > now) {
    if (*item.published > now + kClockSkew) {
      warnings.push_back({0, "item " + key + ": publication date " +
                                 normalize::format_rfc3339(*item.published) +
                                 " is in the future; using the time it was first stored"});
    }
    return {first_seen, true};
  }
  return {*item.published, false};
}

std::string to_hex(std::uint64_t value) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex(16, '0');
  for (int i = 15; i >= 0; --i) {
    hex[static_cast<std::size_t>(i)] = kDigits[value & 0xf];
    value >>= 4;
  }
  return hex;
}

std::string item_key(const model::Item& item) {
  std::string key;
  if (!item.id.empty()) {
    key = item.id;
  } else if (!item.link.empty()) {
    key = item.link;
  } else {
    FieldHasher hasher;
    hasher.add(item.title);
    hasher.add(item.summary);
    hasher.add(item.content);
    hasher.add(item.published);
    return "hash:" + to_hex(hasher.digest());
  }
  if (key.size() > kMaxKeyBytes) return "long:" + to_hex(XXH3_64bits(key.data(), key.size()));
  return key;
}

std::uint64_t content_hash(const model::Item& item) {
  FieldHasher hasher;
  hasher.add(item.title);
  hasher.add(item.link);
  hasher.add(item.summary);
  hasher.add(item.content);
  hasher.add_number(item.authors.size());
  for (const auto& author : item.authors)
    hasher.add(author);
  hasher.add_number(item.categories.size());
  for (const auto& category : item.categories)
    hasher.add(category);
  hasher.add(item.image);
  hasher.add_number(item.enclosures.size());
  for (const auto& enclosure : item.enclosures) {
    hasher.add(enclosure.url);
    hasher.add(enclosure.type);
    hasher.add(enclosure.length);
  }
  hasher.add(item.published);
  hasher.add(item.updated);
  return hasher.digest();
}

std::string strings_to_json(const std::vector<std::string>& values) {
  boost::json::array array;
  array.reserve(values.size());
  for (const auto& value : values)
    array.emplace_back(value);
  return boost::json::serialize(array);
}

std::string enclosures_to_json(const std::vector<model::Enclosure>& enclosures) {
  boost::json::array array;
  array.reserve(enclosures.size());
  for (const auto& enclosure : enclosures) {
    boost::json::object object;
    object["url"] = enclosure.url;
    object["type"] = enclosure.type;
    if (enclosure.length) {
      object["length"] = *enclosure.length;
    } else {
      object["length"] = nullptr;
    }
    array.emplace_back(std::move(object));
  }
  return boost::json::serialize(array);
}

Result<std::vector<std::string>> strings_from_json(std::string_view text) {
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(text, ec);
  if (ec || !value.is_array()) return json_error("lists", text);
  std::vector<std::string> values;
  for (const auto& element : value.as_array()) {
    if (!element.is_string()) return json_error("lists", text);
    values.emplace_back(element.as_string());
  }
  return values;
}

Result<std::vector<model::Enclosure>> enclosures_from_json(std::string_view text) {
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(text, ec);
  if (ec || !value.is_array()) return json_error("enclosures", text);
  std::vector<model::Enclosure> enclosures;
  for (const auto& element : value.as_array()) {
    const auto* object = element.if_object();
    if (object == nullptr) return json_error("enclosures", text);
    const auto* url = object->if_contains("url");
    const auto* type = object->if_contains("type");
    const auto* length = object->if_contains("length");
    if (url == nullptr || !url->is_string() || type == nullptr || !type->is_string()) {
      return json_error("enclosures", text);
    }
    model::Enclosure enclosure{std::string(url->as_string()), std::string(type->as_string()), {}};
    if (length != nullptr && length->is_int64()) enclosure.length = length->as_int64();
    enclosures.push_back(std::move(enclosure));
  }
  return enclosures;
}

std::optional<model::Time> optional_time(const SQLite::Statement& row, int column) {
  const SQLite::Column value = row.getColumn(column);
  if (value.isNull()) return std::nullopt;
  return from_db(value.getInt64());
}

Result<model::Item> item_from_row(const SQLite::Statement& row, int first) {
  auto column = [&](int offset) { return row.getColumn(first + offset); };
  model::Item item;
  item.id = column(0).getString();
  item.title = column(1).getString();
  item.link = column(2).getString();
  item.summary = column(3).getString();
  item.content = column(4).getString();
  auto authors = strings_from_json(column(5).getString());
  if (!authors) return authors.error();
  auto categories = strings_from_json(column(6).getString());
  if (!categories) return categories.error();
  item.image = column(7).getString();
  auto enclosures = enclosures_from_json(column(8).getString());
  if (!enclosures) return enclosures.error();
  item.authors = std::move(*authors);
  item.categories = std::move(*categories);
  item.enclosures = std::move(*enclosures);
  item.published = from_db(column(9).getInt64());
  item.updated = optional_time(row, first + 10);
  return item;
}

store::FeedState feed_from_row(const SQLite::Statement& row) {
  store::FeedState feed;
  feed.id = row.getColumn(0).getInt64();
  feed.url = row.getColumn(1).getString();
  feed.fetch_url = row.getColumn(2).getString();
  feed.title = row.getColumn(3).getString();
  feed.link = row.getColumn(4).getString();
  feed.etag = row.getColumn(5).getString();
  feed.last_modified = row.getColumn(6).getString();
  feed.body_hash = row.getColumn(7).getString();
  feed.next_poll = optional_time(row, 8);
  if (!row.getColumn(9).isNull()) feed.interval = std::chrono::seconds{row.getColumn(9).getInt64()};
  feed.last_attempt = optional_time(row, 10);
  feed.last_success = optional_time(row, 11);
  feed.consecutive_failures = row.getColumn(12).getInt();
  feed.failing_since = optional_time(row, 13);
  feed.last_status = row.getColumn(14).getInt();
  feed.last_error = row.getColumn(15).getString();
  feed.disabled = row.getColumn(16).getInt() != 0;
  feed.disabled_reason = row.getColumn(17).getString();
  feed.pending_redirect = row.getColumn(18).getString();
  feed.pending_redirect_polls = row.getColumn(19).getInt();
  feed.item_count = row.getColumn(20).getInt64();
  return feed;
}

namespace {

// The joined_by, matched_item_id and matched_p columns from `first` on.
model::JoinedBy joined_by_from_row(const SQLite::Statement& row, int first) {
  model::JoinedBy joined;
  joined.reason = row.getColumn(first).getString();  // NULL (no membership): ""
  if (!row.getColumn(first + 1).isNull()) joined.item = row.getColumn(first + 1).getInt64();
  joined.p = row.getColumn(first + 2).getDouble();
  return joined;
}

}  // namespace

Result<store::StoredItem> stored_item_from_row(const SQLite::Statement& row) {
  store::StoredItem stored;
  stored.id = row.getColumn(0).getInt64();
  stored.feed_id = row.getColumn(1).getInt64();
  stored.key = row.getColumn(2).getString();
  auto item = item_from_row(row, 3);
  if (!item) return item.error();
  stored.item = std::move(*item);
  constexpr int tail = 3 + kItemFieldCount;
  stored.published_estimated = row.getColumn(tail).getInt() != 0;
  stored.first_seen = from_db(row.getColumn(tail + 1).getInt64());
  stored.changed_at = optional_time(row, tail + 2);
  stored.feed_url = row.getColumn(tail + 3).getString();
  if (!row.getColumn(tail + 4).isNull()) stored.story_id = row.getColumn(tail + 4).getInt64();
  stored.relation = row.getColumn(tail + 5).getString();
  stored.joined_by = joined_by_from_row(row, tail + 6);
  return stored;
}

Result<model::StoryMember> member_from_row(const SQLite::Statement& row) {
  model::StoryMember member;
  member.item_id = row.getColumn(0).getInt64();
  member.feed_id = row.getColumn(1).getInt64();
  member.feed_url = row.getColumn(2).getString();
  member.feed_title = row.getColumn(3).getString();
  member.feed_link = row.getColumn(4).getString();
  auto item = item_from_row(row, 5);
  if (!item) return item.error();
  member.item = std::move(*item);
  constexpr int tail = 5 + kItemFieldCount;
  member.first_seen = from_db(row.getColumn(tail).getInt64());
  member.key = row.getColumn(tail + 1).getString();
  member.published_estimated = row.getColumn(tail + 2).getInt() != 0;
  member.relation = row.getColumn(tail + 3).getString();
  member.joined_by = joined_by_from_row(row, tail + 4);
  return member;
}

std::string default_representative_sql(std::string_view story) {
  const std::string id(story);
  return "(SELECT i.id FROM item_stories AS m JOIN items AS i ON i.id = m.item_id, (SELECT "
         "min(i2.first_seen) AS first_seen FROM item_stories AS m2 JOIN items AS i2 ON i2.id = "
         "m2.item_id WHERE m2.story_id = " +
         id + ") AS f WHERE m.story_id = " + id +
         " ORDER BY m.relation IN ('copy', 'translation', 'same_url'), CASE WHEN i.published < "
         "f.first_seen - " +
         std::to_string(dedup::kBackdateTolerance.count()) + " AND i.first_seen > f.first_seen + " +
         std::to_string(dedup::kSeenTogether.count()) +
         " THEN i.first_seen ELSE i.published END, round(100 * (CASE WHEN m.matched_item_id IS "
         "NULL THEN 0 ELSE m.matched_p END + coalesce((SELECT sum(m3.matched_p) FROM "
         "item_stories AS m3 WHERE m3.story_id = " +
         id + " AND m3.matched_item_id = m.item_id), 0))) DESC, i.published, i.id LIMIT 1)";
}

std::string first_published_sql(std::string_view story) {
  return "coalesce((SELECT min(i.published) FROM item_stories AS m JOIN items AS i ON i.id = "
         "m.item_id WHERE m.story_id = " +
         std::string(story) + "), first_published)";
}

std::unordered_set<std::int64_t> stories_with_representative(
    const std::vector<StoryTouch>& touched) {
  std::unordered_set<std::int64_t> ids;
  for (const StoryTouch& story : touched) {
    if (story.representative) ids.insert(story.story_id);
  }
  return ids;
}

void representative_first(model::Story& story, std::optional<std::int64_t> representative) {
  const auto found = std::find_if(
      story.members.begin(), story.members.end(),
      [&](const model::StoryMember& member) { return member.item_id == representative; });
  if (found != story.members.end()) std::rotate(story.members.begin(), found, found + 1);
}

}  // namespace feedmerge::store::detail
