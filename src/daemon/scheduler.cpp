#include "daemon/scheduler.h"

#include <algorithm>
#include <functional>
#include <mutex>
#include <queue>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include <spdlog/spdlog.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include "daemon/due_queue.h"
#include "daemon/first_round.h"
#include "daemon/lease_keeper.h"
#include "daemon/logging.h"
#include "daemon/poll_job.h"
#include "feedmerge/fetch/fetcher.h"
#include "feedmerge/normalize/url.h"
#include "feedmerge/publish/site.h"

namespace feedmerge::daemon {

namespace asio = boost::asio;
using std::chrono::seconds;

namespace {

constexpr auto kPruneEvery = std::chrono::hours{1};
// How soon a deleted database file or -wal is noticed while no poll writes; a passive
// checkpoint runs as often, so that one the disk refuses shows too.
constexpr auto kFilesCheckEvery = std::chrono::seconds{5};
// Polls that complete within this time of the batch's first one are assigned to stories together.
constexpr auto kBatchPooling = std::chrono::seconds{5};

// Whether the feed sends headers or Basic auth, which stay with the configured URL's origin.
bool has_credentials(const config::FeedConfig& feed) {
  return !feed.headers.empty() || !feed.username.empty();
}

// How the index page groups a feed's state (see PollEvent::health_changed).
int health_class(const store::FeedState& state) {
  if (state.disabled) return 3;
  if (!state.last_attempt) return 0;
  return state.consecutive_failures > 0 ? 2 : 1;
}

}  // namespace

struct Scheduler::Impl : std::enable_shared_from_this<Scheduler::Impl> {
  struct Entry {
    config::FeedConfig config;
    IntervalLimits limits;
    store::FeedState state;
    model::PollHints last_hints;
    std::string password;
    std::vector<std::uint64_t> known_items{};  // PollInput::known_items
    bool in_flight = false;
    bool queued = false;   // due, waiting for room in the pipeline
    bool removed = false;  // dropped from the config by a reload: kept so job indexes hold
    std::string unit;      // its lease unit (lease_unit of the configured URL)
    bool held = true;      // leased: this process holds `unit` now
  };

  // One poll, handed from stage to stage and held by one at a time: the strand fills `input`,
  // the parse pool `outcome`, the writer `recorded`, then the strand reads it all (finish).
  struct Job {
    std::size_t index = 0;
    PollInput input;
    std::shared_ptr<PollOutcome> outcome;  // the writer consumes its candidates
    Writer::Recorded recorded;
    bool cancelled = false;
    std::chrono::steady_clock::time_point started;
  };

  Impl(asio::io_context& io_context, const config::Config& cfg, fetch::Fetcher& fetching,
       Writer& writing, ParsePool pool, Clock& clock_ref, Options options)
      : io(io_context),
        strand(asio::make_strand(io_context)),
        clock(clock_ref),
        timer(clock.make_timer(strand)),
        prune_timer(clock.make_timer(strand)),
        batch_timer(clock.make_timer(strand)),
        progress_timer(clock.make_timer(strand)),
        files_timer(clock.make_timer(strand)),
        concurrency(cfg.poll.concurrency),
        max_body(cfg.poll.max_body),
        fetcher(fetching),
        writer(writing),
        parse_pool(std::move(pool)),
        on_polled(std::move(options.on_polled)),
        on_feeds_health(std::move(options.on_feeds_health)),
        progress_every(options.progress_every),
        leased(options.leased),
        rng(std::random_device{}()),
        waiting(cfg.poll.per_host),
        last_progress(clock.steady_now()) {}

