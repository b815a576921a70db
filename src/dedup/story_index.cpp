#include "feedmerge/dedup/story_index.h"

#include <xxhash.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <limits>
#include <queue>
#include <sstream>
#include <stdexcept>
#include <tuple>
#include <unordered_map>

#include <boost/unordered/unordered_flat_map.hpp>
#include <boost/unordered/unordered_flat_set.hpp>

#include "feedmerge/dedup/canonical_url.h"

namespace feedmerge::dedup {
namespace {

// Document frequencies in a fixed table of hashed counters: memory does not grow with the
// vocabulary, and halving every counter now and then lets old news fade.
class TermStatistics {
 public:
  static constexpr std::size_t kBuckets = std::size_t{1} << 18;
  static constexpr double kHalveAt = 200'000;
  static constexpr double kIdfFloor = 1.0;

  TermStatistics() : counts_(kBuckets, 0) {}

  void add(const Features& features) {
    std::uint32_t last = 0;
    bool first = true;
    auto count = [&](std::uint32_t id) {
      if (!first && id == last) return;
      ++counts_[id & (kBuckets - 1)];
      last = id;
      first = false;
    };
    for (const Term& term : features.terms)
      count(term.id);
    first = true;
    for (std::uint32_t id : features.entities)
      count(id ^ kEntitySalt);
    docs_ += 1;
    if (docs_ >= kHalveAt) {
      for (auto& c : counts_)
        c /= 2;
      docs_ /= 2;
    }
  }
  double idf(std::uint32_t id) const {
    return std::log((docs_ + 1.0) / (counts_[id & (kBuckets - 1)] + 1.0)) + kIdfFloor;
  }
  double entity_idf(std::uint32_t id) const { return idf(id ^ kEntitySalt); }
  std::uint32_t entity_df(std::uint32_t id) const { return df(id ^ kEntitySalt); }
  // The IDF of a word no document has: the rarest possible.
  double max_idf() const { return std::log(docs_ + 1.0) + kIdfFloor; }
  double docs() const { return docs_; }
  std::uint32_t df(std::uint32_t id) const { return counts_[id & (kBuckets - 1)]; }

 private:
  static constexpr std::uint32_t kEntitySalt = 0x5bd1e995u;
  std::vector<std::uint32_t> counts_;
  double docs_ = 0;
};

// How many items must write a word as a name before a Title Case headline's capital counts as
// one (see promote()).
constexpr std::uint32_t kLexiconDocs = 2;

// Longest common subsequence of two entity sequences over the shorter one: a translation
// names the same people, firms and figures in the same order as its source.
double sequence_overlap(const std::vector<std::uint32_t>& a, const std::vector<std::uint32_t>& b) {
  constexpr std::size_t kMax = 64;
  const std::size_t n = std::min(a.size(), kMax);
  const std::size_t m = std::min(b.size(), kMax);
  if (std::min(n, m) < 4) return 0;
  std::array<std::uint8_t, kMax + 1> previous{};
  std::array<std::uint8_t, kMax + 1> current{};
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      current[j] = a[i - 1] == b[j - 1] ? static_cast<std::uint8_t>(previous[j - 1] + 1)
                                        : std::max(previous[j], current[j - 1]);
    }
    previous = current;
  }
  return static_cast<double>(previous[m]) / static_cast<double>(std::min(n, m));
}

double sketch_similarity(const Features& a, const Features& b) {
  // Too few shingles say nothing about copying.
  if (a.shingles < 8 || b.shingles < 8) return 0;
  // Slots empty in both do not count; equal slots count unless empty. Bitwise, not logical,
  // operators: without their short-circuit branches GCC vectorises the loop.
  int both = 0;
  int equal = 0;
  for (std::size_t i = 0; i < kSketchSize; ++i) {
    const std::uint16_t x = a.sketch[i];
    const std::uint16_t y = b.sketch[i];
    const int x_full = x != kEmptySlot;
    both += x_full | static_cast<int>(y != kEmptySlot);
    equal += static_cast<int>(x == y) & x_full;
  }
  return both == 0 ? 0 : static_cast<double>(equal) / both;
}

double tf(float weight) {
  // Weights are mostly small whole numbers (counts, titles twice): their values from a table.
  static const std::array<double, 65> kSmall = [] {
    std::array<double, 65> table{};
    for (std::size_t k = 1; k < table.size(); ++k)
      table[k] = 1.0 + std::log(static_cast<double>(k));
    return table;
  }();
  const auto whole = static_cast<std::size_t>(weight);
  if (whole >= 1 && whole < kSmall.size() && static_cast<float>(whole) == weight)
    return kSmall[whole];
  return 1.0 + std::log(static_cast<double>(weight));
}

// TF-IDF dot product of two sorted term lists, given the first one's TF-IDF weights and IDFs
// (parallel to it): a shared term's IDF is the same on both sides, so the second list needs
// only its term frequencies. Branch-free merge: which side moves on is data, not a branch (the
// ids of two texts interleave unpredictably).
double sparse_dot(const std::vector<Term>& ids_a, const std::vector<float>& weight_a,
                  const std::vector<float>& idf_a, const std::vector<Term>& ids_b) {
  double dot = 0;
  const std::size_t n = ids_a.size();
  const std::size_t m = ids_b.size();
  for (std::size_t i = 0, j = 0; i < n && j < m;) {
    const std::uint32_t x = ids_a[i].id;
    const std::uint32_t y = ids_b[j].id;
    if (x == y) dot += static_cast<double>(weight_a[i]) * idf_a[i] * tf(ids_b[j].weight);
    i += x <= y;
    j += y <= x;
  }
  return dot;
}

// IDF-weighted Jaccard of two sorted id lists, given the first one's IDFs (parallel) and each
// list's sum of IDFs.
double weighted_jaccard(const std::vector<std::uint32_t>& ids_a, const std::vector<float>& idf_a,
                        double sum_a, const std::vector<std::uint32_t>& ids_b, double sum_b) {
  double shared = 0;
  for (std::size_t i = 0, j = 0; i < ids_a.size() && j < ids_b.size();) {
    if (ids_a[i] == ids_b[j]) {
      shared += idf_a[i];
      ++i;
      ++j;
    } else if (ids_a[i] < ids_b[j]) {
      ++i;
    } else {
      ++j;
    }
  }
  const double all = sum_a + sum_b - shared;
  return all > 0 ? std::min(1.0, shared / all) : 0;
}

// What comparisons need of every window item, computed once per item (not per comparison):
// the norms and IDF sums of its terms, names, headline terms and headline names under the
// statistics of `norm_docs` documents, refreshed as the statistics drift. The per-term
// figures are the new item's alone (Probe): a pair's shared terms have one IDF, so a window
// item keeps scalars, not a float per term (a first poll holds tens of thousands of them).
struct Weights {
  double term_norm = 0;
  double entity_sum = 0;  // of the entities' IDF (the Jaccard's denominator)
  double norm_docs = -1;
  double title_norm = 0;
  double title_idf_sum = 0;
  double title_entity_sum = 0;
  double number_sum = 0;  // of the numbers' IDF
  // Hashes of the canonical URL and of the id (0: none, or too short to mean anything). A
  // member keeps these instead of the strings: a first poll puts tens of thousands of items
  // into the index.
  std::uint64_t url_key = 0;
  std::uint64_t guid_key = 0;
};

// The item being linked (or the first of a pair explained): each term's TF-IDF weight and
// IDF, each name's IDF, the same for its headline, parallel to the candidate's lists, under
// the current statistics.
struct Probe {
  std::vector<float> terms;
  std::vector<float> term_idf;
  std::vector<float> entities;
  std::vector<float> title_terms;
  std::vector<float> title_idf;
  std::vector<float> title_entities;
};

std::uint64_t link_key(std::string_view text) {
  return text.empty() ? 0 : XXH3_64bits(text.data(), text.size()) | 1;
}

void set_link_keys(const Candidate& item, Weights& w) {
  w.url_key = link_key(item.canonical_url);
  w.guid_key = item.guid.size() >= 8 ? link_key(item.guid) : 0;
}

// A feed's link and that feed's items which carry it (see Impl::link_is_identity).
std::uint64_t feed_link_key(std::int64_t feed_id, std::uint64_t url_key) {
  return url_key == 0 ? 0 : url_key ^ (static_cast<std::uint64_t>(feed_id) * 0x9E3779B97F4A7C15ULL);
}
struct LinkUse {
  std::uint64_t title_key = 0;  // the first item's
  std::uint32_t items = 0;      // in the index
  bool shared = false;          // by items with different titles: not an article's identity
};

