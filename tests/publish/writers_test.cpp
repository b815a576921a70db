#include "feedmerge/publish/writers.h"

#include <doctest/doctest.h>

#include <boost/json.hpp>

#include "feedmerge/publish/entries.h"
#include "feedmerge/publish/snapshot.h"

namespace feedmerge::publish {
namespace {

store::StoryMember member(std::int64_t id, std::string feed_title, std::string title,
                          std::string link, std::int64_t published) {
  store::StoryMember m;
  m.item_id = id;
  m.feed_url = "https://" + feed_title + ".example/feed";
  m.feed_title = feed_title;
  m.feed_link = "https://" + feed_title + ".example/";
  m.item.title = std::move(title);
  m.item.link = std::move(link);
  m.item.published = Time{std::chrono::seconds{published}};
  return m;
}

store::StoryView story() {
  store::StoryView s;
  s.id = 42;
  s.first_published = Time{std::chrono::seconds{1'600'560'300}};
  s.updated = Time{std::chrono::seconds{1'600'600'000}};
  s.members = {member(1, "alpha", "Deal <approved> & signed", "https://alpha.example/deal", 1),
               member(2, "beta", "Beta's take", "https://beta.example/take", 2),
               member(3, "gamma", "Gamma", "javascript:alert(1)", 3)};
  s.members[0].item.content = R"~(<p onclick="x()">Body <a href="/more">more</a></p>)~";
  s.members[0].item.authors = {"Jane <Doe>"};
  s.members[0].item.categories = {"Deals"};
  s.members[1].item.categories = {"Deals", "Policy"};
  s.members[0].item.enclosures = {{"/audio.mp3", "audio/mpeg", 123}, {"javascript:x", "", {}}};
  return s;
}

}  // namespace

TEST_CASE("an entry's id derives from the story id alone, never from a member's link") {
  const Entry a = make_entry(story(), {});
  store::StoryView changed = story();
  std::swap(changed.members[0], changed.members[1]);  // another representative
  const Entry b = make_entry(changed, {});
  CHECK(a.id == "tag:feedmerge,2026:story/42");
  CHECK(b.id == a.id);
  CHECK(b.link == "https://beta.example/take");
}

TEST_CASE("the entry lists every other member with its outlet under Also covered by") {
  const Entry e = make_entry(story(), {"", "Beta Daily", ""});
  CHECK(e.title == "Deal <approved> & signed");
  CHECK(e.also.size() == 2);
  CHECK(e.also[0].outlet == "Beta Daily");  // the configured title wins
  CHECK(e.also[1].outlet == "gamma");
  CHECK(e.also[1].link.empty());  // a script URL is never published
  CHECK(e.content_html ==
        R"~(<p>Body <a href="https://alpha.example/more" rel="nofollow noopener noreferrer">)~"
        R"~(more</a></p><p>Also covered by:</p><ul><li><a href="https://beta.example/take">)~"
        R"~(Beta Daily</a>: Beta's take</li><li>gamma: Gamma</li></ul>)~");
  CHECK(e.categories == std::vector<std::string>{"Deals", "Policy"});
  REQUIRE(e.enclosures.size() == 1);
  CHECK(e.enclosures[0].url == "https://alpha.example/audio.mp3");
  CHECK(e.authors == std::vector<std::string>{"Jane <Doe>"});
}

TEST_CASE("RSS escapes every field and writes RFC 822 dates") {
  const std::vector<Entry> entries = {make_entry(story(), {})};
  const Channel channel =
      make_channel("Tech & <news>", "", "https://news.example.org/", "/feed.xml", entries);
  const std::string rss = write_rss(channel, entries);
  CHECK(rss.find("<title>Tech &amp; &lt;news&gt;</title>") != std::string::npos);
  CHECK(rss.find("<title>Deal &lt;approved&gt; &amp; signed</title>") != std::string::npos);
  CHECK(rss.find(R"~(<atom:link href="https://news.example.org/feed.xml" rel="self")~") !=
        std::string::npos);
  CHECK(rss.find("<pubDate>Sun, 20 Sep 2020 00:05:00 +0000</pubDate>") != std::string::npos);
  CHECK(rss.find(R"~(<guid isPermaLink="false">tag:feedmerge,2026:story/42</guid>)~") !=
        std::string::npos);
  CHECK(rss.find(R"~(<source url="https://alpha.example/feed">alpha</source>)~") !=
        std::string::npos);
  CHECK(rss.find("onclick") == std::string::npos);
}

TEST_CASE("Atom entries have one id, title, updated, an author and an alternate link") {
  const std::vector<Entry> entries = {make_entry(story(), {})};
  const Channel channel = make_channel("T", "", "https://news.example.org/", "/atom.xml", entries);
  const std::string atom = write_atom(channel, entries);
  CHECK(atom.find("<updated>2020-09-20T11:06:40Z</updated>") != std::string::npos);
  CHECK(atom.find("<published>2020-09-20T00:05:00Z</published>") != std::string::npos);
  CHECK(atom.find("<author><name>Jane &lt;Doe&gt;</name></author>") != std::string::npos);
  CHECK(atom.find(
            R"~(<link rel="alternate" type="text/html" href="https://alpha.example/deal"/>)~") !=
        std::string::npos);
  CHECK(atom.find("<source>") != std::string::npos);
}

TEST_CASE("JSON Feed carries authors, tags, attachments and the member list") {
  const std::vector<Entry> entries = {make_entry(story(), {})};
  const Channel channel = make_channel("T", "", "https://news.example.org/", "/feed.json", entries);
  const auto doc = boost::json::parse(write_json_feed(channel, entries)).as_object();
  CHECK(doc.at("version") == "https://jsonfeed.org/version/1.1");
  const auto& item = doc.at("items").as_array().at(0).as_object();
  CHECK(item.at("id") == "tag:feedmerge,2026:story/42");
  CHECK(item.at("date_modified") == "2020-09-20T11:06:40Z");
  CHECK(item.at("authors").as_array().at(0).at("name") == "Jane <Doe>");
  CHECK(item.at("tags").as_array().size() == 2);
  CHECK(item.at("attachments").as_array().at(0).at("mime_type") == "audio/mpeg");
  CHECK(item.at("_feedmerge").at("members").as_array().size() == 3);
}

TEST_CASE("conditional request and content coding rules") {
  CHECK(etag_matches("\"a\"", "\"a\""));
  CHECK(etag_matches("W/\"a\"", "\"a\""));
  CHECK(etag_matches("\"x\", \"a\"", "\"a\""));
  CHECK(etag_matches("*", "\"a\""));
  CHECK_FALSE(etag_matches("\"b\"", "\"a\""));
  CHECK_FALSE(etag_matches("", "\"a\""));
  CHECK(accepts_gzip("gzip, deflate, br"));
  CHECK(accepts_gzip("br;q=1.0, GZIP;q=0.5"));
  CHECK(accepts_gzip("*"));
  CHECK_FALSE(accepts_gzip("gzip;q=0"));
  CHECK_FALSE(accepts_gzip("br, deflate"));
  CHECK_FALSE(accepts_gzip(""));
}

TEST_CASE("a snapshot compresses once and names each representation") {
  std::string body(5000, 'x');
  auto snapshot = make_snapshot(body, "text/plain", Time{std::chrono::seconds{0}});
  CHECK(snapshot->body == body);
  CHECK(snapshot->gzip_body.size() < body.size());
  CHECK(snapshot->etag != snapshot->gzip_etag);
  CHECK(snapshot->last_modified_http == "Thu, 01 Jan 1970 00:00:00 GMT");
  auto same = make_snapshot(body, "text/plain", Time{std::chrono::seconds{5}});
  CHECK(same->etag == snapshot->etag);  // the ETag depends on the bytes only
}

TEST_CASE("the index page says why it has no stories yet: first polls, or every feed failing") {
  const Channel channel = make_channel("T", "", "https://news.example.org/", "/", {});
  SUBCASE("first polls in progress") {
    const std::vector<FeedHealth> feeds = {{.title = "a", .url = "u", .status = "ok"},
                                           {.title = "b", .url = "v", .status = "never polled"},
                                           {.title = "c", .url = "w", .status = "never polled"},
                                           {.title = "d", .url = "x", .status = "disabled"}};
    const std::string page = write_index_html(channel, {}, {}, feeds);
    CHECK(page.find("First polls in progress: 1 of 3 done.") != std::string::npos);
    CHECK(page.find("No stories yet.") != std::string::npos);
  }
  SUBCASE("every feed failing") {
    const std::vector<FeedHealth> feeds = {
        {.title = "a", .url = "u", .status = "failing (2 in a row)", .error = "HTTP 404"}};
    const std::string page = write_index_html(channel, {}, {}, feeds);
    CHECK(page.find("First polls") == std::string::npos);
    CHECK(page.find("No stories yet: every feed is failing") != std::string::npos);
  }
  SUBCASE("stories and every first poll done: nothing to explain") {
    const std::vector<Entry> entries = {make_entry(story(), {})};
    const std::vector<FeedHealth> feeds = {{.title = "a", .url = "u", .status = "ok"}};
    const std::string page = write_index_html(channel, entries, {}, feeds);
    CHECK(page.find("First polls") == std::string::npos);
    CHECK(page.find("No stories yet") == std::string::npos);
  }
}

}  // namespace feedmerge::publish
