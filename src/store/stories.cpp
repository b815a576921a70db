#include "feedmerge/store/stories.h"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include <filesystem>
#include <optional>
#include <unordered_map>

#include "feedmerge/dedup/story_index.h"
#include "store/connection.h"
#include "store/schema.h"

namespace feedmerge::store {
namespace {

std::int64_t to_db(Time time) {
  return static_cast<std::int64_t>(time.time_since_epoch().count());
}
Time from_db(std::int64_t seconds) {
  return Time{std::chrono::seconds{seconds}};
}

constexpr const char* kItemColumns =
    "i.id, i.feed_id, f.url, i.guid, i.title, i.link, i.summary, i.content, i.published, "
    "i.published_estimated, i.updated, i.first_seen, m.story_id, m.relation, i.key";

StoryItem read_item(SQLite::Statement& row) {
  StoryItem out;
  out.id = row.getColumn(0).getInt64();
  out.feed_id = row.getColumn(1).getInt64();
  out.feed_url = row.getColumn(2).getString();
  out.item.id = row.getColumn(3).getString();
  if (out.item.id.empty()) out.item.id = row.getColumn(14).getString();
  out.item.title = row.getColumn(4).getString();
  out.item.link = row.getColumn(5).getString();
  out.item.summary = row.getColumn(6).getString();
  out.item.content = row.getColumn(7).getString();
  out.item.published = from_db(row.getColumn(8).getInt64());
  out.published_estimated = row.getColumn(9).getInt() != 0;
  if (!row.getColumn(10).isNull()) out.item.updated = from_db(row.getColumn(10).getInt64());
  out.first_seen = from_db(row.getColumn(11).getInt64());
  if (!row.getColumn(12).isNull()) out.story_id = row.getColumn(12).getInt64();
  out.relation = row.getColumn(13).getString();
  return out;
}

// dedup_time() (daemon/story_assigner.h) in SQL: what item_stories.story_time holds.
constexpr const char* kStoryTime =
    "CASE WHEN i.published_estimated = 1 AND i.updated IS NOT NULL AND i.updated <= "
    "i.first_seen THEN i.updated ELSE i.published END";

std::string select_items(const char* where) {
  return std::string("SELECT ") + kItemColumns +
         " FROM items AS i JOIN feeds AS f ON f.id = i.feed_id LEFT JOIN item_stories AS m ON "
         "m.item_id = i.id WHERE " +
         where;
}

// The member a story shows when the caller has no better idea: the earliest that is not a
// copy, else the earliest. As in StoryIndex::representative, a member seen well after the
// story's first sighting (f) that claims to predate it by much counts as published when seen.
// The story is parameter ?1.
std::string default_representative_sql() {
  return "(SELECT i.id FROM item_stories AS m JOIN items AS i ON i.id = m.item_id, (SELECT "
         "min(i2.first_seen) AS first_seen FROM item_stories AS m2 JOIN items AS i2 ON i2.id = "
         "m2.item_id WHERE m2.story_id = ?1) AS f WHERE m.story_id = ?1 ORDER BY m.relation IN "
         "('copy', 'translation', 'same_url'), CASE WHEN i.published < f.first_seen - " +
         std::to_string(dedup::kBackdateTolerance.count()) + " AND i.first_seen > f.first_seen + " +
         std::to_string(dedup::kSeenTogether.count()) +
         " THEN i.first_seen ELSE i.published END, i.published, i.id LIMIT 1)";
}

}  // namespace

struct StoryStore::Impl : StoryWriter {
  Impl(std::string path_in, SQLite::Database db_in)
      : path(std::move(path_in)),
        db(std::move(db_in)),
        // Numbered parameters: a first poll runs these tens of thousands of times, and
        // binding by name searches the names each time.
        insert_story(db,
                     "INSERT INTO stories (id, first_published, first_seen, updated, "
                     "representative_item_id) VALUES (?1, ?2, ?3, ?3, ?4)"),
        set_item(db,
                 "INSERT INTO item_stories (item_id, story_id, relation, canonical_url, "
                 "story_time) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (item_id) DO UPDATE "
                 "SET story_id = excluded.story_id, relation = excluded.relation, "
                 "canonical_url = excluded.canonical_url, story_time = excluded.story_time"),
        // `earliest` spares a batch reading every member back.
        touch(db,
              "UPDATE stories SET updated = ?2, first_published = min(first_published, ?3), "
              "representative_item_id = coalesce(?4, " +
                  default_representative_sql() + ") WHERE id = ?1"),
        default_representative(db, "UPDATE stories SET representative_item_id = " +
                                       default_representative_sql() + " WHERE id = ?1") {}

