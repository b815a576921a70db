// The Poller's lifecycle: stopping while fetches are in flight, and retention after a poll.
#include "daemon/poller.h"

#include <chrono>
#include <thread>

#include <doctest/doctest.h>
#include <boost/asio/io_context.hpp>

#include "daemon/test_config.h"
#include "feedmerge/store/store.h"
#include "store/temp_folder.h"
#include "support/http_test_server.h"

namespace feedmerge::daemon {
namespace {

using test::HttpTestServer;
using test::TempFolder;

config::Config make_config(const TempFolder& folder, const std::vector<std::string>& urls) {
  return make_test_config(folder, urls);
}

TEST_CASE("stop cancels fetches in flight, records nothing for them, and returns") {
  HttpTestServer server;
  TempFolder folder;
  const std::string url = server.url("/hold/a.xml");
  const config::Config config = make_config(folder, {url});
  boost::asio::io_context io;
  auto store = open_store(config);
  REQUIRE(store.has_value());
  auto poller = Poller::create(io, config, std::move(*store), {.parse_threads = 1});
  REQUIRE(poller.has_value());
  bool done = false;
  (*poller)->start_once(true, [&] {
    done = true;
    io.stop();
  });
  std::thread runner([&io] { io.run(); });
  // Awaits the condition: the request has reached the server and is held there.
  REQUIRE(server.wait_for_held(1));
  bool stopped = false;
  (*poller)->stop([&] {
    stopped = true;
    io.stop();
  });
  runner.join();
  CHECK(stopped);
  CHECK_FALSE(done);
  CHECK((*poller)->summary().polled == 0);
  poller->reset();
  server.open_gate();

  auto reader = store::Store::open(config.storage.database, store::OpenMode::read_only);
  REQUIRE(reader.has_value());
  auto state = (*reader)->find_feed(url);
  REQUIRE(state.has_value());
  REQUIRE(state->has_value());
  CHECK_FALSE((*state)->last_attempt.has_value());
}

TEST_CASE("run polls on schedule until stopped, then every write has finished") {
  HttpTestServer server;
  TempFolder folder;
  const std::string url = server.url("/feed.xml");
  config::Config config = make_config(folder, {url});
  // Intervals of a second keep the test short; max-age=300 is capped by max_interval.
  config.poll.interval = std::chrono::seconds{1};
  config.poll.min_interval = std::chrono::seconds{1};
  config.poll.max_interval = std::chrono::seconds{1};
  boost::asio::io_context io;
  auto store = open_store(config);
  REQUIRE(store.has_value());
  auto poller = Poller::create(io, config, std::move(*store), {.parse_threads = 1});
  REQUIRE(poller.has_value());
  (*poller)->start_run();
  std::thread runner([&io] { io.run(); });
  REQUIRE(server.wait_for_count("/feed.xml", 2));
  (*poller)->stop([&io] { io.stop(); });
  runner.join();
  poller->reset();

  const auto requests = server.requests("/feed.xml");
  REQUIRE(requests.size() >= 2);
  CHECK(requests[1].header("If-None-Match") == HttpTestServer::kEtag);
  auto reader = store::Store::open(config.storage.database, store::OpenMode::read_only);
  REQUIRE(reader.has_value());
  CHECK(*(*reader)->count_items() == 1);
  auto state = (*reader)->find_feed(url);
  REQUIRE(state.has_value());
  REQUIRE(state->has_value());
  CHECK((*state)->last_success.has_value());
  CHECK((*state)->etag == HttpTestServer::kEtag);
}

TEST_CASE("retention runs after a poll: max_items_per_feed keeps the newest") {
  TempFolder folder;
  const std::string fixture = std::string(FEEDMERGE_TEST_DATA) + "/parse/rss2.0/basic.xml";
  config::Config config = make_config(folder, {"file://" + fixture});
  config.storage.max_items_per_feed = 1;
  auto summary = poll_once(config, true);
  REQUIRE(summary.has_value());
  CHECK(summary->new_items == 2);
  auto reader = store::Store::open(config.storage.database, store::OpenMode::read_only);
  REQUIRE(reader.has_value());
  CHECK(*(*reader)->count_items() == 1);
}

}  // namespace
}  // namespace feedmerge::daemon
