// Storage faults: a full disk (a fault-injecting SQLite VFS, tests/support/fault_vfs.h) and a
// database locked by another connection. Nothing stored may be lost, the error must say what
// happened, and storing must resume once the fault is gone.
#include <SQLiteCpp/Database.h>
#include <doctest/doctest.h>

#include <fstream>
#include <string>

#include "daemon/test_config.h"
#include "feedmerge/daemon/daemon.h"
#include "feedmerge/store/store.h"
#include "store/temp_folder.h"
#include "support/fault_vfs.h"

namespace {

using namespace std::chrono_literals;
using feedmerge::model::Feed;
using feedmerge::model::Item;
using feedmerge::model::Time;
using feedmerge::store::Store;
using feedmerge::test::FaultVfs;
using feedmerge::test::TempFolder;

const Time kNow = std::chrono::sys_days{std::chrono::year{2024} / 3 / 1};

// Items big enough that storing them must grow the files.
Feed feed_with(int first, int count) {
  Feed feed;
  feed.title = "Fault feed";
  for (int i = first; i < first + count; ++i) {
    Item item;
    item.id = "item-" + std::to_string(i);
    item.title = "Item " + std::to_string(i);
    item.content = std::string(2000, static_cast<char>('a' + i % 26));
    item.published = kNow - 1h;
    feed.items.push_back(std::move(item));
  }
  return feed;
}

std::unique_ptr<Store> open(const std::string& path) {
  auto store = Store::open(path);
  REQUIRE_MESSAGE(store.has_value(), (store ? "" : store.error().message));
  return std::move(*store);
}

std::string rss_with(int count) {
  std::string text = "<rss version=\"2.0\"><channel><title>t</title>";
  for (int i = 0; i < count; ++i) {
    text += "<item><guid>g" + std::to_string(i) + "</guid><title>T" + std::to_string(i) +
            "</title><description>" + std::string(1500, 'x') + "</description></item>";
  }
  return text + "</channel></rss>";
}

}  // namespace

TEST_CASE("a full disk fails the write clearly, keeps what was stored, and storing resumes") {
  TempFolder folder;
  FaultVfs vfs;
  const std::string path = folder.file("feedmerge.db");
  {
    auto store = open(path);
    auto state = store->ensure_feed("http://a.test/feed.xml");
    REQUIRE(state.has_value());
    REQUIRE(store->record_poll(*state, nullptr, kNow).has_value());
    const Feed first = feed_with(0, 5);
    REQUIRE(store->record_poll(*state, &first, kNow).has_value());
    REQUIRE(store->count_items().value() == 5);

    vfs.set_disk_full(true);
    const Feed second = feed_with(5, 300);
    auto failed = store->record_poll(*state, &second, kNow);
    REQUIRE_FALSE(failed.has_value());
    CHECK(vfs.failed_writes() > 0);
    CHECK(failed.error().message.find("full") != std::string::npos);
    CHECK(failed.error().message.find(path) == 0);
    CHECK(store->count_items().value() == 5);  // the earlier items, and nothing half-written

    vfs.set_disk_full(false);
    auto stored = store->record_poll(*state, &second, kNow);
    REQUIRE_MESSAGE(stored.has_value(), (stored ? "" : stored.error().message));
    CHECK(stored->inserted == 300);
    CHECK(store->count_items().value() == 305);
  }
  SQLite::Database check(path, SQLite::OPEN_READONLY);
  CHECK(check.execAndGet("PRAGMA integrity_check").getString() == "ok");
  CHECK(check.execAndGet("SELECT count(*) FROM items").getInt() == 305);
}

TEST_CASE("poll_once on a full disk reports the feed's store error and stores it next time") {
  TempFolder folder;
  FaultVfs vfs;
  const std::string feed_path = folder.file("big.rss");
  std::ofstream(feed_path) << rss_with(200);
  auto config = feedmerge::daemon::make_test_config(folder, {"file://" + feed_path});
  {
    // The database and the feed exist before the disk fills up: the fault hits a poll.
    auto store = open(config.storage.database);
    REQUIRE(store->ensure_feed(config.feeds[0].url).has_value());
  }
  vfs.set_disk_full(true);
  auto summary = feedmerge::daemon::poll_once(config, true);
  REQUIRE_MESSAGE(summary.has_value(), (summary ? "" : summary.error().message));
  CHECK(summary->failed == 1);
  REQUIRE(summary->errors.size() == 1);
  CHECK(summary->errors[0].find("disk is full") != std::string::npos);

  vfs.set_disk_full(false);
  summary = feedmerge::daemon::poll_once(config, true);
  REQUIRE(summary.has_value());
  CHECK(summary->failed == 0);
  CHECK(summary->new_items == 200);
}

TEST_CASE("a database locked by another connection is retried for a bounded time, then fails") {
  TempFolder folder;
  const std::string path = folder.file("feedmerge.db");
  auto store = open(path);
  auto state = store->ensure_feed("http://a.test/feed.xml");
  REQUIRE(state.has_value());
  const Feed feed = feed_with(0, 3);

  SQLite::Database other(path, SQLite::OPEN_READWRITE);
  other.exec("BEGIN IMMEDIATE");  // holds the write lock, as another process would
  auto failed = store->record_poll(*state, &feed, kNow);
  REQUIRE_FALSE(failed.has_value());
  CHECK(failed.error().message.find("locked") != std::string::npos);
  CHECK(failed.error().message.find("another process held it") != std::string::npos);
  other.exec("ROLLBACK");

  auto stored = store->record_poll(*state, &feed, kNow);
  REQUIRE(stored.has_value());
  CHECK(stored->inserted == 3);
}
