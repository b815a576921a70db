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

TEST_CASE("a report needs shared names: the same topic words alone do not join") {
  // Two results stories of one morning, phrased alike, about different (unnamed) firms.
  StoryIndex index({});
  const auto first = item(1, 1, 0, "https://a.example/results", "cloud revenue beats forecasts",
                          "quarterly cloud revenue grew as customers moved workloads to data "
                          "centres; the results beat forecasts and the shares rose in early "
                          "trading after the company raised its outlook for the year.");
  index.add(first, 10, Relation::original);
  const auto second =
      item(2, 2, 1, "https://b.example/results", "cloud revenue beats forecasts again",
           "cloud revenue grew again as customers moved more workloads to data "
           "centres; quarterly results beat forecasts and the shares rose in "
           "early trading as the company raised its outlook.");
  const Signals alike = index.compare(first, second);
  CHECK(alike.terms > 0.3);
  CHECK(alike.entities == 0);
  CHECK(alike.score < 0.5);
  CHECK_FALSE(index.decide(second).story);

  // The same wording with the same firm and figure named: one event.
  const auto named =
      item(3, 1, 2, "https://a.example/oracle-results", "Oracle cloud revenue beats forecasts",
           "quarterly cloud revenue at Oracle grew 27% as customers moved "
           "workloads to data centres; the results beat forecasts and Oracle "
           "shares rose in early trading.");
  index.add(named, 11, Relation::original);
  const auto report =
      item(4, 2, 3, "https://b.example/oracle-results", "Oracle beats forecasts on cloud",
           "cloud revenue grew 27% at Oracle as customers moved more workloads "
           "to data centres, and Oracle shares rose in early trading after "
           "quarterly results beat forecasts.");
  const auto decided = index.decide(report);
  REQUIRE(decided.story);
  CHECK(*decided.story == 11);
  CHECK(decided.signals.relation == Relation::report);
}
