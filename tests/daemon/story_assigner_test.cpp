// StoryAssigner against a real SQLite file: what retention does to the stories the daemon's
// index still holds.
#include "daemon/story_assigner.h"

#include <SQLiteCpp/Database.h>
#include <doctest/doctest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <future>
#include <sstream>
#include <string>
#include <vector>

#include "daemon/test_config.h"
#include "daemon/writer.h"
#include "feedmerge/store/store.h"
#include "store/temp_folder.h"
#include "support/manual_clock.h"

namespace feedmerge::daemon {
namespace {

using namespace std::chrono_literals;
using model::Time;
using test::TempFolder;

const Time kT0 = std::chrono::sys_days{std::chrono::year{2024} / 3 / 1} + 12h;

// Stores one item (id `guid`, link `link`, published at `published`) as a poll of `feed_url`
// at `now`; its row id. `other` gives it a text of its own.
std::int64_t store_item(store::Store& store, const std::string& feed_url, const std::string& guid,
                        const std::string& link, Time published, Time now, bool other = false) {
  auto feed = store.ensure_feed(feed_url);
  REQUIRE(feed.has_value());
  model::Feed document;
  model::Item item;
  item.id = guid;
  item.link = link;
  item.title =
      other ? "Zoom revenue quadruples" : "Treasury and Commerce email monitored by hackers";
  item.summary = other ? "Zoom Video said quarterly revenue rose 355 percent as people kept "
                         "meeting online."
                       : "Hackers tampered with SolarWinds updates to reach the Treasury.";
  item.published = published;
  document.items.push_back(item);
  auto stored = store.record_poll(*feed, &document, now);
  REQUIRE_MESSAGE(stored.has_value(), (stored ? "" : stored.error().message));
  REQUIRE(stored->new_items.size() == 1);
  return stored->new_items.front().id;
}

// Three feeds (a, b, c) in a test config over a fresh SQLite file at `path`.
struct ThreeFeeds {
  TempFolder folder;
  const std::string a = "https://a.example/feed.xml";
  const std::string b = "https://b.example/feed.xml";
  const std::string c = "https://c.example/feed.xml";
  config::Config config = make_test_config(folder, {a, b, c});
  const std::string path = config.storage.database;
};

// Returns once the writer has done everything queued before.
void drain(Writer& writer) {
  std::promise<void> done;
  writer.pass([&] { done.set_value(); });
  done.get_future().wait();
}

std::optional<std::int64_t> story_of(const std::string& path, std::int64_t item) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  SQLite::Statement query(db, "SELECT story_id FROM item_stories WHERE item_id = ?");
  query.bind(1, item);
  if (!query.executeStep()) return std::nullopt;
  return query.getColumn(0).getInt64();
}

// Whether every membership and story the file holds points at rows that exist.
bool foreign_keys_hold(const std::string& path) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  SQLite::Statement broken(db, "PRAGMA foreign_key_check");
  return !broken.executeStep();
}

// A running daemon keeps its index between batches. Retention may empty a story the index
// still holds (max_items_per_feed removes recent items too); an item that matches it later
// must get a story that exists, not fail the whole batch on a foreign key.
TEST_CASE("after retention empties a story, a matching item starts a story that exists") {
  TempFolder folder;
  const std::string a = "https://a.example/feed.xml";
  const std::string b = "https://b.example/feed.xml";
  const config::Config config = make_test_config(folder, {a, b});
  const std::string path = config.storage.database;
  auto store = store::open_sqlite(path, store::OpenMode::read_write);
  REQUIRE(store.has_value());
  const std::string link = "https://a.example/2024/treasury-hacked";

  const std::int64_t first = store_item(**store, a, "a-1", link, kT0, kT0);
  auto assigner = StoryAssigner::open(config, **store);
  REQUIRE_MESSAGE(assigner.has_value(), (assigner ? "" : assigner.error().message));
  REQUIRE((*assigner)->assign(std::vector<std::int64_t>{first}, kT0).has_value());
  const auto first_story = story_of(path, first);
  REQUIRE(first_story.has_value());

  // Feed A moves on; keeping one item per feed removes the first, and with it its story.
  const std::int64_t second =
      store_item(**store, a, "a-2", "https://a.example/2024/zoom", kT0 + 1h, kT0 + 1h, true);
  REQUIRE((*assigner)->assign(std::vector<std::int64_t>{second}, kT0 + 1h).has_value());
  auto removed = (*store)->prune(0s, 1, kT0 + 2h);
  REQUIRE(removed.has_value());
  REQUIRE(*removed == 1);
  auto tidied = (*assigner)->tidy();
  REQUIRE(tidied.has_value());
  CHECK(*tidied == 1);

  // Feed B carries the same link: the index would have put it into the removed story.
  const std::int64_t copy = store_item(**store, b, "b-1", link, kT0 + 2h, kT0 + 2h);
  auto assigned = (*assigner)->assign(std::vector<std::int64_t>{copy}, kT0 + 2h);
  REQUIRE_MESSAGE(assigned.has_value(), (assigned ? "" : assigned.error().message));
  CHECK(*assigned == 1);
  const auto copy_story = story_of(path, copy);
  REQUIRE(copy_story.has_value());
  CHECK(*copy_story != *first_story);
}

