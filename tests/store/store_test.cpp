#include "feedmerge/store/store.h"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "store/temp_folder.h"
#include "store/test_backends.h"

namespace {

using namespace std::chrono_literals;
using feedmerge::ErrorKind;
using feedmerge::Warning;
using feedmerge::model::Feed;
using feedmerge::model::Item;
using feedmerge::model::Time;
using feedmerge::store::FeedState;
using feedmerge::store::kSchemaVersion;
using feedmerge::store::open_sqlite;
using feedmerge::store::OpenMode;
using feedmerge::store::Store;
using feedmerge::store::StoredItem;
using feedmerge::test::PgBackend;
using feedmerge::test::read_bytes;
using feedmerge::test::SqliteBackend;
using feedmerge::test::TempFolder;

const Time kT0 = std::chrono::sys_days{std::chrono::year{2024} / 3 / 1} + 12h;

std::unique_ptr<Store> open_at(const std::string& path, OpenMode mode = OpenMode::read_write) {
  auto store = feedmerge::store::open_store(path, mode);
  REQUIRE_MESSAGE(store.has_value(), (store ? "" : store.error().message));
  return std::move(*store);
}

Item item(std::string id, std::string title, std::optional<Time> published = kT0 - 1h) {
  Item result;
  result.id = std::move(id);
  result.title = title;
  result.link = "https://example.com/" + title;
  result.published = published;
  result.summary = "<p>" + title + "</p>";
  return result;
}

Feed feed_of(std::vector<Item> items) {
  Feed feed;
  feed.title = "Example News";
  feed.link = "https://example.com/";
  feed.items = std::move(items);
  return feed;
}

FeedState ensure(Store& store, const std::string& url) {
  auto feed = store.ensure_feed(url);
  REQUIRE_MESSAGE(feed.has_value(), (feed ? "" : feed.error().message));
  return *feed;
}

feedmerge::store::StoreResult poll(Store& store, const FeedState& state, const Feed& feed,
                                   Time now) {
  auto result = store.record_poll(state, &feed, now);
  REQUIRE_MESSAGE(result.has_value(), (result ? "" : result.error().message));
  return *result;
}

std::vector<StoredItem> items_of(Store& store, std::int64_t feed_id) {
  auto items = store.items_of_feed(feed_id);
  REQUIRE_MESSAGE(items.has_value(), (items ? "" : items.error().message));
  return *items;
}

std::int64_t count(Store& store) {
  auto n = store.count_items();
  REQUIRE(n.has_value());
  return *n;
}

std::string pragma(const std::string& path, const std::string& name) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  return db.execAndGet("PRAGMA " + name).getString();
}

}  // namespace

TEST_CASE("a new database is created at the latest schema version, in WAL mode") {
  TempFolder folder;
  const auto path = folder.file("feedmerge.db");
  open_at(path);
  CHECK(pragma(path, "user_version") == std::to_string(kSchemaVersion));
  CHECK(pragma(path, "journal_mode") == "wal");
  CHECK(pragma(path, "application_id") == "1179472455");
}

TEST_CASE_TEMPLATE("reopening keeps feeds, items and the conditional-request state", Backend,
                   SqliteBackend, PgBackend) {
  Backend backend;
  const auto path = backend.location();
  FeedState state;
  {
    auto store = open_at(path);
    state = ensure(*store, "https://example.com/feed.xml");
    state.etag = "\"abc123\"";
    state.last_modified = "Fri, 01 Mar 2024 11:00:00 GMT";
    state.body_hash = "0123456789abcdef";
    state.next_poll = kT0 + 30min;
    state.interval = 30min;
    state.last_attempt = kT0;
    state.last_success = kT0;
    state.last_status = 200;
    poll(*store, state, feed_of({item("a", "first"), item("b", "second")}), kT0);
  }
  auto store = open_at(path);
  auto found = store->find_feed("https://example.com/feed.xml");
  REQUIRE(found.has_value());
  REQUIRE(found->has_value());
  const FeedState& reread = **found;
  CHECK(reread.etag == "\"abc123\"");
  CHECK(reread.last_modified == "Fri, 01 Mar 2024 11:00:00 GMT");
  CHECK(reread.body_hash == "0123456789abcdef");
  CHECK(reread.next_poll == kT0 + 30min);
  CHECK(reread.interval == std::chrono::seconds{30min});
  CHECK(reread.last_success == kT0);
  CHECK(reread.last_status == 200);
  CHECK(reread.title == "Example News");
  CHECK(reread.link == "https://example.com/");
  CHECK(reread.item_count == 2);
  CHECK(count(*store) == 2);
  // The same document after the restart is not new.
  auto again = poll(*store, reread, feed_of({item("a", "first"), item("b", "second")}), kT0 + 1h);
  CHECK(again.inserted == 0);
  CHECK(again.unchanged == 2);
}

