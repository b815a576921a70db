// The story index: which items report the same news. Incremental and bounded: it holds the
// items published inside a window around the newest one it has seen, links each new item to
// the items around it (found through an inverted index over names, terms and links) with the
// probability that the two report one story (a logistic model over explainable signals,
// fitted on labelled corpora: see bench/dedup_fit.py), and clusters again, after each batch,
// every group of stories the new items touch: average linkage, so that a report joins a story
// by its likeness to the story as a whole, not to its nearest member (sagas do not chain), and
// the stories are a function of the items, not of the order in which they came.
// A link is an identity only when it names an article (is_article_url) and no two items of
// one feed with different titles share it; two items of one feed join only as the same
// article (same link, or the same title and text), never on their words: a feed's series and
// templates stay apart.
// Owner: one thread (the daemon's store writer); not thread-safe. No I/O: the caller rebuilds
// it from the store (add) and persists what insert() decided.
#pragma once

#include <array>
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

// The pair model: P(same story) = 1 / (1 + exp(-(bias + sum of weight_i * feature_i))) over
// the features below, between two items of different feeds no more than a window apart.
// Weights are fitted by bench/dedup_fit.py on the labelled corpora of tests/data/dedup and
// compiled in (default_pair_model); the fit is validated across corpora (fit on two, score
// the third), never tuned by hand.
enum PairFeature : std::uint8_t {
  kDaysApart,      // |dt| in days, capped at 3; copies and translations count it less
  kCrossLanguage,  // 1 when the two languages are known and differ
  kTerms,          // TF-IDF cosine of content terms (titles weigh twice)
  kCrossTerms,     // cross-language x terms: across languages fewer words meet
  kNames,          // IDF-weighted Jaccard of names and numbers
  kCrossNames,     // cross-language x names
  kNameOrder,      // longest common subsequence of the names in text order / the shorter
  kCopy,           // Jaccard of word 3-shingles (MinHash estimate)
  kFewNames,       // 1 when either item has at most one name
  kTitleTerms,     // TF-IDF cosine of the headlines' terms
  kCrossTitle,     // cross-language x headline terms
  kTitleCover,     // the smaller share (IDF) of one headline's terms found in the other item
  kTitleNames,     // IDF-weighted Jaccard of the headlines' names
  kNumbers,        // IDF-weighted Jaccard of the numbers two items give x their rarity
  kOtherNumbers,   // 1 when both give numbers and share none (another development)
  kPairFeatureCount
};
std::string_view pair_feature_name(std::size_t feature);

struct PairModel {
  double bias = 0;
  std::array<double, kPairFeatureCount> weights{};
  // Average linkage joins two stories while the mean probability over their pairs is at
  // least this (DedupOptions::threshold overrides it when set).
  double threshold = 0.5;
  // In that mean, what a pair of one feed's items that are not one article counts as:
  // 0 not at all, 1 one pair with P 0 (more: several). Chosen with the threshold.
  double same_feed = 0;
};
const PairModel& default_pair_model();
// A model from "name value" lines ("bias -6.4", "terms 18.7", "threshold 0.4"; # comments),
// as bench/dedup_fit.py writes them. Throws std::runtime_error naming the line.
PairModel parse_pair_model(std::string_view text);

struct DedupOptions {
  std::chrono::seconds window = std::chrono::hours{72};
  // Average-linkage threshold on P(same story), 0..1; unset: the fitted model's.
  std::optional<double> threshold;
  std::vector<std::string> preferred;  // hosts preferred as representative
  std::optional<PairModel> model;      // unset: default_pair_model()
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

// Why a member is in its story now (`stories --json`'s joined_by), beside how it came in.
enum class JoinReason : std::uint8_t {
  none,      // not known (stored before it was recorded)
  founder,   // it started the story: its first original in tie order, else its first member
  link,      // its likeliest pair inside the story (matched item, P)
  same_url,  // that pair shares its canonical URL or item id
  by_hand,   // a person's `story merge` put it there
};
// "", "founder", "link", "same_url", "merged_by_hand" (the store's and JSON's names).
std::string_view to_string(JoinReason reason);
JoinReason join_reason_from_string(std::string_view text);  // unknown text: none

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
  // The headline's own terms and names (ids as in `features`): two developments of one saga
  // share their bodies' names and words, rarely their headlines.
  std::vector<Term> title_terms;
  std::vector<std::uint32_t> title_entities;
};

