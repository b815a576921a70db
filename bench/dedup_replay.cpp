// dedup_replay: replays feed files through the story assignment (dedup::StoryIndex) in
// publication order, as the daemon's writer would meet them, without SQLite. For the dedup
// benchmark (bench/dedup_bench.sh) and for looking at clustering quickly.
//
//   dedup_replay [--window 72h] [--threshold 0.4] [--model FILE] [--predictions FILE]
//                [--pairs FILE] [--progress N] [--digest] [--first-poll] DIR...
//
// Parses every file first (not timed), then times feature extraction plus assignment per item.
// Prints one `PROGRESS items=... stories_in_index=... items_in_index=... rss_kb=...` line
// every N items (default 10,000), the cost of the first and last 10,000 items, and one
// machine-readable `RESULT key=value ...` line (its `decisions=` hashes every decision: a change
// meant to keep them keeps it). --predictions writes score.py's input
// ({"clusters": [[link, ...]]}). --digest prints only a hash of every item's features (to check
// that a change to feature extraction keeps them) and the CPU time of features per item.
// --first-poll replays every item as one batch, as the daemon assigns a first poll: all words
// counted in the statistics first (untimed, with the features), then blocks of 1,000.
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "feedmerge/config/config.h"
#include "feedmerge/dedup/story_index.h"
#include "feedmerge/normalize/text.h"
#include "feedmerge/parse/parser.h"

namespace {

namespace fs = std::filesystem;
using feedmerge::model::Time;

struct Entry {
  feedmerge::model::Item item;
  std::int64_t feed_id = 0;
  Time published{};
};

long current_rss_kb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}

double thread_seconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

long peak_rss_kb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

}  // namespace

