#include "feedmerge/publish/writers.h"

#include <doctest/doctest.h>

#include <map>

#include <boost/json.hpp>

#include "feedmerge/publish/entries.h"
#include "feedmerge/publish/snapshot.h"

namespace feedmerge::publish {
namespace {

model::StoryMember member(std::int64_t id, std::string feed_title, std::string title,
                          std::string link, std::int64_t published) {
  model::StoryMember m;
  m.item_id = id;
  m.feed_url = "https://" + feed_title + ".example/feed";
  m.feed_title = feed_title;
  m.feed_link = "https://" + feed_title + ".example/";
  m.item.title = std::move(title);
  m.item.link = std::move(link);
  m.item.published = Time{std::chrono::seconds{published}};
  return m;
}

model::Story story() {
  model::Story s;
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
  s.members[1].item.updated = s.updated;  // the story's last change: beta edited its take
  return s;
}

}  // namespace

TEST_CASE("an entry's id derives from the story id alone, never from a member's link") {
  const Entry a = make_entry(story(), {});
  model::Story changed = story();
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

TEST_CASE("JSON Feed says why each member joined its story") {
  model::Story s = story();
  s.members[0].joined_by = {"founder", std::nullopt, 0};
  s.members[1].joined_by = {"link", 1, 0.83};
  s.members[2].joined_by = {"link", 99, 0.5};  // matched an item no longer in the story
  const std::vector<Entry> entries = {make_entry(s, {})};
  const Channel channel = make_channel("T", "", "https://news.example.org/", "/feed.json", entries);
  const auto doc = boost::json::parse(write_json_feed(channel, entries)).as_object();
  const auto& members = doc.at("items").as_array().at(0).at("_feedmerge").at("members").as_array();
  std::map<std::string, boost::json::object> by_title;
  for (const auto& m : members)
    by_title[std::string(m.at("title").as_string())] = m.at("joined_by").as_object();
  CHECK(by_title.at("Deal <approved> & signed").at("reason") == "founder");
  CHECK_FALSE(by_title.at("Deal <approved> & signed").contains("url"));
  const auto& beta = by_title.at("Beta's take");
  CHECK(beta.at("reason") == "link");
  CHECK(beta.at("url") == "https://alpha.example/deal");
  CHECK(beta.at("p").as_double() == doctest::Approx(0.83));
  CHECK(by_title.at("Gamma").at("reason") == "link");
  CHECK_FALSE(by_title.at("Gamma").contains("url"));
}

TEST_CASE("stories written in one batch keep their own updated: their last change") {
  // A first poll writes every story at one instant (story.updated); readers must still see
  // when each story last changed.
  model::Story a = story();
  a.members[1].item.updated.reset();
  model::Story b = a;
  b.id = 43;
  b.members[2].item.updated = Time{std::chrono::seconds{1'600'580'000}};
  const Entry ea = make_entry(a, {});
  const Entry eb = make_entry(b, {});
  CHECK(ea.updated == a.first_published);  // nothing changed after it was published
  CHECK(eb.updated == Time{std::chrono::seconds{1'600'580'000}});
  // A date after the store last saw the story change is not believed.
  b.members[2].item.updated = Time{std::chrono::seconds{1'700'000'000}};
  CHECK(make_entry(b, {}).updated == b.updated);
  const std::vector<Entry> entries = {ea, eb};
  const std::string atom =
      write_atom(make_channel("T", "", "https://n.example/", "/atom.xml", entries), entries);
  CHECK(atom.find("<updated>2020-09-20T00:05:00Z</updated>") != std::string::npos);
  CHECK(atom.find("<updated>2020-09-20T05:33:20Z</updated>") != std::string::npos);
}

TEST_CASE("an item without an image has no image, and its summary is decoded plain text") {
  model::Story s = story();
  s.members[0].item.summary = "Deal &mdash; <b>signed</b> &amp; sealed";
  const std::vector<Entry> entries = {make_entry(s, {})};
  CHECK(entries[0].image.empty());
  CHECK(entries[0].summary == "Deal \u2014 signed & sealed");
  const Channel channel = make_channel("T", "", "https://news.example.org/", "/feed.json", entries);
  const auto doc = boost::json::parse(write_json_feed(channel, entries)).as_object();
  const auto& item = doc.at("items").as_array().at(0).as_object();
  CHECK_FALSE(item.contains("image"));
  CHECK(item.at("summary") == "Deal \u2014 signed & sealed");
  const std::string atom = write_atom(channel, entries);
  CHECK(atom.find("<summary type=\"text\">Deal \u2014 signed &amp; sealed</summary>") !=
        std::string::npos);
  s.members[0].item.image = "/pic.jpg";
  CHECK(make_entry(s, {}).image == "https://alpha.example/pic.jpg");
}

TEST_CASE("no output shows a local feed's path or the secrets of a feed URL") {
  model::Story s = story();
  s.members[0].feed_url = "file:///home/alice/private/alpha.rss";
  s.members[0].feed_title = "";
  s.members[0].feed_link = "";
  s.members[0].item.link = "";
  s.members[0].item.content = "<a href=\"rel\">x</a>";
  s.members[1].feed_url = "https://bob:S3cret@beta.example/feed?api_key=K3Y";
  s.members[1].feed_link = "";
  s.members[1].item.link = "/take";
  const std::vector<Entry> entries = {make_entry(s, {})};
  CHECK(entries[0].source.outlet == "alpha.rss");  // named, never located
  CHECK(entries[0].source.feed_url.empty());
  CHECK(entries[0].also[0].feed_url == "https://REDACTED@beta.example/feed?api_key=REDACTED");
  CHECK(entries[0].also[0].link == "https://beta.example/take");
  CHECK(entries[0].also[0].feed_link.empty());
  const Channel channel = make_channel("T", "", "https://news.example.org/", "/f", entries);
  for (const std::string& out : {write_rss(channel, entries), write_atom(channel, entries),
                                 write_json_feed(channel, entries)}) {
    CAPTURE(out);
    CHECK(out.find("file:") == std::string::npos);
    CHECK(out.find("/home/alice") == std::string::npos);
    CHECK(out.find("S3cret") == std::string::npos);
    CHECK(out.find("K3Y") == std::string::npos);
  }
  // RSS <source url> needs a URL: a local representative has no <source>.
  CHECK(write_rss(channel, entries).find("<source") == std::string::npos);
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
