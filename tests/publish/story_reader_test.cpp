#include "feedmerge/store/store.h"

#include <doctest/doctest.h>

#include "publish/story_db.h"
#include "store/temp_folder.h"

namespace feedmerge::publish {
namespace {

using test::at;
using test::feed;
using test::item;

struct Fixture {
  feedmerge::test::TempFolder folder;
  test::StoryDb db{folder.file("feedmerge.db")};
  std::vector<std::int64_t> a = db.poll(
      "https://a.example/feed", feed("Outlet A", "https://a.example/",
                                     {item("a1", "Deal approved", "https://a.example/1", 2000),
                                      item("a2", "Other news", "https://a.example/2", 3000),
                                      item("a3", "Not assigned", "https://a.example/3", 4000)}));
  std::vector<std::int64_t> b =
      db.poll("https://b.example/feed",
              feed("Outlet B", "https://b.example/",
                   {item("b1", "The deal is approved", "https://b.example/1", 1000)}));
};

}  // namespace

TEST_CASE("latest stories come newest first with the representative first and every member") {
  Fixture f;
  const auto deal = f.db.story({f.a[0], f.b[0]}, f.a[0]);
  const auto other = f.db.story({f.a[1]});
  auto reader = store::open_sqlite(f.db.path(), store::OpenMode::read_only);
  REQUIRE(reader.has_value());
  auto stories = (*reader)->latest(nullptr, 10);
  REQUIRE(stories.has_value());
  REQUIRE(stories->size() == 2);
  CHECK((*stories)[0].id == other);
  CHECK((*stories)[1].id == deal);
  const model::Story& story = (*stories)[1];
  CHECK(story.first_published == at(1000));  // the earliest member's
  REQUIRE(story.members.size() == 2);
  CHECK(story.members[0].item.title == "Deal approved");  // the representative, though later
  CHECK(story.members[0].feed_title == "Outlet A");
  CHECK(story.members[0].feed_url == "https://a.example/feed");
  CHECK(story.members[1].item.title == "The deal is approved");
  CHECK(story.members[1].feed_link == "https://b.example/");
}

TEST_CASE("a story without a representative is shown by its earliest member") {
  Fixture f;
  f.db.story({f.a[0], f.b[0]});
  auto reader = store::open_sqlite(f.db.path(), store::OpenMode::read_only);
  REQUIRE(reader.has_value());
  SQLite::Database db(f.db.path(), SQLite::OPEN_READWRITE);
  db.exec("UPDATE stories SET representative_item_id = NULL");
  auto stories = (*reader)->latest(nullptr, 10);
  REQUIRE(stories.has_value());
  REQUIRE(stories->size() == 1);
  CHECK((*stories)[0].members[0].item.title == "The deal is approved");
}

TEST_CASE("items without a story are not published, and the feed filter and limit apply") {
  Fixture f;
  f.db.story({f.a[0], f.b[0]});
  f.db.story({f.a[1]});
  auto reader = store::open_sqlite(f.db.path(), store::OpenMode::read_only);
  REQUIRE(reader.has_value());
  const std::vector<std::string> only_b = {"https://b.example/feed"};
  auto stories = (*reader)->latest(&only_b, 10);
  REQUIRE(stories.has_value());
  REQUIRE(stories->size() == 1);
  CHECK(stories->front().members.size() == 2);  // every member, not only B's
  auto limited = (*reader)->latest(nullptr, 1);
  REQUIRE(limited.has_value());
  CHECK(limited->size() == 1);
  const std::vector<std::string> none;
  auto empty = (*reader)->latest(&none, 10);
  REQUIRE(empty.has_value());
  CHECK(empty->empty());
  auto counts = (*reader)->counts();
  REQUIRE(counts.has_value());
  CHECK(counts->items == 4);
  CHECK(counts->stories == 2);
}

TEST_CASE("a missing database is an error that names the path") {
  feedmerge::test::TempFolder folder;
  auto reader = store::open_sqlite(folder.file("missing.db"), store::OpenMode::read_only);
  REQUIRE_FALSE(reader.has_value());
  CHECK(reader.error().message.find("missing.db") != std::string::npos);
}

}  // namespace feedmerge::publish
