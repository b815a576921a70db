// Reading stories for publishing: the latest stories with their members, over the reader's
// own read-only SQLite connection (WAL lets it run alongside the daemon's writer). Items
// without a story (not assigned yet) are never returned.
// Threading: one StoryReader is one connection and is not thread-safe; the publisher owns one.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "feedmerge/error.h"
#include "feedmerge/model/story.h"

namespace feedmerge::store {

struct StoreCounts {
  std::int64_t items = 0;
  std::int64_t stories = 0;
};

class StoryReader {
 public:
  // Opens `path` read-only; the database must exist at the schema version this build reads.
  static Result<std::unique_ptr<StoryReader>> open(const std::string& path);
  ~StoryReader();
  StoryReader(const StoryReader&) = delete;
  StoryReader& operator=(const StoryReader&) = delete;

  // The `limit` stories published last (first_published, newest first; ties by id), that
  // have at least one member from a feed in `feed_urls` (nullptr: any feed).
  Result<std::vector<model::Story>> latest(const std::vector<std::string>* feed_urls, int limit);

  Result<StoreCounts> counts();

 private:
  struct Impl;
  explicit StoryReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace feedmerge::store
