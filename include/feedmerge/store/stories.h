// Stories in the store: which story each item belongs to, the stories' dates and
// representatives, and the overrides people made. One StoryStore is one SQLite connection to
// the same file as the Store (WAL); the daemon's single writer owns the read_write one and
// assigns stories right after each poll's transaction; CLI commands open their own.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "feedmerge/error.h"
#include "feedmerge/model/feed.h"
#include "feedmerge/store/store.h"

namespace feedmerge::store {

struct StoryItem {
  std::int64_t id = 0;
  std::int64_t feed_id = 0;
  std::string feed_url;  // as configured
  model::Item item;      // id (the feed's), title, link, summary, content, published, updated
  bool published_estimated = false;  // item.published is when it was first stored
  Time first_seen{};
  std::optional<std::int64_t> story_id;
  std::string relation;  // items.story_relation
};

struct StoryRecord {
  std::int64_t id = 0;
  Time first_published{};
  Time first_seen{};
  Time updated{};
  std::optional<std::int64_t> representative_item_id;
  std::vector<StoryItem> items;  // by publication time
};

// One block of an assignment batch's writes. Stories the block creates come with the id the
// caller gave them (from StoryWriter::next_story_id()) and their final values, so that each is
// inserted once rather than inserted and then updated.
struct NewStory {
  std::int64_t id = 0;
  Time first_published{};
  std::optional<std::int64_t> representative;  // nullopt: the earliest member not a copy
};
struct Membership {
  std::int64_t item_id = 0;
  std::int64_t story_id = 0;
  std::string relation;
  std::string canonical_url;
  Time story_time{};  // the time the stories measured the item by (the window loads by it)
};
// An existing story that gained members: first_published is lowered to `earliest` (the
// earliest member that joined since it was last written).
struct StoryTouch {
  std::int64_t story_id = 0;
  std::optional<std::int64_t> representative;  // nullopt: the earliest member not a copy
  Time earliest{};
};
struct StoryWrites {
  std::vector<NewStory> created;
  std::vector<Membership> members;
  std::vector<StoryTouch> touched;
};

// Writes of one assignment batch, inside one transaction (StoryStore::write).
class StoryWriter {
 public:
  virtual ~StoryWriter() = default;
  // The first id no story has had (stories' ids are never reused); the caller numbers the
  // stories it creates from here, within this transaction.
  virtual std::int64_t next_story_id() = 0;
  // Inserts `created`, then `members`, then updates `touched`; every story written gets
  // updated = now (created ones first_seen = now too).
  virtual void apply(const StoryWrites& writes, Time now) = 0;
};

class StoryStore {
 public:
  // The database must exist at kSchemaVersion (Store::open migrates it).
  static Result<std::unique_ptr<StoryStore>> open(const std::string& path, OpenMode mode);
  ~StoryStore();
  StoryStore(const StoryStore&) = delete;
  StoryStore& operator=(const StoryStore&) = delete;

  Result<std::vector<StoryItem>> items_by_id(const std::vector<std::int64_t>& ids);
  // Items already in a story, published in [from, to), by publication time.
  Result<std::vector<StoryItem>> assigned_between(Time from, Time to);
  Result<std::vector<std::int64_t>> unassigned_item_ids();
  Result<std::optional<Time>> newest_assigned_publication();
  Result<std::vector<StoryItem>> items_with_link(const std::string& link);

  // Whether write() has SQLite check the references it writes.
  enum class ForeignKeys {
    check,
    // The caller vouches for every story and item it names, as of inside the transaction
    // (StoryAssigner). Checking each one reads the item's page: most of the SQL time of a
    // first poll's 30,000 memberships.
    trust,
  };
  // Runs `body` in one IMMEDIATE transaction; rolls back when it throws or returns an error.
  Result<void> write(const std::function<Result<void>(StoryWriter&)>& body,
                     ForeignKeys keys = ForeignKeys::check);

  // Stories whose `updated` is at or after `since` (all when nullopt), newest first, each with
  // its members.
  Result<std::vector<StoryRecord>> list_stories(std::optional<Time> since);

  // Overrides. merge: every member of `from` moves to `into`, `from` is deleted. split: the
  // item leaves its story for a new one of its own (returned). Both are recorded in
  // story_overrides.
  Result<void> merge(std::int64_t into, std::int64_t from, Time now);
  Result<std::int64_t> split(std::int64_t item_id, Time now);
  Result<std::int64_t> last_override_id();
  // Deletes stories left without members (after retention) and refreshes representatives
  // that retention removed.
  Result<int> drop_empty_stories();

 private:
  struct Impl;
  explicit StoryStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace feedmerge::store
