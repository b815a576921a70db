// The Poller's lifecycle: stopping while fetches are in flight, polls on schedule (a fake
// fetcher and a manual clock), retention after a poll, the parse threads' priority, and what
// it reports about the writer's and the feeds' health.
#include "daemon/poller.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iterator>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <SQLiteCpp/Database.h>
#include <doctest/doctest.h>
#include <boost/asio/io_context.hpp>

#include "daemon/test_config.h"
#include "feedmerge/store/store.h"
#include "store/temp_folder.h"
#include "support/fake_fetcher.h"
#include "support/fault_vfs.h"
#include "support/http_test_server.h"
#include "support/manual_clock.h"
#include "support/ram_folder.h"

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

  auto reader = store::open_sqlite(config.storage.database, store::OpenMode::read_only);
  REQUIRE(reader.has_value());
  auto state = (*reader)->find_feed(url);
  REQUIRE(state.has_value());
  REQUIRE(state->has_value());
  CHECK_FALSE((*state)->last_attempt.has_value());
}

// Counts on_polled calls; the test thread waits for a count instead of sleeping.
class PollCounter {
 public:
  std::function<void(const PollEvent&)> observer() {
    return [this](const PollEvent&) {
      {
        std::lock_guard lock(mutex_);
        ++polls_;
      }
      changed_.notify_all();
    };
  }
  bool wait_for(int polls) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds{60}, [&] { return polls_ >= polls; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int polls_ = 0;
};

TEST_CASE("run polls on schedule until stopped, then every write has finished") {
  test::RamFolder folder;
  const std::string url = "http://feeds.test/feed.xml";
  config::Config config = make_test_config(folder, {url});
  // Intervals of a second; max-age=300 is capped by max_interval.
  config.poll.interval = std::chrono::seconds{1};
  config.poll.min_interval = std::chrono::seconds{1};
  config.poll.max_interval = std::chrono::seconds{1};
  boost::asio::io_context io;
  // As the test server's /feed.xml: its ETag and max-age, a 304 when the ETag comes back.
  auto fetcher = std::make_shared<test::FakeFetcher>(io);
  fetcher->respond(url, [](const fetch::FetchRequest& request) {
    fetch::FetchResult result;
    if (request.etag == HttpTestServer::kEtag) {
      result.outcome = fetch::FetchOutcome::not_modified;
      result.status = 304;
    } else {
      std::ifstream in(std::string(FEEDMERGE_TEST_DATA) + "/fetch/feed.xml");
      result = test::FakeFetcher::ok(
          std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()));
    }
    result.etag = HttpTestServer::kEtag;
    result.max_age = std::chrono::seconds{300};
    return result;
  });
  auto clock = std::make_shared<test::ManualClock>();
  PollCounter polls;
  auto store = open_store(config);
  REQUIRE(store.has_value());
  auto poller = Poller::create(
      io, config, std::move(*store),
      {.parse_threads = 1, .on_polled = polls.observer(), .fetcher = fetcher, .clock = clock});
  REQUIRE(poller.has_value());
  (*poller)->start_run();
  std::thread runner([&io] { io.run(); });
  REQUIRE(polls.wait_for(1));  // never polled: at once
  clock->advance(std::chrono::seconds{1});
  REQUIRE(polls.wait_for(2));  // one interval later
  (*poller)->stop([&io] { io.stop(); });
  runner.join();
  poller->reset();

  const auto requests = fetcher->requests(url);
  REQUIRE(requests.size() >= 2);
  CHECK(requests[1].etag == HttpTestServer::kEtag);  // sent as If-None-Match (http_fetcher_test)
  auto reader = store::open_sqlite(config.storage.database, store::OpenMode::read_only);
  REQUIRE(reader.has_value());
  CHECK(*(*reader)->count_items() == 1);
  auto state = (*reader)->find_feed(url);
  REQUIRE(state.has_value());
  REQUIRE(state->has_value());
  CHECK((*state)->last_success.has_value());
  CHECK((*state)->etag == HttpTestServer::kEtag);
}

