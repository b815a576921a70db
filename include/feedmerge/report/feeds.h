// `feedmerge feeds`: each configured feed's state as a person or a script reads it, from the
// store (read through store::Store, never written) and the daemon's fault note. Pure values
// and functions of them, except feed_reports(path) and database_fault, which read files.
// Thread-compatible: no shared state.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "feedmerge/config/config.h"
#include "feedmerge/error.h"
#include "feedmerge/model/feed.h"
#include "feedmerge/store/store.h"

namespace feedmerge::report {

// A feed failing this long is "broken" rather than "failing".
inline constexpr std::chrono::seconds kBrokenAfter = std::chrono::days{2};

// The feed's health: "disabled", "never polled", "ok", "failing" or "broken" (failing for
// kBrokenAfter or more).
std::string feed_status(const store::FeedState& state, model::Time now);

// One configured feed as `feeds` shows it.
struct FeedReport {
  std::string url;        // as configured
  std::string fetch_url;  // what is polled: a permanent redirect that held, else url
  std::string title;      // the config's, else the feed's own
  bool enabled = true;
  std::string status;  // "ok", "failing", "broken", "disabled", "never polled"
  int last_status = 0;
  std::optional<model::Time> last_attempt{};
  std::optional<model::Time> last_success{};
  std::optional<model::Time> next_poll{};
  std::int64_t items = 0;
  int consecutive_failures = 0;
  std::string error{};  // the last error, or why the feed is disabled
  // fetch_url is another origin than url and the feed has headers or Basic auth: those stay
  // with url's origin until the config names fetch_url.
  bool credentials_withheld = false;
  // PostgreSQL with several `run` processes: the one holding the lease on the feed's host now
  // ("hostname:pid:random"); "" when none does (SQLite: never).
  std::string holder{};
};

// Every configured feed, in the config's order; `store` nullptr: no database yet (every feed
// never polled).
Result<std::vector<FeedReport>> feed_reports(const config::Config& config, store::Store* store,
                                             model::Time now);
// The same over the SQLite database at `database`, opened read-only if it exists.
Result<std::vector<FeedReport>> feed_reports(const config::Config& config,
                                             const std::string& database, model::Time now);

// Where a daemon notes why it stopped writing to `database` (its -wal or file deleted while
// open, a corrupt file): the daemon writes it, `feeds` reads it.
std::string fault_note_path(const std::string& database);
// That note ("TIME: REASON"); "" when there is none. The note stays until a start finds the
// database sound.
std::string database_fault(const std::string& database);

// `feeds --json`: {"database_fault": null or database_fault(), "story_assigner": null or the
// process assigning stories, "feeds": [{"url", "fetch_url", "title", "enabled", "status",
// "last_status", "last_attempt", "last_success", "next_poll", "items", "consecutive_failures",
// "error", "credentials_withheld", "holder"}]}, times as RFC 3339 UTC ("2026-03-04T10:00:00Z")
// or null, last_status null before any HTTP response, error and holder null when there is
// none. One line, then a newline.
std::string feeds_json(const std::vector<FeedReport>& reports, const std::string& fault = {},
                       const std::string& assigner = {});
// `feeds`: the database's fault first, if any, and which process assigns stories, then one
// block per feed, for people.
std::string feeds_text(const std::vector<FeedReport>& reports, model::Time now,
                       const std::string& fault = {}, const std::string& assigner = {});
// The process assigning stories in the PostgreSQL database at `database` ("" when none does,
// and with SQLite).
Result<std::string> story_assigner(const std::string& database);

}  // namespace feedmerge::report
