// A minimal config for daemon tests: the given feed URLs, quiet logs, the database in `folder`.
#pragma once

#include <string>
#include <vector>

#include "feedmerge/config/config.h"
#include "store/temp_folder.h"

namespace feedmerge::daemon {

// Any folder with file(name): test::TempFolder, or test::RamFolder for a database in memory.
template <class Folder>
config::Config make_test_config(const Folder& folder, const std::vector<std::string>& urls,
                                const std::string& database = "feedmerge.db") {
  config::Config config;
  config.log.level = config::LogLevel::error;  // the tests check the summary, not the log
  config.storage.database = folder.file(database);
  for (const std::string& url : urls) {
    config::FeedConfig feed;
    feed.url = url;
    config.feeds.push_back(feed);
  }
  return config;
}

}  // namespace feedmerge::daemon