  // Set at construction, then only read; the referenced objects are thread-safe (Clock,
  // Fetcher, Writer's public calls), so any executor may use them.
  asio::io_context& io;
  asio::strand<asio::io_context::executor_type> strand;
  Clock& clock;
  // The strand's (their handlers run on it). unique_ptr so ~Scheduler can drop them while no
  // thread runs the io_context.
  std::unique_ptr<Timer> timer;
  std::unique_ptr<Timer> prune_timer;
  std::unique_ptr<Timer> batch_timer;     // closes a batch open for kBatchPooling
  std::unique_ptr<Timer> progress_timer;  // the first round's progress lines
  std::unique_ptr<Timer> files_timer;
  // Set at construction; the parse pool reads max_body.
  const int concurrency;         // [poll] concurrency at start
  const std::uint64_t max_body;  // [poll] max_body at start, for file:// reads
  fetch::Fetcher& fetcher;
  Writer& writer;
  const ParsePool parse_pool;
  const std::function<void(const PollEvent&)> on_polled;
  const std::function<void(const std::string&)> on_feeds_health;
  const std::chrono::milliseconds progress_every;
  const bool leased;
  // (unit, URL) of the polled feeds, for the lease keeper's thread: written on the strand.
  mutable std::mutex units_mutex;
  std::vector<std::pair<std::string, std::string>> units_snapshot;

  // Everything below: the strand's.
  std::vector<Entry> entries;
  std::mt19937_64 rng;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  int in_flight = 0;
  std::optional<std::chrono::steady_clock::time_point> batch_opened;
  // Due polls wait here until fewer than `concurrency` polls are anywhere between fetch and
  // write: otherwise a thousand due feeds are fetched and parsed far ahead of the single
  // writer, and their documents pile up in memory. Per host, the hosts in turns, and a host at
  // its per_host limit waits here rather than in the fetcher's queue, where it would hold a
  // global slot: a slow host delays only its own feeds.
  DueQueue waiting;
  // Every pollable feed's next poll, earliest first: (next_poll, entry index); a feed never
  // polled as Time::min(). A record is pushed whenever a feed's next poll is set and is stale
  // once the feed's next_poll differs or the feed is not pollable: stale records are dropped
  // when they reach the top. Finding the due feeds and the next wake-up costs O(log N) per
  // poll instead of a scan of every feed.
  using DueAt = std::pair<Time, std::size_t>;
  std::priority_queue<DueAt, std::vector<DueAt>, std::greater<>> due;
  // Feeds polled at least once (not removed, not disabled), and of those the failing ones:
  // kept by change_entry for the "every feed failing" health check.
  int polled_feeds = 0;
  int failing_feeds = 0;
  bool stopping = false;
  bool once = false;
  std::function<void()> on_idle;
  PollSummary summary;
  // For the service's STATUS= line and watchdog (heartbeat).
  std::optional<Time> last_poll;
  std::string last_error;
  std::string last_error_url;  // the feed last_error is about
  std::chrono::steady_clock::time_point last_progress;
  // `run`'s first round: the feeds due at start (in_round, by entry index), until each has been
  // polled once.
  std::optional<FirstRound> round;
  std::vector<bool> in_round;
  std::chrono::steady_clock::time_point round_started;
  std::string feeds_problem;  // as last reported to on_feeds_health

