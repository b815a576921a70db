// The counters /metrics and /healthz report: polls by outcome, poll durations, HTTP requests
// by status, store sizes, and when the database and the polls last showed progress.
// Threading: every member is an atomic; any thread may record or read at any time. The
// daemon owns the one instance and outlives everything that records into it.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace feedmerge::publish {

enum class PollResult { fresh, unchanged, not_modified, http_error, failed };

class Metrics {
 public:
  static constexpr std::array<double, 10> kDurationBuckets = {0.05, 0.1, 0.25, 0.5, 1,
                                                              2.5,  5,   10,   30,  60};
  static constexpr std::array<int, 10> kStatuses = {200, 304, 400, 404, 405,
                                                    408, 413, 431, 500, 503};

  Metrics();

  void record_poll(PollResult result, std::chrono::duration<double> duration);
  void record_request(int status);
  // A connection closed at the connection limit to make room (it was waiting for a request).
  void record_eviction();
  void set_store_counts(std::int64_t items, std::int64_t stories);
  void set_database_ok(bool ok);

  // Prometheus text exposition format 0.0.4.
  std::string prometheus_text() const;

  // "" when healthy, else why not: the database could not be read at the last rebuild, or no
  // poll has finished for `max_silence` (counted from start for the first one).
  std::string health_problem(std::chrono::seconds max_silence) const;

 private:
  std::array<std::atomic<std::uint64_t>, 5> polls_{};
  std::array<std::atomic<std::uint64_t>, kDurationBuckets.size() + 1> duration_buckets_{};
  std::atomic<std::uint64_t> duration_micros_{0};
  std::array<std::atomic<std::uint64_t>, kStatuses.size() + 1> requests_{};
  std::atomic<std::uint64_t> evictions_{0};
  std::atomic<std::int64_t> items_{0};
  std::atomic<std::int64_t> stories_{0};
  std::atomic<bool> database_ok_{true};
  std::atomic<std::int64_t> last_progress_{0};  // steady clock, seconds
};

}  // namespace feedmerge::publish