int main(int argc, char** argv) {
  feedmerge::dedup::DedupOptions options;
  std::string predictions;
  std::string show;        // prints the names found in items whose link contains this
  std::string pairs_path;  // every pair within the window with its signals (for tuning)
  std::size_t progress = 10'000;
  bool digest = false;  // prints a hash of every item's features (to check changes keep them)
  bool first_poll = false;
  std::vector<std::string> dirs;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (arg == "--window") {
      options.window = feedmerge::config::parse_duration(value()).value_or(options.window);
    } else if (arg == "--threshold") {
      options.threshold = std::stod(value());
    } else if (arg == "--model") {
      std::ifstream in(value());
      const std::string text((std::istreambuf_iterator<char>(in)), {});
      options.model = feedmerge::dedup::parse_pair_model(text);
    } else if (arg == "--predictions") {
      predictions = value();
    } else if (arg == "--show") {
      show = value();
    } else if (arg == "--pairs") {
      pairs_path = value();
    } else if (arg == "--digest") {
      digest = true;
    } else if (arg == "--first-poll") {
      first_poll = true;
    } else if (arg == "--progress") {
      progress = std::stoul(value());
    } else {
      dirs.push_back(arg);
    }
  }

  std::vector<Entry> entries;
  std::int64_t feed_id = 0;
  for (const std::string& dir : dirs) {
    std::vector<fs::path> files;
    for (const auto& file : fs::directory_iterator(dir)) {
      const auto ext = file.path().extension();
      if (ext == ".xml" || ext == ".rss" || ext == ".atom" || ext == ".rdf" || ext == ".json")
        files.push_back(file.path());
    }
    std::sort(files.begin(), files.end());
    for (const fs::path& path : files) {
      std::ifstream in(path, std::ios::binary);
      const std::string bytes((std::istreambuf_iterator<char>(in)), {});
      auto parsed = feedmerge::parse::parse_feed({bytes, "", ""});
      if (!parsed) continue;
      ++feed_id;
      for (auto& item : parsed->feed.items) {
        const Time published = item.published ? *item.published
                               : item.updated ? *item.updated
                                              : Time{};
        entries.push_back({std::move(item), feed_id, published});
      }
    }
  }
  std::stable_sort(entries.begin(), entries.end(),
                   [](const Entry& a, const Entry& b) { return a.published < b.published; });
  const auto undated = std::count_if(entries.begin(), entries.end(),
                                     [](const Entry& e) { return e.published == Time{}; });
  std::fprintf(stderr, "replaying %zu items (%zd without a date) from %lld feeds\n", entries.size(),
               static_cast<std::ptrdiff_t>(undated), static_cast<long long>(feed_id));

  for (const Entry& entry : entries) {
    if (show.empty() || entry.item.link.find(show) == std::string::npos) continue;
    const auto c = feedmerge::dedup::make_candidate(entry.item, 0, 0, true, entry.published);
    std::printf("%s [%s]\n ", entry.item.link.c_str(),
                std::string(feedmerge::dedup::to_string(c.features.language)).c_str());
    std::string body = feedmerge::normalize::html_to_text(entry.item.summary);
    if (body.size() < 300) body += " " + feedmerge::normalize::html_to_text(entry.item.content);
    for (const auto& name : feedmerge::dedup::entity_names(entry.item.title, body))
      std::printf(" %s", name.c_str());
    std::printf("\n");
  }

  if (digest) {
    // FNV-1a over the features' fields, item by item in replay order; and the fastest of three
    // passes of make_candidate alone (features, without the index), in CPU time per item.
    std::uint64_t h = 0xcbf29ce484222325ULL;
    auto mix = [&h](const void* data, std::size_t size) {
      for (std::size_t k = 0; k < size; ++k) {
        h ^= static_cast<const unsigned char*>(data)[k];
        h *= 0x100000001b3ULL;
      }
    };
    for (const Entry& entry : entries) {
      const auto f =
          feedmerge::dedup::make_candidate(entry.item, 0, 0, true, entry.published).features;
      mix(&f.language, sizeof f.language);
      for (const auto& term : f.terms) {
        mix(&term.id, sizeof term.id);
        mix(&term.weight, sizeof term.weight);
      }
      mix(f.entities.data(), f.entities.size() * sizeof(std::uint32_t));
      mix(f.entity_sequence.data(), f.entity_sequence.size() * sizeof(std::uint32_t));
      mix(f.sketch.data(), sizeof f.sketch);
      mix(&f.shingles, sizeof f.shingles);
    }
    double fastest = 1e30;
    for (int pass = 0; pass < 3; ++pass) {
      std::size_t shingles = 0;
      const double t0 = thread_seconds();
      for (const Entry& entry : entries)
        shingles += static_cast<std::size_t>(
            feedmerge::dedup::make_candidate(entry.item, 0, 0, true, entry.published)
                .features.shingles);
      fastest = std::min(fastest, thread_seconds() - t0);
      if (shingles == 0) std::printf("no shingles\n");  // keeps the loop
    }
    std::printf("DIGEST features=%016llx items=%zu features_us_per_item=%.2f\n",
                static_cast<unsigned long long>(h), entries.size(),
                1e6 * fastest / static_cast<double>(std::max<std::size_t>(entries.size(), 1)));
    return 0;
  }

  feedmerge::dedup::StoryIndex index(options);
  std::vector<std::int64_t> story_of(entries.size());
  std::int64_t next_story = 1;
  const std::size_t n = entries.size();
  const std::size_t slice = std::min<std::size_t>(10'000, n / 2 == 0 ? 1 : n / 2);
  // Per-thread CPU time, in blocks of kBlock items: the machine is shared, and waiting for a
  // core is not work. Features (make_candidate) and assignment (insert, evict) apart.
  constexpr std::size_t kBlock = 1000;
  double features_total = 0;
  double assign_total = 0;
  double first_slice = 0;
  double last_slice = 0;
  std::vector<feedmerge::dedup::Candidate> block;
  // A hash of every placement (item, story, relation, matched member, P), taken outside the
  // timed part: a change meant to keep the decisions shows the same `decisions=`.
  std::uint64_t decisions_hash = 0xcbf29ce484222325ULL;
  auto mix_placement = [&decisions_hash](const feedmerge::dedup::Placement& d) {
    auto mix = [&decisions_hash](const void* data, std::size_t size) {
      for (std::size_t k = 0; k < size; ++k) {
        decisions_hash ^= static_cast<const unsigned char*>(data)[k];
        decisions_hash *= 0x100000001b3ULL;
      }
    };
    mix(&d.item_id, sizeof d.item_id);
    mix(&d.story, sizeof d.story);
    mix(&d.matched_item, sizeof d.matched_item);
    mix(&d.probability, sizeof d.probability);
    const auto relation = static_cast<unsigned char>(d.relation);
    mix(&relation, sizeof relation);
  };
  auto candidate = [&](std::size_t i) {
    return feedmerge::dedup::make_candidate(entries[i].item, static_cast<std::int64_t>(i + 1),
                                            entries[i].feed_id, true, entries[i].published);
  };
  std::vector<feedmerge::dedup::Candidate> batch;  // --first-poll: every item, counted
  if (first_poll) {
    const double t0 = thread_seconds();
    batch.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      batch.push_back(candidate(i));
      index.count(batch.back());
    }
    features_total += thread_seconds() - t0;
  }
  for (std::size_t begin = 0; begin < n; begin += kBlock) {
    const std::size_t end = std::min(n, begin + kBlock);
    block.clear();
    const double t0 = thread_seconds();
    for (std::size_t i = begin; i < end; ++i)
      block.push_back(first_poll ? std::move(batch[i]) : candidate(i));
    const double t1 = thread_seconds();
    // As the daemon does with a batch (StoryAssigner::assign): the block's words count in the
    // statistics before its items are placed.
    const auto result = index.insert(std::move(block), next_story);
    index.evict();
    const double t2 = thread_seconds();
    block = {};
    for (const auto& placed : result.placed) {
      story_of[static_cast<std::size_t>(placed.item_id - 1)] = placed.story;
      mix_placement(placed);
    }
    features_total += t1 - t0;
    assign_total += t2 - t1;
    if (begin < slice) first_slice += t2 - t1;
    if (end > n - slice) last_slice += t2 - t1;
    if (progress > 0 && end % progress == 0) {
      std::printf(
          "PROGRESS items=%zu stories_in_index=%zu items_in_index=%zu edges=%zu rss_kb=%ld "
          "assign_us_per_item=%.2f\n",
          end, index.story_count(), index.item_count(), index.edge_count(), current_rss_kb(),
          1e6 * (t2 - t1) / static_cast<double>(end - begin));
    }
  }
  const double total = features_total + assign_total;
  std::printf(
      "RESULT items=%zu cpu_seconds=%.3f items_per_second=%.0f assign_items_per_second=%.0f "
      "features_items_per_second=%.0f first_slice_assign_us_per_item=%.2f "
      "last_slice_assign_us_per_item=%.2f slice=%zu stories=%lld peak_rss_kb=%ld "
      "decisions=%016llx\n",
      n, total, n / std::max(total, 1e-9), n / std::max(assign_total, 1e-9),
      n / std::max(features_total, 1e-9), 1e6 * first_slice / slice, 1e6 * last_slice / slice,
      slice, static_cast<long long>(next_story - 1), peak_rss_kb(),
      static_cast<unsigned long long>(decisions_hash));

  if (!pairs_path.empty()) {
    // Every pair of items from different feeds within the window, with what the model reads
    // (bench/dedup_fit.py fits the model on these): link_a, link_b, same_url, then the
    // features in PairFeature order.
    std::ofstream out(pairs_path);
    std::vector<feedmerge::dedup::Candidate> all;
    for (std::size_t i = 0; i < n; ++i)
      all.push_back(
          feedmerge::dedup::make_candidate(entries[i].item, static_cast<std::int64_t>(i + 1),
                                           entries[i].feed_id, true, entries[i].published));
    out << "link_a\tlink_b\tsame_url";
    for (std::size_t f = 0; f < feedmerge::dedup::kPairFeatureCount; ++f)
      out << '\t' << feedmerge::dedup::pair_feature_name(f);
    out << '\n';
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t j = i + 1; j < n; ++j) {
        if (all[j].published - all[i].published > options.window) break;
        if (all[i].feed_id == all[j].feed_id) continue;
        const auto s = index.compare(all[i], all[j]);
        out << entries[i].item.link << '\t' << entries[j].item.link << '\t' << s.same_url;
        for (double value : s.features)
          out << '\t' << value;
        out << '\n';
      }
    }
  }
  if (!predictions.empty()) {
    std::map<std::int64_t, boost::json::array> clusters;
    for (std::size_t i = 0; i < n; ++i)
      clusters[story_of[i]].push_back(boost::json::value(entries[i].item.link));
    boost::json::array list;
    for (auto& [story, links] : clusters)
      list.push_back(std::move(links));
    std::ofstream out(predictions);
    out << boost::json::serialize(boost::json::object{{"clusters", std::move(list)}}) << '\n';
  }
  return 0;
}
