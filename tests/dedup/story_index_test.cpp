#include "feedmerge/dedup/story_index.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

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

// decide() leaves out the signals that cannot change a score (the words and names of two items
// two days apart, which only a copy or the same URL can join): the ones it reports for its
// match are complete all the same, as `why` computes them.
TEST_CASE("a match far apart or by URL reports complete signals") {
  StoryIndex index({});
  const auto original = item(1, 1, 0, "https://a.example/solarwinds", "Treasury hacked", kBody);
  index.add(original, 10, Relation::original);
  const auto check_complete = [&](const Candidate& later, Relation relation) {
    const auto decided = index.decide(later);
    REQUIRE(decided.story);
    CHECK(*decided.story == 10);
    const Signals full = index.compare(later, original);
    CHECK(decided.signals.relation == relation);
    CHECK(full.relation == relation);
    CHECK(decided.signals.score == doctest::Approx(full.score));
    CHECK(decided.signals.copy == doctest::Approx(full.copy));
    CHECK(decided.signals.entities == doctest::Approx(full.entities));
    CHECK(decided.signals.terms == doctest::Approx(full.terms));
    CHECK(full.entities > 0.5);
    CHECK(full.terms > 0.5);
  };
  check_complete(item(2, 2, 50, "https://b.example/p/2", "Report: U.S. Treasury hacked",
                      kBody + " Originally published by A."),
                 Relation::copy);
  check_complete(
      item(3, 3, 2, "https://a.example/solarwinds?utm_medium=rss", "Treasury hacked", kBody),
      Relation::same_url);
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

// evict() pops what fell behind from a heap of each story's newest time: the stories it must
// find are those left behind by later items, by a member that moved a story on, and by a
// backfill; a story that moved on must stay.
TEST_CASE("eviction finds every story that fell behind, across calls and backfills") {
  DedupOptions options;
  options.window = std::chrono::hours{10};  // gone when 20 hours behind
  StoryIndex index(options);
  auto add = [&](std::int64_t id, int hour, std::int64_t story) {
    index.add(item(id, 1, hour, "https://a.example/" + std::to_string(id),
                   "Story " + std::to_string(story), "Body of item " + std::to_string(id)),
              story, Relation::original);
  };
  add(1, 0, 10);
  add(2, 15, 11);
  CHECK(index.evict() == 0);  // 15 hours: nothing behind yet
  add(3, 30, 12);
  CHECK(index.evict() == 1);  // story 10 (hour 0)
  CHECK(index.evict() == 0);
  add(4, 34, 11);  // story 11 moves on to hour 34
  add(5, 51, 13);
  CHECK(index.evict() == 1);  // story 12 (hour 30); 11 stays
  CHECK(index.story_count() == 2);
  add(6, 5, 14);  // a backfill, far behind
  CHECK(index.evict() == 1);
  add(7, 60, 15);
  CHECK(index.evict() == 1);  // story 11 (hour 34)
  CHECK(index.story_count() == 2);
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

namespace {
// One event told again and again, each time in other words, twelve hours apart: every report
// shares the names with the one before it.
const std::vector<std::string> kRetold = {
    "SolarWinds confirmed that attackers breached the Treasury and the Commerce Department "
    "through its Orion updates, FireEye said, and Microsoft and CISA are investigating.",
    "Investigators at CISA and Microsoft traced the Treasury and Commerce Department "
    "intrusions to tampered SolarWinds Orion software first spotted by FireEye.",
    "FireEye, which discovered the SolarWinds Orion compromise, says the Treasury and the "
    "Commerce Department were among victims; Microsoft and CISA issued guidance.",
    "Microsoft seized a domain used in the SolarWinds Orion campaign as CISA ordered agencies "
    "like the Treasury and Commerce Department to disconnect, FireEye noted.",
    "CISA's emergency directive followed FireEye's finding that SolarWinds Orion builds were "
    "poisoned; Treasury and Commerce Department networks were read, Microsoft said.",
    "Lawmakers asked SolarWinds how Orion updates reached the Treasury and the Commerce "
    "Department unnoticed until FireEye looked; CISA and Microsoft briefed them.",
    "SolarWinds hired new advisers as FireEye, Microsoft and CISA mapped how far the Orion "
    "intruders went inside the Treasury and the Commerce Department.",
    "The Treasury and the Commerce Department are still cleaning up after the SolarWinds "
    "Orion breach, CISA said, citing work by FireEye and Microsoft.",
};

// Feeds the retold reports in order (report k at 12k hours) and returns the story of each.
std::vector<std::int64_t> retell(StoryIndex& index) {
  std::vector<std::int64_t> stories;
  std::int64_t next_story = 100;
  for (std::size_t k = 0; k < kRetold.size(); ++k) {
    const auto report =
        item(static_cast<std::int64_t>(k + 1), static_cast<std::int64_t>(k + 1),
             static_cast<int>(12 * k), "https://outlet" + std::to_string(k) + ".example/solarwinds",
             "SolarWinds breach, part " + std::to_string(k), kRetold[k]);
    const Decision decision = index.decide(report);
    const std::int64_t story = decision.story ? *decision.story : next_story++;
    index.add(report, story, decision.story ? decision.signals.relation : Relation::original);
    stories.push_back(story);
  }
  return stories;
}
}  // namespace

TEST_CASE("reports chained one after another do not grow a story beyond one window") {
  DedupOptions options;
  options.window = std::chrono::hours{72};
  StoryIndex index(options);
  const std::vector<std::int64_t> stories = retell(index);
  // Up to 72 hours after the first report the story holds them all; the report at 84 hours
  // would stretch it over 84 and starts a story of its own.
  for (std::size_t k = 1; k <= 6; ++k)
    CHECK_MESSAGE(stories[k] == stories[0], "report at ", 12 * k, " h");
  CHECK(stories[7] != stories[0]);

  // A verbatim copy of the first report, 100 hours after it (the story still in the window),
  // joins it all the same: the bound is for independent reports only.
  const auto copy =
      item(50, 50, 100, "https://mirror.example/solarwinds", "SolarWinds breach", kRetold[0]);
  const Decision late = index.decide(copy);
  REQUIRE(late.story);
  CHECK(*late.story == stories[0]);
  CHECK(late.signals.relation == Relation::copy);
}

TEST_CASE("with a window long enough, the same chain stays one story") {
  DedupOptions options;
  options.window = std::chrono::hours{24 * 30};
  StoryIndex index(options);
  const std::vector<std::int64_t> stories = retell(index);
  for (std::size_t k = 1; k < stories.size(); ++k)
    CHECK_MESSAGE(stories[k] == stories[0], "report at ", 12 * k, " h");
}

// Taverncast: every episode links the show's home page. A site root names no article, and a
// link that one feed gives items with different titles stops naming one for that feed.
TEST_CASE("a home page or a link a feed shares among its items is not an identity") {
  StoryIndex index({});
  const std::string bodies[] = {
      "Episode notes: the crew talks about dungeon maps, dice and the tavern's new menu.",
      "Episode notes: an interview with a board game designer about cooperative play.",
      "Episode notes: listener mail, a convention report and the month's releases."};
  for (int episode = 0; episode < 3; ++episode) {
    const auto item_ = item(episode + 1, 1, episode, "https://taverncast.com/",
                            "Taverncast " + std::to_string(episode + 1), bodies[episode]);
    const auto decided = index.decide(item_);
    CHECK_FALSE(decided.story);
    CHECK_FALSE(decided.signals.same_url);
    index.add(item_, 10 + episode, Relation::original);
  }
  CHECK(index.story_count() == 3);

  // An article-like link, given to two different items of one feed: not an identity from the
  // second on, not even for an item with the first one's title.
  StoryIndex shows({});
  const std::string player = "https://show.example/listen/player";
  shows.add(item(20, 2, 0, player, "Episode 41: maps", bodies[0]), 30, Relation::original);
  const auto second = item(21, 2, 1, player, "Episode 42: designers", bodies[1]);
  CHECK_FALSE(shows.decide(second).story);
  shows.add(second, 31, Relation::original);
  const auto third = item(22, 2, 2, player, "Episode 41: maps", bodies[2]);
  CHECK_FALSE(shows.decide(third).story);

  // A link given once stays an identity: the same article again joins by URL.
  index.add(item(30, 3, 0, "https://a.example/solarwinds", "Treasury hacked", kBody), 40,
            Relation::original);
  const auto again =
      index.decide(item(31, 3, 1, "https://a.example/solarwinds", "Treasury hacked", kBody));
  REQUIRE(again.story);
  CHECK(*again.story == 40);
  CHECK(again.signals.relation == Relation::same_url);
}

// A feed's template series (changesets, game titles ending in "Online", episodes): near-
// identical text, other links. Two items of one feed join only as one article.
TEST_CASE("a feed's template series never joins on text; other feeds' copies still do") {
  StoryIndex index({});
  const auto changeset = [](std::int64_t id, std::int64_t feed, int n) {
    const std::string number = std::to_string(170000 + n);
    return item(id, feed, n, "https://osm.example/changeset/" + number, "Changeset " + number,
                kBody + " Changeset " + number + " edited by a mapper.");
  };
  index.add(changeset(1, 5, 0), 10, Relation::original);
  for (int n = 1; n < 4; ++n) {
    const auto next = changeset(n + 1, 5, n);
    const auto decided = index.decide(next);
    CHECK_FALSE(decided.story);
    CHECK(index.compare(next, changeset(1, 5, 0)).same_feed);
    CHECK(index.compare(next, changeset(1, 5, 0)).score == 0);
    index.add(next, 10 + n, Relation::original);
  }
  // The same text from another feed is a copy, as before.
  auto copy = changeset(9, 6, 0);
  copy.canonical_url = "https://mirror.example/osm/changeset-170000";
  const auto decided = index.decide(copy);
  REQUIRE(decided.story);
  CHECK(decided.signals.relation == Relation::copy);
}
