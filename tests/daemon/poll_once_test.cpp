// poll_once end to end: the real fetcher against the local test server, file:// feeds, and a
// real SQLite file in a temp folder.
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include <SQLiteCpp/Database.h>
#include <doctest/doctest.h>
#include <boost/json.hpp>

#include "daemon/test_config.h"
#include "feedmerge/daemon/daemon.h"
#include "feedmerge/report/feeds.h"
#include "feedmerge/store/store.h"
#include "store/sqlite_lock.h"
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

using test::HttpTestServer;
using test::TempFolder;

// A folder that does not exist yet: poll_once creates it.
config::Config make_config(const TempFolder& folder, const std::vector<std::string>& urls) {
  return make_test_config(folder, urls, "state/feedmerge.db");
}

std::unique_ptr<store::Store> open_read_only(const config::Config& config) {
  auto store = store::open_sqlite(config.storage.database, store::OpenMode::read_only);
  REQUIRE(store.has_value());
  return std::move(*store);
}

store::FeedState feed_state(const config::Config& config, const std::string& url) {
  auto store = open_read_only(config);
  auto found = store->find_feed(url);
  REQUIRE(found.has_value());
  REQUIRE(found->has_value());
  return **found;
}

std::string file_url(const std::string& path) {
  return "file://" + path;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

const std::string kFixture = std::string(FEEDMERGE_TEST_DATA) + "/parse/rss2.0/basic.xml";

TEST_CASE("poll_once is refused while another process polls the same database") {
  HttpTestServer server;
  TempFolder folder;
  const config::Config config = make_config(folder, {server.url("/feed.xml")});
  auto held = store::SqliteLock::acquire(database_path(config));
  REQUIRE(held.has_value());
  auto refused = poll_once(config, true);
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().message == "another feedmerge is using " + database_path(config) +
                                       " (pid " + std::to_string(::getpid()) + ")");
  CHECK_FALSE(std::filesystem::exists(config.storage.database));  // not even opened
  *held = store::SqliteLock();
  CHECK(poll_once(config, true).has_value());
}

TEST_CASE("poll_once stores the items in a new database in a folder it creates") {
  HttpTestServer server;
  TempFolder folder;
  const config::Config config = make_config(folder, {server.url("/feed.xml")});
  auto summary = poll_once(config, false);
  REQUIRE(summary.has_value());
  CHECK(summary->polled == 1);
  CHECK(summary->succeeded == 1);
  CHECK(summary->parsed == 1);
  CHECK(summary->new_items == 1);
  CHECK(std::filesystem::exists(config.storage.database));
  auto store = open_read_only(config);
  CHECK(*store->count_items() == 1);
  const store::FeedState state = feed_state(config, server.url("/feed.xml"));
  CHECK(state.title == "Fetch fixture");
  CHECK(state.last_status == 200);
  CHECK(state.next_poll.has_value());
}

TEST_CASE("after a restart the stored ETag is sent and a 304 adds no items") {
  HttpTestServer server;
  TempFolder folder;
  const std::string url = server.url("/feed.xml");
  const config::Config config = make_config(folder, {url});
  REQUIRE(poll_once(config, true).has_value());
  CHECK(feed_state(config, url).etag == HttpTestServer::kEtag);

  // Every poll_once opens the database afresh: this is a restart.
  auto second = poll_once(config, true);
  REQUIRE(second.has_value());
  CHECK(second->not_modified == 1);
  CHECK(second->new_items == 0);
  CHECK(second->parsed == 0);
  const auto requests = server.requests("/feed.xml");
  REQUIRE(requests.size() == 2);
  CHECK(requests[0].header("If-None-Match").empty());
  CHECK(requests[1].header("If-None-Match") == HttpTestServer::kEtag);
  CHECK(*open_read_only(config)->count_items() == 1);
  CHECK(feed_state(config, url).last_status == 304);
}

TEST_CASE("without --all a feed that is not due is not polled") {
  HttpTestServer server;
  TempFolder folder;
  const config::Config config = make_config(folder, {server.url("/feed.xml")});
  REQUIRE(poll_once(config, false)->polled == 1);
  auto second = poll_once(config, false);
  REQUIRE(second.has_value());
  CHECK(second->polled == 0);
  CHECK(server.count("/feed.xml") == 1);
}

TEST_CASE("an unchanged body without validators is not parsed again") {
  TempFolder folder;
  const std::string path = folder.file("feed.xml");
  std::filesystem::copy_file(kFixture, path);
  const config::Config config = make_config(folder, {file_url(path)});

  auto first = poll_once(config, true);
  REQUIRE(first.has_value());
  CHECK(first->parsed == 1);
  CHECK(first->new_items == 2);

  auto second = poll_once(config, true);
  REQUIRE(second.has_value());
  CHECK(second->succeeded == 1);
  CHECK(second->unchanged == 1);
  CHECK(second->parsed == 0);

  // A changed body is parsed again.
  write_file(path, test::read_bytes(kFixture) + "\n<!-- changed -->\n");
  auto third = poll_once(config, true);
  REQUIRE(third.has_value());
  CHECK(third->parsed == 1);
  CHECK(third->unchanged == 0);
}

