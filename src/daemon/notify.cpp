#include "daemon/notify.h"

#include <systemd/sd-daemon.h>

#include <cstdint>
#include <cstdlib>

namespace feedmerge::daemon {

Notifier::Notifier() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  enabled_ = socket != nullptr && *socket != '\0';
  std::uint64_t usec = 0;
  // > 0 only when $WATCHDOG_USEC is set and $WATCHDOG_PID (if set) is this process.
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) watchdog_ = std::chrono::microseconds(usec);
}

std::string status_line(std::string_view text) {
  std::string line(text);
  for (char& c : line)
    if (c == '\n' || c == '\r') c = ' ';
  return line;
}

void Notifier::send(std::string message) {
  if (!enabled_) return;
  // A failed notification is not worth failing the daemon for; systemd notices a missing
  // READY or WATCHDOG by itself.
  sd_notify(0, message.c_str());
}

void Notifier::ready(std::string_view status) {
  send("READY=1\nSTATUS=" + status_line(status));
}

void Notifier::status(std::string_view status) {
  send("STATUS=" + status_line(status));
}

void Notifier::watchdog() {
  send("WATCHDOG=1");
}

void Notifier::reloading(std::string_view status) {
  send("RELOADING=1\nSTATUS=" + status_line(status));
}

void Notifier::stopping(std::string_view status) {
  send("STOPPING=1\nSTATUS=" + status_line(status));
}

}  // namespace feedmerge::daemon
