#include "feedmerge/dedup/story_index.h"

#include "feedmerge/config/config.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>
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

// Inserts `items` as one batch and returns the story of each, in the order given.
std::vector<std::int64_t> insert(StoryIndex& index, const std::vector<Candidate>& items,
                                 std::int64_t& next_story) {
  index.insert(items, next_story);
  std::vector<std::int64_t> stories;
  for (const Candidate& c : items)
    stories.push_back(index.story_of(c.item_id).value_or(-1));
  return stories;
}

// Which items share a story, as sets of item ids: what order must not change.
std::set<std::set<std::int64_t>> partition(const StoryIndex& index,
                                           const std::vector<Candidate>& items) {
  std::map<std::int64_t, std::set<std::int64_t>> by_story;
  for (const Candidate& c : items)
    by_story[index.story_of(c.item_id).value_or(-c.item_id)].insert(c.item_id);
  std::set<std::set<std::int64_t>> out;
  for (auto& [story, members] : by_story)
    out.insert(members);
  return out;
}

std::string shown(const std::set<std::set<std::int64_t>>& stories) {
  std::string text;
  for (const auto& members : stories) {
    text += "{";
    for (std::int64_t id : members)
      text += " " + std::to_string(id);
    text += " } ";
  }
  return text;
}

const std::string kBody =
    "Hackers believed to be working for a foreign government have been monitoring internal "
    "email traffic at the U.S. Treasury and Commerce departments, according to people familiar "
    "with the matter. The attackers tampered with updates to network monitoring software made "
    "by Texas-based SolarWinds Corp.";
}  // namespace

TEST_CASE("same canonical URL joins, and a republished copy joins as a copy") {
  StoryIndex index({});
  std::int64_t next = 10;
  const auto original = item(1, 1, 0, "https://a.example/solarwinds", "Treasury hacked", kBody);
  const auto first = index.insert({original}, next);
  REQUIRE(first.created == std::vector<std::int64_t>{10});
  REQUIRE(first.placed.size() == 1);
  CHECK(first.placed[0].relation == Relation::original);

  const auto tracked =
      item(2, 2, 1, "https://www.a.example/solarwinds/?utm_source=rss", "Treasury hacked", kBody);
  const auto copy = item(3, 3, 5, "https://b.example/p/1", "Report: U.S. Treasury hacked",
                         kBody + " Originally published by A.");
  const auto second = index.insert({tracked, copy}, next);
  CHECK(second.created.empty());
  CHECK(second.changed == std::vector<std::int64_t>{10});
  REQUIRE(second.placed.size() == 2);
  for (const Placement& placed : second.placed) {
    CHECK(placed.story == 10);
    CHECK(placed.relation == (placed.item_id == 2 ? Relation::same_url : Relation::copy));
    CHECK(placed.probability > 0.9);
  }
  CHECK(index.representative(10) == 1);
  CHECK(index.compare(tracked, original).same_url);
  CHECK(index.compare(tracked, original).score == 1.0);
}

TEST_CASE("an unrelated item starts its own story, and stories outside the window go") {
  StoryIndex index({});
  std::int64_t next = 10;
  const auto other = item(2, 1, 2, "https://a.example/zoom", "Zoom revenue quadruples",
                          "Zoom Video said quarterly revenue rose 355 percent as people kept "
                          "meeting online; the company raised its forecast for the year.");
  const auto stories =
      insert(index, {item(1, 2, 0, "https://b.example/x", "Treasury hacked", kBody), other}, next);
  CHECK(stories[0] != stories[1]);
  // Far later: the first two stories leave the index.
  insert(index, {item(3, 1, 24 * 30, "https://a.example/later", "Later news", "Something else.")},
         next);
  CHECK(index.evict() == 2);
  CHECK(index.story_count() == 1);
}

