// A real SQLite file with feeds, items and stories for publishing tests. Items are stored the
// way the daemon stores them (Store::record_poll); stories are made with SQL, because the
// story stage is not part of these tests.
#pragma once

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "feedmerge/store/store.h"

namespace feedmerge::publish::test {

inline model::Time at(std::int64_t seconds) {
  return model::Time{std::chrono::seconds{seconds}};
}

class StoryDb {
 public:
  explicit StoryDb(const std::string& path) : path_(path) {
    auto opened = store::open_sqlite(path);
    REQUIRE(opened.has_value());
    store_ = std::move(*opened);
  }

  const std::string& path() const { return path_; }

  // Stores `feed` as one successful poll of `url`; the ids of its new items, in order.
  std::vector<std::int64_t> poll(const std::string& url, const model::Feed& feed,
                                 model::Time now = at(1'600'700'000)) {
    auto state = store_->ensure_feed(url);
    REQUIRE(state.has_value());
    state->last_attempt = now;
    state->last_success = now;
    auto stored = store_->record_poll(*state, &feed, now);
    REQUIRE(stored.has_value());
    std::vector<std::int64_t> ids;
    for (const store::NewItem& item : stored->new_items)
      ids.push_back(item.id);
    return ids;
  }

  // A new story over `items`; its first publication is theirs, the first item represents it
  // unless `representative` says otherwise.
  std::int64_t story(const std::vector<std::int64_t>& items,
                     std::optional<std::int64_t> representative = std::nullopt,
                     std::optional<model::Time> updated = std::nullopt) {
    SQLite::Database db(path_, SQLite::OPEN_READWRITE);
    SQLite::Statement insert(db,
                             "INSERT INTO stories (first_published, first_seen, updated, "
                             "representative_item_id) VALUES (0, 0, 0, ?)");
    if (representative) {
      insert.bind(1, *representative);
    } else {
      insert.bind(1);
    }
    insert.exec();
    const std::int64_t id = db.getLastInsertRowid();
    for (std::int64_t item : items)
      join(db, id, item);
    if (updated) {
      SQLite::Statement set(db, "UPDATE stories SET updated = ? WHERE id = ?");
      set.bind(1, updated->time_since_epoch().count());
      set.bind(2, id);
      set.exec();
    }
    return id;
  }

  // `item` joins `story` (first_published and updated follow).
  void join(std::int64_t story, std::int64_t item) {
    SQLite::Database db(path_, SQLite::OPEN_READWRITE);
    join(db, story, item);
  }

 private:
  static void join(SQLite::Database& db, std::int64_t story, std::int64_t item) {
    SQLite::Statement assign(
        db, "INSERT OR REPLACE INTO item_stories (item_id, story_id) VALUES (?, ?)");
    assign.bind(1, item);
    assign.bind(2, story);
    assign.exec();
    SQLite::Statement dates(db,
                            "UPDATE stories SET first_published = (SELECT min(published) FROM "
                            "items WHERE id IN (SELECT item_id FROM item_stories WHERE story_id "
                            "= :s)), first_seen = (SELECT min(first_seen) FROM items WHERE id IN "
                            "(SELECT item_id FROM item_stories WHERE story_id = :s)), updated = "
                            "max(updated, (SELECT max(coalesce(changed_at, first_seen)) FROM "
                            "items WHERE id IN (SELECT item_id FROM item_stories WHERE story_id "
                            "= :s))) WHERE id = :s");
    dates.bind(":s", story);
    dates.exec();
  }

  std::string path_;
  std::unique_ptr<store::Store> store_;
};

inline model::Item item(std::string id, std::string title, std::string link, std::int64_t published,
                        std::string content = {}) {
  model::Item out;
  out.id = std::move(id);
  out.title = std::move(title);
  out.link = std::move(link);
  out.published = at(published);
  out.content = std::move(content);
  return out;
}

inline model::Feed feed(std::string title, std::string link, std::vector<model::Item> items) {
  model::Feed out;
  out.title = std::move(title);
  out.link = std::move(link);
  out.items = std::move(items);
  return out;
}

}  // namespace feedmerge::publish::test