// Memberships are written with foreign keys unchecked: the index must match the store inside
// the batch's transaction. A merge by another process (`feedmerge story merge`) deletes a story
// the index still holds; the next batch sees it and joins the story that remains.
TEST_CASE_FIXTURE(
    ThreeFeeds,
    "after another connection merges stories, a matching item joins the one that remains") {
  auto store = store::open_sqlite(path, store::OpenMode::read_write);
  REQUIRE(store.has_value());
  const std::string link = "https://a.example/2024/treasury-hacked";

  const std::int64_t first = store_item(**store, a, "a-1", link, kT0, kT0);
  const std::int64_t other =
      store_item(**store, b, "b-1", "https://b.example/2024/zoom", kT0, kT0, true);
  auto assigner = StoryAssigner::open(config, **store);
  REQUIRE_MESSAGE(assigner.has_value(), (assigner ? "" : assigner.error().message));
  REQUIRE((*assigner)->assign(std::vector<std::int64_t>{first, other}, kT0).has_value());
  const auto merged_away = story_of(path, first);
  const auto kept = story_of(path, other);
  REQUIRE(merged_away.has_value());
  REQUIRE(kept.has_value());
  REQUIRE(*merged_away != *kept);

  auto cli = store::open_sqlite(path, store::OpenMode::read_write);
  REQUIRE(cli.has_value());
  REQUIRE((*cli)->merge(*kept, *merged_away, kT0 + 1h).has_value());

  // The same link as the first item: the index, unaware, would name the deleted story.
  const std::int64_t copy = store_item(**store, c, "c-1", link, kT0 + 1h, kT0 + 1h);
  auto assigned = (*assigner)->assign(std::vector<std::int64_t>{copy}, kT0 + 1h);
  REQUIRE_MESSAGE(assigned.has_value(), (assigned ? "" : assigned.error().message));
  CHECK(story_of(path, copy) == kept);
  CHECK(foreign_keys_hold(path));
}

// Puts `member` in a story of its own, behind the assigner's back: what a kept index may have
// decided under the statistics of its time, and a settle undoes.
void split_behind(const std::string& path, std::int64_t member, Time at) {
  SQLite::Database db(path, SQLite::OPEN_READWRITE);
  SQLite::Statement insert(db,
                           "INSERT INTO stories (first_published, first_seen, updated, "
                           "representative_item_id) VALUES (?, ?, ?, ?)");
  const std::int64_t seconds =
      std::chrono::duration_cast<std::chrono::seconds>(at.time_since_epoch()).count();
  insert.bind(1, seconds);
  insert.bind(2, seconds);
  insert.bind(3, seconds);
  insert.bind(4, member);
  insert.exec();
  SQLite::Statement move(db, "UPDATE item_stories SET story_id = ? WHERE item_id = ?");
  move.bind(1, db.getLastInsertRowid());
  move.bind(2, member);
  REQUIRE(move.exec() == 1);
}