// A word carried by more than 200 window items is not listed item by item (it finds no
// candidates anyway); once evictions make it rare again, its list is built again from the
// items left, and it finds them.
TEST_CASE("a common word that becomes rare again finds the items that carry it") {
  DedupOptions options;
  options.window = std::chrono::hours{10};  // gone when 20 hours behind
  StoryIndex index(options);
  std::int64_t next = 1;
  // Every word of the two items below, so that they share no rarer one.
  const std::string words =
      "yesterday the zeppelin airship left its hangar over the harbour wall full of helium as "
      "the dirigible crew waved";
  std::vector<Candidate> crowd;
  for (int i = 0; i < 210; ++i) {
    crowd.push_back(item(1000 + i, 1000 + i, 0, "https://crowd.example/" + std::to_string(i),
                         "Crowd " + std::to_string(i), words + " over town " + std::to_string(i)));
  }
  index.insert(crowd, next);
  const auto kept =
      item(1, 1, 25, "https://a.example/airship", "Airship over the harbour", words + ".");
  insert(index, {kept}, next);
  CHECK(index.evict() >= 1);  // the crowd (hour 0) leaves; the word is rare again
  CHECK(index.item_count() == 1);
  const auto copy =
      item(2, 2, 30, "https://b.example/airship", "Airship over the harbour", words + ".");
  const auto stories = insert(index, {copy}, next);
  CHECK(stories[0] == index.story_of(1).value_or(-1));
}

