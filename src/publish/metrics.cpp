#include "feedmerge/publish/metrics.h"

#include <algorithm>
#include <cstdio>
#include <vector>

namespace feedmerge::publish {
namespace {

std::int64_t steady_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::int64_t steady_millis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

constexpr std::array<std::string_view, 5> kPollResults = {"fresh", "unchanged", "not_modified",
                                                          "http_error", "failed"};

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", value);
  return text;
}

}  // namespace

Metrics::Metrics() {
  last_progress_ = steady_seconds();
}

void Metrics::record_poll(model::PollKind result, std::chrono::duration<double> duration) {
  polls_[static_cast<std::size_t>(result)].fetch_add(1, std::memory_order_relaxed);
  std::size_t bucket = 0;
  while (bucket < kDurationBuckets.size() && duration.count() > kDurationBuckets[bucket])
    ++bucket;
  duration_buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  duration_micros_.fetch_add(static_cast<std::uint64_t>(duration.count() * 1e6),
                             std::memory_order_relaxed);
  last_progress_.store(steady_seconds(), std::memory_order_relaxed);
}

void Metrics::record_eviction() {
  evictions_.fetch_add(1, std::memory_order_relaxed);
}

void Metrics::record_request(int status) {
  std::size_t index = kStatuses.size();
  for (std::size_t i = 0; i < kStatuses.size(); ++i) {
    if (kStatuses[i] == status) index = i;
  }
  requests_[index].fetch_add(1, std::memory_order_relaxed);
}

void Metrics::set_store_counts(std::int64_t items, std::int64_t stories) {
  items_.store(items, std::memory_order_relaxed);
  stories_.store(stories, std::memory_order_relaxed);
}

void Metrics::set_database_ok(bool ok) {
  database_ok_.store(ok, std::memory_order_relaxed);
}

void Metrics::set_writer_fault(std::string reason) {
  std::lock_guard lock(texts_mutex_);
  writer_fault_ = std::move(reason);
}

void Metrics::set_write_error(std::string error) {
  std::lock_guard lock(texts_mutex_);
  write_error_ = std::move(error);
}

void Metrics::set_writer_busy(bool busy) {
  // Never 0 while busy: 0 means idle.
  writer_busy_since_.store(busy ? std::max<std::int64_t>(1, steady_millis()) : 0,
                           std::memory_order_relaxed);
}

void Metrics::set_feeds_problem(std::string problem) {
  std::lock_guard lock(texts_mutex_);
  feeds_problem_ = std::move(problem);
}

void Metrics::set_cluster(std::string owner, std::int64_t held_units, bool assigner) {
  lease_units_.store(held_units, std::memory_order_relaxed);
  assigner_.store(assigner, std::memory_order_relaxed);
  std::lock_guard lock(texts_mutex_);
  cluster_owner_ = std::move(owner);
}

void Metrics::record_settle(std::chrono::duration<double> took, std::int64_t moved) {
  const auto micros = static_cast<std::uint64_t>(std::max(0.0, took.count()) * 1e6);
  settle_micros_.fetch_add(micros, std::memory_order_relaxed);
  last_settle_micros_.store(micros, std::memory_order_relaxed);
  settle_moves_.fetch_add(static_cast<std::uint64_t>(std::max<std::int64_t>(0, moved)),
                          std::memory_order_relaxed);
  settles_.fetch_add(1, std::memory_order_relaxed);
}