// Leased, the assigner keeps its index between batches, whose pairs were scored under the
// statistics of their time, and settles: every story since the oldest item it placed
// unsettled, however far back, is clustered again from what is stored.
TEST_CASE_FIXTURE(ThreeFeeds,
                  "a settle clusters again every story since the oldest item placed unsettled") {
  auto store = store::open_sqlite(path, store::OpenMode::read_write);
  REQUIRE(store.has_value());
  auto assigner = StoryAssigner::open(config, **store);
  REQUIRE_MESSAGE(assigner.has_value(), (assigner ? "" : assigner.error().message));

  // The first batch builds the index from the store: settled by itself.
  const std::int64_t before =
      store_item(**store, c, "c-0", "https://c.example/2024/zoom", kT0 - 1h, kT0 - 1h, true);
  REQUIRE((*assigner)->assign(std::vector<std::int64_t>{before}, kT0 - 1h).has_value());
  CHECK((*assigner)->last_settled());
  // Two reports of one story, then, a year later, another item: the newest two windows no
  // longer reach the two.
  const std::int64_t first = store_item(**store, a, "a-1", "https://a.example/2024/t", kT0, kT0);
  const std::int64_t second =
      store_item(**store, b, "b-1", "https://b.example/2024/t", kT0 + 1h, kT0 + 1h);
  REQUIRE((*assigner)->assign(std::vector<std::int64_t>{first, second}, kT0 + 1h).has_value());
  CHECK_FALSE((*assigner)->last_settled());
  REQUIRE(story_of(path, first).has_value());
  REQUIRE(story_of(path, first) == story_of(path, second));
  const Time later = kT0 + std::chrono::days{365};
  const std::int64_t last =
      store_item(**store, c, "c-1", "https://c.example/2025/zoom", later, later, true);
  REQUIRE((*assigner)->assign(std::vector<std::int64_t>{last}, later).has_value());

  // What a kept index may have decided under other statistics: the second on its own.
  split_behind(path, second, kT0 + 1h);
  REQUIRE(story_of(path, first) != story_of(path, second));

  auto moved = (*assigner)->settle(later);
  REQUIRE_MESSAGE(moved.has_value(), (moved ? "" : moved.error().message));
  CHECK(*moved == 1);
  CHECK((*assigner)->last_settled());
  CHECK(story_of(path, first) == story_of(path, second));
  CHECK(story_of(path, before) != story_of(path, last));
  // Settled: the next one reaches back no further than the newest two windows.
  auto again = (*assigner)->settle(later);
  REQUIRE(again.has_value());
  CHECK(*again == 0);
  CHECK(foreign_keys_hold(path));
}

// An assigner over ThreeFeeds' file, and two stored items without a story yet: one of
// another story (c, an hour earlier) and a report (a).
struct Assigning : ThreeFeeds {
  std::unique_ptr<store::Store> store = [this] {
    auto opened = store::open_sqlite(path, store::OpenMode::read_write);
    REQUIRE(opened.has_value());
    return std::move(*opened);
  }();
  std::unique_ptr<StoryAssigner> assigner = [this] {
    auto opened = StoryAssigner::open(config, *store);
    REQUIRE(opened.has_value());
    return std::move(*opened);
  }();
  const std::int64_t other =
      store_item(*store, c, "c-0", "https://c.example/2024/zoom", kT0 - 1h, kT0 - 1h, true);
  const std::int64_t first = store_item(*store, a, "a-1", "https://a.example/2024/t", kT0, kT0);
};

// Takes the write lock from another connection at once, with no busy wait: throws if anyone
// holds it.
void take_write_lock(const std::string& path) {
  SQLite::Database db(path, SQLite::OPEN_READWRITE);
  db.exec("BEGIN IMMEDIATE");
  db.exec("ROLLBACK");
}

