#include "feedmerge/dedup/story_index.h"

#include <xxhash.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <queue>
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
  double docs() const { return docs_; }
  std::uint32_t df(std::uint32_t id) const { return counts_[id & (kBuckets - 1)]; }

 private:
  static constexpr std::uint32_t kEntitySalt = 0x5bd1e995u;
  std::vector<std::uint32_t> counts_;
  double docs_ = 0;
};

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
    const std::uint32_t x = a.sketch[i];
    const std::uint32_t y = b.sketch[i];
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

// Sum of products over the ids two sorted lists share. Branch-free merge: which side moves
// on is data, not a branch (the ids of two texts interleave unpredictably).
std::uint32_t id_of(const Term& term) {
  return term.id;
}
std::uint32_t id_of(std::uint32_t id) {
  return id;
}

template <typename Key>
double sparse_dot(const std::vector<Key>& ids_a, const std::vector<float>& a,
                  const std::vector<Key>& ids_b, const std::vector<float>& b) {
  double dot = 0;
  const std::size_t n = ids_a.size();
  const std::size_t m = ids_b.size();
  for (std::size_t i = 0, j = 0; i < n && j < m;) {
    const std::uint32_t x = id_of(ids_a[i]);
    const std::uint32_t y = id_of(ids_b[j]);
    const double product = static_cast<double>(a[i]) * b[j];
    dot += x == y ? product : 0.0;
    i += x <= y;
    j += y <= x;
  }
  return dot;
}

// What comparisons need again and again, computed once per item (not per comparison): the
// TF-IDF weight of each term and the IDF of each entity, parallel to Features::terms and
// ::entities, and the vector norms, all under the statistics of `norm_docs` documents;
// refreshed as the statistics drift.
struct Weights {
  std::vector<float> terms;
  std::vector<float> entities;
  double term_norm = 0;
  double entity_norm = 0;
  double norm_docs = -1;
  // Hashes of the canonical URL and of the id (0: none, or too short to mean anything). A
  // member keeps these instead of the strings: a first poll puts tens of thousands of items
  // into the index.
  std::uint64_t url_key = 0;
  std::uint64_t guid_key = 0;
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

struct Member {
  Candidate item;
  Relation relation = Relation::report;
  Weights weights;
  std::uint64_t feed_link = 0;  // its entry in Impl::feed_links (0: none)
};

struct Story {
  std::int64_t id = 0;
  std::vector<Member> members;
  Time first{};
  Time last{};
  std::optional<std::int64_t> isolated_feed;  // a merge = false feed's story
};

// Story id -> summed weight for one decide(): open addressing, emptied in O(1) by a new
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

// Scoring (tuned on tests/data/dedup/dev, checked on tests/data/dedup): see Impl::score.
constexpr double kTermWeight = 0.7;           // same language: terms vs names
constexpr double kCrossTermWeight = 0.1;      // across languages
constexpr double kReportHours = 18;           // reports this far apart start to fade...
constexpr double kReportFade = 24;            // ...and are gone this many hours later
constexpr double kReportEntities = 0.1;       // a report shares at least this much of its names
constexpr double kEventGain = 2.0;            // puts the tuned event cut-off at threshold 0.5
constexpr double kTranslationOrder = 0.55;    // names in the same order: a translation...
constexpr double kTranslationEntities = 0.3;  // ...that shares this much of its names
constexpr double kCopyJaccard = 0.5;          // shingle Jaccard of a near-duplicate

// A story scores as its best-matching member. Members compared per candidate story: the
// earliest (usually the original) and the latest.
constexpr std::size_t kMembersCompared = 8;
// Stories fully scored per item, best first by shared rare words.
constexpr std::size_t kCandidates = 8;
// A word carried by more stories than this is too common to find candidates with.
constexpr std::size_t kMaxPosting = 100;
// Candidates sharing less than this share of the best candidate's rare-key weight are skipped.
constexpr double kCandidateShare = 0.2;
// The item's rarest names and words looked up in the postings.
constexpr std::size_t kGatherKeys = 32;

}  // namespace

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

Relation relation_from_string(std::string_view text) {
  for (Relation relation : {Relation::original, Relation::same_url, Relation::copy,
                            Relation::translation, Relation::report, Relation::manual}) {
    if (to_string(relation) == text) return relation;
  }
  return Relation::report;
}