// A group larger than kMaxRecluster (1,500 items) is not clustered again: only the stories
// around the new items are, and they decide as the whole group would. A new report joins its
// story; an unrelated item leaves the group alone; two reports at once or one by one end the
// same.
TEST_CASE("a group too large to cluster again: new items join the stories around them") {
  std::int64_t next = 1;
  // A made-up word per link of the chain: report k carries words k and k + 1, so neighbours
  // share a rare word and the whole crowd is one group of likely pairs (kBody's words are in
  // every report: too common to find candidates with).
  auto word = [](int k) {
    std::string w = "zq";
    for (int i = 0; i < 3; ++i, k /= 26)
      w += static_cast<char>('a' + k % 26);
    return w;
  };
  auto report = [&](std::int64_t id, int link, int hour) {
    const std::string n = std::to_string(id);
    return item(id, id, hour, "https://outlet" + n + ".example/treasury",
                "Treasury email monitored by hackers " + word(link) + " " + word(link + 1),
                kBody + " Also " + word(link) + " and " + word(link + 1) + ".");
  };
  std::vector<Candidate> crowd;
  for (int i = 0; i < 1600; ++i)
    crowd.push_back(report(10'000 + i, i, i % 24));
  const std::vector<Candidate> later = {report(1, 800, 30), report(2, 1200, 31)};
  const auto unrelated =
      item(3, 3, 32, "https://z.example/zoom", "Zoom revenue quadruples",
           "Zoom Video said quarterly revenue rose 355 percent as people kept meeting online; "
           "the company raised its forecast for the year.");
  std::vector<Candidate> all = crowd;
  all.insert(all.end(), later.begin(), later.end());
  all.push_back(unrelated);

  StoryIndex one_by_one({});
  one_by_one.insert(crowd, next);
  REQUIRE(partition(one_by_one, crowd).size() > 1);
  const auto first = one_by_one.insert({later[0]}, next);
  const auto joined = one_by_one.story_of(1);
  CHECK((joined == one_by_one.story_of(10'800) || joined == one_by_one.story_of(10'799) ||
         joined == one_by_one.story_of(10'801)));
  CHECK(first.created.empty());
  CHECK(first.changed == std::vector<std::int64_t>{joined.value_or(-1)});
  one_by_one.insert({later[1]}, next);
  const auto apart = one_by_one.insert({unrelated}, next);
  CHECK(apart.created.size() == 1);
  CHECK(apart.changed.empty());
  CHECK(apart.merged.empty());

  StoryIndex together({});
  together.insert(crowd, next);
  together.insert({later[0], later[1], unrelated}, next);
  CHECK(partition(together, all) == partition(one_by_one, all));
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
  std::int64_t next = 10;
  auto lone = item(2, 2, 1, "https://a.example/x", "Treasury hacked", kBody);
  lone.merge = false;
  const auto stories =
      insert(index, {item(1, 1, 0, "https://a.example/x", "Treasury hacked", kBody), lone}, next);
  CHECK(stories[0] != stories[1]);
}

TEST_CASE("names raise the probability at equal words; a report joins as a report") {
  // Two results stories of one morning, phrased alike, about an unnamed firm, and the same
  // wording with the firm and figure named.
  StoryIndex index({});
  std::int64_t next = 1;
  const auto first = item(1, 1, 0, "https://a.example/results", "cloud revenue beats forecasts",
                          "quarterly cloud revenue grew as customers moved workloads to data "
                          "centres; the results beat forecasts and the shares rose in early "
                          "trading after the company raised its outlook for the year.");
  const auto second =
      item(2, 2, 1, "https://b.example/results", "cloud revenue beats forecasts again",
           "cloud revenue grew again as customers moved more workloads to data "
           "centres; quarterly results beat forecasts and the shares rose in "
           "early trading as the company raised its outlook.");
  const auto named =
      item(3, 3, 2, "https://c.example/oracle-results", "Oracle cloud revenue beats forecasts",
           "quarterly cloud revenue at Oracle grew 27% as customers moved "
           "workloads to data centres; the results beat forecasts and Oracle "
           "shares rose in early trading.");
  const auto report =
      item(4, 4, 3, "https://d.example/oracle-results", "Oracle beats forecasts on cloud",
           "cloud revenue grew 27% at Oracle as customers moved more workloads "
           "to data centres, and Oracle shares rose in early trading after "
           "quarterly results beat forecasts.");
  // Other news around them, so that the words have document frequencies.
  std::vector<Candidate> batch = {first, second, named, report};
  const char* other[] = {
      "Zoom revenue quadruples as meetings move online",
      "Apple unveils new laptops with its own chips", "Tesla recalls cars over a steering fault",
      "Netflix raises prices in several markets", "Amazon workers in Alabama vote on a union"};
  for (int k = 0; k < 5; ++k)
    batch.push_back(item(10 + k, 10 + k, k, "https://n" + std::to_string(k) + ".example/a",
                         other[k], std::string(other[k]) + ", the company said on Tuesday."));
  const auto stories = insert(index, batch, next);
  const Signals alike = index.compare(first, second);
  CHECK(alike.terms > 0.3);
  CHECK(alike.entities == 0);
  CHECK(alike.features[kFewNames] == 1);
  const Signals same = index.compare(named, report);
  CHECK(same.entities > 0.5);
  CHECK(same.score > index.threshold());
  CHECK(same.relation == Relation::report);
  CHECK(stories[2] == stories[3]);
  // The other news stays apart from the results and from each other.
  for (std::size_t k = 4; k < stories.size(); ++k) {
    CHECK(stories[k] != stories[2]);
    CHECK(std::count(stories.begin(), stories.end(), stories[k]) == 1);
  }
}

// Two developments of one saga name the same companies; their figures differ. A report of
// the same development gives the same figures.
// Issue 14: "Title Case headlines lose their names (NYT's and BBC's Jesse Jackson obituaries
// sit outside the obituary story: 0 names)". The words other items write as names mid-sentence
// are names in a Title Case headline too; words mostly written in lower case are not.
TEST_CASE("a Title Case headline gets its names from how the other items write them") {
  const auto report = [](std::int64_t id, const std::string& body) {
    return item(id, id, 0, "https://r" + std::to_string(id) + ".example/jackson",
                "Tributes pour in for a civil rights leader", body);
  };
  const std::vector<Candidate> reports = {
      report(1,
             "Civil rights leader Jesse Jackson died on Tuesday, his family said. The fight "
             "for voting rights shaped his life."),
      report(2,
             "The Reverend Jesse Jackson, who ran for president twice, has died. His fight "
             "went on for six decades."),
      report(3, "Tributes poured in for Jesse Jackson, whose fight took him around the world.")};
  // Two items write "Fight" as a name, three as a word: it stays a word.
  const std::vector<Candidate> boxing = {
      item(5, 5, 1, "https://b.example/1", "Boxing weekend", "Tickets for the Fight Night sold."),
      item(6, 6, 1, "https://b.example/2", "Boxing news", "Promoters of the Fight Night said.")};
  const Candidate headline =
      item(4, 4, 2, "https://t.example/africa",
           "In Africa, Jesse Jackson Was Esteemed for His Fight Against Apartheid",
           "He made several trips to South Africa as a peace broker.");

  StoryIndex fresh({});
  CHECK(fresh.compare(headline, reports[0]).entities == 0);  // no lexicon yet: no shared name

  StoryIndex index({});
  std::int64_t next = 1;
  std::vector<Candidate> stream = reports;
  stream.insert(stream.end(), boxing.begin(), boxing.end());
  index.insert(stream, next);
  const Signals known = index.compare(headline, reports[0]);
  CHECK(known.entities > 0);                                // "jesse", "jackson"
  CHECK(index.compare(headline, boxing[0]).entities == 0);  // not "fight"
}

TEST_CASE("the same names with other figures are another development") {
  StoryIndex index({});
  std::int64_t next = 1;
  const auto deal = item(1, 1, 0, "https://a.example/deal", "Oracle wins TikTok deal",
                         "Oracle will take a 12.5% stake in TikTok Global for $1.2 billion, "
                         "with Walmart taking 7.5%, the companies said.");
  const auto report = item(2, 2, 1, "https://b.example/deal", "Oracle and Walmart join TikTok",
                           "TikTok Global gives Oracle 12.5% for $1.2 billion and Walmart 7.5%, "
                           "the companies said on Saturday.");
  const auto later = item(3, 3, 2, "https://c.example/ipo", "TikTok Global plans listing",
                          "TikTok Global will list within 12 months and hire 25,000 people, "
                          "Oracle and Walmart said.");
  std::vector<Candidate> batch = {deal, report, later};
  const char* other[] = {"Zoom revenue quadruples as meetings move online",
                         "Apple unveils new laptops with its own chips",
                         "Tesla recalls cars over a steering fault"};
  for (int k = 0; k < 3; ++k)
    batch.push_back(item(10 + k, 10 + k, k, "https://n" + std::to_string(k) + ".example/a",
                         other[k], std::string(other[k]) + ", the company said in 2020."));
  const auto year_a = item(4, 4, 3, "https://d.example/a", "Netflix raises prices",
                           "Netflix raises prices in Canada, it said in 2020.");
  const auto year_b = item(5, 5, 3, "https://e.example/b", "Spotify adds podcasts",
                           "Spotify adds podcasts in Sweden, it said in 2020.");
  batch.push_back(year_a);
  batch.push_back(year_b);
  insert(index, batch, next);
  // A year most items give is hardly evidence (the numbers weigh by their IDF, as names).
  const Signals year = index.compare(year_a, year_b);
  CHECK(year.features[kOtherNumbers] == 0);
  CHECK(year.features[kNumbers] > 0);
  CHECK(year.features[kNumbers] < 0.5);
  const Signals same = index.compare(deal, report);
  CHECK(same.features[kNumbers] > 0.5);
  CHECK(same.features[kOtherNumbers] == 0);
  const Signals other_figures = index.compare(deal, later);
  CHECK(other_figures.features[kNumbers] == 0);
  CHECK(other_figures.features[kOtherNumbers] == 1);
  CHECK(explain(other_figures, index.model(), index.threshold()).find("other_numbers") !=
        std::string::npos);
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

std::vector<Candidate> retold_reports() {
  std::vector<Candidate> reports;
  for (std::size_t k = 0; k < kRetold.size(); ++k)
    reports.push_back(item(static_cast<std::int64_t>(k + 1), static_cast<std::int64_t>(k + 1),
                           static_cast<int>(12 * k),
                           "https://outlet" + std::to_string(k) + ".example/solarwinds",
                           "SolarWinds breach, part " + std::to_string(k), kRetold[k]));
  return reports;
}
}  // namespace

// Average linkage: a report joins by its likeness to the story as a whole, and pairs never
// compared (further apart than the window) count as unlike. Reports chained one after
// another, each like the one before, do not make one story longer than most of it agrees.
TEST_CASE("reports chained one after another do not grow one story across days") {
  DedupOptions options;
  options.window = std::chrono::hours{24};
  StoryIndex index(options);
  std::int64_t next = 100;
  const auto reports = retold_reports();
  const auto stories = insert(index, reports, next);
  CHECK(stories[1] == stories[0]);
  CHECK(stories[7] != stories[0]);
  std::set<std::int64_t> distinct(stories.begin(), stories.end());
  CHECK(distinct.size() >= 2);
  // With the default window the same reports, all about one event, are one story.
  StoryIndex wide({});
  const auto together = insert(wide, reports, next);
  CHECK(std::set<std::int64_t>(together.begin(), together.end()).size() == 1);

  // A verbatim copy of the first report, 60 hours after it, joins it all the same: copies
  // come when their outlet gets to them.
  const auto copy =
      item(50, 50, 60, "https://mirror.example/solarwinds", "SolarWinds breach", kRetold[0]);
  insert(wide, {copy}, next);
  CHECK(wide.story_of(50) == wide.story_of(1));
}

// Stories are a function of the items: one batch, two batches either half first, or one item
// at a time in reverse give the same stories.
TEST_CASE("the order in which items arrive does not change the stories") {
  std::vector<Candidate> all = retold_reports();
  all.push_back(
      item(50, 50, 100, "https://mirror.example/solarwinds", "SolarWinds breach", kRetold[0]));
  all.push_back(item(60, 60, 3, "https://b.example/zoom", "Zoom revenue quadruples",
                     "Zoom Video said quarterly revenue rose 355 percent as people kept "
                     "meeting online; the company raised its forecast for the year."));
  all.push_back(item(61, 61, 5, "https://c.example/zoom", "Zoom's revenue up 355%",
                     "Zoom Video quarterly revenue rose 355 percent, the company said, as "
                     "people kept meeting online, and it raised its forecast."));
  DedupOptions options;
  options.window = std::chrono::hours{30};  // the retold reports make two stories or more
  StoryIndex one(options);
  std::int64_t next = 1;
  one.insert(all, next);
  const auto expected = partition(one, all);
  CHECK(expected.size() >= 3);

  for (int split = 0; split < 2; ++split) {
    StoryIndex two(options);
    std::vector<Candidate> first;
    std::vector<Candidate> second;
    for (std::size_t k = 0; k < all.size(); ++k)
      (k % 2 == static_cast<std::size_t>(split) ? first : second).push_back(all[k]);
    two.insert(first, next);
    two.insert(second, next);
    CHECK_MESSAGE(partition(two, all) == expected, shown(partition(two, all)), " expected ",
                  shown(expected));
  }
  StoryIndex reverse(options);
  for (auto it = all.rbegin(); it != all.rend(); ++it)
    reverse.insert({*it}, next);
  CHECK(partition(reverse, all) == expected);
}

// Two polls started a story from two sides; a later report shows they are one. They merge:
// the older id survives, the other is reported merged (its id is not used again).
TEST_CASE("stories found to be one later merge into the older id") {
  DedupOptions options;
  options.window = std::chrono::hours{20};  // reports 0 and 2 (24 hours apart) never compared
  StoryIndex index(options);
  std::int64_t next = 10;
  const auto reports = retold_reports();
  // Report 0 alone, then report 2 alone (24 hours apart: each its own story)...
  const auto a = index.insert({reports[0]}, next);
  const auto b = index.insert({reports[2]}, next);
  REQUIRE(a.created == std::vector<std::int64_t>{10});
  REQUIRE(b.created.size() == 1);
  const std::int64_t later = b.created[0];
  if (index.story_of(3) != index.story_of(1)) {
    // ...then report 1, between them, like both: one story, under the older id.
    const auto c = index.insert({reports[1]}, next);
    CHECK(index.story_of(1) == 10);
    CHECK(index.story_of(2) == 10);
    CHECK(index.story_of(3) == 10);
    REQUIRE(c.merged.size() == 1);
    CHECK(c.merged[0] == std::make_pair(later, std::int64_t{10}));
    const bool moved = std::any_of(c.placed.begin(), c.placed.end(), [](const Placement& p) {
      return p.item_id == 3 && p.story == 10;
    });
    CHECK(moved);
  } else {
    FAIL("reports 0 and 2 already joined: the test needs two stories first");
  }
}

// Taverncast: every episode links the show's home page. A site root names no article, and a
// link that one feed gives items with different titles stops naming one for that feed.
TEST_CASE("a home page or a link a feed shares among its items is not an identity") {
  StoryIndex index({});
  std::int64_t next = 10;
  const std::string bodies[] = {
      "Episode notes: the crew talks about dungeon maps, dice and the tavern's new menu.",
      "Episode notes: an interview with a board game designer about cooperative play.",
      "Episode notes: listener mail, a convention report and the month's releases."};
  std::vector<Candidate> episodes;
  for (int episode = 0; episode < 3; ++episode)
    episodes.push_back(item(episode + 1, 1, episode, "https://taverncast.com/",
                            "Taverncast " + std::to_string(episode + 1), bodies[episode]));
  insert(index, episodes, next);
  CHECK(index.story_count() == 3);
  CHECK_FALSE(index.compare(episodes[0], episodes[1]).same_url);

  // An article-like link, given to two different items of one feed: not an identity from the
  // second on, not even for an item with the first one's title.
  StoryIndex shows({});
  const std::string player = "https://show.example/listen/player";
  const auto stories = insert(shows,
                              {item(20, 2, 0, player, "Episode 41: maps", bodies[0]),
                               item(21, 2, 1, player, "Episode 42: designers", bodies[1]),
                               item(22, 2, 2, player, "Episode 41: maps", bodies[2])},
                              next);
  CHECK(std::set<std::int64_t>(stories.begin(), stories.end()).size() == 3);

  // A link given once stays an identity: the same article again, from another feed, joins.
  const auto joined =
      insert(index,
             {item(30, 3, 0, "https://a.example/solarwinds", "Treasury hacked", kBody),
              item(31, 4, 30, "https://a.example/solarwinds", "Treasury hacked", "Short.")},
             next);
  CHECK(joined[0] == joined[1]);
}

// A feed's template series (changesets, game titles ending in "Online", episodes): near-
// identical text, other links. Two items of one feed join only as one article.
TEST_CASE("a feed's template series never joins on text; other feeds' copies still do") {
  StoryIndex index({});
  std::int64_t next = 10;
  const auto changeset = [](std::int64_t id, std::int64_t feed, int n) {
    const std::string number = std::to_string(170000 + n);
    return item(id, feed, n, "https://osm.example/changeset/" + number, "Changeset " + number,
                kBody + " Changeset " + number + " edited by a mapper.");
  };
  std::vector<Candidate> series;
  for (int n = 0; n < 4; ++n)
    series.push_back(changeset(n + 1, 5, n));
  const auto stories = insert(index, series, next);
  CHECK(std::set<std::int64_t>(stories.begin(), stories.end()).size() == 4);
  CHECK(index.compare(series[1], series[0]).same_feed);
  CHECK(index.compare(series[1], series[0]).score == 0);
  // The same text from another feed is a copy, as before.
  auto copy = changeset(9, 6, 0);
  copy.canonical_url = "https://mirror.example/osm/changeset-170000";
  const auto placed = index.insert({copy}, next);
  REQUIRE(placed.placed.size() == 1);
  CHECK(placed.placed[0].story == stories[0]);
  CHECK(placed.placed[0].relation == Relation::copy);
}

TEST_CASE("the config's default threshold is the fitted model's") {
  CHECK(feedmerge::config::Config{}.dedup.threshold == default_pair_model().threshold);
}

TEST_CASE("a pair model reads from text, and says where it is wrong") {
  const PairModel model =
      parse_pair_model("# fitted\nbias -5\nterms 10  # words\nthreshold 0.35\n");
  CHECK(model.bias == -5);
  CHECK(model.weights[kTerms] == 10);
  CHECK(model.threshold == doctest::Approx(0.35));
  CHECK(model.weights[kDaysApart] == default_pair_model().weights[kDaysApart]);
  CHECK_THROWS_WITH(parse_pair_model("bias -5\nnonsense 3\n"),
                    "line 2: unknown feature 'nonsense'");
  CHECK_THROWS_WITH(parse_pair_model("terms\n"), "line 1: 'terms' needs a number");
}

TEST_CASE("explain shows every signal with its weight and the probability") {
  StoryIndex index({});
  const auto a = item(1, 1, 0, "https://a.example/solarwinds", "Treasury hacked", kBody);
  const auto b = item(2, 2, 5, "https://b.example/p/1", "Report: U.S. Treasury hacked",
                      kBody + " Originally published by A.");
  const Signals s = index.compare(a, b);
  const std::string text = explain(s, index.model(), index.threshold());
  for (std::size_t f = 0; f < kPairFeatureCount; ++f)
    CHECK(text.find(std::string(pair_feature_name(f))) != std::string::npos);
  CHECK(text.find("P(same story)") != std::string::npos);
  CHECK(text.find("copy") != std::string::npos);
}

namespace {

// What the store would hold: the last placement reported for each item (placed or relinked).
void record(std::map<std::int64_t, Placement>& why, const InsertResult& result) {
  for (const auto* list : {&result.placed, &result.relinked})
    for (const Placement& placement : *list)
      why[placement.item_id] = placement;
}

// Every item's reason, as recorded, is the index's: in its story, its matched item a member of
// that story, one founder per story, every other member there by a link.
void check_reasons(const StoryIndex& index, const std::vector<Candidate>& items,
                   const std::map<std::int64_t, Placement>& why) {
  std::map<std::int64_t, int> founders;
  for (const Candidate& c : items) {
    const auto story = index.story_of(c.item_id);
    REQUIRE(story);
    REQUIRE(why.contains(c.item_id));
    const Placement& placement = why.at(c.item_id);
    CHECK(placement.story == *story);
    if (placement.reason == JoinReason::founder) {
      ++founders[*story];
      CHECK(placement.matched_item == 0);
    } else {
      CHECK_MESSAGE(placement.reason == JoinReason::link, "item ", c.item_id);
      CHECK(placement.matched_item != 0);
      CHECK(index.story_of(placement.matched_item) == story);
      CHECK(placement.probability > 0);
    }
  }
  for (const auto& entry : founders)  // not a binding: clang cannot capture one in CHECK
    CHECK_MESSAGE(entry.second == 1, "story ", entry.first);
}

}  // namespace

// Two stories merge: the later one's founder is now there by a link into the merged story,
// and nobody's matched item is outside its own story, after each batch.
TEST_CASE("each member says why it is in its story, through merges") {
  DedupOptions options;
  options.window = std::chrono::hours{20};
  StoryIndex index(options);
  std::int64_t next = 10;
  const auto reports = retold_reports();
  std::map<std::int64_t, Placement> why;
  record(why, index.insert({reports[0]}, next));
  CHECK(why.at(1).reason == JoinReason::founder);
  record(why, index.insert({reports[2]}, next));
  CHECK(why.at(3).reason == JoinReason::founder);
  REQUIRE(index.story_of(3) != index.story_of(1));
  record(why, index.insert({reports[1]}, next));
  REQUIRE(index.story_of(3) == index.story_of(1));
  check_reasons(index, {reports[0], reports[1], reports[2]}, why);
  CHECK(why.at(1).reason == JoinReason::founder);
  CHECK(why.at(3).reason == JoinReason::link);
}

// The same items in another order: every member's reason stays true of the final stories.
TEST_CASE("reasons stay true of the stories whatever the order of arrival") {
  DedupOptions options;
  options.window = std::chrono::hours{30};
  auto all = retold_reports();
  StoryIndex one(options);
  std::int64_t next = 1;
  std::map<std::int64_t, Placement> why_one;
  record(why_one, one.insert(all, next));
  check_reasons(one, all, why_one);

  StoryIndex reverse(options);
  std::map<std::int64_t, Placement> why_reverse;
  for (auto it = all.rbegin(); it != all.rend(); ++it)
    record(why_reverse, reverse.insert({*it}, next));
  check_reasons(reverse, all, why_reverse);
}

// Publication ties, no copies, nothing preferred: the most central member by the stored
// links (its own and those matched with it) stands for the story, whatever its id.
TEST_CASE("the representative's last tie-breaker is the most central member") {
  StoryIndex index({});
  const std::vector<std::string> bodies = {
      "Zoom Video said quarterly revenue rose 355 percent as people kept meeting online.",
      "Quarterly revenue at Zoom Video rose 355 percent; the company raised its forecast.",
      "Zoom Video raised its forecast after revenue rose 355 percent in the quarter."};
  auto why = [](JoinReason reason, std::int64_t matched, double p) {
    Placement placement;
    placement.reason = reason;
    placement.matched_item = matched;
    placement.probability = p;
    return placement;
  };
  // 7 founded it, 5 is there by 9, 9 by 7: 9 holds both links (0.6 + 0.7).
  index.add(item(7, 1, 0, "https://a.example/zoom", "Zoom revenue up", bodies[0]), 3,
            Relation::original, why(JoinReason::founder, 0, 0));
  index.add(item(5, 2, 0, "https://b.example/zoom", "Zoom's revenue", bodies[1]), 3,
            Relation::report, why(JoinReason::link, 9, 0.6));
  index.add(item(9, 3, 0, "https://c.example/zoom", "Zoom forecast", bodies[2]), 3,
            Relation::report, why(JoinReason::link, 7, 0.7));
  CHECK(index.representative(3) == 9);
}
