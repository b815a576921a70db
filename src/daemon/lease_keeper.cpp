#include "daemon/lease_keeper.h"

#include <algorithm>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "feedmerge/fetch/fetcher.h"
#include "feedmerge/normalize/url.h"

namespace feedmerge::daemon {

std::string lease_unit(const std::string& url) {
  if (normalize::is_file_url(url)) return url;
  return fetch::politeness_host(url);
}

std::chrono::milliseconds lease_period(std::chrono::seconds lease) {
  return std::min<std::chrono::milliseconds>(lease / 3, std::chrono::seconds{5});
}

LeaseKeeper::LeaseKeeper(std::unique_ptr<store::Cluster> cluster, std::chrono::milliseconds period,
                         Feeds feeds, std::function<void(Round)> on_round,
                         std::function<void()> on_stories)
    : cluster_(std::move(cluster)),
      period_(period),
      feeds_(std::move(feeds)),
      on_round_(std::move(on_round)),
      on_stories_(std::move(on_stories)) {}

LeaseKeeper::~LeaseKeeper() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  cluster_->leave();
  if (!held_.empty()) spdlog::info("leases: freed {} hosts for the other pollers", held_.size());
}

void LeaseKeeper::start() {
  spdlog::info("leases: polling as {}, renewing every {} ms", cluster_->owner(), period_.count());
  thread_ = std::thread([this] { run(); });
}

void LeaseKeeper::run() {
  // Between rounds the keeper listens for story changes, in slices short enough that a stop
  // is not kept waiting.
  constexpr std::chrono::milliseconds kSlice{250};
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    on_round_(round());
    const auto next_round = std::chrono::steady_clock::now() + period_;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          next_round - std::chrono::steady_clock::now());
      if (left <= std::chrono::milliseconds::zero()) break;
      auto changed = cluster_->await_story_change(std::min(left, kSlice));
      std::unique_lock lock(mutex_);
      if (!changed) {
        // The server is gone: the next round reports it; meanwhile wait the slice out.
        wake_.wait_for(lock, std::min(left, kSlice), [this] { return stopping_; });
      } else if (*changed && on_stories_) {
        on_stories_();
      }
      if (stopping_) return;
    }
  }
}

LeaseKeeper::Round LeaseKeeper::round() {
  const auto started = std::chrono::steady_clock::now();
  Round next;
  const auto feeds = feeds_();
  std::vector<std::string> units;
  for (const auto& [unit, url] : feeds)
    units.push_back(unit);
  std::sort(units.begin(), units.end());
  units.erase(std::unique(units.begin(), units.end()), units.end());

  std::string error;
  auto held = cluster_->hold(units);
  if (held) {
    next.held.insert(held->held.begin(), held->held.end());
    if (next.held.size() != last_held_count_) {
      spdlog::info("leases: holding {} of {} hosts ({} pollers)", next.held.size(), held->units,
                   held->pollers);
      last_held_count_ = next.held.size();
    }
  } else {
    // Not renewed: this process may no longer hold anything; it polls nothing until a round
    // works again (its writes could not be stored either).
    error = held.error().message;
  }
  // Feeds of units just gained start from what the store holds.
  std::vector<std::string> gained_urls;
  for (const auto& [unit, url] : feeds) {
    if (next.held.contains(unit) && !held_.contains(unit)) gained_urls.push_back(url);
  }
  if (!gained_urls.empty()) {
    auto states = cluster_->feeds(gained_urls);
    if (states) {
      next.gained = std::move(*states);
    } else {
      // Claimed but not polled before the next round reads them.
      error = states.error().message;
      for (const auto& [unit, url] : feeds) {
        if (!held_.contains(unit)) next.held.erase(unit);
      }
    }
  }
  held_ = next.held;

  auto term = cluster_->assigner_term();
  if (term) {
    next.term = *term;
  } else if (error.empty()) {
    error = term.error().message;
  }
  if (next.term != term_) {
    if (next.term) {
      spdlog::info("stories: this process assigns them now (term {})", *next.term);
    } else {
      spdlog::warn("stories: this process no longer assigns them (term {})", *term_);
    }
    term_ = next.term;
  }
  if (error != last_error_) {
    if (!error.empty()) spdlog::error("{}", error);
    last_error_ = error;
  }
  spdlog::debug("leases: round in {} us", std::chrono::duration_cast<std::chrono::microseconds>(
                                              std::chrono::steady_clock::now() - started)
                                              .count());
  return next;
}

}  // namespace feedmerge::daemon
