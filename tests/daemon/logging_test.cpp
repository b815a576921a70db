#include "daemon/logging.h"

#include <syslog.h>

#include <algorithm>
#include <cstdlib>

#include <doctest/doctest.h>
#include <spdlog/logger.h>

namespace {

using feedmerge::daemon::FeedLogScope;
using feedmerge::daemon::make_journal_sink;

bool has(const std::vector<std::string>& fields, const std::string& field) {
  return std::find(fields.begin(), fields.end(), field) != fields.end();
}

}  // namespace

TEST_CASE("journal entries map spdlog levels to syslog priorities") {
  std::vector<std::vector<std::string>> sent;
  spdlog::logger logger("test",
                        make_journal_sink([&](const auto& fields) { sent.push_back(fields); }));
  logger.set_level(spdlog::level::trace);
  logger.debug("d");
  logger.info("i");
  logger.warn("w");
  logger.error("e");
  logger.critical("c");
  REQUIRE(sent.size() == 5);
  CHECK(has(sent[0], "PRIORITY=" + std::to_string(LOG_DEBUG)));
  CHECK(has(sent[1], "PRIORITY=" + std::to_string(LOG_INFO)));
  CHECK(has(sent[2], "PRIORITY=" + std::to_string(LOG_WARNING)));
  CHECK(has(sent[3], "PRIORITY=" + std::to_string(LOG_ERR)));
  CHECK(has(sent[4], "PRIORITY=" + std::to_string(LOG_CRIT)));
  CHECK(has(sent[1], "MESSAGE=i"));
  CHECK(has(sent[1], "SYSLOG_IDENTIFIER=feedmerge"));
}

TEST_CASE("a log line about a feed carries its URL as the FEED_URL field") {
  std::vector<std::vector<std::string>> sent;
  spdlog::logger logger("test",
                        make_journal_sink([&](const auto& fields) { sent.push_back(fields); }));
  logger.info("before");
  {
    FeedLogScope scope("https://example.org/feed.xml");
    logger.warn("https://example.org/feed.xml: HTTP 500");
    {
      FeedLogScope inner("https://other.example/rss");
      logger.info("inner");
    }
    logger.info("outer again");
  }
  logger.info("after");
  REQUIRE(sent.size() == 5);
  CHECK(std::none_of(sent[0].begin(), sent[0].end(),
                     [](const std::string& f) { return f.starts_with("FEED_URL="); }));
  CHECK(has(sent[1], "FEED_URL=https://example.org/feed.xml"));
  CHECK(has(sent[2], "FEED_URL=https://other.example/rss"));
  CHECK(has(sent[3], "FEED_URL=https://example.org/feed.xml"));
  CHECK(std::none_of(sent[4].begin(), sent[4].end(),
                     [](const std::string& f) { return f.starts_with("FEED_URL="); }));
}

TEST_CASE("INVOCATION_ID means systemd started us; a JOURNAL_STREAM for another file does not") {
  const char* saved_id = std::getenv("INVOCATION_ID");
  const char* saved_stream = std::getenv("JOURNAL_STREAM");
  const std::string id = saved_id ? saved_id : "";
  const std::string stream = saved_stream ? saved_stream : "";
  unsetenv("INVOCATION_ID");
  setenv("JOURNAL_STREAM", "1:1", 1);  // not our stderr
  CHECK_FALSE(feedmerge::daemon::started_by_systemd());
  setenv("INVOCATION_ID", "0123456789abcdef", 1);
  CHECK(feedmerge::daemon::started_by_systemd());
  if (saved_id)
    setenv("INVOCATION_ID", id.c_str(), 1);
  else
    unsetenv("INVOCATION_ID");
  if (saved_stream)
    setenv("JOURNAL_STREAM", stream.c_str(), 1);
  else
    unsetenv("JOURNAL_STREAM");
}

TEST_CASE("log lines and FEED_URL never carry the secrets of a feed URL") {
  std::vector<std::vector<std::string>> sent;
  spdlog::logger logger("test", feedmerge::daemon::make_redacting_sink(make_journal_sink(
                                    [&](const auto& fields) { sent.push_back(fields); })));
  {
    FeedLogScope scope("https://alice:S3cretPa55@example.org/feed?api_key=K3Y");
    logger.warn("https://alice:S3cretPa55@example.org/feed?api_key=K3Y: HTTP 500");
    logger.info("no URL here");
  }
  REQUIRE(sent.size() == 2);
  CHECK(has(sent[0], "MESSAGE=https://REDACTED@example.org/feed?api_key=REDACTED: HTTP 500"));
  CHECK(has(sent[0], "FEED_URL=https://REDACTED@example.org/feed?api_key=REDACTED"));
  CHECK(has(sent[1], "MESSAGE=no URL here"));
  for (const auto& fields : sent) {
    for (const std::string& field : fields) {
      CHECK(field.find("S3cret") == std::string::npos);
      CHECK(field.find("K3Y") == std::string::npos);
    }
  }
}
