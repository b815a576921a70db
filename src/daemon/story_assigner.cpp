#include "daemon/story_assigner.h"

#include <algorithm>
#include <unordered_set>

namespace feedmerge::daemon {

model::Time dedup_time(const store::StoryItem& item) {
  if (item.published_estimated && item.item.updated && *item.item.updated <= item.first_seen)
    return *item.item.updated;
  return *item.item.published;
}

StoryAssigner::StoryAssigner(const config::Config& config,
                             std::unique_ptr<store::StoryStore> stories)
    : stories_(std::move(stories)) {
  options_.window = config.dedup.window;
  options_.threshold = config.dedup.threshold;
  options_.preferred = config.dedup.preferred;
  for (const config::FeedConfig& feed : config.feeds)
    merge_by_url_[feed.url] = feed.merge;
}

Result<std::unique_ptr<StoryAssigner>> StoryAssigner::open(const config::Config& config,
                                                           const std::string& database) {
  auto stories = store::StoryStore::open(database, store::OpenMode::read_write);
  if (!stories) return stories.error();
  std::unique_ptr<StoryAssigner> assigner(new StoryAssigner(config, std::move(*stories)));
  auto pending = assigner->stories_->unassigned_item_ids();
  if (!pending) return pending.error();
  if (!pending->empty()) {
    const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    if (auto assigned = assigner->assign(*pending, now); !assigned) return assigned.error();
  }
  return assigner;
}

dedup::Candidate StoryAssigner::candidate(const store::StoryItem& item) const {
  const auto found = merge_by_url_.find(item.feed_url);
  const bool merge = found == merge_by_url_.end() || found->second;
  return dedup::make_candidate(item.item, item.id, item.feed_id, merge, dedup_time(item));
}

Result<void> StoryAssigner::load(model::Time from, model::Time to) {
  auto items = stories_->assigned_between(from, to);
  if (!items) return items.error();
  for (const store::StoryItem& item : *items) {
    if (index_->contains_item(item.id)) continue;
    index_->add(candidate(item), *item.story_id, dedup::relation_from_string(item.relation));
  }
  return {};
}

Result<void> StoryAssigner::rebuild() {
  index_ = std::make_unique<dedup::StoryIndex>(options_);
  auto overrides = stories_->last_override_id();
  if (!overrides) return overrides.error();
  overrides_seen_ = *overrides;
  auto newest = stories_->newest_assigned_publication();
  if (!newest) return newest.error();
  if (!*newest) return {};
  const model::Time from = **newest - 2 * options_.window;
  if (auto loaded = load(from, model::Time::max()); !loaded) return loaded;
  index_->raise_floor(from);
  return {};
}

Result<int> StoryAssigner::assign(const std::vector<std::int64_t>& item_ids, model::Time now) {
  auto rows = stories_->items_by_id(item_ids);
  if (!rows) return rows.error();
  std::vector<dedup::Candidate> pending;
  for (const store::StoryItem& row : *rows) {
    if (!row.story_id) pending.push_back(candidate(row));
  }
  if (pending.empty()) return 0;

  // Not built yet, or a person changed stories since we last looked: start from the store.
  auto overrides = stories_->last_override_id();
  if (!overrides) return overrides.error();
  if (!index_ || *overrides != overrides_seen_) {
    if (auto built = rebuild(); !built) return built.error();
  }
  std::stable_sort(pending.begin(), pending.end(),
                   [](const dedup::Candidate& a, const dedup::Candidate& b) {
                     return a.published < b.published;
                   });
  // A backfill older than the index: bring in the stories around it first.
  const model::Time oldest = pending.front().published;
  if (oldest < index_->covered_from()) {
    const model::Time from = oldest - options_.window;
    if (auto loaded = load(from, index_->covered_from()); !loaded) return loaded.error();
    index_->lower_floor(from);
  }

  for (const dedup::Candidate& item : pending)
    index_->count(item);
  int assigned = 0;
  auto written = stories_->write([&](store::StoryWriter& writer) -> Result<void> {
    std::unordered_set<std::int64_t> touched;
    for (const dedup::Candidate& item : pending) {
      const dedup::Decision decision = index_->decide(item);
      std::int64_t story = 0;
      dedup::Relation relation = dedup::Relation::original;
      if (decision.story) {
        story = *decision.story;
        relation = decision.signals.relation;
      } else {
        story = writer.create_story(item.published, now);
      }
      index_->add(item, story, relation);
      writer.set_story(item.item_id, story, std::string(dedup::to_string(relation)),
                       item.canonical_url);
      touched.insert(story);
      ++assigned;
    }
    for (std::int64_t story : touched)
      writer.touch_story(story, now, index_->representative(story));
    return {};
  });
  if (!written) {
    // The index already holds what the store refused: start again from the store, later.
    index_.reset();
    return written.error();
  }
  index_->evict();
  return assigned;
}

Result<int> StoryAssigner::tidy() {
  return stories_->drop_empty_stories();
}

}  // namespace feedmerge::daemon
