#include "daemon/poller.h"

#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include <spdlog/spdlog.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include "daemon/due_queue.h"
#include "daemon/first_round.h"
#include "daemon/logging.h"
#include "daemon/schedule.h"
#include "daemon/story_assigner.h"
#include "feedmerge/fetch/read_source.h"
#include "feedmerge/normalize/url.h"
#include "feedmerge/parse/parser.h"
#include "feedmerge/publish/site.h"
#include "fetch/http_fetcher.h"

namespace feedmerge::daemon {

namespace asio = boost::asio;
using std::chrono::seconds;

namespace {

constexpr auto kPruneEvery = std::chrono::hours{1};
// How soon a deleted database file or -wal is noticed while no poll writes; a passive
// checkpoint runs as often, so that one the disk refuses shows too.
constexpr auto kFilesCheckEvery = std::chrono::seconds{5};
// A batch with this many new items is worth returning freed memory to the system for.
constexpr std::size_t kTrimAfterBatch = 2000;
// Polls that complete within this time of the batch's first one are assigned to stories together.
constexpr auto kBatchPooling = std::chrono::seconds{5};

// Parsing and building features are throughput work. At a lower priority they take what the
// store writer (the poll's one serial stage), the fetcher and the HTTP server leave, rather
// than taking turns with them: on 2 cores a first poll of 1,000 feeds went from 3.1 s to 2.8 s
// (median of 8). Linux's nice value is per thread; raising it needs no privilege. Relative to
// the thread's own, so that a daemon started with Nice= keeps the same order.
constexpr int kParseNiceAbove = 10;

void lower_priority_once() {
  thread_local const bool lowered = [] {
    const auto self = static_cast<id_t>(::gettid());
    errno = 0;
    const int nice = ::getpriority(PRIO_PROCESS, self);
    // On failure the thread just keeps its priority.
    if (errno == 0) (void)::setpriority(PRIO_PROCESS, self, std::min(19, nice + kParseNiceAbove));
    return true;
  }();
  (void)lowered;
}

Time now_utc() {
  return std::chrono::floor<seconds>(std::chrono::system_clock::now());
}

std::string body_hash(std::string_view body) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx",
                static_cast<unsigned long long>(XXH3_64bits(body.data(), body.size())));
  return text;
}

// The password for HTTP basic auth: the file's first line.
std::string read_password(const std::string& path) {
  if (path.empty()) return {};
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

fetch::FetchOptions fetch_options(const config::PollConfig& poll) {
  fetch::FetchOptions options;
  options.timeout = poll.timeout;
  options.connect_timeout = poll.connect_timeout;
  options.max_body = poll.max_body;
  options.user_agent = poll.user_agent;
  options.proxy = poll.proxy;
  options.concurrency = poll.concurrency;
  options.per_host = poll.per_host;
  options.allow_private_networks = poll.allow_private_networks;
  return options;
}

bool same_host(const std::string& a, const std::string& b) {
  const std::string host = fetch::politeness_host(a);
  return !host.empty() && host == fetch::politeness_host(b);
}

// Whether the feed sends headers or Basic auth, which stay with the configured URL's origin.
bool has_credentials(const config::FeedConfig& feed) {
  return !feed.headers.empty() || !feed.username.empty();
}

// The parts of a parsed document the scheduler needs.
void observe_document(const model::Feed& feed, PollObservation& observation) {
  observation.hints = feed.hints;
  for (const model::Item& item : feed.items) {
    if (item.published) observation.publications.push_back(*item.published);
  }
}

// How the index page groups a feed's state (see PollEvent::health_changed).
int health_class(const store::FeedState& state) {
  if (state.disabled) return 3;
  if (!state.last_attempt) return 0;
  return state.consecutive_failures > 0 ? 2 : 1;
}

}  // namespace

struct Poller::Impl : std::enable_shared_from_this<Poller::Impl> {
  // Scheduler-strand state.
  struct Entry {
    config::FeedConfig config;
    IntervalLimits limits;
    store::FeedState state;
    model::PollHints last_hints;
    std::string password;
    bool in_flight = false;
    bool queued = false;   // due, waiting for room in the pipeline
    bool removed = false;  // dropped from the config by a reload: kept so job indexes hold
  };

  // One poll, owned by one stage at a time.
  struct Job {
    std::size_t index = 0;
    config::FeedConfig config;
    IntervalLimits limits;
    store::FeedState state;  // as before the poll
    model::PollHints last_hints;
    double jitter = 0;
    // Filled along the way.
    std::optional<model::Feed> parsed;
    PollObservation observation;
    PollDecision decision;
    std::optional<store::StoreResult> stored;
    std::string store_error;
    bool cancelled = false;
    bool was_parsed = false;
    fetch::NetworkFailure network_failure = fetch::NetworkFailure::none;
    std::uint64_t stored_epoch = 0;  // the writer's prune_epoch when record_poll stored it
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  };