TEST_CASE_TEMPLATE("ensure_feeds returns each URL's feed in the order asked, adding only new ones",
                   Backend, SqliteBackend, PgBackend) {
  Backend backend;
  const auto path = backend.location();
  auto store = open_at(path);
  FeedState known = ensure(*store, "https://example.com/a.xml");
  known.etag = "\"kept\"";
  known.last_status = 200;
  poll(*store, known, feed_of({item("a", "first")}), kT0);

  const std::vector<std::string> urls = {"https://example.com/b.xml", "https://example.com/a.xml",
                                         "https://example.com/c.xml"};
  auto feeds = store->ensure_feeds(urls);
  REQUIRE_MESSAGE(feeds.has_value(), (feeds ? "" : feeds.error().message));
  REQUIRE(feeds->size() == 3);
  for (std::size_t i = 0; i < urls.size(); ++i)
    CHECK((*feeds)[i].url == urls[i]);
  CHECK((*feeds)[1].id == known.id);
  CHECK((*feeds)[1].etag == "\"kept\"");
  CHECK((*feeds)[1].item_count == 1);
  CHECK((*feeds)[0].etag.empty());
  CHECK((*feeds)[0].id != (*feeds)[2].id);

  // Asked again, nothing is added and the ids stay.
  auto again = store->ensure_feeds(urls);
  REQUIRE(again.has_value());
  for (std::size_t i = 0; i < urls.size(); ++i)
    CHECK((*again)[i].id == (*feeds)[i].id);
  auto all = store->list_feeds();
  REQUIRE(all.has_value());
  CHECK(all->size() == 3);
}

TEST_CASE_TEMPLATE("schedule_polls stores the next poll alone, for another process to read",
                   Backend, SqliteBackend, PgBackend) {
  Backend backend;
  const auto path = backend.location();
  auto store = open_at(path);
  FeedState polled = ensure(*store, "https://example.com/a.xml");
  polled.etag = "\"kept\"";
  polled.last_attempt = kT0;
  poll(*store, polled, feed_of({item("a", "first")}), kT0);
  const FeedState fresh = ensure(*store, "https://example.com/b.xml");

  REQUIRE(store->schedule_polls({{polled.id, kT0 + 10min}, {fresh.id, kT0 + 1s}}).has_value());
  auto reader = open_at(path, OpenMode::read_only);
  auto a = reader->find_feed("https://example.com/a.xml");
  auto b = reader->find_feed("https://example.com/b.xml");
  REQUIRE((a.has_value() && a->has_value() && b.has_value() && b->has_value()));
  CHECK((*a)->next_poll == kT0 + 10min);
  CHECK((*a)->etag == "\"kept\"");  // the rest of the state is untouched
  CHECK((*a)->last_attempt == kT0);
  CHECK((*a)->item_count == 1);
  CHECK((*b)->next_poll == kT0 + 1s);
  CHECK_FALSE((*b)->last_attempt.has_value());
  CHECK(store->schedule_polls({}).has_value());
}

TEST_CASE_TEMPLATE("a feed configured in another form of its stored URL keeps its row and items",
                   Backend, SqliteBackend, PgBackend) {
  // Issue 17: "#frag", a trailing "?", ":80", "LOCALHOST." and "127.1" each made a new feed.
  Backend backend;
  const auto path = backend.location();
  FeedState stored;
  {
    auto store = open_at(path);
    stored = ensure(*store, "http://LOCALHOST.:80/feed.xml#top");
    stored.etag = "\"kept\"";
    poll(*store, stored, feed_of({item("a", "first")}), kT0);
    FeedState other = ensure(*store, "http://127.1:8080/feed.xml?");
    poll(*store, other, feed_of({item("b", "second")}), kT0);
  }
  {
    // Readers are not written to: found under the new form, stored under the old.
    auto reader = open_at(path, OpenMode::read_only);
    auto found = reader->find_feed("http://localhost/feed.xml");
    REQUIRE(found.has_value());
    REQUIRE(found->has_value());
    CHECK((*found)->id == stored.id);
    CHECK((*found)->url == "http://LOCALHOST.:80/feed.xml#top");
    auto missing = reader->find_feed("http://localhost/other.xml");
    REQUIRE(missing.has_value());
    CHECK(!missing->has_value());
  }
  auto store = open_at(path);
  const std::vector<std::string> urls = {"http://localhost/feed.xml",
                                         "http://127.0.0.1:8080/feed.xml"};
  auto feeds = store->ensure_feeds(urls);
  REQUIRE_MESSAGE(feeds.has_value(), (feeds ? "" : feeds.error().message));
  REQUIRE(feeds->size() == 2);
  CHECK((*feeds)[0].id == stored.id);
  CHECK((*feeds)[0].url == urls[0]);  // outputs and health match the configured text
  CHECK((*feeds)[0].etag == "\"kept\"");
  CHECK((*feeds)[0].item_count == 1);
  CHECK((*feeds)[1].url == urls[1]);
  CHECK((*feeds)[1].item_count == 1);
  auto all = store->list_feeds();
  REQUIRE(all.has_value());
  CHECK(all->size() == 2);
  auto exact = store->find_feed(urls[0]);
  REQUIRE(exact.has_value());
  REQUIRE(exact->has_value());
  CHECK((*exact)->id == stored.id);
}

