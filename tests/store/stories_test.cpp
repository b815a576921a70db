#include "feedmerge/store/store.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "store/temp_folder.h"
#include "store/test_backends.h"

namespace {

using namespace std::chrono_literals;
using feedmerge::model::Feed;
using feedmerge::model::Item;
using feedmerge::model::Story;
using feedmerge::model::Time;
using feedmerge::store::OpenMode;
using feedmerge::store::Store;
using feedmerge::store::StoryWriter;
using feedmerge::store::StoryWrites;
using feedmerge::test::PgBackend;
using feedmerge::test::SqliteBackend;
using feedmerge::test::TempFolder;

const Time kT0 = std::chrono::sys_days{std::chrono::year{2024} / 3 / 1} + 12h;

// Three items of one feed, published an hour apart from kT0; their row ids, in that order.
std::vector<std::int64_t> store_items(const std::string& path) {
  auto store = feedmerge::store::open_store(path, OpenMode::read_write);
  REQUIRE_MESSAGE(store.has_value(), (store ? "" : store.error().message));
  auto feed = (*store)->ensure_feed("https://example.com/feed.xml");
  REQUIRE(feed.has_value());
  Feed document;
  for (int i = 0; i < 3; ++i) {
    Item item;
    item.id = "item-" + std::to_string(i);
    item.title = "Title " + std::to_string(i);
    item.published = kT0 + std::chrono::hours{i};
    document.items.push_back(item);
  }
  auto stored = (*store)->record_poll(*feed, &document, kT0 + 1h);
  REQUIRE_MESSAGE(stored.has_value(), (stored ? "" : stored.error().message));
  std::vector<std::int64_t> ids;
  for (const auto& item : stored->new_items)
    ids.push_back(item.id);
  REQUIRE(ids.size() == 3);
  return ids;
}

std::unique_ptr<Store> open_stories(const std::string& path) {
  auto stories = feedmerge::store::open_store(path, OpenMode::read_write);
  REQUIRE_MESSAGE(stories.has_value(), (stories ? "" : stories.error().message));
  return std::move(*stories);
}

std::map<std::int64_t, Story> by_id(Store& stories) {
  auto list = stories.list_stories(std::nullopt);
  REQUIRE_MESSAGE(list.has_value(), (list ? "" : list.error().message));
  std::map<std::int64_t, Story> out;
  for (Story& record : *list)
    out[record.id] = std::move(record);
  return out;
}

std::vector<std::int64_t> members(const Story& record) {
  std::vector<std::int64_t> ids;
  for (const auto& member : record.members)
    ids.push_back(member.item_id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

// The story's representative: its first member (model::Story's order).
std::optional<std::int64_t> representative(const Story& record) {
  if (record.members.empty()) return std::nullopt;
  return record.members.front().item_id;
}

std::int64_t next_id(Store& stories) {
  std::int64_t next = 0;
  auto done = stories.write_stories([&](StoryWriter& writer) -> feedmerge::Result<void> {
    next = writer.next_story_id();
    return {};
  });
  REQUIRE(done.has_value());
  return next;
}

}  // namespace

TEST_CASE_TEMPLATE(
    "a batch's writes: stories keep the ids given, the representative defaults to the earliest "
    "member not a copy, and touches lower first_published",
    Backend, SqliteBackend, PgBackend) {
  Backend backend;
  const std::string path = backend.location();
  const auto ids = store_items(path);
  auto stories = open_stories(path);
  const Time now = kT0 + 2h;

  auto written = stories->write_stories([&](StoryWriter& writer) -> feedmerge::Result<void> {
    const std::int64_t first = writer.next_story_id();
    CHECK(first == 1);
    StoryWrites block;
    block.created = {{first, kT0 + 1h, ids[1]}, {first + 1, kT0 + 2h, std::nullopt}};
    block.members = {{ids[1], first, "original", "https://example.com/1"},
                     {ids[2], first + 1, "copy", ""}};
    writer.apply(block, now);
    return {};
  });
  REQUIRE_MESSAGE(written.has_value(), (written ? "" : written.error().message));
  auto after = by_id(*stories);
  REQUIRE(after.size() == 2);
  CHECK(members(after[1]) == std::vector<std::int64_t>{ids[1]});
  CHECK(representative(after[1]) == ids[1]);
  CHECK(after[1].first_published == kT0 + 1h);
  CHECK(after[1].first_seen == now);
  // No representative given: the story's only member, though a copy.
  CHECK(representative(after[2]) == ids[2]);

  // An earlier item joins story 1: first_published goes down to it, and with no
  // representative given the earliest member that is not a copy is chosen.
  written = stories->write_stories([&](StoryWriter& writer) -> feedmerge::Result<void> {
    StoryWrites block;
    block.members = {{ids[0], 1, "report", ""}};
    block.touched = {{1, std::nullopt, kT0}};
    writer.apply(block, now + 1h);
    return {};
  });
  REQUIRE(written.has_value());
  after = by_id(*stories);
  CHECK(members(after[1]) == std::vector<std::int64_t>{ids[0], ids[1]});
  CHECK(after[1].first_published == kT0);
  CHECK(representative(after[1]) == ids[0]);
  CHECK(after[1].updated == now + 1h);
  CHECK(after[2].updated == now);
}

TEST_CASE_TEMPLATE("a failed batch leaves no story behind", Backend, SqliteBackend, PgBackend) {
  Backend backend;
  const std::string path = backend.location();
  const auto ids = store_items(path);
  auto stories = open_stories(path);
  auto written = stories->write_stories([&](StoryWriter& writer) -> feedmerge::Result<void> {
    StoryWrites block;
    block.created = {{writer.next_story_id(), kT0, std::nullopt}};
    // An item that does not exist: the foreign key fails the statement.
    block.members = {{ids[0], block.created[0].id, "original", ""},
                     {ids[2] + 100, block.created[0].id, "copy", ""}};
    writer.apply(block, kT0);
    return {};
  });
  CHECK_FALSE(written.has_value());
  CHECK(by_id(*stories).empty());
  // SQLite's counter rolls back with the batch; a PostgreSQL sequence does not (ids are
  // skipped, never given twice).
  CHECK(next_id(*stories) == (Backend::kStoryIdsRollBack ? 1 : 2));
  // The statement that failed does not fail the next batch.
  written = stories->write_stories([&](StoryWriter& writer) -> feedmerge::Result<void> {
    StoryWrites block;
    block.created = {{writer.next_story_id(), kT0, std::nullopt}};
    block.members = {{ids[0], block.created[0].id, "original", ""}};
    writer.apply(block, kT0);
    return {};
  });
  CHECK_MESSAGE(written.has_value(), (written ? "" : written.error().message));
  CHECK(by_id(*stories).size() == 1);
}

TEST_CASE_TEMPLATE("story ids are never given out twice, even after the highest story went",
                   Backend, SqliteBackend, PgBackend) {
  Backend backend;
  const std::string path = backend.location();
  const auto ids = store_items(path);
  auto stories = open_stories(path);
  auto written = stories->write_stories([&](StoryWriter& writer) -> feedmerge::Result<void> {
    const std::int64_t first = writer.next_story_id();
    StoryWrites block;
    block.created = {{first, kT0, std::nullopt}, {first + 1, kT0 + 1h, std::nullopt}};
    block.members = {{ids[0], first, "original", ""}, {ids[1], first + 1, "original", ""}};
    writer.apply(block, kT0 + 2h);
    return {};
  });
  REQUIRE(written.has_value());
  // Merging story 2 into 1 deletes story 2, the highest id so far.
  REQUIRE(stories->merge(1, 2, kT0 + 3h).has_value());
  CHECK(by_id(*stories).size() == 1);
  CHECK(next_id(*stories) == 3);
  auto split = stories->split(ids[1], kT0 + 4h);
  REQUIRE(split.has_value());
  CHECK(*split == 3);
  const auto after = by_id(*stories);
  CHECK(members(after.at(3)) == std::vector<std::int64_t>{ids[1]});
  CHECK(representative(after.at(3)) == ids[1]);
  CHECK(members(after.at(1)) == std::vector<std::int64_t>{ids[0]});
  CHECK(next_id(*stories) == 4);
}

// StoryAssigner::settle decides from reads before its write transaction and writes only if
// the version it read is still the store's: every override, new story and membership change
// shows, and the version reads the same inside a batch as outside.
TEST_CASE_TEMPLATE("the stories' version moves with every override, story and membership", Backend,
                   SqliteBackend, PgBackend) {
  Backend backend;
  const std::string path = backend.location();
  const auto ids = store_items(path);
  auto stories = open_stories(path);
  auto version = [&] {
    auto read = stories->stories_version();
    REQUIRE_MESSAGE(read.has_value(), (read ? "" : read.error().message));
    feedmerge::store::StoriesVersion inside;
    REQUIRE(stories
                ->write_stories([&](StoryWriter& writer) -> feedmerge::Result<void> {
                  inside = writer.stories_version();
                  return {};
                })
                .has_value());
    CHECK(inside == *read);
    return *read;
  };
  const auto empty = version();
  CHECK(empty.members == 0);
  CHECK(empty.next_story == 1);
  REQUIRE(
      stories
          ->write_stories([&](StoryWriter& writer) -> feedmerge::Result<void> {
            const std::int64_t first = writer.next_story_id();
            StoryWrites block;
            block.created = {{first, kT0, std::nullopt}, {first + 1, kT0 + 1h, std::nullopt}};
            block.members = {{ids[0], first, "original", ""}, {ids[1], first + 1, "original", ""}};
            writer.apply(block, kT0 + 2h);
            return {};
          })
          .has_value());
  const auto placed = version();
  CHECK(placed.members == 2);
  CHECK(placed.next_story == 3);
  CHECK(placed.overrides == empty.overrides);
  REQUIRE(stories
              ->write_stories([&](StoryWriter& writer) -> feedmerge::Result<void> {
                StoryWrites block;
                block.members = {{ids[2], 1, "report", ""}};
                writer.apply(block, kT0 + 3h);
                return {};
              })
              .has_value());
  const auto joined = version();
  CHECK(joined.members == 3);
  CHECK(joined.next_story == placed.next_story);
  REQUIRE(stories->merge(1, 2, kT0 + 4h).has_value());
  const auto merged = version();
  CHECK(merged.overrides > joined.overrides);
  CHECK(merged.members == 3);
  CHECK_FALSE(merged == joined);
}

// ForeignKeys::trust is for a caller that vouches for what it names (StoryAssigner): SQLite
// does not check inside that transaction, and checks again in the next one, however the
// trusted one ended.
TEST_CASE("a trusted write is not checked, and the writes after it are again") {
  TempFolder folder;
  const std::string path = (folder.path() / "feedmerge.db").string();
  const auto ids = store_items(path);
  auto stories = open_stories(path);
  std::int64_t missing = ids[2] + 100;
  // Each time an item that never was.
  auto write_missing = [&](Store::ForeignKeys keys, bool fail_after) {
    ++missing;
    return stories->write_stories(
        [&](StoryWriter& writer) -> feedmerge::Result<void> {
          StoryWrites block;
          block.created = {{writer.next_story_id(), kT0, ids[0]}};
          block.members = {{missing, block.created[0].id, "original", ""}};
          writer.apply(block, kT0);
          if (fail_after) return feedmerge::Error{feedmerge::ErrorKind::invalid_input, "no"};
          return {};
        },
        keys);
  };
  // A trusted write that fails rolls back, and checking is back on.
  CHECK_FALSE(write_missing(Store::ForeignKeys::trust, true).has_value());
  CHECK(by_id(*stories).empty());
  CHECK_FALSE(write_missing(Store::ForeignKeys::check, false).has_value());
  // A trusted one that names a missing item is written as it is: the caller vouched.
  CHECK(write_missing(Store::ForeignKeys::trust, false).has_value());
  CHECK_FALSE(write_missing(Store::ForeignKeys::check, false).has_value());
}

// The stories' window loads members by the time they joined their story by (the daemon's
// dedup_time, which is not always the item's publication date), through item_stories' index.
TEST_CASE_TEMPLATE("the window loads members by their story time", Backend, SqliteBackend,
                   PgBackend) {
  Backend backend;
  const std::string path = backend.location();
  const auto ids = store_items(path);  // published kT0, kT0 + 1h, kT0 + 2h
  auto stories = open_stories(path);
  auto written = stories->write_stories([&](StoryWriter& writer) -> feedmerge::Result<void> {
    const std::int64_t story = writer.next_story_id();
    StoryWrites block;
    block.created = {{story, kT0 - 10h, std::nullopt}};
    block.members = {{ids[0], story, "original", "", kT0 - 10h},
                     {ids[1], story, "report", "", kT0 + 1h},
                     {ids[2], story, "report", "", kT0 + 5h}};
    writer.apply(block, kT0 + 6h);
    return {};
  });
  REQUIRE(written.has_value());
  auto window = stories->assigned_between(kT0 - 11h, kT0 + 2h);
  REQUIRE(window.has_value());
  std::vector<std::int64_t> got;
  for (const auto& item : *window)
    got.push_back(item.id);
  CHECK(got == std::vector<std::int64_t>{ids[0], ids[1]});
  auto newest = stories->newest_assigned_publication();
  REQUIRE(newest.has_value());
  CHECK(*newest == kT0 + 5h);
}

// dedup_time is defined once (store.h): split() measures the item by it, as the assigner does,
// so that the window finds an undated item by the update date its feed gave.
TEST_CASE_TEMPLATE("a split item joins the window at its dedup_time", Backend, SqliteBackend,
                   PgBackend) {
  Backend backend;
  const std::string path = backend.location();
  auto store = open_stories(path);
  auto feed = store->ensure_feed("https://example.com/feed.xml");
  REQUIRE(feed.has_value());
  Feed document;
  Item item;
  item.id = "undated";
  item.title = "Undated";
  item.updated = kT0 - 3h;  // no publication date: stored as first seen, estimated
  document.items.push_back(item);
  auto stored = store->record_poll(*feed, &document, kT0);
  REQUIRE(stored.has_value());
  REQUIRE(stored->new_items.size() == 1);
  const std::int64_t id = stored->new_items[0].id;
  CHECK(stored->new_items[0].published_estimated);
  auto split = store->split(id, kT0 + 1h);
  REQUIRE_MESSAGE(split.has_value(), (split ? "" : split.error().message));
  auto window = store->assigned_between(kT0 - 3h, kT0 - 3h + 1s);
  REQUIRE(window.has_value());
  REQUIRE(window->size() == 1);
  const auto& member = window->front();
  CHECK(member.id == id);
  CHECK(member.story_id == *split);
  CHECK(member.relation == "manual");
  CHECK(member.item.published == kT0);
  CHECK(feedmerge::store::dedup_time(member) == kT0 - 3h);
}

// The assigner reads the store (its catch-up) inside write_stories' body: the reads must see
// the batch's writes so far, and must not need a second transaction of their own (libpq has
// one per connection).
TEST_CASE_TEMPLATE("reads inside a story batch run in it and see its writes", Backend,
                   SqliteBackend, PgBackend) {
  Backend backend;
  const std::string path = backend.location();
  const auto ids = store_items(path);
  auto stories = open_stories(path);
  auto written = stories->write_stories([&](StoryWriter& writer) -> feedmerge::Result<void> {
    auto before = stories->unassigned_item_ids();
    REQUIRE_MESSAGE(before.has_value(), (before ? "" : before.error().message));
    CHECK(before->size() == 3);
    const std::int64_t story = writer.next_story_id();
    StoryWrites block;
    block.created = {{story, kT0, std::nullopt}};
    block.members = {{ids[0], story, "original", "", kT0}};
    writer.apply(block, kT0 + 3h);
    auto window = stories->assigned_between(kT0 - 1h, kT0 + 1h);
    REQUIRE_MESSAGE(window.has_value(), (window ? "" : window.error().message));
    REQUIRE(window->size() == 1);
    CHECK(window->front().story_id == story);
    CHECK(stories->last_override_id().has_value());
    CHECK(stories->list_stories(std::nullopt)->size() == 1);
    return {};
  });
  REQUIRE_MESSAGE(written.has_value(), (written ? "" : written.error().message));
  // After the batch, reads have transactions of their own again.
  CHECK(stories->unassigned_item_ids()->size() == 2);
}

// The assigner's later merges and splits: memberships move, an emptied story is deleted (its
// id never given again) and a story that lost its earliest member dates from the next one.
TEST_CASE_TEMPLATE("moved members, merged stories and recomputed ones are written as one batch",
                   Backend, SqliteBackend, PgBackend) {
  Backend backend;
  const std::string path = backend.location();
  const auto ids = store_items(path);
  auto stories = open_stories(path);
  std::int64_t first = 0;
  auto written = stories->write_stories([&](StoryWriter& writer) -> feedmerge::Result<void> {
    StoryWrites block;
    first = writer.next_story_id();
    block.created = {{first, kT0, ids[0]}, {first + 1, kT0 + 2h, ids[2]}};
    block.members = {{ids[0], first, "original", "", kT0},
                     {ids[1], first, "report", "", kT0 + 1h},
                     {ids[2], first + 1, "original", "", kT0 + 2h}};
    writer.apply(block, kT0 + 3h);
    return {};
  });
  REQUIRE_MESSAGE(written.has_value(), (written ? "" : written.error().message));
  REQUIRE(by_id(*stories).size() == 2);

  // Story first+1 turns out to be one with `first`, and item 0 a story of its own.
  std::int64_t split = 0;
  written = stories->write_stories([&](StoryWriter& writer) -> feedmerge::Result<void> {
    StoryWrites block;
    split = writer.next_story_id();
    block.created = {{split, kT0, ids[0]}};
    block.moved = {{ids[0], split, "original"}, {ids[2], first, "report"}};
    block.removed = {first + 1};
    block.recomputed = {first};
    block.touched = {{first, std::nullopt, kT0 + 1h}};
    writer.apply(block, kT0 + 4h);
    return {};
  });
  REQUIRE_MESSAGE(written.has_value(), (written ? "" : written.error().message));
  const auto after = by_id(*stories);
  REQUIRE(after.size() == 2);
  REQUIRE(after.contains(first));
  REQUIRE(after.contains(split));
  CHECK_FALSE(after.contains(first + 1));
  CHECK(members(after.at(first)) == std::vector<std::int64_t>{ids[1], ids[2]});
  CHECK(members(after.at(split)) == std::vector<std::int64_t>{ids[0]});
  CHECK(after.at(first).first_published == kT0 + 1h);
  CHECK(representative(after.at(first)) == ids[1]);
  const auto relation = [&](std::int64_t item) {
    for (const auto& [id, record] : after)
      for (const auto& member : record.members)
        if (member.item_id == item) return member.relation;
    return std::string();
  };
  CHECK(relation(ids[2]) == "report");
  CHECK(relation(ids[0]) == "original");
  // The merged story's id is not given out again.
  CHECK(next_id(*stories) > std::max(first + 1, split));
}

namespace {

// Five items of one feed, all published at kT0 (the representative's rules tie); their ids.
std::vector<std::int64_t> store_simultaneous_items(const std::string& path) {
  auto store = feedmerge::store::open_store(path, OpenMode::read_write);
  REQUIRE_MESSAGE(store.has_value(), (store ? "" : store.error().message));
  auto feed = (*store)->ensure_feed("https://example.com/feed.xml");
  REQUIRE(feed.has_value());
  Feed document;
  for (int i = 0; i < 5; ++i) {
    Item item;
    item.id = "same-time-" + std::to_string(i);
    item.title = "Title " + std::to_string(i);
    item.published = kT0;
    document.items.push_back(item);
  }
  auto stored = (*store)->record_poll(*feed, &document, kT0 + 1h);
  REQUIRE_MESSAGE(stored.has_value(), (stored ? "" : stored.error().message));
  std::vector<std::int64_t> ids;
  for (const auto& item : stored->new_items)
    ids.push_back(item.id);
  REQUIRE(ids.size() == 5);
  return ids;
}

feedmerge::model::JoinedBy joined_by(const std::map<std::int64_t, Story>& stories,
                                     std::int64_t item) {
  for (const auto& [id, record] : stories)
    for (const auto& member : record.members)
      if (member.item_id == item) return member.joined_by;
  FAIL("item " << item << " is in no story");
  return {};
}

}  // namespace

// joined_by: written with each membership and move, read back with the members; `story
// merge` marks the members it moved, `story split` cuts the links to the item it takes out
// (a link never leaves its story). Ties of the representative's rules go to the most central
// member: P summed over the stored links.
TEST_CASE_TEMPLATE("why each member is in its story is stored and never points outside it", Backend,
                   SqliteBackend, PgBackend) {
  using feedmerge::model::JoinedBy;
  Backend backend;
  const std::string path = backend.location();
  const auto ids = store_simultaneous_items(path);
  auto stories = open_stories(path);
  std::int64_t story = 0;
  auto written = stories->write_stories([&](StoryWriter& writer) -> feedmerge::Result<void> {
    StoryWrites block;
    story = writer.next_story_id();
    block.created = {{story, kT0, std::nullopt}, {story + 1, kT0, ids[4]}};
    // 0 founded it; 1 is there by 2, 2 by 0, 3 by 2: 2 is the most central (0.61 + 0.55 + 0.9).
    block.members = {{ids[0], story, "original", "", kT0, {"founder", {}, 0}},
                     {ids[1], story, "report", "", kT0, {"link", ids[2], 0.61}},
                     {ids[2], story, "report", "", kT0, {"link", ids[0], 0.55}},
                     {ids[3], story, "report", "", kT0, {"same_url", ids[2], 0.9}},
                     {ids[4], story + 1, "original", "", kT0, {"founder", {}, 0}}};
    writer.apply(block, kT0 + 2h);
    return {};
  });
  REQUIRE_MESSAGE(written.has_value(), (written ? "" : written.error().message));
  auto after = by_id(*stories);
  CHECK(joined_by(after, ids[0]) == JoinedBy{"founder", {}, 0});
  CHECK(joined_by(after, ids[1]) == JoinedBy{"link", ids[2], 0.61});
  CHECK(joined_by(after, ids[3]) == JoinedBy{"same_url", ids[2], 0.9});
  CHECK(representative(after.at(story)) == ids[2]);

  // A move rewrites the reason with the story.
  written = stories->write_stories([&](StoryWriter& writer) -> feedmerge::Result<void> {
    StoryWrites block;
    block.moved = {{ids[1], story, "report", {"link", ids[3], 0.7}}};
    writer.apply(block, kT0 + 3h);
    return {};
  });
  REQUIRE_MESSAGE(written.has_value(), (written ? "" : written.error().message));
  CHECK(joined_by(by_id(*stories), ids[1]) == JoinedBy{"link", ids[3], 0.7});

  // Item 2 leaves by hand: it founds its own story, and 3's link to it goes.
  auto split = stories->split(ids[2], kT0 + 4h);
  REQUIRE_MESSAGE(split.has_value(), (split ? "" : split.error().message));
  after = by_id(*stories);
  CHECK(joined_by(after, ids[2]) == JoinedBy{"founder", {}, 0});
  CHECK(joined_by(after, ids[3]) == JoinedBy{"", {}, 0});
  CHECK(joined_by(after, ids[1]) == JoinedBy{"link", ids[3], 0.7});
  // 1 and 3 tie on their one link (0.7 each); publication ties too: the first stored.
  CHECK(representative(after.at(story)) == ids[1]);

  // Story+1 merged in by hand: its member says so, and keeps its link (none here).
  REQUIRE(stories->merge(story, story + 1, kT0 + 5h).has_value());
  after = by_id(*stories);
  CHECK(joined_by(after, ids[4]) == JoinedBy{"merged_by_hand", {}, 0});
  CHECK(joined_by(after, ids[1]) == JoinedBy{"link", ids[3], 0.7});
  CHECK(members(after.at(story)) == std::vector<std::int64_t>{ids[0], ids[1], ids[3], ids[4]});
}

// Retention removes a member others are there by: drop_empty_stories (run after it) cuts those
// links, and the rest stand.
TEST_CASE_TEMPLATE("retention cuts the links to the items it removed", Backend, SqliteBackend,
                   PgBackend) {
  using feedmerge::model::JoinedBy;
  Backend backend;
  const std::string path = backend.location();
  const auto ids = store_items(path);
  auto stories = open_stories(path);
  std::int64_t story = 0;
  auto written = stories->write_stories([&](StoryWriter& writer) -> feedmerge::Result<void> {
    StoryWrites block;
    story = writer.next_story_id();
    block.created = {{story, kT0, ids[0]}};
    block.members = {{ids[0], story, "original", "", kT0, {"founder", {}, 0}},
                     {ids[1], story, "report", "", kT0 + 1h, {"link", ids[0], 0.8}},
                     {ids[2], story, "report", "", kT0 + 2h, {"link", ids[1], 0.6}}};
    writer.apply(block, kT0 + 2h);
    return {};
  });
  REQUIRE_MESSAGE(written.has_value(), (written ? "" : written.error().message));
  // The oldest of the three goes (two kept per feed).
  auto pruned = stories->prune(0s, 2, kT0 + 3h);
  REQUIRE_MESSAGE(pruned.has_value(), (pruned ? "" : pruned.error().message));
  REQUIRE(*pruned == 1);
  REQUIRE(stories->drop_empty_stories().has_value());
  const auto after = by_id(*stories);
  CHECK(members(after.at(story)) == std::vector<std::int64_t>{ids[1], ids[2]});
  CHECK(joined_by(after, ids[1]) == JoinedBy{"", {}, 0});
  CHECK(joined_by(after, ids[2]) == JoinedBy{"link", ids[1], 0.6});
}