  Impl(asio::io_context& io_context, const config::Config& cfg, std::unique_ptr<store::Store> db,
       Options options)
      : io(io_context),
        strand(asio::make_strand(io_context)),
        timer(std::make_unique<asio::steady_timer>(strand)),
        prune_timer(std::make_unique<asio::steady_timer>(strand)),
        batch_timer(std::make_unique<asio::steady_timer>(strand)),
        progress_timer(std::make_unique<asio::steady_timer>(strand)),
        files_timer(std::make_unique<asio::steady_timer>(strand)),
        config(cfg),
        store(std::move(db)),
        parse_pool(static_cast<std::size_t>(std::max(1, options.parse_threads))),
        writer(1),
        on_polled(std::move(options.on_polled)),
        on_stories(std::move(options.on_stories)),
        on_writer_busy(std::move(options.on_writer_busy)),
        on_write(std::move(options.on_write)),
        on_fault(std::move(options.on_fault)),
        on_feeds_health(std::move(options.on_feeds_health)),
        progress_every(options.progress_every),
        rng(std::random_device{}()),
        waiting(cfg.poll.per_host) {
    fetch::FetchOptions fetching = fetch_options(cfg.poll);
    if (options.adjust_fetch_options) options.adjust_fetch_options(fetching);
    fetcher = std::make_unique<fetch::HttpFetcher>(io_context, std::move(fetching));
  }

  asio::io_context& io;
  asio::strand<asio::io_context::executor_type> strand;
  // unique_ptr so ~Poller can drop them while no thread runs the io_context.
  std::unique_ptr<asio::steady_timer> timer;
  std::unique_ptr<asio::steady_timer> prune_timer;
  std::unique_ptr<asio::steady_timer> batch_timer;     // closes a batch open for kBatchPooling
  std::unique_ptr<asio::steady_timer> progress_timer;  // the first round's progress lines
  std::unique_ptr<asio::steady_timer> files_timer;
  const config::Config config;
  std::unique_ptr<store::Store> store;     // used on the writer thread only, once running
  std::unique_ptr<StoryAssigner> stories;  // the writer's too: stories once per batch
  // Writer-owned: items stored by the polls of the current batch, not yet in a story.
  StoryAssigner::Batch unassigned;
  // Writer-owned: how many prunes removed items. An item stored before the last one may be
  // gone by the time its candidate joins the batch (see keep_stored).
  std::uint64_t prune_epoch = 0;
  // Writer-owned: why the writer stopped writing for good; "" while it writes.
  std::string fault;
  asio::thread_pool parse_pool;
  asio::thread_pool writer;
  std::unique_ptr<fetch::HttpFetcher> fetcher;
  const std::function<void(const PollEvent&)> on_polled;
  const std::function<void()> on_stories;
  const std::function<void(bool)> on_writer_busy;
  const std::function<void(const std::string&)> on_write;
  const std::function<void(const std::string&)> on_fault;
  const std::function<void(const std::string&)> on_feeds_health;
  const std::chrono::milliseconds progress_every;
  // Stories created since start: the writer adds, the strand's progress lines read.
  std::atomic<std::int64_t> stories_created{0};

  // Everything below: the scheduler strand's.
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
  bool stopping = false;
  bool once = false;
  std::function<void()> on_idle;
  PollSummary summary;
  // For the service's STATUS= line and watchdog (heartbeat).
  config::PollConfig poll_config = config.poll;  // intervals, replaced by reconfigure
  std::optional<Time> last_poll;
  std::string last_error;
  std::string last_error_url;  // the feed last_error is about
  std::chrono::steady_clock::time_point last_progress = std::chrono::steady_clock::now();
  // `run`'s first round: the feeds due at start (in_round, by entry index), until each has been
  // polled once.
  std::optional<FirstRound> round;
  std::vector<bool> in_round;
  std::chrono::steady_clock::time_point round_started;
  std::string feeds_problem;  // as last reported to on_feeds_health

