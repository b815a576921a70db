// The lease keeper of a `run` on PostgreSQL (store/cluster.h): on a thread of its own, so that
// no claim or renewal blocks an Asio handler or waits behind the writer, it holds this
// process's share of the lease units (hosts) and tries for the story assigner's lock, every
// lease_period(); each round's outcome goes to a callback on that thread, which forwards it to
// the scheduler (which feeds to poll) and the writer (whether to assign stories). Owned by the
// Poller; start() and the destructor from the thread that owns the Poller.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

#include "feedmerge/store/cluster.h"
#include "feedmerge/store/store.h"

namespace feedmerge::daemon {

// What a lease covers: the politeness host of an http(s) feed (so that [poll] per_host holds
// across processes: one process polls a host at a time), the URL itself for a file:// feed.
std::string lease_unit(const std::string& url);

// How often the keeper renews and claims: a third of the lease, at most 5 s (the story
// assigner's successor waits at most this long once the server has released the lock).
std::chrono::milliseconds lease_period(std::chrono::seconds lease);

class LeaseKeeper {
 public:
  struct Round {
    std::unordered_set<std::string> held;  // the units to poll until the next round
    // The stored state of the feeds whose unit this round gained: another process may have
    // polled them since this one last did.
    std::vector<store::FeedState> gained;
    std::optional<std::int64_t> term;  // the story assigner's term while this process holds it
  };
  // (unit, configured URL) of every feed this process polls; called on the keeper's thread.
  using Feeds = std::function<std::vector<std::pair<std::string, std::string>>()>;

  // on_stories: between rounds, when any process changed stories (LISTEN), so that this
  // process's publisher renders anew; on the keeper's thread, must not block.
  LeaseKeeper(std::unique_ptr<store::Cluster> cluster, std::chrono::milliseconds period,
              Feeds feeds, std::function<void(Round)> on_round,
              std::function<void()> on_stories = {});
  // Stops the thread, then frees this process's leases (Cluster::leave).
  ~LeaseKeeper();
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

  void start();
  const std::string& owner() const { return cluster_->owner(); }

 private:
  void run();
  Round round();

  std::unique_ptr<store::Cluster> cluster_;
  const std::chrono::milliseconds period_;
  const Feeds feeds_;
  const std::function<void(Round)> on_round_;
  const std::function<void()> on_stories_;
  // The keeper thread's.
  std::unordered_set<std::string> held_;
  std::optional<std::int64_t> term_;
  std::string last_error_;
  std::size_t last_held_count_ = static_cast<std::size_t>(-1);
  // Guards stopping_ between the owner's thread and the keeper's.
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace feedmerge::daemon
