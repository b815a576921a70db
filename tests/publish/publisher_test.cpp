#include "publish/publisher.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <future>

#include "publish/story_db.h"
#include "store/temp_folder.h"

namespace feedmerge::publish {

using test::feed;
using test::item;

TEST_CASE("write_file_atomically replaces the file and leaves no temporary behind") {
  feedmerge::test::TempFolder folder;
  const std::string path = folder.file("out/feed.xml");
  REQUIRE(write_file_atomically(path, "one").has_value());
  REQUIRE(write_file_atomically(path, "two").has_value());
  CHECK(feedmerge::test::read_bytes(path) == "two");
  int files = 0;
  for ([[maybe_unused]] const auto& entry :
       std::filesystem::directory_iterator(folder.path() / "out"))
    ++files;
  CHECK(files == 1);
}

TEST_CASE("the publisher renders every output, keeps unchanged snapshots and writes files") {
  feedmerge::test::TempFolder folder;
  test::StoryDb db(folder.file("feedmerge.db"));
  const auto ids = db.poll("https://a.example/feed",
                           feed("Outlet A", "https://a.example/",
                                {item("a1", "First story", "https://a.example/1", 1000),
                                 item("a2", "Second story", "https://a.example/2", 2000)}));
  db.story({ids[0]});
  config::Config config;
  config.publish.output_dir = folder.file("www");
  config.outputs = {config::OutputConfig{}};  // /feed.xml, RSS
  config::FeedConfig feed_config;
  feed_config.url = "https://a.example/feed";
  config.feeds = {feed_config};
  Metrics metrics;
  Publisher publisher(config, db.path(), metrics);
  CHECK(publisher.site()->empty());

  REQUIRE(publisher.rebuild_now().has_value());
  const auto first = publisher.site();
  REQUIRE(first->contains("/feed.xml"));
  REQUIRE(first->contains("/"));
  REQUIRE(first->contains("/sources.opml"));
  const std::string body = first->at("/feed.xml")->body;
  CHECK(body.find("First story") != std::string::npos);
  CHECK(body.find("Second story") == std::string::npos);  // not in a story yet
  CHECK(feedmerge::test::read_bytes(folder.file("www/feed.xml")) == body);
  CHECK(feedmerge::test::read_bytes(folder.file("www/feed.xml.gz")) ==
        first->at("/feed.xml")->gzip_body);

  REQUIRE(publisher.rebuild_now().has_value());
  CHECK(publisher.site()->at("/feed.xml") == first->at("/feed.xml"));  // same snapshot object

  db.story({ids[1]});
  REQUIRE(publisher.rebuild_now().has_value());
  const auto changed = publisher.site()->at("/feed.xml");
  CHECK(changed->body.find("Second story") != std::string::npos);
  CHECK(changed->etag != first->at("/feed.xml")->etag);
  CHECK(feedmerge::test::read_bytes(folder.file("www/feed.xml")) == changed->body);
  CHECK(metrics.prometheus_text().find("feedmerge_stories 2\n") != std::string::npos);
}

TEST_CASE("request_rebuild renders on the publisher's thread and then calls back") {
  feedmerge::test::TempFolder folder;
  test::StoryDb db(folder.file("feedmerge.db"));
  const auto ids = db.poll("https://a.example/feed",
                           feed("A", "https://a.example/", {item("a1", "Story", "", 1000)}));
  db.story({ids[0]});
  config::Config config;
  config.outputs = {config::OutputConfig{}};
  Metrics metrics;
  Publisher publisher(config, db.path(), metrics);
  std::promise<void> done;
  publisher.request_rebuild([&done] { done.set_value(); });
  REQUIRE(done.get_future().wait_for(std::chrono::seconds{60}) == std::future_status::ready);
  CHECK(publisher.site()->at("/feed.xml")->body.find("Story") != std::string::npos);
}

TEST_CASE("a database that cannot be read makes /healthz unhealthy") {
  feedmerge::test::TempFolder folder;
  config::Config config;
  Metrics metrics;
  Publisher publisher(config, folder.file("missing.db"), metrics);
  CHECK_FALSE(publisher.rebuild_now().has_value());
  CHECK(metrics.health_problem(std::chrono::hours{1}) == "the database could not be read");
}

TEST_CASE("a configured output that cannot be rendered maps to null (503), never goes missing") {
  feedmerge::test::TempFolder folder;
  config::Config config;
  config.outputs = {config::OutputConfig{}};  // /feed.xml
  Metrics metrics;
  Publisher publisher(config, folder.file("missing.db"), metrics);
  CHECK_FALSE(publisher.rebuild_now().has_value());
  const auto site = publisher.site();
  REQUIRE(site->contains("/feed.xml"));
  CHECK(site->at("/feed.xml") == nullptr);
  CHECK_FALSE(site->contains("/atom.xml"));  // not configured: still a 404
}

TEST_CASE("health: the writer's faults, failing writes, a stuck writer and failing feeds") {
  Metrics metrics;
  const std::chrono::hours silence{1};
  CHECK(metrics.health_problem(silence) == "");
  metrics.set_write_error("db: database or disk is full");
  CHECK(metrics.health_problem(silence) == "database writes failing: db: database or disk is full");
  metrics.set_write_error("");
  CHECK(metrics.health_problem(silence) == "");
  metrics.set_feeds_problem("the last poll of every feed failed (2 feeds)");
  CHECK(metrics.health_problem(silence) == "the last poll of every feed failed (2 feeds)");
  metrics.set_feeds_problem("");
  metrics.set_writer_busy(true);
  CHECK(metrics.health_problem(silence) == "");  // busy, not stuck
  CHECK(metrics.health_problem(silence, std::chrono::milliseconds{-1})
            .starts_with("the database writer has been stuck for "));
  metrics.set_writer_busy(false);
  CHECK(metrics.health_problem(silence, std::chrono::milliseconds{-1}) == "");
  metrics.set_writer_fault("db-wal was deleted while open");
  metrics.set_database_ok(false);
  CHECK(metrics.health_problem(silence) ==
        "stopped writing: db-wal was deleted while open; the database could not be read");
}

}  // namespace feedmerge::publish