// The signals between two items, each 0..1 unless said otherwise.
struct Signals {
  bool same_url = false;    // canonical URL or item id, when it names one article
  bool same_feed = false;   // both items from one feed: only the same article joins them
  double copy = 0;          // estimated Jaccard similarity of word 3-shingles
  double terms = 0;         // TF-IDF cosine of terms
  double entities = 0;      // IDF-weighted Jaccard of names and numbers
  double entity_order = 0;  // names in the same order (translations keep it)
  bool cross_language = false;
  double hours_apart = 0;
  std::array<double, kPairFeatureCount> features{};  // what the model read
  double score = 0;                                  // P(same story)
  Relation relation = Relation::report;

  bool operator==(const Signals&) const = default;
};

// Human-readable lines: each signal, its weight in the model and what it added, then P.
std::string explain(const Signals& signals, const PairModel& model, double threshold);

// What insert() decided for one item: new items, and items an insert moved to another story.
struct Placement {
  std::int64_t item_id = 0;
  std::int64_t story = 0;
  Relation relation = Relation::original;
  // The member of its story it is most likely one story with (0: none, and always none for a
  // founder), and that pair's P(same story). The store keeps P to two decimals.
  std::int64_t matched_item = 0;
  double probability = 0;
  JoinReason reason = JoinReason::none;
};
struct InsertResult {
  std::vector<Placement> placed;
  std::vector<std::int64_t> created;  // new story ids, ascending
  // Existing stories that gained or lost members (their representative and first date may
  // have changed).
  std::vector<std::int64_t> changed;
  // Stories whose members all went into another story: (merged story, the story it went into).
  // The merged id is not used again.
  std::vector<std::pair<std::int64_t, std::int64_t>> merged;
  // Members that stayed in their story but whose reason changed: their matched item left or
  // a likelier one came, or its P moved by 0.01 or more (the pairs scored again). Their story
  // is not `changed` for that: its stored representative follows when its members next change.
  std::vector<Placement> relinked;
};

class StoryIndex {
 public:
  explicit StoryIndex(DedupOptions options);
  ~StoryIndex();
  StoryIndex(const StoryIndex&) = delete;
  StoryIndex& operator=(const StoryIndex&) = delete;

  const DedupOptions& options() const;
  const PairModel& model() const;
  double threshold() const;

  // Counts `item` in the term statistics ahead of insert(): a batch that arrives together
  // (one poll) then weighs its words against itself too.
  void count(const Candidate& item);
  // Adds `items` (not yet in the index), links them to the items around them and clusters
  // every group of stories they touch again from scratch. New stories are numbered from
  // `next_story` on, which advances. Pass the items of one batch in any order: the result
  // does not depend on it.
  InsertResult insert(std::vector<Candidate> items, std::int64_t& next_story);
  // Records `item` as a member of `story` (a new or known id), as the store has it: the
  // index rebuilt at start-up. Links it to the items around it without clustering. `why`:
  // its stored reason, matched item and P (story and relation unused).
  void add(Candidate item, std::int64_t story, Relation relation, const Placement& why = {});
  // The signals between two items, with the index's term statistics.
  Signals compare(const Candidate& a, const Candidate& b);
  // Whether the items counted so far mostly write `capital` as a name (in at least two items,
  // and in at least half of those that use the word): a Title Case headline's capital then
  // counts as a name, in compare() and when items are linked.
  bool written_as_name(const TitleCapital& capital) const;

  // The member whose title and link the story shows: the earliest member that is neither a
  // copy nor a translation; ties, and stories made only of copies, go to a preferred host,
  // then to the most central member (the largest sum of P, in hundredths, over the links the
  // store keeps: its own matched pair and those of the members matched with it), then to the
  // tie order (what the items are, never ids).
  // A member seen more than kSeenTogether after the story was first seen that claims a date
  // more than kBackdateTolerance before that first sighting counts as published when it was
  // seen: a copier cannot take a story over by backdating (dates are evidence, not authority).
  std::optional<std::int64_t> representative(std::int64_t story) const;
  // The earliest publication among a story's members in the index.
  std::optional<Time> first_published(std::int64_t story) const;
  // The story an item is in (nullopt: not in the index).
  std::optional<std::int64_t> story_of(std::int64_t item_id) const;

  // Drops stories whose newest member is more than two windows older than the newest item
  // seen: an item is compared with items published within one window of it, and items
  // arrive somewhat out of order. Returns how many stories went.
  std::size_t evict();
  // Items published at or after this time find every item they could join in the index;
  // older ones need the caller to add() the stories around them first (see lower_floor).
  Time covered_from() const;
  void lower_floor(Time floor);  // the caller loaded every story with a member since `floor`
  void raise_floor(Time floor);  // at start-up: nothing before `floor` was loaded
  bool contains_item(std::int64_t item_id) const;
  void remove_story(std::int64_t story);

  std::size_t story_count() const;
  std::size_t item_count() const;
  std::size_t edge_count() const;  // pairs kept (P above a floor), for memory figures

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