std::string explain(const Signals& s, double threshold) {
  char buffer[1024];
  std::snprintf(buffer, sizeof buffer,
                "same url or item id: %s\n"
                "same feed: %s\n"
                "copy (word 3-shingle Jaccard, MinHash): %.2f%s\n"
                "terms (TF-IDF cosine): %.2f\n"
                "names and numbers (IDF cosine): %.2f%s\n"
                "name order (Jaccard of consecutive pairs): %.2f\n"
                "languages: %s\n"
                "hours apart: %.1f\n"
                "score: %.2f (threshold %.2f): %s, as %s\n",
                s.same_url ? "yes" : "no",
                s.same_feed ? "yes (joins only as the same article)" : "no", s.copy,
                s.copy >= 0.5 ? " (near-duplicate)" : "", s.terms, s.entities,
                s.entities < kReportEntities ? " (too few shared names for a report)" : "",
                s.entity_order, s.cross_language ? "different" : "same", s.hours_apart, s.score,
                threshold, s.score >= threshold ? "same story" : "different stories",
                std::string(to_string(s.relation)).c_str());
  return buffer;
}

struct StoryIndex::Impl {
  explicit Impl(DedupOptions o) : options(std::move(o)) {}

  DedupOptions options;
  TermStatistics statistics;
  // Node-based: a Story is large, and a flat table of them holds two copies of its slots
  // while it grows, at the batch's peak of memory.
  std::unordered_map<std::int64_t, Story> stories;
  // The rest in open addressing (Boost's flat tables) rather than a node per entry: deciding a
  // first poll's 30,000 items is mostly lookups and inserts here. Entries move when a table
  // grows, so no reference into one is held across an insert into the same table.
  // word -> stories. 32-bit ids: the postings are the index's largest part (a first poll
  // posts each item's 60-odd keys); a story id beyond 2^32 is not posted (found by URL only).
  boost::unordered_flat_map<std::uint32_t, std::vector<std::uint32_t>> postings;
  boost::unordered_flat_map<std::uint64_t, std::int64_t> urls;  // URL or guid link_key -> story
  // feed_link_key -> that feed's items with the link, while they are in the index.
  boost::unordered_flat_map<std::uint64_t, LinkUse> feed_links;
  boost::unordered_flat_set<std::int64_t> items;
  boost::unordered_flat_set<std::int64_t> counted;  // items in the statistics before add()
  std::size_t item_total = 0;
  std::size_t dead_postings = 0;  // evicted stories still named in postings
  std::size_t live_postings = 0;
  std::optional<Time> newest;
  Time floor = Time::min();
  // (last, story) for every value a story's `last` has had, oldest on top: evict() pops what
  // fell behind the horizon instead of scanning every story (a first poll calls it every
  // 1,000 items). An entry is current while it equals the story's `last` (which only grows).
  std::priority_queue<std::pair<Time, std::int64_t>, std::vector<std::pair<Time, std::int64_t>>,
                      std::greater<>>
      by_last;
  // Scratch space of decide(), kept to avoid allocating per item.
  Weights probe;
  std::vector<float> probe_idf;
  MassTable mass;
  std::vector<std::pair<float, std::uint32_t>> keys;
  std::vector<std::pair<double, std::int64_t>> ranked;

  // `term_idf`: where to put each term's IDF too (decide ranks keys by it).
  void refresh(const Candidate& item, Weights& w, bool force = false,
               std::vector<float>* term_idf = nullptr) {
    if (!force && w.norm_docs >= 0 && statistics.docs() < w.norm_docs * 1.5 + 64) return;
    w.terms.resize(item.features.terms.size());
    w.entities.resize(item.features.entities.size());
    if (term_idf != nullptr) term_idf->resize(w.terms.size());
    double terms = 0;
    for (std::size_t i = 0; i < w.terms.size(); ++i) {
      const Term& term = item.features.terms[i];
      const double idf = statistics.idf(term.id);
      if (term_idf != nullptr) (*term_idf)[i] = static_cast<float>(idf);
      const double weight = tf(term.weight) * idf;
      w.terms[i] = static_cast<float>(weight);
      terms += weight * weight;
    }
    double entities = 0;
    for (std::size_t i = 0; i < w.entities.size(); ++i) {
      const double weight = statistics.entity_idf(item.features.entities[i]);
      w.entities[i] = static_cast<float>(weight);
      entities += weight * weight;
    }
    w.term_norm = std::sqrt(terms);
    w.entity_norm = std::sqrt(entities);
    w.norm_docs = statistics.docs();
  }

