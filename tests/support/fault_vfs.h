// A SQLite VFS that wraps the default one and can make writes fail as on a full disk, for the
// storage fault tests (root ignores file permissions, and a real full disk would need a mount).
// While a FaultVfs lives it is SQLite's default VFS, so a Store opened meanwhile uses it.
// Not thread-safe to construct; the flag may be flipped from any thread.
#pragma once

namespace feedmerge::test {

class FaultVfs {
 public:
  FaultVfs();   // registers itself as the default VFS
  ~FaultVfs();  // restores the previous default; close every database first
  FaultVfs(const FaultVfs&) = delete;
  FaultVfs& operator=(const FaultVfs&) = delete;

  // While true, every write to a file that would grow it fails with SQLITE_FULL.
  void set_disk_full(bool full);
  int failed_writes() const;  // writes refused so far
};

}  // namespace feedmerge::test