// Item id -> summed key weight for one new item: open addressing, emptied in O(1) by a new
// stamp, entries also kept in insertion order for ranking. Up to a few thousand additions per
// item; a node-based map allocated and hashed for each.
class MassTable {
 public:
  void clear() {
    entries_.clear();
    if (++stamp_ == 0) {
      for (Slot& slot : slots_)
        slot.stamp = 0;
      stamp_ = 1;
    }
  }
  void add(std::int64_t story, double weight) {
    if ((entries_.size() + 1) * 2 > slots_.size()) grow();
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = mix(story) & mask;; i = (i + 1) & mask) {
      Slot& slot = slots_[i];
      if (slot.stamp != stamp_) {
        slot = {story, static_cast<std::uint32_t>(entries_.size()), stamp_};
        entries_.emplace_back(story, weight);
        return;
      }
      if (slot.story == story) {
        entries_[slot.entry].second += weight;
        return;
      }
    }
  }
  const std::vector<std::pair<std::int64_t, double>>& entries() const { return entries_; }

 private:
  struct Slot {
    std::int64_t story = 0;
    std::uint32_t entry = 0;
    std::uint32_t stamp = 0;
  };
  static std::size_t mix(std::int64_t story) {
    return static_cast<std::size_t>(static_cast<std::uint64_t>(story) * 0x9E3779B97F4A7C15ULL >>
                                    32);
  }
  void grow() {
    slots_.assign(std::max<std::size_t>(256, slots_.size() * 2), Slot{});
    stamp_ = 1;
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t e = 0; e < entries_.size(); ++e) {
      std::size_t i = mix(entries_[e].first) & mask;
      while (slots_[i].stamp == stamp_)
        i = (i + 1) & mask;
      slots_[i] = {entries_[e].first, static_cast<std::uint32_t>(e), stamp_};
    }
  }

  std::vector<Slot> slots_;
  std::vector<std::pair<std::int64_t, double>> entries_;
  std::uint32_t stamp_ = 1;
};

// Edges below this probability are not kept: they never decide a cluster (average linkage
// counts a missing pair as 0) and most candidate pairs are far below it.
constexpr double kKeepEdge = 0.05;
constexpr double kOrderNames = 0.1;
// Same-language pairs with less in common than this TF-IDF cosine and no shared name are not
// scored further: P stays far below kKeepEdge (measured on the labelled corpora).
constexpr double kFewTerms = 0.05;
// Candidates per new item: the items sharing most of its rarest keys.
constexpr std::size_t kCandidates = 24;
// A key carried by more items than this is too common to find candidates with.
constexpr std::size_t kMaxPosting = 100;
// A key's list of items is let go beyond this many (its count stays) and built again from
// the window's items once evictions bring the count back to kMaxPosting: common words are
// most of the postings (97 % in a first poll of 1,000 feeds) and are never read.
constexpr std::size_t kDropPosting = 2 * kMaxPosting;
// The item's rarest names and words looked up in the postings.
constexpr std::size_t kGatherKeys = 32;
// A group of stories larger than this is not clustered again from scratch: its stories stay
// as they are and the new items join them (or each other) by the same average linkage, and
// only the stories around the new items are clustered (StoryIndex::Impl::recluster).
constexpr std::size_t kMaxRecluster = 1500;
// Salts that keep names and links apart from words in the postings.
constexpr std::uint32_t kEntityKey = 0x80000000u;
constexpr std::uint32_t kLinkSalt = 0x2545F491u;
// Two items of one feed this alike that are not one article are a template's (changesets,
// episodes, "... Online" titles): no story holds both. Other pairs of one feed do not count
// either way (a feed may cover one story twice).
constexpr double kTemplateCopy = 0.3;
// Same-feed copies: near-identical text and the same title (a template's bodies are alike
// too, its titles are not).
constexpr double kSameFeedCopy = 0.6;
// Relations told from the signals.
constexpr double kCopyJaccard = 0.5;
constexpr double kTranslationOrder = 0.5;

constexpr std::array<std::string_view, kPairFeatureCount> kFeatureNames = {
    "days_apart",  "cross_language", "terms",       "cross_terms", "names",
    "cross_names", "name_order",     "copy",        "few_names",   "title_terms",
    "cross_title", "title_cover",    "title_names", "numbers",     "other_numbers"};
static_assert(kFeatureNames.back().size() > 0, "a name for every PairFeature");

struct Edge {
  std::int64_t other = 0;
  float p = 0;
  Relation relation = Relation::report;
  bool template_pair = false;  // one feed's, alike, not one article: P 0 and it counts
};

// The window items that carry one key: how many, and which while they are kDropPosting or
// fewer (evicted ones stay listed until compact()).
struct Posting {
  std::uint32_t live = 0;
  bool dropped = false;
  std::vector<std::uint32_t> items;
};

struct Node {
  Candidate item;
  Relation relation = Relation::report;
  // Why it is in its story, as last reported (Placement): the reason, and P with `matched`
  // in hundredths. Packed beside `relation`: a first poll holds tens of thousands of nodes.
  JoinReason reason = JoinReason::none;
  std::uint8_t matched_p = 0;
  std::int64_t story = 0;  // 0: not placed yet (inside insert())
  std::int64_t matched = 0;
  Weights weights;
  std::uint64_t feed_link = 0;  // its entry in Impl::feed_links (0: none)
  std::vector<Edge> edges;
};

struct Story {
  std::int64_t id = 0;
  std::vector<std::int64_t> members;  // by (published, feed, item)
  Time first{};
  Time last{};
  bool frozen = false;  // a person placed a member: clustering never splits it
};

// The order that breaks ties: what the items are, never when they came.
// (Not feed or item ids first: those follow the order in which feeds were first polled and
// answered.)
auto order_key(const Node& node) {
  return std::make_tuple(node.item.published, node.weights.guid_key, node.weights.url_key,
                         node.item.title_key, node.item.feed_id, node.item.item_id);
}

// A person put this member in its story (`story split` founds one, `story merge` moves members
// in): clustering keeps that story whole.
bool placed_by_hand(Relation relation, JoinReason reason) {
  return relation == Relation::manual || reason == JoinReason::by_hand;
}

double sigmoid(double z) {
  return 1.0 / (1.0 + std::exp(-z));
}

// P as the store keeps it: hundredths. Small moves of P (pairs scored again as the statistics
// grow) rewrite no membership.
std::uint8_t hundredths(double p) {
  return static_cast<std::uint8_t>(std::lround(std::clamp(p, 0.0, 1.0) * 100));
}

}  // namespace

std::string_view pair_feature_name(std::size_t feature) {
  return feature < kFeatureNames.size() ? kFeatureNames[feature] : std::string_view("?");
}

const PairModel& default_pair_model() {
  // Fitted by bench/dedup_fit.py (see its output in bench/README.md, "Story pair model").
  static const PairModel model = [] {
    PairModel m;
    m.bias = -5.919;
    m.weights = {-3.995, 3.387, 12.623, 3.264, 4.604, 2.815, 2.712, 0.087,
                 -0.243, 3.297, -0.282, 5.206, 1.477, 1.852, -0.653};
    m.threshold = 0.25;
    m.same_feed = 1;
    return m;
  }();
  return model;
}

PairModel parse_pair_model(std::string_view text) {
  PairModel model = default_pair_model();
  std::istringstream in{std::string(text)};
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (const auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::istringstream words(line);
    std::string name;
    double value = 0;
    if (!(words >> name)) continue;
    if (!(words >> value))
      throw std::runtime_error("line " + std::to_string(number) + ": '" + name +
                               "' needs a number");
    if (name == "bias") {
      model.bias = value;
    } else if (name == "same_feed") {
      model.same_feed = value;
    } else if (name == "threshold") {
      model.threshold = value;
    } else {
      const auto found = std::find(kFeatureNames.begin(), kFeatureNames.end(), name);
      if (found == kFeatureNames.end())
        throw std::runtime_error("line " + std::to_string(number) + ": unknown feature '" + name +
                                 "'");
      model.weights[static_cast<std::size_t>(found - kFeatureNames.begin())] = value;
    }
  }
  return model;
}

std::string_view to_string(Relation relation) {
  switch (relation) {
    case Relation::original:
      return "original";
    case Relation::same_url:
      return "same_url";
    case Relation::copy:
      return "copy";
    case Relation::translation:
      return "translation";
    case Relation::report:
      return "report";
    case Relation::manual:
      return "manual";
  }
  return "report";
}

std::string_view to_string(JoinReason reason) {
  switch (reason) {
    case JoinReason::none:
      return "";
    case JoinReason::founder:
      return "founder";
    case JoinReason::link:
      return "link";
    case JoinReason::same_url:
      return "same_url";
    case JoinReason::by_hand:
      return "merged_by_hand";
  }
  return "";
}

JoinReason join_reason_from_string(std::string_view text) {
  for (JoinReason reason :
       {JoinReason::founder, JoinReason::link, JoinReason::same_url, JoinReason::by_hand}) {
    if (to_string(reason) == text) return reason;
  }
  return JoinReason::none;
}

