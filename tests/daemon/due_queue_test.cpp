// The poller's due queue: hosts take turns, a host at its per-host limit waits without holding
// a global slot (issue 17: one slow host starved every other feed).
#include "daemon/due_queue.h"

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <boost/asio/io_context.hpp>

#include "daemon/poller.h"
#include "daemon/test_config.h"
#include "store/temp_folder.h"
#include "support/http_test_server.h"

namespace feedmerge::daemon {

TEST_CASE("due feeds of several hosts are started in turns, per_host at a time") {
  DueQueue queue(2);
  for (std::size_t i = 0; i < 5; ++i)
    queue.push(i, "slow.example");
  queue.push(10, "a.example");
  queue.push(11, "a.example");
  queue.push(20, "b.example");
  std::vector<std::size_t> started;
  while (auto index = queue.pop())
    started.push_back(*index);
  // slow, a, b, slow (its limit), a; then nothing until a poll finishes.
  CHECK(started == std::vector<std::size_t>{0, 10, 20, 1, 11});
  CHECK(queue.size() == 3);
  queue.fetch_done("a.example");  // a has nothing queued: slow still waits
  CHECK_FALSE(queue.pop().has_value());
  queue.fetch_done("slow.example");
  CHECK(queue.pop() == std::size_t{2});
  CHECK_FALSE(queue.pop().has_value());
}

TEST_CASE("file feeds have no per-host limit, and a cleared queue starts nothing") {
  DueQueue queue(1);
  queue.push(0, "");
  queue.push(1, "");
  queue.push(2, "h.example");
  queue.push(3, "h.example");
  CHECK(queue.pop() == std::size_t{0});
  CHECK(queue.pop() == std::size_t{2});
  CHECK(queue.pop() == std::size_t{1});
  CHECK_FALSE(queue.pop().has_value());
  std::vector<std::size_t> dropped;
  queue.clear([&](std::size_t index) { dropped.push_back(index); });
  CHECK(dropped == std::vector<std::size_t>{3});
  CHECK(queue.empty());
  queue.fetch_done("h.example");
  CHECK_FALSE(queue.pop().has_value());
}

TEST_CASE("erase_if drops queued feeds and keeps the turns of the others") {
  DueQueue queue(1);
  queue.push(0, "a.example");
  queue.push(1, "a.example");
  queue.push(2, "b.example");
  queue.erase_if([](std::size_t index) { return index == 0 || index == 2; });
  CHECK(queue.size() == 1);
  CHECK(queue.pop() == std::size_t{1});
  CHECK(queue.empty());
}

TEST_CASE("a slow host delays only its own feeds: the others are polled before its second wave") {
  test::HttpTestServer slow;  // answers after kSlowDelay
  test::HttpTestServer fast;  // another host name, mapped to loopback
  test::TempFolder folder;
  std::vector<std::string> urls;
  for (int i = 0; i < 2000; ++i)
    urls.push_back(slow.url("/slow.xml?feed=" + std::to_string(i)));
  for (int i = 0; i < 3; ++i)
    urls.push_back(fast.url("fast.test", "/feed.xml?feed=" + std::to_string(i)));
  config::Config config = make_test_config(folder, urls);
  config.poll.per_host = 2;
  boost::asio::io_context io;
  fetch::FetchOptions fetching = fetch_options(config.poll);
  fetching.resolve = {fast.resolve_entry("fast.test")};
  auto store = open_store(config);
  REQUIRE(store.has_value());
  auto poller = Poller::create(
      io, config, std::move(*store),
      {.parse_threads = 1, .fetcher = std::make_shared<fetch::HttpFetcher>(io, fetching)});
  REQUIRE(poller.has_value());
  (*poller)->start_once(true, [&io] { io.stop(); });
  std::thread runner([&io] { io.run(); });

  // The slow host's first two polls wait kSlowDelay for their answers; the other host's feeds
  // must not wait behind the 1,998 queued after them. Order, not time: the limit only keeps a
  // broken poller from hanging the test.
  const bool fast_polled = fast.wait_for_count("/feed.xml", 3, std::chrono::seconds{30});
  const int slow_requests = slow.count("/slow.xml");
  (*poller)->stop([&io] { io.stop(); });
  runner.join();
  poller->reset();
  CHECK(fast_polled);
  CHECK(slow_requests <= 2);  // its second wave had not begun
  CHECK(slow.max_in_flight() <= 2);
}

}  // namespace feedmerge::daemon
