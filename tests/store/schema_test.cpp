#include "store/schema.h"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <doctest/doctest.h>

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "feedmerge/store/store.h"
#include "store/temp_folder.h"

namespace {

using feedmerge::store::detail::check_schema;
using feedmerge::store::detail::migrate;
using feedmerge::store::detail::migrations;
using feedmerge::test::TempFolder;

int user_version(SQLite::Database& db) {
  return db.execAndGet("PRAGMA user_version").getInt();
}

}  // namespace

TEST_CASE("the migration list matches kSchemaVersion") {
  CHECK(migrations().size() == static_cast<std::size_t>(feedmerge::store::kSchemaVersion));
}

TEST_CASE("migrations run from an empty file to the latest version, one step at a time") {
  TempFolder folder;
  SQLite::Database db(folder.file("feedmerge.db"), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  const std::array<std::string_view, 2> steps = {
      "PRAGMA application_id = 1179472455; CREATE TABLE a (x INTEGER)",
      "ALTER TABLE a ADD COLUMN y INTEGER",
  };
  REQUIRE(check_schema(db, "feedmerge.db", steps).value() == 0);
  REQUIRE(migrate(db, "feedmerge.db", steps).has_value());
  CHECK(user_version(db) == 2);
  db.exec("INSERT INTO a (x, y) VALUES (1, 2)");
  // Running again is a no-op.
  REQUIRE(migrate(db, "feedmerge.db", steps).has_value());
  CHECK(user_version(db) == 2);
}

TEST_CASE("a failing migration step rolls back and leaves the previous version") {
  TempFolder folder;
  SQLite::Database db(folder.file("feedmerge.db"), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  const std::array<std::string_view, 2> steps = {
      "PRAGMA application_id = 1179472455; CREATE TABLE a (x INTEGER)",
      "CREATE TABLE b (x INTEGER); INSERT INTO no_such_table VALUES (1)",
  };
  auto migrated = migrate(db, "feedmerge.db", steps);
  REQUIRE(!migrated.has_value());
  CHECK(migrated.error().kind == feedmerge::ErrorKind::database);
  CHECK(migrated.error().message.starts_with(
      "feedmerge.db: migrating the database schema from version 1 to 2 failed: "));
  CHECK(user_version(db) == 1);
  CHECK(db.tableExists("a"));
  CHECK(!db.tableExists("b"));  // the half-done step left nothing behind
}

TEST_CASE("migration 2 adds stories and items.story_id to a version 1 database with items") {
  TempFolder folder;
  const auto path = folder.file("feedmerge.db");
  SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  db.exec("PRAGMA foreign_keys = ON");
  const std::vector<std::string_view> version1(migrations().begin(), migrations().begin() + 1);
  const std::vector<std::string_view> version2(migrations().begin(), migrations().begin() + 2);
  REQUIRE(migrate(db, path, version1).has_value());
  REQUIRE(user_version(db) == 1);
  db.exec("INSERT INTO feeds (id, url) VALUES (1, 'https://example.com/feed.xml')");
  db.exec(
      "INSERT INTO items (id, feed_id, key, published, first_seen, content_hash) "
      "VALUES (1, 1, 'a', 0, 0, 0)");

  REQUIRE(migrate(db, path, version2).has_value());
  CHECK(user_version(db) == 2);
  CHECK(db.execAndGet("SELECT count(*) FROM items WHERE story_id IS NULL").getInt() == 1);
  db.exec(
      "INSERT INTO stories (id, first_published, first_seen, updated, representative_item_id) "
      "VALUES (7, 0, 0, 0, 1)");
  db.exec("UPDATE items SET story_id = 7");
  CHECK_THROWS(db.exec("UPDATE items SET story_id = 8"));  // no such story
  db.exec("DELETE FROM stories");
  CHECK(db.execAndGet("SELECT count(*) FROM items WHERE story_id IS NULL").getInt() == 1);
  // AUTOINCREMENT: a removed story's id is never handed out again.
  db.exec("INSERT INTO stories (first_published, first_seen, updated) VALUES (0, 0, 0)");
  CHECK(db.execAndGet("SELECT max(id) FROM stories").getInt() == 8);
  CHECK(db.execAndGet("PRAGMA integrity_check").getString() == "ok");
}

TEST_CASE("migration 3 rebuilds items short columns first and moves stories to item_stories") {
  TempFolder folder;
  const auto path = folder.file("feedmerge.db");
  SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  // As Store::open: foreign keys go on after the migrations.
  const std::vector<std::string_view> version2(migrations().begin(), migrations().begin() + 2);
  REQUIRE(migrate(db, path, version2).has_value());
  db.exec("INSERT INTO feeds (id, url) VALUES (1, 'https://example.com/feed.xml')");
  db.exec(
      "INSERT INTO stories (id, first_published, first_seen, updated) VALUES (5, 0, 0, 0), "
      "(6, 0, 0, 0)");
  db.exec(
      "INSERT INTO items (id, feed_id, key, published, first_seen, content_hash, story_id, "
      "story_relation, canonical_url) VALUES (1, 1, 'a', 0, 0, 0, 5, 'original', "
      "'https://example.com/a'), (2, 1, 'b', 0, 0, 0, 5, 'copy', 'https://example.com/b'), "
      "(3, 1, 'c', 0, 0, 0, NULL, '', ''), (4, 1, 'd', 0, 0, 0, 6, 'report', '')");

  db.exec("UPDATE items SET content = 'long text', summary = 'short' WHERE id = 1");
  db.exec("UPDATE stories SET representative_item_id = 2 WHERE id = 5");

  const std::vector<std::string_view> version3(migrations().begin(), migrations().begin() + 3);
  REQUIRE(migrate(db, path, version3).has_value());
  db.exec("PRAGMA foreign_keys = ON");
  CHECK(user_version(db) == 3);
  // Nothing lost: the items, their texts, the representatives (no ON DELETE action fired).
  CHECK(db.execAndGet("SELECT count(*) FROM items").getInt() == 4);
  CHECK(db.execAndGet("SELECT content || '/' || summary || '/' || key FROM items WHERE id = 1")
            .getString() == "long text/short/a");
  CHECK(db.execAndGet("SELECT representative_item_id FROM stories WHERE id = 5").getInt() == 2);
  // The long texts come last.
  SQLite::Statement columns(db, "SELECT name FROM pragma_table_info('items') ORDER BY cid");
  std::vector<std::string> names;
  while (columns.executeStep())
    names.push_back(columns.getColumn(0).getString());
  REQUIRE(names.size() == 18);
  CHECK(names[3] == "published");
  CHECK(names[8] == "content_hash");
  CHECK(names[16] == "summary");
  CHECK(names[17] == "content");
  CHECK(db.execAndGet("SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND tbl_name = "
                      "'items' AND name LIKE 'items_by_%'")
            .getInt() == 3);
  SQLite::Statement rows(db,
                         "SELECT item_id, story_id, relation, canonical_url FROM item_stories "
                         "ORDER BY item_id");
  std::vector<std::string> got;
  while (rows.executeStep()) {
    got.push_back(rows.getColumn(0).getString() + " " + rows.getColumn(1).getString() + " " +
                  rows.getColumn(2).getString() + " " + rows.getColumn(3).getString());
  }
  CHECK(got == std::vector<std::string>{"1 5 original https://example.com/a",
                                        "2 5 copy https://example.com/b", "4 6 report "});
  CHECK_THROWS(db.exec("SELECT story_id FROM items"));  // the column went
  // Memberships follow their item and their story.
  CHECK_THROWS(db.exec("INSERT INTO item_stories (item_id, story_id) VALUES (3, 99)"));
  db.exec("DELETE FROM items WHERE id = 2");
  db.exec("DELETE FROM stories WHERE id = 6");
  CHECK(db.execAndGet("SELECT group_concat(item_id) FROM item_stories").getString() == "1");
  CHECK(db.execAndGet("PRAGMA integrity_check").getString() == "ok");
  CHECK(db.execAndGet("SELECT count(*) FROM pragma_foreign_key_check").getInt() == 0);
}

TEST_CASE("migration 4 moves the index by time to item_stories, with each member's story time") {
  TempFolder folder;
  const auto path = folder.file("feedmerge.db");
  SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  const std::vector<std::string_view> version3(migrations().begin(), migrations().begin() + 3);
  REQUIRE(migrate(db, path, version3).has_value());
  db.exec("INSERT INTO feeds (id, url) VALUES (1, 'https://example.com/feed.xml')");
  db.exec("INSERT INTO stories (id, first_published, first_seen, updated) VALUES (5, 0, 0, 0)");
  // 1: dated by its feed. 2: no date (published = first seen), an update date before it was
  // first seen: dated by that. 3: no date, updated after it was first seen: first seen.
  // 4: not in a story.
  db.exec(
      "INSERT INTO items (id, feed_id, key, published, published_estimated, updated, "
      "first_seen, content_hash) VALUES (1, 1, 'a', 1000, 0, 900, 2000, 0), "
      "(2, 1, 'b', 3000, 1, 2500, 3000, 0), (3, 1, 'c', 4000, 1, 4500, 4000, 0), "
      "(4, 1, 'd', 5000, 0, NULL, 5000, 0)");
  db.exec(
      "INSERT INTO item_stories (item_id, story_id, relation) VALUES (1, 5, 'original'), "
      "(2, 5, 'report'), (3, 5, 'copy')");

  const std::vector<std::string_view> version4(migrations().begin(), migrations().begin() + 4);
  REQUIRE(migrate(db, path, version4).has_value());
  db.exec("PRAGMA foreign_keys = ON");
  CHECK(user_version(db) == 4);
  SQLite::Statement rows(db, "SELECT item_id, story_time FROM item_stories ORDER BY item_id");
  std::vector<std::string> got;
  while (rows.executeStep())
    got.push_back(rows.getColumn(0).getString() + " " + rows.getColumn(1).getString());
  CHECK(got == std::vector<std::string>{"1 1000", "2 2500", "3 4000"});
  CHECK(db.execAndGet("SELECT count(*) FROM sqlite_schema WHERE name = 'items_by_published'")
            .getInt() == 0);
  // The window's query finds its rows through the new index.
  SQLite::Statement plan(db,
                         "EXPLAIN QUERY PLAN SELECT item_id FROM item_stories WHERE story_time "
                         ">= 1000 AND story_time < 3000");
  std::string details;
  while (plan.executeStep())
    details += plan.getColumn(3).getString();
  CHECK(details.find("item_stories_by_story_time") != std::string::npos);
  CHECK(db.execAndGet("PRAGMA integrity_check").getString() == "ok");
}

TEST_CASE("migration 5 adds why each member is in its story, unknown for older memberships") {
  TempFolder folder;
  const auto path = folder.file("feedmerge.db");
  SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  const std::vector<std::string_view> version4(migrations().begin(), migrations().begin() + 4);
  REQUIRE(migrate(db, path, version4).has_value());
  db.exec("INSERT INTO feeds (id, url) VALUES (1, 'https://example.com/feed.xml')");
  db.exec("INSERT INTO stories (id, first_published, first_seen, updated) VALUES (5, 0, 0, 0)");
  db.exec(
      "INSERT INTO items (id, feed_id, key, published, first_seen, content_hash) VALUES "
      "(1, 1, 'a', 1000, 1000, 0), (2, 1, 'b', 2000, 2000, 0)");
  db.exec(
      "INSERT INTO item_stories (item_id, story_id, relation, story_time) VALUES "
      "(1, 5, 'original', 1000), (2, 5, 'report', 2000)");

  REQUIRE(migrate(db, path, migrations()).has_value());
  CHECK(user_version(db) == 5);
  SQLite::Statement rows(db,
                         "SELECT item_id, joined_by, matched_item_id IS NULL, matched_p FROM "
                         "item_stories ORDER BY item_id");
  std::vector<std::string> got;
  while (rows.executeStep()) {
    got.push_back(rows.getColumn(0).getString() + " '" + rows.getColumn(1).getString() + "' " +
                  rows.getColumn(2).getString() + " " + rows.getColumn(3).getString());
  }
  CHECK(got == std::vector<std::string>{"1 '' 1 0.0", "2 '' 1 0.0"});
  // The table stays STRICT: a P that is not a number is refused.
  CHECK_THROWS(db.exec("UPDATE item_stories SET matched_p = 'high' WHERE item_id = 2"));
  CHECK(db.execAndGet("PRAGMA integrity_check").getString() == "ok");
}