TEST_CASE("a feed stored twice by an older build is one feed again, the first row kept") {
  TempFolder folder;
  const auto path = folder.file("feedmerge.db");
  open_at(path);
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    db.exec(
        "INSERT INTO feeds (url) VALUES ('http://127.0.0.1:8080/feed.xml#a'), "
        "('http://127.0.0.1:8080/feed.xml#b')");
  }
  auto store = open_at(path);
  auto rows = store->list_feeds();
  REQUIRE(rows.has_value());
  REQUIRE(rows->size() == 2);
  const FeedState first = (*rows)[0];
  const FeedState second = (*rows)[1];
  auto feeds = store->ensure_feeds({"http://127.1:8080/feed.xml"});
  REQUIRE(feeds.has_value());
  CHECK((*feeds)[0].id == first.id);
  // Asked for exactly, the other row is still itself.
  auto again = store->ensure_feeds({"http://127.0.0.1:8080/feed.xml#b"});
  REQUIRE(again.has_value());
  CHECK((*again)[0].id == second.id);
}

TEST_CASE_TEMPLATE("every feed field written by record_poll reads back the same", Backend,
                   SqliteBackend, PgBackend) {
  Backend backend;
  auto store = open_at(backend.location());
  FeedState state = ensure(*store, "https://old.example.com/rss");
  state.fetch_url = "https://new.example.com/rss";
  state.etag = "W/\"1\"";
  state.last_modified = "Thu, 29 Feb 2024 10:00:00 GMT";
  state.body_hash = "feedface";
  state.next_poll = kT0 + 2h;
  state.interval = 2h;
  state.last_attempt = kT0;
  state.last_success = kT0 - 1h;
  state.consecutive_failures = 1;
  state.last_status = 410;
  state.last_error = "HTTP 410 Gone";
  state.disabled = true;
  state.disabled_reason = "410 Gone: the server says this feed was removed";
  state.pending_redirect = "https://newer.example.com/rss";
  state.pending_redirect_polls = 2;
  REQUIRE(store->record_poll(state, nullptr, kT0).has_value());

  auto found = store->find_feed("https://old.example.com/rss");
  REQUIRE(found.has_value());
  REQUIRE(found->has_value());
  FeedState expected = state;
  expected.failing_since = kT0;  // store-maintained
  CHECK(**found == expected);
  CHECK(feedmerge::store::url_to_fetch(**found) == "https://new.example.com/rss");
}

TEST_CASE_TEMPLATE("failing_since starts with the first failure and clears on success", Backend,
                   SqliteBackend, PgBackend) {
  Backend backend;
  auto store = open_at(backend.location());
  FeedState state = ensure(*store, "https://example.com/feed.xml");
  auto reread = [&] { return **store->find_feed("https://example.com/feed.xml"); };

  state.consecutive_failures = 1;
  state.last_error = "connection refused";
  REQUIRE(store->record_poll(state, nullptr, kT0).has_value());
  CHECK(reread().failing_since == kT0);

  state.consecutive_failures = 2;
  REQUIRE(store->record_poll(state, nullptr, kT0 + 3 * 24h).has_value());
  CHECK(reread().failing_since == kT0);  // the run began at the first failure

  state.consecutive_failures = 0;
  state.last_error.clear();
  const Feed empty = feed_of({});
  REQUIRE(store->record_poll(state, &empty, kT0 + 4 * 24h).has_value());
  CHECK(reread().failing_since == std::nullopt);
}

TEST_CASE_TEMPLATE("a poll without a document keeps the feed's title and items", Backend,
                   SqliteBackend, PgBackend) {
  Backend backend;
  auto store = open_at(backend.location());
  FeedState state = ensure(*store, "https://example.com/feed.xml");
  poll(*store, state, feed_of({item("a", "first")}), kT0);
  state.last_status = 304;
  auto result = store->record_poll(state, nullptr, kT0 + 1h);
  REQUIRE(result.has_value());
  CHECK(*result == feedmerge::store::StoreResult{});
  auto reread = **store->find_feed("https://example.com/feed.xml");
  CHECK(reread.title == "Example News");
  CHECK(reread.last_status == 304);
  CHECK(reread.item_count == 1);
}