// A settle costs what a rebuild does (17 s at 10,000 feeds): it reads and clusters before it
// takes the store's write lock, so that a person's `story merge` meanwhile neither waits for it
// nor fails; and what it decided is not written over a change it did not see.
TEST_CASE_FIXTURE(Assigning, "a settle reads and clusters before its write transaction") {
  REQUIRE(assigner->assign(std::vector<std::int64_t>{other}, kT0 - 1h).has_value());
  const std::int64_t second =
      store_item(*store, b, "b-1", "https://b.example/2024/t", kT0 + 1h, kT0 + 1h);
  REQUIRE(assigner->assign(std::vector<std::int64_t>{first, second}, kT0 + 1h).has_value());
  REQUIRE(story_of(path, first) == story_of(path, second));
  split_behind(path, second, kT0 + 1h);
  bool ran = false;

  SUBCASE("nothing changed meanwhile: what it read is written") {
    assigner->before_story_write([&] {
      take_write_lock(path);
      ran = true;
    });
    auto moved = assigner->settle(kT0 + 2h);
    REQUIRE_MESSAGE(moved.has_value(), (moved ? "" : moved.error().message));
    CHECK(ran);
    CHECK(*moved == 1);
    CHECK(assigner->settles_redone() == 0);
    CHECK(story_of(path, first) == story_of(path, second));
    CHECK(story_of(path, other) != story_of(path, first));
  }
  SUBCASE("a person merged meanwhile: the settle clusters again inside its write") {
    assigner->before_story_write([&] {
      auto person = store::open_sqlite(path, store::OpenMode::read_write);
      REQUIRE(person.has_value());
      auto merged = (*person)->merge(*story_of(path, other), *story_of(path, second), kT0 + 90min);
      REQUIRE_MESSAGE(merged.has_value(), (merged ? "" : merged.error().message));
      ran = true;
    });
    auto moved = assigner->settle(kT0 + 2h);
    REQUIRE_MESSAGE(moved.has_value(), (moved ? "" : moved.error().message));
    CHECK(ran);
    CHECK(assigner->settles_redone() == 1);
    // What it had decided before the merge put the second back with the first, and left the
    // other item alone: the merge would be lost.
    CHECK(story_of(path, second) == story_of(path, other));
  }
  SUBCASE("a person split meanwhile: the settle keeps the split") {
    assigner->before_story_write([&] {
      auto person = store::open_sqlite(path, store::OpenMode::read_write);
      REQUIRE(person.has_value());
      auto split = (*person)->split(first, kT0 + 90min);
      REQUIRE_MESSAGE(split.has_value(), (split ? "" : split.error().message));
      ran = true;
    });
    auto moved = assigner->settle(kT0 + 2h);
    REQUIRE_MESSAGE(moved.has_value(), (moved ? "" : moved.error().message));
    CHECK(ran);
    CHECK(assigner->settles_redone() == 1);
    CHECK(story_of(path, first) != story_of(path, second));
  }
  CHECK(foreign_keys_hold(path));
}

// The first batch after a start, or after a person's merge or split, builds the index from the
// store (17 s at 10,000 feeds): before its write transaction, and again inside it only when
// stories changed meanwhile.
TEST_CASE_FIXTURE(Assigning,
                  "a batch builds its index from the store before its write transaction") {
  bool ran = false;

  SUBCASE("nothing changed meanwhile: the index built ahead is used") {
    assigner->before_story_write([&] {
      take_write_lock(path);
      ran = true;
    });
    REQUIRE(assigner->assign(std::vector<std::int64_t>{other, first}, kT0).has_value());
    CHECK(ran);
    CHECK(assigner->rebuilds_redone() == 0);
    CHECK(assigner->last_settled());
    CHECK(story_of(path, other).has_value());
    CHECK(story_of(path, other) != story_of(path, first));
  }
  SUBCASE("stories changed meanwhile: the index is built again inside the transaction") {
    REQUIRE(assigner->assign(std::vector<std::int64_t>{other, first}, kT0).has_value());
    // A person's merge: the next batch builds its index from the store.
    auto person = store::open_sqlite(path, store::OpenMode::read_write);
    REQUIRE(person.has_value());
    REQUIRE(
        (*person)->merge(*story_of(path, other), *story_of(path, first), kT0 + 1min).has_value());
    const std::int64_t second =
        store_item(*store, b, "b-1", "https://b.example/2024/t", kT0 + 1h, kT0 + 1h);
    // Then, before the batch's transaction, a write that is no override (another assigner's).
    assigner->before_story_write([&] {
      split_behind(path, first, kT0);
      ran = true;
    });
    REQUIRE(assigner->assign(std::vector<std::int64_t>{second}, kT0 + 1h).has_value());
    CHECK(ran);
    CHECK(assigner->rebuilds_redone() == 1);
    // Placed by the index built before that write, the second would join the merged story.
    CHECK(story_of(path, second) == story_of(path, first));
    CHECK(story_of(path, second) != story_of(path, other));
  }
  CHECK(foreign_keys_hold(path));
}

