#include "config/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace feedmerge::config::detail {
namespace {

// "cannot read: No such file or directory"; the caller's report names the config file.
Error io_error(std::string_view what, int error_number) {
  return Error{ErrorKind::io, std::string(what) + ": " + std::strerror(error_number)};
}

// Owns one file descriptor.
class File {
 public:
  explicit File(int fd) : fd_(fd) {}
  ~File() {
    if (fd_ >= 0) ::close(fd_);
  }
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  int get() const { return fd_; }
  // Closes now, so that a failing close (NFS reports write errors there) is seen.
  bool close() {
    const int fd = fd_;
    fd_ = -1;
    return ::close(fd) == 0;
  }

 private:
  int fd_;
};

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t written = ::write(fd, bytes.data(), bytes.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(written));
  }
  return true;
}

}  // namespace

Result<std::string> read_file(const std::string& path) {
  File file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (file.get() < 0) return io_error("cannot read", errno);
  std::string text;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(file.get(), buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("cannot read", errno);
    }
    text.append(buffer, static_cast<std::size_t>(n));
  }
  return text;
}

Result<std::string> write_backup(const std::string& path, std::string_view bytes) {
  struct stat original {};
  if (::stat(path.c_str(), &original) != 0) return io_error("cannot back up", errno);
  constexpr int kMaxBackups = 1000;
  for (int n = 0; n < kMaxBackups; ++n) {
    std::string name = path + ".bak";
    if (n > 0) name += "." + std::to_string(n);
    // The backup holds what the config holds (API keys in headers): same permissions.
    File file(
        ::open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, original.st_mode & 07777));
    if (file.get() < 0) {
      if (errno == EEXIST) continue;
      return io_error("cannot write the backup " + name, errno);
    }
    if (!write_all(file.get(), bytes) || ::fsync(file.get()) != 0 || !file.close()) {
      const int error_number = errno;
      ::unlink(name.c_str());
      return io_error("cannot write the backup " + name, error_number);
    }
    return name;
  }
  return Error{ErrorKind::io,
               "cannot back up: " + std::to_string(kMaxBackups) + " backups exist already"};
}

Result<void> replace_file(const std::string& path, std::string_view bytes) {
  std::error_code ec;
  const std::filesystem::path target = std::filesystem::canonical(path, ec);
  if (ec) return io_error("cannot write", ec.value());
  struct stat original {};
  if (::stat(target.c_str(), &original) != 0) return io_error("cannot write", errno);

  std::string temporary =
      (target.parent_path() / ("." + target.filename().string() + ".XXXXXX")).string();
  File file(::mkostemp(temporary.data(), O_CLOEXEC));
  if (file.get() < 0) return io_error("cannot create a temporary file next to it", errno);
  auto fail = [&](int error_number) -> Result<void> {
    ::unlink(temporary.c_str());
    return io_error("cannot write", error_number);
  };
  if (::fchmod(file.get(), original.st_mode & 07777) != 0) return fail(errno);
  // Root editing a config that the service user reads must not take it away from that user.
  if (::fchown(file.get(), original.st_uid, original.st_gid) != 0 && errno != EPERM) {
    return fail(errno);
  }
  if (!write_all(file.get(), bytes) || ::fsync(file.get()) != 0 || !file.close()) {
    return fail(errno);
  }
  if (::rename(temporary.c_str(), target.c_str()) != 0) return fail(errno);
  File folder(::open(target.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (folder.get() >= 0) ::fsync(folder.get());  // best effort: the rename is already done
  return {};
}

}  // namespace feedmerge::config::detail
