// The scheduler: which feed is polled when. It holds every feed's in-memory state, the due
// queue, the timers (next poll, retention, the story batch, the first round's progress, the
// database files check), applies reloads, runs the first round, and counts and logs each
// finished poll. A poll travels: the strand -> the fetcher (or the parse pool reads the file)
// -> the parse pool (poll_job.h) -> the writer (writer.h) -> back to the strand.
// Thread rule: every member of the Impl is owned by the scheduler strand (on the daemon's
// io_context); public calls post to it. Its callbacks run on the strand and must not block.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "daemon/clock.h"
#include "daemon/schedule.h"
#include "daemon/writer.h"
#include "feedmerge/config/config.h"
#include "feedmerge/daemon/daemon.h"
#include "feedmerge/fetch/fetcher.h"

namespace feedmerge::daemon {

// What one finished poll reports to an observer (metrics, the publisher).
struct PollEvent {
  PollKind kind = PollKind::failed;                // a failed write counts as failed
  bool stored_changes = false;                     // items were inserted or updated
  std::chrono::steady_clock::duration duration{};  // from its start to its stored result
  // The feed's health as the index page shows it changed: first poll, ok <-> failing,
  // disabled, or another error.
  bool health_changed = false;
};

// The scheduler's figures for the service (STATUS=, the watchdog).
struct SchedulerStatus {
  int feeds = 0;       // polled feeds
  int failing = 0;     // of which the last poll failed
  int in_flight = 0;   // polls between fetch and write now
  PollSummary totals;  // since start; `errors` stays empty while running: see last_error
  std::optional<model::Time> last_poll;                 // when the last poll finished
  std::string last_error;                               // "URL: message" of the last failed poll
  std::chrono::steady_clock::time_point last_progress;  // a poll started or finished
};

class Scheduler {
 public:
  struct Options {
    std::function<void(const PollEvent&)> on_polled{};
    std::function<void(const std::string& problem)> on_feeds_health{};
    std::chrono::milliseconds progress_every{std::chrono::seconds{5}};
    // Several processes share the database (lease_keeper.h): a feed is polled only while this
    // process holds its lease unit (hold()); `run` has no first round.
    bool leased = false;
  };
  // Runs CPU and disk work (reading file:// feeds, parsing) off the strand.
  using ParsePool = std::function<void(std::function<void()>)>;

  // The fetcher, writer, pool and clock outlive the scheduler's work (Poller owns them).
  Scheduler(boost::asio::io_context& io, const config::Config& config, fetch::Fetcher& fetcher,
            Writer& writer, ParsePool parse_pool, Clock& clock, Options options,
            std::vector<Writer::Registered> feeds);
  // Drops the timers: call it once no thread runs the io_context.
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // See Poller: start_once, start_run, stop, summary, heartbeat, prune_now, reconfigure.
  void start_once(bool all, std::function<void()> done);
  void start_run();
  void stop(std::function<void()> stopped);
  PollSummary summary() const;  // once the io_context has stopped
  // Through the strand, the writer, and the strand again: `done` there with a snapshot.
  void heartbeat(std::function<void(const SchedulerStatus&)> done);
  void prune_now(std::function<void()> done);
  void reconfigure(const config::Config& config, std::function<void(std::string error)> done);
  // Leased: from now on, poll the feeds of `units` only. A feed whose unit is gained starts from
  // its state in `gained` (as another process may have left it) and is polled at its next poll,
  // or soon when that has passed (start_poll_time); a feed whose unit is lost is no longer
  // started (a poll in flight still records). Any thread.
  void hold(std::unordered_set<std::string> units, std::vector<store::FeedState> gained);
  // (lease unit, configured URL) of every feed polled: what the lease keeper claims. Any thread.
  std::vector<std::pair<std::string, std::string>> lease_units() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace feedmerge::daemon
