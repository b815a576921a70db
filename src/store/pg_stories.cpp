// PgStore: stories and memberships, what the assigner reads and writes, what the publisher and
// the CLI read, and the overrides people make. The SQL follows sqlite_stories.cpp's.
#include <algorithm>
#include <limits>
#include <unordered_map>

#include <boost/json.hpp>

#include "feedmerge/dedup/story_index.h"
#include "store/item_codec.h"
#include "store/pg_store.h"

namespace feedmerge::store::detail {
namespace {

std::string select_items(const char* where) {
  return std::string("SELECT ") + std::string(kStoredItemFields) + std::string(kStoredItemFrom) +
         " WHERE " + where;
}

std::optional<std::int64_t> optional_id(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return field.as<std::int64_t>();
}

model::Story story_from_row(const pqxx::row& row) {
  model::Story story;
  story.id = row[0].as<std::int64_t>();
  story.first_published = from_db(row[1].as<std::int64_t>());
  story.first_seen = from_db(row[2].as<std::int64_t>());
  story.updated = from_db(row[3].as<std::int64_t>());
  return story;
}

// A membership's joined_by, matched_item_id and matched_p, into its JSON row.
void put_joined_by(boost::json::object& row, const model::JoinedBy& joined) {
  row["joined_by"] = joined.reason;
  if (joined.item) {
    row["matched_item_id"] = *joined.item;
  } else {
    row["matched_item_id"] = nullptr;
  }
  row["matched_p"] = joined.p;
}

// Every transaction that writes stories takes it first; the NOTIFY reaches listeners when (and
// only if) the transaction commits.
void lock_story_writes(pqxx::transaction_base& work) {
  work.exec_params("SELECT pg_advisory_xact_lock($1)", kStoryWriteLock);
  work.exec("NOTIFY " + std::string(kStoriesChannel));
}

}  // namespace

void PgStore::prepare_story_statements(pqxx::connection& c) {
  // A batch's writes go as JSON arrays, one statement for each kind: each statement is a round
  // trip to the server, and a first poll's batch holds thousands of memberships.
  c.prepare("insert_stories",
            "INSERT INTO stories (id, first_published, first_seen, updated, "
            "representative_item_id) SELECT x.id, x.first_published, $1, $1, x.representative "
            "FROM json_to_recordset($2::text::json) AS x(id bigint, first_published bigint, "
            "representative bigint)");
  c.prepare("set_items",
            "INSERT INTO item_stories (item_id, story_id, relation, canonical_url, story_time, "
            "joined_by, matched_item_id, matched_p) SELECT x.item_id, x.story_id, x.relation, "
            "x.canonical_url, x.story_time, x.joined_by, x.matched_item_id, x.matched_p FROM "
            "json_to_recordset($1::text::json) AS x(item_id bigint, story_id bigint, relation "
            "text, canonical_url text, story_time bigint, joined_by text, matched_item_id "
            "bigint, matched_p double precision) ON CONFLICT (item_id) DO UPDATE SET "
            "story_id = excluded.story_id, relation = excluded.relation, canonical_url = "
            "excluded.canonical_url, story_time = excluded.story_time, joined_by = "
            "excluded.joined_by, matched_item_id = excluded.matched_item_id, matched_p = "
            "excluded.matched_p");
  // `earliest` spares a batch reading every member back.
  c.prepare("touch_stories",
            "UPDATE stories AS s SET updated = $1, first_published = least(s.first_published, "
            "x.earliest), representative_item_id = coalesce(x.representative, " +
                default_representative_sql("s.id") +
                ") FROM json_to_recordset($2::text::json) AS x(story_id bigint, representative "
                "bigint, earliest bigint) WHERE s.id = x.story_id");
  c.prepare(
      "default_representatives",
      "UPDATE stories AS s SET representative_item_id = " + default_representative_sql("s.id") +
          " WHERE s.id IN (SELECT json_array_elements_text($1::text::json)::bigint)");
  c.prepare("recompute_first_published", "UPDATE stories SET updated = $2, first_published = " +
                                             first_published_sql("$1") + " WHERE id = $1");
  c.prepare("recompute_story",
            "UPDATE stories SET updated = $2, first_published = " + first_published_sql("$1") +
                ", representative_item_id = " + default_representative_sql("$1") +
                " WHERE id = $1");
  // $1 is a JSON array of feed URLs, or NULL for every feed.
  c.prepare("latest",
            "SELECT s.id, s.first_published, s.first_seen, s.updated, s.representative_item_id "
            "FROM stories AS s WHERE EXISTS (SELECT 1 FROM item_stories AS m JOIN items AS i ON "
            "i.id = m.item_id JOIN feeds AS f ON f.id = i.feed_id WHERE m.story_id = s.id AND "
            "($1::text IS NULL OR f.url IN (SELECT json_array_elements_text($1::text::json)))) "
            "ORDER BY s.first_published DESC, s.id DESC LIMIT $2");
  c.prepare("members", "SELECT " + std::string(kMemberFields) +
                           " FROM item_stories AS m JOIN items AS i ON i.id = m.item_id JOIN "
                           "feeds AS f ON f.id = i.feed_id WHERE m.story_id = $1 "
                           "ORDER BY i.published, i.id");
  c.prepare("item_by_id", select_items("i.id = $1"));
}

namespace {

// The sequence is never set back (apply advances it past every id it writes): ids of deleted
// stories are not given out again.
constexpr const char* kNextStoryId =
    "greatest((SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM "
    "story_ids), (SELECT coalesce(max(id), 0) + 1 FROM stories))";

StoriesVersion stories_version_of(pqxx::transaction_base& work) {
  const pqxx::row row =
      work.exec1(std::string("SELECT (SELECT coalesce(max(id), 0) FROM story_overrides), ") +
                 kNextStoryId + ", (SELECT count(*) FROM item_stories)");
  return {row[0].as<std::int64_t>(), row[1].as<std::int64_t>(), row[2].as<std::int64_t>()};
}

}  // namespace

std::int64_t PgStoryWriter::next_story_id() {
  return work_.exec1(std::string("SELECT ") + kNextStoryId)[0].as<std::int64_t>();
}

StoriesVersion PgStoryWriter::stories_version() {
  return stories_version_of(work_);
}

void PgStoryWriter::note_unsettled(std::optional<model::Time> from) {
  if (!from) {
    work_.exec("UPDATE assigner_terms SET unsettled_from = NULL WHERE unsettled_from IS NOT NULL");
  } else if (term_) {
    work_.exec_params(
        "UPDATE assigner_terms SET unsettled_from = least(coalesce(unsettled_from, $2), $2) "
        "WHERE term = $1",
        *term_, to_db(*from));
  }
}

void PgStoryWriter::apply(const StoryWrites& writes, model::Time now) {
  const std::int64_t at = to_db(now);
  const auto optional_id = [](std::optional<std::int64_t> id) -> boost::json::value {
    if (id) return *id;
    return nullptr;
  };
  if (!writes.created.empty()) {
    boost::json::array stories;
    boost::json::array without_representative;
    std::int64_t highest = 0;
    for (const NewStory& story : writes.created) {
      stories.push_back({{"id", story.id},
                         {"first_published", to_db(story.first_published)},
                         {"representative", optional_id(story.representative)}});
      if (!story.representative) without_representative.push_back(story.id);
      highest = std::max(highest, story.id);
    }
    work_.exec_prepared("insert_stories", at, boost::json::serialize(stories));
    // setval is not rolled back: a failed batch's ids stay used, which only skips numbers.
    work_.exec_params(
        "SELECT setval('story_ids', greatest($1, (SELECT CASE WHEN is_called THEN last_value "
        "ELSE 0 END FROM story_ids)))",
        highest);
    if (!writes.members.empty()) write_members(writes.members);
    if (!without_representative.empty()) {
      work_.exec_prepared("default_representatives",
                          boost::json::serialize(without_representative));
    }
  } else if (!writes.members.empty()) {
    write_members(writes.members);
  }
  if (!writes.moved.empty()) {
    boost::json::array moved;
    for (const MemberMove& member : writes.moved) {
      boost::json::object row{{"item_id", member.item_id},
                              {"story_id", member.story_id},
                              {"relation", member.relation}};
      put_joined_by(row, member.joined_by);
      moved.push_back(std::move(row));
    }
    work_.exec_params(
        "UPDATE item_stories AS m SET story_id = x.story_id, relation = x.relation, joined_by = "
        "x.joined_by, matched_item_id = x.matched_item_id, matched_p = x.matched_p FROM "
        "json_to_recordset($1::text::json) AS x(item_id bigint, story_id bigint, relation text, "
        "joined_by text, matched_item_id bigint, matched_p double precision) WHERE m.item_id = "
        "x.item_id",
        boost::json::serialize(moved));
  }
  if (!writes.removed.empty()) {
    // After the moves: a story's memberships go with it (ON DELETE CASCADE), and it has none.
    boost::json::array removed;
    for (std::int64_t id : writes.removed)
      removed.push_back(id);
    work_.exec_params(
        "DELETE FROM stories WHERE id IN (SELECT json_array_elements_text($1::text::json)::bigint)",
        boost::json::serialize(removed));
  }
  // A representative the caller chose (`touched`) is not computed first (see SQLite's).
  const auto chosen = stories_with_representative(writes.touched);
  for (std::int64_t id : writes.recomputed) {
    if (chosen.contains(id)) {
      work_.exec_prepared("recompute_first_published", id, at);
    } else {
      recompute_story(id, now);
    }
  }
  if (!writes.touched.empty()) {
    boost::json::array touched;
    for (const StoryTouch& story : writes.touched) {
      touched.push_back({{"story_id", story.story_id},
                         {"representative", optional_id(story.representative)},
                         {"earliest", to_db(story.earliest)}});
    }
    work_.exec_prepared("touch_stories", at, boost::json::serialize(touched));
  }
}

void PgStoryWriter::write_members(const std::vector<Membership>& members) {
  // One row per item: a statement may not change a row twice, and the last write of an item
  // is the one that counts (as one statement per membership would leave it).
  std::unordered_map<std::int64_t, std::size_t> last;
  for (std::size_t i = 0; i < members.size(); ++i)
    last[members[i].item_id] = i;
  boost::json::array rows;
  for (std::size_t i = 0; i < members.size(); ++i) {
    const Membership& member = members[i];
    if (last[member.item_id] != i) continue;
    boost::json::object row{{"item_id", member.item_id},
                            {"story_id", member.story_id},
                            {"relation", member.relation},
                            {"canonical_url", member.canonical_url},
                            {"story_time", to_db(member.story_time)}};
    put_joined_by(row, member.joined_by);
    rows.push_back(std::move(row));
  }
  work_.exec_prepared("set_items", boost::json::serialize(rows));
}

void PgStoryWriter::recompute_story(std::int64_t story_id, model::Time now) {
  work_.exec_prepared("recompute_story", story_id, to_db(now));
}

Result<std::vector<StoredItem>> PgStore::items_by_id(const std::vector<std::int64_t>& ids) {
  return guarded([&]() -> Result<std::vector<StoredItem>> {
    ReadScope scope(*connection_, writing_);
    pqxx::transaction_base& work = *scope;
    std::vector<StoredItem> items;
    for (std::int64_t id : ids) {
      const pqxx::result rows = work.exec_prepared("item_by_id", id);
      if (rows.empty()) continue;
      auto item = pg_stored_item(rows[0]);
      if (!item) return error(item.error().message);
      items.push_back(std::move(*item));
    }
    return items;
  });
}

Result<std::vector<StoredItem>> PgStore::assigned_between(Time from, Time to) {
  return guarded([&]() -> Result<std::vector<StoredItem>> {
    ReadScope scope(*connection_, writing_);
    pqxx::transaction_base& work = *scope;
    return read_items(work.exec_params(
        select_items("m.story_time >= $1 AND m.story_time < $2 ORDER BY m.story_time, i.id"),
        to_db(from), to_db(to)));
  });
}

Result<std::vector<std::int64_t>> PgStore::unassigned_item_ids() {
  return guarded([&]() -> Result<std::vector<std::int64_t>> {
    ReadScope scope(*connection_, writing_);
    pqxx::transaction_base& work = *scope;
    std::vector<std::int64_t> ids;
    for (const auto& row :
         work.exec("SELECT i.id FROM items AS i WHERE NOT EXISTS (SELECT 1 FROM item_stories AS m "
                   "WHERE m.item_id = i.id) ORDER BY i.published, i.id"))
      ids.push_back(row[0].as<std::int64_t>());
    return ids;
  });
}

Result<std::optional<Time>> PgStore::read_time(const char* query) {
  return guarded([&]() -> Result<std::optional<Time>> {
    ReadScope scope(*connection_, writing_);
    pqxx::transaction_base& work = *scope;
    const pqxx::row row = work.exec1(query);
    if (row[0].is_null()) return std::optional<Time>();
    return std::optional<Time>(from_db(row[0].as<std::int64_t>()));
  });
}

Result<std::optional<Time>> PgStore::unsettled_from() {
  return read_time("SELECT min(unsettled_from) FROM assigner_terms");
}

Result<std::optional<Time>> PgStore::newest_assigned_publication() {
  return read_time("SELECT max(story_time) FROM item_stories");
}

Result<std::vector<StoredItem>> PgStore::items_with_link(const std::string& link) {
  return guarded([&]() -> Result<std::vector<StoredItem>> {
    ReadScope scope(*connection_, writing_);
    pqxx::transaction_base& work = *scope;
    return read_items(work.exec_params(select_items("i.link = $1 ORDER BY i.id"), link));
  });
}

Result<void> PgStore::write_stories(const std::function<Result<void>(StoryWriter&)>& body,
                                    ForeignKeys) {
  // Foreign keys are always checked: the server checks them per row, cheaply, by index.
  return guarded([&]() -> Result<void> {
    pqxx::work work(*connection_);
    lock_story_writes(work);
    if (fence_) {
      // Under the story write lock: a successor's first batch waits for this one, and this
      // one sees whether the term's session (the lease keeper's) still holds the lock.
      const auto counted = work.exec_params(
          "UPDATE assigner_terms AS t SET batches = t.batches + 1, last_batch = "
          "clock_timestamp() WHERE t.term = $1 AND EXISTS (SELECT 1 FROM pg_locks AS l WHERE "
          "l.pid = t.session_pid AND l.locktype = 'advisory' AND l.granted AND l.classid = $2 "
          "AND l.objid = $3 AND l.objsubid = 2)",
          *fence_, kAssignerLockClass, kAssignerLockId);
      if (counted.affected_rows() != 1) {
        return error("not written: this process is no longer the story assigner (term " +
                     std::to_string(*fence_) + ")");
      }
    }
    PgStoryWriter writer(work, fence_);
    // The body's reads of this store run in this transaction.
    struct Open {
      pqxx::work*& slot;
      ~Open() { slot = nullptr; }
    } open{writing_};
    writing_ = &work;
    if (auto done = body(writer); !done) return done;
    work.commit();
    return {};
  });
}

Result<void> PgStore::read_members(
    pqxx::transaction_base& work, std::vector<model::Story>& stories,
    const std::vector<std::optional<std::int64_t>>& representatives) {
  for (std::size_t i = 0; i < stories.size(); ++i) {
    model::Story& story = stories[i];
    for (const auto& row : work.exec_prepared("members", story.id)) {
      auto member = pg_member(row);
      if (!member) return error(member.error().message);
      story.members.push_back(std::move(*member));
    }
    representative_first(story, representatives[i]);
  }
  return {};
}

Result<std::vector<model::Story>> PgStore::list_stories(std::optional<Time> since) {
  return guarded([&]() -> Result<std::vector<model::Story>> {
    const std::int64_t from = since ? to_db(*since) : std::numeric_limits<std::int64_t>::min();
    ReadScope<pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>> scope(*connection_,
                                                                               writing_);
    pqxx::transaction_base& work = *scope;
    std::vector<model::Story> stories;
    std::vector<std::optional<std::int64_t>> representatives;
    std::unordered_map<std::int64_t, std::size_t> position;
    for (const auto& row : work.exec_params(
             "SELECT id, first_published, first_seen, updated, representative_item_id FROM "
             "stories WHERE updated >= $1 ORDER BY updated DESC, id DESC",
             from)) {
      model::Story story = story_from_row(row);
      position[story.id] = stories.size();
      stories.push_back(std::move(story));
      representatives.push_back(optional_id(row[4]));
    }
    constexpr int kStoryColumn = 23;  // after kMemberFields
    for (const auto& row :
         work.exec_params("SELECT " + std::string(kMemberFields) +
                              ", m.story_id FROM item_stories AS m JOIN items AS i ON i.id = "
                              "m.item_id JOIN feeds AS f ON f.id = i.feed_id WHERE m.story_id "
                              "IN (SELECT id FROM stories WHERE updated >= $1) ORDER BY "
                              "i.published, i.id",
                          from)) {
      auto member = pg_member(row);
      if (!member) return error(member.error().message);
      const auto found = position.find(row[kStoryColumn].as<std::int64_t>());
      if (found != position.end()) stories[found->second].members.push_back(std::move(*member));
    }
    for (std::size_t i = 0; i < stories.size(); ++i)
      representative_first(stories[i], representatives[i]);
    std::erase_if(stories, [](const model::Story& story) { return story.members.empty(); });
    return stories;
  });
}

Result<std::vector<model::Story>> PgStore::latest(const std::vector<std::string>* feed_urls,
                                                  int limit) {
  return guarded([&]() -> Result<std::vector<model::Story>> {
    // One snapshot: the stories and their members are one consistent picture.
    ReadScope<pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>> scope(*connection_,
                                                                               writing_);
    pqxx::transaction_base& work = *scope;
    std::optional<std::string> urls;
    if (feed_urls) {
      boost::json::array list;
      for (const std::string& url : *feed_urls)
        list.emplace_back(url);
      urls = boost::json::serialize(list);
    }
    std::vector<model::Story> stories;
    std::vector<std::optional<std::int64_t>> representatives;
    for (const auto& row : work.exec_prepared("latest", urls, std::max(0, limit))) {
      stories.push_back(story_from_row(row));
      representatives.push_back(optional_id(row[4]));
    }
    if (auto read = read_members(work, stories, representatives); !read) return read.error();
    return stories;
  });
}

Result<StoreCounts> PgStore::counts() {
  return guarded([&]() -> Result<StoreCounts> {
    ReadScope scope(*connection_, writing_);
    pqxx::transaction_base& work = *scope;
    const pqxx::row row =
        work.exec1("SELECT (SELECT count(*) FROM items), (SELECT count(*) FROM stories)");
    return StoreCounts{.items = row[0].as<std::int64_t>(), .stories = row[1].as<std::int64_t>()};
  });
}

Result<void> PgStore::merge(std::int64_t into, std::int64_t from, Time now) {
  if (into == from) {
    return Error{ErrorKind::invalid_input, "story " + std::to_string(into) + " is the same story"};
  }
  return guarded([&]() -> Result<void> {
    pqxx::work work(*connection_);
    lock_story_writes(work);
    for (std::int64_t id : {into, from}) {
      if (work.exec_params("SELECT 1 FROM stories WHERE id = $1", id).empty()) {
        return Error{ErrorKind::invalid_input, "no story with id " + std::to_string(id)};
      }
    }
    // Each keeps its link (its matched item moves with it), and a person put it here.
    work.exec_params(
        "UPDATE item_stories SET story_id = $1, joined_by = 'merged_by_hand' WHERE story_id = $2",
        into, from);
    work.exec_params("DELETE FROM stories WHERE id = $1", from);
    PgStoryWriter(work).recompute_story(into, now);
    work.exec_params(
        "INSERT INTO story_overrides (kind, story_id, other_story_id, created) VALUES "
        "('merge', $1, $2, $3)",
        into, from, to_db(now));
    work.commit();
    return {};
  });
}

Result<std::int64_t> PgStore::split(std::int64_t item_id, Time now) {
  return guarded([&]() -> Result<std::int64_t> {
    pqxx::work work(*connection_);
    lock_story_writes(work);
    const pqxx::result found =
        work.exec_params("SELECT " + std::string(kStoredItemFields) + ", m.canonical_url" +
                             std::string(kStoredItemFrom) + " WHERE i.id = $1",
                         item_id);
    if (found.empty()) {
      return Error{ErrorKind::invalid_input, "no item with id " + std::to_string(item_id)};
    }
    auto item = pg_stored_item(found[0]);
    if (!item) return error(item.error().message);
    constexpr int kCanonicalColumn = 23;  // after kStoredItemFields
    const std::optional<std::int64_t> old_story = item->story_id;
    const std::string canonical =
        found[0][kCanonicalColumn].is_null() ? "" : found[0][kCanonicalColumn].as<std::string>();
    PgStoryWriter writer(work);
    const std::int64_t story = writer.next_story_id();
    StoryWrites writes;
    writes.created = {{story, *item->item.published, item_id}};
    writes.members = {{item_id, story, "manual", canonical, dedup_time(*item), {"founder", {}, 0}}};
    writer.apply(writes, now);
    if (old_story) {
      // Members there by a link to the item lose it: a link never leaves its story.
      work.exec_params(std::string(kCutLinks) + " AND matched_item_id = $1", item_id);
      const bool empty =
          work.exec_params1("SELECT count(*) FROM item_stories WHERE story_id = $1", *old_story)[0]
              .as<std::int64_t>() == 0;
      if (empty) {
        work.exec_params("DELETE FROM stories WHERE id = $1", *old_story);
      } else {
        work.exec_params(
            "UPDATE stories SET representative_item_id = NULL WHERE id = $1 AND "
            "representative_item_id = $2",
            *old_story, item_id);
        writer.recompute_story(*old_story, now);
      }
    }
    work.exec_params(
        "INSERT INTO story_overrides (kind, story_id, other_story_id, item_id, created) VALUES "
        "('split', $1, $2, $3, $4)",
        story, old_story, item_id, to_db(now));
    work.commit();
    return story;
  });
}

Result<std::int64_t> PgStore::last_override_id() {
  return guarded([&]() -> Result<std::int64_t> {
    ReadScope scope(*connection_, writing_);
    pqxx::transaction_base& work = *scope;
    return work.exec1("SELECT coalesce(max(id), 0) FROM story_overrides")[0].as<std::int64_t>();
  });
}

Result<StoriesVersion> PgStore::stories_version() {
  return guarded([&]() -> Result<StoriesVersion> {
    ReadScope scope(*connection_, writing_);
    return stories_version_of(*scope);
  });
}

Result<int> PgStore::drop_empty_stories() {
  return guarded([&]() -> Result<int> {
    pqxx::work work(*connection_);
    const auto dropped = work.exec(
                                 "DELETE FROM stories WHERE NOT EXISTS (SELECT 1 FROM "
                                 "item_stories AS m WHERE m.story_id = stories.id)")
                             .affected_rows();
    // Links to items retention removed, which never leave their story.
    work.exec(std::string(kCutLinks) +
              " AND NOT EXISTS (SELECT 1 FROM item_stories AS o WHERE o.item_id = "
              "item_stories.matched_item_id AND o.story_id = item_stories.story_id)");
    work.exec(
        "UPDATE stories SET representative_item_id = (SELECT i.id FROM item_stories AS m JOIN "
        "items AS i ON i.id = m.item_id WHERE m.story_id = stories.id ORDER BY m.relation IN "
        "('copy', 'translation', 'same_url'), i.published, i.id LIMIT 1) WHERE "
        "representative_item_id IS NULL");
    work.commit();
    return static_cast<int>(dropped);
  });
}

}  // namespace feedmerge::store::detail
