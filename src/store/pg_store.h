// The PostgreSQL implementation of store::Store: one libpqxx connection, its statements
// prepared once. pg_store.cpp: opening, schema, feeds, retention; pg_items.cpp: polls and
// items; pg_stories.cpp: stories; pg_migrate.cpp: the copy from SQLite. Internal to
// src/store; not thread-safe, as any Store.
#pragma once

#include <pqxx/pqxx>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "feedmerge/store/store.h"

namespace feedmerge::store::detail {

// The PostgreSQL schema's version (its own numbering: the table schema_version holds it).
inline constexpr int kPgSchemaVersion = 4;

// Every transaction that writes stories (write_stories, merge, split) holds this
// transaction-level advisory lock first: story ids are numbered by the caller from
// next_story_id(), which two concurrent writers would both read ("FMRG" + 1).
inline constexpr std::int64_t kStoryWriteLock = 0x464d524701;
// Held while the schema is checked and migrated, so that two processes opening one new
// database do not both run a step.
inline constexpr std::int64_t kMigrationLock = 0x464d524702;
// The story assigner's session-level lock (store/cluster.h), in pg_advisory_lock's two-key
// form so that pg_locks shows it as (classid, objid) = ("FMRG", 3).
inline constexpr int kAssignerLockClass = 0x464d5247;
inline constexpr int kAssignerLockId = 3;
// NOTIFYed by every transaction that changes stories, as it commits: every process's
// publisher renders anew (store/cluster.h, await_story_change).
inline constexpr std::string_view kStoriesChannel = "feedmerge_stories";

// The URL with any password replaced by "***", for messages.
std::string redact_url(std::string_view url);

// Columns read back as values (the same order as item_codec.h's SQLite counterparts).
Result<model::Item> pg_item(const pqxx::row& row, int first);
FeedState pg_feed(const pqxx::row& row);
Result<StoredItem> pg_stored_item(const pqxx::row& row);
Result<model::StoryMember> pg_member(const pqxx::row& row);

// The batch writer of PgStore::write_stories, over the transaction it runs in.
class PgStoryWriter final : public StoryWriter {
 public:
  // `term`: the assigner's term the batch is written under (write_stories' fence), if any.
  explicit PgStoryWriter(pqxx::work& work, std::optional<std::int64_t> term = std::nullopt)
      : work_(work), term_(term) {}
  std::int64_t next_story_id() override;
  StoriesVersion stories_version() override;
  void apply(const StoryWrites& writes, model::Time now) override;
  void note_unsettled(std::optional<model::Time> from) override;
  // After a merge or split: first_published and the representative from the members.
  void recompute_story(std::int64_t story_id, model::Time now);

 private:
  void write_members(const std::vector<Membership>& members);

  pqxx::work& work_;
  std::optional<std::int64_t> term_;
};

// The transaction a read runs in: the write transaction open on the connection (a read inside
// write_stories' body, as the assigner's catch-up does, sees the batch's writes; libpq allows
// one transaction per connection), else one of its own, of type Own.
template <class Own = pqxx::read_transaction>
class ReadScope {
 public:
  ReadScope(pqxx::connection& connection, pqxx::transaction_base* open) {
    if (open != nullptr) {
      work_ = open;
    } else {
      own_.emplace(connection);
      work_ = &*own_;
    }
  }
  pqxx::transaction_base& operator*() { return *work_; }

 private:
  std::optional<Own> own_;
  pqxx::transaction_base* work_ = nullptr;
};

class PgStore final : public Store {
 public:
  // open_postgresql has connected, checked and migrated the schema.
  PgStore(std::string url, std::unique_ptr<pqxx::connection> connection);
  ~PgStore() override;

  // Prepares every statement on the connection (pg_items.cpp, pg_stories.cpp).
  static void prepare_item_statements(pqxx::connection& connection);
  static void prepare_story_statements(pqxx::connection& connection);

  const std::string& location() const override { return location_; }

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
  Result<std::optional<Time>> unsettled_from() override;
  Result<std::optional<Time>> newest_assigned_publication() override;
  Result<std::vector<StoredItem>> items_with_link(const std::string& link) override;
  Result<void> write_stories(const std::function<Result<void>(StoryWriter&)>& body,
                             ForeignKeys keys) override;
  void fence_story_writes(std::optional<std::int64_t> term) override { fence_ = term; }
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

  // The server keeps its own files and checkpoints itself.
  Result<void> check_files() override { return {}; }
  Result<void> checkpoint(bool) override { return {}; }
  Result<void> quick_check() override;

 private:
  Error error(const std::exception& e) const;
  Error error(std::string_view what) const;
  // libpqxx reports failures as exceptions; the store reports them as values.
  template <class Function>
  auto guarded(Function&& function) -> decltype(function()) {
    try {
      return function();
    } catch (const std::exception& e) {
      return error(e);
    }
  }
  Result<std::vector<StoredItem>> read_items(const pqxx::result& rows) const;
  // The one value of `query` (an aggregate of stored times) as a time; nullopt when NULL.
  Result<std::optional<Time>> read_time(const char* query);
  Result<void> read_members(pqxx::transaction_base& work, std::vector<model::Story>& stories,
                            const std::vector<std::optional<std::int64_t>>& representatives);

  std::string location_;  // redacted
  std::unique_ptr<pqxx::connection> connection_;
  pqxx::work* writing_ = nullptr;      // write_stories' transaction while its body runs
  std::optional<std::int64_t> fence_;  // the assigner's term story batches are written under
};

}  // namespace feedmerge::store::detail