  // Whether `item`'s canonical URL (hashed in `url_key`) names its article: not a site root
  // or section page, and not a link its feed already gave an item with another title (every
  // episode of a podcast linking the show's home page). Titles unknown (0) count as equal.
  bool link_is_identity(const Candidate& item, std::uint64_t url_key,
                        std::string_view canonical) const {
    if (url_key == 0 || !is_article_url(canonical)) return false;
    const auto found = feed_links.find(feed_link_key(item.feed_id, url_key));
    if (found == feed_links.end()) return true;
    const LinkUse& use = found->second;
    return !use.shared && use.title_key == item.title_key;
  }

  // `explain_all`: also the name order of same-language pairs (for `why`); the hot path
  // computes it only where it can decide (a translation).
  // `partial`: when given, the signals that cannot change the score are left at 0, and
  // *partial says whether any was: the terms when too few names are shared or the two are too
  // far apart for a report (see score()), the names too when nothing but a copy or the same
  // URL can join the two. decide() compares most members that way and completes only the
  // signals it reports.
  Signals compare(const Candidate& x, const Weights& a, const Candidate& y, const Weights& b,
                  bool explain_all = false, bool* partial = nullptr) const {
    Signals s;
    s.same_url =
        (a.url_key != 0 && a.url_key == b.url_key) || (a.guid_key != 0 && a.guid_key == b.guid_key);
    s.same_feed = x.feed_id != 0 && x.feed_id == y.feed_id;
    // Two items of one feed join only as one article: their text is not compared at all.
    if (s.same_feed && !s.same_url && !explain_all && partial != nullptr) {
      *partial = true;
      score(s);
      return s;
    }
    s.copy = sketch_similarity(x.features, y.features);
    s.cross_language = x.features.language != y.features.language &&
                       x.features.language != Language::unknown &&
                       y.features.language != Language::unknown;
    s.hours_apart = std::abs(
        std::chrono::duration<double, std::ratio<3600>>(x.published - y.published).count());
    const bool complete = partial == nullptr || explain_all;
    // No report this far apart (its event score fades to 0); a translation still needs names.
    const bool no_report = s.hours_apart >= kReportHours + kReportFade;
    bool skipped = false;
    if (complete || s.cross_language || (!s.same_url && !no_report)) {
      const double dot =
          sparse_dot(x.features.entities, a.entities, y.features.entities, b.entities);
      if (a.entity_norm > 0 && b.entity_norm > 0)
        s.entities = std::min(1.0, dot / (a.entity_norm * b.entity_norm));
    } else {
      skipped = true;
    }
    if (complete || (!skipped && !no_report && s.entities >= kReportEntities)) {
      const double dot = sparse_dot(x.features.terms, a.terms, y.features.terms, b.terms);
      if (a.term_norm > 0 && b.term_norm > 0)
        s.terms = std::min(1.0, dot / (a.term_norm * b.term_norm));
    } else {
      skipped = true;
    }
    if (partial != nullptr) *partial = skipped;
    if (explain_all || (s.cross_language && s.entities >= kTranslationEntities))
      s.entity_order = sequence_overlap(x.features.entity_sequence, y.features.entity_sequence);
    score(s);
    return s;
  }

