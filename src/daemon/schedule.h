// The polling rules, as pure functions of their inputs: what one poll's outcome does to a
// feed's stored state (failures, redirects, 410, validators) and when the feed is polled next
// (configured interval, feed hints, max-age, Retry-After, backoff with jitter, skipHours and
// skipDays, adaptation to how often the feed publishes). No clock, no I/O, no global state:
// the caller passes `now` and a random source, so tests drive them with a manual clock.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "feedmerge/config/config.h"
#include "feedmerge/model/feed.h"
#include "feedmerge/model/story.h"
#include "feedmerge/store/store.h"

namespace feedmerge::daemon {

using model::Time;
using std::chrono::seconds;

// Returns a number in [0, 1); the daemon passes a seeded std::mt19937_64, tests a constant.
using Random = std::function<double()>;

// A permanent redirect is adopted once this many polls in a row have seen the same target.
inline constexpr int kRedirectPollsToAdopt = 3;
// Jitter takes off up to this fraction of a backoff delay, so failing feeds spread out.
inline constexpr double kBackoffJitter = 0.2;
// A Retry-After longer than this is read as this: a misconfigured server cannot park a feed
// for months.
inline constexpr seconds kMaxRetryAfter = std::chrono::days{7};
// Only publications this recent say how often a feed publishes.
inline constexpr seconds kAdaptiveWindow = std::chrono::days{30};

// The limits that apply to one feed: [poll] and the feed's own interval.
struct IntervalLimits {
  seconds interval = std::chrono::minutes{30};  // the configured one
  seconds min_interval = std::chrono::minutes{5};
  seconds max_interval = std::chrono::hours{24};
};
IntervalLimits limits_for(const config::PollConfig& poll, const config::FeedConfig& feed);

using model::PollKind;

// Default member initialisers let callers write {.kind = k, .status = s} without warnings.
struct PollObservation {
  PollKind kind = PollKind::failed;
  int status = 0;       // HTTP status; 0 for file:// and transport failures
  std::string error{};  // for http_error and failed
  std::string etag{}, last_modified{}, body_hash{};  // of the response, when it had one
  // The first hop's 301/308 target, if any, and only when it may be adopted: the chain
  // passed the address guard without a local allowance (see HttpFetcher's local_by_redirect).
  std::string permanent_redirect{};
  bool address_refused = false;  // the address guard refused a hop of this poll
  std::optional<seconds> retry_after{};
  std::optional<seconds> max_age{};
  std::optional<model::PollHints> hints{};  // from the parsed document (fresh only)
  std::vector<Time> publications{};         // item dates from the parsed document (fresh only)
};

// The shortest interval the feed's own hints allow: the configured interval, lengthened by
// <ttl>, sy:updatePeriod/updateFrequency and Cache-Control: max-age, then kept within
// [min_interval, max_interval].
seconds hinted_interval(const IntervalLimits& limits, const model::PollHints& hints,
                        std::optional<seconds> max_age);

// The configured interval adapted to how often the feed publishes: half the mean gap between
// its publications of the last kAdaptiveWindow (a quiet spell since the newest one counts as a
// gap), within [interval / 4, interval * 4] and [min_interval, max_interval]. Fewer than two
// recent publications: the configured interval.
seconds adaptive_interval(const IntervalLimits& limits, std::vector<Time> publications, Time now);

// The first time at or after `t` that is outside skipHours (UTC hours) and skipDays (UTC
// weekdays); `t` itself when nothing is skipped or when every hour would be.
Time skip_forward(Time t, const model::PollHints& hints);

// The delay before retrying a feed that has failed `failures` (>= 1) times in a row:
// min_interval doubled per failure, capped at max_interval, then shortened by up to
// kBackoffJitter at random. Never above max_interval, never below min_interval * (1 - jitter).
seconds backoff_delay(const IntervalLimits& limits, int failures, const Random& random);

// Overdue feeds of a restart spread over at most this long: a daemon down for a day does not
// fire every feed in the same second, nor make a reader wait a whole interval.
inline constexpr seconds kOverdueSpread = std::chrono::minutes{2};

// When `run` (at start, or when a reload adds a feed) first polls a feed:
// - never polled (no last attempt): now; only [poll] concurrency and per_host hold it back;
// - polled before, its next poll passed or unknown: at random within min(interval,
//   kOverdueSpread) from now;
// - its next poll still ahead: then.
Time start_poll_time(const store::FeedState& state, const IntervalLimits& limits, Time now,
                     const Random& random);

// What the poll did to the feed's state: the new state to record, and what to log.
struct PollDecision {
  store::FeedState state;
  bool redirect_adopted = false;  // fetch_url changed this poll
  bool redirect_dropped = false;  // the guard refused the adopted URL: back to the configured one
  bool disabled_now = false;      // 410 Gone this poll
};

// Applies one observation to the stored state at `now`: validators and body hash, status and
// error, failure count, permanent redirect bookkeeping (adopted after kRedirectPollsToAdopt
// successful polls in a row with the same target, reset when the target changes, the redirect
// goes or a poll fails: a redirect never widens trust; an adopted URL that the address guard
// refuses is dropped, so the next poll asks the configured URL again),
// 410 Gone disabling the feed, and the next poll time and interval:
// - success (fresh, unchanged, not_modified): adaptive interval (fresh; else the stored one),
//   lengthened by the hints and max-age, moved out of skipped hours and days;
// - 429/503 with Retry-After: not before now + Retry-After (capped at kMaxRetryAfter), nor
//   before the backoff delay;
// - other failures: backoff_delay.
// `last_hints` are the hints of the last parsed document, for polls that parse nothing.
PollDecision apply_poll(const store::FeedState& state, const PollObservation& observation,
                        const IntervalLimits& limits, const model::PollHints& last_hints, Time now,
                        const Random& random);

}  // namespace feedmerge::daemon