TEST_CASE("each feed is polled when its own next poll comes, in order, among many not due") {
  test::RamFolder folder;
  // Two feeds with their own intervals among 200 that are not due for an hour: the due ones are
  // found without waking for the others (the scheduler's heap of next polls).
  const std::string fast = "http://a.test/fast.xml";
  const std::string slow = "http://b.test/slow.xml";
  std::vector<std::string> urls = {fast, slow};
  for (int i = 0; i < 200; ++i)
    urls.push_back("http://c" + std::to_string(i) + ".test/feed.xml");
  config::Config config = make_test_config(folder, urls);
  config.poll.min_interval = std::chrono::seconds{1};
  config.poll.max_interval = std::chrono::hours{2};
  config.poll.interval = std::chrono::hours{1};
  config.feeds[0].interval = std::chrono::seconds{1};
  config.feeds[1].interval = std::chrono::seconds{3};
  boost::asio::io_context io;
  auto fetcher = std::make_shared<test::FakeFetcher>(io);
  // One undated item: the interval stays the configured one (nothing to adapt it to).
  const fetch::FetchResult body = test::FakeFetcher::ok(
      "<rss version=\"2.0\"><channel><title>t</title><item><title>x</title>"
      "<link>http://a.test/1</link></item></channel></rss>");
  for (const std::string& url : urls)
    fetcher->respond(url, body);
  auto clock = std::make_shared<test::ManualClock>();
  PollCounter polls;
  auto store = open_store(config);
  REQUIRE(store.has_value());
  auto poller = Poller::create(
      io, config, std::move(*store),
      {.parse_threads = 1, .on_polled = polls.observer(), .fetcher = fetcher, .clock = clock});
  REQUIRE(poller.has_value());
  (*poller)->start_run();
  std::thread runner([&io] { io.run(); });
  int expected = static_cast<int>(urls.size());  // never polled: all at once
  REQUIRE(polls.wait_for(expected));
  // Seconds 1, 2, 3: the fast feed each second, the slow one at 3.
  for (int second = 1; second <= 3; ++second) {
    clock->advance(std::chrono::seconds{1});
    expected += second == 3 ? 2 : 1;
    REQUIRE(polls.wait_for(expected));
    CHECK(fetcher->count(fast) == 1 + second);
    CHECK(fetcher->count(slow) == (second == 3 ? 2 : 1));
  }
  (*poller)->stop([&io] { io.stop(); });
  runner.join();
  poller->reset();
  CHECK(fetcher->count() == expected);
  CHECK(fetcher->count(urls.back()) == 1);
}

TEST_CASE("a failing feed is polled again once its backoff has passed, not before") {
  test::RamFolder folder;
  const std::string url = "http://feeds.test/down.xml";
  const config::Config config = make_test_config(folder, {url});  // min_interval 5 min
  boost::asio::io_context io;
  auto fetcher = std::make_shared<test::FakeFetcher>(io);
  fetch::FetchResult failure;
  failure.outcome = fetch::FetchOutcome::http_error;
  failure.status = 500;
  failure.error = "HTTP 500";
  fetcher->respond(url, failure);
  auto clock = std::make_shared<test::ManualClock>();
  PollCounter polls;
  auto store = open_store(config);
  REQUIRE(store.has_value());
  auto poller = Poller::create(
      io, config, std::move(*store),
      {.parse_threads = 1, .on_polled = polls.observer(), .fetcher = fetcher, .clock = clock});
  REQUIRE(poller.has_value());
  (*poller)->start_run();
  std::thread runner([&io] { io.run(); });
  // Once a heartbeat is back, the strand has run what the clock's advance posted before it.
  auto settled = [&] {
    std::promise<void> back;
    (*poller)->heartbeat([&back](const Poller::Status&) { back.set_value(); });
    back.get_future().wait();
  };
  REQUIRE(polls.wait_for(1));
  // The first backoff is min_interval shortened by up to kBackoffJitter: 240 to 300 s.
  clock->advance(std::chrono::seconds{239});
  settled();
  CHECK(fetcher->count(url) == 1);
  clock->advance(std::chrono::seconds{61});
  REQUIRE(polls.wait_for(2));
  CHECK(fetcher->count(url) == 2);
  (*poller)->stop([&io] { io.stop(); });
  runner.join();
  poller->reset();

  auto reader = store::open_sqlite(config.storage.database, store::OpenMode::read_only);
  REQUIRE(reader.has_value());
  auto state = (*reader)->find_feed(url);
  REQUIRE(state.has_value());
  REQUIRE(state->has_value());
  CHECK((*state)->consecutive_failures == 2);
  CHECK((*state)->last_status == 500);
}

TEST_CASE("retention runs after a poll: max_items_per_feed keeps the newest") {
  TempFolder folder;
  const std::string fixture = std::string(FEEDMERGE_TEST_DATA) + "/parse/rss2.0/basic.xml";
  config::Config config = make_config(folder, {"file://" + fixture});
  config.storage.max_items_per_feed = 1;
  auto summary = poll_once(config, true);
  REQUIRE(summary.has_value());
  CHECK(summary->new_items == 2);
  auto reader = store::open_sqlite(config.storage.database, store::OpenMode::read_only);
  REQUIRE(reader.has_value());
  CHECK(*(*reader)->count_items() == 1);
}

