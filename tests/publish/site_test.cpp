#include "feedmerge/publish/site.h"

#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "publish/story_db.h"
#include "store/temp_folder.h"

namespace feedmerge::publish {
namespace {

using test::feed;
using test::item;

constexpr std::string_view kSecretUrl = "https://alice:S3cretPa55@paid.example/rss?api_key=K3Y";
constexpr std::string_view kLocalUrl = "file:///srv/private/feeds/local.rss";

struct Rendered {
  std::string index;
  std::string opml;  // "" when /sources.opml is not rendered
  bool has_opml = false;
};

Rendered render(const config::Config& config, const std::string& database,
                const std::vector<store::FeedState>& states) {
  auto reader = store::open_sqlite(database, store::OpenMode::read_only);
  REQUIRE(reader.has_value());
  auto files = render_site(config, **reader, states);
  REQUIRE(files.has_value());
  Rendered out;
  for (const RenderedFile& file : *files) {
    for (std::string_view leak : {"S3cret", "K3Y", "alice:", "file:", "/srv/private"}) {
      CAPTURE(file.path);
      CAPTURE(leak);
      CHECK(file.body.find(leak) == std::string::npos);
    }
    if (file.path == "/") out.index = file.body;
    if (file.path == "/sources.opml") {
      out.opml = file.body;
      out.has_opml = true;
    }
  }
  return out;
}

}  // namespace

TEST_CASE("the index page and /sources.opml show no secret and no local path") {
  feedmerge::test::TempFolder folder;
  test::StoryDb db(folder.file("feedmerge.db"));
  const auto ids =
      db.poll(std::string(kSecretUrl),
              feed("Members Only", "", {item("p1", "Paid story", "/stories/1", 1000)}));
  db.story({ids[0]});
  config::Config config;
  config.outputs = {config::OutputConfig{}};
  config::FeedConfig paid;
  paid.url = kSecretUrl;
  config::FeedConfig local;
  local.url = kLocalUrl;
  config.feeds = {paid, local};
  std::vector<store::FeedState> states(2);
  states[0].url = kSecretUrl;
  states[0].title = "Members Only";
  states[0].last_attempt = test::at(1000);
  states[0].consecutive_failures = 1;
  states[0].last_error = "redirected to " + std::string(kSecretUrl) + "&page=2: HTTP 500";
  states[1].url = kLocalUrl;
  states[1].last_attempt = test::at(1000);
  states[1].consecutive_failures = 1;
  states[1].last_error = "/srv/private/feeds/local.rss: cannot open: No such file or directory";

  const Rendered site = render(config, db.path(), states);
  CHECK(site.index.find("local.rss: cannot open") != std::string::npos);
  CHECK(site.index.find("api_key=REDACTED&amp;page=REDACTED: HTTP 500") != std::string::npos);
  CHECK(site.index.find("<td>Members Only</td>") != std::string::npos);  // no link to hide
  CHECK(site.index.find("href=\"/sources.opml\"") != std::string::npos);
  REQUIRE(site.has_opml);
  CHECK(site.opml.find(R"~(text="Members Only")~") != std::string::npos);
  CHECK(site.opml.find(R"~(text="local.rss")~") != std::string::npos);

  config.publish.sources_opml = false;
  const Rendered off = render(config, db.path(), states);
  CHECK_FALSE(off.has_opml);
  CHECK(off.index.find("sources.opml") == std::string::npos);
}

}  // namespace feedmerge::publish