TEST_CASE("a database from a newer feedmerge is refused and left byte-identical") {
  for (const bool wal : {false, true}) {
    CAPTURE(wal);
    TempFolder folder;
    const auto path = folder.file("future.db");
    {
      SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
      if (wal) db.exec("PRAGMA journal_mode = WAL");
      db.exec("PRAGMA application_id = 1179472455");
      db.exec("CREATE TABLE feeds (id INTEGER PRIMARY KEY, shape TEXT)");
      db.exec("INSERT INTO feeds (shape) VALUES ('from the future')");
      db.exec("PRAGMA user_version = " + std::to_string(kSchemaVersion + 1));
    }
    const std::string before = read_bytes(path);
    REQUIRE(!before.empty());

    for (OpenMode mode : {OpenMode::read_write, OpenMode::read_only}) {
      auto store = feedmerge::store::open_store(path, mode);
      REQUIRE(!store.has_value());
      CHECK(store.error().kind == ErrorKind::database);
      CHECK(store.error().message ==
            path + ": database schema version " + std::to_string(kSchemaVersion + 1) +
                " is newer than this feedmerge supports (" + std::to_string(kSchemaVersion) +
                "); refusing to touch it");
    }
    CHECK(read_bytes(path) == before);
    CHECK(pragma(path, "journal_mode") == (wal ? "wal" : "delete"));
  }
}

TEST_CASE("another program's SQLite file is refused, not migrated") {
  TempFolder folder;
  const auto path = folder.file("other.db");
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("CREATE TABLE notes (body TEXT)");
  }
  const std::string before = read_bytes(path);
  auto store = open_sqlite(path);
  REQUIRE(!store.has_value());
  CHECK(store.error().message.starts_with(path + ": not a feedmerge database"));
  CHECK(read_bytes(path) == before);
}

TEST_CASE("open errors name the path") {
  TempFolder folder;
  SUBCASE("missing folder") {
    const auto path = folder.file("missing/feedmerge.db");
    auto store = open_sqlite(path);
    REQUIRE(!store.has_value());
    CHECK(store.error().kind == ErrorKind::database);
    CHECK(store.error().message.starts_with(path + ": cannot create the database: folder "));
    CHECK(!std::filesystem::exists(folder.path() / "missing"));
  }
  SUBCASE("read-only open of a file that does not exist") {
    const auto path = folder.file("feedmerge.db");
    auto store = open_sqlite(path, OpenMode::read_only);
    REQUIRE(!store.has_value());
    CHECK(store.error().message.starts_with(path + ": no database here"));
    CHECK(!std::filesystem::exists(path));
  }
  SUBCASE("read-only open of an empty file") {
    const auto path = folder.file("feedmerge.db");
    { std::ofstream touch(path); }
    auto store = open_sqlite(path, OpenMode::read_only);
    REQUIRE(!store.has_value());
    CHECK(store.error().message ==
          path + ": database schema version 0 is older than this feedmerge reads (" +
              std::to_string(kSchemaVersion) + "); start the daemon once to upgrade it");
  }
}

TEST_CASE_TEMPLATE("an item with an id is keyed by its id", Backend, SqliteBackend, PgBackend) {
  Backend backend;
  auto store = open_at(backend.location());
  FeedState state = ensure(*store, "https://example.com/feed.xml");
  poll(*store, state, feed_of({item("urn:uuid:1", "first")}), kT0);
  // Same id, new link and title: the same item, updated.
  Item moved = item("urn:uuid:1", "renamed");
  auto result = poll(*store, state, feed_of({moved}), kT0 + 1h);
  CHECK(result.inserted == 0);
  CHECK(result.updated == 1);
  auto items = items_of(*store, state.id);
  REQUIRE(items.size() == 1);
  CHECK(items[0].key == "urn:uuid:1");
  CHECK(items[0].item.title == "renamed");
}

TEST_CASE_TEMPLATE("an item without an id is keyed by its link", Backend, SqliteBackend,
                   PgBackend) {
  Backend backend;
  auto store = open_at(backend.location());
  FeedState state = ensure(*store, "https://example.com/feed.xml");
  Item linked = item("", "story");
  poll(*store, state, feed_of({linked}), kT0);
  linked.title = "story, corrected";
  auto result = poll(*store, state, feed_of({linked}), kT0 + 1h);
  CHECK(result.updated == 1);
  auto items = items_of(*store, state.id);
  REQUIRE(items.size() == 1);
  CHECK(items[0].key == "https://example.com/story");
}