TEST_CASE("broken feeds do not stop the others and record their errors") {
  HttpTestServer server;
  TempFolder folder;
  const std::string good = server.url("/feed.xml");
  // An HTML page: the parser repairs malformed XML, but this is not a feed at all.
  const std::string invalid = server.url("/wrong-type");
  const std::string error = server.url("/error");
  const std::string missing = file_url(folder.file("missing.xml"));
  const config::Config config = make_config(folder, {invalid, good, error, missing});

  auto summary = poll_once(config, true);
  REQUIRE(summary.has_value());
  CHECK(summary->polled == 4);
  CHECK(summary->succeeded == 1);
  CHECK(summary->failed == 3);
  CHECK(summary->errors.size() == 3);
  CHECK(summary->new_items == 1);

  CHECK(feed_state(config, good).last_error.empty());
  const store::FeedState broken_xml = feed_state(config, invalid);
  CHECK_FALSE(broken_xml.last_error.empty());
  CHECK(broken_xml.consecutive_failures == 1);
  CHECK(broken_xml.last_status == 200);
  const store::FeedState server_error = feed_state(config, error);
  CHECK(server_error.last_status == 500);
  CHECK(server_error.consecutive_failures == 1);
  CHECK(server_error.failing_since.has_value());
  CHECK_FALSE(feed_state(config, missing).last_error.empty());

  auto reports = feed_reports(
      config, std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
  REQUIRE(reports.has_value());
  REQUIRE(reports->size() == 4);
  CHECK((*reports)[0].status == "failing");
  CHECK((*reports)[1].status == "ok");
  CHECK((*reports)[1].items == 1);
  CHECK((*reports)[2].status == "failing");
  CHECK((*reports)[2].error == server_error.last_error);
}

TEST_CASE("a feed whose every poll fails is still a summary, not an error") {
  HttpTestServer server;
  TempFolder folder;
  const config::Config config = make_config(folder, {server.url("/error")});
  auto summary = poll_once(config, true);
  REQUIRE(summary.has_value());
  CHECK(summary->succeeded == 0);
  CHECK(summary->failed == 1);
}

TEST_CASE("410 Gone disables the feed and it is not polled again") {
  HttpTestServer server;
  TempFolder folder;
  const std::string url = server.url("/gone");
  const config::Config config = make_config(folder, {url});
  REQUIRE(poll_once(config, true).has_value());
  const store::FeedState state = feed_state(config, url);
  CHECK(state.disabled);
  CHECK(state.disabled_reason.find("410") != std::string::npos);
  auto again = poll_once(config, true);
  REQUIRE(again.has_value());
  CHECK(again->polled == 0);
  CHECK(server.count("/gone") == 1);
  auto reports = feed_reports(
      config, std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
  REQUIRE(reports.has_value());
  CHECK((*reports)[0].status == "disabled");
  CHECK((*reports)[0].error == state.disabled_reason);
}

TEST_CASE("429 Retry-After holds back that feed only") {
  HttpTestServer server;
  TempFolder folder;
  const std::string busy = server.url("/busy/seconds");
  const std::string good = server.url("/feed.xml");
  const config::Config config = make_config(folder, {busy, good});
  const auto before = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  REQUIRE(poll_once(config, true).has_value());
  const store::FeedState held = feed_state(config, busy);
  REQUIRE(held.next_poll.has_value());
  CHECK(*held.next_poll >= before + std::chrono::seconds{120});
  CHECK(held.last_status == 429);
  CHECK(feed_state(config, good).last_status == 200);
}

TEST_CASE("a permanent redirect that holds for three polls becomes the polled URL") {
  HttpTestServer server;
  TempFolder folder;
  const std::string url = server.url("/moved");
  const config::Config config = make_config(folder, {url});
  for (int poll = 1; poll <= 2; ++poll) {
    REQUIRE(poll_once(config, true).has_value());
    CHECK(feed_state(config, url).fetch_url.empty());
  }
  REQUIRE(poll_once(config, true).has_value());
  CHECK(feed_state(config, url).fetch_url == server.url("/feed.xml"));
  REQUIRE(poll_once(config, true).has_value());
  CHECK(server.count("/moved") == 3);

  auto reports = feed_reports(
      config, std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
  REQUIRE(reports.has_value());
  CHECK((*reports)[0].url == url);
  CHECK((*reports)[0].fetch_url == server.url("/feed.xml"));
}

TEST_CASE("feeds --json lists every configured feed with its state") {
  HttpTestServer server;
  TempFolder folder;
  config::Config config = make_config(folder, {server.url("/feed.xml"), server.url("/error")});
  config::FeedConfig off;
  off.url = server.url("/off.xml");
  off.enabled = false;
  config.feeds.push_back(off);

  // Before any poll there is no database: every feed is listed, never polled.
  auto empty = feed_reports(
      config, std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
  REQUIRE(empty.has_value());
  CHECK((*empty)[0].status == "never polled");

  REQUIRE(poll_once(config, true).has_value());
  auto reports = feed_reports(
      config, std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
  REQUIRE(reports.has_value());
  const std::string text = feeds_json(*reports);
  CHECK(text.back() == '\n');
  const boost::json::value root = boost::json::parse(text);
  const boost::json::array& feeds = root.at("feeds").as_array();
  REQUIRE(feeds.size() == 3);
  for (const boost::json::value& feed : feeds) {
    for (const char* key :
         {"url", "fetch_url", "title", "enabled", "status", "last_status", "last_attempt",
          "last_success", "next_poll", "items", "consecutive_failures", "error"})
      CHECK_MESSAGE(feed.as_object().contains(key), key);
  }
  const auto& ok = feeds[0].as_object();
  CHECK(ok.at("status") == "ok");
  CHECK(ok.at("title") == "Fetch fixture");
  CHECK(ok.at("last_status") == 200);
  CHECK(ok.at("items") == 1);
  CHECK(ok.at("error").is_null());
  CHECK(ok.at("last_success").as_string().ends_with("Z"));
  const auto& failing = feeds[1].as_object();
  CHECK(failing.at("status") == "failing");
  CHECK(failing.at("last_status") == 500);
  CHECK(failing.at("last_success").is_null());
  CHECK(failing.at("error").is_string());
  const auto& disabled = feeds[2].as_object();
  CHECK(disabled.at("enabled") == false);
  CHECK(disabled.at("status") == "disabled");
  CHECK(disabled.at("last_status").is_null());
  CHECK(server.count("/off.xml") == 0);
}

// `feedmerge once` into two databases: the same stories, decided by the index, and each
// database closed as always.
TEST_CASE("two first polls of the same feeds store the same stories") {
  const std::string feeds = std::string(FEEDMERGE_TEST_DATA) + "/dedup/oracle-tiktok/feeds/";
  const std::vector<std::string> urls = {
      file_url(feeds + "gazette.xml"), file_url(feeds + "octet.xml"), file_url(feeds + "wire.xml")};
  // Each item's feed, GUID and story, as one line per item in a stable order.
  auto memberships = [](const config::Config& config) {
    SQLite::Database db(config.storage.database, SQLite::OPEN_READONLY);
    SQLite::Statement rows(db,
                           "SELECT f.url, i.key, m.story_id FROM items AS i JOIN feeds AS f ON "
                           "f.id = i.feed_id LEFT JOIN item_stories AS m ON m.item_id = i.id "
                           "ORDER BY f.url, i.key");
    std::vector<std::string> lines;
    while (rows.executeStep()) {
      lines.push_back(rows.getColumn(0).getString() + " " + rows.getColumn(1).getString() + " " +
                      (rows.getColumn(2).isNull() ? "-" : rows.getColumn(2).getString()));
    }
    return lines;
  };
  TempFolder freeing_folder;
  TempFolder leaving_folder;
  const config::Config freeing = make_config(freeing_folder, urls);
  const config::Config leaving = make_config(leaving_folder, urls);
  REQUIRE(poll_once(freeing, true).has_value());
  auto summary = poll_once(leaving, true);
  REQUIRE(summary.has_value());
  REQUIRE(summary->new_items > 0);
  // Closed as always: the last connection's checkpoint removed the WAL.
  CHECK_FALSE(std::filesystem::exists(leaving.storage.database + "-wal"));
  const std::vector<std::string> stored = memberships(leaving);
  CHECK(stored.size() == static_cast<std::size_t>(summary->new_items));
  CHECK(std::none_of(stored.begin(), stored.end(),
                     [](const std::string& line) { return line.ends_with(" -"); }));
  CHECK(stored == memberships(freeing));
  // Decided by the index, not trivially one story per item: the three outlets share stories.
  std::set<std::string> stories;
  for (const std::string& line : stored)
    stories.insert(line.substr(line.rfind(' ') + 1));
  CHECK(stories.size() < stored.size());
  // A later poll in the same process stores nothing new and keeps the stories.
  auto again = poll_once(leaving, true);
  REQUIRE(again.has_value());
  CHECK(again->succeeded == 3);
  CHECK(memberships(leaving) == stored);
}

}  // namespace
}  // namespace feedmerge::daemon
