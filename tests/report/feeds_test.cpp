#include "feedmerge/report/feeds.h"

#include <doctest/doctest.h>

#include <chrono>
#include <fstream>

#include "store/temp_folder.h"

namespace feedmerge::report {
namespace {

using std::chrono::days;
using std::chrono::hours;

const model::Time kNow = std::chrono::sys_days{std::chrono::year{2026} / 3 / 4} + hours{10};

TEST_CASE("a feed's status: never polled, ok, failing, broken after kBrokenAfter, disabled") {
  store::FeedState state;
  CHECK(feed_status(state, kNow) == "never polled");
  state.last_attempt = kNow;
  CHECK(feed_status(state, kNow) == "ok");
  state.consecutive_failures = 2;
  state.failing_since = kNow - hours{1};
  CHECK(feed_status(state, kNow) == "failing");
  state.failing_since = kNow - kBrokenAfter;
  CHECK(feed_status(state, kNow) == "broken");
  state.disabled = true;
  CHECK(feed_status(state, kNow) == "disabled");
}

TEST_CASE("without a database every configured feed is never polled, or disabled") {
  config::Config config;
  config.feeds.resize(2);
  config.feeds[0].url = "https://a.example/feed";
  config.feeds[1].url = "https://b.example/feed";
  config.feeds[1].enabled = false;
  auto reports = feed_reports(config, static_cast<store::Store*>(nullptr), kNow);
  REQUIRE(reports.has_value());
  REQUIRE(reports->size() == 2);
  CHECK((*reports)[0].status == "never polled");
  CHECK((*reports)[1].status == "disabled");
  CHECK(feeds_json(*reports) ==
        "{\"database_fault\":null,\"story_assigner\":null,\"feeds\":[{\"url\":\"https://a.example/"
        "feed\",\"fetch_url\":"
        "\"https://a.example/feed\",\"title\":\"\",\"enabled\":true,\"status\":\"never polled\","
        "\"last_status\":null,\"last_attempt\":null,\"last_success\":null,\"next_poll\":null,"
        "\"items\":0,\"consecutive_failures\":0,\"error\":null,\"credentials_withheld\":false,"
        "\"holder\":null},"
        "{\"url\":\"https://b.example/feed\",\"fetch_url\":\"https://b.example/feed\",\"title\":"
        "\"\",\"enabled\":false,\"status\":\"disabled\",\"last_status\":null,\"last_attempt\":"
        "null,\"last_success\":null,\"next_poll\":null,\"items\":0,\"consecutive_failures\":0,"
        "\"error\":null,\"credentials_withheld\":false,\"holder\":null}]}\n");
}

TEST_CASE("the fault note is read from beside the database") {
  test::TempFolder folder;
  const std::string database = folder.file("feedmerge.db");
  CHECK(database_fault(database).empty());
  {
    std::ofstream note(fault_note_path(database));
    note << "2026-03-04T10:00:00Z: the database file was deleted while open\n";
  }
  CHECK(database_fault(database) ==
        "2026-03-04T10:00:00Z: the database file was deleted while open");
  CHECK(feeds_text({}, kNow, database_fault(database))
            .starts_with("database: the daemon stopped writing at 2026-03-04T10:00:00Z"));
}

}  // namespace
}  // namespace feedmerge::report
