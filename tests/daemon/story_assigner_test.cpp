// StoryAssigner against a real SQLite file: what retention does to the stories the daemon's
// index still holds.
#include "daemon/story_assigner.h"

#include <SQLiteCpp/Database.h>
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "daemon/test_config.h"
#include "feedmerge/store/store.h"
#include "feedmerge/store/stories.h"
#include "store/temp_folder.h"

namespace feedmerge::daemon {
namespace {

using namespace std::chrono_literals;
using model::Time;
using test::TempFolder;

const Time kT0 = std::chrono::sys_days{std::chrono::year{2024} / 3 / 1} + 12h;

// Stores one item (id `guid`, link `link`, published at `published`) as a poll of `feed_url`
// at `now`; its row id. `other` gives it a text of its own.
std::int64_t store_item(store::Store& store, const std::string& feed_url, const std::string& guid,
                        const std::string& link, Time published, Time now, bool other = false) {
  auto feed = store.ensure_feed(feed_url);
  REQUIRE(feed.has_value());
  model::Feed document;
  model::Item item;
  item.id = guid;
  item.link = link;
  item.title =
      other ? "Zoom revenue quadruples" : "Treasury and Commerce email monitored by hackers";
  item.summary = other ? "Zoom Video said quarterly revenue rose 355 percent as people kept "
                         "meeting online."
                       : "Hackers tampered with SolarWinds updates to reach the Treasury.";
  item.published = published;
  document.items.push_back(item);
  auto stored = store.record_poll(*feed, &document, now);
  REQUIRE_MESSAGE(stored.has_value(), (stored ? "" : stored.error().message));
  REQUIRE(stored->new_items.size() == 1);
  return stored->new_items.front().id;
}

std::optional<std::int64_t> story_of(const std::string& path, std::int64_t item) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  SQLite::Statement query(db, "SELECT story_id FROM item_stories WHERE item_id = ?");
  query.bind(1, item);
  if (!query.executeStep()) return std::nullopt;
  return query.getColumn(0).getInt64();
}

// A running daemon keeps its index between batches. Retention may empty a story the index
// still holds (max_items_per_feed removes recent items too); an item that matches it later
// must get a story that exists, not fail the whole batch on a foreign key.
TEST_CASE("after retention empties a story, a matching item starts a story that exists") {
  TempFolder folder;
  const std::string a = "https://a.example/feed.xml";
  const std::string b = "https://b.example/feed.xml";
  const config::Config config = make_test_config(folder, {a, b});
  const std::string path = config.storage.database;
  auto store = store::Store::open(path, store::OpenMode::read_write);
  REQUIRE(store.has_value());
  const std::string link = "https://a.example/2024/treasury-hacked";

  const std::int64_t first = store_item(**store, a, "a-1", link, kT0, kT0);
  auto assigner = StoryAssigner::open(config, path);
  REQUIRE_MESSAGE(assigner.has_value(), (assigner ? "" : assigner.error().message));
  REQUIRE((*assigner)->assign(std::vector<std::int64_t>{first}, kT0).has_value());
  const auto first_story = story_of(path, first);
  REQUIRE(first_story.has_value());

  // Feed A moves on; keeping one item per feed removes the first, and with it its story.
  const std::int64_t second =
      store_item(**store, a, "a-2", "https://a.example/2024/zoom", kT0 + 1h, kT0 + 1h, true);
  REQUIRE((*assigner)->assign(std::vector<std::int64_t>{second}, kT0 + 1h).has_value());
  auto removed = (*store)->prune(0s, 1, kT0 + 2h);
  REQUIRE(removed.has_value());
  REQUIRE(*removed == 1);
  auto tidied = (*assigner)->tidy();
  REQUIRE(tidied.has_value());
  CHECK(*tidied == 1);

  // Feed B carries the same link: the index would have put it into the removed story.
  const std::int64_t copy = store_item(**store, b, "b-1", link, kT0 + 2h, kT0 + 2h);
  auto assigned = (*assigner)->assign(std::vector<std::int64_t>{copy}, kT0 + 2h);
  REQUIRE_MESSAGE(assigned.has_value(), (assigned ? "" : assigned.error().message));
  CHECK(*assigned == 1);
  const auto copy_story = story_of(path, copy);
  REQUIRE(copy_story.has_value());
  CHECK(*copy_story != *first_story);
}

// Memberships are written with foreign keys unchecked: the index must match the store inside
// the batch's transaction. A merge by another process (`feedmerge story merge`) deletes a story
// the index still holds; the next batch sees it and joins the story that remains.
TEST_CASE("after another connection merges stories, a matching item joins the one that remains") {
  TempFolder folder;
  const std::string a = "https://a.example/feed.xml";
  const std::string b = "https://b.example/feed.xml";
  const std::string c = "https://c.example/feed.xml";
  const config::Config config = make_test_config(folder, {a, b, c});
  const std::string path = config.storage.database;
  auto store = store::Store::open(path, store::OpenMode::read_write);
  REQUIRE(store.has_value());
  const std::string link = "https://a.example/2024/treasury-hacked";

  const std::int64_t first = store_item(**store, a, "a-1", link, kT0, kT0);
  const std::int64_t other =
      store_item(**store, b, "b-1", "https://b.example/2024/zoom", kT0, kT0, true);
  auto assigner = StoryAssigner::open(config, path);
  REQUIRE_MESSAGE(assigner.has_value(), (assigner ? "" : assigner.error().message));
  REQUIRE((*assigner)->assign(std::vector<std::int64_t>{first, other}, kT0).has_value());
  const auto merged_away = story_of(path, first);
  const auto kept = story_of(path, other);
  REQUIRE(merged_away.has_value());
  REQUIRE(kept.has_value());
  REQUIRE(*merged_away != *kept);

  auto cli = store::StoryStore::open(path, store::OpenMode::read_write);
  REQUIRE(cli.has_value());
  REQUIRE((*cli)->merge(*kept, *merged_away, kT0 + 1h).has_value());

  // The same link as the first item: the index, unaware, would name the deleted story.
  const std::int64_t copy = store_item(**store, c, "c-1", link, kT0 + 1h, kT0 + 1h);
  auto assigned = (*assigner)->assign(std::vector<std::int64_t>{copy}, kT0 + 1h);
  REQUIRE_MESSAGE(assigned.has_value(), (assigned ? "" : assigned.error().message));
  CHECK(story_of(path, copy) == kept);
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  SQLite::Statement broken(db, "PRAGMA foreign_key_check");
  CHECK_FALSE(broken.executeStep());
}

}  // namespace
}  // namespace feedmerge::daemon