  double draw() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng); }

  // Runs `work` on the writer, telling on_writer_busy when it starts and ends.
  template <class Work>
  void on_writer(Work&& work) {
    asio::post(writer, [self = shared_from_this(), work = std::forward<Work>(work)]() mutable {
      if (self->on_writer_busy) self->on_writer_busy(true);
      work();
      if (self->on_writer_busy) self->on_writer_busy(false);
    });
  }

  // Writer: after each write (`error` "" when it worked). A write into a file that is no
  // longer the database's is lost at exit, however well it went.
  void wrote(const std::string& error) {
    if (on_write) on_write(error);
    check_files();
  }

  // Writer.
  void check_files() {
    if (!fault.empty()) return;
    if (auto files = store->check_files(); !files) stop_writing(files.error().message);
  }

  // Writer: no write from now on; what the -wal held goes into the database file while the
  // descriptors still reach it (the next start then finds everything committed so far).
  void stop_writing(const std::string& reason) {
    fault = reason;
    spdlog::error("{}; no more writes to it", reason);
    if (auto saved = store->checkpoint(true); !saved) {
      spdlog::error("could not move the write-ahead log into the database file: {}",
                    saved.error().message);
    } else {
      spdlog::info("{}: what the write-ahead log held is now in the database file",
                   store->location());
    }
    if (on_fault) on_fault(reason);
  }

  // Scheduler strand: every few seconds, the files and a passive checkpoint on the writer.
  void schedule_files_check() {
    files_timer->expires_after(kFilesCheckEvery);
    files_timer->async_wait([self = shared_from_this()](boost::system::error_code error) {
      if (error || self->stopping) return;
      self->on_writer([self] {
        self->check_files();
        if (!self->fault.empty()) return;
        if (auto checkpoint = self->store->checkpoint(); !checkpoint) {
          spdlog::error("{}", checkpoint.error().message);
          if (self->on_write) self->on_write(checkpoint.error().message);
        }
      });
      self->schedule_files_check();
    });
  }

  // Scheduler strand: "" unless every polled feed's last poll failed.
  std::string overall_feeds_problem() const {
    int polled = 0;
    int failing = 0;
    for (const Entry& entry : entries) {
      if (entry.removed || entry.state.disabled || !entry.state.last_attempt) continue;
      ++polled;
      if (entry.state.consecutive_failures > 0) ++failing;
    }
    if (polled == 0 || failing < polled) return {};
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
    return !entry.in_flight && !entry.queued && !entry.state.disabled && !entry.removed;
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
    const int limit = std::max(1, config.poll.concurrency);
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
    last_progress = std::chrono::steady_clock::now();
    auto job = std::make_shared<Job>();
    job->index = index;
    job->config = entry.config;
    job->limits = entry.limits;
    job->state = entry.state;
    job->last_hints = entry.last_hints;
    job->jitter = draw();
    const std::string& url = store::url_to_fetch(entry.state);
    spdlog::debug("{}: polling", url);

    if (normalize::is_file_url(url)) {
      on_parse_pool([self = shared_from_this(), job] { self->read_file(job); });
      return;
    }
    fetch::FetchRequest request{
        .url = url,
        .etag = entry.state.etag,
        .last_modified = entry.state.last_modified,
        .headers = entry.config.headers,
        .username = entry.config.username,
        .password = entry.password,
        // Only the configured URL's origin gets them, also after a move to another origin
        // was adopted.
        .credentials_url = entry.config.url,
        // The address guard: the URL the config names may be local; an adopted redirect is
        // trusted no further than the configured URL's own host.
        .config_named = url == entry.config.url || same_host(url, entry.config.url)};
    fetcher->fetch(std::move(request), [self = shared_from_this(), job,
                                        host = host_of(entry)](fetch::FetchResult result) {
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
      self->on_parse_pool(
          [self, job, r = std::move(result)]() mutable { self->process_http(job, std::move(r)); });
    });
  }

  template <class Work>
  void on_parse_pool(Work work) {
    asio::post(parse_pool, [work = std::move(work)]() mutable {
      lower_priority_once();
      work();
    });
  }

  // Parse pool.
  void parse_body(Job& job, std::string_view body, std::string_view content_type,
                  std::string_view document_url) {
    PollObservation& observation = job.observation;
    observation.body_hash = body_hash(body);
    if (!job.state.body_hash.empty() && observation.body_hash == job.state.body_hash) {
      observation.kind = PollKind::unchanged;
      return;
    }
    job.was_parsed = true;
    auto parsed = parse::parse_feed({.bytes = body,
                                     .content_type = content_type,
                                     .document_url = document_url,
                                     .max_items = parse::kMaxItemsPerFeed});
    if (!parsed) {
      observation.kind = PollKind::failed;
      // The parser's own message may already say so ("not a feed: the root element is ...").
      const std::string& why = parsed.error().message;
      observation.error = why.starts_with("not a feed") ? why : "not a feed: " + why;
      observation.body_hash.clear();
      return;
    }
    observation.kind = PollKind::fresh;
    observe_document(parsed->feed, observation);
    job.parsed = std::move(parsed->feed);
  }

  // Parse pool: file:// feeds are read here, never in an Asio handler.
  void read_file(const std::shared_ptr<Job>& job) {
    const std::string& url = store::url_to_fetch(job->state);
    auto document = fetch::read_source(url, {.max_bytes = config.poll.max_body});
    if (!document) {
      job->observation.kind = PollKind::failed;
      job->observation.error = document.error().message;
    } else {
      parse_body(*job, document->bytes, document->content_type, url);
    }
    decide_and_write(job);
  }

  // Parse pool.
  void process_http(const std::shared_ptr<Job>& job, fetch::FetchResult result) {
    PollObservation& observation = job->observation;
    observation.status = static_cast<int>(result.status);
    observation.etag = result.etag;
    observation.last_modified = result.last_modified;
    // A redirect never widens trust: only a poll that succeeded with every hop through the
    // address guard counts toward adopting its redirect, and a move to another host not when
    // a hop was let into a local address only because the configured URL is local.
    const bool succeeded = result.outcome == fetch::FetchOutcome::ok ||
                           result.outcome == fetch::FetchOutcome::not_modified;
    if (succeeded &&
        !(result.local_by_redirect && !same_host(result.permanent_redirect, job->config.url)))
      observation.permanent_redirect = result.permanent_redirect;
    observation.address_refused = result.outcome == fetch::FetchOutcome::refused_address;
    observation.retry_after = result.retry_after;
    observation.max_age = result.max_age;
    switch (result.outcome) {
      case fetch::FetchOutcome::ok:
        parse_body(*job, result.body, result.content_type,
                   result.final_url.empty() ? store::url_to_fetch(job->state) : result.final_url);
        break;
      case fetch::FetchOutcome::not_modified:
        observation.kind = PollKind::not_modified;
        break;
      case fetch::FetchOutcome::http_error:
        observation.kind = PollKind::http_error;
        observation.error =
            result.error.empty() ? "HTTP " + std::to_string(result.status) : result.error;
        break;
      default:
        observation.kind = PollKind::failed;
        observation.error = result.error.empty() ? fetch::to_string(result.outcome) : result.error;
        job->network_failure = result.network_failure;
        break;
    }
    decide_and_write(job);
  }

  // Parse pool: the rules are pure, then the write goes to the writer.
  void decide_and_write(const std::shared_ptr<Job>& job) {
    const double jitter = job->jitter;
    job->decision = apply_poll(job->state, job->observation, job->limits, job->last_hints,
                               now_utc(), [jitter] { return jitter; });
    on_writer([self = shared_from_this(), job] {
      if (!self->fault.empty()) {
        job->store_error = "not stored: " + self->fault;
        asio::post(self->strand, [self, job] { self->finish(job); });
        return;
      }
      auto stored = self->store->record_poll(job->decision.state,
                                             job->parsed ? &*job->parsed : nullptr, now_utc());
      job->stored_epoch = self->prune_epoch;
      self->wrote(stored ? std::string() : stored.error().message);
      if (!stored) {
        job->store_error = stored.error().message;
      } else {
        job->stored = std::move(*stored);
        if (!job->stored->new_items.empty()) {
          self->build_candidates(job);
          return;
        }
      }
      asio::post(self->strand, [self, job] { self->finish(job); });
    });
  }

  // Writer, then parse pool, then writer: the new items' features are CPU work, done while
  // other feeds are still being fetched rather than all at the end of the batch and without
  // reading the items back. Stories themselves come once per batch (assign_batch), in
  // publication order: the order in which feeds happen to answer must not change which
  // stories form.
  void build_candidates(const std::shared_ptr<Job>& job) {
    on_parse_pool([self = shared_from_this(), job] {
      std::vector<dedup::Candidate> built;
      built.reserve(job->stored->new_items.size());
      for (const store::NewItem& stored : job->stored->new_items) {
        built.push_back(StoryAssigner::candidate(job->parsed->items[stored.index], stored,
                                                 job->state.id, job->config.merge));
      }
      asio::post(self->writer, [self, job, built = std::move(built)]() mutable {
        // Allocated here, on the writer: once in the index, the memory goes back to the
        // writer's arena, where the index grows next.
        // Retention ran while the candidates were built: keep those whose items are still
        // there. By key: a removed item's row id may have gone to an item stored since.
        if (job->stored_epoch != self->prune_epoch) self->keep_stored(*job, built);
        for (dedup::Candidate& candidate : built)
          self->unassigned.push_back(std::make_unique<dedup::Candidate>(std::move(candidate)));
        asio::post(self->strand, [self, job] { self->finish(job); });
      });
    });
  }

  // Writer: `built` (one candidate per job->stored->new_items, in order) without the items
  // retention removed since they were stored.
  void keep_stored(const Job& job, std::vector<dedup::Candidate>& built) {
    const auto& items = job.stored->new_items;
    std::vector<dedup::Candidate> kept;
    kept.reserve(built.size());
    for (std::size_t k = 0; k < built.size() && k < items.size(); ++k) {
      auto holds = store->holds_item(items[k].id, items[k].key);
      if (!holds) spdlog::error("stories: {}", holds.error().message);
      if (!holds || *holds) kept.push_back(std::move(built[k]));
    }
    built = std::move(kept);
  }

  // Scheduler strand: the batch is complete when no poll is left in flight or waiting, or
  // when it has been open for kBatchPooling (a slow feed must not hold stories back).
  void end_batch_if_due(const Job& job) {
    if (job.stored && !job.stored->new_items.empty() && !batch_opened) {
      batch_opened = std::chrono::steady_clock::now();
      // A batch waiting on slow feeds still closes after kBatchPooling, even if no other
      // poll finishes meanwhile to close it.
      batch_timer->expires_after(kBatchPooling);
      batch_timer->async_wait([self = shared_from_this()](boost::system::error_code error) {
        if (error || !self->batch_opened) return;
        if (std::chrono::steady_clock::now() - *self->batch_opened < kBatchPooling) return;
        self->batch_opened.reset();
        self->assign_batch();
      });
    }
    if (!batch_opened) return;
    if (!idle() && std::chrono::steady_clock::now() - *batch_opened < kBatchPooling) return;
    batch_opened.reset();
    assign_batch();
  }

  // Posts the batch's story assignment to the writer: one transaction, items sorted by
  // publication time (StoryAssigner::assign sorts). On failure the items stay unassigned and
  // the next start assigns them.
  void assign_batch() {
    on_writer([self = shared_from_this()] { self->assign_unassigned(); });
  }

  // Writer: the items stored since the last batch, into stories.
  void assign_unassigned() {
    if (unassigned.empty() || !fault.empty()) return;
    StoryAssigner::Batch batch = std::move(unassigned);
    unassigned.clear();
    // A large batch (a first poll) follows a burst of bodies and documents the parse
    // threads have freed into their own malloc arenas: give those pages back before the
    // story index grows in the writer's.
    if (batch.size() >= kTrimAfterBatch) malloc_trim(0);
    const auto started = std::chrono::steady_clock::now();
    auto assigned = stories->assign(std::move(batch), now_utc());
    wrote(assigned ? std::string() : assigned.error().message);
    if (!assigned) {
      spdlog::error("stories: {}", assigned.error().message);
      return;
    }
    stories_created += stories->last_created();
    spdlog::debug("stories: {} items assigned in {} ms", *assigned,
                  std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count());
    if (*assigned > 0 && on_stories) on_stories();
  }

  // Scheduler strand.
  void finish(const std::shared_ptr<Job>& job) {
    Entry& entry = entries[job->index];
    entry.in_flight = false;
    --in_flight;
    last_progress = std::chrono::steady_clock::now();
    launch();
    end_batch_if_due(*job);
    const std::string& url = store::url_to_fetch(job->state);
    FeedLogScope log_scope(url);  // the journal's FEED_URL field
    if (!job->cancelled) last_poll = now_utc();
    if (job->cancelled) {
      --summary.polled;  // nothing happened to it
    } else {
      const bool health_changed = health_class(entry.state) != health_class(job->decision.state) ||
                                  entry.state.last_error != job->decision.state.last_error;
      entry.state = job->decision.state;
      if (job->observation.hints) entry.last_hints = *job->observation.hints;
      count(*job, url);
      follow_round(*job);
      if (health_changed) report_feeds_health();
      if (on_polled) {
        const bool stored = job->store_error.empty();
        on_polled({.kind = stored ? job->observation.kind : PollKind::failed,
                   .stored_changes =
                       job->stored && (job->stored->inserted > 0 || job->stored->updated > 0),
                   .duration = std::chrono::steady_clock::now() - job->started,
                   .health_changed = health_changed});
      }
    }
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
    const PollObservation& observation = job.observation;
    if (job.was_parsed) ++summary.parsed;
    if (!job.store_error.empty()) {
      ++summary.failed;
      note_error(url, job.store_error);
      spdlog::error("{}: could not record the poll: {}", url, job.store_error);
      return;
    }
    if (job.decision.redirect_adopted) {
      const std::string& moved_to = job.decision.state.fetch_url;
      spdlog::warn("{}: the permanent redirect held for {} polls; polling {} from now on", url,
                   kRedirectPollsToAdopt, moved_to);
      if (has_credentials(job.config) && !fetch::same_origin(moved_to, job.config.url)) {
        spdlog::warn(
            "{}: its headers and credentials are not sent to {}, another origin, until "
            "the config names that URL",
            job.config.url, moved_to);
      }
    }
    if (job.decision.redirect_dropped) {
      spdlog::warn("{}: the address guard refused the adopted URL; polling {} again", url,
                   job.config.url);
    }
    switch (observation.kind) {
      case PollKind::fresh:
        ++summary.succeeded;
        if (job.stored) {
          summary.new_items += job.stored->inserted;
          summary.updated_items += job.stored->updated;
          spdlog::info("{}: {} new, {} updated", url, job.stored->inserted, job.stored->updated);
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
        if (job.decision.disabled_now) {
          spdlog::warn("{}: {}", url, job.decision.state.disabled_reason);
        } else {
          spdlog::warn("{}: {} (failure {} in a row)", url, observation.error,
                       job.decision.state.consecutive_failures);
        }
        break;
    }
  }

  // --- the first round (scheduler strand) -------------------------------------------------

  // At start: the feeds in `due` (entry indexes) make the first round.
  void open_round(const std::vector<bool>& due, int members) {
    if (members == 0) return;
    in_round = due;
    round.emplace(members);
    round_started = std::chrono::steady_clock::now();
    tick_progress();
  }

  void tick_progress() {
    progress_timer->expires_after(progress_every);
    progress_timer->async_wait([self = shared_from_this()](boost::system::error_code error) {
      if (error || self->stopping || !self->round || self->round->complete()) return;
      spdlog::info("{}", self->round->progress(self->summary.new_items, self->stories_created));
      self->tick_progress();
    });
  }

  // A poll finished: if its feed is in the first round and was not polled yet in it, count it.
  void follow_round(const Job& job) {
    if (!round || job.index >= in_round.size() || !in_round[job.index]) return;
    in_round[job.index] = false;
    const bool ok = job.store_error.empty() && (job.observation.kind == PollKind::fresh ||
                                                job.observation.kind == PollKind::unchanged ||
                                                job.observation.kind == PollKind::not_modified);
    round->polled(ok, job.network_failure);
    if (auto diagnosis = round->diagnosis()) spdlog::error("{}", *diagnosis);
    if (round->complete()) close_round();
  }

  // Every feed of the round has been polled: its items go into stories now rather than with
  // the next batch (so the merged feeds render at once), then the summary says how it went.
  void close_round() {
    progress_timer->cancel();
    batch_opened.reset();
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - round_started);
    asio::post(writer, [self = shared_from_this(), elapsed] {
      self->assign_unassigned();
      asio::post(self->strand, [self, elapsed] {
        if (!self->round) return;
        spdlog::info("{}",
                     self->round->summary(elapsed, self->summary.new_items, self->stories_created));
        self->round.reset();
        self->in_round.clear();
      });
    });
  }

  // Writer: the scheduler's next polls, for `feeds` in another process (Store::schedule_polls).
  void store_schedule(std::vector<std::pair<std::int64_t, Time>> scheduled) {
    if (scheduled.empty()) return;
    asio::post(writer, [self = shared_from_this(), scheduled = std::move(scheduled)] {
      if (auto stored = self->store->schedule_polls(scheduled); !stored)
        spdlog::error("could not store the next polls: {}", stored.error().message);
    });
  }

  // Scheduler strand: wakes at the earliest next poll.
  void arm_timer() {
    std::optional<Time> earliest;
    for (const Entry& entry : entries) {
      if (!pollable(entry) || !entry.state.next_poll) continue;
      if (!earliest || *entry.state.next_poll < *earliest) earliest = *entry.state.next_poll;
    }
    if (!earliest) return;
    const auto delay = std::max<std::chrono::seconds>(seconds{0}, *earliest - now_utc());
    timer->expires_after(delay);
    timer->async_wait([self = shared_from_this()](boost::system::error_code error) {
      if (error || self->stopping) return;
      self->poll_due();
      self->arm_timer();
    });
  }

  void poll_due() {
    const Time now = now_utc();
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const Entry& entry = entries[i];
      if (pollable(entry) && (!entry.state.next_poll || *entry.state.next_poll <= now)) enqueue(i);
    }
    launch();
  }

  void schedule_prune() {
    prune_timer->expires_after(kPruneEvery);
    prune_timer->async_wait([self = shared_from_this()](boost::system::error_code error) {
      if (error || self->stopping) return;
      self->prune(nullptr);
      self->schedule_prune();
    });
  }

  // Runs on the writer; `then` (if any) on the strand afterwards.
  void prune(std::function<void()> then) {
    on_writer([self = shared_from_this(), then = std::move(then)] {
      if (!self->fault.empty()) {
        if (then) asio::post(self->strand, then);
        return;
      }
      // The open batch first: retention must not remove an item between its write and its
      // membership, which would fail the batch's foreign keys for every item in it.
      self->assign_unassigned();
      auto removed = self->store->prune(self->config.storage.retention,
                                        self->config.storage.max_items_per_feed, now_utc());
      self->wrote(removed ? std::string() : removed.error().message);
      if (!removed) {
        spdlog::error("retention: {}", removed.error().message);
      } else if (*removed > 0) {
        spdlog::info("retention: removed {} items", *removed);
        ++self->prune_epoch;
        if (auto tidied = self->stories->tidy(); !tidied)
          spdlog::error("stories: {}", tidied.error().message);
      }
      if (then) asio::post(self->strand, then);
    });
  }

  // --- service hooks (scheduler strand) --------------------------------------------------------

  Poller::Status status() const {
    Poller::Status status{.in_flight = in_flight,
                          .totals = summary,
                          .last_poll = last_poll,
                          .last_error = last_error,
                          .last_progress = last_progress};
    for (const Entry& entry : entries) {
      if (entry.removed || entry.state.disabled) continue;
      ++status.feeds;
      if (entry.state.consecutive_failures > 0) ++status.failing;
    }
    return status;
  }

  struct Registered {
    config::FeedConfig feed;
    store::FeedState state;  // as stored when registered
    std::string password;
  };

  // The config's enabled feeds with their stored state (added when new) and password. Writes:
  // the writer's, or before it runs.
  static Result<std::vector<Registered>> register_feeds(
      store::Store& store, const std::vector<config::FeedConfig>& all) {
    std::vector<std::string> urls;
    for (const config::FeedConfig& feed : all) {
      if (feed.enabled) urls.push_back(feed.url);
    }
    auto states = store.ensure_feeds(urls);
    if (!states) return states.error();
    std::vector<Registered> feeds;
    auto state = states->begin();
    for (const config::FeedConfig& feed : all) {
      if (feed.enabled)
        feeds.push_back({feed, std::move(*state++), read_password(feed.password_file)});
    }
    return feeds;
  }

  void apply_feeds(const config::PollConfig& poll, std::vector<Registered> feeds) {
    poll_config = poll;
    const Time now = now_utc();
    std::unordered_map<std::string, std::size_t> known;
    for (std::size_t i = 0; i < entries.size(); ++i)
      known.emplace(entries[i].config.url, i);
    std::unordered_set<std::string> wanted;
    std::vector<std::pair<std::int64_t, Time>> scheduled;
    for (Registered& registered : feeds) {
      wanted.insert(registered.feed.url);
      const IntervalLimits limits = limits_for(poll, registered.feed);
      auto it = known.find(registered.feed.url);
      Entry* entry = nullptr;
      if (it == known.end()) {
        entries.push_back({.config = registered.feed,
                           .limits = limits,
                           .state = std::move(registered.state),
                           .last_hints = {},
                           .password = std::move(registered.password)});
        entry = &entries.back();
        spdlog::info("{}: added by the reload", entry->config.url);
      } else {
        entry = &entries[it->second];
        if (entry->removed) spdlog::info("{}: added back by the reload", entry->config.url);
        entry->removed = false;
        entry->config = registered.feed;
        entry->limits = limits;
        entry->password = std::move(registered.password);
      }
      // A new feed is polled at once, a long-removed one as overdue at start. Not one in
      // flight or queued: its poll decides its next one.
      if (!pollable(*entry)) continue;
      const Time at = start_poll_time(entry->state, entry->limits, now, [this] { return draw(); });
      if (entry->state.next_poll != at) {
        entry->state.next_poll = at;
        scheduled.emplace_back(entry->state.id, at);
      }
    }
    store_schedule(std::move(scheduled));
    for (std::size_t i = 0; i < entries.size(); ++i) {
      Entry& entry = entries[i];
      if (entry.removed || wanted.contains(entry.config.url)) continue;
      entry.removed = true;  // a poll in flight still finishes and records
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
    if (!once && !stopping) arm_timer();
  }
};

