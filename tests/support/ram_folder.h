// A fresh folder for one test's database files in memory (/dev/shm, a tmpfs, where it exists;
// else the system temp dir), removed after: SQLite's syncs cost nothing there, so a test that
// opens many databases runs in milliseconds.
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <string>
#include <string_view>

namespace feedmerge::test {

class RamFolder {
 public:
  RamFolder() {
    static std::atomic<int> counter{0};
    std::random_device random;
    std::error_code error;
    const std::filesystem::path base = std::filesystem::is_directory("/dev/shm", error)
                                           ? std::filesystem::path("/dev/shm")
                                           : std::filesystem::temp_directory_path();
    path_ = base / ("feedmerge-test-" + std::to_string(::getpid()) + "-" +
                    std::to_string(counter++) + "-" + std::to_string(random()));
    std::filesystem::create_directories(path_);
  }
  ~RamFolder() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  RamFolder(const RamFolder&) = delete;
  RamFolder& operator=(const RamFolder&) = delete;

  std::string file(std::string_view name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace feedmerge::test
