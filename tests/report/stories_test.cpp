#include "feedmerge/report/stories.h"

#include <doctest/doctest.h>

#include <chrono>

namespace feedmerge::report {
namespace {

model::Time at(int hour) {
  return std::chrono::sys_days{std::chrono::year{2026} / 3 / 4} + std::chrono::hours{hour};
}

model::StoryMember member(std::int64_t id, int hour, std::string title, std::string relation) {
  model::StoryMember m;
  m.item_id = id;
  m.feed_url = "https://example.com/feed";
  m.item.title = std::move(title);
  m.item.link = "https://example.com/" + std::to_string(id);
  m.item.published = at(hour);
  m.key = m.item.link;
  m.relation = std::move(relation);
  return m;
}

// The store puts the representative first; the reports list members by publication time, the
// representative marked, and name an item without an id by its key.
TEST_CASE("stories list their members by publication time, the representative marked") {
  model::Story story;
  story.id = 7;
  story.first_published = at(9);
  story.first_seen = at(10);
  story.updated = at(11);
  story.members = {member(2, 10, "Later, shown", "original"), member(1, 9, "Earlier", "copy")};
  story.members[0].joined_by = {"founder", {}, 0};
  story.members[1].item.id = "guid-1";
  story.members[1].published_estimated = true;
  story.members[1].joined_by = {"link", 2, 0.83};
  const std::string text = stories_text({story});
  CHECK(text ==
        "story 7: Later, shown\n  https://example.com/2\n  first published 2026-03-04T09:00:00Z, "
        "updated 2026-03-04T11:00:00Z, 2 items\n"
        "    - 2026-03-04T09:00:00Z  Earlier  (copy; P 0.83 with \"Later, shown\")\n"
        "      https://example.com/1\n"
        "    * 2026-03-04T10:00:00Z  Later, shown  (original; founder)\n"
        "      https://example.com/2\n\n");
  CHECK(
      stories_json({story}) ==
      "{\"stories\":[{\"id\":\"7\",\"title\":\"Later, shown\",\"link\":\"https://example.com/2\","
      "\"first_seen\":\"2026-03-04T10:00:00Z\",\"updated\":\"2026-03-04T11:00:00Z\",\"items\":["
      "{\"feed\":\"https://example.com/feed\",\"id\":\"guid-1\",\"link\":\"https://example.com/1\","
      "\"title\":\"Earlier\",\"published\":null,\"joined_by\":{\"reason\":\"link\",\"item\":"
      "\"https://example.com/2\",\"feed\":\"https://example.com/feed\",\"title\":\"Later, "
      "shown\",\"p\":8.3E-1}},{\"feed\":\"https://example.com/feed\",\"id\":"
      "\"https://example.com/2\",\"link\":\"https://example.com/2\",\"title\":\"Later, shown\","
      "\"published\":\"2026-03-04T10:00:00Z\",\"joined_by\":{\"reason\":\"founder\"}}]}]}\n");
}

// Why a member is there, briefly in text: by hand, the same URL, or not known yet (stored
// before it was recorded); a matched item the story does not hold is not shown.
TEST_CASE("the text report says briefly why each member joined") {
  model::Story story;
  story.id = 8;
  story.members = {member(1, 9, "Shown", "original"), member(2, 10, "Same link", "same_url"),
                   member(3, 11, "Moved", "report"), member(4, 12, "Old", "report")};
  story.members[1].joined_by = {"same_url", 1, 1.0};
  story.members[2].joined_by = {"merged_by_hand", 99, 0.4};
  const std::string text = stories_text({story});
  CHECK(text.find("Same link  (same_url; same URL, P 1.00 with \"Shown\")") != std::string::npos);
  CHECK(text.find("Moved  (report; merged by hand)") != std::string::npos);
  CHECK(text.find("Old  (report; unknown)") != std::string::npos);
  const std::string json = stories_json({story});
  CHECK(json.find("\"joined_by\":{\"reason\":\"merged_by_hand\"}") != std::string::npos);
  CHECK(json.find("\"joined_by\":{\"reason\":\"unknown\"}") != std::string::npos);
}

}  // namespace
}  // namespace feedmerge::report
