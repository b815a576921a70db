// The SQLite implementation of store::Store: one connection to one database file (WAL), its
// statements prepared once. Split by concern: sqlite_store.cpp (opening, feed state,
// retention, the files' health), sqlite_items.cpp (record_poll and item reads),
// sqlite_stories.cpp (stories and memberships). Internal to src/store; not thread-safe, as
// any Store.
#pragma once

#include <sys/types.h>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>

#include "feedmerge/store/store.h"
#include "store/item_codec.h"

namespace feedmerge::store::detail {

// A prepared statement borrowed for one use: bindings cleared before, reset after, so that
// an exception half-way through never leaves it holding a read lock or stale values.
class Use {
 public:
  explicit Use(SQLite::Statement& statement) : statement_(statement) {
    // tryReset: reset() reports again how the statement's last step failed.
    statement_.tryReset();
    statement_.clearBindings();
  }
  // Bindings cleared here too: bind_view's pointers must not outlive the call. Not reset():
  // it throws how the last step failed, and a destructor must not throw.
  ~Use() {
    statement_.tryReset();
    statement_.clearBindings();
  }
  Use(const Use&) = delete;
  Use& operator=(const Use&) = delete;

  SQLite::Statement* operator->() { return &statement_; }
  SQLite::Statement& operator*() { return statement_; }

  void bind(const char* name, const std::string& text) { statement_.bind(name, text); }
  void bind(const char* name, std::int64_t value) { statement_.bind(name, value); }
  void bind(const char* name, int value) { statement_.bind(name, value); }
  // Not copied (an item's text is most of what a poll stores): `text` must stay alive and
  // unchanged until the statement has run.
  void bind_view(const char* name, const std::string& text) { statement_.bindNoCopy(name, text); }
  void bind(const char* name, bool value) { statement_.bind(name, value ? 1 : 0); }
  void bind(const char* name, std::optional<model::Time> time) {
    if (time) {
      statement_.bind(name, to_db(*time));
    } else {
      statement_.bind(name);
    }
  }

 private:
  SQLite::Statement& statement_;
};

// Feed state, items, tombstones and retention (prepared in sqlite_items.cpp).
struct ItemStatements {
  explicit ItemStatements(SQLite::Database& db);

  // One poll's writes (record_poll), inside its transaction.
  Result<void> write_feed(const FeedState& state, const model::Feed* parsed, model::Time now);
  void write_item(std::int64_t feed_id, const model::Item& item, std::size_t index, model::Time now,
                  std::unordered_set<std::string>& keys_seen, StoreResult& result);

  SQLite::Database& db;
  SQLite::Statement find_feed;
  SQLite::Statement insert_feed;
  SQLite::Statement list_feeds;
  SQLite::Statement update_feed;
  SQLite::Statement find_item;
  SQLite::Statement insert_item;
  SQLite::Statement update_item;
  SQLite::Statement find_tombstone;
  SQLite::Statement touch_tombstone;
  SQLite::Statement items_of_feed;
  SQLite::Statement count_items;
  SQLite::Statement item_has_key;
  SQLite::Statement bury_old;
  SQLite::Statement delete_old;
  SQLite::Statement bury_excess;
  SQLite::Statement delete_excess;
  SQLite::Statement any_feed_over;
  SQLite::Statement expire_tombstones;
};

// Stories and memberships (prepared in sqlite_stories.cpp). The batch writer of
// Store::write_stories.
struct StoryStatements final : StoryWriter {
  explicit StoryStatements(SQLite::Database& db);

  std::int64_t next_story_id() override;
  StoriesVersion stories_version() override;
  void apply(const StoryWrites& writes, model::Time now) override;
  // After a merge or split: first_published and the representative from the members.
  void recompute_story(std::int64_t story_id, model::Time now);

  SQLite::Database& db;
  // Numbered parameters: a first poll runs these tens of thousands of times, and binding by
  // name searches the names each time.
  SQLite::Statement insert_story;
  SQLite::Statement set_item;
  SQLite::Statement touch;
  SQLite::Statement default_representative;
  SQLite::Statement first_published;
  SQLite::Statement latest;
  SQLite::Statement members;
  SQLite::Statement count_items;
  SQLite::Statement count_stories;
};

class SqliteStore final : public Store {
 public:
  // open_sqlite has checked and migrated the schema.
  SqliteStore(std::string path, SQLite::Database db, OpenMode mode);
  ~SqliteStore() override;

  const std::string& location() const override { return path_; }

  Result<std::vector<FeedState>> ensure_feeds(const std::vector<std::string>& urls) override;
  Result<std::optional<FeedState>> find_feed(std::string_view url) override;
  Result<std::vector<FeedState>> list_feeds() override;
  Result<void> schedule_polls(const std::vector<std::pair<std::int64_t, Time>>& polls) override;

  Result<StoreResult> record_poll(const FeedState& state, const model::Feed* parsed,
                                  Time now) override;
  Result<std::vector<StoredItem>> items_of_feed(std::int64_t feed_id) override;
  Result<std::int64_t> count_items() override;
  Result<bool> holds_item(std::int64_t id, const std::string& key) override;

  Result<std::vector<StoredItem>> items_by_id(const std::vector<std::int64_t>& ids) override;
  Result<std::vector<StoredItem>> assigned_between(Time from, Time to) override;
  Result<std::vector<std::int64_t>> unassigned_item_ids() override;
  Result<std::optional<Time>> newest_assigned_publication() override;
  Result<std::vector<StoredItem>> items_with_link(const std::string& link) override;
  Result<void> write_stories(const std::function<Result<void>(StoryWriter&)>& body,
                             ForeignKeys keys) override;
  Result<std::vector<model::Story>> list_stories(std::optional<Time> since) override;
  Result<std::vector<model::Story>> latest(const std::vector<std::string>* feed_urls,
                                           int limit) override;
  Result<StoreCounts> counts() override;
  Result<void> merge(std::int64_t into, std::int64_t from, Time now) override;
  Result<std::int64_t> split(std::int64_t item_id, Time now) override;
  Result<std::int64_t> last_override_id() override;
  Result<StoriesVersion> stories_version() override;
  Result<int> drop_empty_stories() override;

  Result<int> prune(std::chrono::seconds retention, std::int64_t max_items_per_feed,
                    Time now) override;

  Result<void> check_files() override;
  Result<void> checkpoint(bool truncate) override;
  Result<void> quick_check() override;

 private:
  // Which file is which: the inode behind a path.
  struct FileId {
    dev_t device = 0;
    ino_t inode = 0;
    bool operator==(const FileId&) const = default;
  };
  static std::optional<FileId> identify(const std::string& file);

  Error error(const std::exception& e) const;
  Error error(std::string_view what) const;
  // SQLiteCpp reports failures as exceptions; the store reports them as values.
  template <class Function>
  auto guarded(Function&& function) -> decltype(function()) {
    try {
      return function();
    } catch (const std::exception& e) {
      return error(e);
    }
  }
  // Rows of kStoredItemFields, as values.
  Result<std::vector<StoredItem>> read_items(SQLite::Statement& query) const;

  std::string path_;
  SQLite::Database db_;
  // read_write: the files as opened; the -wal's from when it first existed.
  std::optional<FileId> db_file_;
  std::optional<FileId> wal_file_;
  ItemStatements items_;
  StoryStatements stories_;
};

}  // namespace feedmerge::store::detail