Relation relation_from_string(std::string_view text) {
  for (Relation relation : {Relation::original, Relation::same_url, Relation::copy,
                            Relation::translation, Relation::report, Relation::manual}) {
    if (to_string(relation) == text) return relation;
  }
  return Relation::report;
}

std::string explain(const Signals& s, const PairModel& model, double threshold) {
  std::ostringstream out;
  char line[256];
  std::snprintf(line, sizeof line, "same url or item id: %s\nsame feed: %s\n",
                s.same_url ? "yes (one article: P = 1)" : "no",
                s.same_feed ? "yes (joins only as the same article or a same-titled copy)" : "no");
  out << line;
  std::snprintf(line, sizeof line, "languages: %s\nhours apart: %.1f\n",
                s.cross_language ? "different" : "same", s.hours_apart);
  out << line;
  out << "signal            value   weight   adds\n";
  double z = model.bias;
  for (std::size_t i = 0; i < kPairFeatureCount; ++i) {
    const double adds = model.weights[i] * s.features[i];
    z += adds;
    std::snprintf(line, sizeof line, "%-16s %6.3f %8.3f %+7.3f\n",
                  std::string(kFeatureNames[i]).c_str(), s.features[i], model.weights[i], adds);
    out << line;
  }
  std::snprintf(line, sizeof line, "%-16s %6s %8.3f %+7.3f\n", "bias", "", model.bias, model.bias);
  out << line;
  std::snprintf(line, sizeof line, "%-16s %6s %8s %+7.3f -> P = 1 / (1 + e^-sum) = %.3f\n", "sum",
                "", "", z, sigmoid(z));
  out << line;
  std::snprintf(line, sizeof line,
                "P(same story): %.3f%s (stories join at a mean of %.2f over their pairs): %s, "
                "as %s\n",
                s.score, s.same_url || (s.same_feed && s.score == 0) ? " (by rule)" : "", threshold,
                s.score >= threshold ? "same story" : "different stories",
                std::string(to_string(s.relation)).c_str());
  out << line;
  return out.str();
}

struct StoryIndex::Impl {
  explicit Impl(DedupOptions o)
      : options(std::move(o)),
        model(options.model ? *options.model : default_pair_model()),
        threshold(options.threshold ? *options.threshold : model.threshold) {}

  DedupOptions options;
  PairModel model;
  double threshold;
  TermStatistics statistics;
  // Node-based: a Node is large, and references to it are held across inserts.
  std::unordered_map<std::int64_t, Node> nodes;
  std::unordered_map<std::int64_t, Story> stories;
  // key -> items carrying it. 32-bit ids: the postings are the index's largest part; an item
  // id beyond 2^32 is not posted (found by the items it finds).
  boost::unordered_flat_map<std::uint32_t, Posting> postings;
  std::vector<std::uint32_t> rebuild;  // dropped keys whose count fell back to kMaxPosting
  // feed_link_key -> that feed's items with the link, while they are in the index.
  boost::unordered_flat_map<std::uint64_t, LinkUse> feed_links;
  boost::unordered_flat_set<std::int64_t> counted;  // items in the statistics before insert()
  std::size_t dead_postings = 0;                    // postings of evicted items
  std::size_t live_postings = 0;
  std::size_t edges = 0;
  std::optional<Time> newest;
  Time floor = Time::min();
  double drift_docs = 0;  // the statistics' size when every pair was last scored again
  // (last, story) for every value a story's `last` has had, oldest on top (see evict()). An
  // entry is current while it equals the story's `last` and the story exists.
  std::priority_queue<std::pair<Time, std::int64_t>, std::vector<std::pair<Time, std::int64_t>>,
                      std::greater<>>
      by_last;
  // Scratch space, kept to avoid allocating per item.
  Probe probe;
  MassTable mass;
  std::vector<std::pair<float, std::uint32_t>> keys;
  std::vector<std::pair<double, std::int64_t>> ranked;

  // `probe`: where to put the item's per-term figures too (it is being linked or explained).
  void refresh(const Candidate& item, Weights& w, bool force = false, Probe* probe = nullptr) {
    if (!force && w.norm_docs >= 0 && statistics.docs() < w.norm_docs * 1.5 + 64) return;
    const auto& terms = item.features.terms;
    const auto& entities = item.features.entities;
    if (probe != nullptr) {
      probe->terms.resize(terms.size());
      probe->term_idf.resize(terms.size());
      probe->entities.resize(entities.size());
      probe->title_terms.resize(item.title_terms.size());
      probe->title_idf.resize(item.title_terms.size());
      probe->title_entities.resize(item.title_entities.size());
    }
    double term_norm = 0;
    for (std::size_t i = 0; i < terms.size(); ++i) {
      const double idf = statistics.idf(terms[i].id);
      const double weight = tf(terms[i].weight) * idf;
      if (probe != nullptr) {
        probe->terms[i] = static_cast<float>(weight);
        probe->term_idf[i] = static_cast<float>(idf);
      }
      term_norm += weight * weight;
    }
    double entity_sum = 0;
    for (std::size_t i = 0; i < entities.size(); ++i) {
      const double idf = statistics.entity_idf(entities[i]);
      if (probe != nullptr) probe->entities[i] = static_cast<float>(idf);
      entity_sum += idf;
    }
    double title_norm = 0;
    double title_idf_sum = 0;
    for (std::size_t i = 0; i < item.title_terms.size(); ++i) {
      const double idf = statistics.idf(item.title_terms[i].id);
      const double weight = tf(item.title_terms[i].weight) * idf;
      if (probe != nullptr) {
        probe->title_terms[i] = static_cast<float>(weight);
        probe->title_idf[i] = static_cast<float>(idf);
      }
      title_norm += weight * weight;
      title_idf_sum += idf;
    }
    double title_entity_sum = 0;
    for (std::size_t i = 0; i < item.title_entities.size(); ++i) {
      const double idf = statistics.entity_idf(item.title_entities[i]);
      if (probe != nullptr) probe->title_entities[i] = static_cast<float>(idf);
      title_entity_sum += idf;
    }
    w.term_norm = std::sqrt(term_norm);
    w.entity_sum = entity_sum;
    w.title_norm = std::sqrt(title_norm);
    w.title_idf_sum = title_idf_sum;
    w.title_entity_sum = title_entity_sum;
    double number_sum = 0;
    for (std::uint32_t number : item.features.numbers)
      number_sum += statistics.entity_idf(number);
    w.number_sum = number_sum;
    w.norm_docs = statistics.docs();
  }

  // Whether the node's link names its article now: not a site root or section page (no
  // url_key then), and not a link its feed gave items with different titles (every episode
  // of a podcast linking the show's home page), however many came since.
  bool link_identity(const Node& node) const {
    if (node.weights.url_key == 0) return false;
    if (node.feed_link == 0) return true;
    const auto found = feed_links.find(node.feed_link);
    return found == feed_links.end() || !found->second.shared;
  }

