// Moving an installation from SQLite to PostgreSQL (`feedmerge migrate-store`): every feed
// with its polling state, every item, tombstone, story, membership and override, with their
// ids, and the story id sequence where SQLite left it. A plain function; it opens its own
// connections and holds nothing after it returns.
#pragma once

#include <cstdint>
#include <string>

#include "feedmerge/error.h"

namespace feedmerge::store {

struct CopyCounts {
  std::int64_t feeds = 0;
  std::int64_t items = 0;
  std::int64_t tombstones = 0;
  std::int64_t stories = 0;
  std::int64_t memberships = 0;
  std::int64_t overrides = 0;
  std::int64_t next_story_id = 1;  // what the target gives the next story

  bool operator==(const CopyCounts&) const = default;
};

// Copies the SQLite database at `sqlite_path` (which must be at this build's schema version,
// and not in use: it takes the file's polling lock, so a running `run` or `once` is refused)
// into the PostgreSQL database at `postgresql_url`, in one transaction: all or nothing. The
// target's schema is created when missing; a target that already holds feeds, items or
// stories is refused ("URL: already holds 3 feeds, ...; migrate-store copies into an empty
// database only"), so running it twice copies nothing twice.
Result<CopyCounts> copy_sqlite_to_postgresql(const std::string& sqlite_path,
                                             const std::string& postgresql_url);

}  // namespace feedmerge::store