  std::int64_t next_story_id() override {
    // AUTOINCREMENT: ids of deleted stories are not given out again.
    return db
        .execAndGet(
            "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = "
            "'stories'), 0), coalesce((SELECT max(id) FROM stories), 0)) + 1")
        .getInt64();
  }

  void apply(const StoryWrites& writes, Time now) override {
    const std::int64_t at = to_db(now);
    // tryReset: reset() reports again how a statement's last step failed, which would fail
    // the batch after a failed one too.
    // Stories before the memberships that name them (foreign keys are checked per statement).
    for (const NewStory& story : writes.created) {
      insert_story.tryReset();
      insert_story.bind(1, story.id);
      insert_story.bind(2, to_db(story.first_published));
      insert_story.bind(3, at);
      if (story.representative) {
        insert_story.bind(4, *story.representative);
      } else {
        insert_story.bind(4);
      }
      insert_story.exec();
    }
    for (const Membership& member : writes.members) {
      set_item.tryReset();
      set_item.bind(1, member.item_id);
      set_item.bind(2, member.story_id);
      set_item.bind(3, member.relation);
      set_item.bind(4, member.canonical_url);
      set_item.bind(5, to_db(member.story_time));
      set_item.exec();
    }
    for (const NewStory& story : writes.created) {
      if (story.representative) continue;
      default_representative.tryReset();
      default_representative.bind(1, story.id);
      default_representative.exec();
    }
    for (const StoryTouch& story : writes.touched) {
      touch.tryReset();
      touch.bind(1, story.story_id);
      touch.bind(2, at);
      touch.bind(3, to_db(story.earliest));
      if (story.representative) {
        touch.bind(4, *story.representative);
      } else {
        touch.bind(4);
      }
      touch.exec();
    }
  }

  // After a merge or split: first_published and the representative from the members.
  void recompute_story(std::int64_t story_id, Time now) {
    SQLite::Statement update(
        db,
        "UPDATE stories SET updated = ?2, first_published = coalesce((SELECT min(i.published) "
        "FROM item_stories AS m JOIN items AS i ON i.id = m.item_id WHERE m.story_id = ?1), "
        "first_published), representative_item_id = " +
            default_representative_sql() + " WHERE id = ?1");
    update.bind(1, story_id);
    update.bind(2, to_db(now));
    update.exec();
  }

  Error error(const std::exception& e) const {
    return Error{ErrorKind::database, path + ": " + e.what()};
  }
  template <class Function>
  auto guarded(Function&& function) -> decltype(function()) {
    try {
      return function();
    } catch (const std::exception& e) {
      return error(e);
    }
  }

  std::vector<StoryItem> query_items(SQLite::Statement& query) {
    std::vector<StoryItem> items;
    while (query.executeStep())
      items.push_back(read_item(query));
    return items;
  }