TEST_CASE_TEMPLATE("an item without id or link is keyed by a hash of its text and date", Backend,
                   SqliteBackend, PgBackend) {
  Backend backend;
  auto store = open_at(backend.location());
  FeedState state = ensure(*store, "https://example.com/feed.xml");
  Item bare;
  bare.title = "Status update";
  bare.content = "<p>All systems normal.</p>";
  bare.published = kT0 - 1h;
  Item other = bare;
  other.content = "<p>Degraded performance.</p>";
  auto first = poll(*store, state, feed_of({bare, other}), kT0);
  CHECK(first.inserted == 2);
  auto again = poll(*store, state, feed_of({bare, other}), kT0 + 1h);
  CHECK(again.inserted == 0);
  CHECK(again.unchanged == 2);
  auto items = items_of(*store, state.id);
  REQUIRE(items.size() == 2);
  CHECK(items[0].key.starts_with("hash:"));
  CHECK(items[0].key.size() == 5 + 16);
  CHECK(items[0].key != items[1].key);
}

TEST_CASE_TEMPLATE("the same poll twice stores nothing new", Backend, SqliteBackend, PgBackend) {
  Backend backend;
  auto store = open_at(backend.location());
  FeedState state = ensure(*store, "https://example.com/feed.xml");
  const Feed feed = feed_of({item("a", "one"), item("b", "two"), item("c", "three")});
  auto first = poll(*store, state, feed, kT0);
  CHECK(first.inserted == 3);
  CHECK(first.new_items.size() == 3);
  const auto stored = items_of(*store, state.id);

  auto second = poll(*store, state, feed, kT0 + 1h);
  CHECK(second.inserted == 0);
  CHECK(second.updated == 0);
  CHECK(second.unchanged == 3);
  CHECK(second.new_items.empty());
  CHECK(count(*store) == 3);
  CHECK(items_of(*store, state.id) == stored);  // not even rewritten
}

TEST_CASE_TEMPLATE("a key repeated within one document keeps the first, with a warning", Backend,
                   SqliteBackend, PgBackend) {
  Backend backend;
  auto store = open_at(backend.location());
  FeedState state = ensure(*store, "https://example.com/feed.xml");
  auto result = poll(*store, state, feed_of({item("a", "first"), item("a", "copy")}), kT0);
  CHECK(result.inserted == 1);
  CHECK(result.updated == 0);
  CHECK(result.warnings ==
        std::vector<Warning>{{0,
                              "item a appears more than once in the document; keeping the "
                              "first"}});
  CHECK(items_of(*store, state.id).at(0).item.title == "first");
}

TEST_CASE_TEMPLATE("changed content updates the item in place and records when", Backend,
                   SqliteBackend, PgBackend) {
  Backend backend;
  auto store = open_at(backend.location());
  FeedState state = ensure(*store, "https://example.com/feed.xml");
  Item original = item("a", "headline");
  original.content = "<p>First draft.</p>";
  original.categories = {"tech"};
  original.authors = {"Ana"};
  original.enclosures = {{"https://example.com/a.mp3", "audio/mpeg", 1234}};
  poll(*store, state, feed_of({original}), kT0);
  const StoredItem before = items_of(*store, state.id).at(0);
  CHECK(before.changed_at == std::nullopt);

  Item edited = original;
  edited.content = "<p>Corrected.</p>";
  edited.categories = {"tech", "security"};
  edited.enclosures[0].length = std::nullopt;
  edited.updated = kT0 + 2h;
  auto result = poll(*store, state, feed_of({edited}), kT0 + 3h);
  CHECK(result.updated == 1);
  CHECK(result.updated_item_ids == std::vector<std::int64_t>{before.id});
  CHECK(count(*store) == 1);

  const StoredItem after = items_of(*store, state.id).at(0);
  CHECK(after.id == before.id);
  CHECK(after.first_seen == kT0);
  CHECK(after.changed_at == kT0 + 3h);
  CHECK(after.item == edited);
}

TEST_CASE_TEMPLATE("an item without a date is dated when it was first stored", Backend,
                   SqliteBackend, PgBackend) {
  Backend backend;
  auto store = open_at(backend.location());
  FeedState state = ensure(*store, "https://example.com/feed.xml");
  poll(*store, state, feed_of({item("a", "undated", std::nullopt), item("b", "dated")}), kT0);
  auto items = items_of(*store, state.id);
  REQUIRE(items.size() == 2);
  CHECK(items[0].item.published == kT0);
  CHECK(items[0].published_estimated);
  CHECK(items[1].item.published == kT0 - 1h);
  CHECK(!items[1].published_estimated);

  // An edit later keeps the date of first storage, not the time of the edit.
  Item edited = item("a", "undated", std::nullopt);
  edited.content = "more";
  poll(*store, state, feed_of({edited, item("b", "dated")}), kT0 + 5h);
  CHECK(items_of(*store, state.id).at(0).item.published == kT0);
}

