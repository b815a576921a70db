// The composition root: run_daemon and poll_once open the store and wire it, the fetcher, the
// polling machinery (poller.h: writer and scheduler), the publisher, the HTTP server and the
// service together; the jobs themselves live in those.
#include "feedmerge/daemon/daemon.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <thread>

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "daemon/logging.h"
#include "daemon/notify.h"
#include "daemon/poller.h"
#include "daemon/schedule.h"
#include "daemon/service.h"
#include "feedmerge/publish/metrics.h"
#include "feedmerge/report/feeds.h"
#include "feedmerge/store/cluster.h"
#include "feedmerge/store/store.h"
#include "fetch/http_fetcher.h"
#include "publish/http_server.h"
#include "publish/publisher.h"
#include "store/sqlite_lock.h"

namespace feedmerge::daemon {

namespace asio = boost::asio;

namespace {

int threads_or_cores(int requested) {
  if (requested > 0) return requested;
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

std::string utc_now_text() {
  const std::time_t t = std::time(nullptr);
  std::tm parts{};
  gmtime_r(&t, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

// For `feeds` (database_fault), which reads the files and not the daemon.
void leave_fault_note(const std::string& database, const std::string& reason) {
  std::ofstream note(report::fault_note_path(database), std::ios::trunc);
  note << utc_now_text() << ": " << reason << '\n';
  if (!note.flush()) spdlog::error("{}: cannot write the note", report::fault_note_path(database));
}

// A sound database at start: the last run's fault, if any, is over.
void clear_fault_note(const std::string& database) {
  std::ifstream in(report::fault_note_path(database));
  std::string previous;
  if (!std::getline(in, previous)) return;
  spdlog::warn("the last run stopped writing at {}; starting from what the database file holds",
               previous);
  std::error_code ignored;
  std::filesystem::remove(report::fault_note_path(database), ignored);
}

// TestHooks::start_gate: blocks until a writer has opened the FIFO and closed it. A signal
// interrupts open and read (Asio's handler does not restart them), so both are retried.
void pass_start_gate(const std::string& fifo) {
  int fd = -1;
  while ((fd = ::open(fifo.c_str(), O_RDONLY | O_CLOEXEC)) < 0 && errno == EINTR) {
  }
  if (fd < 0) return;
  char buffer[64];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n == 0 || (n < 0 && errno != EINTR)) break;
  }
  ::close(fd);
}

// A corrupt database is never written to: the daemon serves what could be rendered from it (a
// configured output that could not be is a 503, never a 404), /healthz says why, systemd's
// watchdog is kept fed (a restart cannot repair the file), until SIGINT or SIGTERM.
int serve_without_writing(asio::io_context& io, asio::signal_set& signals, Notifier& notifier,
                          const std::string& reason) {
  spdlog::error(
      "{}; refusing to write to it. Restore a backup or move the file away, then "
      "restart",
      reason);
  signals.async_wait([&io](boost::system::error_code error, int signal) {
    if (!error) spdlog::info("signal {}: stopping", signal);
    io.stop();
  });
  asio::steady_timer pings(io);
  std::function<void()> ping = [&] {
    notifier.watchdog();
    pings.expires_after(*notifier.watchdog_interval() / 2);
    pings.async_wait([&](boost::system::error_code error) {
      if (!error) ping();
    });
  };
  if (notifier.watchdog_interval()) ping();
  notifier.ready("refusing to write: " + reason);
  io.run();
  notifier.stopping("stopping");
  return 0;
}

}  // namespace

std::string database_path(const config::Config& config) {
  const char* state_directory = std::getenv("STATE_DIRECTORY");
  return config::resolve_database_path(config.storage, state_directory ? state_directory : "");
}

Result<std::string> store_location(const config::Config& config) {
  const config::StorageConfig& storage = config.storage;
  if (storage.backend == config::StorageBackend::sqlite) return database_path(config);
  if (!storage.url.empty()) return storage.url;
  std::ifstream in(storage.url_file);
  std::string url((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in && !in.eof()) {
    return Error{ErrorKind::config, "storage.url_file: cannot read " + storage.url_file};
  }
  const auto blank = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
  while (!url.empty() && blank(url.back()))
    url.pop_back();
  std::size_t start = 0;
  while (start < url.size() && blank(url[start]))
    ++start;
  url.erase(0, start);
  if (!store::is_postgresql_url(url)) {
    return Error{ErrorKind::config,
                 "storage.url_file: " + storage.url_file + " does not hold a postgresql:// URL"};
  }
  return url;
}

Result<PollSummary> poll_once(const config::Config& config, bool all) {
  // Where `run` logs: standard error, or the journal under systemd (never standard output,
  // which carries the command's own result).
  setup_logging(config.log.level);
  for (const Warning& warning : config.warnings)
    spdlog::warn("{}", located(config.source, warning));
  // One polling process per SQLite database: a `run` or another `once` holds it
  // (sqlite_lock.h). PostgreSQL serves several processes itself.
  store::SqliteLock lock;
  if (config.storage.backend == config::StorageBackend::sqlite) {
    auto acquired = store::SqliteLock::acquire(database_path(config));
    if (!acquired) return acquired.error();
    lock = std::move(*acquired);
  }
  auto store = open_store(config);
  if (!store) return store.error();
  // PostgreSQL: stories are assigned by one process at a time. `once` takes the assigner's
  // lock for its run (its batches fenced by the term) or, when a `run` holds it, only stores
  // items, which that one assigns. It polls every feed asked for, leases or not.
  std::unique_ptr<store::Cluster> cluster;
  bool assigns = true;
  if (config.storage.backend == config::StorageBackend::postgresql) {
    auto location = store_location(config);
    if (!location) return location.error();
    auto opened = store::open_cluster(*location, store::make_owner_name(), config.storage.lease);
    if (!opened) return opened.error();
    cluster = std::move(*opened);
    auto term = cluster->assigner_term();
    if (!term) return term.error();
    if (*term) {
      (*store)->fence_story_writes(**term);
    } else {
      assigns = false;
      spdlog::info("stories: another process assigns them; this run stores items only");
    }
  }
  asio::io_context io;
  auto poller = Poller::create(
      io, config, std::move(*store),
      {.parse_threads = threads_or_cores(0),
       .fetcher = std::make_shared<fetch::HttpFetcher>(io, fetch_options(config.poll)),
       .assign_stories = assigns});
  if (!poller) return poller.error();
  // SIGINT or SIGTERM (Ctrl-C, a cron job's time limit) stops as `run` stops: fetches in
  // flight are cancelled and the open transaction finishes; the summary says so.
  asio::signal_set signals(io, SIGINT, SIGTERM);
  bool interrupted = false;
  signals.async_wait([&](const boost::system::error_code& error, int signal) {
    if (error) return;
    interrupted = true;
    spdlog::info("signal {}: stopping; no new fetches, finishing the writes in progress", signal);
    (*poller)->stop([&io] { io.stop(); });
  });
  // Stopped rather than drained: curl may keep idle connections watched by Asio.
  (*poller)->start_once(all, [&io, &signals] {
    signals.cancel();
    io.stop();
  });
  io.run();
  PollSummary summary = (*poller)->summary();
  summary.interrupted = interrupted;
  poller->reset();  // joins the parse pool and the writer
  return summary;
}

int run_daemon(const config::Config& config, RunOptions options) {
  // The journal when systemd started us, else the console (src/daemon/logging.h).
  setup_logging(config.log.level);
  for (const Warning& warning : config.warnings)
    spdlog::warn("{}", located(config.source, warning));
  Notifier notifier;
  // Held until the process ends; readers and `story merge|split` never take it. SQLite only.
  store::SqliteLock lock;
  if (config.storage.backend == config::StorageBackend::sqlite) {
    auto acquired = store::SqliteLock::acquire(database_path(config));
    if (!acquired) {
      spdlog::error("{}", acquired.error().message);
      notifier.status(acquired.error().message);
      return 1;
    }
    lock = std::move(*acquired);
  }
  // The publisher opens its own reader at `path`: for PostgreSQL the URL with its password,
  // which the store's location() (what the log shows) leaves out.
  auto location = store_location(config);
  if (!location) {
    spdlog::error("{}", location.error().message);
    notifier.status(location.error().message);
    return 1;
  }
  auto store = open_store(config);
  if (!store) {
    spdlog::error("{}", store.error().message);
    notifier.status("cannot open the database: " + store.error().message);
    return 1;
  }
  const std::string path = *location;
  spdlog::info("database {}", (*store)->location());
  // A damaged page anywhere: writing on would spread the damage (issue 17).
  std::string corrupt;
  if (auto sound = (*store)->quick_check(); !sound) {
    corrupt = sound.error().message;
    store->reset();  // nothing writes to it
    leave_fault_note(path, corrupt);
  } else {
    clear_fault_note(path);
  }
  // Declared before everything that holds Asio objects, so that it is destroyed after them.
  asio::io_context io;
  // Catches SIGINT/SIGTERM from here on: the server answers before the poller (and with it
  // the service's own signal_set) exists, and opening a PostgreSQL cluster takes a while, so a
  // stop sent as soon as the feed is served would otherwise kill the process. Handed to the
  // service once it listens (below).
  asio::signal_set early_stop(io, SIGINT, SIGTERM);
  publish::Metrics metrics;
  publish::Publisher publisher(config, path, metrics);
  // What the database holds already is served from the first request on.
  if (auto rendered = publisher.rebuild_now(); !rendered) {
    spdlog::error("publish: {}", rendered.error().message);
  }
  publish::ServerOptions server_options;
  server_options.max_poll_silence = 2 * config.poll.max_interval;
  server_options.writer_stuck_after =
      options.hooks.writer_stuck_after.value_or(publish::Metrics::kWriterStuckAfter);
  auto start_server =
      [&](const config::Config& with) -> Result<std::unique_ptr<publish::HttpServer>> {
    auto started = std::make_unique<publish::HttpServer>(
        server_options, [&publisher] { return publisher.site(); }, metrics);
    if (auto listening = started->listen(with.server.listen); !listening) {
      started->stop();
      return listening.error();
    }
    spdlog::info("serving the merged feeds on {}", config::effective_base_url(with.server));
    return started;
  };
  // The server in use, and those a reload replaced: stopped at once, destroyed at exit so that
  // no handler waits for their threads. Guarded: the reload runs on the service's strand, the
  // stop on whichever thread ends the loop.
  std::mutex server_mutex;
  std::unique_ptr<publish::HttpServer> server;
  std::vector<std::unique_ptr<publish::HttpServer>> retired_servers;
  if (!config.server.listen.empty()) {
    auto started = start_server(config);
    if (!started) {
      spdlog::error("{}", started.error().message);
      return 1;
    }
    server = std::move(*started);
  }
  if (!corrupt.empty()) {
    metrics.set_writer_fault(corrupt);
    const int code = serve_without_writing(io, early_stop, notifier, corrupt);
    if (server) server->stop();
    return code;
  }
  if (options.hooks.enabled && !options.hooks.start_gate.empty())
    pass_start_gate(options.hooks.start_gate);
  auto on_polled = [&metrics, &publisher](const PollEvent& event) {
    metrics.record_poll(event.kind, std::chrono::duration<double>(event.duration));
    if (event.stored_changes) {
      publisher.request_rebuild();
    } else if (event.health_changed) {
      publisher.request_refresh();  // the index page's feed table; at a bounded rate
    }
  };
  // Set by the writer when it stops writing for good; the service then stops (see below).
  std::function<void(const std::string&)> on_fault;
  std::atomic<bool> failed{false};
  auto poller = Poller::create(
      io, config, std::move(*store),
      {.parse_threads = threads_or_cores(options.parse_threads),
       .on_polled = on_polled,
       .on_stories = [&publisher] { publisher.request_rebuild(); },
       .on_writer_busy = [&metrics](bool busy) { metrics.set_writer_busy(busy); },
       .on_write = [&metrics](const std::string& error) { metrics.set_write_error(error); },
       .on_fault =
           [&](const std::string& reason) {
             metrics.set_writer_fault(reason);
             leave_fault_note(path, reason);
             failed = true;
             if (on_fault) on_fault(reason);
           },
       .on_settled = [&metrics](std::chrono::duration<double> took,
                                int moved) { metrics.record_settle(took, moved); },
       .on_feeds_health =
           [&metrics](const std::string& problem) { metrics.set_feeds_problem(problem); },
       .fetcher = std::make_shared<fetch::HttpFetcher>(io, fetch_options(config.poll)),
       // PostgreSQL: any number of `run` share the database (leases, one story assigner).
       .cluster_url =
           config.storage.backend == config::StorageBackend::postgresql ? path : std::string(),
       .lease = config.storage.lease,
       .on_leases =
           [&metrics](const std::string& owner, std::size_t held, bool assigner) {
             metrics.set_cluster(owner, static_cast<std::int64_t>(held), assigner);
           }});
  if (!poller) {
    spdlog::error("{}", poller.error().message);
    return 1;
  }
  Poller& running = **poller;
  // SIGINT/SIGTERM stop, SIGHUP reloads, STATUS and the watchdog (src/daemon/service.h).
  Service service(io, running, config, notifier, options.hooks);
  // Exits non-zero, so that systemd restarts it and the next start finds what the disk holds.
  on_fault = [&service](const std::string& reason) { service.fail(reason); };
  // SIGHUP: outputs render anew with the new config; a changed listen address is bound first
  // and swapped in only once it works, so a bad address leaves the old one serving.
  service.subscribe([&](const ConfigReload& reload) {
    if (reload.changes.outputs_changed || reload.changes.server_changed)
      publisher.reconfigure(reload.after);
    if (!reload.changes.server_changed) return;
    std::unique_ptr<publish::HttpServer> next;
    if (!reload.after.server.listen.empty()) {
      auto started = start_server(reload.after);
      if (!started) {
        spdlog::error("reload: {}; still serving on {}", started.error().message,
                      reload.before.server.listen);
        return;
      }
      next = std::move(*started);
    }
    std::lock_guard lock(server_mutex);
    if (server) {
      server->stop();
      retired_servers.push_back(std::move(server));
    }
    server = std::move(next);
  });
  service.start([&io, &server, &server_mutex] {
    {
      std::lock_guard lock(server_mutex);
      if (server) server->stop();
    }
    io.stop();  // the service has logged "stopped"
  });
  // A stop that arrived before the service listened is delivered now; later ones reach both
  // sets, and the service stops once.
  early_stop.async_wait([&service](const boost::system::error_code& error, int signal) {
    if (!error) service.stop(signal);
  });
  running.start_run();
  // READY=1: the database is open and the HTTP port (if any) is bound.
  service.notify_ready();

  std::vector<std::thread> threads;
  const int io_threads = threads_or_cores(options.io_threads);
  for (int i = 1; i < io_threads; ++i)
    threads.emplace_back([&io] { io.run(); });
  io.run();
  for (std::thread& thread : threads)
    thread.join();
  poller->reset();
  server.reset();
  retired_servers.clear();
  return failed ? 1 : 0;
}

}  // namespace feedmerge::daemon
