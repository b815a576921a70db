#include "daemon/schedule.h"

#include <doctest/doctest.h>

#include "feedmerge/report/feeds.h"

namespace feedmerge::daemon {
namespace {

using namespace std::chrono_literals;
using report::feed_status;  // how `feeds` shows what apply_poll decided
using std::chrono::days;
using std::chrono::hours;
using std::chrono::minutes;

// 2026-03-04 is a Wednesday; 10:00 UTC.
const Time kNow = std::chrono::sys_days{std::chrono::year{2026} / 3 / 4} + hours{10};

Random constant(double value) {
  return [value] { return value; };
}

IntervalLimits limits(seconds interval = minutes{30}) {
  return {.interval = interval, .min_interval = minutes{5}, .max_interval = hours{24}};
}

PollObservation fresh() {
  return {.kind = PollKind::fresh, .status = 200, .body_hash = "h1"};
}

PollObservation http_error(int status) {
  return {
      .kind = PollKind::http_error, .status = status, .error = "HTTP " + std::to_string(status)};
}

TEST_CASE("a feed's own interval overrides [poll].interval") {
  config::PollConfig poll;
  config::FeedConfig feed;
  CHECK(limits_for(poll, feed).interval == minutes{30});
  feed.interval = minutes{15};
  CHECK(limits_for(poll, feed).interval == minutes{15});
}

TEST_CASE("ttl lengthens the interval but never shortens it") {
  model::PollHints hints;
  hints.ttl = hours{2};
  CHECK(hinted_interval(limits(), hints, std::nullopt) == hours{2});
  hints.ttl = minutes{1};
  CHECK(hinted_interval(limits(), hints, std::nullopt) == minutes{30});
}

TEST_CASE("sy:updatePeriod and Cache-Control max-age lengthen the interval") {
  model::PollHints hints;
  hints.update_period = hours{1};
  CHECK(hinted_interval(limits(), hints, std::nullopt) == hours{1});
  CHECK(hinted_interval(limits(), {}, hours{3}) == hours{3});
  CHECK(hinted_interval(limits(), hints, seconds{300}) == hours{1});
}

TEST_CASE("hints cannot push the interval past max_interval") {
  model::PollHints hints;
  hints.ttl = days{30};
  CHECK(hinted_interval(limits(), hints, std::nullopt) == hours{24});
}

TEST_CASE("a fresh poll schedules the next one after the hinted interval") {
  store::FeedState state;
  PollObservation observation = fresh();
  observation.hints.emplace().ttl = hours{2};
  const PollDecision decision = apply_poll(state, observation, limits(), {}, kNow, constant(0));
  CHECK(decision.state.next_poll == kNow + hours{2});
  CHECK(decision.state.interval == hours{2});
  CHECK(decision.state.last_success == kNow);
}

TEST_CASE("max-age on a 304 lengthens the stored interval") {
  store::FeedState state;
  state.interval = minutes{30};
  PollObservation observation{.kind = PollKind::not_modified, .status = 304, .max_age = hours{4}};
  const PollDecision decision = apply_poll(state, observation, limits(), {}, kNow, constant(0));
  CHECK(decision.state.next_poll == kNow + hours{4});
}

TEST_CASE("skipHours moves the next poll out of the skipped hours") {
  model::PollHints hints;
  hints.skip_hours = {10, 11, 12};
  const Time moved = skip_forward(kNow + minutes{30}, hints);
  CHECK(moved == kNow + hours{3});  // 13:00
  CHECK(skip_forward(kNow + hours{4}, hints) == kNow + hours{4});
}

TEST_CASE("skipDays moves the next poll to the next allowed day") {
  model::PollHints hints;
  hints.skip_days = {3, 4};  // Wednesday, Thursday
  const Time moved = skip_forward(kNow, hints);
  CHECK(moved == std::chrono::sys_days{std::chrono::year{2026} / 3 / 6});  // Friday 00:00
}

TEST_CASE("hints that skip every hour are ignored") {
  model::PollHints hints;
  for (int h = 0; h < 24; ++h)
    hints.skip_hours.push_back(h);
  CHECK(skip_forward(kNow, hints) == kNow);
}

TEST_CASE("skipHours from the parsed document apply to the scheduled poll") {
  PollObservation observation = fresh();
  observation.hints.emplace().skip_hours = {10};
  const PollDecision decision = apply_poll({}, observation, limits(), {}, kNow, constant(0));
  CHECK(decision.state.next_poll == kNow + hours{1});
}

TEST_CASE("backoff doubles per failure, with bounded jitter, and caps at max_interval") {
  const IntervalLimits l = limits();
  seconds previous{0};
  for (int failures = 1; failures <= 8; ++failures) {
    const seconds raw = backoff_delay(l, failures, constant(0));
    if (failures > 1) CHECK(raw == std::min<seconds>(previous * 2, l.max_interval));
    previous = raw;
    const seconds jittered = backoff_delay(l, failures, constant(0.999));
    CHECK(jittered <= raw);
    CHECK(jittered >= seconds{static_cast<long long>(raw.count() * (1 - kBackoffJitter)) - 1});
  }
  CHECK(backoff_delay(l, 1, constant(0)) == minutes{5});
  CHECK(backoff_delay(l, 100, constant(0)) == hours{24});
  CHECK(backoff_delay(l, 100, constant(0.5)) <= hours{24});
}

TEST_CASE("a failure counts, keeps the validators and backs off") {
  store::FeedState state;
  state.etag = "\"v1\"";
  state.consecutive_failures = 2;
  const PollDecision decision = apply_poll(state, http_error(500), limits(), {}, kNow, constant(0));
  CHECK(decision.state.consecutive_failures == 3);
  CHECK(decision.state.etag == "\"v1\"");
  CHECK(decision.state.last_error == "HTTP 500");
  CHECK(decision.state.last_status == 500);
  CHECK(decision.state.next_poll == kNow + minutes{20});
  CHECK_FALSE(decision.state.disabled);
}

TEST_CASE("a success after failures resets the count and the error") {
  store::FeedState state;
  state.consecutive_failures = 5;
  state.last_error = "HTTP 500";
  const PollDecision decision = apply_poll(state, fresh(), limits(), {}, kNow, constant(0));
  CHECK(decision.state.consecutive_failures == 0);
  CHECK(decision.state.last_error.empty());
  CHECK(decision.state.next_poll == kNow + minutes{30});
}

TEST_CASE("Retry-After on 429 and 503 is honoured, capped at a week") {
  PollObservation busy = http_error(429);
  busy.retry_after = hours{3};
  CHECK(apply_poll({}, busy, limits(), {}, kNow, constant(0)).state.next_poll == kNow + hours{3});
  busy = http_error(503);
  busy.retry_after = days{90};
  CHECK(apply_poll({}, busy, limits(), {}, kNow, constant(0)).state.next_poll == kNow + days{7});
  // A short Retry-After does not make a feed come back sooner than its backoff.
  busy.retry_after = seconds{1};
  CHECK(apply_poll({}, busy, limits(), {}, kNow, constant(0)).state.next_poll == kNow + minutes{5});
}

TEST_CASE("Retry-After counts only for 429 and 503") {
  PollObservation error = http_error(500);
  error.retry_after = hours{3};
  CHECK(apply_poll({}, error, limits(), {}, kNow, constant(0)).state.next_poll ==
        kNow + minutes{5});
}

TEST_CASE("410 Gone disables the feed with a clear status") {
  const PollDecision decision = apply_poll({}, http_error(410), limits(), {}, kNow, constant(0));
  CHECK(decision.disabled_now);
  CHECK(decision.state.disabled);
  CHECK(decision.state.disabled_reason.find("410 Gone") != std::string::npos);
  CHECK_FALSE(decision.state.next_poll.has_value());
  CHECK(feed_status(decision.state, kNow) == "disabled");
}

TEST_CASE("a permanent redirect is adopted after three polls in a row") {
  store::FeedState state;
  state.url = "http://old.example/feed";
  state.etag = "\"old\"";
  PollObservation moved = fresh();
  moved.permanent_redirect = "http://new.example/feed";
  moved.etag = "\"new\"";
  for (int poll = 1; poll <= 2; ++poll) {
    const PollDecision decision = apply_poll(state, moved, limits(), {}, kNow, constant(0));
    CHECK_FALSE(decision.redirect_adopted);
    CHECK(decision.state.pending_redirect_polls == poll);
    CHECK(decision.state.fetch_url.empty());
    state = decision.state;
  }
  const PollDecision third = apply_poll(state, moved, limits(), {}, kNow, constant(0));
  CHECK(third.redirect_adopted);
  CHECK(third.state.fetch_url == "http://new.example/feed");
  CHECK(third.state.url == "http://old.example/feed");
  CHECK(store::url_to_fetch(third.state) == "http://new.example/feed");
  CHECK(third.state.pending_redirect.empty());
  CHECK(third.state.etag.empty());  // validators of the old URL do not go to the new one
}

TEST_CASE("a permanent redirect that changes target or goes away starts over") {
  store::FeedState state;
  state.url = "http://old.example/feed";
  PollObservation moved = fresh();
  moved.permanent_redirect = "http://a.example/feed";
  state = apply_poll(state, moved, limits(), {}, kNow, constant(0)).state;
  state = apply_poll(state, moved, limits(), {}, kNow, constant(0)).state;
  moved.permanent_redirect = "http://b.example/feed";
  state = apply_poll(state, moved, limits(), {}, kNow, constant(0)).state;
  CHECK(state.pending_redirect == "http://b.example/feed");
  CHECK(state.pending_redirect_polls == 1);
  state = apply_poll(state, fresh(), limits(), {}, kNow, constant(0)).state;
  CHECK(state.pending_redirect.empty());
  CHECK(state.pending_redirect_polls == 0);
  CHECK(state.fetch_url.empty());
}

TEST_CASE("a permanent redirect seen by failed polls is never adopted") {
  // Issue 17: a 301 into a cloud metadata address was refused three times, then adopted.
  store::FeedState state;
  state.url = "http://feed.example/feed";
  PollObservation refused{.kind = PollKind::failed,
                          .status = 301,
                          .error = "refused to connect to 169.254.169.254 (cloud metadata)",
                          .permanent_redirect = "http://169.254.169.254/latest/meta-data/",
                          .address_refused = true};
  for (int poll = 1; poll <= kRedirectPollsToAdopt + 2; ++poll) {
    const PollDecision decision = apply_poll(state, refused, limits(), {}, kNow, constant(0));
    CHECK_FALSE(decision.redirect_adopted);
    CHECK(decision.state.fetch_url.empty());
    CHECK(decision.state.pending_redirect_polls == 0);
    state = decision.state;
  }
  // A failure also breaks a run of successful polls that saw the redirect.
  PollObservation moved = fresh();
  moved.permanent_redirect = "http://new.example/feed";
  state = apply_poll(state, moved, limits(), {}, kNow, constant(0)).state;
  state = apply_poll(state, moved, limits(), {}, kNow, constant(0)).state;
  PollObservation failed = http_error(500);
  failed.permanent_redirect = "http://new.example/feed";
  state = apply_poll(state, failed, limits(), {}, kNow, constant(0)).state;
  CHECK(state.pending_redirect_polls == 0);
  CHECK_FALSE(apply_poll(state, moved, limits(), {}, kNow, constant(0)).redirect_adopted);
}

TEST_CASE("an adopted URL the address guard refuses is dropped for the configured one") {
  store::FeedState state;
  state.url = "http://feed.example/feed";
  state.fetch_url = "http://moved.example/feed";
  state.etag = "\"moved\"";
  const PollObservation refused{.kind = PollKind::failed,
                                .error = "refused to connect to 127.0.0.1 (loopback)",
                                .address_refused = true};
  const PollDecision decision = apply_poll(state, refused, limits(), {}, kNow, constant(0));
  CHECK(decision.redirect_dropped);
  CHECK(decision.state.fetch_url.empty());
  CHECK(decision.state.etag.empty());
  CHECK(decision.state.consecutive_failures == 1);
  // Any other failure keeps the move.
  const PollDecision failed = apply_poll(state, http_error(500), limits(), {}, kNow, constant(0));
  CHECK_FALSE(failed.redirect_dropped);
  CHECK(failed.state.fetch_url == "http://moved.example/feed");
}

TEST_CASE("the adaptive interval shortens for a feed that publishes often") {
  std::vector<Time> publications;
  for (int i = 0; i < 24; ++i)
    publications.push_back(kNow - minutes{20} * i);  // every 20 minutes
  const seconds interval = adaptive_interval(limits(hours{1}), publications, kNow);
  CHECK(interval < hours{1});
  CHECK(interval >= minutes{5});
}

TEST_CASE("the adaptive interval lengthens for a quiet feed") {
  const std::vector<Time> publications{kNow - days{20}, kNow - days{10}, kNow - days{5}};
  const seconds interval = adaptive_interval(limits(hours{1}), publications, kNow);
  CHECK(interval > hours{1});
  CHECK(interval <= hours{24});
}

TEST_CASE("the adaptive interval stays within min_interval and max_interval") {
  std::vector<Time> busy;
  for (int i = 0; i < 100; ++i)
    busy.push_back(kNow - seconds{10} * i);
  IntervalLimits l = limits(minutes{10});
  CHECK(adaptive_interval(l, busy, kNow) == minutes{5});
  l = {.interval = hours{20}, .min_interval = minutes{5}, .max_interval = hours{24}};
  const std::vector<Time> quiet{kNow - days{29}, kNow - days{28}};
  CHECK(adaptive_interval(l, quiet, kNow) == hours{24});
}

TEST_CASE("too few recent publications keep the configured interval") {
  CHECK(adaptive_interval(limits(), {}, kNow) == minutes{30});
  CHECK(adaptive_interval(limits(), {kNow - hours{1}}, kNow) == minutes{30});
  // Older than the window, or in the future: ignored.
  CHECK(adaptive_interval(limits(), {kNow - days{60}, kNow - days{50}, kNow + days{1}}, kNow) ==
        minutes{30});
}

TEST_CASE("a feed never polled is polled at once, whatever its interval") {
  store::FeedState never;
  CHECK(start_poll_time(never, limits(hours{1}), kNow, constant(0.9)) == kNow);
  // A first round cut short by a stop: the next poll was scheduled and stored, never done.
  never.next_poll = kNow + minutes{40};
  CHECK(start_poll_time(never, limits(hours{1}), kNow, constant(0.9)) == kNow);
}

TEST_CASE("overdue feeds of a restart spread over minutes, not over their interval") {
  store::FeedState known;
  known.last_attempt = kNow - hours{5};
  known.next_poll = kNow - hours{4};
  const IntervalLimits l = limits(hours{1});
  CHECK(start_poll_time(known, l, kNow, constant(0)) == kNow);
  CHECK(start_poll_time(known, l, kNow, constant(0.5)) == kNow + kOverdueSpread / 2);
  const Time late = start_poll_time(known, l, kNow, constant(0.999999));
  CHECK(late < kNow + kOverdueSpread);
  CHECK(late >= kNow + kOverdueSpread - seconds{1});
  // Without a stored next poll: overdue as well.
  known.next_poll.reset();
  CHECK(start_poll_time(known, l, kNow, constant(0.5)) == kNow + kOverdueSpread / 2);
  // An interval shorter than the spread bounds it.
  IntervalLimits short_interval{
      .interval = seconds{30}, .min_interval = seconds{10}, .max_interval = hours{1}};
  CHECK(start_poll_time(known, short_interval, kNow, constant(0.5)) == kNow + seconds{15});
}

TEST_CASE("a known feed whose next poll is ahead keeps it") {
  store::FeedState known;
  known.last_attempt = kNow - minutes{10};
  known.next_poll = kNow + minutes{20};
  CHECK(start_poll_time(known, limits(hours{1}), kNow, constant(0)) == kNow + minutes{20});
}

TEST_CASE("a feed failing for days shows as broken, and is still retried") {
  store::FeedState state;
  state.last_attempt = kNow;
  state.consecutive_failures = 1;
  state.failing_since = kNow - hours{3};
  CHECK(feed_status(state, kNow) == "failing");
  state.failing_since = kNow - days{3};
  state.consecutive_failures = 30;
  CHECK(feed_status(state, kNow) == "broken");
  const PollDecision decision = apply_poll(state, http_error(500), limits(), {}, kNow, constant(0));
  REQUIRE(decision.state.next_poll.has_value());
  CHECK(*decision.state.next_poll <= kNow + hours{24});
}

TEST_CASE("a 304 without validators keeps the stored ones") {
  store::FeedState state;
  state.etag = "\"v1\"";
  state.last_modified = "Tue, 22 Sep 2020 14:05:00 GMT";
  const PollDecision decision = apply_poll(state, {.kind = PollKind::not_modified, .status = 304},
                                           limits(), {}, kNow, constant(0));
  CHECK(decision.state.etag == "\"v1\"");
  CHECK(decision.state.last_modified == "Tue, 22 Sep 2020 14:05:00 GMT");
}

}  // namespace
}  // namespace feedmerge::daemon
