#include "feedmerge/publish/site.h"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "feedmerge/publish/settings.h"

// Rendering takes values alone: no test here opens, creates or needs a database.
namespace feedmerge::publish {
namespace {

constexpr std::string_view kSecretUrl = "https://alice:S3cretPa55@paid.example/rss?api_key=K3Y";
constexpr std::string_view kLocalUrl = "file:///srv/private/feeds/local.rss";

model::Time at(std::int64_t seconds) {
  return model::Time{std::chrono::seconds{seconds}};
}

// A member as the store returns it: the item, its feed's identity and the feed's own title.
model::StoryMember member(std::int64_t item_id, std::string feed_url, std::string feed_title,
                          std::string feed_link, std::string title, std::string link,
                          std::int64_t published) {
  model::StoryMember out;
  out.item_id = item_id;
  out.feed_id = item_id;
  out.feed_url = std::move(feed_url);
  out.feed_title = std::move(feed_title);
  out.feed_link = std::move(feed_link);
  out.item.id = "item-" + std::to_string(item_id);
  out.item.title = std::move(title);
  out.item.link = std::move(link);
  out.item.published = at(published);
  out.first_seen = at(1'600'700'000);
  return out;
}

model::Story story(std::int64_t id, std::vector<model::StoryMember> members) {
  model::Story out;
  out.id = id;
  out.first_published = *members.front().item.published;
  out.first_seen = members.front().first_seen;
  out.updated = members.front().first_seen;
  out.members = std::move(members);
  return out;
}

SiteSettings one_rss_output(bool sources_opml = true) {
  return {.base_url = "http://127.0.0.1:8080/",
          .sources_opml = sources_opml,
          .outputs = {output_settings(config::OutputConfig{})}};
}

struct Rendered {
  std::string index;
  std::string opml;  // "" when /sources.opml is not rendered
  bool has_opml = false;
};

Rendered render(const SiteSettings& settings, const SiteStories& stories,
                const std::vector<FeedRow>& feeds) {
  auto files = render_site(settings, stories, feeds);
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

// Three outlets, two stories (one covered by two of them), an output per format.
struct Fixture {
  SiteSettings settings{.base_url = "https://news.example.org/",
                        .sources_opml = true,
                        .outputs = {{.path = "/feed.xml",
                                     .format = config::OutputFormat::rss,
                                     .title = "Merged",
                                     .description = "Every outlet"},
                                    {.path = "/atom.xml",
                                     .format = config::OutputFormat::atom,
                                     .title = "Merged (Atom)",
                                     .description = ""},
                                    {.path = "/linux.json",
                                     .format = config::OutputFormat::json,
                                     .title = "Linux only",
                                     .description = ""}}};
  std::vector<FeedRow> feeds{{.url = "https://a.example/feed",
                              .title = "Alpha Daily",
                              .category = "news",
                              .enabled = true,
                              .status = FeedStatus{.title = "A's own title",
                                                   .link = "https://a.example/",
                                                   .last_attempt = at(2000),
                                                   .last_success = at(2000),
                                                   .item_count = 2}},
                             {.url = "https://b.example/feed",
                              .title = "",
                              .category = "news/linux",
                              .enabled = true,
                              .status = FeedStatus{.title = "Beta",
                                                   .link = "https://b.example/",
                                                   .last_attempt = at(2000),
                                                   .consecutive_failures = 3,
                                                   .last_error = "HTTP 500"}},
                             {.url = "https://c.example/feed",
                              .title = "",
                              .category = "",
                              .enabled = false,
                              .status = std::nullopt}};
  model::Story kernel =
      story(7, {member(1, "https://a.example/feed", "A's own title", "https://a.example/",
                       "Kernel 7.0 released", "https://a.example/kernel", 1000),
                member(2, "https://b.example/feed", "Beta", "https://b.example/",
                       "Linux 7.0 is out", "https://b.example/linux-7", 1100)});
  model::Story budget =
      story(8, {member(3, "https://a.example/feed", "A's own title", "https://a.example/",
                       "Budget passes", "https://a.example/budget", 1500)});
  SiteStories stories{.outputs = {{budget, kernel}, {budget, kernel}, {kernel}},
                      .index = {budget, kernel}};
};

const RenderedFile* find(const std::vector<RenderedFile>& files, std::string_view path) {
  for (const RenderedFile& file : files) {
    if (file.path == path) return &file;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("the index page and /sources.opml show no secret and no local path") {
  const model::Story paid = story(1, {member(1, std::string(kSecretUrl), "Members Only", "",
                                             "Paid story", "/stories/1", 1000)});
  const SiteStories stories{.outputs = {{paid}}, .index = {paid}};
  std::vector<FeedRow> feeds(2);
  feeds[0].url = kSecretUrl;
  feeds[0].status = FeedStatus{};
  feeds[0].status->title = "Members Only";
  feeds[0].status->last_attempt = at(1000);
  feeds[0].status->consecutive_failures = 1;
  feeds[0].status->last_error = "redirected to " + std::string(kSecretUrl) + "&page=2: HTTP 500";
  feeds[1].url = kLocalUrl;
  feeds[1].status = FeedStatus{};
  feeds[1].status->last_attempt = at(1000);
  feeds[1].status->consecutive_failures = 1;
  feeds[1].status->last_error =
      "/srv/private/feeds/local.rss: cannot open: No such file or directory";

  const Rendered site = render(one_rss_output(), stories, feeds);
  CHECK(site.index.find("local.rss: cannot open") != std::string::npos);
  CHECK(site.index.find("api_key=REDACTED&amp;page=REDACTED: HTTP 500") != std::string::npos);
  CHECK(site.index.find("<td>Members Only</td>") != std::string::npos);  // no link to hide
  CHECK(site.index.find("href=\"/sources.opml\"") != std::string::npos);
  REQUIRE(site.has_opml);
  CHECK(site.opml.find(R"~(text="Members Only")~") != std::string::npos);
  CHECK(site.opml.find(R"~(text="local.rss")~") != std::string::npos);

  const Rendered off = render(one_rss_output(false), stories, feeds);
  CHECK_FALSE(off.has_opml);
  CHECK(off.index.find("sources.opml") == std::string::npos);
}

TEST_CASE("a whole site renders from values alone, without a database") {
  const Fixture fixture;
  auto files = render_site(fixture.settings, fixture.stories, fixture.feeds);
  REQUIRE(files.has_value());
  REQUIRE(files->size() == 5);  // three outputs, /sources.opml, /
  CHECK((*files)[0].path == "/feed.xml");
  CHECK((*files)[1].path == "/atom.xml");
  CHECK((*files)[2].path == "/linux.json");
  CHECK((*files)[3].path == "/sources.opml");
  CHECK((*files)[4].path == "/");

  const RenderedFile* rss = find(*files, "/feed.xml");
  REQUIRE(rss != nullptr);
  CHECK(rss->is_output);
  CHECK(rss->content_type == "application/rss+xml; charset=utf-8");
  CHECK(rss->updated == at(1500));
  CHECK(rss->body.find("<title>Budget passes</title>") != std::string::npos);
  CHECK(rss->body.find("<title>Kernel 7.0 released</title>") != std::string::npos);
  // The other outlet is listed under the story, named by its own title (none configured).
  CHECK(rss->body.find("Beta&lt;/a&gt;: Linux 7.0 is out") != std::string::npos);
  CHECK(rss->body.find("https://news.example.org/feed.xml") != std::string::npos);

  const RenderedFile* atom = find(*files, "/atom.xml");
  REQUIRE(atom != nullptr);
  CHECK(atom->content_type == "application/atom+xml; charset=utf-8");
  CHECK(atom->body.find("tag:feedmerge,2026:story/7") != std::string::npos);

  const RenderedFile* json = find(*files, "/linux.json");
  REQUIRE(json != nullptr);
  CHECK(json->content_type == "application/feed+json; charset=utf-8");
  CHECK(json->updated == at(1100));
  CHECK(json->body.find("Kernel 7.0 released") != std::string::npos);
  CHECK(json->body.find("Budget passes") == std::string::npos);  // not in its stories

  const RenderedFile* opml = find(*files, "/sources.opml");
  REQUIRE(opml != nullptr);
  CHECK_FALSE(opml->is_output);
  CHECK(opml->updated == at(1500));                                        // the newest output's
  CHECK(opml->body.find(R"~(text="Alpha Daily")~") != std::string::npos);  // configured title
  CHECK(opml->body.find(R"~(text="Beta")~") != std::string::npos);         // its own title
  CHECK(opml->body.find(R"~(<outline text="linux" title="linux">)~") != std::string::npos);

  const RenderedFile* index = find(*files, "/");
  REQUIRE(index != nullptr);
  CHECK(index->content_type == "text/html; charset=utf-8");
  CHECK(index->body.find("<title>Merged</title>") != std::string::npos);
  CHECK(index->body.find("failing (3 in a row)") != std::string::npos);
  CHECK(index->body.find("never polled") == std::string::npos);  // the third is disabled
  CHECK(index->body.find("disabled") != std::string::npos);
  CHECK(index->body.find("Alpha Daily") != std::string::npos);
}

TEST_CASE("the same values render the same bytes") {
  const Fixture fixture;
  const auto first = render_site(fixture.settings, fixture.stories, fixture.feeds);
  const Fixture again;  // equal values, built anew
  const auto second = render_site(again.settings, again.stories, again.feeds);
  REQUIRE(first.has_value());
  REQUIRE(second.has_value());
  CHECK(*first == *second);
  const RenderedFile output = render_output(fixture.settings.outputs[0], fixture.settings.base_url,
                                            fixture.stories.outputs[0], fixture.feeds);
  CHECK(output == first->front());
}

TEST_CASE("a site whose story lists do not match its outputs is an error, not a guess") {
  Fixture fixture;
  fixture.stories.outputs.pop_back();
  const auto files = render_site(fixture.settings, fixture.stories, fixture.feeds);
  REQUIRE_FALSE(files.has_value());
  CHECK(files.error().message == "render: 2 story lists for 3 outputs");
}

TEST_CASE("the settings carry the config's outputs, base_url and [publish] sources_opml") {
  config::Config config;
  config.server.base_url = "https://news.example.org/";
  config.publish.sources_opml = false;
  config::OutputConfig json;
  json.path = "/feed.json";
  json.format = config::OutputFormat::json;
  json.title = "JSON";
  json.description = "All of it";
  json.categories = {"news"};  // a query setting: not the renderer's business
  json.limit = 5;
  config.outputs = {json};
  const SiteSettings settings = site_settings(config);
  CHECK(settings.base_url == "https://news.example.org/");
  CHECK_FALSE(settings.sources_opml);
  REQUIRE(settings.outputs.size() == 1);
  CHECK(settings.outputs[0] == OutputSettings{.path = "/feed.json",
                                              .format = config::OutputFormat::json,
                                              .title = "JSON",
                                              .description = "All of it"});

  config.server = config::ServerConfig{};
  CHECK(site_settings(config).base_url == config::effective_base_url(config.server));
}

TEST_CASE("an output's categories take their feeds and the feeds nested under them") {
  config::Config config;
  config::FeedConfig a;
  a.url = "https://a.example/feed";
  a.category = "news";
  config::FeedConfig b;
  b.url = "https://b.example/feed";
  b.category = "news/linux";
  config::FeedConfig c;
  c.url = "https://c.example/feed";
  config.feeds = {a, b, c};
  CHECK_FALSE(feeds_in_categories(config, {}).has_value());
  CHECK(feeds_in_categories(config, {"news"}) ==
        std::vector<std::string>{"https://a.example/feed", "https://b.example/feed"});
  CHECK(feeds_in_categories(config, {"news/linux"}) ==
        std::vector<std::string>{"https://b.example/feed"});
  CHECK(feeds_in_categories(config, {"sport"}) == std::vector<std::string>{});
}

}  // namespace feedmerge::publish
