// Opening a connection, the same way for every part of the store. Internal to src/store.
#pragma once

#include <string>

namespace SQLite {
class Database;
}

namespace feedmerge::store::detail {

// Long enough for a publisher rebuild or a CLI read to finish, short enough that a wedged
// process shows up as an error rather than a hang.
inline constexpr int kBusyTimeoutMs = 5000;

// `flags` are SQLiteCpp's (SQLite::OPEN_READONLY, ...). Throws what SQLiteCpp throws.
SQLite::Database open_connection(const std::string& path, int flags);

}  // namespace feedmerge::store::detail
