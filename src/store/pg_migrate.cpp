// copy_sqlite_to_postgresql: each table in batches of rows (JSON), in one PostgreSQL transaction.
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <boost/json.hpp>

#include <filesystem>

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
    {"item_stories",
     "item_id, story_id, relation, canonical_url, story_time, joined_by, matched_item_id, "
     "matched_p",
     &CopyCounts::memberships},
    {"story_overrides", "id, kind, story_id, other_story_id, item_id, created",
     &CopyCounts::overrides},
};

// Rows per INSERT: large enough that round trips do not count, small enough that a batch of
// items with long contents stays a few megabytes.
constexpr std::size_t kBatchRows = 500;

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
      // Rows go in batches, as JSON objects the table's own row type reads
      // (json_populate_recordset): one round trip per batch, not per row.
      const std::string insert =
          std::string("INSERT INTO ") + table.name + " (" + table.columns + ") SELECT " +
          table.columns + " FROM json_populate_recordset(NULL::" + table.name + ", $1::text::json)";
      SQLite::Statement rows(source,
                             std::string("SELECT ") + table.columns + " FROM " + table.name);
      boost::json::array batch;
      const auto flush = [&] {
        if (batch.empty()) return;
        work.exec_params(insert, boost::json::serialize(batch));
        batch.clear();
      };
      while (rows.executeStep()) {
        boost::json::object row;
        for (int i = 0; i < rows.getColumnCount(); ++i) {
          const SQLite::Column column = rows.getColumn(i);
          if (column.isNull()) {
            row[column.getName()] = nullptr;
          } else {
            row[column.getName()] = column.getString();
          }
        }
        batch.emplace_back(std::move(row));
        ++(counts.*table.count);
        if (batch.size() == kBatchRows) flush();
      }
      flush();
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
