// Stories as the command line shows and corrects them: `stories`, `why`, `story merge`,
// `story split`. Each call opens its own connection to the config's database (readers run
// alongside the daemon thanks to WAL); the daemon notices overrides and rebuilds its index.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "feedmerge/config/config.h"
#include "feedmerge/error.h"
#include "feedmerge/model/feed.h"
#include "feedmerge/store/stories.h"

namespace feedmerge::daemon {

// Stories updated at or after `since` (all when nullopt), most recently updated first.
Result<std::vector<store::StoryRecord>> list_stories(const config::Config& config,
                                                     std::optional<model::Time> since);

// `stories --json`: {"stories": [{"id": "12", "title", "link", "first_seen", "updated",
// "items": [{"feed", "id", "link", "title", "published"}]}]}; times RFC 3339 UTC, published
// null when the feed gave no date. One line, then a newline. Other tools read it: keep it.
std::string stories_json(const std::vector<store::StoryRecord>& stories);
// `stories`: one block per story, for people.
std::string stories_text(const std::vector<store::StoryRecord>& stories);

// `why LINK_A LINK_B`: the signals between two stored items, the score, and their stories.
Result<std::string> explain_pair(const config::Config& config, const std::string& link_a,
                                 const std::string& link_b);

Result<void> merge_stories(const config::Config& config, std::int64_t into, std::int64_t from);
// Returns the new story's id.
Result<std::int64_t> split_story(const config::Config& config, const std::string& link);

}  // namespace feedmerge::daemon
