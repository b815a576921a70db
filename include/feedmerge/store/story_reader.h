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
#include "feedmerge/model/feed.h"

namespace feedmerge::store {

// One item of a story, with what the entry needs to name its outlet.
struct StoryMember {
  std::int64_t item_id = 0;
  std::int64_t feed_id = 0;
  std::string feed_url;    // as configured: the feed's identity
  std::string feed_title;  // the feed's own title, from its last document
  std::string feed_link;   // the feed's home page
  model::Item item;        // item.published is always set (see StoredItem)
  model::Time first_seen{};

  bool operator==(const StoryMember&) const = default;
};

struct StoryView {
  std::int64_t id = 0;
  model::Time first_published{};  // the earliest publication of its members: the entry's time
  model::Time first_seen{};
  model::Time updated{};  // when a member last joined or changed
  // The representative first (stories.representative_item_id, else the earliest member),
  // then the others by publication time.
  std::vector<StoryMember> members;

  bool operator==(const StoryView&) const = default;
};

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
  Result<std::vector<StoryView>> latest(const std::vector<std::string>* feed_urls, int limit);

  Result<StoreCounts> counts();

 private:
  struct Impl;
  explicit StoryReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace feedmerge::store