  // The one place where signals become a score; kept monotone in every signal so that `why`
  // reads simply.
  void score(Signals& s) const {
    // A feed does not report its own news twice: two of its items with other links are a
    // series (episodes, changesets, releases, a template's titles), however alike.
    if (s.same_feed && !s.same_url) {
      s.relation = Relation::report;
      s.score = 0;
      return;
    }
    // Same language: words and names both count. Across languages most words differ (cut
    // cognates still meet), so names and numbers carry the weight.
    double event = s.cross_language
                       ? kCrossTermWeight * s.terms + (1 - kCrossTermWeight) * s.entities
                       : kTermWeight * s.terms + (1 - kTermWeight) * s.entities;
    // Independent reports of one event come out within hours of each other; a day later the
    // same names are more likely a new development (the lawsuit after the ban). Copies and
    // translations can come later and are told by their own signals below.
    if (s.hours_apart > kReportHours) {
      event *= std::max(0.0, 1.0 - (s.hours_apart - kReportHours) / kReportFade);
    }
    // The same event names the same firms, people or figures: words alone (a topic, an
    // outlet's phrasing) never make two reports one story.
    if (s.entities < kReportEntities) event = 0;
    s.relation = Relation::report;
    s.score = kEventGain * event;
    if (s.cross_language && s.entity_order >= kTranslationOrder &&
        s.entities >= kTranslationEntities) {
      s.relation = Relation::translation;
      s.score = std::max(s.score, 0.5 + 0.5 * s.entity_order);
    }
    if (s.copy >= kCopyJaccard) {
      s.relation = Relation::copy;
      s.score = std::max(s.score, 0.5 + 0.5 * s.copy);
    }
    if (s.same_url) {
      s.relation = Relation::same_url;
      s.score = 1.0;
    }
    s.score = std::min(1.0, s.score);
  }

  bool in_window(const Story& story, Time t) const {
    return story.last + options.window >= t && story.first <= t + options.window;
  }

  bool may_join(const Story& story, const Candidate& item) const {
    if (story.isolated_feed) return item.feed_id == *story.isolated_feed;
    return item.merge;
  }

  void post(std::uint32_t word, std::int64_t story_id) {
    if (story_id < 0 || story_id > std::numeric_limits<std::uint32_t>::max()) return;
    const auto story = static_cast<std::uint32_t>(story_id);
    auto& list = postings[word];
    if (list.empty() || list.back() != story) {
      list.push_back(story);
      ++live_postings;
    }
  }

  void compact() {
    for (auto& [word, list] : postings) {
      list.erase(std::remove_if(list.begin(), list.end(),
                                [&](std::uint32_t id) { return !stories.contains(id); }),
                 list.end());
    }
    boost::unordered::erase_if(postings, [](const auto& entry) { return entry.second.empty(); });
    boost::unordered::erase_if(urls,
                               [&](const auto& entry) { return !stories.contains(entry.second); });
    live_postings = 0;
    for (const auto& [word, list] : postings)
      live_postings += list.size();
    dead_postings = 0;
  }

  // The caller compacts (compact_if_due) once it has dropped what it drops.
  void drop(decltype(stories)::iterator it) {
    for (const Member& member : it->second.members) {
      items.erase(member.item.item_id);
      if (member.feed_link != 0) {
        const auto use = feed_links.find(member.feed_link);
        if (use != feed_links.end() && --use->second.items == 0) feed_links.erase(use);
      }
      dead_postings += member.item.features.entities.size() + member.item.features.terms.size();
    }
    item_total -= it->second.members.size();
    stories.erase(it);
  }
  void compact_if_due() {
    if (dead_postings > live_postings / 2 + 1024) compact();
  }
};

