// What /metrics says of the story assigner's settles (docs/scaling.md, "what an operator
// watches"): counted per process, under its owner label with several processes, unlabelled
// with one.
#include "feedmerge/publish/metrics.h"

#include <doctest/doctest.h>

#include <chrono>
#include <string>

namespace feedmerge::publish {
namespace {

using namespace std::chrono_literals;

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

TEST_CASE("/metrics counts the assigner's settles, their time and the members they moved") {
  // One process (SQLite) settles too: no owner label, and nothing of leases.
  Metrics single;
  CHECK(has_line(single.prometheus_text(), "feedmerge_story_settles_total 0"));
  single.record_settle(2s, 1);
  const std::string alone = single.prometheus_text();
  CHECK(has_line(alone, "feedmerge_story_settles_total 1"));
  CHECK(has_line(alone, "feedmerge_story_settle_moves_total 1"));
  CHECK(alone.find("feedmerge_lease_units") == std::string::npos);
  CHECK(alone.find("owner=") == std::string::npos);

  Metrics metrics;
  metrics.set_cluster("vm:12:ab", 3, true);
  const std::string before = metrics.prometheus_text();
  CHECK(has_line(before, "feedmerge_story_settles_total{owner=\"vm:12:ab\"} 0"));
  CHECK(has_line(before, "feedmerge_story_settle_last_seconds{owner=\"vm:12:ab\"} 0"));

  metrics.record_settle(1.5s, 3);
  metrics.record_settle(250ms, 0);
  const std::string text = metrics.prometheus_text();
  CHECK(has_line(text, "# TYPE feedmerge_story_settles_total counter"));
  CHECK(has_line(text, "feedmerge_story_settles_total{owner=\"vm:12:ab\"} 2"));
  CHECK(has_line(text, "feedmerge_story_settle_seconds_total{owner=\"vm:12:ab\"} 1.75"));
  CHECK(has_line(text, "feedmerge_story_settle_last_seconds{owner=\"vm:12:ab\"} 0.25"));
  CHECK(has_line(text, "feedmerge_story_settle_moves_total{owner=\"vm:12:ab\"} 3"));
}

}  // namespace
}  // namespace feedmerge::publish
