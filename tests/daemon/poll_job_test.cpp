// The poll job as a pure function: fetch results and file reads in, the decision and what the
// writer stores out, with the dedup candidates of the new items built before the write.
#include "daemon/poll_job.h"

#include <chrono>
#include <string>

#include <doctest/doctest.h>

#include "daemon/story_assigner.h"

namespace feedmerge::daemon {
namespace {

using namespace std::chrono_literals;

const Time kNow = Time{std::chrono::sys_days{std::chrono::year{2026} / 3 / 4}} + 10h;

constexpr std::string_view kFeed = R"(<rss version="2.0"><channel><title>T</title>
<item><guid>a</guid><title>Oracle buys TikTok's US arm</title><description>The deal closes in
March, says Oracle.</description><pubDate>Wed, 04 Mar 2026 08:00:00 GMT</pubDate></item>
<item><title>No id, no link</title><description>Known by its key</description></item>
</channel></rss>)";

PollInput input() {
  PollInput in;
  in.config.url = "https://example.test/feed.xml";
  in.state.id = 7;
  in.state.url = in.config.url;
  in.jitter = 0.5;
  return in;
}

fetch::FetchResult fetched(std::string_view body) {
  fetch::FetchResult result;
  result.outcome = fetch::FetchOutcome::ok;
  result.status = 200;
  result.body = body;
  result.etag = "\"v1\"";
  return result;
}

TEST_CASE("a fetched document is parsed, decided and its new items' candidates prepared") {
  const PollOutcome outcome = poll_fetched(input(), fetched(kFeed), kNow);
  CHECK(outcome.observation.kind == PollKind::fresh);
  CHECK(outcome.was_parsed);
  REQUIRE(outcome.parsed.has_value());
  REQUIRE(outcome.parsed->items.size() == 2);
  CHECK(outcome.decision.state.etag == "\"v1\"");
  CHECK(outcome.decision.state.last_success == kNow);
  CHECK(outcome.decision.state.next_poll == kNow + 30min);
  REQUIRE(outcome.candidates.size() == 2);
  CHECK(outcome.candidates[0].has_value());
  CHECK(outcome.candidates[1].has_value());
  CHECK(outcome.items.size() == 1);  // the item without id or link has no identity
}

TEST_CASE("the items the last stored document listed get no candidate again") {
  PollInput in = input();
  const PollOutcome first = poll_fetched(in, fetched(kFeed), kNow);
  in.known_items = first.items;
  const PollOutcome again = poll_fetched(in, fetched(kFeed), kNow);
  REQUIRE(again.candidates.size() == 2);
  CHECK_FALSE(again.candidates[0].has_value());
  CHECK(again.candidates[1].has_value());  // no identity: always prepared
}

TEST_CASE("a prepared candidate with what the store assigned is the one StoryAssigner builds") {
  const PollOutcome outcome = poll_fetched(input(), fetched(kFeed), kNow);
  REQUIRE(outcome.parsed.has_value());
  for (std::size_t i = 0; i < outcome.parsed->items.size(); ++i) {
    CAPTURE(i);
    const model::Item& item = outcome.parsed->items[i];
    const store::NewItem stored{.id = 40 + static_cast<std::int64_t>(i),
                                .index = i,
                                .key = i == 0 ? "a" : "hash:0123",
                                .published = item.published.value_or(kNow),
                                .published_estimated = !item.published,
                                .first_seen = kNow};
    const dedup::Candidate expected = StoryAssigner::candidate(item, stored, 7, true);
    REQUIRE(outcome.candidates[i].has_value());
    const dedup::Candidate got = attach_stored(*outcome.candidates[i], item, stored);
    CHECK(got.item_id == expected.item_id);
    CHECK(got.feed_id == expected.feed_id);
    CHECK(got.merge == expected.merge);
    CHECK(got.published == expected.published);
    CHECK(got.first_seen == expected.first_seen);
    CHECK(got.guid == expected.guid);
    CHECK(got.canonical_url == expected.canonical_url);
    CHECK(got.host == expected.host);
    CHECK(got.features == expected.features);
  }
}

TEST_CASE("the same body as last time is unchanged and not parsed") {
  PollInput in = input();
  in.state.body_hash = poll_fetched(in, fetched(kFeed), kNow).observation.body_hash;
  const PollOutcome outcome = poll_fetched(in, fetched(kFeed), kNow);
  CHECK(outcome.observation.kind == PollKind::unchanged);
  CHECK_FALSE(outcome.was_parsed);
  CHECK_FALSE(outcome.parsed.has_value());
}

TEST_CASE("a failed file read is a failed poll with a backoff from the jitter given") {
  const PollOutcome outcome = poll_read(
      input(), Error{.kind = ErrorKind::io, .message = "/no/such/file: cannot open"}, kNow);
  CHECK(outcome.observation.kind == PollKind::failed);
  CHECK(outcome.decision.state.consecutive_failures == 1);
  CHECK(outcome.decision.state.last_error.find("cannot open") != std::string::npos);
  // min_interval 5 min, minus half of the 20 % jitter.
  CHECK(outcome.decision.state.next_poll == kNow + 270s);
}

TEST_CASE("the request carries the stored validators and the credentials' origin") {
  PollInput in = input();
  in.state.etag = "\"v1\"";
  in.state.fetch_url = "https://moved.test/feed.xml";
  in.config.username = "alice";
  const fetch::FetchRequest request = fetch_request(in, "secret");
  CHECK(request.url == "https://moved.test/feed.xml");
  CHECK(request.etag == "\"v1\"");
  CHECK(request.password == "secret");
  CHECK(request.credentials_url == in.config.url);
  CHECK_FALSE(request.config_named);
}

}  // namespace
}  // namespace feedmerge::daemon