  Time now() const { return clock.now_seconds(); }
  double draw() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng); }

  void add_entry(Writer::Registered feed, const config::PollConfig& poll) {
    entries.push_back({.config = feed.feed,
                       .limits = limits_for(poll, feed.feed),
                       .state = std::move(feed.state),
                       .last_hints = {},
                       .password = std::move(feed.password),
                       .known_items = {},
                       .unit = lease_unit(feed.feed.url),
                       .held = !leased});
    const auto [polled, failing] = tally(entries.back());
    polled_feeds += polled;
    failing_feeds += failing;
  }

  // Every few seconds, the files and a passive checkpoint on the writer.
  void schedule_files_check() {
    files_timer->wait(kFilesCheckEvery, [self = shared_from_this()](bool fired) {
      if (!fired || self->stopping) return;
      self->writer.check_files();
      self->schedule_files_check();
    });
  }

  // "" unless every polled feed's last poll failed.
  // What an entry adds to the polled/failing tallies below.
  static std::pair<int, int> tally(const Entry& entry) {
    if (entry.removed || !entry.held || entry.state.disabled || !entry.state.last_attempt)
      return {0, 0};
    return {1, entry.state.consecutive_failures > 0 ? 1 : 0};
  }
  // Every change to an entry's state or `removed` goes through here, so that the tallies stay
  // exact without a scan of every feed after each poll.
  template <class Change>
  void change_entry(Entry& entry, Change change) {
    const auto [polled_before, failing_before] = tally(entry);
    change(entry);
    const auto [polled_after, failing_after] = tally(entry);
    polled_feeds += polled_after - polled_before;
    failing_feeds += failing_after - failing_before;
  }

  std::string overall_feeds_problem() const {
    const int polled = polled_feeds;
    if (polled == 0 || failing_feeds < polled) return {};
    std::string problem = "the last poll of every feed failed (" + std::to_string(polled) +
                          (polled == 1 ? " feed)" : " feeds)");
    // /healthz is public: the error as the index page shows it (no secret, no local path).
    if (!last_error.empty())
      problem += "; last error: " + publish::public_error(last_error, last_error_url);
    return problem;
  }

  void report_feeds_health() {
    std::string problem = overall_feeds_problem();
    if (problem == feeds_problem) return;
    feeds_problem = std::move(problem);
    if (on_feeds_health) on_feeds_health(feeds_problem);
  }

  bool pollable(const Entry& entry) const {
    return !entry.in_flight && !entry.queued && !entry.state.disabled && !entry.removed &&
           entry.held;
  }

  static Time due_time(const Entry& entry) { return entry.state.next_poll.value_or(Time::min()); }

  // The feed's next poll is set: it goes into `due` (if it can be polled at all).
  void schedule(std::size_t index) {
    if (pollable(entries[index])) due.emplace(due_time(entries[index]), index);
  }

  bool current(const DueAt& record) const {
    const Entry& entry = entries[record.second];
    return pollable(entry) && due_time(entry) == record.first;
  }

  // The host whose per-host limit a poll of the entry counts against; "" for file://.
  static std::string host_of(const Entry& entry) {
    const std::string& url = store::url_to_fetch(entry.state);
    return normalize::is_file_url(url) ? std::string() : fetch::politeness_host(url);
  }

  void enqueue(std::size_t index) {
    entries[index].queued = true;
    waiting.push(index, host_of(entries[index]));
  }

  void launch() {
    const int limit = std::max(1, concurrency);
    while (!stopping && in_flight < limit) {
      const std::optional<std::size_t> index = waiting.pop();
      if (!index) break;
      entries[*index].queued = false;
      start_poll(*index);
    }
  }

  bool idle() const { return in_flight == 0 && waiting.empty(); }

  void start_poll(std::size_t index) {
    Entry& entry = entries[index];
    entry.in_flight = true;
    ++in_flight;
    ++summary.polled;
    last_progress = clock.steady_now();
    auto job = std::make_shared<Job>();
    job->index = index;
    job->input = {.config = entry.config,
                  .limits = entry.limits,
                  .state = entry.state,
                  .last_hints = entry.last_hints,
                  .jitter = draw(),
                  .known_items = entry.known_items};
    job->started = clock.steady_now();
    const std::string& url = store::url_to_fetch(entry.state);
    spdlog::debug("{}: polling", url);

    if (normalize::is_file_url(url)) {
      // Read on the parse pool, never in an Asio handler.
      parse_pool([self = shared_from_this(), job] { self->read_file(job); });
      return;
    }
    fetcher.fetch(
        fetch_request(job->input, entry.password),
        [self = shared_from_this(), job, host = host_of(entry)](fetch::FetchResult result) {
          // The host's turn may pass to its next queued feed.
          asio::post(self->strand, [self, host] {
            self->waiting.fetch_done(host);
            self->launch();
          });
          if (result.outcome == fetch::FetchOutcome::cancelled) {
            job->cancelled = true;
            asio::post(self->strand, [self, job] { self->finish(job); });
            return;
          }
          // Hashing and parsing are CPU work: off the fetcher's strand.
          self->parse_pool([self, job, result = std::move(result)] {
            self->write(job, poll_fetched(job->input, result, self->now()));
          });
        });
  }

  // Parse pool.
  void read_file(const std::shared_ptr<Job>& job) {
    const std::string& url = store::url_to_fetch(job->input.state);
    auto document = fetch::read_source(url, {.max_bytes = max_body});
    write(job, poll_read(job->input, document, now()));
  }

  // Parse pool: the outcome to the writer, then the strand.
  void write(const std::shared_ptr<Job>& job, PollOutcome outcome) {
    job->outcome = std::make_shared<PollOutcome>(std::move(outcome));
    writer.record(job->outcome, [self = shared_from_this(), job](Writer::Recorded recorded) {
      job->recorded = std::move(recorded);
      asio::post(self->strand, [self, job] { self->finish(job); });
    });
  }

  // The batch is complete when no poll is left in flight or waiting, or when it has been open
  // for kBatchPooling (a slow feed must not hold stories back).
  void end_batch_if_due(const Job& job) {
    const auto& stored = job.recorded.stored;
    if (stored && !stored->new_items.empty() && !batch_opened) {
      batch_opened = clock.steady_now();
      // A batch waiting on slow feeds still closes after kBatchPooling, even if no other
      // poll finishes meanwhile to close it.
      batch_timer->wait(kBatchPooling, [self = shared_from_this()](bool fired) {
        if (!fired || !self->batch_opened) return;
        if (self->clock.steady_now() - *self->batch_opened < kBatchPooling) return;
        self->batch_opened.reset();
        self->writer.assign();
      });
    }
    if (!batch_opened) return;
    if (!idle() && clock.steady_now() - *batch_opened < kBatchPooling) return;
    batch_opened.reset();
    writer.assign();
  }

  void finish(const std::shared_ptr<Job>& job) {
    Entry& entry = entries[job->index];
    entry.in_flight = false;
    --in_flight;
    last_progress = clock.steady_now();
    launch();
    end_batch_if_due(*job);
    const std::string& url = store::url_to_fetch(job->input.state);
    FeedLogScope log_scope(url);  // the journal's FEED_URL field
    if (job->cancelled) {
      --summary.polled;  // nothing happened to it
    } else {
      last_poll = now();
      const PollOutcome& outcome = *job->outcome;
      const bool health_changed =
          health_class(entry.state) != health_class(outcome.decision.state) ||
          entry.state.last_error != outcome.decision.state.last_error;
      change_entry(entry, [&](Entry& e) { e.state = outcome.decision.state; });
      if (outcome.observation.hints) entry.last_hints = *outcome.observation.hints;
      if (outcome.parsed && job->recorded.stored) entry.known_items = outcome.items;
      count(*job, url);
      follow_round(*job);
      if (health_changed) report_feeds_health();
      if (on_polled) {
        const auto& stored = job->recorded.stored;
        on_polled(
            {.kind = job->recorded.error.empty() ? outcome.observation.kind : PollKind::failed,
             .stored_changes = stored && (stored->inserted > 0 || stored->updated > 0),
             .duration = clock.steady_now() - job->started,
             .health_changed = health_changed});
      }
    }
    schedule(job->index);
    if (idle() && on_idle && (stopping || once)) {
      auto callback = std::move(on_idle);
      on_idle = nullptr;
      callback();
      return;
    }
    if (!once && !stopping) arm_timer();
  }

  // `once` reports every error in its summary; a daemon running for months keeps only the last
  // (for STATUS=), or the list would grow without bound.
  void note_error(const std::string& url, const std::string& detail) {
    std::string error = url + ": " + detail;
    if (once) summary.errors.push_back(error);
    last_error = std::move(error);
    last_error_url = url;
  }

  void count(const Job& job, const std::string& url) {
    const PollOutcome& outcome = *job.outcome;
    const PollObservation& observation = outcome.observation;
    const PollDecision& decision = outcome.decision;
    const config::FeedConfig& feed = job.input.config;
    if (outcome.was_parsed) ++summary.parsed;
    if (!job.recorded.error.empty()) {
      ++summary.failed;
      note_error(url, job.recorded.error);
      spdlog::error("{}: could not record the poll: {}", url, job.recorded.error);
      return;
    }
    if (decision.redirect_adopted) {
      const std::string& moved_to = decision.state.fetch_url;
      spdlog::warn("{}: the permanent redirect held for {} polls; polling {} from now on", url,
                   kRedirectPollsToAdopt, moved_to);
      if (has_credentials(feed) && !fetch::same_origin(moved_to, feed.url)) {
        spdlog::warn(
            "{}: its headers and credentials are not sent to {}, another origin, until "
            "the config names that URL",
            feed.url, moved_to);
      }
    }
    if (decision.redirect_dropped) {
      spdlog::warn("{}: the address guard refused the adopted URL; polling {} again", url,
                   feed.url);
    }
    switch (observation.kind) {
      case PollKind::fresh:
        ++summary.succeeded;
        if (const auto& stored = job.recorded.stored) {
          summary.new_items += stored->inserted;
          summary.updated_items += stored->updated;
          spdlog::info("{}: {} new, {} updated", url, stored->inserted, stored->updated);
        }
        break;
      case PollKind::unchanged:
        ++summary.succeeded;
        ++summary.unchanged;
        spdlog::debug("{}: unchanged", url);
        break;
      case PollKind::not_modified:
        ++summary.succeeded;
        ++summary.not_modified;
        spdlog::debug("{}: not modified", url);
        break;
      case PollKind::http_error:
      case PollKind::failed:
        ++summary.failed;
        note_error(url, observation.error);
        if (decision.disabled_now) {
          spdlog::warn("{}: {}", url, decision.state.disabled_reason);
        } else {
          spdlog::warn("{}: {} (failure {} in a row)", url, observation.error,
                       decision.state.consecutive_failures);
        }
        break;
    }
  }

  // --- the first round ---------------------------------------------------------------------

  // At start: the feeds in `due` (entry indexes) make the first round.
  void open_round(const std::vector<bool>& due, int members) {
    if (members == 0) return;
    in_round = due;
    round.emplace(members);
    round_started = clock.steady_now();
    tick_progress();
  }

  void tick_progress() {
    progress_timer->wait(progress_every, [self = shared_from_this()](bool fired) {
      if (!fired || self->stopping || !self->round || self->round->complete()) return;
      spdlog::info("{}",
                   self->round->progress(self->summary.new_items, self->writer.stories_created()));
      self->tick_progress();
    });
  }

  // A poll finished: if its feed is in the first round and was not polled yet in it, count it.
  void follow_round(const Job& job) {
    if (!round || job.index >= in_round.size() || !in_round[job.index]) return;
    in_round[job.index] = false;
    const PollKind kind = job.outcome->observation.kind;
    const bool ok =
        job.recorded.error.empty() &&
        (kind == PollKind::fresh || kind == PollKind::unchanged || kind == PollKind::not_modified);
    round->polled(ok, job.outcome->network_failure);
    if (auto diagnosis = round->diagnosis()) spdlog::error("{}", *diagnosis);
    if (round->complete()) close_round();
  }

  // Every feed of the round has been polled: its items go into stories now rather than with
  // the next batch (so the merged feeds render at once), then the summary says how it went.
  void close_round() {
    progress_timer->cancel();
    batch_opened.reset();
    const auto elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock.steady_now() - round_started);
    writer.assign([self = shared_from_this(), elapsed] {
      asio::post(self->strand, [self, elapsed] {
        if (!self->round) return;
        spdlog::info("{}", self->round->summary(elapsed, self->summary.new_items,
                                                self->writer.stories_created()));
        self->round.reset();
        self->in_round.clear();
      });
    });
  }

  // Wakes at the earliest next poll.
  void arm_timer() {
    while (!due.empty() && !current(due.top()))
      due.pop();
    if (due.empty()) return;
    const Time earliest = due.top().first;
    const Time at = now();
    const auto delay = earliest <= at ? seconds{0} : earliest - at;
    timer->wait(delay, [self = shared_from_this()](bool fired) {
      if (!fired || self->stopping) return;
      self->poll_due();
      self->arm_timer();
    });
  }

  void poll_due() {
    const Time at = now();
    while (!due.empty() && due.top().first <= at) {
      const DueAt next = due.top();
      due.pop();
      if (current(next)) enqueue(next.second);
    }
    launch();
  }

  void schedule_prune() {
    prune_timer->wait(kPruneEvery, [self = shared_from_this()](bool fired) {
      if (!fired || self->stopping) return;
      self->writer.prune();
      self->schedule_prune();
    });
  }

  // Retention on the writer; `then` (if any) on the strand afterwards.
  void prune(std::function<void()> then) {
    writer.prune([self = shared_from_this(), then = std::move(then)] {
      if (then) asio::post(self->strand, then);
    });
  }

  SchedulerStatus status() const {
    SchedulerStatus status{.in_flight = in_flight,
                           .totals = summary,
                           .last_poll = last_poll,
                           .last_error = last_error,
                           .last_progress = last_progress};
    for (const Entry& entry : entries) {
      if (entry.removed || !entry.held || entry.state.disabled) continue;
      ++status.feeds;
      if (entry.state.consecutive_failures > 0) ++status.failing;
    }
    return status;
  }

  // A reload: the registered feeds replace the polled ones.
  void apply_feeds(const config::PollConfig& poll, std::vector<Writer::Registered> feeds) {
    const Time at_now = now();
    std::unordered_map<std::string, std::size_t> known;
    for (std::size_t i = 0; i < entries.size(); ++i)
      known.emplace(entries[i].config.url, i);
    std::unordered_set<std::string> wanted;
    std::vector<std::pair<std::int64_t, Time>> scheduled;
    // Leased: a feed added on a host this process holds is its own at once (the keeper gains
    // nothing new for it, and its state was just read by the registration).
    std::unordered_set<std::string> held_units;
    for (const Entry& entry : entries) {
      if (entry.held) held_units.insert(entry.unit);
    }
    for (Writer::Registered& registered : feeds) {
      wanted.insert(registered.feed.url);
      const IntervalLimits limits = limits_for(poll, registered.feed);
      auto it = known.find(registered.feed.url);
      Entry* entry = nullptr;
      std::size_t index = 0;
      if (it == known.end()) {
        add_entry(std::move(registered), poll);
        index = entries.size() - 1;
        entry = &entries.back();
        if (leased && held_units.contains(entry->unit))
          change_entry(*entry, [](Entry& e) { e.held = true; });
        spdlog::info("{}: added by the reload", entry->config.url);
      } else {
        index = it->second;
        entry = &entries[index];
        if (entry->removed) spdlog::info("{}: added back by the reload", entry->config.url);
        change_entry(*entry, [](Entry& e) { e.removed = false; });
        entry->config = registered.feed;
        entry->limits = limits;
        entry->password = std::move(registered.password);
      }
      // A new feed is polled at once, a long-removed one as overdue at start. Not one in
      // flight or queued: its poll decides its next one.
      if (!pollable(*entry)) continue;
      const Time at =
          start_poll_time(entry->state, entry->limits, at_now, [this] { return draw(); });
      if (entry->state.next_poll != at) {
        entry->state.next_poll = at;
        scheduled.emplace_back(entry->state.id, at);
      }
      schedule(index);
    }
    writer.schedule_polls(std::move(scheduled));
    for (std::size_t i = 0; i < entries.size(); ++i) {
      Entry& entry = entries[i];
      if (entry.removed || wanted.contains(entry.config.url)) continue;
      change_entry(entry, [](Entry& e) { e.removed = true; });  // a poll in flight still records
      spdlog::info("{}: removed by the reload; its items stay until retention", entry.config.url);
      // The first round no longer waits for it.
      if (round && i < in_round.size() && in_round[i]) {
        in_round[i] = false;
        round->drop();
      }
    }
    if (round && round->complete()) close_round();
    waiting.erase_if([this](std::size_t index) {
      if (!entries[index].removed) return false;
      entries[index].queued = false;
      return true;
    });
    report_feeds_health();
    publish_units();
    if (!once && !stopping) arm_timer();
  }

  void publish_units() {
    std::vector<std::pair<std::string, std::string>> units;
    for (const Entry& entry : entries) {
      if (!entry.removed) units.emplace_back(entry.unit, entry.config.url);
    }
    std::lock_guard lock(units_mutex);
    units_snapshot = std::move(units);
  }

  // Leased: the units this process holds now (Scheduler::hold).
  void hold(const std::unordered_set<std::string>& units, std::vector<store::FeedState> gained) {
    std::unordered_map<std::string, store::FeedState*> fresh;
    for (store::FeedState& state : gained)
      fresh.emplace(state.url, &state);
    const Time at_now = now();
    bool lost = false;
    for (std::size_t i = 0; i < entries.size(); ++i) {
      Entry& entry = entries[i];
      const bool held = units.contains(entry.unit);
      if (held == entry.held) continue;
      if (!held) {
        change_entry(entry, [](Entry& e) { e.held = false; });
        lost = lost || entry.queued;
        continue;
      }
      const auto found = fresh.find(entry.config.url);
      change_entry(entry, [&](Entry& e) {
        e.held = true;
        if (found != fresh.end()) e.state = std::move(*found->second);
      });
      // Another process polled it meanwhile: what it last listed is unknown here.
      entry.known_items.clear();
      entry.last_hints = {};
      if (!pollable(entry)) continue;
      entry.state.next_poll =
          start_poll_time(entry.state, entry.limits, at_now, [this] { return draw(); });
      schedule(i);
    }
    if (lost) {
      waiting.erase_if([this](std::size_t index) {
        if (entries[index].held) return false;
        entries[index].queued = false;
        return true;
      });
    }
    report_feeds_health();
    if (!once && !stopping) arm_timer();
  }
};

