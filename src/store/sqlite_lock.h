// One polling process per SQLite database: `run` and `once` hold an flock(2) on PATH.lock (the
// holder's pid in it) while they live; the kernel drops it however they end (SIGKILL too). The
// SQLite backend's, taken by the daemon before it opens its read_write Store; readers and `story
// merge|split` never take it. A move-only value with one owner, not shared between threads.
#pragma once

#include <string>

#include "feedmerge/error.h"

namespace feedmerge::store {

class SqliteLock {
 public:
  // Takes the lock for the database at `database` (the path as configured; the folder is
  // created if missing), or says who holds it: "another feedmerge is using var/feedmerge.db
  // (pid 1234)" (ErrorKind::database). ":memory:" needs none: an empty lock.
  static Result<SqliteLock> acquire(const std::string& database);

  // The lock file of `database`.
  static std::string path_of(const std::string& database);

  SqliteLock() = default;
  SqliteLock(SqliteLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  SqliteLock& operator=(SqliteLock&& other) noexcept;
  SqliteLock(const SqliteLock&) = delete;
  SqliteLock& operator=(const SqliteLock&) = delete;
  ~SqliteLock();  // releases it (the file stays: removing it would race with a new holder)

  bool held() const { return fd_ >= 0; }

 private:
  explicit SqliteLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace feedmerge::store