  std::string path;
  SQLite::Database db;
  SQLite::Statement insert_story;
  SQLite::Statement set_item;
  SQLite::Statement touch;
  SQLite::Statement default_representative;
};

StoryStore::StoryStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StoryStore::~StoryStore() = default;

Result<std::unique_ptr<StoryStore>> StoryStore::open(const std::string& path, OpenMode mode) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return Error{ErrorKind::database,
                 path + ": no database here (the daemon creates it when it first starts)"};
  }
  try {
    const int flags = mode == OpenMode::read_only ? SQLite::OPEN_READONLY : SQLite::OPEN_READWRITE;
    SQLite::Database db = detail::open_connection(path, flags);
    const int version = db.execAndGet("PRAGMA user_version").getInt();
    if (version != kSchemaVersion) {
      return Error{ErrorKind::database,
                   path + ": database schema version " + std::to_string(version) + ", expected " +
                       std::to_string(kSchemaVersion) + " (start the daemon once to upgrade it)"};
    }
    if (mode == OpenMode::read_write) db.exec("PRAGMA foreign_keys = ON");
    return std::unique_ptr<StoryStore>(new StoryStore(std::make_unique<Impl>(path, std::move(db))));
  } catch (const std::exception& e) {
    return Error{ErrorKind::database, path + ": " + e.what()};
  }
}

Result<std::vector<StoryItem>> StoryStore::items_by_id(const std::vector<std::int64_t>& ids) {
  return impl_->guarded([&]() -> Result<std::vector<StoryItem>> {
    SQLite::Statement query(impl_->db, select_items("i.id = :id"));
    std::vector<StoryItem> items;
    for (std::int64_t id : ids) {
      query.reset();
      query.bind(":id", id);
      if (query.executeStep()) items.push_back(read_item(query));
    }
    return items;
  });
}

Result<std::vector<StoryItem>> StoryStore::assigned_between(Time from, Time to) {
  return impl_->guarded([&]() -> Result<std::vector<StoryItem>> {
    SQLite::Statement query(impl_->db, select_items("m.story_time >= :from AND m.story_time < :to "
                                                    "ORDER BY m.story_time, i.id"));
    query.bind(":from", to_db(from));
    query.bind(":to", to_db(to));
    return impl_->query_items(query);
  });
}

Result<std::vector<std::int64_t>> StoryStore::unassigned_item_ids() {
  return impl_->guarded([&]() -> Result<std::vector<std::int64_t>> {
    std::vector<std::int64_t> ids;
    // Every start asks, and the answer is almost always none: two counts over small indexes
    // tell that in a millisecond, where the search below looks up every item (30 ms for
    // 30,000). Memberships name existing items (the foreign key, or the assigner that
    // vouches for them), one row each (primary key).
    if (impl_->db
            .execAndGet("SELECT (SELECT count(*) FROM items) - (SELECT count(*) FROM "
                        "item_stories)")
            .getInt64() == 0)
      return ids;
    SQLite::Statement query(impl_->db,
                            "SELECT i.id FROM items AS i WHERE NOT EXISTS (SELECT 1 FROM "
                            "item_stories AS m WHERE m.item_id = i.id) ORDER BY i.published, i.id");
    while (query.executeStep())
      ids.push_back(query.getColumn(0).getInt64());
    return ids;
  });
}

Result<std::optional<Time>> StoryStore::newest_assigned_publication() {
  return impl_->guarded([&]() -> Result<std::optional<Time>> {
    SQLite::Statement query(impl_->db, "SELECT max(story_time) FROM item_stories");
    query.executeStep();
    if (query.getColumn(0).isNull()) return std::optional<Time>();
    return std::optional<Time>(from_db(query.getColumn(0).getInt64()));
  });
}

Result<std::vector<StoryItem>> StoryStore::items_with_link(const std::string& link) {
  return impl_->guarded([&]() -> Result<std::vector<StoryItem>> {
    SQLite::Statement query(impl_->db, select_items("i.link = :link ORDER BY i.id"));
    query.bind(":link", link);
    return impl_->query_items(query);
  });
}