StoryIndex::StoryIndex(DedupOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
StoryIndex::~StoryIndex() = default;

const DedupOptions& StoryIndex::options() const {
  return impl_->options;
}

Decision StoryIndex::decide(const Candidate& item) {
  Impl& m = *impl_;
  Decision decision;
  Weights& probe = m.probe;
  m.refresh(item, probe, true, &m.probe_idf);
  set_link_keys(item, probe);
  if (!m.link_is_identity(item, probe.url_key, item.canonical_url)) probe.url_key = 0;

  // Candidates: stories sharing the URL, or sharing the item's rarest names and words, best
  // first. Only the kGatherKeys rarest keys are looked up, and a key carried by more than
  // kMaxPosting stories is skipped: common words find nothing a rare one would not.
  auto& mass = m.mass;
  mass.clear();
  if (item.canonical_url.size() >= 8) {
    if (auto found = m.urls.find(probe.url_key); found != m.urls.end())
      mass.add(found->second, 1e9);
  }
  if (probe.guid_key != 0) {
    if (auto found = m.urls.find(probe.guid_key); found != m.urls.end())
      mass.add(found->second, 1e9);
  }
  auto& keys = m.keys;
  keys.clear();
  for (std::size_t i = 0; i < item.features.entities.size(); ++i)
    keys.emplace_back(2.0f * probe.entities[i], item.features.entities[i] ^ 0x80000000u);
  for (std::size_t i = 0; i < item.features.terms.size(); ++i)
    keys.emplace_back(m.probe_idf[i], item.features.terms[i].id);
  const std::size_t gather = std::min(kGatherKeys, keys.size());
  // The rarest `gather` keys, in no particular order (all of them are looked up).
  std::nth_element(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(gather), keys.end(),
                   std::greater<>());
  for (std::size_t k = 0; k < gather; ++k) {
    const auto found = m.postings.find(keys[k].second);
    if (found == m.postings.end() || found->second.size() > kMaxPosting) continue;
    for (std::uint32_t story : found->second)
      mass.add(story, keys[k].first);
  }

  auto& ranked = m.ranked;
  ranked.clear();
  for (const auto& [story, weight] : mass.entries())
    ranked.emplace_back(weight, story);
  const std::size_t keep = std::min(kCandidates, ranked.size());
  std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(keep),
                    ranked.end(), std::greater<>());

  for (std::size_t c = 0; c < keep; ++c) {
    // Stories that share far less than the best one are not worth comparing.
    if (ranked[c].first < kCandidateShare * ranked[0].first) break;
    auto found = m.stories.find(ranked[c].second);
    if (found == m.stories.end()) continue;
    Story& story = found->second;
    if (!m.in_window(story, item.published) || !m.may_join(story, item)) continue;
    // The earliest members and the latest ones, at most kMembersCompared.
    const std::size_t n = story.members.size();
    double best = -1;
    Signals best_signals;
    const Member* best_member = nullptr;
    bool best_skipped = false;
    for (std::size_t i = 0; i < n; ++i) {
      if (n > kMembersCompared && i >= kMembersCompared / 2 && i < n - kMembersCompared / 2)
        continue;
      Member& member = story.members[i];
      m.refresh(member.item, member.weights);
      bool skipped = false;
      const Signals signals = m.compare(item, probe, member.item, member.weights, false, &skipped);
      // An independent report joins only a story that would still fit in one window with
      // it: reports chained member to member would otherwise grow one story for weeks (a
      // saga's every twist). Copies, translations and the same URL join whenever they come.
      if (signals.relation == Relation::report &&
          std::max(story.last, item.published) - std::min(story.first, item.published) >
              m.options.window)
        continue;
      if (signals.score > best) {
        best = signals.score;
        best_signals = signals;
        best_member = &member;
        best_skipped = skipped;
      }
    }
    if (best < 0) continue;
    if (best > decision.story_score) {
      // The reported signals are complete (the same score: what was skipped did not count).
      if (best_skipped)
        best_signals = m.compare(item, probe, best_member->item, best_member->weights);
      const std::int64_t best_item = best_member->item.item_id;
      decision.story_score = best;
      decision.signals = best_signals;
      decision.matched_item = best_item;
      if (best >= m.options.threshold) decision.story = story.id;
    }
  }
  if (!decision.story) decision.signals.relation = Relation::original;
  return decision;
}

