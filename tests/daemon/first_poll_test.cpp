// `run`'s first start: feeds never polled are polled at once (also when a reload adds one),
// the next poll the scheduler chose is in the store for `feeds`, and the first round reports
// its progress, its summary and, once, why no feed could be reached. Only 127.0.0.1 and
// names under the reserved .invalid domain, which never resolve, are used.
#include <sys/socket.h>

#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>

#include "daemon/first_round.h"
#include "daemon/poller.h"
#include "daemon/test_config.h"
#include "feedmerge/daemon/daemon.h"
#include "feedmerge/report/feeds.h"
#include "feedmerge/store/store.h"
#include "store/temp_folder.h"
#include "support/http_test_server.h"

namespace feedmerge::daemon {
namespace {

// `feeds` as the CLI reads it: the config's database, read-only.
Result<std::vector<report::FeedReport>> feed_reports(const config::Config& config,
                                                     model::Time now) {
  return report::feed_reports(config, database_path(config), now);
}
using report::feeds_json;
using report::feeds_text;

using namespace std::chrono_literals;
using test::HttpTestServer;
using test::TempFolder;

// The default logger's lines, for the duration of a test; waits are for a line to appear.
class CapturedLog {
 public:
  CapturedLog() : previous_(spdlog::default_logger()), sink_(std::make_shared<Sink>()) {
    auto logger = std::make_shared<spdlog::logger>("capture", sink_);
    logger->set_level(spdlog::level::info);
    spdlog::set_default_logger(logger);
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  CapturedLog(const CapturedLog&) = delete;
  CapturedLog& operator=(const CapturedLog&) = delete;

  // The first line containing `text`, once there is one; "" after `timeout`.
  std::string wait_for(const std::string& text, std::chrono::seconds timeout = 60s) const {
    std::unique_lock lock(sink_->lines_mutex);
    std::string found;
    sink_->changed.wait_for(lock, timeout, [&] {
      for (const std::string& line : sink_->lines) {
        if (line.find(text) != std::string::npos) {
          found = line;
          return true;
        }
      }
      return false;
    });
    return found;
  }
  int count(const std::string& text) const {
    std::lock_guard lock(sink_->lines_mutex);
    return static_cast<int>(std::count_if(sink_->lines.begin(), sink_->lines.end(), [&](auto& l) {
      return l.find(text) != std::string::npos;
    }));
  }

 private:
  struct Sink : spdlog::sinks::base_sink<std::mutex> {
    std::mutex lines_mutex;
    std::condition_variable changed;
    std::vector<std::string> lines;

    void sink_it_(const spdlog::details::log_msg& message) override {
      {
        std::lock_guard lock(lines_mutex);
        lines.emplace_back(message.payload.data(), message.payload.size());
      }
      changed.notify_all();
    }
    void flush_() override {}
  };
  std::shared_ptr<spdlog::logger> previous_;
  std::shared_ptr<Sink> sink_;
};

// A port on 127.0.0.1 that nothing listens on: connections to it are refused.
int refusing_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  socklen_t length = sizeof address;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  ::close(fd);  // never listened: refused from now on
  return ntohs(address.sin_port);
}

// A Poller running `run` on its own thread until the test ends.
class Running {
 public:
  explicit Running(const config::Config& config, Poller::Options options = {}) {
    auto store = open_store(config);
    REQUIRE(store.has_value());
    options.parse_threads = 1;
    auto poller = Poller::create(io_, config, std::move(*store), std::move(options));
    REQUIRE(poller.has_value());
    poller_ = std::move(*poller);
    poller_->start_run();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Running() { stop(); }
  Running(const Running&) = delete;
  Running& operator=(const Running&) = delete;

  Poller& poller() { return *poller_; }
  void stop() {
    if (!poller_) return;
    poller_->stop([this] { io_.stop(); });
    thread_.join();
    poller_.reset();
  }

 private:
  boost::asio::io_context io_;
  std::unique_ptr<Poller> poller_;
  std::thread thread_;
};

std::optional<store::FeedState> stored_state(const config::Config& config, const std::string& url) {
  auto reader = store::open_sqlite(config.storage.database, store::OpenMode::read_only);
  REQUIRE(reader.has_value());
  auto state = (*reader)->find_feed(url);
  REQUIRE(state.has_value());
  return *state;
}

model::Time now_utc() {
  return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

TEST_CASE("a start polls every feed never polled at once, and stores each one's next poll") {
  HttpTestServer server;
  TempFolder folder;
  const std::string ready = server.url("/feed.xml");
  const std::string held = server.url("/hold/slow.xml");
  config::Config config = make_test_config(folder, {ready, held});
  // An interval of an hour: spread over it, the first polls would take up to an hour.
  config.poll.interval = 1h;
  const model::Time started = now_utc();
  std::promise<void> polled;
  Running running(config, {.on_polled = [&](const PollEvent&) { polled.set_value(); }});
  REQUIRE(server.wait_for_count("/feed.xml", 1, 30s));
  REQUIRE(server.wait_for_held(1, 30s));
  REQUIRE(polled.get_future().wait_for(30s) == std::future_status::ready);

  // What `feeds` reads from another process: the held feed's first poll, scheduled for the
  // start and under way; the other's next one, an interval after its first.
  const auto slow = stored_state(config, held);
  REQUIRE(slow.has_value());
  CHECK_FALSE(slow->last_attempt.has_value());
  REQUIRE(slow->next_poll.has_value());
  CHECK(*slow->next_poll >= started);
  CHECK(*slow->next_poll <= now_utc());
  const auto done = stored_state(config, ready);
  REQUIRE(done.has_value());
  REQUIRE(done->next_poll.has_value());
  CHECK(*done->next_poll >= started + 1h);
  running.stop();
  server.open_gate();

  auto report = feed_reports(config, now_utc());
  REQUIRE(report.has_value());
  REQUIRE(report->size() == 2);
  CHECK((*report)[1].status == "never polled");
  CHECK((*report)[1].next_poll == slow->next_poll);
}

TEST_CASE("a feed a reload adds is polled at once, not within its first interval") {
  HttpTestServer server;
  TempFolder folder;
  const std::string first = server.url("/feed.xml");
  config::Config config = make_test_config(folder, {first});
  config.poll.interval = 1h;
  Running running(config);
  REQUIRE(server.wait_for_count("/feed.xml", 1, 30s));

  const std::string added = server.url("/lm.xml");
  config::Config reloaded = make_test_config(folder, {first, added});
  reloaded.poll.interval = 1h;
  std::promise<std::string> reconfigured;
  running.poller().reconfigure(reloaded, [&](std::string error) { reconfigured.set_value(error); });
  auto result = reconfigured.get_future();
  REQUIRE(result.wait_for(30s) == std::future_status::ready);
  CHECK(result.get().empty());
  CHECK(server.wait_for_count("/lm.xml", 1, 30s));
  CHECK(server.count("/feed.xml") == 1);  // the known feed keeps its schedule
}

TEST_CASE("the first round logs its progress while a feed is slow, then a summary") {
  CapturedLog log;
  HttpTestServer server;
  TempFolder folder;
  const std::string fixture = std::string(FEEDMERGE_TEST_DATA) + "/parse/rss2.0/basic.xml";
  config::Config config =
      make_test_config(folder, {"file://" + fixture, server.url("/hold/slow.xml")});
  config.poll.interval = 1h;
  Running running(config, {.progress_every = 50ms});
  CHECK_FALSE(log.wait_for("first poll: 1/2 feeds, 0 failing, 2 items").empty());
  CHECK(log.count("first poll done") == 0);
  server.open_gate();
  const std::string summary = log.wait_for("first poll done in ");
  CHECK(summary.find(": 2 feeds, 2 ok, 0 failing, 3 items, ") != std::string::npos);
  CHECK(log.count("no feed could be reached") == 0);
}

TEST_CASE("a first round that reaches no host says so once: names that do not resolve") {
  CapturedLog log;
  TempFolder folder;
  // .invalid never resolves (RFC 6761).
  config::Config config = make_test_config(folder, {"http://a.feedmerge-test.invalid/feed.xml",
                                                    "http://b.feedmerge-test.invalid/feed.xml",
                                                    "http://c.feedmerge-test.invalid/feed.xml"});
  config.poll.interval = 1h;
  Running running(config);
  const std::string summary = log.wait_for("first poll done in ");
  CHECK(summary.find(": 3 feeds, 0 ok, 3 failing") != std::string::npos);
  CHECK(log.count("no feed could be reached: every host name failed to resolve (3 feeds tried); "
                  "is the network up?") == 1);
}

TEST_CASE("a first round that reaches no host says so once: connections refused") {
  CapturedLog log;
  TempFolder folder;
  const std::string base = "http://127.0.0.1:" + std::to_string(refusing_port());
  std::vector<std::string> urls;
  for (int i = 0; i < kDiagnoseAfter + 2; ++i)
    urls.push_back(base + "/feed" + std::to_string(i) + ".xml");
  config::Config config = make_test_config(folder, urls);
  config.poll.interval = 1h;
  Running running(config);
  CHECK_FALSE(log.wait_for("first poll done in ").empty());
  CHECK(log.count("no feed could be reached: every connection was refused or found no route") == 1);
}

TEST_CASE("one feed reached among failing ones: no diagnosis, the summary counts both") {
  CapturedLog log;
  TempFolder folder;
  const std::string fixture = std::string(FEEDMERGE_TEST_DATA) + "/parse/rss2.0/basic.xml";
  config::Config config =
      make_test_config(folder, {"file://" + fixture, "http://a.feedmerge-test.invalid/feed.xml"});
  config.poll.interval = 1h;
  Running running(config);
  const std::string summary = log.wait_for("first poll done in ");
  CHECK(summary.find(": 2 feeds, 1 ok, 1 failing, 2 items, ") != std::string::npos);
  CHECK(log.count("no feed could be reached") == 0);
}

}  // namespace
}  // namespace feedmerge::daemon
