#include "daemon/schedule.h"

#include <algorithm>
#include <cmath>

namespace feedmerge::daemon {
namespace {

using std::chrono::hours;

seconds clamp_interval(seconds value, const IntervalLimits& limits) {
  // A config with min > max is refused by the loader; guard anyway so clamp stays defined.
  const seconds high = std::max(limits.min_interval, limits.max_interval);
  return std::clamp(value, limits.min_interval, high);
}

bool contains(const std::vector<int>& values, int value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

bool is_success(PollKind kind) {
  return kind == PollKind::fresh || kind == PollKind::unchanged || kind == PollKind::not_modified;
}

}  // namespace

IntervalLimits limits_for(const config::PollConfig& poll, const config::FeedConfig& feed) {
  return {.interval = feed.interval.value_or(poll.interval),
          .min_interval = poll.min_interval,
          .max_interval = poll.max_interval};
}

seconds hinted_interval(const IntervalLimits& limits, const model::PollHints& hints,
                        std::optional<seconds> max_age) {
  seconds value = limits.interval;
  // Hints only ever lengthen: a feed asking to be polled every minute does not get to.
  if (hints.ttl) value = std::max(value, *hints.ttl);
  if (hints.update_period) value = std::max(value, *hints.update_period);
  if (max_age) value = std::max(value, *max_age);
  return clamp_interval(value, limits);
}

seconds adaptive_interval(const IntervalLimits& limits, std::vector<Time> publications, Time now) {
  std::erase_if(publications, [&](Time t) { return t > now || now - t > kAdaptiveWindow; });
  std::sort(publications.begin(), publications.end());
  publications.erase(std::unique(publications.begin(), publications.end()), publications.end());
  if (publications.size() < 2) return clamp_interval(limits.interval, limits);

  // Gaps between publications, plus the quiet time since the newest: a feed that used to
  // publish hourly but has been silent for a week is polled less often.
  const auto span = (now - publications.front());
  const auto gaps = static_cast<long long>(publications.size());
  const seconds mean_gap{std::chrono::duration_cast<seconds>(span).count() / gaps};
  seconds value = mean_gap / 2;
  value = std::clamp(value, limits.interval / 4, limits.interval * 4);
  return clamp_interval(value, limits);
}

Time skip_forward(Time t, const model::PollHints& hints) {
  if (hints.skip_hours.empty() && hints.skip_days.empty()) return t;
  Time candidate = t;
  // A week of hours covers every combination of hour and weekday.
  for (int step = 0; step <= 24 * 7; ++step) {
    const auto day = std::chrono::floor<std::chrono::days>(candidate);
    const int hour = static_cast<int>(std::chrono::floor<hours>(candidate - day).count());
    const int weekday = static_cast<int>(std::chrono::weekday(day).c_encoding());
    if (!contains(hints.skip_hours, hour) && !contains(hints.skip_days, weekday)) return candidate;
    candidate = std::chrono::floor<hours>(candidate) + hours{1};
  }
  return t;  // everything skipped: the hints are nonsense, ignore them
}

seconds backoff_delay(const IntervalLimits& limits, int failures, const Random& random) {
  const int doublings = std::clamp(failures, 1, 40) - 1;
  const double raw = std::min(static_cast<double>(limits.min_interval.count()) *
                                  std::pow(2.0, static_cast<double>(doublings)),
                              static_cast<double>(limits.max_interval.count()));
  const double jittered = raw * (1.0 - kBackoffJitter * std::clamp(random(), 0.0, 1.0));
  return seconds{static_cast<long long>(std::llround(jittered))};
}

Time start_poll_time(const store::FeedState& state, const IntervalLimits& limits, Time now,
                     const Random& random) {
  if (!state.last_attempt) return now;
  if (state.next_poll && *state.next_poll > now) return *state.next_poll;
  const double fraction = std::clamp(random(), 0.0, 1.0);
  const seconds spread = std::min(clamp_interval(limits.interval, limits), kOverdueSpread);
  return now + seconds{static_cast<long long>(static_cast<double>(spread.count()) * fraction)};
}

PollDecision apply_poll(const store::FeedState& state, const PollObservation& observation,
                        const IntervalLimits& limits, const model::PollHints& last_hints, Time now,
                        const Random& random) {
  PollDecision decision{.state = state};
  store::FeedState& next = decision.state;
  next.last_attempt = now;
  next.last_status = observation.status;

  // Permanent redirects: trusted only once they hold, so a misconfigured server for an
  // afternoon does not move the feed for good; and counted only from polls that succeeded, so
  // a redirect the address guard refused (to a metadata service, to the machine itself) is
  // never adopted and then trusted.
  if (is_success(observation.kind) && !observation.permanent_redirect.empty() &&
      observation.permanent_redirect != store::url_to_fetch(state)) {
    if (observation.permanent_redirect == next.pending_redirect) {
      ++next.pending_redirect_polls;
    } else {
      next.pending_redirect = observation.permanent_redirect;
      next.pending_redirect_polls = 1;
    }
    if (next.pending_redirect_polls >= kRedirectPollsToAdopt) {
      next.fetch_url = next.pending_redirect;
      next.pending_redirect.clear();
      next.pending_redirect_polls = 0;
      // The validators belong to the old URL.
      next.etag.clear();
      next.last_modified.clear();
      decision.redirect_adopted = true;
    }
  } else {
    next.pending_redirect.clear();
    next.pending_redirect_polls = 0;
  }
  // Stored before the rule above (or moved where it now resolves to a local address): the
  // configured URL is asked again from the next poll.
  if (observation.address_refused && !next.fetch_url.empty()) {
    next.fetch_url.clear();
    next.etag.clear();
    next.last_modified.clear();
    decision.redirect_dropped = true;
  }

  if (is_success(observation.kind)) {
    next.consecutive_failures = 0;
    next.last_error.clear();
    next.last_success = now;
    if (!decision.redirect_adopted) {
      // A 304 may come without validators: keep the ones that earned it.
      if (!observation.etag.empty() || observation.kind != PollKind::not_modified)
        next.etag = observation.etag;
      if (!observation.last_modified.empty() || observation.kind != PollKind::not_modified)
        next.last_modified = observation.last_modified;
    }
    if (!observation.body_hash.empty()) next.body_hash = observation.body_hash;

    const model::PollHints& hints = observation.hints ? *observation.hints : last_hints;
    seconds interval = limits.interval;
    if (observation.kind == PollKind::fresh) {
      interval = adaptive_interval(limits, observation.publications, now);
    } else if (state.interval) {
      interval = *state.interval;
    }
    IntervalLimits adapted = limits;
    adapted.interval = interval;
    interval = hinted_interval(adapted, hints, observation.max_age);
    next.interval = interval;
    next.next_poll = skip_forward(now + interval, hints);
    return decision;
  }

  ++next.consecutive_failures;
  next.last_error = observation.error.empty() ? "failed" : observation.error;
  if (observation.kind == PollKind::http_error && observation.status == 410) {
    next.disabled = true;
    next.disabled_reason = "410 Gone: the server says the feed was removed; polling stopped";
    next.next_poll.reset();
    decision.disabled_now = true;
    return decision;
  }
  seconds delay = backoff_delay(limits, next.consecutive_failures, random);
  if (observation.kind == PollKind::http_error &&
      (observation.status == 429 || observation.status == 503) && observation.retry_after) {
    delay = std::max(delay, std::min(*observation.retry_after, kMaxRetryAfter));
  }
  next.next_poll = now + delay;
  return decision;
}

}  // namespace feedmerge::daemon
