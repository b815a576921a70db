// The polling daemon, as the command line sees it: `run` (poll every feed on its schedule
// until SIGINT/SIGTERM), `once` (one poll of the due feeds, or of all) and the per-feed status
// that `feeds` prints. The machinery (Asio, libcurl, the parse pool and the SQLite writer)
// lives in src/daemon/poller.h.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "feedmerge/config/config.h"
#include "feedmerge/error.h"
#include "feedmerge/model/feed.h"

namespace feedmerge::daemon {

// Hooks for the service tests (tests/service/*.py). The command line reads them from its
// environment (FEEDMERGE_TEST_HOOKS=1 with FEEDMERGE_TEST_STALL_MS and
// FEEDMERGE_TEST_WRITER_STUCK_MS) and passes them in; the daemon reads no environment for them.
struct TestHooks {
  bool enabled = false;  // SIGUSR2 stalls the writer for writer_stall, as a dead disk would
  std::chrono::milliseconds writer_stall{3000};
  // Shortens how long a writer task may run before /healthz calls the writer stuck.
  std::optional<std::chrono::milliseconds> writer_stuck_after{};
  // A FIFO: `run` opens it and reads it to its end once the HTTP server listens and before the
  // poller starts, so a test can send a signal into that gap in order, not by timing.
  std::string start_gate{};
};

struct RunOptions {
  // Threads running the io_context; 0 = the number of cores.
  int io_threads = 0;
  // Threads parsing documents; 0 = the number of cores.
  int parse_threads = 0;
  TestHooks hooks{};
};

// What one poll_once did.
struct PollSummary {
  int polled = 0;        // feeds whose poll was attempted
  int succeeded = 0;     // 200 parsed, 200 unchanged, or 304
  int not_modified = 0;  // 304
  int unchanged = 0;     // 200 with the same body as last time: not parsed
  int parsed = 0;        // documents parsed
  int failed = 0;
  int new_items = 0;
  int updated_items = 0;
  std::vector<std::string> errors;  // "URL: message", one per failed feed
  bool interrupted = false;         // SIGINT or SIGTERM stopped it before every feed was polled
};

// Polls every enabled feed that is due (all: every enabled feed now), records each poll in the
// database and returns. An error only when nothing could be done at all (the database cannot
// be opened); failing feeds are counted in the summary. SIGINT and SIGTERM stop it as they
// stop run_daemon (fetches in flight cancelled, the open write finished): `interrupted`.
Result<PollSummary> poll_once(const config::Config& config, bool all);

// Runs until SIGINT or SIGTERM: then no new fetch starts, running ones are cancelled, the
// write in progress finishes, and it returns 0. Non-zero when the database cannot be opened.
// SIGHUP re-reads the config file (Config::source). Under systemd it speaks the notify
// protocol and logs to the journal (src/daemon/service.h, logging.h).
// Both log the same way, each line once, at the config's [log].level: to standard error, or
// to the journal when systemd started the process (src/daemon/logging.h).
int run_daemon(const config::Config& config, RunOptions options);

// The database path the config names: [storage].database under $STATE_DIRECTORY.
std::string database_path(const config::Config& config);

// Where the config's store is, as store::open_store takes it: the SQLite database_path, or
// with [storage] backend = "postgresql" its url, or the content of url_file (white space
// around it trimmed; an unreadable or empty file is an error naming storage.url_file).
Result<std::string> store_location(const config::Config& config);

}  // namespace feedmerge::daemon
