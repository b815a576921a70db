// SqliteStore: recording a poll (feed state, items, tombstones) and reading items back.
#include <SQLiteCpp/Transaction.h>

#include <bit>
#include <utility>

#include "store/sqlite_store.h"

namespace feedmerge::store::detail {
namespace {

// The named parameters insert_item and update_item share.
constexpr const char* kItemValues =
    ":guid, :title, :link, :summary, :content, :authors, :categories, :image, :enclosures, "
    ":published, :published_estimated, :updated, :content_hash";

// Items ranked newest first within their feed; ties in first_seen (one poll) go to the later
// publication date, then to document order, where feeds put their newest items first.
constexpr const char* kExcessItems =
    "SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY feed_id "
    "ORDER BY first_seen DESC, published DESC, id ASC) AS newness FROM items) "
    "WHERE newness > :max_items";

std::string sql(std::initializer_list<std::string_view> parts) {
  std::string text;
  for (auto part : parts)
    text += part;
  return text;
}

void bind_item_values(Use& statement, const model::Item& item, const Dating& dating,
                      std::uint64_t hash) {
  statement.bind_view(":guid", item.id);
  statement.bind_view(":title", item.title);
  statement.bind_view(":link", item.link);
  statement.bind_view(":summary", item.summary);
  statement.bind_view(":content", item.content);
  statement.bind(":authors", strings_to_json(item.authors));
  statement.bind(":categories", strings_to_json(item.categories));
  statement.bind_view(":image", item.image);
  statement.bind(":enclosures", enclosures_to_json(item.enclosures));
  statement.bind(":published", std::optional<Time>(dating.published));
  statement.bind(":published_estimated", dating.estimated);
  statement.bind(":updated", item.updated);
  statement.bind(":content_hash", std::bit_cast<std::int64_t>(hash));
}

}  // namespace

ItemStatements::ItemStatements(SQLite::Database& db_in)
    : db(db_in),
      find_feed(db, sql({"SELECT ", kFeedFields, " FROM feeds AS f WHERE f.url = :url"})),
      insert_feed(db, "INSERT INTO feeds (url) VALUES (:url) ON CONFLICT (url) DO NOTHING"),
      list_feeds(db, sql({"SELECT ", kFeedFields, " FROM feeds AS f ORDER BY f.id"})),
      update_feed(db,
                  "UPDATE feeds SET fetch_url = :fetch_url, etag = :etag, "
                  "last_modified = :last_modified, body_hash = :body_hash, "
                  "next_poll = :next_poll, interval_seconds = :interval, "
                  "last_attempt = :last_attempt, last_success = :last_success, "
                  "consecutive_failures = :failures, failing_since = CASE WHEN :failures = 0 "
                  "THEN NULL ELSE coalesce(failing_since, :now) END, "
                  "last_status = :last_status, last_error = :last_error, "
                  "disabled = :disabled, disabled_reason = :disabled_reason, "
                  "pending_redirect = :pending_redirect, "
                  "pending_redirect_polls = :pending_redirect_polls, "
                  "title = CASE WHEN :has_document THEN :title ELSE title END, "
                  "link = CASE WHEN :has_document THEN :link ELSE link END "
                  "WHERE id = :id"),
      find_item(db,
                "SELECT id, content_hash, first_seen FROM items "
                "WHERE feed_id = :feed_id AND key = :key"),
      insert_item(db, sql({"INSERT INTO items (feed_id, key, first_seen, guid, title, link, "
                           "summary, content, authors, categories, image, enclosures, "
                           "published, published_estimated, updated, content_hash) "
                           "VALUES (:feed_id, :key, :first_seen, ",
                           kItemValues, ")"})),
      update_item(db,
                  "UPDATE items SET (guid, title, link, summary, content, authors, "
                  "categories, image, enclosures, published, published_estimated, updated, "
                  "content_hash, changed_at) = (" +
                      std::string(kItemValues) + ", :now) WHERE id = :id"),
      find_tombstone(db,
                     "SELECT last_seen FROM tombstones WHERE feed_id = :feed_id AND key = :key"),
      touch_tombstone(db,
                      "UPDATE tombstones SET last_seen = :now "
                      "WHERE feed_id = :feed_id AND key = :key"),
      items_of_feed(db, sql({"SELECT ", kStoredItemFields, kStoredItemFrom,
                             " WHERE i.feed_id = :feed_id ORDER BY i.id"})),
      count_items(db, "SELECT count(*) FROM items"),
      item_has_key(db, "SELECT 1 FROM items WHERE id = :id AND key = :key"),
      bury_old(db,
               "INSERT OR REPLACE INTO tombstones (feed_id, key, removed_at, last_seen) "
               "SELECT feed_id, key, :now, :now FROM items WHERE first_seen < :cutoff"),
      delete_old(db, "DELETE FROM items WHERE first_seen < :cutoff"),
      bury_excess(db, sql({"INSERT OR REPLACE INTO tombstones (feed_id, key, removed_at, "
                           "last_seen) SELECT feed_id, key, :now, :now FROM items "
                           "WHERE id IN (",
                           kExcessItems, ")"})),
      delete_excess(db, sql({"DELETE FROM items WHERE id IN (", kExcessItems, ")"})),
      any_feed_over(db,
                    "SELECT EXISTS (SELECT 1 FROM items GROUP BY feed_id "
                    "HAVING count(*) > :max_items)"),
      expire_tombstones(db, "DELETE FROM tombstones WHERE last_seen < :cutoff") {}

Result<void> ItemStatements::write_feed(const FeedState& state, const model::Feed* parsed,
                                        Time now) {
  Use update(update_feed);
  update.bind(":id", state.id);
  update.bind(":fetch_url", state.fetch_url);
  update.bind(":etag", state.etag);
  update.bind(":last_modified", state.last_modified);
  update.bind(":body_hash", state.body_hash);
  update.bind(":next_poll", state.next_poll);
  if (state.interval) update.bind(":interval", static_cast<std::int64_t>(state.interval->count()));
  update.bind(":last_attempt", state.last_attempt);
  update.bind(":last_success", state.last_success);
  update.bind(":failures", state.consecutive_failures);
  update.bind(":now", std::optional<Time>(now));
  update.bind(":last_status", state.last_status);
  update.bind(":last_error", state.last_error);
  update.bind(":disabled", state.disabled);
  update.bind(":disabled_reason", state.disabled_reason);
  update.bind(":pending_redirect", state.pending_redirect);
  update.bind(":pending_redirect_polls", state.pending_redirect_polls);
  update.bind(":has_document", parsed != nullptr);
  update.bind(":title", parsed != nullptr ? parsed->title : std::string());
  update.bind(":link", parsed != nullptr ? parsed->link : std::string());
  if (update->exec() != 1)
    return Error{ErrorKind::database, "no feed with id " + std::to_string(state.id)};
  return {};
}

void ItemStatements::write_item(std::int64_t feed_id, const model::Item& item, std::size_t index,
                                Time now, std::unordered_set<std::string>& keys_seen,
                                StoreResult& result) {
  std::string key = item_key(item);
  if (!keys_seen.insert(key).second) {
    result.warnings.push_back(
        {0, "item " + key + " appears more than once in the document; keeping the first"});
    return;
  }
  const std::uint64_t hash = content_hash(item);

  std::optional<std::int64_t> id;
  std::uint64_t stored_hash = 0;
  Time first_seen = now;
  {
    Use find(find_item);
    find.bind(":feed_id", feed_id);
    find.bind(":key", key);
    if (find->executeStep()) {
      id = find->getColumn(0).getInt64();
      stored_hash = std::bit_cast<std::uint64_t>(find->getColumn(1).getInt64());
      first_seen = from_db(find->getColumn(2).getInt64());
    }
  }

  if (id) {
    if (stored_hash == hash) {
      ++result.unchanged;
      return;
    }
    Use update(update_item);
    bind_item_values(update, item, date_item(item, key, first_seen, now, result.warnings), hash);
    update.bind(":now", std::optional<Time>(now));
    update.bind(":id", *id);
    update->exec();
    ++result.updated;
    result.updated_item_ids.push_back(*id);
    return;
  }

  {
    Use find(find_tombstone);
    find.bind(":feed_id", feed_id);
    find.bind(":key", key);
    if (find->executeStep()) {
      const Time last_seen = from_db(find->getColumn(0).getInt64());
      find->reset();
      if (now - last_seen >= kTombstoneTouchEvery) {
        Use touch(touch_tombstone);
        touch.bind(":now", std::optional<Time>(now));
        touch.bind(":feed_id", feed_id);
        touch.bind(":key", key);
        touch->exec();
      }
      ++result.pruned;
      return;
    }
  }

  Use insert(insert_item);
  const Dating dating = date_item(item, key, now, now, result.warnings);
  bind_item_values(insert, item, dating, hash);
  insert.bind(":feed_id", feed_id);
  insert.bind(":key", key);
  insert.bind(":first_seen", std::optional<Time>(now));
  insert->exec();
  ++result.inserted;
  result.new_items.push_back({.id = db.getLastInsertRowid(),
                              .index = index,
                              .key = std::move(key),
                              .published = dating.published,
                              .published_estimated = dating.estimated,
                              .first_seen = now});
}

Result<StoreResult> SqliteStore::record_poll(const FeedState& state, const model::Feed* parsed,
                                             Time now) {
  return guarded([&]() -> Result<StoreResult> {
    // IMMEDIATE: take the write lock up front rather than fail half-way on a busy upgrade.
    SQLite::Transaction transaction(db_, SQLite::TransactionBehavior::IMMEDIATE);
    if (auto written = items_.write_feed(state, parsed, now); !written) {
      return error(written.error().message);
    }
    StoreResult result;
    if (parsed != nullptr) {
      std::unordered_set<std::string> keys_seen;
      keys_seen.reserve(parsed->items.size());
      for (std::size_t index = 0; index < parsed->items.size(); ++index) {
        items_.write_item(state.id, parsed->items[index], index, now, keys_seen, result);
      }
    }
    transaction.commit();
    return result;
  });
}

Result<std::vector<StoredItem>> SqliteStore::read_items(SQLite::Statement& query) const {
  std::vector<StoredItem> items;
  while (query.executeStep()) {
    auto item = stored_item_from_row(query);
    if (!item) return error(item.error().message);
    items.push_back(std::move(*item));
  }
  return items;
}

Result<std::vector<StoredItem>> SqliteStore::items_of_feed(std::int64_t feed_id) {
  return guarded([&]() -> Result<std::vector<StoredItem>> {
    Use select(items_.items_of_feed);
    select.bind(":feed_id", feed_id);
    return read_items(*select);
  });
}

Result<bool> SqliteStore::holds_item(std::int64_t id, const std::string& key) {
  return guarded([&]() -> Result<bool> {
    Use holds(items_.item_has_key);
    holds.bind(":id", id);
    holds.bind(":key", key);
    return holds->executeStep();
  });
}

Result<std::int64_t> SqliteStore::count_items() {
  return guarded([&]() -> Result<std::int64_t> {
    Use count(items_.count_items);
    count->executeStep();
    return count->getColumn(0).getInt64();
  });
}

}  // namespace feedmerge::store::detail