// The hourly prune may run between a feed's write and its batch: the batch waits for the
// feeds still in flight. The items that prune removes must not fail the batch (a foreign key)
// for every other item in it.
TEST_CASE("retention between a feed's write and its batch leaves the rest of the batch whole") {
  HttpTestServer server;
  TempFolder folder;
  // Two new items, the older listed (so stored) first: keeping one item per feed removes a
  // row id that is not the highest, which the held feed's item then cannot reuse.
  const std::string fixture = std::string(FEEDMERGE_TEST_DATA) + "/daemon/oldest-first.xml";
  config::Config config = make_config(folder, {"file://" + fixture, server.url("/hold/b.xml")});
  config.storage.max_items_per_feed = 1;
  boost::asio::io_context io;
  auto store = open_store(config);
  REQUIRE(store.has_value());
  Poller* running = nullptr;
  std::promise<void> pruned;
  bool first = true;
  // On the strand, after each poll's write: the file feed's comes first (the other is held),
  // and its items wait in the open batch.
  auto on_polled = [&](const PollEvent&) {
    if (!std::exchange(first, false)) return;
    running->prune_now([&pruned] { pruned.set_value(); });
  };
  auto poller =
      Poller::create(io, config, std::move(*store), {.parse_threads = 1, .on_polled = on_polled});
  REQUIRE(poller.has_value());
  running = poller->get();
  bool done = false;
  (*poller)->start_once(true, [&] {
    done = true;
    io.stop();
  });
  std::thread runner([&io] { io.run(); });
  REQUIRE(pruned.get_future().wait_for(std::chrono::seconds{60}) == std::future_status::ready);
  server.open_gate();
  runner.join();
  CHECK(done);
  poller->reset();

  SQLite::Database db(config.storage.database, SQLite::OPEN_READONLY);
  CHECK(db.execAndGet("SELECT count(*) FROM items").getInt() == 2);  // one per feed
  CHECK(db.execAndGet("SELECT count(*) FROM items AS i WHERE NOT EXISTS (SELECT 1 FROM "
                      "item_stories AS m WHERE m.item_id = i.id)")
            .getInt() == 0);
}

// A first round's open batch is assigned once it holds max_open_batch items, not only when
// the scheduler closes it: its memory is bounded by the size, whatever answers in time.
TEST_CASE("a large open batch is assigned to stories in parts as it fills") {
  const std::string data = std::string(FEEDMERGE_TEST_DATA) + "/parse/rss2.0/";
  const std::vector<std::string> feeds = {"file://" + data + "dates-rfc822.xml",
                                          "file://" + data + "author-formats.xml",
                                          "file://" + data + "enclosure-length.xml"};
  auto stories_assigned = [&](std::size_t max_open_batch) {
    TempFolder own;
    const config::Config with = make_config(own, feeds);
    boost::asio::io_context io;
    auto store = open_store(with);
    REQUIRE(store.has_value());
    std::atomic<int> batches{0};
    auto poller = Poller::create(io, with, std::move(*store),
                                 {.parse_threads = 1,
                                  .on_stories = [&batches] { ++batches; },
                                  .max_open_batch = max_open_batch});
    REQUIRE(poller.has_value());
    (*poller)->start_once(true, [&io] { io.stop(); });
    io.run();
    poller->reset();
    SQLite::Database db(with.storage.database, SQLite::OPEN_READONLY);
    CHECK(db.execAndGet("SELECT count(*) FROM items AS i WHERE NOT EXISTS (SELECT 1 FROM "
                        "item_stories AS m WHERE m.item_id = i.id)")
              .getInt() == 0);
    return batches.load();
  };
  CHECK(stories_assigned(50'000) == 1);  // the three feeds' items in one batch
  CHECK(stories_assigned(4) >= 3);       // each feed's poll fills the batch past 4 or nearly
}

// Nice values of this process's threads, read from /proc (Linux's nice is per thread).
std::vector<int> thread_nice_values() {
  std::vector<int> values;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream in(task.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // Fields after the command name (which may hold spaces) in parentheses: state is field 3,
    // nice field 19.
    const auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(stat.substr(close + 2));
    std::string field;
    for (int i = 3; i <= 19 && fields >> field; ++i) {
      if (i == 19) values.push_back(std::stoi(field));
    }
  }
  return values;
}

TEST_CASE("parsing runs below the priority of the rest of the daemon") {
  TempFolder folder;
  const std::string fixture = std::string(FEEDMERGE_TEST_DATA) + "/parse/rss2.0/basic.xml";
  const config::Config config = make_config(folder, {"file://" + fixture});
  boost::asio::io_context io;
  auto store = open_store(config);
  REQUIRE(store.has_value());
  auto poller = Poller::create(io, config, std::move(*store), {.parse_threads = 1});
  REQUIRE(poller.has_value());
  std::vector<int> during;
  (*poller)->start_once(true, [&] {
    // The parse thread is still there: the pools are joined when the Poller goes.
    during = thread_nice_values();
    io.stop();
  });
  io.run();
  poller->reset();
  REQUIRE_FALSE(during.empty());
  const int own = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()));
  // One thread (the single parse thread) runs at a higher nice value than the caller's; the
  // others (writer, fetcher) keep it.
  CHECK(std::count_if(during.begin(), during.end(), [&](int nice) { return nice > own; }) == 1);
  CHECK(std::count(during.begin(), during.end(), own) >= 2);
}

