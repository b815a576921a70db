#include "feedmerge/store/migrate.h"

#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "feedmerge/store/store.h"
#include "store/sqlite_lock.h"
#include "store/test_backends.h"

namespace {

using namespace std::chrono_literals;
using feedmerge::model::Feed;
using feedmerge::model::Item;
using feedmerge::model::Time;
using feedmerge::store::copy_sqlite_to_postgresql;
using feedmerge::store::FeedState;
using feedmerge::store::Store;
using feedmerge::store::StoryWriter;
using feedmerge::store::StoryWrites;
using feedmerge::test::open_test_store;
using feedmerge::test::PgBackend;
using feedmerge::test::SqliteBackend;

const Time kT0 = std::chrono::sys_days{std::chrono::year{2024} / 3 / 1} + 12h;

Feed document(const std::vector<std::string>& ids) {
  Feed feed;
  feed.title = "Example";
  feed.link = "https://example.com/";
  for (const std::string& id : ids) {
    Item item;
    item.id = id;
    item.title = "Title " + id;
    item.link = "https://example.com/" + id;
    item.published = kT0 - 1h;
    item.categories = {"tech"};
    item.enclosures = {{"https://example.com/" + id + ".mp3", "audio/mpeg", 42}};
    feed.items.push_back(item);
  }
  return feed;
}

std::int64_t next_story_id(Store& store) {
  std::int64_t next = 0;
  REQUIRE(store
              .write_stories([&](StoryWriter& writer) -> feedmerge::Result<void> {
                next = writer.next_story_id();
                return {};
              })
              .has_value());
  return next;
}

// A SQLite installation with everything migrate-store must carry: polling state, items,
// a tombstone, stories (the highest one deleted by a merge), memberships and overrides.
void fill(Store& store) {
  FeedState a = *store.ensure_feed("https://a.example.com/feed.xml");
  FeedState b = *store.ensure_feed("https://b.example.com/feed.xml");
  a.etag = "\"v1\"";
  a.last_modified = "Fri, 01 Mar 2024 11:00:00 GMT";
  a.next_poll = kT0 + 30min;
  a.interval = 30min;
  a.last_attempt = kT0;
  a.consecutive_failures = 2;
  a.last_error = "HTTP 503";
  b.disabled = true;
  b.disabled_reason = "410 Gone";
  const Feed of_a = document({"a1", "a2", "old"});
  const Feed of_b = document({"b1"});
  auto first = store.record_poll(a, &of_a, kT0);
  REQUIRE(first.has_value());
  REQUIRE(store.record_poll(b, &of_b, kT0).has_value());
  // "old" goes (newest first by document order), leaving a tombstone.
  REQUIRE(*store.prune(0s, 2, kT0 + 1h) == 1);

  const std::vector<std::int64_t> ids = {first->new_items[0].id, first->new_items[1].id};
  REQUIRE(store
              .write_stories([&](StoryWriter& writer) -> feedmerge::Result<void> {
                const std::int64_t s = writer.next_story_id();
                StoryWrites block;
                block.created = {{s, kT0 - 1h, std::nullopt},
                                 {s + 1, kT0 - 1h, std::nullopt},
                                 {s + 2, kT0 - 1h, std::nullopt}};
                // a2's link to a1 holds once story 3 is merged into story 1 (below).
                block.members = {
                    {ids[0], s, "original", "https://example.com/a1", kT0 - 1h, {"founder", {}, 0}},
                    {ids[1],
                     s + 2,
                     "copy",
                     "https://example.com/a2",
                     kT0 - 1h,
                     {"link", ids[0], 0.83}}};
                writer.apply(block, kT0 + 2h);
                return {};
              })
              .has_value());
  REQUIRE(store.merge(1, 3, kT0 + 3h).has_value());  // story 3, the highest, goes
  REQUIRE(store.drop_empty_stories().has_value());   // and the empty story 2
}

}  // namespace

TEST_CASE("migrate-store copies feeds, items, stories and ids from SQLite into PostgreSQL") {
  SqliteBackend source;
  PgBackend target;
  auto sqlite = open_test_store(source.location());
  fill(*sqlite);
  const auto feeds = *sqlite->list_feeds();
  const auto stories = *sqlite->list_stories(std::nullopt);
  const std::int64_t overrides = *sqlite->last_override_id();
  REQUIRE(next_story_id(*sqlite) == 4);
  sqlite.reset();

  auto copied = copy_sqlite_to_postgresql(source.location(), target.location());
  REQUIRE_MESSAGE(copied.has_value(), (copied ? "" : copied.error().message));
  CHECK(*copied == feedmerge::store::CopyCounts{.feeds = 2,
                                                .items = 3,
                                                .tombstones = 1,
                                                .stories = 1,
                                                .memberships = 2,
                                                .overrides = 1,
                                                .next_story_id = 4});

  auto pg = open_test_store(target.location());
  CHECK(*pg->list_feeds() == feeds);  // ids and polling state
  for (const FeedState& feed : feeds) {
    sqlite = open_test_store(source.location());
    CHECK(*pg->items_of_feed(feed.id) == *sqlite->items_of_feed(feed.id));
  }
  CHECK(*pg->list_stories(std::nullopt) == stories);  // joined_by too
  REQUIRE(stories.size() == 1);
  REQUIRE(stories[0].members.size() == 2);
  CHECK(stories[0].members[1].joined_by ==
        feedmerge::model::JoinedBy{"merged_by_hand", stories[0].members[0].item_id, 0.83});
  CHECK(*pg->last_override_id() == overrides);
  // The sequence continues after story 3, which a merge deleted.
  CHECK(next_story_id(*pg) == 4);

  // The tombstone came along: the pruned item is not stored again; a new one gets a new id.
  FeedState a = feeds[0];
  const Feed later = document({"a1", "a2", "old", "fresh"});
  auto again = pg->record_poll(a, &later, kT0 + 4h);
  REQUIRE_MESSAGE(again.has_value(), (again ? "" : again.error().message));
  CHECK(again->pruned == 1);
  CHECK(again->inserted == 1);
  CHECK(again->new_items.at(0).id > 4);

  SUBCASE("a second copy is refused and changes nothing") {
    auto twice = copy_sqlite_to_postgresql(source.location(), target.location());
    REQUIRE_FALSE(twice.has_value());
    CHECK(twice.error().message ==
          target.location() +
              ": already holds 2 feeds, 4 items and 1 stories; migrate-store copies into an "
              "empty database only");
    CHECK(*pg->count_items() == 4);
  }
}

TEST_CASE("migrate-store refuses a SQLite database a poller is using") {
  SqliteBackend source;
  PgBackend target;
  open_test_store(source.location());
  auto lock = feedmerge::store::SqliteLock::acquire(source.location());
  REQUIRE(lock.has_value());
  auto copied = copy_sqlite_to_postgresql(source.location(), target.location());
  REQUIRE_FALSE(copied.has_value());
  CHECK(copied.error().message.starts_with("another feedmerge is using " + source.location()));
  auto pg = feedmerge::store::open_store(target.location(), feedmerge::store::OpenMode::read_only);
  CHECK_FALSE(pg.has_value());  // nothing was created there
}
