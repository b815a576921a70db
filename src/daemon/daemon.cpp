#include "feedmerge/daemon/daemon.h"

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>

#include "daemon/logging.h"
#include "daemon/notify.h"
#include "daemon/poller.h"
#include "daemon/schedule.h"
#include "daemon/service.h"
#include "feedmerge/publish/metrics.h"
#include "feedmerge/store/store.h"
#include "publish/http_server.h"
#include "publish/publisher.h"

namespace feedmerge::daemon {

namespace asio = boost::asio;

namespace {

int threads_or_cores(int requested) {
  if (requested > 0) return requested;
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

publish::PollResult poll_result(PollKind kind) {
  switch (kind) {
    case PollKind::fresh:
      return publish::PollResult::fresh;
    case PollKind::unchanged:
      return publish::PollResult::unchanged;
    case PollKind::not_modified:
      return publish::PollResult::not_modified;
    case PollKind::http_error:
      return publish::PollResult::http_error;
    case PollKind::failed:
      return publish::PollResult::failed;
  }
  return publish::PollResult::failed;
}

}  // namespace

std::string database_path(const config::Config& config) {
  const char* state_directory = std::getenv("STATE_DIRECTORY");
  return config::resolve_database_path(config.storage, state_directory ? state_directory : "");
}

Result<PollSummary> poll_once(const config::Config& config, bool all, bool process_exits_after) {
  set_log_level(config.log.level);
  for (const Warning& warning : config.warnings)
    spdlog::warn("{}", located(config.source, warning));
  auto store = open_store(config);
  if (!store) return store.error();
  asio::io_context io;
  auto poller = Poller::create(
      io, config, std::move(*store),
      {.parse_threads = threads_or_cores(0), .process_exits_after = process_exits_after});
  if (!poller) return poller.error();
  // Stopped rather than drained: curl may keep idle connections watched by Asio.
  (*poller)->start_once(all, [&io] { io.stop(); });
  io.run();
  PollSummary summary = (*poller)->summary();
  poller->reset();  // joins the parse pool and the writer
  return summary;
}

int run_daemon(const config::Config& config, RunOptions options) {
  // The journal when systemd started us, else the console (src/daemon/logging.h).
  setup_logging(config.log.level);
  for (const Warning& warning : config.warnings)
    spdlog::warn("{}", located(config.source, warning));
  Notifier notifier;
  auto store = open_store(config);
  if (!store) {
    spdlog::error("{}", store.error().message);
    notifier.status("cannot open the database: " + store.error().message);
    return 1;
  }
  spdlog::info("database {}", (*store)->path());
  // Declared before everything that holds Asio objects, so that it is destroyed after them.
  asio::io_context io;
  publish::Metrics metrics;
  publish::Publisher publisher(config, (*store)->path(), metrics);
  // What the database holds already is served from the first request on.
  if (auto rendered = publisher.rebuild_now(); !rendered) {
    spdlog::error("publish: {}", rendered.error().message);
  }
  publish::ServerOptions server_options;
  server_options.max_poll_silence = 2 * config.poll.max_interval;
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
  auto on_polled = [&metrics, &publisher](const PollEvent& event) {
    metrics.record_poll(poll_result(event.kind), std::chrono::duration<double>(event.duration));
    if (event.stored_changes) publisher.request_rebuild();
  };
  auto poller = Poller::create(io, config, std::move(*store),
                               {.parse_threads = threads_or_cores(options.parse_threads),
                                .on_polled = on_polled,
                                .on_stories = [&publisher] { publisher.request_rebuild(); }});
  if (!poller) {
    spdlog::error("{}", poller.error().message);
    return 1;
  }
  Poller& running = **poller;
  // SIGINT/SIGTERM stop, SIGHUP reloads, STATUS and the watchdog (src/daemon/service.h).
  Service service(io, running, config, notifier);
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
    spdlog::info("stopped");
    io.stop();
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
  return 0;
}

Result<std::vector<FeedReport>> feed_reports(const config::Config& config, model::Time now) {
  const std::string path = database_path(config);
  std::unique_ptr<store::Store> store;
  if (std::filesystem::exists(path)) {
    auto opened = store::Store::open(path, store::OpenMode::read_only);
    if (!opened) return opened.error();
    store = std::move(*opened);
  }
  std::vector<FeedReport> reports;
  for (const config::FeedConfig& feed : config.feeds) {
    FeedReport report{.url = feed.url,
                      .fetch_url = feed.url,
                      .title = feed.title,
                      .enabled = feed.enabled,
                      .status = feed.enabled ? "never polled" : "disabled"};
    if (store) {
      auto found = store->find_feed(feed.url);
      if (!found) return found.error();
      if (*found) {
        const store::FeedState& state = **found;
        report.fetch_url = store::url_to_fetch(state);
        if (report.title.empty()) report.title = state.title;
        if (feed.enabled) report.status = feed_status(state, now);
        report.last_status = state.last_status;
        report.last_attempt = state.last_attempt;
        report.last_success = state.last_success;
        report.next_poll = state.next_poll;
        report.items = state.item_count;
        report.consecutive_failures = state.consecutive_failures;
        report.error = state.disabled ? state.disabled_reason : state.last_error;
      }
    }
    reports.push_back(std::move(report));
  }
  return reports;
}

}  // namespace feedmerge::daemon