// When the leased writer settles: a lease after the last batch, or after ten leases of steady
// arrivals; the keeper's rounds (set_assigner with the same term) are when it looks.
TEST_CASE_FIXTURE(ThreeFeeds,
                  "the story assigner settles a lease after its last batch, or after ten leases") {
  config.storage.lease = std::chrono::seconds{60};
  auto own = store::open_sqlite(path, store::OpenMode::read_write);
  REQUIRE(own.has_value());
  auto polls = store::open_sqlite(path, store::OpenMode::read_write);  // the other pollers
  REQUIRE(polls.has_value());
  // The writer's log, kept for the test (and out of the test run's output).
  std::ostringstream log;
  const auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "settles", std::make_shared<spdlog::sinks::ostream_sink_mt>(log)));
  struct Restore {
    std::shared_ptr<spdlog::logger> logger;
    ~Restore() { spdlog::set_default_logger(logger); }
  } restore{previous};
  auto settles = [&] {
    const std::string text = log.str();
    int count = 0;
    for (auto at = text.find("stories: settled"); at != std::string::npos;
         at = text.find("stories: settled", at + 1))
      ++count;
    return count;
  };
  test::ManualClock clock(kT0);
  auto writer = Writer::open(config, std::move(*own), clock, {.leased = true});
  REQUIRE_MESSAGE(writer.has_value(), (writer ? "" : writer.error().message));
  // One keeper round, `after` from the last: returns once the writer has done it.
  auto round = [&](std::chrono::seconds after) {
    clock.advance(after);
    (*writer)->set_assigner(1);
    drain(**writer);
  };
  int filler = 0;
  auto unrelated = [&] {
    ++filler;
    const std::string n = std::to_string(filler);
    store_item(**polls, c, "c-" + n, "https://c.example/2024/n" + n, kT0 + filler * 1min,
               kT0 + filler * 1min, true);
  };

  unrelated();
  round(0s);  // becomes the assigner: the first batch builds the index from the store
  const std::int64_t first = store_item(**polls, a, "a-1", "https://a.example/2024/t", kT0, kT0);
  const std::int64_t second =
      store_item(**polls, b, "b-1", "https://b.example/2024/t", kT0 + 1h, kT0 + 1h);
  round(1s);  // placed against the kept index: unsettled
  REQUIRE(story_of(path, first).has_value());
  REQUIRE(story_of(path, first) == story_of(path, second));

  split_behind(path, second, kT0 + 1h);
  round(59s);
  CHECK(story_of(path, first) != story_of(path, second));  // not quiet for a lease yet
  round(1s);
  CHECK(story_of(path, first) == story_of(path, second));  // quiet for a lease: settled

  // Steady arrivals, a batch every half lease: settled once ten leases have passed.
  split_behind(path, second, kT0 + 1h);
  unrelated();
  round(30s);  // the first batch since the settle
  for (int i = 0; i < 19; ++i) {
    unrelated();
    round(30s);
    CHECK_MESSAGE(story_of(path, first) != story_of(path, second), "round ", i);
  }
  unrelated();
  round(30s);
  CHECK(story_of(path, first) == story_of(path, second));
  CHECK(settles() == 2);
}

