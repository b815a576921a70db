// Where renders come from: publishing's one reader of the store. It queries what the
// renderer (site.h) needs for a config (each output's latest stories, the index's, every
// configured feed with its stored status) over its own read-only connection, and hands back
// plain values. Owner: the publisher's thread, or `feedmerge render`.
// Threading: one SiteReader is one connection and is not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "feedmerge/config/config.h"
#include "feedmerge/error.h"
#include "feedmerge/publish/site.h"

namespace feedmerge::publish {

// What one render of a site reads: render_site(site_settings(config), stories, feeds).
struct SiteValues {
  SiteStories stories;
  std::vector<FeedRow> feeds;  // config::Config::feeds, in order, each with its status
};

struct StoredCounts {
  std::int64_t items = 0;
  std::int64_t stories = 0;
};

class SiteReader {
 public:
  // Opens `database_path` read-only; the database must exist at the schema this build reads.
  static Result<std::unique_ptr<SiteReader>> open(const std::string& database_path);
  ~SiteReader();
  SiteReader(const SiteReader&) = delete;
  SiteReader& operator=(const SiteReader&) = delete;

  // The values a render of `config`'s site needs, read now: each output's latest `limit`
  // stories from the feeds of its categories (feeds_in_categories), the index's
  // kIndexStories, and the configured feeds' rows.
  Result<SiteValues> read(const config::Config& config);

  // Items and stories stored (for /metrics).
  Result<StoredCounts> counts();

 private:
  struct Impl;
  explicit SiteReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace feedmerge::publish
