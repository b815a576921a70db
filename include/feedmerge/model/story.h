// The story model: one story as every stage after dedup sees it (the store returns it, the
// publisher renders it, the CLI reports it), and the outcome kind of one poll. Plain values,
// and the two lookups every reader of a membership's reason needs; thread-compatible like any
// value type.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "feedmerge/model/feed.h"

namespace feedmerge::model {

// What a poll came back with, as the scheduler's rules, the metrics and the logs count it.
enum class PollKind {
  fresh,         // 200 and a new body, parsed (or tried: see parse_error)
  unchanged,     // 200 with the same body hash as last time: not parsed
  not_modified,  // 304
  http_error,    // any other final status
  failed,        // network, too large, bad redirect, parse error, a failed write
};

// Why a member is in its story (dedup::JoinReason, as `stories --json` shows it): "founder",
// "link" (its likeliest pair inside the story: `item`, with P(same story) `p` to two decimals),
// "same_url" (that pair shares its link), "merged_by_hand" (`story merge`); "" not known yet.
// `item` is always a member of the same story.
struct JoinedBy {
  std::string reason;
  std::optional<std::int64_t> item;
  double p = 0;

  bool operator==(const JoinedBy&) const = default;
};

// One item of a story, with what an entry needs to name its outlet.
struct StoryMember {
  std::int64_t item_id = 0;
  std::int64_t feed_id = 0;
  std::string feed_url;    // as configured: the feed's identity
  std::string feed_title;  // the feed's own title, from its last document
  std::string feed_link;   // the feed's home page
  Item item;               // item.published is always set (the store's rule)
  Time first_seen{};
  std::string key;  // the item's identity within its feed: its id, else its link, else a hash
  bool published_estimated = false;  // item.published is when it was first stored
  std::string relation;              // to the story (dedup::Relation's name): "original", ...
  JoinedBy joined_by;

  bool operator==(const StoryMember&) const = default;
};

struct Story {
  std::int64_t id = 0;
  Time first_published{};  // the earliest publication of its members: the entry's time
  Time first_seen{};
  Time updated{};  // when a member last joined or changed
  // The representative first (the stored representative, else the earliest member), then
  // the others by publication time.
  std::vector<StoryMember> members;

  bool operator==(const Story&) const = default;
};

// The reason as shown to people and other tools: "unknown" until it is known.
inline std::string_view shown_reason(const JoinedBy& joined) {
  return joined.reason.empty() ? std::string_view("unknown") : std::string_view(joined.reason);
}

// The member `member` is in its story by (its matched item), when the story holds it.
inline const StoryMember* matched_member(const Story& story, const StoryMember& member) {
  if (!member.joined_by.item) return nullptr;
  for (const StoryMember& other : story.members) {
    if (other.item_id == *member.joined_by.item) return &other;
  }
  return nullptr;
}

}  // namespace feedmerge::model