void StoryIndex::add(Candidate item, std::int64_t story_id, Relation relation) {
  Impl& m = *impl_;
  if (!m.items.insert(item.item_id).second) return;
  if (!m.counted.erase(item.item_id)) m.statistics.add(item.features);
  auto [it, created] = m.stories.try_emplace(story_id);
  Story& story = it->second;
  if (created) {
    story.id = story_id;
    story.first = story.last = item.published;
    if (!item.merge) story.isolated_feed = item.feed_id;
    m.by_last.emplace(story.last, story_id);
  }
  story.first = std::min(story.first, item.published);
  if (item.published > story.last) {
    story.last = item.published;
    m.by_last.emplace(story.last, story_id);
  }
  // Members stay sorted by publication time; items mostly arrive in order, so this is
  // usually an append.
  // Ties as the daemon orders a batch: by feed, then by item (not by which feed answered
  // first), so the earliest member, and the representative, do not depend on timing.
  auto before = [](const Member& a, const Candidate& b) {
    return std::tie(a.item.published, a.item.feed_id, a.item.item_id) <
           std::tie(b.published, b.feed_id, b.item_id);
  };
  auto at = story.members.end();
  if (!story.members.empty() && !before(story.members.back(), item))
    at = std::lower_bound(story.members.begin(), story.members.end(), item, before);
  for (std::uint32_t id : item.features.entities)
    m.post(id ^ 0x80000000u, story_id);
  for (const Term& term : item.features.terms)
    m.post(term.id, story_id);
  Weights weights;
  set_link_keys(item, weights);
  std::uint64_t feed_link = 0;
  if (weights.url_key != 0 && is_article_url(item.canonical_url)) {
    feed_link = feed_link_key(item.feed_id, weights.url_key);
    auto [use, fresh] = m.feed_links.try_emplace(feed_link, LinkUse{item.title_key, 0, false});
    if (!fresh && use->second.title_key != item.title_key) use->second.shared = true;
    ++use->second.items;
    if (use->second.shared) weights.url_key = 0;
  } else {
    weights.url_key = 0;
  }
  if (weights.url_key != 0 && item.canonical_url.size() >= 8) m.urls[weights.url_key] = story_id;
  if (weights.guid_key != 0) m.urls[weights.guid_key] = story_id;
  ++m.item_total;
  if (!m.newest || item.published > *m.newest) m.newest = item.published;
  // The keys stand for the strings from now on.
  item.canonical_url = std::string();
  item.guid = std::string();
  story.members.insert(at, Member{std::move(item), relation, std::move(weights), feed_link});
}

void StoryIndex::count(const Candidate& item) {
  if (impl_->items.contains(item.item_id) || !impl_->counted.insert(item.item_id).second) return;
  impl_->statistics.add(item.features);
}

Signals StoryIndex::compare(const Candidate& a, const Candidate& b) {
  Weights x;
  Weights y;
  impl_->refresh(a, x, true);
  impl_->refresh(b, y, true);
  set_link_keys(a, x);
  set_link_keys(b, y);
  if (!impl_->link_is_identity(a, x.url_key, a.canonical_url)) x.url_key = 0;
  if (!impl_->link_is_identity(b, y.url_key, b.canonical_url)) y.url_key = 0;
  return impl_->compare(a, x, b, y, true);
}

std::optional<std::int64_t> StoryIndex::representative(std::int64_t story_id) const {
  const auto found = impl_->stories.find(story_id);
  if (found == impl_->stories.end() || found->second.members.empty()) return std::nullopt;
  const auto& members = found->second.members;  // sorted by publication time
  const auto& preferred = impl_->options.preferred;
  auto is_preferred = [&](const Member& member) {
    return std::find(preferred.begin(), preferred.end(), member.item.host) != preferred.end();
  };
  auto is_copy = [](const Member& member) {
    return member.relation == Relation::copy || member.relation == Relation::translation ||
           member.relation == Relation::same_url;
  };
  // The story's first sighting; a member that came later claiming to predate it by much
  // ranks by when it was seen (a feed can backdate a copied headline; it cannot backdate
  // when we polled it). Members seen together keep their claims: a first poll is all old.
  Time first_seen = Time::max();
  for (const Member& member : members)
    first_seen = std::min(first_seen, member.item.first_seen);
  auto ranked_at = [&](const Member& member) {
    const Candidate& item = member.item;
    const bool backdated = item.published < first_seen - kBackdateTolerance &&
                           item.first_seen > first_seen + kSeenTogether;
    return backdated ? item.first_seen : item.published;
  };
  const Member* earliest = nullptr;
  Time earliest_at{};
  for (const Member& member : members) {
    if (is_copy(member)) continue;
    const Time at = ranked_at(member);
    if (earliest == nullptr || at < earliest_at ||
        (at == earliest_at && is_preferred(member) && !is_preferred(*earliest))) {
      earliest = &member;
      earliest_at = at;
    }
  }
  if (earliest != nullptr) return earliest->item.item_id;
  for (const Member& member : members) {
    if (is_preferred(member)) return member.item.item_id;
  }
  return members.front().item.item_id;
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
  return impl_->items.contains(item_id);
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
  return impl_->item_total;
}

}  // namespace feedmerge::dedup
