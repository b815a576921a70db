// The polling machinery behind run_daemon and poll_once, assembled: the fetcher, the parse
// pool, the writer (writer.h) and the scheduler (scheduler.h), started and stopped together.
// Owners and threads:
// - the scheduler strand (on the caller's io_context) owns every feed's in-memory state and the
//   timers; it starts polls and takes their results;
// - the fetcher (the libcurl HttpFetcher unless one is injected) runs on the same io_context;
// - the parse pool reads file:// feeds and runs each poll job (poll_job.h): parsing and dedup
//   features never run in an Asio handler, and run below the daemon's other threads' priority;
// - the writer (one thread) owns the read_write Store and the stories.
// The Poller itself holds them and forwards; it does none of the jobs.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "daemon/clock.h"
#include "daemon/lease_keeper.h"
#include "daemon/scheduler.h"
#include "daemon/writer.h"
#include "feedmerge/config/config.h"
#include "feedmerge/daemon/daemon.h"
#include "feedmerge/fetch/fetcher.h"
#include "feedmerge/store/store.h"
#include "fetch/http_fetcher.h"

namespace feedmerge::daemon {

class Poller {
 public:
  struct Options {
    int parse_threads = 2;
    // Called on the scheduler strand after each poll's write; must not block.
    std::function<void(const PollEvent&)> on_polled{};
    // Called on the writer after a batch's items were put into stories (the moment the merged
    // feeds change: items without a story are not published); must not block.
    std::function<void()> on_stories{};
    // Called on the writer at the start and the end of each of its tasks (a stuck disk shows
    // as a task that does not end); must not block.
    std::function<void(bool busy)> on_writer_busy{};
    // Called on the writer after each write to the database: "" once one succeeded, else the
    // store's error; must not block.
    std::function<void(const std::string& error)> on_write{};
    // Called once, on the writer, when it stops writing for good: the database file or its
    // -wal was deleted or replaced while open (Store::check_files). What the -wal held is first
    // moved into the database file, if it still can be. Every later write is refused.
    std::function<void(const std::string& reason)> on_fault{};
    // Called on the writer after the story assigner (one process, or the assigner of several)
    // settled the stories: its time and the members it moved; must not block.
    std::function<void(std::chrono::duration<double> took, int moved)> on_settled{};
    // Called on the scheduler strand when the feeds' overall health changes: "" or why not
    // ("every feed's last poll failed ..."); must not block.
    std::function<void(const std::string& problem)> on_feeds_health{};
    // The fetcher; none = an HttpFetcher with fetch_options([poll]) on the caller's io_context.
    // Shared only so that Options stay copyable: the Poller drops it with the io_context idle,
    // and nobody else should hold an HttpFetcher past its io_context.
    std::shared_ptr<fetch::Fetcher> fetcher{};
    // The clock; none = SystemClock.
    std::shared_ptr<Clock> clock{};
    // `run`'s first round logs its progress this often until every feed due at start has
    // been polled once (then a summary).
    std::chrono::milliseconds progress_every{std::chrono::seconds{5}};
    // A PostgreSQL URL: `run` shares the database with other processes (lease_keeper.h):
    // it polls only the hosts it holds a lease on, and assigns stories only while it holds the
    // assigner's lock. "" (SQLite, `once`): every feed is this process's, and so are stories.
    std::string cluster_url{};
    std::chrono::seconds lease{60};
    // false: store items only, never assign stories nor prune (`once` beside a `run` that
    // assigns them on the same PostgreSQL database).
    bool assign_stories = true;
    // See Writer::Options::max_open_batch.
    std::size_t max_open_batch = 50'000;
    // Called on the lease keeper's thread after each round: this process's name, how many
    // lease units it holds, and whether it assigns stories; must not block.
    std::function<void(const std::string& owner, std::size_t held, bool assigner)> on_leases{};
  };

  // Registers every enabled feed in the store (ensure_feed) before any thread runs: call it
  // while no thread runs `io`. An error when the store refuses.
  static Result<std::unique_ptr<Poller>> create(boost::asio::io_context& io,
                                                const config::Config& config,
                                                std::unique_ptr<store::Store> store,
                                                Options options);
  // Waits for parses and writes in flight. Call it once no thread runs `io`.
  ~Poller();
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  // Polls the due feeds (all: every enabled, not disabled feed), prunes, then calls `done` on
  // the scheduler strand. Keeps `io` busy until then.
  void start_once(bool all, std::function<void()> done);
  // Polls on schedule, prunes every hour, until stop(). Leased: the feeds of the hosts this
  // process holds, from when it claims them (Options::cluster_url). Feeds never polled are polled
  // at once, overdue ones within kOverdueSpread (start_poll_time), and each feed's next poll is
  // stored for `feeds` to show. The first round (the feeds due at start) logs its progress, a
  // summary and, when no feed could be reached at all, why (FirstRound). The database files are
  // checked every few seconds (see Options::on_fault).
  void start_run();
  // No new polls; cancels fetches; `stopped` runs on the scheduler strand once every poll in
  // flight has finished (its write included).
  void stop(std::function<void()> stopped);

  PollSummary summary() const;  // call once the io_context has stopped

  // --- hooks for the service loop (src/daemon/service.cpp): watchdog, STATUS, SIGHUP ---------

  using Status = SchedulerStatus;
  // Passes through the scheduler strand, then the writer, then the strand again, and calls
  // `done` there with a snapshot: that it returns at all shows the loop and the writer move.
  void heartbeat(std::function<void(const Status&)> done);
  // Runs `work` on the writer thread after the writes queued before it (a test hook stalls the
  // writer this way, as a stuck disk would).
  void run_on_writer(std::function<void()> work);
  // Retention now, as the hourly timer runs it, after the writes queued before it; then `done`
  // on the scheduler strand.
  void prune_now(std::function<void()> done);
  // SIGHUP: the enabled feeds of `config` replace the polled ones. Added feeds are registered
  // (on the writer) and polled as at start (start_poll_time); removed ones are no longer polled,
  // their items stay until retention removes them; changed ones (interval, headers,
  // credentials) apply from their next poll, as do [poll]'s intervals. Fetch options
  // ([poll] timeout, concurrency, proxy, ...) and [storage] keep their start values. `done`
  // runs on the scheduler strand: "" or the store's error, in which case nothing changed.
  void reconfigure(const config::Config& config, std::function<void(std::string error)> done);

 private:
  Poller() = default;

  // Declared in the order they are made; ~Poller takes them down in its own order.
  std::shared_ptr<Clock> clock_;
  std::shared_ptr<fetch::Fetcher> fetcher_;
  std::unique_ptr<Writer> writer_;
  std::optional<boost::asio::thread_pool> parse_pool_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<LeaseKeeper> keeper_;  // leased `run` only; started by start_run
};

// The fetcher's options as [poll] sets them.
fetch::FetchOptions fetch_options(const config::PollConfig& poll);

// Opens the read_write store at the config's database path, creating its folder if missing.
Result<std::unique_ptr<store::Store>> open_store(const config::Config& config);

}  // namespace feedmerge::daemon
