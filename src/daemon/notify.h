// The systemd notify protocol (sd_notify(3)) through libsystemd: READY, STATUS, WATCHDOG,
// RELOADING, STOPPING. Without $NOTIFY_SOCKET (not started by systemd, or Type=simple) every
// call does nothing, so the daemon runs the same in a terminal.
// Threading: libsystemd's sd_notify is thread-safe; a Notifier may be used from any thread.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace feedmerge::daemon {

class Notifier {
 public:
  // Reads $NOTIFY_SOCKET and $WATCHDOG_USEC (and $WATCHDOG_PID, which must be ours) once.
  Notifier();

  // The service manager listens: $NOTIFY_SOCKET is set.
  bool enabled() const { return enabled_; }
  // How often systemd expects WATCHDOG=1 (WatchdogSec=), when it expects it at all.
  std::optional<std::chrono::microseconds> watchdog_interval() const { return watchdog_; }

  void ready(std::string_view status);      // READY=1 and STATUS=
  void status(std::string_view status);     // STATUS=
  void watchdog();                          // WATCHDOG=1
  void reloading(std::string_view status);  // RELOADING=1 and STATUS=
  void stopping(std::string_view status);   // STOPPING=1 and STATUS=

 private:
  void send(std::string message);
  bool enabled_ = false;
  std::optional<std::chrono::microseconds> watchdog_;
};

// STATUS= carries one line: line breaks would end the field (and start a bogus one).
std::string status_line(std::string_view text);

}  // namespace feedmerge::daemon