// A date 23 hours ahead used to be kept, and pinned its story at the top of every merged feed
// for 23 hours (issue 17): any date after the poll is clamped to first storage now.
TEST_CASE_TEMPLATE("a date in the future, near or far, is clamped to first storage", Backend,
                   SqliteBackend, PgBackend) {
  Backend backend;
  auto store = open_at(backend.location());
  FeedState state = ensure(*store, "https://example.com/feed.xml");
  const Time future = std::chrono::sys_days{std::chrono::year{2031} / 1 / 1};
  auto result = poll(*store, state,
                     feed_of({item("far", "far", future), item("near", "near", kT0 + 23h),
                              item("skewed", "skewed", kT0 + 2min), item("now", "now", kT0)}),
                     kT0);
  // A clock a few minutes fast is clamped without a warning.
  CHECK(result.warnings ==
        std::vector<Warning>{{0,
                              "item far: publication date 2031-01-01T00:00:00Z is in the "
                              "future; using the time it was first stored"},
                             {0,
                              "item near: publication date 2024-03-02T11:00:00Z is in the "
                              "future; using the time it was first stored"}});
  auto items = items_of(*store, state.id);
  REQUIRE(items.size() == 4);
  for (int i = 0; i < 3; ++i) {
    CAPTURE(i);
    CHECK(items[i].item.published == kT0);
    CHECK(items[i].published_estimated);
  }
  CHECK(items[3].item.published == kT0);
  CHECK(!items[3].published_estimated);
}

TEST_CASE_TEMPLATE("retention by age counts from first storage, not from publication", Backend,
                   SqliteBackend, PgBackend) {
  Backend backend;
  auto store = open_at(backend.location());
  FeedState state = ensure(*store, "https://example.com/feed.xml");
  poll(*store, state, feed_of({item("old", "old")}), kT0);
  // Published years ago, but first stored 10 days later: its age starts then.
  poll(*store, state,
       feed_of({item("old", "old"), item("archive", "archive", kT0 - 3 * 365 * 24h)}),
       kT0 + 10 * 24h);

  auto removed = store->prune(30 * 24h, 0, kT0 + 35 * 24h);
  REQUIRE(removed.has_value());
  CHECK(*removed == 1);
  auto items = items_of(*store, state.id);
  REQUIRE(items.size() == 1);
  CHECK(items[0].key == "archive");
}

TEST_CASE_TEMPLATE("retention by count keeps each feed's newest items", Backend, SqliteBackend,
                   PgBackend) {
  Backend backend;
  auto store = open_at(backend.location());
  FeedState a = ensure(*store, "https://a.example.com/feed.xml");
  FeedState b = ensure(*store, "https://b.example.com/feed.xml");
  poll(*store, a, feed_of({item("a1", "a1"), item("a2", "a2")}), kT0);
  poll(*store, a, feed_of({item("a3", "a3")}), kT0 + 1h);
  // One poll, same first_seen: the later publication date counts as newer.
  poll(
      *store, b,
      feed_of({item("b1", "b1", kT0 - 3h), item("b2", "b2", kT0 - 1h), item("b3", "b3", kT0 - 2h)}),
      kT0);

  auto removed = store->prune(0s, 2, kT0 + 2h);
  REQUIRE(removed.has_value());
  CHECK(*removed == 2);
  std::vector<std::string> keys;
  for (const auto& stored : items_of(*store, a.id))
    keys.push_back(stored.key);
  for (const auto& stored : items_of(*store, b.id))
    keys.push_back(stored.key);
  std::sort(keys.begin(), keys.end());
  // a1 and a2 tie on both dates: document order decides, and feeds list their newest first.
  CHECK(keys == std::vector<std::string>{"a1", "a3", "b2", "b3"});
}

// The daemon checks, after a prune, which of the items it is about to put into stories are
// still stored: by key as well as by row id, since SQLite gives a removed highest row id to the
// next item stored.
TEST_CASE_TEMPLATE("holds_item tells a removed item from its row id given again", Backend,
                   SqliteBackend, PgBackend) {
  Backend backend;
  auto store = open_at(backend.location());
  FeedState a = ensure(*store, "https://a.example.com/feed.xml");
  const auto first = poll(*store, a, feed_of({item("new", "new", kT0), item("old", "old")}), kT0);
  REQUIRE(first.new_items.size() == 2);
  const std::int64_t kept = first.new_items[0].id;
  const std::int64_t removed = first.new_items[1].id;
  REQUIRE(removed > kept);
  REQUIRE(*store->prune(0s, 1, kT0 + 1h) == 1);
  CHECK(*store->holds_item(kept, "new"));
  CHECK_FALSE(*store->holds_item(removed, "old"));

  FeedState b = ensure(*store, "https://b.example.com/feed.xml");
  const auto later = poll(*store, b, feed_of({item("b1", "b1")}), kT0 + 2h);
  REQUIRE(later.new_items.size() == 1);
  // SQLite gives the removed item's row id again; PostgreSQL's identity never goes back.
  CHECK((later.new_items[0].id == removed) == Backend::kReusesItemIds);
  CHECK_FALSE(*store->holds_item(removed, "old"));
  CHECK(*store->holds_item(later.new_items[0].id, "b1"));
  CHECK(*store->holds_item(kept, "new"));
}

