#include "store/connection.h"

#include <sqlite3.h>

#include <SQLiteCpp/Database.h>

#include <mutex>

namespace feedmerge::store::detail {

SQLite::Database open_connection(const std::string& path, int flags) {
  // Before SQLite initialises, which the first open does: SQLite keeps allocation statistics
  // we never read behind one process-wide mutex, taken on every allocation (Debian builds it
  // without lookaside, so that is every row and statement). Too late if something else opened
  // a database first (SQLITE_MISUSE): then the statistics simply stay on.
  static std::once_flag configured;
  std::call_once(configured, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
  return SQLite::Database(path, flags, kBusyTimeoutMs);
}

}  // namespace feedmerge::store::detail
