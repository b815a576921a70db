// The story index: which story a new item belongs to. Incremental and bounded: it holds the
// stories whose members were published inside a window around the newest item it has seen,
// finds candidates through an inverted index over entities and terms, and scores them with
// explainable signals (same URL, near-duplicate text, translation, same event).
// A link is an identity only when it names an article (is_article_url) and no two items of
// one feed with different titles share it; two items of one feed join only as the same
// article (same link or id), never on their text: a feed's series and templates stay apart.
// Owner: one thread (the daemon's store writer); not thread-safe. No I/O: the caller rebuilds
// it from the store (add) and persists what decide() chose.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "feedmerge/dedup/features.h"
#include "feedmerge/model/feed.h"

namespace feedmerge::dedup {

using model::Time;

// How far a member's claimed date may reach before the story's first sighting and still make
// it the representative, and how close to that sighting a member counts as seen with it (one
// batch, a first poll of many feeds).
inline constexpr std::chrono::seconds kBackdateTolerance = std::chrono::hours{1};
inline constexpr std::chrono::seconds kSeenTogether = std::chrono::minutes{10};

struct DedupOptions {
  std::chrono::seconds window = std::chrono::hours{72};
  // Minimum score (0..1) for an item to join a story; 0.5 is tuned for tech news.
  double threshold = 0.5;
  std::vector<std::string> preferred;  // hosts preferred as representative
};

// How an item came into its story.
enum class Relation : std::uint8_t {
  original,     // it started the story
  same_url,     // same canonical URL or item id as a member
  copy,         // near-duplicate text of a member (republished, lightly edited)
  translation,  // another language, same names in the same order as a member
  report,       // the same event, written independently
  manual,       // a person put it there (`story merge`, `story split`)
};
std::string_view to_string(Relation relation);
Relation relation_from_string(std::string_view text);  // unknown text: report

// One item as the index sees it.
struct Candidate {
  std::int64_t item_id = 0;
  std::int64_t feed_id = 0;
  bool merge = true;  // false: joins only stories of its own feed, and nobody joins its stories
  Time published{};
  // When the item was first stored (the epoch when unknown): a date is only what the feed
  // claims, first_seen is what we saw.
  Time first_seen{};
  std::string guid;           // the item's id as the feed gave it
  std::string canonical_url;  // canonical_url(link)
  // Hash of the item's title (case-folded; 0: unknown): tells the items of one feed that
  // share a link apart from one article seen twice (see StoryIndex).
  std::uint64_t title_key = 0;
  std::string host;  // url_host(link)
  Features features;
};

// The signals between two items, each 0..1 unless said otherwise.
struct Signals {
  bool same_url = false;    // canonical URL or item id, when it names one article
  bool same_feed = false;   // both items from one feed: only the same article joins them
  double copy = 0;          // estimated Jaccard similarity of word 3-shingles
  double terms = 0;         // TF-IDF cosine of terms
  double entities = 0;      // IDF-weighted cosine of names and numbers
  double entity_order = 0;  // Jaccard of consecutive entity pairs (translations keep order)
  bool cross_language = false;
  double hours_apart = 0;
  double score = 0;  // what the threshold applies to
  Relation relation = Relation::report;

  bool operator==(const Signals&) const = default;
};

// Human-readable lines: "same url: no", "copy (shingle Jaccard): 0.12", ...
std::string explain(const Signals& signals, double threshold);

struct Decision {
  std::optional<std::int64_t> story;  // nullopt: a new story
  std::int64_t matched_item = 0;      // the member that matched best
  Signals signals;                    // against that member
  double story_score = 0;             // against the story as a whole
};

class StoryIndex {
 public:
  explicit StoryIndex(DedupOptions options);
  ~StoryIndex();
  StoryIndex(const StoryIndex&) = delete;
  StoryIndex& operator=(const StoryIndex&) = delete;

  const DedupOptions& options() const;

  // The story `item` belongs to among those in the index, or none. Counts `item` in the term
  // statistics only when it is added.
  Decision decide(const Candidate& item);
  // Counts `item` in the term statistics ahead of add(): a batch that arrives together (one
  // poll) then weighs its words against itself too.
  void count(const Candidate& item);
  // Records `item` as a member of `story` (a new or known id). Pass an rvalue when the
  // caller is done with it: the index keeps it as it is.
  void add(Candidate item, std::int64_t story, Relation relation);
  // The signals between two items, with the index's term statistics.
  Signals compare(const Candidate& a, const Candidate& b);

  // The member whose title and link the story shows: the earliest member that is neither a
  // copy nor a translation; ties, and stories made only of copies, go to a preferred host.
  // A member seen more than kSeenTogether after the story was first seen that claims a date
  // more than kBackdateTolerance before that first sighting counts as published when it was
  // seen: a copier cannot take a story over by backdating (dates are evidence, not authority).
  std::optional<std::int64_t> representative(std::int64_t story) const;

  // Drops stories whose newest member is more than two windows older than the newest item
  // seen: an item is compared with stories published within one window of it, and items
  // arrive somewhat out of order. Returns how many stories went.
  std::size_t evict();
  // Items published at or after this time find every story they could join in the index;
  // older ones need the caller to add() the stories around them first (see lower_floor).
  Time covered_from() const;
  void lower_floor(Time floor);  // the caller loaded every story with a member since `floor`
  void raise_floor(Time floor);  // at start-up: nothing before `floor` was loaded
  bool contains_item(std::int64_t item_id) const;
  void remove_story(std::int64_t story);

  std::size_t story_count() const;
  std::size_t item_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace feedmerge::dedup

namespace feedmerge::dedup {

// The Candidate for an item: features of its title and summary (its content when the summary
// is short), its canonical URL and host. `published` is the time the window measures: the
// feed's publication date, else its update date, else when the item was first stored.
Candidate make_candidate(const model::Item& item, std::int64_t item_id, std::int64_t feed_id,
                         bool merge, Time published);

}  // namespace feedmerge::dedup
