// SqliteStore: stories and memberships, what the assigner reads and writes, what the publisher
// and the CLI read, and the overrides people make.
#include <SQLiteCpp/Transaction.h>

#include <algorithm>
#include <limits>
#include <optional>
#include <unordered_map>

#include <boost/json.hpp>

#include "feedmerge/dedup/story_index.h"
#include "store/sqlite_store.h"

namespace feedmerge::store::detail {
namespace {

std::string select_items(const char* where) {
  return std::string("SELECT ") + std::string(kStoredItemFields) + std::string(kStoredItemFrom) +
         " WHERE " + where;
}

// joined_by, matched_item_id and matched_p at `first` on.
void bind_joined_by(SQLite::Statement& statement, int first, const model::JoinedBy& joined) {
  statement.bind(first, joined.reason);
  if (joined.item) {
    statement.bind(first + 1, *joined.item);
  } else {
    statement.bind(first + 1);
  }
  statement.bind(first + 2, joined.p);
}

}  // namespace

StoryStatements::StoryStatements(SQLite::Database& db_in)
    : db(db_in),
      insert_story(db,
                   "INSERT INTO stories (id, first_published, first_seen, updated, "
                   "representative_item_id) VALUES (?1, ?2, ?3, ?3, ?4)"),
      set_item(db,
               "INSERT INTO item_stories (item_id, story_id, relation, canonical_url, "
               "story_time, joined_by, matched_item_id, matched_p) VALUES (?1, ?2, ?3, ?4, ?5, "
               "?6, ?7, ?8) ON CONFLICT (item_id) DO UPDATE "
               "SET story_id = excluded.story_id, relation = excluded.relation, "
               "canonical_url = excluded.canonical_url, story_time = excluded.story_time, "
               "joined_by = excluded.joined_by, matched_item_id = excluded.matched_item_id, "
               "matched_p = excluded.matched_p"),
      // `earliest` spares a batch reading every member back.
      touch(db,
            "UPDATE stories SET updated = ?2, first_published = min(first_published, ?3), "
            "representative_item_id = coalesce(?4, " +
                default_representative_sql("?1") + ") WHERE id = ?1"),
      default_representative(db, "UPDATE stories SET representative_item_id = " +
                                     default_representative_sql("?1") + " WHERE id = ?1"),
      first_published(db, "UPDATE stories SET updated = ?2, first_published = " +
                              first_published_sql("?1") + " WHERE id = ?1"),
      // :urls is a JSON array of feed URLs, or NULL for every feed: one prepared statement
      // serves every output.
      latest(db,
             "SELECT s.id, s.first_published, s.first_seen, s.updated, "
             "s.representative_item_id FROM stories AS s "
             "WHERE EXISTS (SELECT 1 FROM item_stories AS m JOIN items AS i ON i.id = "
             "m.item_id JOIN feeds AS f ON f.id = i.feed_id WHERE m.story_id = s.id AND "
             "(:urls IS NULL OR f.url IN "
             "(SELECT value FROM json_each(:urls)))) "
             "ORDER BY s.first_published DESC, s.id DESC LIMIT :limit"),
      members(db, "SELECT " + std::string(kMemberFields) +
                      " FROM item_stories AS m JOIN items AS i ON i.id = "
                      "m.item_id JOIN feeds AS f ON f.id = i.feed_id WHERE m.story_id = :story "
                      "ORDER BY i.published, i.id"),
      count_items(db, "SELECT count(*) FROM items"),
      count_stories(db, "SELECT count(*) FROM stories") {}

namespace {

// AUTOINCREMENT: ids of deleted stories are not given out again.
constexpr const char* kNextStoryId =
    "max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'stories'), 0), "
    "coalesce((SELECT max(id) FROM stories), 0)) + 1";

}  // namespace

std::int64_t StoryStatements::next_story_id() {
  return db.execAndGet(std::string("SELECT ") + kNextStoryId).getInt64();
}

StoriesVersion StoryStatements::stories_version() {
  // One statement: one snapshot, inside a transaction or not.
  SQLite::Statement query(db, std::string("SELECT (SELECT coalesce(max(id), 0) FROM "
                                          "story_overrides), ") +
                                  kNextStoryId + ", (SELECT count(*) FROM item_stories)");
  query.executeStep();
  return {query.getColumn(0).getInt64(), query.getColumn(1).getInt64(),
          query.getColumn(2).getInt64()};
}

void StoryStatements::apply(const StoryWrites& writes, model::Time now) {
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
    bind_joined_by(set_item, 6, member.joined_by);
    set_item.exec();
  }
  if (!writes.moved.empty()) {
    SQLite::Statement move(db,
                           "UPDATE item_stories SET story_id = ?2, relation = ?3, joined_by = ?4, "
                           "matched_item_id = ?5, matched_p = ?6 WHERE item_id = ?1");
    for (const MemberMove& member : writes.moved) {
      move.reset();
      move.bind(1, member.item_id);
      move.bind(2, member.story_id);
      move.bind(3, member.relation);
      bind_joined_by(move, 4, member.joined_by);
      move.exec();
    }
  }
  if (!writes.removed.empty()) {
    // After the moves: a story's memberships go with it (ON DELETE CASCADE), and it has none.
    SQLite::Statement remove(db, "DELETE FROM stories WHERE id = ?1");
    for (std::int64_t id : writes.removed) {
      remove.reset();
      remove.bind(1, id);
      remove.exec();
    }
  }
  // A representative the caller chose (`touched`) is not computed first: in a large story
  // that computation reads every member's links, for nothing.
  const auto chosen = stories_with_representative(writes.touched);
  for (std::int64_t id : writes.recomputed) {
    if (!chosen.contains(id)) {
      recompute_story(id, now);
      continue;
    }
    first_published.tryReset();
    first_published.bind(1, id);
    first_published.bind(2, at);
    first_published.exec();
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

void StoryStatements::recompute_story(std::int64_t story_id, model::Time now) {
  SQLite::Statement update(
      db, "UPDATE stories SET updated = ?2, first_published = " + first_published_sql("?1") +
              ", representative_item_id = " + default_representative_sql("?1") + " WHERE id = ?1");
  update.bind(1, story_id);
  update.bind(2, to_db(now));
  update.exec();
}

Result<std::vector<StoredItem>> SqliteStore::items_by_id(const std::vector<std::int64_t>& ids) {
  return guarded([&]() -> Result<std::vector<StoredItem>> {
    SQLite::Statement query(db_, select_items("i.id = :id"));
    std::vector<StoredItem> items;
    for (std::int64_t id : ids) {
      query.reset();
      query.bind(":id", id);
      if (!query.executeStep()) continue;
      auto item = stored_item_from_row(query);
      if (!item) return error(item.error().message);
      items.push_back(std::move(*item));
    }
    return items;
  });
}

Result<std::vector<StoredItem>> SqliteStore::assigned_between(Time from, Time to) {
  return guarded([&]() -> Result<std::vector<StoredItem>> {
    SQLite::Statement query(db_, select_items("m.story_time >= :from AND m.story_time < :to "
                                              "ORDER BY m.story_time, i.id"));
    query.bind(":from", to_db(from));
    query.bind(":to", to_db(to));
    return read_items(query);
  });
}

Result<std::vector<std::int64_t>> SqliteStore::unassigned_item_ids() {
  return guarded([&]() -> Result<std::vector<std::int64_t>> {
    std::vector<std::int64_t> ids;
    // Every start asks, and the answer is almost always none: two counts over small indexes
    // tell that in a millisecond, where the search below looks up every item (30 ms for
    // 30,000). Memberships name existing items (the foreign key, or the assigner that
    // vouches for them), one row each (primary key).
    if (db_.execAndGet("SELECT (SELECT count(*) FROM items) - (SELECT count(*) FROM "
                       "item_stories)")
            .getInt64() == 0)
      return ids;
    SQLite::Statement query(db_,
                            "SELECT i.id FROM items AS i WHERE NOT EXISTS (SELECT 1 FROM "
                            "item_stories AS m WHERE m.item_id = i.id) ORDER BY i.published, i.id");
    while (query.executeStep())
      ids.push_back(query.getColumn(0).getInt64());
    return ids;
  });
}

Result<std::optional<Time>> SqliteStore::newest_assigned_publication() {
  return guarded([&]() -> Result<std::optional<Time>> {
    SQLite::Statement query(db_, "SELECT max(story_time) FROM item_stories");
    query.executeStep();
    if (query.getColumn(0).isNull()) return std::optional<Time>();
    return std::optional<Time>(from_db(query.getColumn(0).getInt64()));
  });
}

Result<std::vector<StoredItem>> SqliteStore::items_with_link(const std::string& link) {
  return guarded([&]() -> Result<std::vector<StoredItem>> {
    SQLite::Statement query(db_, select_items("i.link = :link ORDER BY i.id"));
    query.bind(":link", link);
    return read_items(query);
  });
}

Result<void> SqliteStore::write_stories(const std::function<Result<void>(StoryWriter&)>& body,
                                        ForeignKeys keys) {
  return guarded([&]() -> Result<void> {
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
    if (keys == ForeignKeys::trust) unchecked.emplace(db_);
    SQLite::Transaction transaction(db_, SQLite::TransactionBehavior::IMMEDIATE);
    if (auto done = body(stories_); !done) return done;
    transaction.commit();
    return {};
  });
}

Result<std::vector<model::Story>> SqliteStore::list_stories(std::optional<Time> since) {
  return guarded([&]() -> Result<std::vector<model::Story>> {
    const std::int64_t from = since ? to_db(*since) : std::numeric_limits<std::int64_t>::min();
    SQLite::Statement list(db_,
                           "SELECT id, first_published, first_seen, updated, "
                           "representative_item_id FROM stories WHERE updated >= :since "
                           "ORDER BY updated DESC, id DESC");
    list.bind(":since", from);
    std::vector<model::Story> stories;
    std::vector<std::optional<std::int64_t>> representatives;
    std::unordered_map<std::int64_t, std::size_t> position;
    while (list.executeStep()) {
      model::Story story;
      story.id = list.getColumn(0).getInt64();
      story.first_published = from_db(list.getColumn(1).getInt64());
      story.first_seen = from_db(list.getColumn(2).getInt64());
      story.updated = from_db(list.getColumn(3).getInt64());
      position[story.id] = stories.size();
      stories.push_back(std::move(story));
      representatives.push_back(list.getColumn(4).isNull()
                                    ? std::nullopt
                                    : std::optional<std::int64_t>(list.getColumn(4).getInt64()));
    }
    SQLite::Statement members(
        db_, "SELECT " + std::string(kMemberFields) +
                 ", m.story_id FROM item_stories AS m JOIN items AS i ON i.id = m.item_id "
                 "JOIN feeds AS f ON f.id = i.feed_id WHERE m.story_id IN (SELECT id FROM "
                 "stories WHERE updated >= :since) ORDER BY i.published, i.id");
    members.bind(":since", from);
    constexpr int kStoryColumn = 23;  // after kMemberFields
    while (members.executeStep()) {
      auto member = member_from_row(members);
      if (!member) return error(member.error().message);
      const auto found = position.find(members.getColumn(kStoryColumn).getInt64());
      if (found != position.end()) stories[found->second].members.push_back(std::move(*member));
    }
    for (std::size_t i = 0; i < stories.size(); ++i)
      representative_first(stories[i], representatives[i]);
    std::erase_if(stories, [](const model::Story& story) { return story.members.empty(); });
    return stories;
  });
}

Result<std::vector<model::Story>> SqliteStore::latest(const std::vector<std::string>* feed_urls,
                                                      int limit) {
  return guarded([&]() -> Result<std::vector<model::Story>> {
    // One read transaction: the stories and their members are one consistent picture even
    // while the writer commits.
    db_.exec("BEGIN");
    struct EndRead {
      SQLite::Database& db;
      ~EndRead() {
        try {
          db.exec("COMMIT");
        } catch (...) {  // a read transaction has nothing to lose
        }
      }
    } end_read{db_};

    std::vector<model::Story> stories;
    std::vector<std::optional<std::int64_t>> representatives;
    {
      Use latest(stories_.latest);
      if (feed_urls) {
        boost::json::array urls;
        for (const std::string& url : *feed_urls)
          urls.emplace_back(url);
        latest.bind(":urls", boost::json::serialize(urls));
      }
      latest.bind(":limit", std::max(0, limit));
      while (latest->executeStep()) {
        model::Story story;
        story.id = latest->getColumn(0).getInt64();
        story.first_published = from_db(latest->getColumn(1).getInt64());
        story.first_seen = from_db(latest->getColumn(2).getInt64());
        story.updated = from_db(latest->getColumn(3).getInt64());
        const auto representative = latest->getColumn(4);
        representatives.push_back(representative.isNull()
                                      ? std::nullopt
                                      : std::optional<std::int64_t>(representative.getInt64()));
        stories.push_back(std::move(story));
      }
    }
    for (std::size_t i = 0; i < stories.size(); ++i) {
      model::Story& story = stories[i];
      Use members(stories_.members);
      members.bind(":story", story.id);
      while (members->executeStep()) {
        auto member = member_from_row(*members);
        if (!member) return error(member.error().message);
        story.members.push_back(std::move(*member));
      }
      representative_first(story, representatives[i]);
    }
    return stories;
  });
}

Result<StoreCounts> SqliteStore::counts() {
  return guarded([&]() -> Result<StoreCounts> {
    StoreCounts counts;
    {
      Use count(stories_.count_items);
      count->executeStep();
      counts.items = count->getColumn(0).getInt64();
    }
    {
      Use count(stories_.count_stories);
      count->executeStep();
      counts.stories = count->getColumn(0).getInt64();
    }
    return counts;
  });
}

Result<void> SqliteStore::merge(std::int64_t into, std::int64_t from, Time now) {
  if (into == from) {
    return Error{ErrorKind::invalid_input, "story " + std::to_string(into) + " is the same story"};
  }
  return guarded([&]() -> Result<void> {
    SQLite::Transaction transaction(db_, SQLite::TransactionBehavior::IMMEDIATE);
    for (std::int64_t id : {into, from}) {
      SQLite::Statement exists(db_, "SELECT 1 FROM stories WHERE id = :id");
      exists.bind(":id", id);
      if (!exists.executeStep()) {
        return Error{ErrorKind::invalid_input, "no story with id " + std::to_string(id)};
      }
    }
    // Each keeps its link (its matched item moves with it), and a person put it here.
    SQLite::Statement move(db_,
                           "UPDATE item_stories SET story_id = :into, joined_by = "
                           "'merged_by_hand' WHERE story_id = :from");
    move.bind(":into", into);
    move.bind(":from", from);
    move.exec();
    SQLite::Statement drop(db_, "DELETE FROM stories WHERE id = :from");
    drop.bind(":from", from);
    drop.exec();
    stories_.recompute_story(into, now);
    SQLite::Statement record(db_,
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

Result<std::int64_t> SqliteStore::split(std::int64_t item_id, Time now) {
  return guarded([&]() -> Result<std::int64_t> {
    SQLite::Transaction transaction(db_, SQLite::TransactionBehavior::IMMEDIATE);
    // The item as stored, and its canonical URL if it has a story.
    SQLite::Statement find(db_, "SELECT " + std::string(kStoredItemFields) + ", m.canonical_url" +
                                    std::string(kStoredItemFrom) + " WHERE i.id = :id");
    find.bind(":id", item_id);
    if (!find.executeStep()) {
      return Error{ErrorKind::invalid_input, "no item with id " + std::to_string(item_id)};
    }
    auto item = stored_item_from_row(find);
    if (!item) return error(item.error().message);
    constexpr int kCanonicalColumn = 23;  // after kStoredItemFields
    const std::optional<std::int64_t> old_story = item->story_id;
    const Time published = *item->item.published;
    const std::string canonical = find.getColumn(kCanonicalColumn).getString();
    const Time story_time = dedup_time(*item);
    find.reset();
    const std::int64_t story = stories_.next_story_id();
    StoryWrites writes;
    writes.created = {{story, published, item_id}};
    writes.members = {{item_id, story, "manual", canonical, story_time, {"founder", {}, 0}}};
    stories_.apply(writes, now);
    if (old_story) {
      // Members there by a link to the item lose it: a link never leaves its story.
      SQLite::Statement cut(db_, std::string(kCutLinks) + " AND matched_item_id = :item");
      cut.bind(":item", item_id);
      cut.exec();
      SQLite::Statement left(db_, "SELECT count(*) FROM item_stories WHERE story_id = :story");
      left.bind(":story", *old_story);
      left.executeStep();
      const bool empty = left.getColumn(0).getInt64() == 0;
      left.reset();
      if (empty) {
        SQLite::Statement drop(db_, "DELETE FROM stories WHERE id = :story");
        drop.bind(":story", *old_story);
        drop.exec();
      } else {
        SQLite::Statement clear(db_,
                                "UPDATE stories SET representative_item_id = NULL WHERE id = "
                                ":story AND representative_item_id = :item");
        clear.bind(":story", *old_story);
        clear.bind(":item", item_id);
        clear.exec();
        stories_.recompute_story(*old_story, now);
      }
    }
    SQLite::Statement record(db_,
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

Result<std::int64_t> SqliteStore::last_override_id() {
  return guarded([&]() -> Result<std::int64_t> {
    return db_.execAndGet("SELECT coalesce(max(id), 0) FROM story_overrides").getInt64();
  });
}

Result<StoriesVersion> SqliteStore::stories_version() {
  return guarded([&]() -> Result<StoriesVersion> { return stories_.stories_version(); });
}

Result<int> SqliteStore::drop_empty_stories() {
  return guarded([&]() -> Result<int> {
    SQLite::Transaction transaction(db_, SQLite::TransactionBehavior::IMMEDIATE);
    const int dropped = db_.exec(
        "DELETE FROM stories WHERE NOT EXISTS (SELECT 1 FROM item_stories AS m WHERE "
        "m.story_id = stories.id)");
    // Links to items retention removed, which never leave their story.
    db_.exec(std::string(kCutLinks) +
             " AND NOT EXISTS (SELECT 1 FROM item_stories AS o WHERE "
             "o.item_id = item_stories.matched_item_id AND o.story_id = item_stories.story_id)");
    db_.exec(
        "UPDATE stories SET representative_item_id = (SELECT i.id FROM item_stories AS m JOIN "
        "items AS i ON i.id = m.item_id WHERE m.story_id = stories.id ORDER BY m.relation IN "
        "('copy', 'translation', 'same_url'), i.published, i.id LIMIT 1) WHERE "
        "representative_item_id IS NULL");
    transaction.commit();
    return dropped;
  });
}

}  // namespace feedmerge::store::detail
