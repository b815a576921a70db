#include "store/sqlite_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <system_error>

namespace feedmerge::store {

namespace {

Error failure(const std::string& file, std::string_view what, int code) {
  return Error{.kind = ErrorKind::database,
               .message = file + ": " + std::string(what) + ": " + std::strerror(code)};
}

// The holder's pid as it wrote it; "" while it has not yet (it locks, then writes).
std::string holder_pid(int fd) {
  char text[32] = {};
  const ssize_t got = ::pread(fd, text, sizeof text - 1, 0);
  if (got <= 0) return "";
  std::string pid(text, static_cast<std::size_t>(got));
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' '))
    pid.pop_back();
  if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) return "";
  return pid;
}

}  // namespace

std::string SqliteLock::path_of(const std::string& database) {
  return database + ".lock";
}

Result<SqliteLock> SqliteLock::acquire(const std::string& database) {
  if (database == ":memory:" || database.empty()) return SqliteLock();
  const std::filesystem::path folder = std::filesystem::path(database).parent_path();
  if (!folder.empty()) {
    std::error_code error;
    std::filesystem::create_directories(folder, error);
    if (error) {
      return Error{
          .kind = ErrorKind::io,
          .message = folder.string() + ": cannot create the database folder: " + error.message()};
    }
  }
  const std::string file = path_of(database);
  // Never unlinked: a process that opened the old file would lock a name nobody else uses.
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return failure(file, "cannot open the lock file", errno);
  SqliteLock lock(fd);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int code = errno;
    if (code != EWOULDBLOCK) return failure(file, "cannot lock", code);
    const std::string pid = holder_pid(fd);
    return Error{.kind = ErrorKind::database,
                 .message = "another feedmerge is using " + database + " (pid " +
                            (pid.empty() ? std::string("unknown") : pid) + ")"};
  }
  // For the message above and for an operator; the lock, not the file, is what counts.
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    return failure(file, "cannot write the lock file", errno);
  }
  return lock;
}

SqliteLock& SqliteLock::operator=(SqliteLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

SqliteLock::~SqliteLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor drops the flock
}

}  // namespace feedmerge::store
