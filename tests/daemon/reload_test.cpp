#include "feedmerge/daemon/reload.h"

#include <doctest/doctest.h>

namespace {

using feedmerge::config::Config;
using feedmerge::config::FeedConfig;
using feedmerge::daemon::describe;
using feedmerge::daemon::diff_configs;

FeedConfig feed(const std::string& url, int line = 0) {
  FeedConfig f;
  f.url = url;
  f.line = line;
  return f;
}

}  // namespace

TEST_CASE("a reload sees feeds added, removed and changed by URL") {
  Config before, after;
  before.feeds = {feed("http://a/"), feed("http://b/"), feed("http://c/")};
  after.feeds = {feed("http://b/"), feed("http://c/"), feed("http://d/")};
  after.feeds[1].interval = std::chrono::minutes(10);
  const auto changes = diff_configs(before, after);
  CHECK(changes.feeds_added == std::vector<std::string>{"http://d/"});
  CHECK(changes.feeds_removed == std::vector<std::string>{"http://a/"});
  CHECK(changes.feeds_changed == std::vector<std::string>{"http://c/"});
  CHECK_FALSE(changes.outputs_changed);
  CHECK(describe(changes) == "1 feed added, 1 feed removed, 1 feed changed");
}

TEST_CASE("a feed moved to another line of the file is not a change") {
  Config before, after;
  before.feeds = {feed("http://a/", 10)};
  after.feeds = {feed("http://a/", 30)};
  CHECK(diff_configs(before, after).empty());
  CHECK(describe(diff_configs(before, after)) == "no changes");
}

TEST_CASE("a disabled feed counts as removed and enabling it as added") {
  Config before, after;
  before.feeds = {feed("http://a/")};
  after.feeds = {feed("http://a/")};
  after.feeds[0].enabled = false;
  CHECK(diff_configs(before, after).feeds_removed == std::vector<std::string>{"http://a/"});
  CHECK(diff_configs(after, before).feeds_added == std::vector<std::string>{"http://a/"});
}

TEST_CASE("outputs and the listen address are reported for the publisher to act on") {
  Config before, after;
  after.outputs.push_back({});
  after.server.listen = "127.0.0.1:9090";
  const auto changes = diff_configs(before, after);
  CHECK(changes.outputs_changed);
  CHECK(changes.server_changed);
  CHECK(changes.feeds_added.empty());
}
