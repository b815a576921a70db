#include "daemon/due_queue.h"

#include <algorithm>
#include <utility>

namespace feedmerge::daemon {

DueQueue::DueQueue(int per_host) : per_host_(std::max(1, per_host)) {}

bool DueQueue::has_room(const std::string& name, const Host& host) const {
  return name.empty() || host.fetching < per_host_;
}

void DueQueue::forget_if_unused(const std::string& name) {
  auto it = hosts_.find(name);
  if (it != hosts_.end() && it->second.waiting.empty() && it->second.fetching <= 0)
    hosts_.erase(it);
}

void DueQueue::push(std::size_t index, const std::string& host) {
  Host& entry = hosts_[host];
  entry.waiting.push_back(index);
  ++queued_;
  if (entry.waiting.size() == 1 && has_room(host, entry)) turns_.push_back(host);
}

std::optional<std::size_t> DueQueue::pop() {
  if (turns_.empty()) return std::nullopt;
  std::string name = std::move(turns_.front());
  turns_.pop_front();
  Host& host = hosts_.at(name);
  const std::size_t index = host.waiting.front();
  host.waiting.pop_front();
  --queued_;
  if (!name.empty()) ++host.fetching;  // file:// reads have no per-host limit to count against
  if (!host.waiting.empty() && has_room(name, host)) {
    turns_.push_back(std::move(name));  // the back of the line: every other host goes first
  } else {
    forget_if_unused(name);
  }
  return index;
}

void DueQueue::fetch_done(const std::string& name) {
  if (name.empty()) return;
  auto it = hosts_.find(name);
  if (it == hosts_.end()) return;
  Host& host = it->second;
  const bool was_full = !has_room(name, host);
  --host.fetching;
  if (was_full && has_room(name, host) && !host.waiting.empty()) turns_.push_back(name);
  forget_if_unused(name);
}

void DueQueue::erase_if(const std::function<bool(std::size_t)>& drop) {
  for (auto& [name, host] : hosts_) {
    const std::size_t before = host.waiting.size();
    std::erase_if(host.waiting, drop);
    queued_ -= before - host.waiting.size();
  }
  std::erase_if(turns_,
                [this](const std::string& name) { return hosts_.at(name).waiting.empty(); });
  std::erase_if(hosts_, [](const auto& entry) {
    return entry.second.waiting.empty() && entry.second.fetching <= 0;
  });
}

void DueQueue::clear(const std::function<void(std::size_t)>& dropped) {
  for (auto& [name, host] : hosts_) {
    for (std::size_t index : host.waiting)
      dropped(index);
    host.waiting.clear();
  }
  queued_ = 0;
  turns_.clear();
  std::erase_if(hosts_, [](const auto& entry) { return entry.second.fetching <= 0; });
}

}  // namespace feedmerge::daemon
