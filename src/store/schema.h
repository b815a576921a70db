// The database schema and the code that moves a database file to it: forward-only migrations
// indexed by version (PRAGMA user_version), each in its own transaction. Internal to
// src/store; callers hold the only handle to `db`, so no locking here.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "feedmerge/error.h"

namespace SQLite {
class Database;
}

namespace feedmerge::store::detail {

// PRAGMA application_id of every feedmerge database ("FMRG"), so that pointing the daemon at
// another program's SQLite file is refused instead of "migrated".
inline constexpr std::int32_t kApplicationId = 0x464d5247;

// migrations()[v] takes a database from version v to v + 1. Append only: a released step is
// never edited, because databases out there already ran it.
std::span<const std::string_view> migrations();

// Reads the file's version without writing anything and refuses a file we must not touch:
// one from a newer feedmerge (its version is above migrations.size()), or one that belongs to
// another program. Returns the version found (0 for a new, empty file).
Result<int> check_schema(SQLite::Database& db, const std::string& path,
                         std::span<const std::string_view> migrations);

// Runs every step from the file's version to migrations.size(), one transaction per step,
// re-reading the version inside each transaction so that two processes opening the same new
// file do not both run a step. A failing step rolls back and leaves the previous version.
Result<void> migrate(SQLite::Database& db, const std::string& path,
                     std::span<const std::string_view> migrations);

}  // namespace feedmerge::store::detail