  // The signals and P(same story) of two items. `identity_*`: whether each one's link names
  // its article.
  // `pa`: x's per-term figures under the current statistics.
  Signals pair(const Candidate& x, const Probe& pa, const Weights& a, bool identity_a,
               const Candidate& y, const Weights& b, bool identity_b,
               bool explain_all = false) const {
    Signals s;
    s.same_url = (identity_a && identity_b && a.url_key == b.url_key) ||
                 (a.guid_key != 0 && a.guid_key == b.guid_key);
    s.same_feed = x.feed_id != 0 && x.feed_id == y.feed_id;
    s.hours_apart = std::abs(
        std::chrono::duration<double, std::ratio<3600>>(x.published - y.published).count());
    // A merge = false feed's items join only items of their own feed (as one article).
    const bool isolated = !s.same_feed && (!x.merge || !y.merge);
    if (isolated && !explain_all) {
      s.score = 0;
      return s;
    }
    s.copy = sketch_similarity(x.features, y.features);
    const bool same_feed_copy =
        s.copy >= kSameFeedCopy && x.title_key != 0 && x.title_key == y.title_key;
    // Two items of one feed are a series (episodes, changesets, a template's titles) unless
    // they are one article: their words are not evidence.
    if (s.same_feed && !s.same_url && !same_feed_copy && !explain_all) {
      s.score = 0;
      return s;
    }
    s.cross_language = x.features.language != y.features.language &&
                       x.features.language != Language::unknown &&
                       y.features.language != Language::unknown;
    if (a.term_norm > 0 && b.term_norm > 0) {
      const double dot = sparse_dot(x.features.terms, pa.terms, pa.term_idf, y.features.terms);
      s.terms = std::min(1.0, dot / (a.term_norm * b.term_norm));
    }
    // IDF-weighted Jaccard: one shared name of a one-name item is not a match.
    s.entities = weighted_jaccard(x.features.entities, pa.entities, a.entity_sum,
                                  y.features.entities, b.entity_sum);
    // Most candidate pairs share a word or two and no name: their P is far below what is kept,
    // and the rest of the signals are not worth computing.
    if (!explain_all && !s.same_url && s.terms < kFewTerms && s.copy < kCopyJaccard &&
        !s.cross_language && s.entities == 0 && x.features.entities.size() > 1 &&
        y.features.entities.size() > 1) {
      s.score = 0;
      return s;
    }
    // The order of names says something once enough of them are shared (and costs a quadratic
    // comparison): the same rule for the model's fit (explain_all) as for the daemon.
    if (s.entities >= kOrderNames)
      s.entity_order = sequence_overlap(x.features.entity_sequence, y.features.entity_sequence);

    const double cross = s.cross_language ? 1.0 : 0.0;
    double days = std::min(3.0, s.hours_apart / 24.0);
    // Copies and translations come when their outlet gets to them: time says little.
    const double carried = std::max(s.copy, cross * s.entity_order);
    if (s.copy >= kCopyJaccard || (s.cross_language && s.entity_order >= kTranslationOrder))
      days *= 1.0 - carried;
    auto& f = s.features;
    f[kDaysApart] = days;
    f[kCrossLanguage] = cross;
    f[kTerms] = s.terms;
    f[kCrossTerms] = cross * s.terms;
    f[kNames] = s.entities;
    f[kCrossNames] = cross * s.entities;
    f[kNameOrder] = s.entity_order;
    f[kCopy] = s.copy;
    f[kFewNames] = (x.features.entities.size() <= 1 || y.features.entities.size() <= 1) ? 1.0 : 0.0;
    headline_features(x, pa, a, y, b, f);
    f[kCrossTitle] = cross * f[kTitleTerms];
    const auto& nx = x.features.numbers;
    const auto& ny = y.features.numbers;
    if (!nx.empty() && !ny.empty()) {
      // IDF-weighted Jaccard, times how rare the shared numbers are: a year or "100" that
      // most items give says little even when it is all two items give.
      double shared = 0;
      int any = 0;
      for (std::size_t i = 0, j = 0; i < nx.size() && j < ny.size();) {
        if (nx[i] == ny[j]) {
          shared += statistics.entity_idf(nx[i]);
          ++any;
        }
        const bool step_i = nx[i] <= ny[j];
        const bool step_j = ny[j] <= nx[i];
        i += step_i;
        j += step_j;
      }
      const double all = a.number_sum + b.number_sum - shared;
      const double rarity = any > 0 ? shared / (any * statistics.max_idf()) : 0.0;
      f[kNumbers] = all > 0 ? std::min(1.0, shared / all) * std::min(1.0, rarity) : 0.0;
      f[kOtherNumbers] = any > 0 ? 0.0 : 1.0;
    }
    double z = model.bias;
    for (std::size_t i = 0; i < kPairFeatureCount; ++i)
      z += model.weights[i] * f[i];
    s.score = sigmoid(z);
    if (isolated || (s.same_feed && !s.same_url && !same_feed_copy)) s.score = 0;
    s.relation = Relation::report;
    if (s.cross_language && s.entity_order >= kTranslationOrder) s.relation = Relation::translation;
    if (s.copy >= kCopyJaccard) s.relation = Relation::copy;
    if (s.same_url) {
      s.relation = Relation::same_url;
      s.score = 1.0;
    }
    return s;
  }

  // The headline signals, from the weights refresh() keeps with each item.
  static void headline_features(const Candidate& x, const Probe& pa, const Weights& a,
                                const Candidate& y, const Weights& b,
                                std::array<double, kPairFeatureCount>& f) {
    const double dot = sparse_dot(x.title_terms, pa.title_terms, pa.title_idf, y.title_terms);
    f[kTitleTerms] = a.title_norm > 0 && b.title_norm > 0
                         ? std::min(1.0, dot / (a.title_norm * b.title_norm))
                         : 0;
    // How much of each headline the other item says anywhere (its title counts in its terms).
    // `idf` (x's) is parallel to `title` (terms_idf false) or to `terms` (true).
    auto cover = [](const std::vector<Term>& title, const std::vector<Term>& terms,
                    const std::vector<float>& idf, bool terms_idf, double all) {
      double found = 0;
      for (std::size_t i = 0, j = 0; i < title.size(); ++i) {
        while (j < terms.size() && terms[j].id < title[i].id)
          ++j;
        if (j < terms.size() && terms[j].id == title[i].id) found += idf[terms_idf ? j : i];
      }
      return all > 0 ? found / all : 0.0;
    };
    f[kTitleCover] =
        std::min(cover(x.title_terms, y.features.terms, pa.title_idf, false, a.title_idf_sum),
                 cover(y.title_terms, x.features.terms, pa.term_idf, true, b.title_idf_sum));
    f[kTitleNames] = weighted_jaccard(x.title_entities, pa.title_entities, a.title_entity_sum,
                                      y.title_entities, b.title_entity_sum);
  }

  // `a` is being linked: `probe` holds its figures.
  Signals pair(Node& a, Node& b) {
    refresh(b.item, b.weights);
    return pair(a.item, probe, a.weights, link_identity(a), b.item, b.weights, link_identity(b));
  }

  void post(std::uint32_t key, std::int64_t item_id) {
    if (item_id < 0 || item_id > std::numeric_limits<std::uint32_t>::max()) return;
    Posting& posting = postings[key];
    ++posting.live;
    if (posting.dropped) return;
    posting.items.push_back(static_cast<std::uint32_t>(item_id));
    ++live_postings;
    if (posting.live > kDropPosting) {
      live_postings -= posting.items.size();
      posting.items = std::vector<std::uint32_t>();
      posting.dropped = true;
    }
  }

  static std::uint32_t link_posting(std::uint64_t key) {
    return static_cast<std::uint32_t>(key >> 32) ^ kLinkSalt;
  }

  // Puts `item` into the index as a node of `story` (0: to be placed), with its keys posted
  // and its links counted; not linked to other items yet.
  Node& put(Candidate item, std::int64_t story, Relation relation) {
    Node node;
    set_link_keys(item, node.weights);
    if (node.weights.url_key != 0 && is_article_url(item.canonical_url)) {
      node.feed_link = feed_link_key(item.feed_id, node.weights.url_key);
      auto [use, fresh] = feed_links.try_emplace(node.feed_link, LinkUse{item.title_key, 0, false});
      if (!fresh && use->second.title_key != item.title_key) use->second.shared = true;
      ++use->second.items;
    } else {
      node.weights.url_key = 0;
    }
    if (!newest || item.published > *newest) newest = item.published;
    // The keys stand for the strings from now on.
    item.canonical_url = std::string();
    item.guid = std::string();
    node.item = std::move(item);
    node.story = story;
    node.relation = relation;
    const std::int64_t id = node.item.item_id;
    auto [it, inserted] = nodes.emplace(id, std::move(node));
    return it->second;
  }

  // Every key `node` is posted under.
  template <typename F>
  static void for_each_key(const Node& node, F&& f) {
    for (std::uint32_t entity : node.item.features.entities)
      f(entity ^ kEntityKey);
    for (const Term& term : node.item.features.terms)
      f(term.id);
    if (node.weights.url_key != 0) f(link_posting(node.weights.url_key));
    if (node.weights.guid_key != 0) f(link_posting(node.weights.guid_key));
  }

  void post_keys(const Node& node) {
    for_each_key(node, [&](std::uint32_t key) { post(key, node.item.item_id); });
  }

  void add_edge(Node& a, Node& b, const Signals& s, bool template_pair) {
    const auto p = static_cast<float>(s.score);
    a.edges.push_back({b.item.item_id, p, s.relation, template_pair});
    b.edges.push_back({a.item.item_id, p, s.relation, template_pair});
    edges += 2;
  }

  // A Title Case headline's capitals that other items mostly write as names (in their bodies,
  // mid-sentence: in at least kLexiconDocs items, and in at least half the items that use the
  // word at all) become the item's names: the stream's lexicon gives back what the headline's
  // style took ("Jesse Jackson", not "New" nor "Unveils"). Only ever adds (the statistics only
  // grow until they halve).
  bool written_as_name(std::uint32_t entity, std::uint32_t term) const {
    const std::uint32_t as_name = statistics.entity_df(entity);
    return as_name >= kLexiconDocs && 2 * as_name >= statistics.df(term);
  }

  void promote(Candidate& item) const {
    auto& capitals = item.features.title_capitals;
    // Promoted once: not asked again.
    std::vector<std::uint32_t> found;
    std::erase_if(capitals, [&](const std::pair<std::uint32_t, std::uint32_t>& word) {
      if (!written_as_name(word.first, word.second)) return false;
      found.push_back(word.first);
      return true;
    });
    if (found.empty()) return;
    std::sort(found.begin(), found.end());
    found.erase(std::unique(found.begin(), found.end()), found.end());
    auto add_to = [&](std::vector<std::uint32_t>& list) {
      std::vector<std::uint32_t> merged;
      merged.reserve(list.size() + found.size());
      std::set_union(list.begin(), list.end(), found.begin(), found.end(),
                     std::back_inserter(merged));
      list = std::move(merged);
    };
    add_to(item.features.entities);
    add_to(item.title_entities);
  }

