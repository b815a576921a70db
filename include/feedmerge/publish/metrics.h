// The counters /metrics and /healthz report: polls by outcome, poll durations, HTTP requests
// by status, store sizes, when the database and the polls last showed progress, and what the
// writer and the feeds report about their health.
// Threading: any thread may record or read at any time (atomics; the few texts under a
// mutex). The daemon owns the one instance and outlives everything that records into it.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "feedmerge/model/story.h"

namespace feedmerge::publish {

class Metrics {
 public:
  static constexpr std::array<double, 10> kDurationBuckets = {0.05, 0.1, 0.25, 0.5, 1,
                                                              2.5,  5,   10,   30,  60};
  static constexpr std::array<int, 10> kStatuses = {200, 304, 400, 404, 405,
                                                    408, 413, 431, 500, 503};

  Metrics();

  void record_poll(model::PollKind result, std::chrono::duration<double> duration);
  void record_request(int status);
  // A connection closed at the connection limit to make room (it was waiting for a request).
  void record_eviction();
  void set_store_counts(std::int64_t items, std::int64_t stories);
  void set_database_ok(bool ok);
  // The writer: why it stopped writing for good (files lost, corrupt database), "" while it
  // has not; the last write's error, "" once a write succeeded; whether a task runs now.
  void set_writer_fault(std::string reason);
  void set_write_error(std::string error);
  void set_writer_busy(bool busy);
  // "" unless every polled feed's last poll failed; then why.
  void set_feeds_problem(std::string problem);
  // Several processes on one PostgreSQL database: this process's name ("host:pid:random"), how
  // many lease units (hosts) it holds, whether it assigns stories.
  void set_cluster(std::string owner, std::int64_t held_units, bool assigner);
  // The story assigner settled its stories (daemon::StoryAssigner::settle): how long it took
  // and how many members it moved.
  void record_settle(std::chrono::duration<double> took, std::int64_t moved);

  // Prometheus text exposition format 0.0.4.
  std::string prometheus_text() const;

  // "" when healthy, else why not ("; " between several reasons): the writer stopped writing,
  // the last write failed, one writer task has run for more than `writer_stuck_after`, every
  // feed's last poll failed, the database could not be read at the last rebuild, or no poll
  // has finished for `max_silence` (counted from start for the first one).
  std::string health_problem(
      std::chrono::seconds max_silence,
      std::chrono::milliseconds writer_stuck_after = kWriterStuckAfter) const;

  // A write transaction or a story batch takes seconds at most; a minute is a stuck disk.
  static constexpr std::chrono::milliseconds kWriterStuckAfter = std::chrono::minutes{1};

 private:
  std::array<std::atomic<std::uint64_t>, 5> polls_{};
  std::array<std::atomic<std::uint64_t>, kDurationBuckets.size() + 1> duration_buckets_{};
  std::atomic<std::uint64_t> duration_micros_{0};
  std::array<std::atomic<std::uint64_t>, kStatuses.size() + 1> requests_{};
  std::atomic<std::uint64_t> evictions_{0};
  std::atomic<std::int64_t> items_{0};
  std::atomic<std::int64_t> stories_{0};
  std::atomic<bool> database_ok_{true};
  std::atomic<std::int64_t> last_progress_{0};      // steady clock, seconds
  std::atomic<std::int64_t> writer_busy_since_{0};  // steady clock, milliseconds; 0 = idle
  mutable std::mutex texts_mutex_;                  // guards the three texts below
  std::string writer_fault_;
  std::string write_error_;
  std::string feeds_problem_;
  std::string cluster_owner_;  // "" without several processes; guarded by texts_mutex_
  std::atomic<std::int64_t> lease_units_{0};
  std::atomic<bool> assigner_{false};
  std::atomic<std::uint64_t> settles_{0};
  std::atomic<std::uint64_t> settle_micros_{0};  // all settles together
  std::atomic<std::uint64_t> last_settle_micros_{0};
  std::atomic<std::uint64_t> settle_moves_{0};
};

}  // namespace feedmerge::publish
