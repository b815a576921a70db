// copy_sqlite_to_postgresql: the tables row by row, as text, in one PostgreSQL transaction.
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <filesystem>
#include <optional>
#include <vector>

#include "feedmerge/store/migrate.h"
#include "feedmerge/store/store.h"
#include "store/pg_store.h"
#include "store/sqlite_lock.h"

namespace feedmerge::store {
namespace {

// Tables in an order that satisfies every foreign key (a story's representative is an
// item), each with the columns both schemas share. Values travel as text: PostgreSQL reads
// SQLite's 0/1 as booleans and its integers as BIGINT.
struct Table {
  const char* name;
  const char* columns;
  std::int64_t CopyCounts::*count;
};
constexpr Table kTables[] = {
    {"feeds",
     "id, url, fetch_url, title, link, etag, last_modified, body_hash, next_poll, "
     "interval_seconds, last_attempt, last_success, failing_since, consecutive_failures, "
     "last_status, last_error, disabled, disabled_reason, pending_redirect, "
     "pending_redirect_polls",
     &CopyCounts::feeds},
    {"items",
     "id, feed_id, key, published, published_estimated, updated, first_seen, changed_at, "
     "content_hash, guid, link, title, image, authors, categories, enclosures, summary, content",
     &CopyCounts::items},
    {"tombstones", "feed_id, key, removed_at, last_seen", &CopyCounts::tombstones},
    {"stories", "id, first_published, first_seen, updated, representative_item_id",
     &CopyCounts::stories},
    {"item_stories", "item_id, story_id, relation, canonical_url, story_time",
     &CopyCounts::memberships},
    {"story_overrides", "id, kind, story_id, other_story_id, item_id, created",
     &CopyCounts::overrides},
};

std::string placeholders(const char* columns) {
  std::string text;
  int n = 1;
  text += "$1";
  for (const char* c = columns; *c != '\0'; ++c) {
    if (*c == ',') text += ", $" + std::to_string(++n);
  }
  return text;
}

}  // namespace

Result<CopyCounts> copy_sqlite_to_postgresql(const std::string& sqlite_path,
                                             const std::string& postgresql_url) {
  const std::string target = detail::redact_url(postgresql_url);
  if (!is_postgresql_url(postgresql_url)) {
    return Error{ErrorKind::invalid_input,
                 postgresql_url + ": not a PostgreSQL URL (postgresql://...)"};
  }
  std::error_code ec;
  if (!std::filesystem::exists(sqlite_path, ec)) {
    return Error{ErrorKind::database, sqlite_path + ": no database here"};
  }
  // No poller may write while the copy reads: what it stored after would be lost.
  auto lock = SqliteLock::acquire(sqlite_path);
  if (!lock) return lock.error();
  {
    // The source must be at this build's schema version; opening it read-only checks.
    auto source = open_sqlite(sqlite_path, OpenMode::read_only);
    if (!source) return source.error();
    // Creates or upgrades the target's schema.
    auto destination = open_postgresql(postgresql_url, OpenMode::read_write);
    if (!destination) return destination.error();
  }

  CopyCounts counts;
  try {
    SQLite::Database source(sqlite_path, SQLite::OPEN_READONLY);
    source.exec("BEGIN");  // one snapshot of every table
    pqxx::connection connection(postgresql_url);
    pqxx::work work(connection);
    const pqxx::row held = work.exec1(
        "SELECT (SELECT count(*) FROM feeds), (SELECT count(*) FROM items), "
        "(SELECT count(*) FROM stories)");
    if (held[0].as<std::int64_t>() + held[1].as<std::int64_t>() + held[2].as<std::int64_t>() > 0) {
      return Error{ErrorKind::database,
                   target + ": already holds " + held[0].c_str() + " feeds, " + held[1].c_str() +
                       " items and " + held[2].c_str() +
                       " stories; migrate-store copies into an empty database only"};
    }

    for (const Table& table : kTables) {
      const std::string name = std::string("copy_") + table.name;
      connection.prepare(name, std::string("INSERT INTO ") + table.name + " (" + table.columns +
                                   ") VALUES (" + placeholders(table.columns) + ")");
      SQLite::Statement rows(source,
                             std::string("SELECT ") + table.columns + " FROM " + table.name);
      std::vector<std::optional<std::string>> values;
      while (rows.executeStep()) {
        values.clear();
        for (int i = 0; i < rows.getColumnCount(); ++i) {
          const SQLite::Column column = rows.getColumn(i);
          if (column.isNull()) {
            values.emplace_back();
          } else {
            values.emplace_back(column.getString());
          }
        }
        work.exec_prepared(name, pqxx::prepare::make_dynamic_params(values));
        ++(counts.*table.count);
      }
    }

    // Identity columns continue after the highest id copied.
    for (const char* table : {"feeds", "items", "story_overrides"}) {
      work.exec(std::string("SELECT setval(pg_get_serial_sequence('") + table +
                "', 'id'), max(id)) FROM " + table + " HAVING count(*) > 0");
    }
    // Story ids continue where SQLite would have: after the highest ever given, even one
    // retention or a merge deleted since (sqlite_sequence).
    SQLite::Statement high(source,
                           "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = "
                           "'stories'), 0), coalesce((SELECT max(id) FROM stories), 0))");
    high.executeStep();
    const std::int64_t highest = high.getColumn(0).getInt64();
    if (highest > 0) work.exec_params("SELECT setval('story_ids', $1)", highest);
    counts.next_story_id = highest + 1;
    work.commit();
    source.exec("COMMIT");
  } catch (const std::exception& e) {
    std::string what = e.what();
    while (!what.empty() && (what.back() == '\n' || what.back() == ' '))
      what.pop_back();
    return Error{ErrorKind::database, "copying " + sqlite_path + " to " + target +
                                          " failed, nothing was copied: " + what};
  }
  return counts;
}

}  // namespace feedmerge::store
