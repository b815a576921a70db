// The one-polling-process lock beside an SQLite database: refused while held, with the
// holder's pid; free again when the holder closes it or dies, even by SIGKILL.
#include "store/sqlite_lock.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include <doctest/doctest.h>

#include "store/temp_folder.h"

namespace feedmerge::store {
namespace {

using test::TempFolder;

TEST_CASE("a second lock on one database is refused with the holder's pid") {
  TempFolder folder;
  const std::string database = folder.file("var/feedmerge.db");
  auto first = SqliteLock::acquire(database);
  REQUIRE(first.has_value());
  CHECK(first->held());
  CHECK(std::filesystem::exists(SqliteLock::path_of(database)));

  // Another descriptor is another holder, even in the same process (flock(2)).
  auto second = SqliteLock::acquire(database);
  REQUIRE_FALSE(second.has_value());
  CHECK(second.error().message ==
        "another feedmerge is using " + database + " (pid " + std::to_string(::getpid()) + ")");

  *first = SqliteLock();  // released
  CHECK(SqliteLock::acquire(database).has_value());
}

TEST_CASE("an in-memory database needs no lock") {
  auto lock = SqliteLock::acquire(":memory:");
  REQUIRE(lock.has_value());
  CHECK_FALSE(lock->held());
}

TEST_CASE("a holder killed by SIGKILL leaves no stale lock") {
  TempFolder folder;
  const std::string database = folder.file("feedmerge.db");
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(ready[0]);
    auto lock = SqliteLock::acquire(database);
    const char held = lock ? 'y' : 'n';
    (void)!::write(ready[1], &held, 1);
    for (;;)
      ::pause();  // until killed
  }
  ::close(ready[1]);
  char held = 0;
  REQUIRE(::read(ready[0], &held, 1) == 1);
  ::close(ready[0]);
  REQUIRE(held == 'y');

  auto refused = SqliteLock::acquire(database);
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().message ==
        "another feedmerge is using " + database + " (pid " + std::to_string(child) + ")");

  REQUIRE(::kill(child, SIGKILL) == 0);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFSIGNALED(status));
  // The pid of the dead holder is still in the file; the lock is what counts.
  auto taken = SqliteLock::acquire(database);
  REQUIRE(taken.has_value());
  CHECK(taken->held());
}

}  // namespace
}  // namespace feedmerge::store
