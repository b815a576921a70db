// Where the daemon's log goes: the journal (spdlog's systemd sink, extended with a FEED_URL
// field) when systemd started us, else the console. Set up once in main's thread before any
// other thread logs; set_log_level may be called again on reload.
// FeedLogScope names the feed a log line is about: it is thread-local, so it must live on the
// thread that logs (spdlog's synchronous loggers run the sink on the caller's thread).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "feedmerge/config/config.h"

namespace spdlog::sinks {
class sink;
}

namespace feedmerge::daemon {

// True when systemd started this process: $JOURNAL_STREAM names our stderr (systemd's own test,
// see systemd.exec(5)), or $INVOCATION_ID is set (a unit with its output elsewhere).
bool started_by_systemd();

// One journal entry as FIELD=value strings, for a fake in tests.
using JournalSender = std::function<void(const std::vector<std::string>& fields)>;

// The journal sink: MESSAGE, PRIORITY (syslog level mapped from spdlog's), SYSLOG_IDENTIFIER
// and, inside a FeedLogScope, FEED_URL. `sender` replaces sd_journal_sendv (tests).
std::shared_ptr<spdlog::sinks::sink> make_journal_sink(JournalSender sender = nullptr);

// `inner`, with every URL in a line's message passed through normalize::redact_urls_in first.
std::shared_ptr<spdlog::sinks::sink> make_redacting_sink(
    std::shared_ptr<spdlog::sinks::sink> inner);

// Installs the default logger: the journal when started_by_systemd(), else colour console on
// stderr, behind make_redacting_sink; at `level`.
void setup_logging(config::LogLevel level);
void set_log_level(config::LogLevel level);

// While alive, log lines from this thread carry FEED_URL=url (redacted) in the journal.
class FeedLogScope {
 public:
  explicit FeedLogScope(std::string_view url);
  ~FeedLogScope();
  FeedLogScope(const FeedLogScope&) = delete;
  FeedLogScope& operator=(const FeedLogScope&) = delete;

 private:
  std::string previous_;
};

}  // namespace feedmerge::daemon