Scheduler::Scheduler(asio::io_context& io, const config::Config& config, fetch::Fetcher& fetcher,
                     Writer& writer, ParsePool parse_pool, Clock& clock, Options options,
                     std::vector<Writer::Registered> feeds)
    : impl_(std::make_shared<Impl>(io, config, fetcher, writer, std::move(parse_pool), clock,
                                   std::move(options))) {
  for (Writer::Registered& feed : feeds)
    impl_->add_entry(std::move(feed), config.poll);
  impl_->publish_units();
}

Scheduler::~Scheduler() {
  // No thread runs the io_context now. Handlers still queued in it only hold the Impl, which no
  // longer touches a timer.
  impl_->timer.reset();
  impl_->prune_timer.reset();
  impl_->batch_timer.reset();
  impl_->progress_timer.reset();
  impl_->files_timer.reset();
}

void Scheduler::start_once(bool all, std::function<void()> done) {
  impl_->work.emplace(impl_->io.get_executor());
  asio::post(impl_->strand, [impl = impl_, all, done = std::move(done)]() mutable {
    impl->once = true;
    auto finish = [impl, done = std::move(done)]() mutable {
      impl->prune([impl, done = std::move(done)] {
        impl->work.reset();
        done();
      });
    };
    impl->on_idle = finish;
    const Time now = impl->now();
    for (std::size_t i = 0; i < impl->entries.size(); ++i) {
      const Impl::Entry& entry = impl->entries[i];
      if (impl->pollable(entry) && (all || !entry.state.next_poll || *entry.state.next_poll <= now))
        impl->enqueue(i);
    }
    impl->launch();
    if (impl->idle()) {
      impl->on_idle = nullptr;
      finish();
    }
  });
}