  // Links `node` (in the index, its keys not posted yet) to the items around it: those that
  // share its link or most of its rarest names and words, within one window.
  // `relinking`: every node is being linked again (drift()): its keys are posted already,
  // and a pair the other side found first is not added twice.
  void link(Node& node, bool relinking = false) {
    Candidate& item = node.item;
    promote(item);
    refresh(item, node.weights, true, &probe);
    mass.clear();
    auto& k = keys;
    k.clear();
    for (std::size_t i = 0; i < item.features.entities.size(); ++i)
      k.emplace_back(2.0f * probe.entities[i], item.features.entities[i] ^ kEntityKey);
    for (std::size_t i = 0; i < item.features.terms.size(); ++i)
      k.emplace_back(probe.term_idf[i], item.features.terms[i].id);
    const std::size_t gather = std::min(kGatherKeys, k.size());
    std::nth_element(k.begin(), k.begin() + static_cast<std::ptrdiff_t>(gather), k.end(),
                     std::greater<>());
    k.resize(gather);
    if (node.weights.url_key != 0) k.emplace_back(1e9f, link_posting(node.weights.url_key));
    if (node.weights.guid_key != 0) k.emplace_back(1e9f, link_posting(node.weights.guid_key));
    for (const auto& [weight, key] : k) {
      const auto found = postings.find(key);
      if (found == postings.end() || found->second.live > kMaxPosting) continue;
      for (std::uint32_t other : found->second.items)
        mass.add(other, weight);
    }
    ranked.clear();
    for (const auto& [other, weight] : mass.entries())
      ranked.emplace_back(weight, other);
    std::size_t keep = std::min(kCandidates, ranked.size());
    if (keep < ranked.size()) {
      // The best `keep` by key weight; candidates tied at the cut go by what they are (item
      // ids follow arrival).
      auto by_weight = [](const auto& a, const auto& b) { return a.first > b.first; };
      std::nth_element(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(keep - 1),
                       ranked.end(), by_weight);
      const double cut = ranked[keep - 1].first;
      auto tied = std::partition(ranked.begin(), ranked.end(),
                                 [&](const auto& entry) { return entry.first > cut; });
      auto tied_end =
          std::partition(tied, ranked.end(), [&](const auto& entry) { return entry.first == cut; });
      std::sort(tied, tied_end, [&](const auto& a, const auto& b) {
        const auto x = nodes.find(a.second);
        const auto y = nodes.find(b.second);
        if (x == nodes.end() || y == nodes.end()) return (x == nodes.end()) < (y == nodes.end());
        return order_key(x->second) < order_key(y->second);
      });
    }
    for (std::size_t c = 0; c < keep; ++c) {
      const auto found = nodes.find(ranked[c].second);
      if (found == nodes.end() || found->first == item.item_id) continue;
      Node& other = found->second;
      if (std::chrono::abs(other.item.published - item.published) > options.window) continue;
      if (relinking && std::any_of(node.edges.begin(), node.edges.end(),
                                   [&](const Edge& e) { return e.other == other.item.item_id; }))
        continue;
      const Signals s = pair(node, other);
      const bool template_pair =
          s.same_feed && !s.same_url && s.score == 0 && s.copy >= kTemplateCopy;
      if (s.score >= kKeepEdge || template_pair) add_edge(node, other, s, template_pair);
    }
    if (!relinking) post_keys(node);
  }

  void index_story(Story& story) {
    std::sort(story.members.begin(), story.members.end(), [&](std::int64_t a, std::int64_t b) {
      return order_key(nodes.at(a)) < order_key(nodes.at(b));
    });
    story.first = Time::max();
    story.last = Time::min();
    story.frozen = false;
    for (std::int64_t id : story.members) {
      const Node& node = nodes.at(id);
      story.first = std::min(story.first, node.item.published);
      story.last = std::max(story.last, node.item.published);
      story.frozen = story.frozen || placed_by_hand(node.relation, node.reason);
    }
    by_last.emplace(story.last, story.id);
  }

  // When the statistics grew by a quarter since the pairs were last scored (a first poll's half,
  // then the rest), scores every kept pair again; the items whose pairs moved are clustered
  // again with the new ones. Amortised: the statistics must grow geometrically each time.
  void drift(std::vector<std::int64_t>& touched) {
    if (statistics.docs() <= drift_docs * 1.25) return;
    drift_docs = statistics.docs();
    // Which pairs each item finds (its rarest keys, its likeliest candidates) depends on the
    // statistics too: every item is linked again, as if the window had come in one poll.
    boost::unordered_flat_map<std::int64_t, boost::unordered_flat_map<std::int64_t, float>> before;
    std::vector<std::int64_t> ids;
    ids.reserve(nodes.size());
    for (auto& [id, node] : nodes) {
      ids.push_back(id);
      auto& old = before[id];
      for (const Edge& e : node.edges)
        old.emplace(e.other, e.p);
      node.edges.clear();
    }
    edges = 0;
    std::sort(ids.begin(), ids.end(), [&](std::int64_t a, std::int64_t b) {
      return order_key(nodes.at(a)) < order_key(nodes.at(b));
    });
    for (std::int64_t id : ids) {
      promote(nodes.at(id).item);
      refresh(nodes.at(id).item, nodes.at(id).weights, true);
    }
    for (std::int64_t id : ids)
      link(nodes.at(id), true);
    // The items whose pairs changed at all are clustered again: a group left as it was
    // clustered under other figures is where the order of arrival would show.
    for (std::int64_t id : ids) {
      const Node& node = nodes.at(id);
      if (node.story == 0) continue;
      const auto& old = before.at(id);
      bool same = old.size() == node.edges.size();
      for (const Edge& e : node.edges) {
        if (!same) break;
        const auto found = old.find(e.other);
        same = found != old.end() && found->second == e.p;
      }
      if (!same) touched.push_back(id);
    }
  }

  InsertResult recluster(const std::vector<std::int64_t>& fresh, std::int64_t& next_story);
  void cluster_component(std::vector<std::int64_t> component, bool keep_stories,
                         std::int64_t& next_story, InsertResult& result,
                         std::vector<std::int64_t>& changed);

  void compact() {
    for (auto& [key, posting] : postings) {
      std::erase_if(posting.items, [&](std::uint32_t id) { return !nodes.contains(id); });
    }
    boost::unordered::erase_if(postings, [](const auto& entry) { return entry.second.live == 0; });
    live_postings = 0;
    for (const auto& [key, posting] : postings)
      live_postings += posting.items.size();
    dead_postings = 0;
    edges = 0;
    for (auto& [id, node] : nodes) {
      std::erase_if(node.edges, [&](const Edge& e) { return !nodes.contains(e.other); });
      edges += node.edges.size();
    }
  }

  // The caller compacts (compact_if_due) once it has dropped what it drops.
  void drop(decltype(stories)::iterator it) {
    for (std::int64_t id : it->second.members) {
      const auto found = nodes.find(id);
      if (found == nodes.end()) continue;
      const Node& node = found->second;
      if (node.feed_link != 0) {
        const auto use = feed_links.find(node.feed_link);
        if (use != feed_links.end() && --use->second.items == 0) feed_links.erase(use);
      }
      dead_postings += node.item.features.entities.size() + node.item.features.terms.size();
      if (id >= 0 && id <= std::numeric_limits<std::uint32_t>::max())
        for_each_key(node, [&](std::uint32_t key) { unpost(key); });
      nodes.erase(found);
    }
    stories.erase(it);
  }
  void unpost(std::uint32_t key) {
    const auto found = postings.find(key);
    if (found == postings.end() || found->second.live == 0) return;
    Posting& posting = found->second;
    if (--posting.live == kMaxPosting && posting.dropped) rebuild.push_back(key);
  }
  void compact_if_due() {
    // Dropped lists whose keys became rare enough to find candidates again: listed anew from
    // the window's items, in one pass.
    if (!rebuild.empty()) {
      boost::unordered_flat_set<std::uint32_t> keys;
      for (std::uint32_t key : rebuild) {
        const auto found = postings.find(key);
        if (found == postings.end() || !found->second.dropped || found->second.live > kMaxPosting)
          continue;
        found->second.dropped = false;
        keys.insert(key);
      }
      rebuild.clear();
      if (!keys.empty()) {
        for (const auto& entry : nodes) {
          const std::int64_t id = entry.first;  // not a structured binding: clang captures it
          if (id < 0 || id > std::numeric_limits<std::uint32_t>::max()) continue;
          for_each_key(entry.second, [&](std::uint32_t key) {
            if (!keys.contains(key)) return;
            postings[key].items.push_back(static_cast<std::uint32_t>(id));
            ++live_postings;
          });
        }
      }
    }
    if (dead_postings > live_postings / 2 + 1024) compact();
  }
};