TEST_CASE_TEMPLATE("max_items_per_feed 0 and retention 0 keep everything", Backend, SqliteBackend,
                   PgBackend) {
  Backend backend;
  auto store = open_at(backend.location());
  FeedState state = ensure(*store, "https://example.com/feed.xml");
  poll(*store, state, feed_of({item("a", "a"), item("b", "b")}), kT0);
  auto removed = store->prune(0s, 0, kT0 + 3650 * 24h);
  REQUIRE(removed.has_value());
  CHECK(*removed == 0);
  CHECK(count(*store) == 2);
}

TEST_CASE_TEMPLATE("pruned items the feed still lists do not come back as new", Backend,
                   SqliteBackend, PgBackend) {
  Backend backend;
  auto store = open_at(backend.location());
  FeedState state = ensure(*store, "https://example.com/feed.xml");
  const Feed feed = feed_of({item("evergreen", "evergreen"), item("fresh", "fresh")});
  poll(*store, state, feed_of({item("evergreen", "evergreen")}), kT0);
  poll(*store, state, feed, kT0 + 20 * 24h);

  REQUIRE(*store->prune(30 * 24h, 0, kT0 + 31 * 24h) == 1);
  auto result = poll(*store, state, feed, kT0 + 32 * 24h);
  CHECK(result.inserted == 0);
  CHECK(result.pruned == 1);
  CHECK(result.unchanged == 1);
  CHECK(result.new_items.empty());
  CHECK(count(*store) == 1);

  SUBCASE("while the feed keeps listing it, for longer than the retention") {
    for (int day = 40; day <= 200; day += 20) {
      CAPTURE(day);
      REQUIRE(store->prune(30 * 24h, 0, kT0 + day * 24h).has_value());
      auto later = poll(*store, state, feed_of({item("evergreen", "evergreen")}), kT0 + day * 24h);
      CHECK(later.inserted == 0);
      CHECK(later.pruned == 1);
    }
  }
  // The last poll saw "evergreen" at day 32; from then on the feed no longer lists it.
  SUBCASE("the tombstone stays for 30 days after the key was last listed") {
    REQUIRE(store->prune(30 * 24h, 0, kT0 + 62 * 24h - 1s).has_value());
    auto later = poll(*store, state, feed_of({item("evergreen", "evergreen")}), kT0 + 62 * 24h);
    CHECK(later.inserted == 0);
    CHECK(later.pruned == 1);
  }
  SUBCASE("after that the tombstone goes and the key would be new again") {
    REQUIRE(store->prune(30 * 24h, 0, kT0 + 62 * 24h + 1s).has_value());
    auto back = poll(*store, state, feed_of({item("evergreen", "evergreen")}), kT0 + 62 * 24h);
    CHECK(back.inserted == 1);
  }
  SUBCASE("also after a count limit removed them") {
    poll(*store, state, feed_of({item("x", "x"), item("y", "y")}), kT0 + 33 * 24h);
    REQUIRE(*store->prune(0s, 1, kT0 + 34 * 24h) == 2);
    auto again =
        poll(*store, state, feed_of({item("x", "x"), item("y", "y"), item("fresh", "fresh")}),
             kT0 + 35 * 24h);
    CHECK(again.inserted == 0);
    CHECK(again.pruned == 2);
  }
}

TEST_CASE_TEMPLATE("a 1,000-item document is stored in one poll", Backend, SqliteBackend,
                   PgBackend) {
  Backend backend;
  auto store = open_at(backend.location());
  FeedState state = ensure(*store, "https://example.com/big.xml");
  std::vector<Item> items;
  for (int i = 0; i < 1000; ++i) {
    Item entry = item("id-" + std::to_string(i), "title " + std::to_string(i), kT0 - i * 1min);
    entry.content = std::string(2000, 'x');
    entry.categories = {"c" + std::to_string(i % 7)};
    items.push_back(std::move(entry));
  }
  const Feed feed = feed_of(std::move(items));
  auto result = poll(*store, state, feed, kT0);
  CHECK(result.inserted == 1000);
  CHECK(count(*store) == 1000);
  CHECK(poll(*store, state, feed, kT0 + 1h).unchanged == 1000);
  auto stored = items_of(*store, state.id);
  REQUIRE(stored.size() == 1000);
  CHECK(stored[999].item == feed.items[999]);
}