void Scheduler::start_run() {
  impl_->work.emplace(impl_->io.get_executor());
  asio::post(impl_->strand, [impl = impl_] {
    if (impl->leased) {
      // Each feed is scheduled when its lease unit is claimed (hold).
      spdlog::info("polling the feeds of the hosts this process claims, of {} feeds",
                   impl->entries.size());
      impl->writer.prune();
      impl->schedule_prune();
      impl->schedule_files_check();
      return;
    }
    const Time now = impl->now();
    int never = 0, overdue = 0, on_schedule = 0;
    std::vector<bool> due(impl->entries.size(), false);
    std::vector<std::pair<std::int64_t, Time>> scheduled;
    for (std::size_t i = 0; i < impl->entries.size(); ++i) {
      Impl::Entry& entry = impl->entries[i];
      if (entry.state.disabled) continue;
      if (!entry.state.last_attempt) {
        ++never;
      } else if (!entry.state.next_poll || *entry.state.next_poll <= now) {
        ++overdue;
      } else {
        ++on_schedule;
      }
      due[i] = !entry.state.last_attempt || !entry.state.next_poll || *entry.state.next_poll <= now;
      const Time at = start_poll_time(entry.state, entry.limits, now, [&] { return impl->draw(); });
      if (at != entry.state.next_poll) {
        entry.state.next_poll = at;
        scheduled.emplace_back(entry.state.id, at);
      }
      impl->schedule(i);
    }
    spdlog::info(
        "polling {} feeds: {} never polled, polled now; {} overdue, polled within {} s; "
        "{} on schedule",
        never + overdue + on_schedule, never, overdue,
        std::chrono::duration_cast<seconds>(kOverdueSpread).count(), on_schedule);
    impl->writer.schedule_polls(std::move(scheduled));
    impl->open_round(due, never + overdue);
    impl->report_feeds_health();  // as the last run left the feeds
    impl->writer.prune();
    impl->schedule_prune();
    impl->schedule_files_check();
    impl->arm_timer();
  });
}