namespace {

// Average linkage over one component's items (local indexes in tie order).
struct Cluster {
  std::vector<int> members;
  std::vector<std::pair<std::int64_t, int>> feeds;  // feed -> members, sorted
  bool frozen = false;
  // Holds an item placed before this clustering outside a whole (frozen) story.
  bool placed = false;
  bool alive = true;
  std::uint32_t version = 0;
  struct Link {
    double sum = 0;     // of P over the pairs between the two clusters
    int same_feed = 0;  // same-feed pairs among them with an edge (copies, one article)
    int templates = 0;  // template pairs among them: the two never join
  };
  boost::unordered_flat_map<int, Link> links;  // other cluster -> their pairs
};

// Pairs two clusters hold between them within one feed: not evidence either way unless an
// edge (a copy, the same article) says so.
int same_feed_pairs(const Cluster& a, const Cluster& b) {
  int pairs = 0;
  for (std::size_t i = 0, j = 0; i < a.feeds.size() && j < b.feeds.size();) {
    if (a.feeds[i].first == b.feeds[j].first) {
      pairs += a.feeds[i].second * b.feeds[j].second;
      ++i;
      ++j;
    } else if (a.feeds[i].first < b.feeds[j].first) {
      ++i;
    } else {
      ++j;
    }
  }
  return pairs;
}

// `same_feed`: what a pair of one feed's items that are not one article counts as, in pairs
// that P is 0 for (0: not at all, as if never compared; 1: as one unlike pair). A fitted
// hyperparameter: a feed rarely publishes two reports of one story, but it does happen.
double mean_link(const Cluster& a, const Cluster& b, const Cluster::Link& link, double same_feed) {
  const double pairs = static_cast<double>(a.members.size()) * b.members.size() -
                       (1 - same_feed) * (same_feed_pairs(a, b) - link.same_feed);
  return pairs <= 0 ? 0 : link.sum / pairs;
}

void merge_feeds(std::vector<std::pair<std::int64_t, int>>& into,
                 const std::vector<std::pair<std::int64_t, int>>& from) {
  for (const auto& [feed, count] : from) {
    auto at = std::lower_bound(into.begin(), into.end(), std::make_pair(feed, 0));
    if (at != into.end() && at->first == feed) {
      at->second += count;
    } else {
      into.insert(at, {feed, count});
    }
  }
}

}  // namespace

InsertResult StoryIndex::Impl::recluster(const std::vector<std::int64_t>& fresh,
                                         std::int64_t& next_story) {
  InsertResult result;
  std::vector<std::int64_t> changed;
  // Items already clustered in this call: whole components, and the neighbourhoods of groups
  // too large to cluster again. `large`: items known to be in such a group (the neighbourhoods
  // and whatever a walk that gave up reached): a later walk that meets one gives up at once,
  // instead of walking kMaxRecluster items of the same group again for each new item.
  boost::unordered_flat_set<std::int64_t> seen;
  boost::unordered_flat_set<std::int64_t> large;
  const boost::unordered_flat_set<std::int64_t> is_fresh(fresh.begin(), fresh.end());
  std::vector<std::int64_t> stack;
  std::vector<std::int64_t> component;
  boost::unordered_flat_set<std::int64_t> reached;
  // Collects into `component` the items reached from `start` through likely pairs and whole
  // stories. The whole group (`around` false): false once it holds more than kMaxRecluster
  // items or meets one of `large`. The neighbourhood (`around` true): only
  // new items' pairs are followed.
  auto walk = [&](std::int64_t start, bool around) {
    component.clear();
    reached.clear();
    stack.clear();
    reached.insert(start);
    stack.push_back(start);
    auto reach = [&](std::int64_t id) {
      if (!around && large.contains(id)) return false;
      if (!around && seen.contains(id)) return true;  // (a whole component: not reached)
      if (reached.insert(id).second) stack.push_back(id);
      return true;
    };
    while (!stack.empty()) {
      const std::int64_t id = stack.back();
      stack.pop_back();
      component.push_back(id);
      if (!around && component.size() > kMaxRecluster) return false;
      const Node& node = nodes.at(id);
      if (!around || is_fresh.contains(id)) {
        for (const Edge& e : node.edges) {
          if (e.p >= threshold && nodes.contains(e.other) && !reach(e.other)) return false;
        }
      }
      if (node.story != 0) {
        const auto story = stories.find(node.story);
        if (story == stories.end()) continue;
        for (std::int64_t member : story->second.members) {
          if (!reach(member)) return false;
        }
      }
    }
    return true;
  };
  for (std::int64_t start : fresh) {
    if (seen.contains(start)) continue;
    // The component: items linked by a likely pair, and every member of their stories (a
    // story is clustered as a whole or not at all).
    const bool keep_stories = !walk(start, false);
    if (keep_stories) {
      large.insert(reached.begin(), reached.end());
      // Too large to cluster again: its stories stay whole, and only those around the new
      // items can change (the new items, reached through their likely pairs, and the stories
      // of everything those pairs reach). Any other story's mean link to them is a weighted
      // mean of links that were below the threshold when the last clustering ended, so it
      // stays below: the neighbourhood decides what the whole group would, at its own cost.
      walk(start, true);
      large.insert(component.begin(), component.end());
    }
    seen.insert(component.begin(), component.end());
    cluster_component(component, keep_stories, next_story, result, changed);
  }
  std::sort(result.created.begin(), result.created.end());
  std::sort(changed.begin(), changed.end());
  changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
  for (std::int64_t id : changed) {
    if (stories.contains(id) &&
        !std::binary_search(result.created.begin(), result.created.end(), id))
      result.changed.push_back(id);
  }
  return result;
}

