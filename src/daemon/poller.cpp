#include "daemon/poller.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include <boost/asio/post.hpp>

namespace feedmerge::daemon {

namespace asio = boost::asio;

namespace {

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

}  // namespace

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

Result<std::unique_ptr<Poller>> Poller::create(asio::io_context& io, const config::Config& config,
                                               std::unique_ptr<store::Store> store,
                                               Options options) {
  std::unique_ptr<Poller> poller(new Poller());
  poller->clock_ = options.clock ? options.clock : std::make_shared<SystemClock>();
  const bool leased = !options.cluster_url.empty();
  std::function<void()> on_stories = options.on_stories;  // the keeper's copy
  std::unique_ptr<store::Cluster> cluster;
  if (leased) {
    auto opened = store::open_cluster(options.cluster_url, store::make_owner_name(), options.lease);
    if (!opened) return opened.error();
    cluster = std::move(*opened);
  }
  auto writer = Writer::open(config, std::move(store), *poller->clock_,
                             {.on_stories = std::move(options.on_stories),
                              .on_busy = std::move(options.on_writer_busy),
                              .on_write = std::move(options.on_write),
                              .on_fault = std::move(options.on_fault),
                              .on_settled = std::move(options.on_settled),
                              .leased = leased || !options.assign_stories,
                              .max_open_batch = options.max_open_batch});
  if (!writer) return writer.error();
  poller->writer_ = std::move(*writer);
  auto feeds = poller->writer_->register_now(config.feeds);
  if (!feeds) return feeds.error();
  poller->fetcher_ = options.fetcher
                         ? options.fetcher
                         : std::make_shared<fetch::HttpFetcher>(io, fetch_options(config.poll));
  poller->parse_pool_.emplace(static_cast<std::size_t>(std::max(1, options.parse_threads)));
  auto parse = [pool = &*poller->parse_pool_](std::function<void()> work) {
    asio::post(*pool, [work = std::move(work)] {
      lower_priority_once();
      work();
    });
  };
  poller->scheduler_ = std::make_unique<Scheduler>(
      io, config, *poller->fetcher_, *poller->writer_, std::move(parse), *poller->clock_,
      Scheduler::Options{.on_polled = std::move(options.on_polled),
                         .on_feeds_health = std::move(options.on_feeds_health),
                         .progress_every = options.progress_every,
                         .leased = leased},
      std::move(*feeds));
  if (leased) {
    Scheduler* scheduler = poller->scheduler_.get();
    Writer* writing = poller->writer_.get();
    const std::string owner = cluster->owner();
    poller->keeper_ = std::make_unique<LeaseKeeper>(
        std::move(cluster), lease_period(options.lease),
        [scheduler] { return scheduler->lease_units(); },
        [scheduler, writing, owner,
         on_leases = std::move(options.on_leases)](LeaseKeeper::Round round) {
          if (on_leases) on_leases(owner, round.held.size(), round.term.has_value());
          scheduler->hold(std::move(round.held), std::move(round.gained));
          writing->set_assigner(round.term);
        },
        std::move(on_stories));
  }
  return poller;
}

Poller::~Poller() {
  // The keeper first: its rounds reach the scheduler and the writer. Its leases go back.
  keeper_.reset();
  // Parses first (they hand work to the writer), then the writes.
  if (parse_pool_) parse_pool_->join();
  writer_.reset();
  // No thread runs the io_context now: the scheduler's timers and the fetcher may go.
  scheduler_.reset();
  fetcher_.reset();
  parse_pool_.reset();
}

void Poller::start_once(bool all, std::function<void()> done) {
  scheduler_->start_once(all, std::move(done));
}

void Poller::start_run() {
  scheduler_->start_run();
  if (keeper_) keeper_->start();
}

void Poller::stop(std::function<void()> stopped) {
  scheduler_->stop(std::move(stopped));
}

PollSummary Poller::summary() const {
  return scheduler_->summary();
}

void Poller::heartbeat(std::function<void(const Status&)> done) {
  scheduler_->heartbeat(std::move(done));
}

void Poller::run_on_writer(std::function<void()> work) {
  writer_->run(std::move(work));
}

void Poller::prune_now(std::function<void()> done) {
  scheduler_->prune_now(std::move(done));
}

void Poller::reconfigure(const config::Config& config, std::function<void(std::string)> done) {
  scheduler_->reconfigure(config, std::move(done));
}

Result<std::unique_ptr<store::Store>> open_store(const config::Config& config) {
  if (config.storage.backend != config::StorageBackend::sqlite) {
    auto location = store_location(config);
    if (!location) return location.error();
    return store::open_store(*location, store::OpenMode::read_write);
  }
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
