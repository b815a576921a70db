#include "support/fault_vfs.h"

#include <sqlite3.h>

#include <atomic>
#include <cstring>
#include <stdexcept>

namespace feedmerge::test {

namespace {

std::atomic<bool> disk_full{false};
std::atomic<int> refused{0};
sqlite3_vfs* base = nullptr;
sqlite3_vfs fault_vfs{};

// Each file opened through the fault VFS: our io_methods in front of the real file's.
struct FaultFile {
  sqlite3_file header;  // must be first: SQLite sees a sqlite3_file*
  sqlite3_file* real;   // the base VFS's file, allocated right after this struct
};

sqlite3_io_methods methods{};

sqlite3_file* real(sqlite3_file* file) {
  return reinterpret_cast<FaultFile*>(file)->real;
}

int fault_write(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
  sqlite3_file* r = real(file);
  if (disk_full) {
    sqlite3_int64 size = 0;
    r->pMethods->xFileSize(r, &size);
    // Overwriting pages already allocated still works on a full disk; growing does not.
    if (offset + amount > size) {
      ++refused;
      return SQLITE_FULL;
    }
  }
  return r->pMethods->xWrite(r, data, amount, offset);
}

int fault_close(sqlite3_file* file) {
  sqlite3_file* r = real(file);
  const int rc = r->pMethods ? r->pMethods->xClose(r) : SQLITE_OK;
  return rc;
}

#define FORWARD(name, signature, call) \
  int fault_##name signature {         \
    sqlite3_file* r = real(file);      \
    return r->pMethods->x##name call;  \
  }
FORWARD(Read, (sqlite3_file * file, void* data, int amount, sqlite3_int64 offset),
        (r, data, amount, offset))
FORWARD(Truncate, (sqlite3_file * file, sqlite3_int64 size), (r, size))
FORWARD(Sync, (sqlite3_file * file, int flags), (r, flags))
FORWARD(FileSize, (sqlite3_file * file, sqlite3_int64* size), (r, size))
FORWARD(Lock, (sqlite3_file * file, int level), (r, level))
FORWARD(Unlock, (sqlite3_file * file, int level), (r, level))
FORWARD(CheckReservedLock, (sqlite3_file * file, int* out), (r, out))
FORWARD(FileControl, (sqlite3_file * file, int op, void* arg), (r, op, arg))
FORWARD(SectorSize, (sqlite3_file * file), (r))
FORWARD(DeviceCharacteristics, (sqlite3_file * file), (r))
FORWARD(ShmMap, (sqlite3_file * file, int page, int size, int extend, void volatile** out),
        (r, page, size, extend, out))
FORWARD(ShmLock, (sqlite3_file * file, int offset, int n, int flags), (r, offset, n, flags))
FORWARD(ShmUnmap, (sqlite3_file * file, int remove), (r, remove))
FORWARD(Fetch, (sqlite3_file * file, sqlite3_int64 offset, int amount, void** out),
        (r, offset, amount, out))
FORWARD(Unfetch, (sqlite3_file * file, sqlite3_int64 offset, void* page), (r, offset, page))
#undef FORWARD

void fault_shm_barrier(sqlite3_file* file) {
  sqlite3_file* r = real(file);
  r->pMethods->xShmBarrier(r);
}

int fault_open(sqlite3_vfs*, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  auto* wrapper = reinterpret_cast<FaultFile*>(file);
  wrapper->real = reinterpret_cast<sqlite3_file*>(wrapper + 1);
  const int rc = base->xOpen(base, name, wrapper->real, flags, out_flags);
  // SQLite calls xClose only when pMethods is set: leave it null when the open failed.
  wrapper->header.pMethods = rc == SQLITE_OK && wrapper->real->pMethods ? &methods : nullptr;
  return rc;
}

}  // namespace

FaultVfs::FaultVfs() {
  if (base != nullptr) throw std::logic_error("one FaultVfs at a time");
  base = sqlite3_vfs_find(nullptr);
  methods = sqlite3_io_methods{
      .iVersion = 3,
      .xClose = fault_close,
      .xRead = fault_Read,
      .xWrite = fault_write,
      .xTruncate = fault_Truncate,
      .xSync = fault_Sync,
      .xFileSize = fault_FileSize,
      .xLock = fault_Lock,
      .xUnlock = fault_Unlock,
      .xCheckReservedLock = fault_CheckReservedLock,
      .xFileControl = fault_FileControl,
      .xSectorSize = fault_SectorSize,
      .xDeviceCharacteristics = fault_DeviceCharacteristics,
      .xShmMap = fault_ShmMap,
      .xShmLock = fault_ShmLock,
      .xShmBarrier = fault_shm_barrier,
      .xShmUnmap = fault_ShmUnmap,
      .xFetch = fault_Fetch,
      .xUnfetch = fault_Unfetch,
  };
  fault_vfs = *base;
  fault_vfs.zName = "feedmerge-fault";
  fault_vfs.szOsFile = static_cast<int>(sizeof(FaultFile)) + base->szOsFile;
  fault_vfs.xOpen = fault_open;
  fault_vfs.pNext = nullptr;
  disk_full = false;
  refused = 0;
  sqlite3_vfs_register(&fault_vfs, 1);
}

FaultVfs::~FaultVfs() {
  sqlite3_vfs_unregister(&fault_vfs);
  sqlite3_vfs_register(base, 1);
  base = nullptr;
}

void FaultVfs::set_disk_full(bool full) {
  disk_full = full;
}

int FaultVfs::failed_writes() const {
  return refused;
}

}  // namespace feedmerge::test