Result<void> StoryStore::write(const std::function<Result<void>(StoryWriter&)>& body,
                               ForeignKeys keys) {
  return impl_->guarded([&]() -> Result<void> {
    // Outside the transaction: SQLite ignores the pragma inside one. Back on however the
    // transaction ends.
    struct Unchecked {
      explicit Unchecked(SQLite::Database& d) : db(d) { db.exec("PRAGMA foreign_keys = OFF"); }
      ~Unchecked() {
        try {
          db.exec("PRAGMA foreign_keys = ON");
        } catch (const std::exception&) {
          // A destructor must not throw. Setting the flag touches no file: outside a
          // transaction (the Transaction has ended by now) it does not fail.
        }
      }
      Unchecked(const Unchecked&) = delete;
      Unchecked& operator=(const Unchecked&) = delete;
      SQLite::Database& db;
    };
    std::optional<Unchecked> unchecked;
    if (keys == ForeignKeys::trust) unchecked.emplace(impl_->db);
    SQLite::Transaction transaction(impl_->db, SQLite::TransactionBehavior::IMMEDIATE);
    if (auto done = body(*impl_); !done) return done;
    transaction.commit();
    return {};
  });
}

Result<std::vector<StoryRecord>> StoryStore::list_stories(std::optional<Time> since) {
  return impl_->guarded([&]() -> Result<std::vector<StoryRecord>> {
    SQLite::Statement stories(impl_->db,
                              "SELECT id, first_published, first_seen, updated, "
                              "representative_item_id FROM stories WHERE updated >= :since "
                              "ORDER BY updated DESC, id DESC");
    stories.bind(":since", since ? to_db(*since) : std::numeric_limits<std::int64_t>::min());
    std::vector<StoryRecord> records;
    std::unordered_map<std::int64_t, std::size_t> position;
    while (stories.executeStep()) {
      StoryRecord record;
      record.id = stories.getColumn(0).getInt64();
      record.first_published = from_db(stories.getColumn(1).getInt64());
      record.first_seen = from_db(stories.getColumn(2).getInt64());
      record.updated = from_db(stories.getColumn(3).getInt64());
      if (!stories.getColumn(4).isNull())
        record.representative_item_id = stories.getColumn(4).getInt64();
      position[record.id] = records.size();
      records.push_back(std::move(record));
    }
    SQLite::Statement items(impl_->db, select_items("m.story_id IN (SELECT id FROM stories WHERE "
                                                    "updated >= :since) ORDER BY i.published, "
                                                    "i.id"));
    items.bind(":since", since ? to_db(*since) : std::numeric_limits<std::int64_t>::min());
    while (items.executeStep()) {
      StoryItem item = read_item(items);
      const auto found = position.find(*item.story_id);
      if (found != position.end()) records[found->second].items.push_back(std::move(item));
    }
    std::erase_if(records, [](const StoryRecord& r) { return r.items.empty(); });
    return records;
  });
}

Result<void> StoryStore::merge(std::int64_t into, std::int64_t from, Time now) {
  if (into == from) {
    return Error{ErrorKind::invalid_input, "story " + std::to_string(into) + " is the same story"};
  }
  return impl_->guarded([&]() -> Result<void> {
    SQLite::Transaction transaction(impl_->db, SQLite::TransactionBehavior::IMMEDIATE);
    for (std::int64_t id : {into, from}) {
      SQLite::Statement exists(impl_->db, "SELECT 1 FROM stories WHERE id = :id");
      exists.bind(":id", id);
      if (!exists.executeStep()) {
        return Error{ErrorKind::invalid_input, "no story with id " + std::to_string(id)};
      }
    }
    SQLite::Statement move(impl_->db,
                           "UPDATE item_stories SET story_id = :into WHERE story_id = :from");
    move.bind(":into", into);
    move.bind(":from", from);
    move.exec();
    SQLite::Statement drop(impl_->db, "DELETE FROM stories WHERE id = :from");
    drop.bind(":from", from);
    drop.exec();
    impl_->recompute_story(into, now);
    SQLite::Statement record(impl_->db,
                             "INSERT INTO story_overrides (kind, story_id, other_story_id, "
                             "created) VALUES ('merge', :into, :from, :now)");
    record.bind(":into", into);
    record.bind(":from", from);
    record.bind(":now", to_db(now));
    record.exec();
    transaction.commit();
    return {};
  });
}

