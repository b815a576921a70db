// The poller's due feeds waiting for room: one queue per host, the hosts taking turns, and a
// host whose polls already fill its per-host limit waits here without holding one of the
// poller's global slots. So a slow or dead host delays only its own feeds (issue 17).
// Owned by the poller's scheduler strand; not thread-safe.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>

namespace feedmerge::daemon {

class DueQueue {
 public:
  explicit DueQueue(int per_host);

  // Queues the feed at `index`, polled from `host` ("" = no per-host limit: file:// feeds).
  void push(std::size_t index, const std::string& host);
  // The next feed to start, from the next host in turn that has fewer than per_host polls
  // fetching, and counts that poll as fetching; nullopt when no queued feed may start now.
  std::optional<std::size_t> pop();
  // A poll started by pop() for `host` has finished fetching.
  void fetch_done(const std::string& host);
  // Drops the queued feeds for which `drop(index)` is true.
  void erase_if(const std::function<bool(std::size_t)>& drop);
  // Drops every queued feed, calling `dropped` for each; counts of polls fetching stay.
  void clear(const std::function<void(std::size_t)>& dropped);

  bool empty() const { return queued_ == 0; }
  std::size_t size() const { return queued_; }

 private:
  struct Host {
    std::deque<std::size_t> waiting;
    int fetching = 0;
  };

  bool has_room(const std::string& name, const Host& host) const;
  void forget_if_unused(const std::string& name);

  int per_host_;
  std::size_t queued_ = 0;
  std::unordered_map<std::string, Host> hosts_;
  // Exactly the hosts with a queued feed and room for another poll, in turn order.
  std::deque<std::string> turns_;
};

}  // namespace feedmerge::daemon