void Scheduler::stop(std::function<void()> stopped) {
  asio::post(impl_->strand, [impl = impl_, stopped = std::move(stopped)]() mutable {
    if (impl->stopping) return;
    impl->stopping = true;
    impl->timer->cancel();
    impl->prune_timer->cancel();
    impl->batch_timer->cancel();
    impl->progress_timer->cancel();
    impl->files_timer->cancel();
    impl->fetcher.cancel_all();
    // Never started: nothing to record.
    impl->waiting.clear([&impl](std::size_t index) { impl->entries[index].queued = false; });
    auto finish = [impl, stopped = std::move(stopped)] {
      impl->work.reset();
      stopped();
    };
    if (impl->in_flight == 0) {
      finish();
    } else {
      impl->on_idle = finish;
    }
  });
}

PollSummary Scheduler::summary() const {
  return impl_->summary;
}

void Scheduler::heartbeat(std::function<void(const SchedulerStatus&)> done) {
  asio::post(impl_->strand, [impl = impl_, done = std::move(done)]() mutable {
    impl->writer.pass([impl, done = std::move(done)]() mutable {
      asio::post(impl->strand, [impl, done = std::move(done)] { done(impl->status()); });
    });
  });
}

void Scheduler::hold(std::unordered_set<std::string> units, std::vector<store::FeedState> gained) {
  asio::post(impl_->strand,
             [impl = impl_, units = std::move(units), gained = std::move(gained)]() mutable {
               if (impl->stopping) return;
               impl->hold(units, std::move(gained));
             });
}

std::vector<std::pair<std::string, std::string>> Scheduler::lease_units() const {
  std::lock_guard lock(impl_->units_mutex);
  return impl_->units_snapshot;
}

void Scheduler::prune_now(std::function<void()> done) {
  asio::post(impl_->strand,
             [impl = impl_, done = std::move(done)]() mutable { impl->prune(std::move(done)); });
}

void Scheduler::reconfigure(const config::Config& config, std::function<void(std::string)> done) {
  impl_->writer.register_feeds(
      config.feeds, [impl = impl_, poll = config.poll, done = std::move(done)](
                        Result<std::vector<Writer::Registered>> feeds) mutable {
        asio::post(impl->strand,
                   [impl, poll, feeds = std::move(feeds), done = std::move(done)]() mutable {
                     if (!feeds) {
                       done(feeds.error().message);
                       return;
                     }
                     impl->apply_feeds(poll, std::move(*feeds));
                     done("");
                   });
      });
}

}  // namespace feedmerge::daemon
