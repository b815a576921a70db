#include "feedmerge/publish/site_reader.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "feedmerge/publish/settings.h"
#include "publish/story_db.h"
#include "store/temp_folder.h"

namespace feedmerge::publish {
namespace {

using test::feed;
using test::item;

std::vector<std::int64_t> story_ids(const std::vector<model::Story>& stories) {
  std::vector<std::int64_t> ids;
  for (const model::Story& story : stories)
    ids.push_back(story.id);
  return ids;
}

}  // namespace

TEST_CASE("a site reader reads each output's stories by its categories and limit") {
  feedmerge::test::TempFolder folder;
  test::StoryDb db(folder.file("feedmerge.db"));
  const auto a =
      db.poll("https://a.example/feed", feed("Outlet A", "https://a.example/",
                                             {item("a1", "One", "https://a.example/1", 1000),
                                              item("a2", "Two", "https://a.example/2", 2000)}));
  const auto b = db.poll(
      "https://b.example/feed",
      feed("Outlet B", "https://b.example/", {item("b1", "Three", "https://b.example/3", 3000)}));
  const std::int64_t one = db.story({a[0]});
  const std::int64_t two = db.story({a[1]});
  const std::int64_t three = db.story({b[0]});

  config::Config config;
  config::FeedConfig feed_a;
  feed_a.url = "https://a.example/feed";
  feed_a.category = "news";
  feed_a.title = "Alpha";
  config::FeedConfig feed_b;
  feed_b.url = "https://b.example/feed";
  feed_b.category = "sport";
  config::FeedConfig feed_c;  // configured, never polled
  feed_c.url = "https://c.example/feed";
  feed_c.enabled = false;
  config.feeds = {feed_a, feed_b, feed_c};
  config::OutputConfig everything;
  config::OutputConfig news;
  news.path = "/news.xml";
  news.categories = {"news"};
  news.limit = 1;
  config.outputs = {everything, news};

  auto reader = SiteReader::open(db.path());
  REQUIRE(reader.has_value());
  auto values = (*reader)->read(config);
  REQUIRE(values.has_value());
  REQUIRE(values->stories.outputs.size() == 2);
  CHECK(story_ids(values->stories.outputs[0]) == std::vector<std::int64_t>{three, two, one});
  CHECK(story_ids(values->stories.outputs[1]) == std::vector<std::int64_t>{two});
  CHECK(story_ids(values->stories.index) == std::vector<std::int64_t>{three, two, one});

  REQUIRE(values->feeds.size() == 3);  // the configured feeds, in config order
  CHECK(values->feeds[0].url == "https://a.example/feed");
  CHECK(values->feeds[0].title == "Alpha");
  CHECK(values->feeds[0].category == "news");
  REQUIRE(values->feeds[0].status.has_value());
  CHECK(values->feeds[0].status->title == "Outlet A");
  CHECK(values->feeds[0].status->link == "https://a.example/");
  CHECK(values->feeds[0].status->item_count == 2);
  CHECK(values->feeds[0].status->last_success == test::at(1'600'700'000));
  REQUIRE(values->feeds[1].status.has_value());
  CHECK(values->feeds[1].status->title == "Outlet B");
  CHECK_FALSE(values->feeds[2].enabled);
  CHECK_FALSE(values->feeds[2].status.has_value());

  auto counts = (*reader)->counts();
  REQUIRE(counts.has_value());
  CHECK(counts->items == 3);
  CHECK(counts->stories == 3);

  // What the publisher and `feedmerge render` do with them.
  auto files = render_site(site_settings(config), values->stories, values->feeds);
  REQUIRE(files.has_value());
  CHECK(files->front().body.find("<title>Three</title>") != std::string::npos);
}

TEST_CASE("a site reader cannot open a database that is not there") {
  feedmerge::test::TempFolder folder;
  CHECK_FALSE(SiteReader::open(folder.file("missing.db")).has_value());
}

}  // namespace feedmerge::publish
