#include "daemon/story_assigner.h"

#include <algorithm>
#include <tuple>
#include <unordered_map>

namespace feedmerge::daemon {

namespace {

// A candidate waits for the end of its batch and then lives in the index for a window: a
// first poll holds tens of thousands of them, so no spare capacity.
void compact(dedup::Candidate& candidate) {
  candidate.features.terms.shrink_to_fit();
  candidate.features.entities.shrink_to_fit();
  candidate.features.entity_sequence.shrink_to_fit();
}

}  // namespace

dedup::Candidate StoryAssigner::candidate(const model::Item& item, const store::NewItem& stored,
                                          std::int64_t feed_id, bool merge) {
  dedup::Candidate candidate =
      dedup::make_candidate(item, stored.id, feed_id, merge,
                            store::dedup_time(item.updated, stored.published,
                                              stored.published_estimated, stored.first_seen));
  candidate.first_seen = stored.first_seen;
  // As read back from the store: an item without an id is known by its key.
  if (candidate.guid.empty()) candidate.guid = stored.key;
  compact(candidate);
  return candidate;
}

StoryAssigner::StoryAssigner(const config::Config& config, store::Store& store) : store_(store) {
  options_.window = config.dedup.window;
  options_.threshold = config.dedup.threshold;
  options_.preferred = config.dedup.preferred;
  for (const config::FeedConfig& feed : config.feeds)
    merge_by_url_[feed.url] = feed.merge;
}

Result<std::unique_ptr<StoryAssigner>> StoryAssigner::open(const config::Config& config,
                                                           store::Store& store) {
  std::unique_ptr<StoryAssigner> assigner(new StoryAssigner(config, store));
  auto pending = store.unassigned_item_ids();
  if (!pending) return pending.error();
  if (!pending->empty()) {
    const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    if (auto assigned = assigner->assign(*pending, now); !assigned) return assigned.error();
  }
  return assigner;
}

dedup::Candidate StoryAssigner::candidate(const store::StoredItem& item) const {
  const auto found = merge_by_url_.find(item.feed_url);
  const bool merge = found == merge_by_url_.end() || found->second;
  dedup::Candidate candidate =
      dedup::make_candidate(item.item, item.id, item.feed_id, merge, store::dedup_time(item));
  candidate.first_seen = item.first_seen;
  // An item without an id is known by its key, as a new one is (candidate() above).
  if (candidate.guid.empty()) candidate.guid = item.key;
  compact(candidate);
  return candidate;
}

Result<void> StoryAssigner::load(model::Time from, model::Time to) {
  auto items = store_.assigned_between(from, to);
  if (!items) return items.error();
  for (const store::StoredItem& item : *items) {
    if (index_->contains_item(item.id)) continue;
    index_->add(candidate(item), *item.story_id, dedup::relation_from_string(item.relation));
  }
  return {};
}

Result<void> StoryAssigner::rebuild() {
  index_ = std::make_unique<dedup::StoryIndex>(options_);
  auto overrides = store_.last_override_id();
  if (!overrides) return overrides.error();
  overrides_seen_ = *overrides;
  auto newest = store_.newest_assigned_publication();
  if (!newest) return newest.error();
  if (!*newest) return {};
  const model::Time from = **newest - 2 * options_.window;
  if (auto loaded = load(from, model::Time::max()); !loaded) return loaded;
  index_->raise_floor(from);
  return {};
}

Result<int> StoryAssigner::assign(const std::vector<std::int64_t>& item_ids, model::Time now) {
  // In slices: a backlog after a crash must not hold every item's text at once.
  constexpr std::size_t kSlice = 1000;
  Batch pending;
  for (std::size_t begin = 0; begin < item_ids.size(); begin += kSlice) {
    const std::size_t end = std::min(item_ids.size(), begin + kSlice);
    auto rows = store_.items_by_id(
        std::vector<std::int64_t>(item_ids.begin() + static_cast<std::ptrdiff_t>(begin),
                                  item_ids.begin() + static_cast<std::ptrdiff_t>(end)));
    if (!rows) return rows.error();
    for (const store::StoredItem& row : *rows) {
      if (!row.story_id) pending.push_back(std::make_unique<dedup::Candidate>(candidate(row)));
    }
  }
  return assign(std::move(pending), now);
}

Result<void> StoryAssigner::catch_up(const Batch& pending) {
  // Not built yet, or a person changed stories since we last looked: start from the store.
  auto overrides = store_.last_override_id();
  if (!overrides) return overrides.error();
  if (!index_ || *overrides != overrides_seen_) {
    if (auto built = rebuild(); !built) return built;
  }
  // A backfill older than the index: bring in the stories around it first.
  const model::Time oldest = pending.front()->published;
  if (oldest < index_->covered_from()) {
    const model::Time from = oldest - options_.window;
    if (auto loaded = load(from, index_->covered_from()); !loaded) return loaded;
    index_->lower_floor(from);
  }
  for (const auto& item : pending)
    index_->count(*item);
  return {};
}

Result<int> StoryAssigner::assign(Batch pending, model::Time now) {
  constexpr int kEvictEvery = 1000;
  if (pending.empty()) return 0;

  // Ties (copies often carry the same minute) go by feed, then by the feed's own order: item
  // ids alone follow the order in which feeds happened to answer.
  std::sort(pending.begin(), pending.end(), [](const auto& a, const auto& b) {
    return std::tie(a->published, a->feed_id, a->item_id) <
           std::tie(b->published, b->feed_id, b->item_id);
  });
  int assigned = 0;
  std::int64_t created = 0;
  // Foreign keys unchecked: every story the index names exists as of inside this transaction
  // (catch_up sees another process's merge or split; this one's retention resets the index,
  // tidy()), and every item of the batch does (retention writes the open batch first, and
  // runs on the same thread).
  auto written = store_.write_stories(
      [&](store::StoryWriter& writer) -> Result<void> {
        if (auto ready = catch_up(pending); !ready) return ready.error();
        std::int64_t next_story = writer.next_story_id();
        const std::int64_t first_story = next_story;
        store::StoryWrites block;
        // Story -> the earliest member that joined it since it was last written.
        std::unordered_map<std::int64_t, model::Time> touched;
        // Stories from here on were created by the current block (ids are handed out in order).
        std::int64_t block_first_story = next_story;
        // A block's writes go to the store every kEvictEvery items, before the index evicts
        // what they name; the batch commits once, at the end.
        auto hand_over = [&] {
          for (const auto& [story, earliest] : touched) {
            if (story >= block_first_story) {
              block.created.push_back({story, earliest, index_->representative(story)});
            } else {
              block.touched.push_back({story, index_->representative(story), earliest});
            }
          }
          std::sort(block.created.begin(), block.created.end(),
                    [](const auto& a, const auto& b) { return a.id < b.id; });
          touched.clear();
          block_first_story = next_story;
          writer.apply(block, now);
          block = {};
        };
        for (std::unique_ptr<dedup::Candidate>& next : pending) {
          dedup::Candidate& item = *next;
          const dedup::Decision decision = index_->decide(item);
          std::int64_t story = 0;
          dedup::Relation relation = dedup::Relation::original;
          if (decision.story) {
            story = *decision.story;
            relation = decision.signals.relation;
          } else {
            story = next_story++;
          }
          block.members.push_back({item.item_id, story, std::string(dedup::to_string(relation)),
                                   item.canonical_url, item.published});
          const model::Time published = item.published;
          // Moved, not copied: a large batch is not held twice.
          index_->add(std::move(item), story, relation);
          next.reset();
          auto [at, inserted] = touched.try_emplace(story, published);
          if (!inserted) at->second = std::min(at->second, published);
          ++assigned;
          // A batch spanning weeks (a first poll, a backfill) goes through the window as a live
          // stream would: stories that fell out of it leave the index on the way, once their
          // writes are taken.
          if (assigned % kEvictEvery == 0) {
            hand_over();
            index_->evict();
          }
        }
        hand_over();
        created = next_story - first_story;
        return {};
      },
      store::Store::ForeignKeys::trust);
  if (!written) {
    // The index already holds what the store refused: start again from the store, later.
    index_.reset();
    return written.error();
  }
  index_->evict();
  last_created_ = created;
  return assigned;
}

Result<int> StoryAssigner::tidy() {
  // Retention removed items the index may still hold, as members or representatives, and may
  // have emptied their stories: a later item matching one would be written into a story or
  // under a representative that is gone, and fail its batch. The next batch starts from the
  // store (retention runs hourly at most).
  index_.reset();
  return store_.drop_empty_stories();
}

}  // namespace feedmerge::daemon
