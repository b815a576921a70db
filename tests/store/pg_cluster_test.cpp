// Several processes on one PostgreSQL database (store/cluster.h): lease rounds share the units
// fairly and hand a dead process's units over once its lease has run out; one story assigner
// at a time, its lock gone with its connection; story batches fenced by the assigner's term.
// A lease running out is simulated by setting its expiry in the past, not by waiting.
#include <doctest/doctest.h>
#include <pqxx/pqxx>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "feedmerge/store/cluster.h"
#include "feedmerge/store/store.h"
#include "store/test_backends.h"

namespace {

using feedmerge::store::Cluster;
using feedmerge::store::open_cluster;
using feedmerge::store::open_store;
using feedmerge::test::PgBackend;
using namespace std::chrono_literals;

std::unique_ptr<Cluster> cluster(const PgBackend& backend, const std::string& owner) {
  auto opened = open_cluster(backend.location(), owner, 60s);
  REQUIRE(opened.has_value());
  return std::move(*opened);
}

std::vector<std::string> held(Cluster& cluster, const std::vector<std::string>& units) {
  auto round = cluster.hold(units);
  REQUIRE(round.has_value());
  std::sort(round->held.begin(), round->held.end());
  return round->held;
}

// The first column of the first row of `sql`, as text.
std::string query(const PgBackend& backend, const std::string& sql) {
  pqxx::connection connection(backend.location());
  pqxx::nontransaction work(connection);
  return work.exec1(sql)[0].as<std::string>();
}

// A closed connection's session ends on the server a moment later: until then it holds its
// locks. Waits (up to 10 s) until no session holds the assigner lock.
void await_assigner_lock_released(const PgBackend& backend) {
  for (int i = 0; i < 1000; ++i) {
    if (query(backend, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 3") ==
        "0")
      return;
    std::this_thread::sleep_for(10ms);
  }
  FAIL("the assigner lock was not released within 10 s");
}

const std::vector<std::string> kUnits = {"h1", "h2", "h3", "h4", "h5", "h6"};

}  // namespace

TEST_CASE("two pollers share the hosts fairly; a dead one's go to the other after its lease") {
  PgBackend backend;
  REQUIRE(open_store(backend.location()).has_value());
  auto a = cluster(backend, "a");
  auto b = cluster(backend, "b");
  CHECK(held(*a, kUnits).size() == 6);  // alone: every host
  CHECK(held(*b, kUnits).empty());      // every host is a's until a's next round
  CHECK(held(*a, kUnits).size() == 3);  // a frees what is beyond its share
  const auto of_b = held(*b, kUnits);
  const auto of_a = held(*a, kUnits);
  CHECK(of_b.size() == 3);
  CHECK(of_a.size() == 3);
  std::vector<std::string> both;
  std::set_union(of_a.begin(), of_a.end(), of_b.begin(), of_b.end(), std::back_inserter(both));
  CHECK(both == kUnits);

  // a stops renewing (dead, or stalled past its lease).
  backend.exec(
      "UPDATE leases SET expires_at = clock_timestamp() - interval '1 second' WHERE owner = 'a'");
  backend.exec(
      "UPDATE pollers SET expires_at = clock_timestamp() - interval '1 second' WHERE owner = 'a'");
  CHECK(held(*b, kUnits) == kUnits);
  // A stalled a that comes back holds nothing it lost, and gets its share back from b later.
  CHECK(held(*a, kUnits).empty());
  CHECK(held(*b, kUnits).size() == 3);
  CHECK(held(*a, kUnits).size() == 3);
}

TEST_CASE("a poller frees the hosts it no longer polls, and all of them when it leaves") {
  PgBackend backend;
  REQUIRE(open_store(backend.location()).has_value());
  auto a = cluster(backend, "a");
  auto b = cluster(backend, "b");
  CHECK(held(*a, kUnits).size() == 6);
  CHECK(held(*a, {"h1", "h2"}) == std::vector<std::string>{"h1", "h2"});
  a->leave();
  CHECK(held(*b, kUnits) == kUnits);
  auto view = feedmerge::store::read_cluster(backend.location());
  REQUIRE(view.has_value());
  REQUIRE(view->leases.size() == 6);
  CHECK(std::all_of(view->leases.begin(), view->leases.end(),
                    [](const auto& lease) { return lease.owner == "b"; }));
}

TEST_CASE("one story assigner at a time; its lock goes when its connection does") {
  PgBackend backend;
  REQUIRE(open_store(backend.location()).has_value());
  auto a = cluster(backend, "a");
  auto b = cluster(backend, "b");
  auto first = a->assigner_term();
  REQUIRE(first.has_value());
  REQUIRE(first->has_value());
  auto none = b->assigner_term();
  REQUIRE(none.has_value());
  CHECK_FALSE(none->has_value());
  auto again = a->assigner_term();
  REQUIRE(again.has_value());
  CHECK(*again == *first);  // still held: the same term
  auto view = feedmerge::store::read_cluster(backend.location());
  REQUIRE(view.has_value());
  CHECK(view->assigner == "a");

  a.reset();  // the process dies: the server ends its session and releases the lock
  await_assigner_lock_released(backend);
  auto second = b->assigner_term();
  REQUIRE(second.has_value());
  REQUIRE(second->has_value());
  CHECK(**second > **first);
}

TEST_CASE("story batches are written only under the live assigner's term") {
  PgBackend backend;
  auto store = open_store(backend.location());
  REQUIRE(store.has_value());
  auto a = cluster(backend, "a");
  auto term = a->assigner_term();
  REQUIRE(term.has_value());
  REQUIRE(term->has_value());
  auto nothing = [](feedmerge::store::StoryWriter&) -> feedmerge::Result<void> { return {}; };

  (*store)->fence_story_writes(**term);
  CHECK((*store)->write_stories(nothing).has_value());
  CHECK(query(backend, "SELECT batches FROM assigner_terms") == "1");

  a.reset();  // the lock went with a's session: a batch now would race a successor's
  await_assigner_lock_released(backend);
  auto refused = (*store)->write_stories(nothing);
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().message.find("no longer the story assigner") != std::string::npos);

