// Storage faults: a full disk (a fault-injecting SQLite VFS, tests/support/fault_vfs.h), a
// database locked by another connection, its files deleted while open, a corrupt page. Nothing
// stored may be lost, the error must say what happened, and storing must resume once the fault is
// gone.
#include <SQLiteCpp/Database.h>
#include <doctest/doctest.h>

#include <filesystem>
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
using feedmerge::store::open_sqlite;
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
  auto store = open_sqlite(path);
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

TEST_CASE("a -wal or database file deleted while open is noticed, and the -wal's data saved") {
  TempFolder folder;
  const std::string path = folder.file("feedmerge.db");
  auto store = open(path);
  auto state = store->ensure_feed("http://a.test/feed.xml");
  REQUIRE(state.has_value());
  const Feed first = feed_with(0, 5);
  REQUIRE(store->record_poll(*state, &first, kNow).has_value());
  REQUIRE(store->check_files().has_value());

  SUBCASE("the -wal") {
    REQUIRE(std::filesystem::remove(path + "-wal"));
    // Written on into the deleted -wal, as the daemon did (issue 17, finding 4).
    const Feed second = feed_with(5, 5);
    REQUIRE(store->record_poll(*state, &second, kNow).has_value());
    auto checked = store->check_files();
    REQUIRE_FALSE(checked.has_value());
    CHECK(checked.error().message.find(path + "-wal was deleted while open") != std::string::npos);
    // What the deleted -wal held goes into the database file through the open descriptor.
    REQUIRE(store->checkpoint(true).has_value());
    store.reset();
    SQLite::Database check(path, SQLite::OPEN_READONLY);
    CHECK(check.execAndGet("PRAGMA integrity_check").getString() == "ok");
    CHECK(check.execAndGet("SELECT count(*) FROM items").getInt() == 10);
  }
  SUBCASE("the database file") {
    REQUIRE(std::filesystem::remove(path));
    auto checked = store->check_files();
    REQUIRE_FALSE(checked.has_value());
    CHECK(checked.error().message.find("the database file was deleted while open") !=
          std::string::npos);
  }
  SUBCASE("the database file replaced by another") {
    REQUIRE(std::filesystem::remove(path));
    std::ofstream(path) << "";
    auto checked = store->check_files();
    REQUIRE_FALSE(checked.has_value());
    CHECK(checked.error().message.find("replaced by another file") != std::string::npos);
  }
}

TEST_CASE("a full disk fails a checkpoint that has pages to move") {
  TempFolder folder;
  FaultVfs vfs;
  const std::string path = folder.file("feedmerge.db");
  auto store = open(path);
  auto state = store->ensure_feed("http://a.test/feed.xml");
  REQUIRE(state.has_value());
  const Feed many = feed_with(0, 200);  // pages in the -wal that the database file lacks
  REQUIRE(store->record_poll(*state, &many, kNow).has_value());
  vfs.set_disk_full(true);
  auto checkpoint = store->checkpoint();
  vfs.set_disk_full(false);
  REQUIRE_FALSE(checkpoint.has_value());
  CHECK(checkpoint.error().message.find("checkpoint failed") != std::string::npos);
  CHECK(store->checkpoint().has_value());
}

TEST_CASE("quick_check finds a corrupt page in the middle of the file") {
  TempFolder folder;
  const std::string path = folder.file("feedmerge.db");
  {
    auto store = open(path);
    auto state = store->ensure_feed("http://a.test/feed.xml");
    REQUIRE(state.has_value());
    const Feed many = feed_with(0, 200);
    REQUIRE(store->record_poll(*state, &many, kNow).has_value());
    REQUIRE(store->quick_check().has_value());
  }
  const auto size = std::filesystem::file_size(path);
  REQUIRE(size > 16 * 4096);
  {
    // Garbage over one page half-way through: the header and schema still read fine.
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(static_cast<std::streamoff>((size / 4096 / 2) * 4096));
    const std::string garbage(4096, '\xA5');
    file.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  auto store = open(path);  // opening does not read every page
  auto checked = store->quick_check();
  REQUIRE_FALSE(checked.has_value());
  CHECK(checked.error().message.find(path + ": the database is corrupt: ") == 0);
}