std::string Metrics::prometheus_text() const {
  std::string out;
  out +=
      "# HELP feedmerge_polls_total Feed polls by result.\n# TYPE feedmerge_polls_total counter\n";
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < kPollResults.size(); ++i) {
    const std::uint64_t n = polls_[i].load(std::memory_order_relaxed);
    total += n;
    out += "feedmerge_polls_total{result=\"" + std::string(kPollResults[i]) + "\"} " +
           std::to_string(n) + "\n";
  }
  out += "# HELP feedmerge_poll_failures_total Failed polls by kind.\n";
  out += "# TYPE feedmerge_poll_failures_total counter\n";
  out += "feedmerge_poll_failures_total{kind=\"http\"} " + std::to_string(polls_[3].load()) + "\n";
  out += "feedmerge_poll_failures_total{kind=\"fetch_or_parse\"} " +
         std::to_string(polls_[4].load()) + "\n";
  out += "# HELP feedmerge_poll_not_modified_ratio Share of polls answered 304.\n";
  out += "# TYPE feedmerge_poll_not_modified_ratio gauge\n";
  out += "feedmerge_poll_not_modified_ratio " +
         number(total == 0 ? 0.0 : static_cast<double>(polls_[2].load()) / total) + "\n";

  out += "# HELP feedmerge_poll_duration_seconds From the start of a poll to its stored result.\n";
  out += "# TYPE feedmerge_poll_duration_seconds histogram\n";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < kDurationBuckets.size(); ++i) {
    cumulative += duration_buckets_[i].load(std::memory_order_relaxed);
    out += "feedmerge_poll_duration_seconds_bucket{le=\"" + number(kDurationBuckets[i]) + "\"} " +
           std::to_string(cumulative) + "\n";
  }
  cumulative += duration_buckets_.back().load(std::memory_order_relaxed);
  out += "feedmerge_poll_duration_seconds_bucket{le=\"+Inf\"} " + std::to_string(cumulative) + "\n";
  out += "feedmerge_poll_duration_seconds_sum " +
         number(static_cast<double>(duration_micros_.load()) / 1e6) + "\n";
  out += "feedmerge_poll_duration_seconds_count " + std::to_string(cumulative) + "\n";

  out += "# HELP feedmerge_items Items in the database.\n# TYPE feedmerge_items gauge\n";
  out += "feedmerge_items " + std::to_string(items_.load()) + "\n";
  out += "# HELP feedmerge_stories Stories in the database.\n# TYPE feedmerge_stories gauge\n";
  out += "feedmerge_stories " + std::to_string(stories_.load()) + "\n";
  std::string owner;
  {
    std::lock_guard lock(texts_mutex_);
    owner = cluster_owner_;
  }
  // Owner names are host:pid:hex, nothing a label must escape. One process: no label.
  const std::string label = owner.empty() ? std::string(" ") : "{owner=\"" + owner + "\"} ";
  if (!owner.empty()) {
    out += "# HELP feedmerge_lease_units Hosts whose feeds this process holds the lease on.\n";
    out += "# TYPE feedmerge_lease_units gauge\n";
    out += "feedmerge_lease_units" + label + std::to_string(lease_units_.load()) + "\n";
    out += "# HELP feedmerge_story_assigner 1 while this process assigns stories.\n";
    out += "# TYPE feedmerge_story_assigner gauge\n";
    out += "feedmerge_story_assigner" + label + (assigner_.load() ? "1" : "0") + "\n";
  }
  // What settling the stories costs this process while it assigns (docs/scaling.md; one
  // process settles too): an operator watches the last one's time grow with the window.
  out += "# HELP feedmerge_story_settles_total Settles of the stories by this process.\n";
  out += "# TYPE feedmerge_story_settles_total counter\n";
  out += "feedmerge_story_settles_total" + label + std::to_string(settles_.load()) + "\n";
  out += "# HELP feedmerge_story_settle_seconds_total Time spent settling the stories.\n";
  out += "# TYPE feedmerge_story_settle_seconds_total counter\n";
  out += "feedmerge_story_settle_seconds_total" + label +
         number(static_cast<double>(settle_micros_.load()) / 1e6) + "\n";
  out += "# HELP feedmerge_story_settle_last_seconds How long the last settle took.\n";
  out += "# TYPE feedmerge_story_settle_last_seconds gauge\n";
  out += "feedmerge_story_settle_last_seconds" + label +
         number(static_cast<double>(last_settle_micros_.load()) / 1e6) + "\n";
  out += "# HELP feedmerge_story_settle_moves_total Members a settle moved to another story.\n";
  out += "# TYPE feedmerge_story_settle_moves_total counter\n";
  out += "feedmerge_story_settle_moves_total" + label + std::to_string(settle_moves_.load()) + "\n";

  out +=
      "# HELP feedmerge_http_evictions_total Connections closed at the connection limit to make "
      "room, each one waiting for a request.\n";
  out += "# TYPE feedmerge_http_evictions_total counter\n";
  out += "feedmerge_http_evictions_total " +
         std::to_string(evictions_.load(std::memory_order_relaxed)) + "\n";
  out += "# HELP feedmerge_http_requests_total HTTP responses by status.\n";
  out += "# TYPE feedmerge_http_requests_total counter\n";
  for (std::size_t i = 0; i <= kStatuses.size(); ++i) {
    const std::uint64_t n = requests_[i].load(std::memory_order_relaxed);
    if (n == 0 && i == kStatuses.size()) continue;
    const std::string code = i < kStatuses.size() ? std::to_string(kStatuses[i]) : "other";
    out += "feedmerge_http_requests_total{code=\"" + code + "\"} " + std::to_string(n) + "\n";
  }
  return out;
}

std::string Metrics::health_problem(std::chrono::seconds max_silence,
                                    std::chrono::milliseconds writer_stuck_after) const {
  std::vector<std::string> problems;
  {
    std::lock_guard lock(texts_mutex_);
    if (!writer_fault_.empty()) problems.push_back("stopped writing: " + writer_fault_);
    if (!write_error_.empty()) problems.push_back("database writes failing: " + write_error_);
    if (!feeds_problem_.empty()) problems.push_back(feeds_problem_);
  }
  if (const std::int64_t since = writer_busy_since_.load(); since != 0) {
    const std::int64_t busy = steady_millis() - since;
    if (busy > writer_stuck_after.count())
      problems.push_back("the database writer has been stuck for " +
                         number(static_cast<double>(busy) / 1000) + "s");
  }
  if (!database_ok_.load()) problems.push_back("the database could not be read");
  const std::int64_t silent = steady_seconds() - last_progress_.load();
  if (silent > max_silence.count()) {
    problems.push_back("no poll has finished for " + std::to_string(silent) + "s");
  }
  std::string text;
  for (const std::string& problem : problems) {
    if (!text.empty()) text += "; ";
    text += problem;
  }
  return text;
}

}  // namespace feedmerge::publish
