#include "feedmerge/dedup/story_index.h"

#include <doctest/doctest.h>

using namespace feedmerge::dedup;

namespace {
Candidate item(std::int64_t id, std::int64_t feed, int hour, const std::string& link,
               const std::string& title, const std::string& body) {
  feedmerge::model::Item model;
  model.title = title;
  model.link = link;
  model.summary = body;
  return make_candidate(model, id, feed, true, feedmerge::model::Time{std::chrono::hours{hour}});
}

const std::string kBody =
    "Hackers believed to be working for a foreign government have been monitoring internal "
    "email traffic at the U.S. Treasury and Commerce departments, according to people familiar "
    "with the matter. The attackers tampered with updates to network monitoring software made "
    "by Texas-based SolarWinds Corp.";
}  // namespace

TEST_CASE("same canonical URL joins, and a republished copy joins as a copy") {
  StoryIndex index({});
  const auto original = item(1, 1, 0, "https://a.example/solarwinds", "Treasury hacked", kBody);
  CHECK_FALSE(index.decide(original).story);
  index.add(original, 10, Relation::original);

  const auto tracked =
      item(2, 2, 1, "https://www.a.example/solarwinds/?utm_source=rss", "Treasury hacked", kBody);
  const auto same = index.decide(tracked);
  REQUIRE(same.story);
  CHECK(*same.story == 10);
  CHECK(same.signals.relation == Relation::same_url);

  const auto copy = item(3, 3, 5, "https://b.example/p/1", "Report: U.S. Treasury hacked",
                         kBody + " Originally published by A.");
  const auto decided = index.decide(copy);
  REQUIRE(decided.story);
  CHECK(decided.signals.relation == Relation::copy);
  index.add(copy, 10, Relation::copy);
  CHECK(index.representative(10) == 1);
}

TEST_CASE("an unrelated item starts its own story, and stories outside the window go") {
  StoryIndex index({});
  index.add(item(1, 1, 0, "https://a.example/x", "Treasury hacked", kBody), 10, Relation::original);
  const auto other = item(2, 1, 2, "https://a.example/zoom", "Zoom revenue quadruples",
                          "Zoom Video said quarterly revenue rose 355 percent as people kept "
                          "meeting online; the company raised its forecast for the year.");
  CHECK_FALSE(index.decide(other).story);
  index.add(other, 11, Relation::original);
  // Far later: the first two stories leave the index.
  index.add(item(3, 1, 24 * 30, "https://a.example/later", "Later news", "Something else."), 12,
            Relation::original);
  CHECK(index.evict() == 2);
  CHECK(index.story_count() == 1);
}

TEST_CASE("merge = false keeps a feed's items out of other feeds' stories") {
  StoryIndex index({});
  index.add(item(1, 1, 0, "https://a.example/x", "Treasury hacked", kBody), 10, Relation::original);
  auto lone = item(2, 2, 1, "https://a.example/x", "Treasury hacked", kBody);
  lone.merge = false;
  CHECK_FALSE(index.decide(lone).story);
}