// One start_once with health observers; what they saw, in order.
struct Observed {
  std::vector<std::string> writes;   // on_write
  std::vector<std::string> feeds;    // on_feeds_health
  std::vector<bool> health_changed;  // on_polled
  int busy_starts = 0;
  int busy_ends = 0;
};

Observed poll_all_once(const config::Config& config) {
  Observed seen;
  boost::asio::io_context io;
  auto store = open_store(config);
  REQUIRE(store.has_value());
  auto poller = Poller::create(
      io, config, std::move(*store),
      {.parse_threads = 1,
       .on_polled =
           [&](const PollEvent& event) { seen.health_changed.push_back(event.health_changed); },
       .on_writer_busy = [&](bool busy) { ++(busy ? seen.busy_starts : seen.busy_ends); },
       .on_write = [&](const std::string& error) { seen.writes.push_back(error); },
       .on_feeds_health = [&](const std::string& problem) { seen.feeds.push_back(problem); }});
  REQUIRE(poller.has_value());
  (*poller)->start_once(true, [&io] { io.stop(); });
  io.run();
  poller->reset();
  return seen;
}

TEST_CASE("a full disk is reported after each failed write, and cleared by the next good one") {
  TempFolder folder;
  test::FaultVfs vfs;
  const std::string fixture = std::string(FEEDMERGE_TEST_DATA) + "/parse/rss2.0/basic.xml";
  const config::Config config = make_config(folder, {"file://" + fixture});
  {
    // The database and the feed exist before the disk fills up: the fault hits a poll.
    auto store = open_store(config);
    REQUIRE(store.has_value());
    REQUIRE((*store)->ensure_feed(config.feeds[0].url).has_value());
  }
  vfs.set_disk_full(true);
  Observed full = poll_all_once(config);
  vfs.set_disk_full(false);
  REQUIRE_FALSE(full.writes.empty());
  CHECK(full.writes.front().find("disk is full") != std::string::npos);
  CHECK(full.busy_starts == full.busy_ends);
  CHECK(full.busy_starts >= 1);

  Observed again = poll_all_once(config);
  REQUIRE_FALSE(again.writes.empty());
  CHECK(again.writes.back() == "");
}

TEST_CASE("every feed failing is reported once, and cleared when one works again") {
  TempFolder folder;
  const std::string path = folder.file("feed.xml");
  const config::Config config = make_config(folder, {"file://" + path});
  Observed missing = poll_all_once(config);                  // the file does not exist yet
  CHECK(missing.health_changed == std::vector<bool>{true});  // a first poll
  REQUIRE(missing.feeds.size() == 1);
  CHECK(missing.feeds[0].starts_with("the last poll of every feed failed (1 feed)"));

  Observed still = poll_all_once(config);  // failing again the same way: no news
  CHECK(still.health_changed == std::vector<bool>{false});

  std::ofstream(path) << "<rss version=\"2.0\"><channel><title>t</title><item><guid>1</guid>"
                         "<title>One</title></item></channel></rss>";
  Observed fixed = poll_all_once(config);
  CHECK(fixed.health_changed == std::vector<bool>{true});
  // Loaded as failing from the database, then fixed by the poll.
  CHECK((fixed.feeds.empty() || fixed.feeds.back().empty()));
}

}  // namespace
}  // namespace feedmerge::daemon