Result<std::int64_t> StoryStore::split(std::int64_t item_id, Time now) {
  return impl_->guarded([&]() -> Result<std::int64_t> {
    SQLite::Transaction transaction(impl_->db, SQLite::TransactionBehavior::IMMEDIATE);
    SQLite::Statement find(impl_->db, std::string("SELECT m.story_id, i.published, "
                                                  "m.canonical_url, ") +
                                          kStoryTime +
                                          " FROM items AS i LEFT JOIN item_stories AS m ON "
                                          "m.item_id = i.id WHERE i.id = :id");
    find.bind(":id", item_id);
    if (!find.executeStep()) {
      return Error{ErrorKind::invalid_input, "no item with id " + std::to_string(item_id)};
    }
    std::optional<std::int64_t> old_story;
    if (!find.getColumn(0).isNull()) old_story = find.getColumn(0).getInt64();
    const Time published = from_db(find.getColumn(1).getInt64());
    const std::string canonical = find.getColumn(2).isNull() ? "" : find.getColumn(2).getString();
    const Time story_time = from_db(find.getColumn(3).getInt64());
    find.reset();
    const std::int64_t story = impl_->next_story_id();
    impl_->apply({.created = {{story, published, item_id}},
                  .members = {{item_id, story, "manual", canonical, story_time}},
                  .touched = {}},
                 now);
    if (old_story) {
      SQLite::Statement left(impl_->db,
                             "SELECT count(*) FROM item_stories WHERE story_id = :story");
      left.bind(":story", *old_story);
      left.executeStep();
      const bool empty = left.getColumn(0).getInt64() == 0;
      left.reset();
      if (empty) {
        SQLite::Statement drop(impl_->db, "DELETE FROM stories WHERE id = :story");
        drop.bind(":story", *old_story);
        drop.exec();
      } else {
        SQLite::Statement clear(impl_->db,
                                "UPDATE stories SET representative_item_id = NULL WHERE id = "
                                ":story AND representative_item_id = :item");
        clear.bind(":story", *old_story);
        clear.bind(":item", item_id);
        clear.exec();
        impl_->recompute_story(*old_story, now);
      }
    }
    SQLite::Statement record(impl_->db,
                             "INSERT INTO story_overrides (kind, story_id, other_story_id, "
                             "item_id, created) VALUES ('split', :story, :old, :item, :now)");
    record.bind(":story", story);
    if (old_story) record.bind(":old", *old_story);
    record.bind(":item", item_id);
    record.bind(":now", to_db(now));
    record.exec();
    transaction.commit();
    return story;
  });
}

Result<std::int64_t> StoryStore::last_override_id() {
  return impl_->guarded([&]() -> Result<std::int64_t> {
    return impl_->db.execAndGet("SELECT coalesce(max(id), 0) FROM story_overrides").getInt64();
  });
}

Result<int> StoryStore::drop_empty_stories() {
  return impl_->guarded([&]() -> Result<int> {
    SQLite::Transaction transaction(impl_->db, SQLite::TransactionBehavior::IMMEDIATE);
    const int dropped = impl_->db.exec(
        "DELETE FROM stories WHERE NOT EXISTS (SELECT 1 FROM item_stories AS m WHERE "
        "m.story_id = stories.id)");
    impl_->db.exec(
        "UPDATE stories SET representative_item_id = (SELECT i.id FROM item_stories AS m JOIN "
        "items AS i ON i.id = m.item_id WHERE m.story_id = stories.id ORDER BY m.relation IN "
        "('copy', 'translation', 'same_url'), i.published, i.id LIMIT 1) WHERE "
        "representative_item_id IS NULL");
    transaction.commit();
    return dropped;
  });
}

}  // namespace feedmerge::store
