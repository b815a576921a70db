// The daemon's one writer: the read_write Store (one record_poll transaction per poll), the
// StoryAssigner and the batch of stored items not yet in a story, retention, the memory policy
// after large batches, and the fault state (the database files checked; no write once they
// went). Thread rule: every member is owned by the writer's own thread (a one-thread pool);
// each public call posts its work there and calls its `done` there, so callers re-post to their
// own executor. Only stories_created() may be read from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/thread_pool.hpp>

#include "daemon/clock.h"
#include "daemon/poll_job.h"
#include "daemon/story_assigner.h"
#include "feedmerge/config/config.h"
#include "feedmerge/store/store.h"

namespace feedmerge::daemon {

class Writer {
 public:
  struct Options {
    // Each called on the writer thread; none may block. See Poller::Options.
    std::function<void()> on_stories{};
    std::function<void(bool busy)> on_busy{};
    std::function<void(const std::string& error)> on_write{};
    std::function<void(const std::string& reason)> on_fault{};
    // A settle ended (StoryAssigner::settle): its time and the members it moved.
    std::function<void(std::chrono::duration<double> took, int moved)> on_settled{};
    // Several processes share the database (lease_keeper.h): stories are assigned only while
    // set_assigner() says this process is the assigner, from the items stored without a story
    // (by any process) rather than from this process's polls; retention runs only then too.
    bool leased = false;
    // The open batch is assigned to stories once it holds this many items, without waiting
    // for the scheduler to close it: a first round's memory is bounded by it, not by how many
    // feeds answer within the batch's pooling time.
    std::size_t max_open_batch = 50'000;
  };

  // A configured feed as registered: its stored state and its password.
  struct Registered {
    config::FeedConfig feed;
    store::FeedState state;  // as stored when registered
    std::string password;    // the password file's first line
  };

  // What record() did: the store's result, or why nothing was stored.
  struct Recorded {
    std::optional<store::StoreResult> stored;
    std::string error;
  };

  // Opens the story assigner beside `store`; an error when it cannot.
  static Result<std::unique_ptr<Writer>> open(const config::Config& config,
                                              std::unique_ptr<store::Store> store, Clock& clock,
                                              Options options);
  ~Writer();  // waits for the queued work; the store closes
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // The enabled feeds of `feeds` with their stored state (added when new). Before the thread
  // runs anything (Poller::create).
  Result<std::vector<Registered>> register_now(const std::vector<config::FeedConfig>& feeds);
  // The same on the writer thread (a reload); refused once the writer stopped writing.
  void register_feeds(std::vector<config::FeedConfig> feeds,
                      std::function<void(Result<std::vector<Registered>>)> done);
  // One poll's write; its new items join the open batch with their candidates.
  // The poll's prepared candidates are consumed (moved out).
  void record(std::shared_ptr<PollOutcome> poll, std::function<void(Recorded)> done);
  // The scheduler's next polls, for `feeds` in another process (Store::schedule_polls).
  void schedule_polls(std::vector<std::pair<std::int64_t, model::Time>> polls);
  // The open batch into stories: one transaction, in publication order. On failure the items
  // stay without a story and the next start assigns them.
  void assign(std::function<void()> done = {});
  // Leased: this process is the story assigner under `term` (nullopt: no longer). On becoming
  // it, the index is rebuilt from the store and what is stored without a story is assigned.
  void set_assigner(std::optional<std::int64_t> term);
  // Retention (the open batch is assigned first), then `done`.
  void prune(std::function<void()> done = {});
  // The database files, then a passive checkpoint (so a disk that refuses it shows too).
  void check_files();
  // Runs `work` on the writer after the work queued before it (a test hook stalls it so).
  void run(std::function<void()> work);
  // Calls `done` on the writer after the work queued before it: that it comes at all shows
  // the writer moves (the heartbeat).
  void pass(std::function<void()> done);

  std::int64_t stories_created() const { return stories_created_.load(); }

 private:
  Writer(const config::Config& config, std::unique_ptr<store::Store> store,
         std::unique_ptr<StoryAssigner> stories, Clock& clock, Options options);
  template <class Work>
  void post(Work work);
  void assign_open_batch();
  void assign_stored();
  // One batch of `what` into stories (`assign` returns StoryAssigner::assign's result), then
  // the bookkeeping: health, counts, the log line with its time, and whether it left the
  // stories unsettled. False when it failed.
  template <class Assign>
  bool place(std::string_view what, Assign assign);
  // StoryAssigner::settle when its time has come (see the definition).
  void settle_if_due(std::chrono::steady_clock::time_point now);
  void wrote(const std::string& error);
  void check_files_now();
  void stop_writing(const std::string& reason);

  const config::StorageConfig storage_;
  Clock& clock_;
  const Options options_;
  const bool leased_;
  // The writer thread's, like everything it runs.
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<StoryAssigner> stories_;
  StoryAssigner::Batch unassigned_;   // items stored by the open batch's polls
  std::string fault_;                 // why the writer stopped writing for good; "" while it writes
  std::optional<std::int64_t> term_;  // leased: the assigner's term while this process holds it
  // While the assigner (always with one process): since when batches were placed without a
  // settle, when the last one came, and when the last settle ended and what it took.
  std::optional<std::chrono::steady_clock::time_point> unsettled_since_;
  std::chrono::steady_clock::time_point last_new_items_{};
  std::optional<std::chrono::steady_clock::time_point> last_settle_;
  std::chrono::steady_clock::duration settle_cost_{};
  std::atomic<std::int64_t> stories_created_{0};  // read by the scheduler's progress lines
  boost::asio::thread_pool thread_{1};            // last: joined before the members go
};

}  // namespace feedmerge::daemon
