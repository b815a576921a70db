// Stories as the command line shows and corrects them: `stories`, `why`, `story merge`,
// `story split`, over a store::Store the caller opened (read_only for the reports, read_write
// for the overrides; the daemon notices overrides and rebuilds its index).
// Thread-compatible: no shared state.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "feedmerge/config/config.h"
#include "feedmerge/error.h"
#include "feedmerge/model/story.h"
#include "feedmerge/store/store.h"

namespace feedmerge::report {

// The SQLite database at `database`; nullptr when there is none yet (the daemon creates it).
Result<std::unique_ptr<store::Store>> open_if_present(const std::string& database,
                                                      store::OpenMode mode);

// Stories updated at or after `since` (all when nullopt), most recently updated first; none
// without a database.
Result<std::vector<model::Story>> list_stories(const std::string& database,
                                               std::optional<model::Time> since);

// `stories --json`: {"stories": [{"id": "12", "title", "link", "first_seen", "updated",
// "items": [{"feed", "id", "link", "title", "published", "joined_by"}]}]}; items by
// publication time, an item's id its key when the feed gave none; times RFC 3339 UTC,
// published null when the feed gave no date. joined_by: {"reason": "founder" | "link" |
// "same_url" | "merged_by_hand" | "unknown"}, with "item", "feed", "title" (its matched
// member's, as in items) and "p" (their P(same story), two decimals) when a link says why
// (README, "Stories"). One line, then a newline. Other tools read it: keep it.
std::string stories_json(const std::vector<model::Story>& stories);
// `stories`: one block per story, for people.
std::string stories_text(const std::vector<model::Story>& stories);

// `why LINK_A LINK_B`: the signals between two stored items, the score, and their stories.
Result<std::string> explain_pair(const config::Config& config, store::Store& store,
                                 const std::string& link_a, const std::string& link_b);

Result<void> merge_stories(store::Store& store, std::int64_t into, std::int64_t from,
                           model::Time now);
// The item stored with `link` leaves its story; returns the new story's id.
Result<std::int64_t> split_story(store::Store& store, const std::string& link, model::Time now);

}  // namespace feedmerge::report
