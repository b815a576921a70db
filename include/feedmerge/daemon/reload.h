// SIGHUP: what a new config changes compared with the one in force, and the hook through which
// the other parts of the daemon (the publisher, the HTTP server) hear about a reload. Pure
// values and functions; the daemon's service loop (src/daemon/service.h) owns the sequence.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "feedmerge/config/config.h"

namespace feedmerge::daemon {

struct ConfigChanges {
  std::vector<std::string> feeds_added;    // URLs now enabled that were not before
  std::vector<std::string> feeds_removed;  // URLs no longer enabled (their items stay)
  std::vector<std::string> feeds_changed;  // same URL, other settings (interval, headers, ...)
  bool poll_changed = false;     // [poll]: intervals apply now; fetch options at next start
  bool storage_changed = false;  // [storage]: applies at the next start
  bool outputs_changed = false;  // [[output]] or [publish]: render anew
  bool server_changed = false;   // [server]: rebind the listen address
  bool log_changed = false;
  bool dedup_changed = false;

  bool empty() const;
};

ConfigChanges diff_configs(const config::Config& before, const config::Config& after);

// "2 feeds added, 1 removed, outputs changed", or "no changes".
std::string describe(const ConfigChanges& changes);

// Called after a successful reload once the poller runs with the new feeds, on the daemon's
// service strand: a subscriber must not block (post work elsewhere). The publisher rebuilds
// its outputs when changes.outputs_changed, the server rebinds when changes.server_changed.
struct ConfigReload {
  const config::Config& before;
  const config::Config& after;
  const ConfigChanges& changes;
};
using ReloadSubscriber = std::function<void(const ConfigReload&)>;

}  // namespace feedmerge::daemon
