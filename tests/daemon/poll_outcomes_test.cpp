// What one poll of each kind of server behaviour leaves in the database: status, failures,
// error, validators, items and the next poll time. The first test scripts a fake fetcher with
// what the HttpFetcher reports for each behaviour of the local test server (each one is checked
// against the server in tests/fetch/http_fetcher_test.cpp) and runs on a manual clock; the state
// is read back from the SQLite file, as a restart would. The last test runs the real fetcher.
#include <atomic>
#include <chrono>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>

#include <doctest/doctest.h>
#include <boost/asio/io_context.hpp>

#include "daemon/poller.h"
#include "daemon/schedule.h"
#include "daemon/test_config.h"
#include "feedmerge/daemon/daemon.h"
#include "feedmerge/store/store.h"
#include "store/temp_folder.h"
#include "support/fake_fetcher.h"
#include "support/http_test_server.h"
#include "support/manual_clock.h"
#include "support/ram_folder.h"

namespace feedmerge::daemon {
namespace {

using std::chrono::seconds;
using test::HttpTestServer;
using test::TempFolder;

std::optional<store::FeedState> find_state(const config::Config& config, const std::string& url) {
  auto store = store::open_sqlite(config.storage.database, store::OpenMode::read_only);
  if (!store) return std::nullopt;
  auto found = (*store)->find_feed(url);
  if (!found || !*found) return std::nullopt;
  return **found;
}

enum class Next { interval, backoff, retry_after, disabled };

struct Case {
  const char* path;
  int status;         // last_status stored
  int failures;       // consecutive_failures stored
  int items;          // items stored
  const char* error;  // a fragment of last_error (or of disabled_reason); "" = no error
  Next next;
};

// With the test config's [poll] defaults: interval 30 min, min_interval 5 min, max-age from
// /feed.xml (300 s) shorter than the interval. A first failure backs off min_interval minus up
// to 20 % jitter.
constexpr Case kCases[] = {
    {"/feed.xml", 200, 0, 1, "", Next::interval},
    {"/lm.xml", 200, 0, 1, "", Next::interval},
    {"/gzip.xml", 200, 0, 1, "", Next::interval},
    {"/br.xml", 200, 0, 1, "", Next::interval},
    {"/chain/3", 200, 0, 1, "", Next::interval},
    {"/moved", 200, 0, 1, "", Next::interval},
    {"/bomb.xml", 200, 1, 0, "larger than", Next::backoff},
    {"/big.xml", 200, 1, 0, "larger than", Next::backoff},
    {"/loop", 302, 1, 0, "redirect", Next::backoff},
    {"/to-file", 302, 1, 0, "redirect", Next::backoff},
    {"/reset", 0, 1, 0, "", Next::backoff},
    {"/gone", 410, 1, 0, "410", Next::disabled},
    {"/error", 500, 1, 0, "500", Next::backoff},
    {"/busy/seconds", 429, 1, 0, "429", Next::retry_after},
    {"/busy/date", 503, 1, 0, "503", Next::retry_after},
    {"/wrong-type", 200, 1, 0, "", Next::backoff},
    {"/drip.xml", 200, 1, 0, "", Next::backoff},
    {"/missing", 404, 1, 0, "404", Next::backoff},
};

const std::string kBase = "http://feeds.test";

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(FEEDMERGE_TEST_DATA) + "/fetch/" + name, std::ios::binary);
  REQUIRE(in);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// What the HttpFetcher reports for the test server's route `path` (http_test_server.cpp) with
// max_body 1,000,000 bytes and the default max_redirects.
fetch::FetchResult server_behaviour(const std::string& path) {
  using fetch::FetchOutcome;
  auto failed = [](FetchOutcome outcome, long status, std::string error) {
    fetch::FetchResult result;
    result.outcome = outcome;
    result.status = status;
    result.error = std::move(error);
    return result;
  };
  auto feed = [] {
    fetch::FetchResult result =
        test::FakeFetcher::ok(fixture("feed.xml"), "application/rss+xml; charset=utf-8");
    result.etag = HttpTestServer::kEtag;
    result.last_modified = HttpTestServer::kLastModified;
    result.max_age = seconds{300};
    return result;
  };
  if (path == "/feed.xml" || path == "/gzip.xml" || path == "/br.xml") return feed();
  if (path == "/lm.xml") {
    fetch::FetchResult result = feed();
    result.etag.clear();
    result.max_age.reset();
    return result;
  }
  if (path == "/chain/3") {
    fetch::FetchResult result = feed();
    result.redirects = 3;
    result.final_url = kBase + "/feed.xml";
    return result;
  }
  if (path == "/moved") {
    fetch::FetchResult result = feed();
    result.redirects = 1;
    result.final_url = kBase + "/feed.xml";
    result.permanent_redirect = kBase + "/feed.xml";
    return result;
  }
  if (path == "/bomb.xml" || path == "/big.xml")
    return failed(FetchOutcome::too_large, 200, "body larger than 1000000 bytes");
  if (path == "/loop") return failed(FetchOutcome::bad_redirect, 302, "more than 5 redirects");
  if (path == "/to-file")
    return failed(FetchOutcome::bad_redirect, 302,
                  "redirect to a URL that is not http(s): file:///etc/passwd");
  if (path == "/reset") {
    fetch::FetchResult result =
        failed(FetchOutcome::network_error, 0, "Recv failure: Connection reset by peer");
    result.network_failure = fetch::NetworkFailure::other;
    return result;
  }
  if (path == "/drip.xml") {
    fetch::FetchResult result =
        failed(FetchOutcome::network_error, 200, "Operation timed out after 1000 milliseconds");
    result.network_failure = fetch::NetworkFailure::timeout;
    return result;
  }
  if (path == "/wrong-type")
    return test::FakeFetcher::ok(fixture("page.html"), "text/html; charset=utf-8");
  if (path == "/busy/seconds" || path == "/busy/date") {
    const long status = path == "/busy/seconds" ? 429 : 503;
    fetch::FetchResult result =
        failed(FetchOutcome::http_error, status, "HTTP " + std::to_string(status));
    result.retry_after = path == "/busy/seconds" ? seconds{120} : seconds{3600};
    return result;
  }
  if (path == "/gone") return failed(FetchOutcome::http_error, 410, "HTTP 410");
  if (path == "/error") return failed(FetchOutcome::http_error, 500, "HTTP 500");
  return failed(FetchOutcome::http_error, 404, "HTTP 404");
}

// poll_once with the fake fetcher and the clock: every feed polled once, then retention.
PollSummary poll_all_once(const config::Config& config, std::shared_ptr<test::FakeFetcher> fetcher,
                          boost::asio::io_context& io, std::shared_ptr<test::ManualClock> clock) {
  auto store = open_store(config);
  REQUIRE(store.has_value());
  auto poller = Poller::create(io, config, std::move(*store),
                               {.parse_threads = 1, .fetcher = fetcher, .clock = clock});
  REQUIRE(poller.has_value());
  (*poller)->start_once(true, [&io] { io.stop(); });
  io.run();
  const PollSummary summary = (*poller)->summary();
  poller->reset();
  return summary;
}

TEST_CASE("every server behaviour leaves the expected state and next poll in the database") {
  test::RamFolder folder;  // one database in memory: each case polls a feed of its own
  for (const Case& c : kCases) {
    const std::string path = c.path;
    CAPTURE(path);
    const std::string url = kBase + path;
    config::Config config = make_test_config(folder, {url});
    config.poll.max_body = 1'000'000;  // under /big.xml and the inflated /bomb.xml
    if (path == "/drip.xml") config.poll.timeout = seconds{1};  // it would drip for a minute
    boost::asio::io_context io;
    auto fetcher = std::make_shared<test::FakeFetcher>(io);
    fetcher->respond(url, server_behaviour(path));
    auto clock = std::make_shared<test::ManualClock>();
    const Time before = clock->now_seconds();
    auto summary = poll_all_once(config, fetcher, io, clock);
    const Time after = clock->now_seconds() + seconds{1};
    CHECK(summary.polled == 1);
    CHECK(summary.failed == c.failures);

    const auto state = find_state(config, url);
    REQUIRE(state.has_value());
    CHECK(state->last_status == c.status);
    CHECK(state->consecutive_failures == c.failures);
    CHECK(state->item_count == c.items);
    REQUIRE(state->last_attempt.has_value());
    CHECK(*state->last_attempt >= before);
    CHECK(*state->last_attempt <= after);
    const std::string& error = state->disabled ? state->disabled_reason : state->last_error;
    if (c.failures == 0) {
      CHECK(error.empty());
      CHECK(state->last_success.has_value());
      CHECK_FALSE(state->failing_since.has_value());
    } else {
      CHECK_FALSE(error.empty());
      CHECK_MESSAGE(error.find(c.error) != std::string::npos, error);
      CHECK_FALSE(state->last_success.has_value());
      CHECK(state->failing_since.has_value());
    }
    if (std::string_view(c.path) == "/feed.xml") CHECK(!state->etag.empty());
    if (std::string_view(c.path) == "/lm.xml") CHECK(!state->last_modified.empty());
    if (std::string_view(c.path) == "/moved") {
      CHECK(state->pending_redirect == kBase + "/feed.xml");
      CHECK(state->pending_redirect_polls == 1);
    }

    CHECK(state->disabled == (c.next == Next::disabled));
    if (c.next == Next::disabled) continue;
    REQUIRE(state->next_poll.has_value());
    const auto delay = *state->next_poll - *state->last_attempt;
    switch (c.next) {
      case Next::interval:
        CHECK(delay == config.poll.interval);
        break;
      case Next::backoff:
        CHECK(delay >=
              seconds{static_cast<long long>(static_cast<double>(config.poll.min_interval.count()) *
                                             (1.0 - kBackoffJitter))});
        CHECK(delay <= config.poll.min_interval);
        break;
      case Next::retry_after:
        // 120 s for /busy/seconds, an hour for /busy/date; never less than the backoff.
        CHECK(delay >= seconds{120});
        CHECK(delay <= std::chrono::hours{1} + config.poll.min_interval);
        break;
      case Next::disabled:
        break;
    }
  }
}

TEST_CASE("a hung feed does not hold back storing the others: all are stored while it hangs") {
  HttpTestServer server;
  TempFolder folder;
  std::vector<std::string> urls = {server.url("/hold/hung")};
  for (int i = 0; i < 6; ++i)
    urls.push_back(server.url("/feed.xml?n=" + std::to_string(i)));
  urls.push_back(server.url("/gzip.xml"));
  config::Config config = make_test_config(folder, urls);
  config.poll.per_host = 8;

  std::atomic<bool> returned = false;
  std::thread poll([&] {
    auto summary = poll_once(config, true);
    CHECK(summary.has_value());
    returned = true;
  });
  // Awaited by condition: every other feed has a stored success while the hung request is
  // still held by the server and poll_once has not returned.
  REQUIRE(server.wait_for_held(1));
  bool all_stored = false;
  for (int attempt = 0; attempt < 6000 && !all_stored; ++attempt) {
    all_stored = true;
    for (std::size_t i = 1; i < urls.size(); ++i) {
      const auto state = find_state(config, urls[i]);
      if (!state || !state->last_success || state->item_count != 1) all_stored = false;
    }
    if (!all_stored) std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  CHECK(all_stored);
  CHECK(server.held() == 1);
  CHECK_FALSE(returned.load());
  const auto hung_before = find_state(config, urls[0]);
  CHECK((!hung_before || !hung_before->last_attempt.has_value()));
  server.open_gate();
  poll.join();
  const auto hung = find_state(config, urls[0]);
  REQUIRE(hung.has_value());
  CHECK(hung->item_count == 1);
}

}  // namespace
}  // namespace feedmerge::daemon