TEST_CASE_TEMPLATE("list_feeds lists every feed with its item count", Backend, SqliteBackend,
                   PgBackend) {
  Backend backend;
  auto store = open_at(backend.location());
  FeedState a = ensure(*store, "https://a.example.com/feed.xml");
  FeedState b = ensure(*store, "https://b.example.com/feed.xml");
  CHECK(ensure(*store, "https://a.example.com/feed.xml").id == a.id);  // not added twice
  poll(*store, b, feed_of({item("1", "one"), item("2", "two")}), kT0);
  auto feeds = store->list_feeds();
  REQUIRE(feeds.has_value());
  REQUIRE(feeds->size() == 2);
  CHECK((*feeds)[0].url == "https://a.example.com/feed.xml");
  CHECK((*feeds)[0].item_count == 0);
  CHECK((*feeds)[1].url == "https://b.example.com/feed.xml");
  CHECK((*feeds)[1].item_count == 2);
  CHECK(store->find_feed("https://c.example.com/feed.xml")->has_value() == false);
}

TEST_CASE_TEMPLATE("a poll for an unknown feed id is an error and stores nothing", Backend,
                   SqliteBackend, PgBackend) {
  Backend backend;
  auto store = open_at(backend.location());
  FeedState ghost;
  ghost.id = 4242;
  const Feed feed = feed_of({item("a", "a")});
  auto result = store->record_poll(ghost, &feed, kT0);
  REQUIRE(!result.has_value());
  CHECK(result.error().kind == ErrorKind::database);
  CHECK(result.error().message == store->location() + ": no feed with id 4242");
  CHECK(count(*store) == 0);
}

TEST_CASE_TEMPLATE("a read-only store reads but refuses to write", Backend, SqliteBackend,
                   PgBackend) {
  Backend backend;
  const auto path = backend.location();
  auto writer = open_at(path);
  FeedState state = ensure(*writer, "https://example.com/feed.xml");
  poll(*writer, state, feed_of({item("a", "a")}), kT0);

  auto reader = open_at(path, OpenMode::read_only);
  CHECK(count(*reader) == 1);
  auto result = reader->record_poll(state, nullptr, kT0);
  REQUIRE(!result.has_value());
  CHECK(result.error().message.starts_with(path + ": "));
}

TEST_CASE("a reader sees committed data while a write transaction is open") {
  TempFolder folder;
  const auto path = folder.file("feedmerge.db");
  auto writer = open_at(path);
  FeedState state = ensure(*writer, "https://example.com/feed.xml");
  poll(*writer, state, feed_of({item("a", "a")}), kT0);
  auto reader = open_at(path, OpenMode::read_only);

  SQLite::Database other_writer(path, SQLite::OPEN_READWRITE);
  {
    SQLite::Transaction open_write(other_writer, SQLite::TransactionBehavior::IMMEDIATE);
    other_writer.exec("DELETE FROM items");
    // The reader sees the last committed state, not the open transaction's delete.
    CHECK(count(*reader) == 1);
    CHECK(items_of(*reader, state.id).size() == 1);
    open_write.commit();
  }
  CHECK(count(*reader) == 0);
}

TEST_CASE("the writer commits while a reader holds a snapshot open") {
  TempFolder folder;
  const auto path = folder.file("feedmerge.db");
  auto writer = open_at(path);
  FeedState state = ensure(*writer, "https://example.com/feed.xml");
  poll(*writer, state, feed_of({item("a", "a")}), kT0);

  SQLite::Database reader(path, SQLite::OPEN_READONLY);
  SQLite::Transaction snapshot(reader);
  CHECK(reader.execAndGet("SELECT count(*) FROM items").getInt() == 1);
  // Under a rollback journal the commit would wait for the reader and fail after the timeout.
  const Feed feed = feed_of({item("b", "b")});
  auto result = writer->record_poll(state, &feed, kT0 + 1h);
  REQUIRE_MESSAGE(result.has_value(), (result ? "" : result.error().message));
  CHECK(reader.execAndGet("SELECT count(*) FROM items").getInt() == 1);  // its snapshot
  CHECK(count(*writer) == 2);
}

TEST_CASE("the database passes integrity and foreign key checks after polls and prunes") {
  TempFolder folder;
  const auto path = folder.file("feedmerge.db");
  {
    auto store = open_at(path);
    FeedState state = ensure(*store, "https://example.com/feed.xml");
    for (int day = 0; day < 10; ++day) {
      std::vector<Item> items;
      for (int i = 0; i < 20; ++i) {
        items.push_back(item(std::to_string(day * 10 + i), "t" + std::to_string(i)));
      }
      poll(*store, state, feed_of(std::move(items)), kT0 + day * 24h);
      REQUIRE(store->prune(5 * 24h, 50, kT0 + day * 24h).has_value());
    }
  }
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  CHECK(db.execAndGet("PRAGMA integrity_check").getString() == "ok");
  SQLite::Statement violations(db, "PRAGMA foreign_key_check");
  CHECK(!violations.executeStep());
}
