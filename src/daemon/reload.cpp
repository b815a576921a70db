#include "feedmerge/daemon/reload.h"

#include <map>

namespace feedmerge::daemon {

namespace {

std::map<std::string, const config::FeedConfig*> enabled_feeds(const config::Config& config) {
  std::map<std::string, const config::FeedConfig*> feeds;
  for (const config::FeedConfig& feed : config.feeds)
    if (feed.enabled) feeds.emplace(feed.url, &feed);
  return feeds;
}

// Where a feed sits in the file says nothing about what it polls.
bool same_settings(config::FeedConfig a, config::FeedConfig b) {
  a.line = b.line = 0;
  return a == b;
}

bool same_outputs(std::vector<config::OutputConfig> a, std::vector<config::OutputConfig> b) {
  for (auto& output : a)
    output.line = 0;
  for (auto& output : b)
    output.line = 0;
  return a == b;
}

}  // namespace

bool ConfigChanges::empty() const {
  return feeds_added.empty() && feeds_removed.empty() && feeds_changed.empty() && !poll_changed &&
         !storage_changed && !outputs_changed && !server_changed && !log_changed && !dedup_changed;
}

ConfigChanges diff_configs(const config::Config& before, const config::Config& after) {
  ConfigChanges changes;
  const auto old_feeds = enabled_feeds(before);
  const auto new_feeds = enabled_feeds(after);
  for (const auto& [url, feed] : new_feeds) {
    auto it = old_feeds.find(url);
    if (it == old_feeds.end()) {
      changes.feeds_added.push_back(url);
    } else if (!same_settings(*it->second, *feed)) {
      changes.feeds_changed.push_back(url);
    }
  }
  for (const auto& [url, feed] : old_feeds)
    if (!new_feeds.contains(url)) changes.feeds_removed.push_back(url);
  changes.poll_changed = before.poll != after.poll;
  changes.storage_changed = before.storage != after.storage;
  changes.outputs_changed =
      !same_outputs(before.outputs, after.outputs) || before.publish != after.publish;
  changes.server_changed = before.server != after.server;
  changes.log_changed = before.log != after.log;
  changes.dedup_changed = before.dedup != after.dedup;
  return changes;
}

std::string describe(const ConfigChanges& changes) {
  if (changes.empty()) return "no changes";
  std::string text;
  auto add = [&text](const std::string& part) {
    if (!text.empty()) text += ", ";
    text += part;
  };
  auto count = [&](std::size_t n, const char* what) {
    if (n > 0) add(std::to_string(n) + (n == 1 ? " feed " : " feeds ") + what);
  };
  count(changes.feeds_added.size(), "added");
  count(changes.feeds_removed.size(), "removed");
  count(changes.feeds_changed.size(), "changed");
  if (changes.poll_changed) add("[poll] changed");
  if (changes.storage_changed) add("[storage] changed (applies at the next start)");
  if (changes.outputs_changed) add("outputs changed");
  if (changes.server_changed) add("[server] changed");
  if (changes.log_changed) add("[log] changed");
  if (changes.dedup_changed) add("[dedup] changed");
  return text;
}

}  // namespace feedmerge::daemon