Result<std::unique_ptr<Poller>> Poller::create(asio::io_context& io, const config::Config& config,
                                               std::unique_ptr<store::Store> store,
                                               Options options) {
  auto impl = std::make_shared<Impl>(io, config, std::move(store), options);
  auto stories = StoryAssigner::open(config, *impl->store);
  if (!stories) return stories.error();
  impl->stories = std::move(*stories);
  auto feeds = Impl::register_feeds(*impl->store, config.feeds);
  if (!feeds) return feeds.error();
  for (Impl::Registered& feed : *feeds) {
    impl->entries.push_back({.config = feed.feed,
                             .limits = limits_for(config.poll, feed.feed),
                             .state = std::move(feed.state),
                             .last_hints = {},
                             .password = std::move(feed.password)});
  }
  return std::unique_ptr<Poller>(new Poller(std::move(impl)));
}

Poller::Poller(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Poller::~Poller() {
  impl_->parse_pool.join();
  impl_->writer.join();
  // No thread runs the io_context now: the fetcher and the timers may go. Handlers still
  // queued in the io_context only hold the Impl, which no longer touches Asio objects.
  impl_->fetcher.reset();
  impl_->timer.reset();
  impl_->prune_timer.reset();
  impl_->batch_timer.reset();
  impl_->progress_timer.reset();
  impl_->files_timer.reset();
}

void Poller::start_once(bool all, std::function<void()> done) {
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
    const Time now = now_utc();
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

void Poller::start_run() {
  impl_->work.emplace(impl_->io.get_executor());
  asio::post(impl_->strand, [impl = impl_] {
    const Time now = now_utc();
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
    }
    spdlog::info(
        "polling {} feeds: {} never polled, polled now; {} overdue, polled within {} s; "
        "{} on schedule",
        never + overdue + on_schedule, never, overdue,
        std::chrono::duration_cast<seconds>(kOverdueSpread).count(), on_schedule);
    impl->store_schedule(std::move(scheduled));
    impl->open_round(due, never + overdue);
    impl->report_feeds_health();  // as the last run left the feeds
    impl->prune(nullptr);
    impl->schedule_prune();
    impl->schedule_files_check();
    impl->arm_timer();
  });
}

void Poller::stop(std::function<void()> stopped) {
  asio::post(impl_->strand, [impl = impl_, stopped = std::move(stopped)]() mutable {
    if (impl->stopping) return;
    impl->stopping = true;
    impl->timer->cancel();
    impl->prune_timer->cancel();
    impl->batch_timer->cancel();
    impl->progress_timer->cancel();
    impl->files_timer->cancel();
    impl->fetcher->cancel_all();
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

PollSummary Poller::summary() const {
  return impl_->summary;
}

void Poller::heartbeat(std::function<void(const Status&)> done) {
  asio::post(impl_->strand, [impl = impl_, done = std::move(done)]() mutable {
    asio::post(impl->writer, [impl, done = std::move(done)]() mutable {
      asio::post(impl->strand, [impl, done = std::move(done)] { done(impl->status()); });
    });
  });
}

void Poller::prune_now(std::function<void()> done) {
  asio::post(impl_->strand,
             [impl = impl_, done = std::move(done)]() mutable { impl->prune(std::move(done)); });
}

void Poller::run_on_writer(std::function<void()> work) {
  impl_->on_writer(std::move(work));
}

void Poller::reconfigure(const config::Config& config, std::function<void(std::string)> done) {
  // Registering feeds writes and password files are disk reads: both on the writer.
  impl_->on_writer([impl = impl_, config, done = std::move(done)]() mutable {
    std::vector<Impl::Registered> feeds;
    std::string error;
    if (!impl->fault.empty()) {
      error = "not written: " + impl->fault;
    } else if (auto registered = Impl::register_feeds(*impl->store, config.feeds); !registered) {
      error = registered.error().message;
    } else {
      feeds = std::move(*registered);
    }
    asio::post(impl->strand, [impl, poll = config.poll, feeds = std::move(feeds),
                              error = std::move(error), done = std::move(done)]() mutable {
      if (error.empty()) impl->apply_feeds(poll, std::move(feeds));
      done(std::move(error));
    });
  });
}

Result<std::unique_ptr<store::Store>> open_store(const config::Config& config) {
  const std::filesystem::path path = database_path(config);
  if (path.has_parent_path()) {
    std::error_code error;
    std::filesystem::create_directories(path.parent_path(), error);
    if (error) {
      return Error{.kind = ErrorKind::io,
                   .message = path.parent_path().string() +
                              ": cannot create the database folder: " + error.message()};
    }
  }
  return store::open_sqlite(path.string(), store::OpenMode::read_write);
}

}  // namespace feedmerge::daemon