void StoryIndex::Impl::cluster_component(std::vector<std::int64_t> component, bool keep_stories,
                                         std::int64_t& next_story, InsertResult& result,
                                         std::vector<std::int64_t>& changed) {
  std::sort(component.begin(), component.end(), [&](std::int64_t a, std::int64_t b) {
    return order_key(nodes.at(a)) < order_key(nodes.at(b));
  });
  boost::unordered_flat_map<std::int64_t, int> local;
  std::vector<Node*> members;
  for (std::int64_t id : component) {
    local.emplace(id, static_cast<int>(members.size()));
    members.push_back(&nodes.at(id));
  }
  const int n = static_cast<int>(members.size());
  // Initial clusters: one per item, except stories a person made (and, in a group too large
  // to cluster again, every story) which stay whole.
  std::vector<Cluster> clusters;
  std::vector<int> cluster_of(static_cast<std::size_t>(n), -1);
  boost::unordered_flat_map<std::int64_t, int> whole;  // story -> its cluster
  for (int i = 0; i < n; ++i) {
    const Node& node = *members[i];
    int c = -1;
    if (node.story != 0) {
      const auto story = stories.find(node.story);
      const bool frozen = story != stories.end() && story->second.frozen;
      if (frozen || keep_stories) {
        auto [at, fresh] = whole.try_emplace(node.story, static_cast<int>(clusters.size()));
        if (fresh) {
          clusters.emplace_back();
          clusters.back().frozen = true;
        }
        c = at->second;
      }
    }
    if (c < 0) {
      c = static_cast<int>(clusters.size());
      clusters.emplace_back();
      clusters.back().placed = node.story != 0;
    }
    clusters[c].members.push_back(i);
    merge_feeds(clusters[c].feeds, {{node.item.feed_id, 1}});
    cluster_of[i] = c;
  }
  for (int i = 0; i < n; ++i) {
    for (const Edge& e : members[i]->edges) {
      const auto j = local.find(e.other);
      if (j == local.end() || j->second <= i) continue;
      const int a = cluster_of[i];
      const int b = cluster_of[j->second];
      if (a == b || (e.p <= 0 && !e.template_pair)) continue;
      const int same =
          members[i]->item.feed_id == members[j->second]->item.feed_id && !e.template_pair ? 1 : 0;
      const int templates = e.template_pair ? 1 : 0;
      for (auto [x, y] : {std::make_pair(a, b), std::make_pair(b, a)}) {
        auto& link = clusters[x].links[y];
        link.sum += e.p;
        link.same_feed += same;
        link.templates += templates;
      }
    }
  }
  // A heap of candidate joins, best mean first; ties by the clusters' first items (their tie
  // order), never by arrival. Stale entries are skipped by version.
  struct Join {
    double mean;
    int a;
    int b;
    std::uint32_t va;
    std::uint32_t vb;
    bool operator<(const Join& o) const {
      if (mean != o.mean) return mean < o.mean;
      return std::tie(a, b) > std::tie(o.a, o.b);
    }
  };
  // A cluster's first member is its smallest local index: the cluster's own index order
  // follows it for singletons, and merges keep the smaller one.
  auto first_of = [&](int c) { return clusters[c].members.front(); };
  std::priority_queue<Join> heap;
  auto consider = [&](int a, int b) {
    if (clusters[a].frozen && clusters[b].frozen) return;
    // A story kept whole takes in new items only: what was placed elsewhere stays out (the
    // story a person split an item from; another story's members).
    if ((clusters[a].frozen && clusters[b].placed) || (clusters[b].frozen && clusters[a].placed))
      return;
    const auto found = clusters[a].links.find(b);
    if (found == clusters[a].links.end() || found->second.templates > 0) return;
    const double mean = mean_link(clusters[a], clusters[b], found->second, model.same_feed);
    if (mean < threshold) return;
    if (first_of(b) < first_of(a)) std::swap(a, b);
    heap.push({mean, a, b, clusters[a].version, clusters[b].version});
  };
  for (int a = 0; a < static_cast<int>(clusters.size()); ++a) {
    for (const auto& [b, link] : clusters[a].links) {
      if (a < b) consider(a, b);
    }
  }
  while (!heap.empty()) {
    const Join join = heap.top();
    heap.pop();
    Cluster& a = clusters[join.a];
    Cluster& b = clusters[join.b];
    if (!a.alive || !b.alive || a.version != join.va || b.version != join.vb) continue;
    // b into a (a holds the earlier first member).
    for (int m : b.members)
      cluster_of[m] = join.a;
    a.members.insert(a.members.end(), b.members.begin(), b.members.end());
    std::sort(a.members.begin(), a.members.end());
    merge_feeds(a.feeds, b.feeds);
    a.frozen = a.frozen || b.frozen;
    a.placed = a.placed || b.placed;
    for (const auto& [c, link] : b.links) {
      if (c == join.a) continue;
      for (Cluster::Link* into : {&a.links[c], &clusters[c].links[join.a]}) {
        into->sum += link.sum;
        into->same_feed += link.same_feed;
        into->templates += link.templates;
      }
      clusters[c].links.erase(join.b);
    }
    a.links.erase(join.b);
    b.links.clear();
    b.members.clear();
    b.alive = false;
    ++a.version;
    std::vector<int> neighbours;
    for (const auto& [c, link] : a.links)
      neighbours.push_back(c);
    std::sort(neighbours.begin(), neighbours.end());
    for (int c : neighbours)
      consider(join.a, c);
  }

  // Clusters in tie order, each with the stories its members were in.
  std::vector<int> order;
  for (int c = 0; c < static_cast<int>(clusters.size()); ++c) {
    if (clusters[c].alive) order.push_back(c);
  }
  std::sort(order.begin(), order.end(), [&](int a, int b) { return first_of(a) < first_of(b); });
  // Story -> (the cluster that holds most of its members, how many): it keeps the id.
  boost::unordered_flat_map<std::int64_t, std::pair<int, int>> owner;
  for (int c : order) {
    boost::unordered_flat_map<std::int64_t, int> count;
    for (int m : clusters[c].members) {
      if (members[m]->story != 0) ++count[members[m]->story];
    }
    for (const auto& [story, k] : count) {
      auto [at, fresh] = owner.try_emplace(story, c, k);
      if (!fresh && k > at->second.second) at->second = {c, k};
    }
  }
  std::vector<std::int64_t> old_stories;
  for (const auto& [story, holder] : owner)
    old_stories.push_back(story);
  std::sort(old_stories.begin(), old_stories.end());
  std::vector<std::int64_t> id_of(clusters.size(), 0);
  for (std::int64_t story : old_stories) {
    const int c = owner.at(story).first;
    // The oldest story a cluster holds most of keeps its id; the others merge into it.
    if (id_of[c] == 0) {
      id_of[c] = story;
    } else {
      result.merged.emplace_back(story, id_of[c]);
    }
  }
  for (int c : order) {
    if (id_of[c] == 0) {
      id_of[c] = next_story++;
      result.created.push_back(id_of[c]);
    }
  }
  // Members placed: the new, and those whose story changed.
  for (std::int64_t story : old_stories) {
    if (auto found = stories.find(story); found != stories.end()) stories.erase(found);
  }
  for (int c : order) {
    const std::int64_t id = id_of[c];
    Story& story = stories[id];
    story.id = id;
    story.members.clear();
    const int first = first_of(c);
    // A story that had members before keeps its original: a newcomer is never one, however
    // early it claims to be (dates are evidence, not authority).
    const bool had_members = std::any_of(clusters[c].members.begin(), clusters[c].members.end(),
                                         [&](int m) { return members[m]->story != 0; });
    // Whether each member's story changed (placed), and its story before (for `by_hand`).
    std::vector<std::int64_t> before;
    before.reserve(clusters[c].members.size());
    for (int m : clusters[c].members) {
      Node& node = *members[m];
      before.push_back(node.story);
      story.members.push_back(node.item.item_id);
      if (node.story == id) continue;
      if (node.story != 0) changed.push_back(node.story);
      changed.push_back(id);
      // How it came in: the likeliest pair it has inside the story.
      Relation relation = Relation::original;
      float best = 0;
      std::int64_t best_other = 0;
      for (const Edge& e : node.edges) {
        const auto j = local.find(e.other);
        if (j == local.end() || cluster_of[j->second] != c) continue;
        if (e.p > best || (e.p == best && e.other < best_other)) {
          best = e.p;
          best_other = e.other;
          relation = e.relation;
        }
      }
      if (node.story != 0) {
        relation = node.relation;  // moved with its story: how it came in stands
      } else if (!had_members && (m == first || clusters[c].members.size() == 1)) {
        relation = Relation::original;
      }
      node.story = id;
      node.relation = relation;
    }
    // Why each member is there, now that every relation is known: the story's first original
    // in tie order (or the item a person split off to start it; else, the original having
    // gone to another story, its first member) founded it; every other member is there by its
    // likeliest pair inside the story (ties by the other's tie order, never by ids), unless a
    // person put it there.
    int founder = -1;
    for (int m : clusters[c].members) {
      const Node& node = *members[m];
      if (node.relation == Relation::original ||
          (node.relation == Relation::manual && node.reason == JoinReason::founder)) {
        founder = m;
        break;
      }
    }
    if (founder < 0) founder = first;
    for (std::size_t k = 0; k < clusters[c].members.size(); ++k) {
      const int m = clusters[c].members[k];
      Node& node = *members[m];
      Placement placement{node.item.item_id, id, node.relation, 0, 0, JoinReason::none};
      int best = -1;
      Relation link = Relation::report;
      if (m != founder) {
        for (const Edge& e : node.edges) {
          const auto j = local.find(e.other);
          if (j == local.end() || cluster_of[j->second] != c || e.p <= 0) continue;
          if (e.p > placement.probability || (e.p == placement.probability && j->second < best)) {
            placement.probability = e.p;
            placement.matched_item = e.other;
            best = j->second;
            link = e.relation;
          }
        }
      }
      if (m == founder) {
        placement.reason = JoinReason::founder;
      } else if (node.reason == JoinReason::by_hand && before[k] == id) {
        placement.reason = JoinReason::by_hand;
      } else if (best >= 0) {
        placement.reason = link == Relation::same_url ? JoinReason::same_url : JoinReason::link;
      }
      const std::uint8_t p = hundredths(placement.probability);
      const bool moved = before[k] != id;
      const bool same = node.reason == placement.reason && node.matched == placement.matched_item &&
                        node.matched_p == p;
      node.reason = placement.reason;
      node.matched = placement.matched_item;
      node.matched_p = p;
      if (moved) {
        result.placed.push_back(placement);
      } else if (!same) {
        result.relinked.push_back(placement);
      }
    }
    index_story(story);
  }
}

