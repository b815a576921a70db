#include "daemon/service.h"

#include <csignal>
#include <ctime>
#include <thread>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include "daemon/logging.h"
#include "feedmerge/normalize/url.h"

namespace feedmerge::daemon {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// Without a watchdog, STATUS= is still refreshed this often.
constexpr std::chrono::milliseconds kStatusEvery = 10s;

std::string utc_text(model::Time time) {
  const std::time_t t = std::chrono::system_clock::to_time_t(time);
  std::tm parts{};
  gmtime_r(&t, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

}  // namespace

struct Service::Impl : std::enable_shared_from_this<Service::Impl> {
  Impl(asio::io_context& io, Poller& poller_ref, const config::Config& cfg, Notifier& notify,
       const TestHooks& test_hooks)
      : strand(asio::make_strand(io)),
        poller(poller_ref),
        notifier(notify),
        hooks(test_hooks),
        config(cfg),
        files(1) {
    stop_signals.emplace(strand, SIGINT, SIGTERM);
    hup.emplace(strand, SIGHUP);
    debug.emplace(strand);
    beat_timer.emplace(strand);
    // A stall longer than any fetch can take means the pipeline is stuck, not busy.
    stall_limit = 2 * config.poll.timeout + std::chrono::seconds(60);
  }

  asio::strand<asio::io_context::executor_type> strand;
  Poller& poller;
  Notifier& notifier;
  const TestHooks hooks;
  // Everything below: the strand's.
  config::Config config;
  // optional so ~Service can drop them while no thread runs the io_context (as ~Poller does).
  std::optional<asio::signal_set> stop_signals;
  std::optional<asio::signal_set> hup;
  std::optional<asio::signal_set> debug;
  std::optional<asio::steady_timer> beat_timer;
  asio::thread_pool files;  // reads the config file: disk I/O stays out of handlers
  std::vector<ReloadSubscriber> subscribers;
  std::function<void()> stopped;
  std::chrono::steady_clock::duration stall_limit;
  bool ready = false;
  bool stopping = false;
  bool reloading = false;
  bool reload_again = false;  // a SIGHUP arrived during a reload
  std::string reload_error;   // the last reload's failure, until one succeeds
  std::string last_status;
  std::optional<Poller::Status> poller_status;

  std::string status_text() const {
    std::string text;
    if (poller_status) {
      const Poller::Status& s = *poller_status;
      text = std::to_string(s.feeds) + " feeds";
      text += s.last_poll ? "; last poll " + utc_text(*s.last_poll) : "; no poll yet";
      text += "; " + std::to_string(s.totals.polled) + " polls, " +
              std::to_string(s.totals.failed) + " failed, " + std::to_string(s.totals.new_items) +
              " new items; " + std::to_string(s.failing) + " feeds failing";
      if (s.failing > 0 && !s.last_error.empty())  // shown by systemctl status: no secrets
        text += "; last error: " + normalize::redact_urls_in(s.last_error);
    } else {
      text = std::to_string(config.feeds.size()) + " feeds configured";
    }
    if (!reload_error.empty())
      text += "; config reload failed, previous config in force: " + reload_error;
    return text;
  }

  void start(std::function<void()> on_stopped) {
    stopped = std::move(on_stopped);
    stop_signals->async_wait([self = shared_from_this()](boost::system::error_code error, int n) {
      if (!error) self->stop(n);
    });
    wait_hup();
    if (hooks.enabled) {
      debug->add(SIGUSR2);
      wait_debug();
    }
    if (notifier.enabled()) beat();
  }

  void stop(int signal) {
    if (stopping) return;
    spdlog::info("signal {}: stopping; no new fetches, finishing the writes in progress", signal);
    stop_with("stopping: cancelling fetches, finishing the open transaction");
  }

  void fail(const std::string& reason) {
    if (stopping) return;
    spdlog::error("stopping with a failure, for a restart: {}", reason);
    stop_with("stopped writing: " + reason);
  }

  void stop_with(const std::string& status) {
    stopping = true;
    notifier.stopping(status);
    beat_timer->cancel();
    hup->cancel();
    debug->cancel();
    poller.stop([self = shared_from_this()] {
      asio::post(self->strand, [self] {
        spdlog::info("stopped");
        if (self->stopped) self->stopped();
      });
    });
  }

  // --- heartbeat: STATUS= and WATCHDOG=1 ---------------------------------------------------

  std::chrono::steady_clock::duration beat_period() const {
    if (auto interval = notifier.watchdog_interval()) {
      // Half the watchdog interval, as sd_watchdog_enabled(3) advises.
      return std::min<std::chrono::steady_clock::duration>(*interval / 2, kStatusEvery);
    }
    return kStatusEvery;
  }

  // One heartbeat at a time: the next starts only after the last came back, so a stuck loop
  // or writer leaves no pings queued behind it.
  void beat() {
    if (stopping) return;
    beat_timer->expires_after(beat_period());
    beat_timer->async_wait([self = shared_from_this()](boost::system::error_code error) {
      if (error || self->stopping) return;
      self->poller.heartbeat([self](const Poller::Status& status) {
        asio::post(self->strand, [self, status] { self->on_beat(status); });
      });
    });
  }

  void on_beat(const Poller::Status& status) {
    if (stopping) return;
    poller_status = status;
    const bool progressing = status.in_flight == 0 ||
                             std::chrono::steady_clock::now() - status.last_progress < stall_limit;
    if (notifier.watchdog_interval()) {
      if (progressing) {
        notifier.watchdog();
      } else {
        spdlog::error(
            "no poll has finished for {} s with {} in flight: withholding the "
            "watchdog ping",
            std::chrono::duration_cast<std::chrono::seconds>(stall_limit).count(),
            status.in_flight);
      }
    }
    if (ready && !reloading) publish_status();
    beat();
  }

  void publish_status() {
    std::string text = status_text();
    if (text == last_status) return;
    last_status = text;
    notifier.status(text);
  }

  // --- SIGHUP ------------------------------------------------------------------------------

  void wait_hup() {
    hup->async_wait([self = shared_from_this()](boost::system::error_code error, int) {
      if (error || self->stopping) return;
      self->wait_hup();
      if (self->reloading) {
        self->reload_again = true;
        return;
      }
      self->reload();
    });
  }

  void reload() {
    reloading = true;
    const std::string path = config.source;
    spdlog::info("SIGHUP: reloading {}", path);
    notifier.reloading("reloading " + path);
    asio::post(files, [self = shared_from_this(), path] {
      auto loaded = config::load_config(path);
      asio::post(self->strand, [self, path, loaded = std::move(loaded)]() mutable {
        self->loaded(path, std::move(loaded));
      });
    });
  }

  void loaded(const std::string& path, Result<config::Config> loaded) {
    if (stopping) return;
    if (!loaded) {
      reload_error = located(path, loaded.error());
      spdlog::error("{}; keeping the previous config", reload_error);
      finish_reload();
      return;
    }
    auto after = std::make_shared<config::Config>(std::move(*loaded));
    auto changes = std::make_shared<ConfigChanges>(diff_configs(config, *after));
    poller.reconfigure(*after, [self = shared_from_this(), after, changes](std::string error) {
      asio::post(self->strand, [self, after, changes, error = std::move(error)] {
        self->reconfigured(after, changes, error);
      });
    });
  }

  void reconfigured(const std::shared_ptr<config::Config>& after,
                    const std::shared_ptr<ConfigChanges>& changes, const std::string& error) {
    if (stopping) return;
    if (!error.empty()) {
      reload_error = error;
      spdlog::error("reload: {}; keeping the previous config", error);
      finish_reload();
      return;
    }
    reload_error.clear();
    set_log_level(after->log.level);
    if (changes->storage_changed) spdlog::warn("reload: [storage] changes apply at the next start");
    for (const Warning& warning : after->warnings)
      spdlog::warn("{}", located(after->source, warning));
    spdlog::info("reloaded {}: {}", after->source, describe(*changes));
    const config::Config before = std::move(config);
    config = *after;
    for (const ReloadSubscriber& subscriber : subscribers)
      subscriber({.before = before, .after = config, .changes = *changes});
    finish_reload();
  }

  void finish_reload() {
    reloading = false;
    // The poller's figures may be stale; the next heartbeat refreshes them.
    last_status = status_text();
    notifier.ready(last_status);
    if (reload_again) {
      reload_again = false;
      reload();
    }
  }

  // --- test hook ---------------------------------------------------------------------------

  void wait_debug() {
    debug->async_wait([self = shared_from_this()](boost::system::error_code error, int) {
      if (error || self->stopping) return;
      self->wait_debug();
      const auto stall = self->hooks.writer_stall;
      spdlog::warn("test hook: stalling the writer for {} ms", stall.count());
      self->poller.run_on_writer([self, stall] {
        self->notifier.status("test hook: writer stalled");
        std::this_thread::sleep_for(stall);  // the point: a writer stuck as on a dead disk
        self->notifier.status("test hook: writer resumed");
      });
    });
  }
};

Service::Service(asio::io_context& io, Poller& poller, const config::Config& config,
                 Notifier& notifier, const TestHooks& hooks)
    : impl_(std::make_shared<Impl>(io, poller, config, notifier, hooks)) {}

Service::~Service() {
  impl_->files.join();
  impl_->beat_timer.reset();
  impl_->stop_signals.reset();
  impl_->hup.reset();
  impl_->debug.reset();
}

void Service::start(std::function<void()> stopped) {
  asio::post(impl_->strand, [impl = impl_, stopped = std::move(stopped)]() mutable {
    impl->start(std::move(stopped));
  });
}

void Service::notify_ready() {
  asio::post(impl_->strand, [impl = impl_] {
    impl->ready = true;
    impl->last_status = impl->status_text();
    impl->notifier.ready(impl->last_status);
    spdlog::info("ready");
  });
}

void Service::stop(int signal) {
  asio::post(impl_->strand, [impl = impl_, signal] { impl->stop(signal); });
}

void Service::fail(std::string reason) {
  asio::post(impl_->strand, [impl = impl_, reason = std::move(reason)] { impl->fail(reason); });
}

void Service::subscribe(ReloadSubscriber subscriber) {
  impl_->subscribers.push_back(std::move(subscriber));
}

}  // namespace feedmerge::daemon
