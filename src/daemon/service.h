// The daemon as a systemd service, around the Poller: the notify protocol (READY, STATUS,
// WATCHDOG while polls make progress, RELOADING, STOPPING), SIGHUP reloads the config, SIGINT
// and SIGTERM stop it. Owned by run_daemon; every member runs on its own strand of the
// daemon's io_context, except the config file read, which runs on a thread of its own.
// Test hook (TestHooks::enabled): SIGUSR2 stalls the writer for TestHooks::writer_stall,
// reporting "STATUS=test hook: writer stalled" and "...resumed", so a test can watch the
// watchdog pings stop.
#pragma once

#include <memory>

#include <boost/asio/io_context.hpp>

#include "daemon/notify.h"
#include "daemon/poller.h"
#include "feedmerge/config/config.h"
#include "feedmerge/daemon/daemon.h"
#include "feedmerge/daemon/reload.h"

namespace feedmerge::daemon {

class Service {
 public:
  Service(boost::asio::io_context& io, Poller& poller, const config::Config& config,
          Notifier& notifier, const TestHooks& hooks = {});
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Listens for signals and starts the heartbeat. `stopped` runs once a SIGINT or SIGTERM has
  // stopped the poller (fetches cancelled, the open transaction committed).
  void start(std::function<void()> stopped);
  // READY=1: once the service does what it promises (the database is open; with the HTTP
  // server, once its port is bound).
  void notify_ready();
  // Stops as SIGINT/SIGTERM do: for a signal that arrived before start() (the caller's own
  // signal_set held it). Any thread; a second call does nothing.
  void stop(int signal);
  // The writer stopped writing for good (Poller::Options::on_fault): says why (log, STATUS=)
  // and stops as SIGTERM does; the caller exits non-zero so that systemd restarts it. Any
  // thread.
  void fail(std::string reason);
  // Called after each successful reload; see ReloadSubscriber. Call before start().
  void subscribe(ReloadSubscriber subscriber);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace feedmerge::daemon