// One process (SQLite `run`) settles too: its batches are placed against the index it kept, so
// once no item came for a lease, the writer's clock tick (check_files, every few seconds)
// clusters the window again from the store.
TEST_CASE_FIXTURE(ThreeFeeds, "one process settles its stories once no item came for a lease") {
  config.storage.lease = std::chrono::seconds{60};
  auto own = store::open_sqlite(path, store::OpenMode::read_write);
  REQUIRE(own.has_value());
  test::ManualClock clock(kT0);
  auto writer = Writer::open(config, std::move(*own), clock, {});
  REQUIRE_MESSAGE(writer.has_value(), (writer ? "" : writer.error().message));
  auto registered = (*writer)->register_now(config.feeds);
  REQUIRE(registered.has_value());
  // One poll of `feed` (its index in config.feeds) storing one item, then the batch assigned,
  // as the scheduler does; returns the item's row id once the writer has done both.
  auto poll = [&](std::size_t feed, const std::string& guid, Time published, bool other) {
    auto outcome = std::make_shared<PollOutcome>();
    outcome->decision.state = (*registered)[feed].state;
    outcome->feed_id = (*registered)[feed].state.id;
    model::Item item;
    item.id = guid;
    item.link =
        "https://" + std::string(1, static_cast<char>('a' + feed)) + ".example/2024/" + guid;
    item.title =
        other ? "Zoom revenue quadruples" : "Treasury and Commerce email monitored by hackers";
    item.summary = other ? "Zoom Video said quarterly revenue rose 355 percent as people kept "
                           "meeting online."
                         : "Hackers tampered with SolarWinds updates to reach the Treasury.";
    item.published = published;
    outcome->parsed.emplace();
    outcome->parsed->items.push_back(item);
    std::promise<Writer::Recorded> stored;
    (*writer)->record(outcome, [&](Writer::Recorded recorded) { stored.set_value(recorded); });
    const Writer::Recorded recorded = stored.get_future().get();
    REQUIRE_MESSAGE(recorded.stored.has_value(), recorded.error);
    REQUIRE(recorded.stored->new_items.size() == 1);
    const std::int64_t id = recorded.stored->new_items.front().id;
    std::promise<void> assigned;
    (*writer)->assign([&] { assigned.set_value(); });
    assigned.get_future().wait();
    return id;
  };
  // The writer's clock tick, `after` from the last; returns once the writer has done it.
  auto tick = [&](std::chrono::seconds after) {
    clock.advance(after);
    (*writer)->check_files();
    drain(**writer);
  };

  poll(2, "c-0", kT0 - 1h, true);  // the first batch builds the index from the store: settled
  const std::int64_t first = poll(0, "t", kT0, false);  // against the kept index: unsettled
  const std::int64_t second = poll(1, "t", kT0 + 1h, false);
  REQUIRE(story_of(path, first).has_value());
  REQUIRE(story_of(path, first) == story_of(path, second));

  // What a kept index may have decided under other statistics: the second on its own.
  split_behind(path, second, kT0 + 1h);
  tick(59s);
  CHECK(story_of(path, first) != story_of(path, second));  // not quiet for a lease yet
  tick(1s);
  CHECK(story_of(path, first) == story_of(path, second));  // settled
  // Settled and nothing new: the ticks leave the stories alone.
  split_behind(path, second, kT0 + 1h);
  tick(120s);
  CHECK(story_of(path, first) != story_of(path, second));
}

// Issue 17, "story hijack by backdating": a feed that copies another outlet's headline with an
// earlier date, polled later, became the story's representative, so the merged entry's title
// and link pointed at the copier. A claimed date is evidence, not authority.
namespace backdating {

const std::string kTitle = "Treasury and Commerce email monitored by hackers, officials say";

std::int64_t report(store::Store& store, const std::string& feed_url, const std::string& guid,
                    const std::string& summary, Time published, Time now) {
  auto feed = store.ensure_feed(feed_url);
  REQUIRE(feed.has_value());
  model::Feed document;
  model::Item item;
  item.id = guid;
  item.link = feed_url.substr(0, feed_url.find("/feed")) + "/2024/" + guid;
  item.title = kTitle;
  item.summary = summary;
  item.published = published;
  document.items.push_back(item);
  auto stored = store.record_poll(*feed, &document, now);
  REQUIRE_MESSAGE(stored.has_value(), (stored ? "" : stored.error().message));
  REQUIRE(stored->new_items.size() == 1);
  return stored->new_items.front().id;
}

struct Row {
  std::int64_t representative = 0;
  Time first_published{};
  std::string relation;  // of the member asked about
};

Row story_row(const std::string& path, std::int64_t member) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  SQLite::Statement query(db,
                          "SELECT s.representative_item_id, s.first_published, m.relation FROM "
                          "item_stories AS m JOIN stories AS s ON s.id = m.story_id WHERE "
                          "m.item_id = ?");
  query.bind(1, member);
  REQUIRE(query.executeStep());
  return {query.getColumn(0).getInt64(), Time{std::chrono::seconds{query.getColumn(1).getInt64()}},
          query.getColumn(2).getString()};
}

const std::string kOriginal =
    "Hackers broke into the Treasury and Commerce departments through SolarWinds Orion updates "
    "and read staff email for months, according to people familiar with the investigation.";
const std::string kCopier =
    "Email at the Treasury and Commerce departments was monitored for months after a breach of "
    "SolarWinds Orion software, US officials said on Sunday.";

}  // namespace backdating