StoryIndex::StoryIndex(DedupOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
StoryIndex::~StoryIndex() = default;

const DedupOptions& StoryIndex::options() const {
  return impl_->options;
}

const PairModel& StoryIndex::model() const {
  return impl_->model;
}

double StoryIndex::threshold() const {
  return impl_->threshold;
}

void StoryIndex::count(const Candidate& item) {
  if (impl_->nodes.contains(item.item_id) || !impl_->counted.insert(item.item_id).second) return;
  impl_->statistics.add(item.features);
}

InsertResult StoryIndex::insert(std::vector<Candidate> items, std::int64_t& next_story) {
  Impl& m = *impl_;
  // Linked in tie order: which pairs a new item finds does not follow the feeds' answers.
  std::sort(items.begin(), items.end(), [](const Candidate& a, const Candidate& b) {
    return std::tie(a.published, a.guid, a.canonical_url, a.title_key, a.feed_id, a.item_id) <
           std::tie(b.published, b.guid, b.canonical_url, b.title_key, b.feed_id, b.item_id);
  });
  for (const Candidate& item : items)
    count(item);
  std::vector<std::int64_t> fresh;
  fresh.reserve(items.size());
  for (Candidate& item : items) {
    if (m.nodes.contains(item.item_id)) continue;
    m.counted.erase(item.item_id);
    const std::int64_t id = item.item_id;
    Node& node = m.put(std::move(item), 0, Relation::original);
    m.link(node);
    fresh.push_back(id);
  }
  items.clear();
  items.shrink_to_fit();
  m.drift(fresh);
  return m.recluster(fresh, next_story);
}

void StoryIndex::add(Candidate item, std::int64_t story_id, Relation relation,
                     const Placement& why) {
  Impl& m = *impl_;
  if (m.nodes.contains(item.item_id)) return;
  if (!m.counted.erase(item.item_id)) m.statistics.add(item.features);
  const std::int64_t id = item.item_id;
  Node& node = m.put(std::move(item), story_id, relation);
  node.reason = why.reason;
  node.matched = why.matched_item;
  node.matched_p = hundredths(why.probability);
  // An index being built from the store has never scored its pairs (drift_docs 0): the first
  // insert scores every pair again under the statistics of everything added (drift), so
  // linking here would be done twice. Its keys are posted now, as link() would.
  if (m.drift_docs > 0) {
    m.link(node);
  } else {
    m.post_keys(node);
  }
  auto [it, created] = m.stories.try_emplace(story_id);
  Story& story = it->second;
  story.id = story_id;
  if (created) {
    story.first = story.last = node.item.published;
    m.by_last.emplace(story.last, story_id);
  }
  story.first = std::min(story.first, node.item.published);
  if (node.item.published > story.last) {
    story.last = node.item.published;
    m.by_last.emplace(story.last, story_id);
  }
  story.frozen = story.frozen || placed_by_hand(relation, why.reason);
  // Members stay in tie order; items mostly come in order, so this is usually an append.
  auto before = [&](std::int64_t a, std::int64_t b) {
    return order_key(m.nodes.at(a)) < order_key(m.nodes.at(b));
  };
  auto at = story.members.end();
  if (!story.members.empty() && !before(story.members.back(), id))
    at = std::lower_bound(story.members.begin(), story.members.end(), id, before);
  story.members.insert(at, id);
}

bool StoryIndex::written_as_name(const TitleCapital& capital) const {
  return impl_->written_as_name(capital.entity, capital.term);
}

Signals StoryIndex::compare(const Candidate& first, const Candidate& second) {
  Impl& m = *impl_;
  // With the names the stream's lexicon gives their headlines, as the index links them.
  std::optional<Candidate> promoted_a;
  std::optional<Candidate> promoted_b;
  if (!first.features.title_capitals.empty()) m.promote(promoted_a.emplace(first));
  if (!second.features.title_capitals.empty()) m.promote(promoted_b.emplace(second));
  const Candidate& a = promoted_a ? *promoted_a : first;
  const Candidate& b = promoted_b ? *promoted_b : second;
  Weights x;
  Weights y;
  Probe px;
  m.refresh(a, x, true, &px);
  m.refresh(b, y, true);
  set_link_keys(a, x);
  set_link_keys(b, y);
  auto identity = [&](const Candidate& item, const Weights& w) {
    if (w.url_key == 0 || !is_article_url(item.canonical_url)) return false;
    const auto found = m.feed_links.find(feed_link_key(item.feed_id, w.url_key));
    if (found == m.feed_links.end()) return true;
    return !found->second.shared && found->second.title_key == item.title_key;
  };
  return m.pair(a, px, x, identity(a, x), b, y, identity(b, y), true);
}

std::optional<Time> StoryIndex::first_published(std::int64_t story) const {
  const auto found = impl_->stories.find(story);
  if (found == impl_->stories.end() || found->second.members.empty()) return std::nullopt;
  return found->second.first;
}

std::optional<std::int64_t> StoryIndex::story_of(std::int64_t item_id) const {
  const auto found = impl_->nodes.find(item_id);
  if (found == impl_->nodes.end() || found->second.story == 0) return std::nullopt;
  return found->second.story;
}

std::optional<std::int64_t> StoryIndex::representative(std::int64_t story_id) const {
  const auto found = impl_->stories.find(story_id);
  if (found == impl_->stories.end() || found->second.members.empty()) return std::nullopt;
  std::vector<const Node*> members;  // in tie order: by publication first
  for (std::int64_t id : found->second.members) {
    if (auto node = impl_->nodes.find(id); node != impl_->nodes.end())
      members.push_back(&node->second);
  }
  if (members.empty()) return std::nullopt;
  const auto& preferred = impl_->options.preferred;
  auto is_preferred = [&](const Node* member) {
    return std::find(preferred.begin(), preferred.end(), member->item.host) != preferred.end();
  };
  auto is_copy = [](const Node* member) {
    return member->relation == Relation::copy || member->relation == Relation::translation ||
           member->relation == Relation::same_url;
  };
  // The story's first sighting; a member that came later claiming to predate it by much
  // ranks by when it was seen (a feed can backdate a copied headline; it cannot backdate
  // when we polled it). Members seen together keep their claims: a first poll is all old.
  Time first_seen = Time::max();
  for (const Node* member : members)
    first_seen = std::min(first_seen, member->item.first_seen);
  auto ranked_at = [&](const Node* member) {
    const Candidate& item = member->item;
    const bool backdated = item.published < first_seen - kBackdateTolerance &&
                           item.first_seen > first_seen + kSeenTogether;
    return backdated ? item.first_seen : item.published;
  };
  // How central each member is: P (hundredths) summed over the links the store keeps (its
  // matched pair, the pairs of those matched with it), so that the store's fallback
  // (default_representative_sql) reads the same figure.
  std::vector<int> central(members.size(), 0);
  {
    boost::unordered_flat_map<std::int64_t, std::size_t> at;
    for (std::size_t i = 0; i < members.size(); ++i)
      at.emplace(members[i]->item.item_id, i);
    for (std::size_t i = 0; i < members.size(); ++i) {
      const Node* member = members[i];
      if (member->matched == 0) continue;
      const auto other = at.find(member->matched);
      if (other == at.end()) continue;
      central[i] += member->matched_p;
      central[other->second] += member->matched_p;
    }
  }
  // Ties after the rules above: a preferred host, then the most central, then tie order.
  auto better_tied = [&](std::size_t a, std::size_t b) {
    const bool pa = is_preferred(members[a]);
    const bool pb = is_preferred(members[b]);
    if (pa != pb) return pa;
    return central[a] > central[b];
  };
  std::optional<std::size_t> earliest;
  Time earliest_at{};
  for (std::size_t i = 0; i < members.size(); ++i) {
    if (is_copy(members[i])) continue;
    const Time at = ranked_at(members[i]);
    if (!earliest || at < earliest_at || (at == earliest_at && better_tied(i, *earliest))) {
      earliest = i;
      earliest_at = at;
    }
  }
  if (earliest) return members[*earliest]->item.item_id;
  std::size_t chosen = 0;
  for (std::size_t i = 1; i < members.size(); ++i) {
    if (better_tied(i, chosen)) chosen = i;
  }
  return members[chosen]->item.item_id;
}

std::size_t StoryIndex::evict() {
  Impl& m = *impl_;
  if (!m.newest) return 0;
  const Time horizon = *m.newest - 2 * m.options.window;
  std::size_t dropped = 0;
  while (!m.by_last.empty() && m.by_last.top().first < horizon) {
    const auto [last, id] = m.by_last.top();
    m.by_last.pop();
    const auto found = m.stories.find(id);
    // Gone already, or moved on since this entry (a newer one stands for it).
    if (found == m.stories.end() || found->second.last != last) continue;
    m.drop(found);
    ++dropped;
  }
  m.compact_if_due();
  m.floor = std::max(m.floor, horizon);
  return dropped;
}

Time StoryIndex::covered_from() const {
  if (impl_->floor == Time::min()) return Time::min();
  return impl_->floor + impl_->options.window;
}

void StoryIndex::lower_floor(Time floor) {
  impl_->floor = std::min(impl_->floor, floor);
}

void StoryIndex::raise_floor(Time floor) {
  impl_->floor = std::max(impl_->floor, floor);
}

bool StoryIndex::contains_item(std::int64_t item_id) const {
  return impl_->nodes.contains(item_id);
}

void StoryIndex::remove_story(std::int64_t story) {
  auto found = impl_->stories.find(story);
  if (found == impl_->stories.end()) return;
  impl_->drop(found);
  impl_->compact_if_due();
}

std::size_t StoryIndex::story_count() const {
  return impl_->stories.size();
}

std::size_t StoryIndex::item_count() const {
  return impl_->nodes.size();
}

std::size_t StoryIndex::edge_count() const {
  return impl_->edges;
}

}  // namespace feedmerge::dedup