  (*store)->fence_story_writes(std::nullopt);  // one process: no fence
  CHECK((*store)->write_stories(nothing).has_value());
}

TEST_CASE("what an assigner placed and did not settle is still known to its successor") {
  PgBackend backend;
  auto store = open_store(backend.location());
  REQUIRE(store.has_value());
  using feedmerge::model::Time;
  const Time t0 = std::chrono::sys_days{std::chrono::year{2021} / 4 / 13};
  auto note = [&](std::optional<Time> from) {
    return (*store)->write_stories(
        [&](feedmerge::store::StoryWriter& writer) -> feedmerge::Result<void> {
          writer.note_unsettled(from);
          return {};
        });
  };
  auto unsettled = [&] {
    auto from = (*store)->unsettled_from();
    REQUIRE(from.has_value());
    return *from;
  };
  CHECK(unsettled() == std::nullopt);

  auto a = cluster(backend, "a");
  auto term = a->assigner_term();
  REQUIRE(term.has_value());
  REQUIRE(term->has_value());
  (*store)->fence_story_writes(**term);
  REQUIRE(note(t0 + 48h).has_value());
  REQUIRE(note(t0).has_value());  // a backfill: the oldest one counts
  REQUIRE(note(t0 + 72h).has_value());
  CHECK(unsettled() == t0);

  // a dies; b's term begins and still sees what a left, until b settles.
  a.reset();
  await_assigner_lock_released(backend);
  auto b = cluster(backend, "b");
  auto next = b->assigner_term();
  REQUIRE(next.has_value());
  REQUIRE(next->has_value());
  CHECK(**next != **term);
  (*store)->fence_story_writes(**next);
  CHECK(unsettled() == t0);
  REQUIRE(note(t0 + 96h).has_value());
  CHECK(unsettled() == t0);
  REQUIRE(note(std::nullopt).has_value());
  CHECK(unsettled() == std::nullopt);
}

TEST_CASE("a story batch, once committed, is announced to every listening process") {
  PgBackend backend;
  auto store = open_store(backend.location());
  REQUIRE(store.has_value());
  auto listener = cluster(backend, "listener");
  auto quiet = listener->await_story_change(0ms);  // starts listening
  REQUIRE(quiet.has_value());
  CHECK_FALSE(*quiet);
  auto nothing = [](feedmerge::store::StoryWriter&) -> feedmerge::Result<void> { return {}; };
  REQUIRE((*store)->write_stories(nothing).has_value());
  bool heard = false;
  for (int slice = 0; slice < 100 && !heard; ++slice) {  // up to 10 s, returning on arrival
    auto changed = listener->await_story_change(100ms);
    REQUIRE(changed.has_value());
    heard = *changed;
  }
  CHECK(heard);
  // A batch rolled back announces nothing.
  auto failing = [](feedmerge::store::StoryWriter&) -> feedmerge::Result<void> {
    return feedmerge::Error{feedmerge::ErrorKind::database, "no"};
  };
  REQUIRE_FALSE((*store)->write_stories(failing).has_value());
  auto after = listener->await_story_change(200ms);
  REQUIRE(after.has_value());
  CHECK_FALSE(*after);
}
