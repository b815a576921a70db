// PgStore: recording a poll (feed state, items, tombstones) and reading items back.
#include <bit>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include <boost/json.hpp>

#include "store/item_codec.h"
#include "store/pg_store.h"

namespace feedmerge::store::detail {
namespace {

std::string sql(std::initializer_list<std::string_view> parts) {
  std::string text;
  for (auto part : parts)
    text += part;
  return text;
}

// An item's list fields as JSON text, as the items table stores them.
struct ItemValues {
  std::string authors;
  std::string categories;
  std::string enclosures;
};

}  // namespace

void PgStore::prepare_item_statements(pqxx::connection& c) {
  c.prepare("find_feed", sql({"SELECT ", kFeedFields, " FROM feeds AS f WHERE f.url = $1"}));
  c.prepare("insert_feed", "INSERT INTO feeds (url) VALUES ($1) ON CONFLICT (url) DO NOTHING");
  c.prepare("list_feeds", sql({"SELECT ", kFeedFields, " FROM feeds AS f ORDER BY f.id"}));
  c.prepare("update_feed",
            "UPDATE feeds SET fetch_url = $2, etag = $3, last_modified = $4, body_hash = $5, "
            "next_poll = $6, interval_seconds = $7, last_attempt = $8, last_success = $9, "
            "consecutive_failures = $10, failing_since = CASE WHEN $10 = 0 THEN NULL ELSE "
            "coalesce(failing_since, $11) END, last_status = $12, last_error = $13, "
            "disabled = $14, disabled_reason = $15, pending_redirect = $16, "
            "pending_redirect_polls = $17, title = CASE WHEN $18 THEN $19 ELSE title END, "
            "link = CASE WHEN $18 THEN $20 ELSE link END WHERE id = $1");
  // A document's items and tombstones are looked up in one statement each, not one per item
  // (a round trip to the server each): $2 is a JSON array of the document's keys.
  c.prepare("find_items",
            "SELECT key, id, content_hash, first_seen FROM items WHERE feed_id = $1 AND key IN "
            "(SELECT json_array_elements_text($2::text::json))");
  // A document's new items in one statement, from a JSON array of objects (kNewItemFields),
  // ids given in document order. ON CONFLICT: an item is stored once however writers race; an
  // item another writer stored meanwhile is not returned, and counts as unchanged.
  c.prepare(
      "insert_items",
      "INSERT INTO items (feed_id, key, first_seen, guid, title, link, summary, content, "
      "authors, categories, image, enclosures, published, published_estimated, updated, "
      "content_hash) SELECT $1, x.key, $2, x.guid, x.title, x.link, x.summary, x.content, "
      "x.authors, x.categories, x.image, x.enclosures, x.published, "
      "x.published_estimated, x.updated, x.content_hash FROM json_to_recordset($3::text::json) "
      "AS x(ord bigint, key text, guid text, title text, link text, summary text, "
      "content text, authors text, categories text, image text, enclosures text, "
      "published bigint, published_estimated boolean, updated bigint, content_hash bigint) "
      "ORDER BY x.ord ON CONFLICT (feed_id, key) DO NOTHING RETURNING key, id");
  c.prepare("update_item",
            "UPDATE items SET (guid, title, link, summary, content, authors, categories, image, "
            "enclosures, published, published_estimated, updated, content_hash, changed_at) = "
            "($3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $2) WHERE id = $1");
  c.prepare("find_tombstones",
            "SELECT key, last_seen FROM tombstones WHERE feed_id = $1 AND key IN "
            "(SELECT json_array_elements_text($2::text::json))");
  c.prepare("touch_tombstone",
            "UPDATE tombstones SET last_seen = $1 WHERE feed_id = $2 AND key = $3");
  c.prepare("items_of_feed", sql({"SELECT ", kStoredItemFields, kStoredItemFrom,
                                  " WHERE i.feed_id = $1 ORDER BY i.id"}));
  c.prepare("count_items", "SELECT count(*) FROM items");
  c.prepare("item_has_key", "SELECT 1 FROM items WHERE id = $1 AND key = $2");
}

Result<StoreResult> PgStore::record_poll(const FeedState& state, const model::Feed* parsed,
                                         Time now) {
  return guarded([&]() -> Result<StoreResult> {
    pqxx::work work(*connection_);
    const std::int64_t at = to_db(now);
    auto optional_time = [](const std::optional<Time>& time) {
      return time ? std::optional<std::int64_t>(to_db(*time)) : std::nullopt;
    };
    const pqxx::result updated = work.exec_prepared(
        "update_feed", state.id, state.fetch_url, state.etag, state.last_modified, state.body_hash,
        optional_time(state.next_poll),
        state.interval ? std::optional<std::int64_t>(state.interval->count()) : std::nullopt,
        optional_time(state.last_attempt), optional_time(state.last_success),
        state.consecutive_failures, at, state.last_status, state.last_error, state.disabled,
        state.disabled_reason, state.pending_redirect, state.pending_redirect_polls,
        parsed != nullptr, parsed != nullptr ? parsed->title : std::string(),
        parsed != nullptr ? parsed->link : std::string());
    if (updated.affected_rows() != 1) return error("no feed with id " + std::to_string(state.id));

    StoreResult result;
    if (parsed == nullptr) {
      work.commit();
      return result;
    }
    std::vector<std::string> keys;
    keys.reserve(parsed->items.size());
    boost::json::array key_list;
    for (const model::Item& item : parsed->items) {
      keys.push_back(item_key(item));
      key_list.emplace_back(keys.back());
    }
    const std::string key_json = boost::json::serialize(key_list);
    struct Known {
      std::int64_t id = 0;
      std::int64_t hash = 0;
      std::int64_t first_seen = 0;
    };
    std::unordered_map<std::string, Known> known;
    for (const auto& row : work.exec_prepared("find_items", state.id, key_json)) {
      known.emplace(
          row[0].as<std::string>(),
          Known{row[1].as<std::int64_t>(), row[2].as<std::int64_t>(), row[3].as<std::int64_t>()});
    }
    std::unordered_map<std::string, std::int64_t> buried;  // key -> last_seen
    if (known.size() < keys.size()) {
      for (const auto& row : work.exec_prepared("find_tombstones", state.id, key_json))
        buried.emplace(row[0].as<std::string>(), row[1].as<std::int64_t>());
    }

    boost::json::array new_rows;
    std::unordered_set<std::string> keys_seen;
    keys_seen.reserve(parsed->items.size());
    for (std::size_t index = 0; index < parsed->items.size(); ++index) {
      const model::Item& item = parsed->items[index];
      std::string& key = keys[index];
      if (!keys_seen.insert(key).second) {
        result.warnings.push_back(
            {0, "item " + key + " appears more than once in the document; keeping the first"});
        continue;
      }
      const auto hash = std::bit_cast<std::int64_t>(content_hash(item));
      // Only for the items written: most of a poll's are unchanged.
      const auto values = [&] {
        return ItemValues{strings_to_json(item.authors), strings_to_json(item.categories),
                          enclosures_to_json(item.enclosures)};
      };

      if (const auto found = known.find(key); found != known.end()) {
        const std::int64_t id = found->second.id;
        if (found->second.hash == hash) {
          ++result.unchanged;
          continue;
        }
        const Time first_seen = from_db(found->second.first_seen);
        const Dating dating = date_item(item, key, first_seen, now, result.warnings);
        const ItemValues lists = values();
        work.exec_prepared("update_item", id, at, item.id, item.title, item.link, item.summary,
                           item.content, lists.authors, lists.categories, item.image,
                           lists.enclosures, to_db(dating.published), dating.estimated,
                           optional_time(item.updated), hash);
        ++result.updated;
        result.updated_item_ids.push_back(id);
        continue;
      }

      if (const auto tomb = buried.find(key); tomb != buried.end()) {
        const Time last_seen = from_db(tomb->second);
        if (now - last_seen >= kTombstoneTouchEvery)
          work.exec_prepared("touch_tombstone", at, state.id, key);
        ++result.pruned;
        continue;
      }

      const Dating dating = date_item(item, key, now, now, result.warnings);
      const ItemValues lists = values();
      boost::json::object row;
      row["ord"] = static_cast<std::int64_t>(index);
      row["key"] = key;
      row["guid"] = item.id;
      row["title"] = item.title;
      row["link"] = item.link;
      row["summary"] = item.summary;
      row["content"] = item.content;
      row["authors"] = lists.authors;
      row["categories"] = lists.categories;
      row["image"] = item.image;
      row["enclosures"] = lists.enclosures;
      row["published"] = to_db(dating.published);
      row["published_estimated"] = dating.estimated;
      if (item.updated) {
        row["updated"] = to_db(*item.updated);
      } else {
        row["updated"] = nullptr;
      }
      row["content_hash"] = hash;
      new_rows.emplace_back(std::move(row));
      result.new_items.push_back({.id = 0,
                                  .index = index,
                                  .key = std::move(key),
                                  .published = dating.published,
                                  .published_estimated = dating.estimated,
                                  .first_seen = now});
    }
    if (!new_rows.empty()) {
      std::unordered_map<std::string, std::int64_t> ids;
      for (const auto& row :
           work.exec_prepared("insert_items", state.id, at, boost::json::serialize(new_rows)))
        ids.emplace(row[0].as<std::string>(), row[1].as<std::int64_t>());
      std::erase_if(result.new_items, [&](NewItem& item) {
        const auto id = ids.find(item.key);
        if (id == ids.end()) {  // another writer stored it meanwhile
          ++result.unchanged;
          return true;
        }
        item.id = id->second;
        return false;
      });
      result.inserted = static_cast<int>(result.new_items.size());
    }
    work.commit();
    return result;
  });
}

Result<std::vector<StoredItem>> PgStore::read_items(const pqxx::result& rows) const {
  std::vector<StoredItem> items;
  items.reserve(rows.size());
  for (const auto& row : rows) {
    auto item = pg_stored_item(row);
    if (!item) return error(item.error().message);
    items.push_back(std::move(*item));
  }
  return items;
}

Result<std::vector<StoredItem>> PgStore::items_of_feed(std::int64_t feed_id) {
  return guarded([&]() -> Result<std::vector<StoredItem>> {
    ReadScope scope(*connection_, writing_);
    pqxx::transaction_base& work = *scope;
    return read_items(work.exec_prepared("items_of_feed", feed_id));
  });
}

Result<bool> PgStore::holds_item(std::int64_t id, const std::string& key) {
  return guarded([&]() -> Result<bool> {
    ReadScope scope(*connection_, writing_);
    pqxx::transaction_base& work = *scope;
    return !work.exec_prepared("item_has_key", id, key).empty();
  });
}

Result<std::int64_t> PgStore::count_items() {
  return guarded([&]() -> Result<std::int64_t> {
    ReadScope scope(*connection_, writing_);
    pqxx::transaction_base& work = *scope;
    return work.exec_prepared("count_items")[0][0].as<std::int64_t>();
  });
}

}  // namespace feedmerge::store::detail
