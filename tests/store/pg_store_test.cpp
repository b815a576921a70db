// What only the PostgreSQL backend does: its schema's version, a database that is not ours,
// the URL in messages, read-only sessions. The behaviour both backends share is tested in
// store_test.cpp and stories_test.cpp over both.
#include <doctest/doctest.h>

#include <string>

#include "feedmerge/store/store.h"
#include "store/pg_store.h"
#include "store/test_backends.h"

namespace {

using feedmerge::ErrorKind;
using feedmerge::store::open_store;
using feedmerge::store::OpenMode;
using feedmerge::store::detail::kPgSchemaVersion;
using feedmerge::store::detail::redact_url;
using feedmerge::test::PgBackend;

}  // namespace

TEST_CASE("a new PostgreSQL database gets the schema, once, at this build's version") {
  PgBackend backend;
  REQUIRE(open_store(backend.location()).has_value());
  REQUIRE(open_store(backend.location()).has_value());  // a second open migrates nothing
  pqxx::connection connection(backend.location());
  pqxx::read_transaction work(connection);
  const pqxx::result rows = work.exec("SELECT version FROM schema_version");
  REQUIRE(rows.size() == 1);
  CHECK(rows[0][0].as<int>() == kPgSchemaVersion);
}

// Version 2 adds why each member is in its story: a version 1 database (its memberships
// without those columns, and without version 3's cluster tables) gets them, unknown ('') for
// the memberships it holds, and is brought to the current version.
TEST_CASE("a version 1 PostgreSQL schema is migrated to record why members joined") {
  PgBackend backend;
  REQUIRE(open_store(backend.location()).has_value());
  backend.exec(
      "ALTER TABLE item_stories DROP COLUMN joined_by, DROP COLUMN matched_item_id, DROP COLUMN "
      "matched_p; DROP TABLE leases, pollers, assigner_terms; UPDATE schema_version SET "
      "version = 1; INSERT INTO feeds (id, url) VALUES "
      "(1, 'https://example.com/feed'); INSERT INTO items (id, feed_id, key, published, "
      "first_seen, content_hash) VALUES (1, 1, 'a', 0, 0, 0); INSERT INTO stories (id, "
      "first_published, first_seen, updated) VALUES (1, 0, 0, 0); INSERT INTO item_stories "
      "(item_id, story_id, relation) VALUES (1, 1, 'original')");
  auto store = open_store(backend.location());
  REQUIRE_MESSAGE(store.has_value(), (store ? "" : store.error().message));
  auto stories = (*store)->list_stories(std::nullopt);
  REQUIRE(stories.has_value());
  REQUIRE(stories->size() == 1);
  CHECK(stories->front().members.at(0).joined_by == feedmerge::model::JoinedBy{"", {}, 0});
  pqxx::connection connection(backend.location());
  pqxx::read_transaction work(connection);
  CHECK(work.exec1("SELECT version FROM schema_version")[0].as<int>() == kPgSchemaVersion);
  CHECK(work.exec1("SELECT to_regclass('leases') IS NOT NULL")[0].as<bool>());
}

TEST_CASE("a PostgreSQL schema from a newer feedmerge is refused, read-write and read-only") {
  PgBackend backend;
  REQUIRE(open_store(backend.location()).has_value());
  backend.exec("UPDATE schema_version SET version = " + std::to_string(kPgSchemaVersion + 1));
  for (OpenMode mode : {OpenMode::read_write, OpenMode::read_only}) {
    auto store = open_store(backend.location(), mode);
    REQUIRE_FALSE(store.has_value());
    CHECK(store.error().kind == ErrorKind::database);
    CHECK(store.error().message ==
          backend.location() + ": database schema version " + std::to_string(kPgSchemaVersion + 1) +
              " is newer than this feedmerge supports (" + std::to_string(kPgSchemaVersion) +
              "); refusing to touch it");
  }
}

TEST_CASE("a PostgreSQL database holding another program's tables is refused, not migrated") {
  PgBackend backend;
  backend.exec("CREATE TABLE invoices (id integer)");
  auto store = open_store(backend.location());
  REQUIRE_FALSE(store.has_value());
  CHECK(store.error().message == backend.location() +
                                     ": not a feedmerge database (it already holds other "
                                     "tables); refusing to touch it");
  pqxx::connection connection(backend.location());
  pqxx::read_transaction work(connection);
  CHECK(work.exec1("SELECT to_regclass('feeds') IS NULL")[0].as<bool>());
}

TEST_CASE("read-only needs the schema to exist already") {
  PgBackend backend;
  auto store = open_store(backend.location(), OpenMode::read_only);
  REQUIRE_FALSE(store.has_value());
  CHECK(store.error().message ==
        backend.location() + ": no feedmerge schema here (the daemon or migrate-store creates it)");
}

TEST_CASE("a server that is not there is an error naming the URL, its password hidden") {
  const std::string url = "postgresql://feedmerge:s3cret@/feedmerge?host=/nonexistent-dir";
  auto store = open_store(url);
  REQUIRE_FALSE(store.has_value());
  CHECK(store.error().message.starts_with(
      "postgresql://feedmerge:***@/feedmerge?host=/nonexistent-dir: cannot connect: "));
  CHECK(store.error().message.find("s3cret") == std::string::npos);
  CHECK(redact_url("postgres://u:p@h:5432/db?password=x&sslmode=require") ==
        "postgres://u:***@h:5432/db?password=***&sslmode=require");
  CHECK(redact_url("postgresql://h/db") == "postgresql://h/db");
}