TEST_CASE("a copy polled later with an earlier date does not become the representative") {
  using namespace backdating;
  TempFolder folder;
  const std::string a = "https://original.example/feed.xml";
  const std::string b = "https://copier.example/feed.xml";
  const config::Config config = make_test_config(folder, {a, b});
  const std::string path = config.storage.database;
  auto store = store::open_sqlite(path, store::OpenMode::read_write);
  REQUIRE(store.has_value());
  auto assigner = StoryAssigner::open(config, **store);
  REQUIRE_MESSAGE(assigner.has_value(), (assigner ? "" : assigner.error().message));

  // The outlet breaks the story at T0 and is polled ten minutes later.
  const std::int64_t original = report(**store, a, "a-1", kOriginal, kT0, kT0 + 10min);
  REQUIRE((*assigner)->assign(std::vector<std::int64_t>{original}, kT0 + 10min).has_value());

  SUBCASE("claiming five hours earlier, polled three hours later") {
    const std::int64_t copy = report(**store, b, "b-1", kCopier, kT0 - 5h, kT0 + 3h);
    REQUIRE((*assigner)->assign(std::vector<std::int64_t>{copy}, kT0 + 3h).has_value());
    const Row row = story_row(path, copy);
    REQUIRE(story_of(path, copy) == story_of(path, original));
    // Not a copy or translation: on main its earlier date made it the representative.
    CHECK(row.relation == "report");
    CHECK(row.representative == original);
    // The same rule where the store picks the representative itself (after retention, merge
    // or split): a split and a merge back recompute it in SQL.
    auto cli = store::open_sqlite(path, store::OpenMode::read_write);
    REQUIRE(cli.has_value());
    const std::int64_t story = *story_of(path, original);
    auto split = (*cli)->split(copy, kT0 + 4h);
    REQUIRE_MESSAGE(split.has_value(), (split ? "" : split.error().message));
    REQUIRE((*cli)->merge(story, *story_of(path, copy), kT0 + 4h).has_value());
    CHECK(story_row(path, copy).representative == original);
  }

  SUBCASE("claiming a little earlier than the first sighting: the claim stands") {
    // Published 40 minutes before the outlet we saw first, polled two hours later: within
    // the tolerance, a slower feed's original keeps its place.
    const std::int64_t earlier = report(**store, b, "b-1", kCopier, kT0 - 30min, kT0 + 2h);
    REQUIRE((*assigner)->assign(std::vector<std::int64_t>{earlier}, kT0 + 2h).has_value());
    REQUIRE(story_of(path, earlier) == story_of(path, original));
    CHECK(story_row(path, earlier).representative == earlier);
  }
}

TEST_CASE("items seen together keep their claimed dates: a first poll's earliest leads") {
  using namespace backdating;
  TempFolder folder;
  const std::string a = "https://original.example/feed.xml";
  const std::string b = "https://copier.example/feed.xml";
  const config::Config config = make_test_config(folder, {a, b});
  const std::string path = config.storage.database;
  auto store = store::open_sqlite(path, store::OpenMode::read_write);
  REQUIRE(store.has_value());
  // Both feeds' first polls, a minute apart, one batch: a day-old original is no backdating.
  const std::int64_t later = report(**store, a, "a-1", kOriginal, kT0 - 20h, kT0);
  const std::int64_t first = report(**store, b, "b-1", kCopier, kT0 - 24h, kT0 + 1min);
  auto assigner = StoryAssigner::open(config, **store);
  REQUIRE_MESSAGE(assigner.has_value(), (assigner ? "" : assigner.error().message));
  REQUIRE(story_of(path, first) == story_of(path, later));
  CHECK(story_row(path, first).representative == first);
}

// Issue 17: a date 23 hours ahead was kept and pinned its story at the top of the merged feed
// (ordered by first_published) for 23 hours.
TEST_CASE("a story dated in the future is placed when it was first seen") {
  using namespace backdating;
  TempFolder folder;
  const std::string a = "https://original.example/feed.xml";
  const config::Config config = make_test_config(folder, {a});
  const std::string path = config.storage.database;
  auto store = store::open_sqlite(path, store::OpenMode::read_write);
  REQUIRE(store.has_value());
  const std::int64_t ahead = report(**store, a, "a-1", kOriginal, kT0 + 23h, kT0);
  auto assigner = StoryAssigner::open(config, **store);
  REQUIRE_MESSAGE(assigner.has_value(), (assigner ? "" : assigner.error().message));
  CHECK(story_row(path, ahead).first_published == kT0);
}

}  // namespace
}  // namespace feedmerge::daemon
