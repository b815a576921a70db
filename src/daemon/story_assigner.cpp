#include "daemon/story_assigner.h"

#include <malloc.h>

#include <algorithm>
#include <cmath>
#include <future>
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
  candidate.features.title_capitals.shrink_to_fit();
  candidate.title_terms.shrink_to_fit();
  candidate.title_entities.shrink_to_fit();
}

// Why a placed member is in its story, as the store keeps it (P to two decimals).
model::JoinedBy joined_by(const dedup::Placement& placed) {
  model::JoinedBy joined{std::string(dedup::to_string(placed.reason)), std::nullopt, 0};
  if (placed.matched_item != 0) {
    joined.item = placed.matched_item;
    joined.p = static_cast<double>(std::lround(placed.probability * 100)) / 100;
  }
  return joined;
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
                                                           store::Store& store,
                                                           bool assign_pending) {
  std::unique_ptr<StoryAssigner> assigner(new StoryAssigner(config, store));
  if (!assign_pending) return assigner;
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
    dedup::Placement why;
    why.reason = dedup::join_reason_from_string(item.joined_by.reason);
    why.matched_item = item.joined_by.item.value_or(0);
    why.probability = item.joined_by.p;
    index_->add(candidate(item), *item.story_id, dedup::relation_from_string(item.relation), why);
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

Result<void> StoryAssigner::reach_back(model::Time oldest) {
  if (oldest >= index_->covered_from()) return {};
  const model::Time from = oldest - options_.window;
  if (auto loaded = load(from, index_->covered_from()); !loaded) return loaded;
  index_->lower_floor(from);
  return {};
}

Result<std::optional<model::Time>> StoryAssigner::unsettled_reach() {
  auto stored = store_.unsettled_from();
  if (!stored) return stored.error();
  if (!*stored) return unsettled_from_;
  return std::optional<model::Time>(std::min(unsettled_from_.value_or(**stored), **stored));
}

Result<std::optional<store::StoriesVersion>> StoryAssigner::build_ahead() {
  auto overrides = store_.last_override_id();
  if (!overrides) return overrides.error();
  if (index_ && *overrides == overrides_seen_) return std::nullopt;
  auto read = store_.stories_version();
  if (!read) return read.error();
  if (auto built = rebuild(); !built) {
    index_.reset();
    return built.error();
  }
  return *read;
}

Result<bool> StoryAssigner::catch_up(const Batch& pending, bool built_ahead) {
  // Not built yet, or a person changed stories since we last looked: start from the store.
  auto overrides = store_.last_override_id();
  if (!overrides) return overrides.error();
  const bool rebuild_first = !index_ || *overrides != overrides_seen_;
  if (rebuild_first) {
    if (auto built = rebuild(); !built) return built.error();
  }
  // A backfill older than the index: bring in the stories around it first.
  if (auto loaded = reach_back(pending.front()->published); !loaded) return loaded.error();
  for (const auto& item : pending)
    index_->count(*item);
  return rebuild_first || built_ahead;
}

Result<int> StoryAssigner::assign(Batch pending, model::Time now) {
  // A batch spanning weeks (a first poll, a backfill) goes through the window as a live
  // stream would, in chunks of this many items: the stories that fell out of the window leave
  // the index on the way, once the chunk's writes are taken.
  constexpr std::size_t kChunk = 1000;
  if (pending.empty()) return 0;

  // By time, as a stream would bring them; ties by feed, then by the feed's own order (item
  // ids alone follow the order in which feeds happened to answer).
  std::sort(pending.begin(), pending.end(), [](const auto& a, const auto& b) {
    return std::tie(a->published, a->feed_id, a->item_id) <
           std::tie(b->published, b->feed_id, b->item_id);
  });
  int assigned = 0;
  std::int64_t created = 0;
  const model::Time oldest = pending.front()->published;
  bool settled = false;
  // An index to build from the store (the first batch after a start, or after a person's
  // merge or split) is built before the transaction: 17 s at 10,000 feeds, which held the
  // write lock and failed the next `story merge` meanwhile. It is kept if no override, story
  // or membership came or went before the transaction began; else built again inside it.
  auto ahead = build_ahead();
  if (!ahead) return ahead.error();
  if (before_story_write_) before_story_write_();
  // Foreign keys unchecked: every story the index names exists as of inside this transaction
  // (catch_up sees another process's merge or split; this one's retention resets the index,
  // tidy()), and every item of the batch does (retention writes the open batch first, and
  // runs on the same thread).
  auto written = store_.write_stories(
      [&](store::StoryWriter& writer) -> Result<void> {
        bool built_ahead = false;
        if (*ahead) {
          built_ahead = writer.stories_version() == **ahead;
          if (!built_ahead) {
            ++rebuilds_redone_;
            index_.reset();
          }
        }
        auto ready = catch_up(pending, built_ahead);
        if (!ready) return ready.error();
        const bool rebuilt = *ready;
        // A batch on an index just built from the store scores every pair anew, as a settle
        // does: it settles what it covers, unless an earlier batch reached further back.
        bool settles = false;
        if (rebuilt) {
          auto reach = unsettled_reach();
          if (!reach) return reach.error();
          settles = !*reach || **reach >= index_->covered_from();
        }
        std::int64_t next_story = writer.next_story_id();
        const std::int64_t first_story = next_story;
        // A chunk's writes go to the store on a second thread while this one decides the next
        // chunk (a first poll's SQL is a third of its stories' time). The two never use the
        // connection at once: each hand-over first waits for the chunk before, and so does the
        // commit.
        std::future<void> writing;
        for (std::size_t begin = 0; begin < pending.size(); begin += kChunk) {
          const std::size_t end = std::min(pending.size(), begin + kChunk);
          // What the membership rows need of a new item, which the index does not keep.
          std::unordered_map<std::int64_t, std::pair<std::string, model::Time>> fresh;
          std::vector<dedup::Candidate> chunk;
          chunk.reserve(end - begin);
          for (std::size_t i = begin; i < end; ++i) {
            dedup::Candidate& item = *pending[i];
            fresh.emplace(item.item_id, std::make_pair(item.canonical_url, item.published));
            // Moved, not copied: a large batch is not held twice.
            chunk.push_back(std::move(item));
            pending[i].reset();
          }
          const dedup::InsertResult result = index_->insert(std::move(chunk), next_story);
          store::StoryWrites block = writes_of(result, fresh, now, assigned);
          if (writing.valid()) writing.get();  // rethrows what the chunk before threw
          if (end == pending.size()) {
            writer.apply(block, now);  // nothing left to decide meanwhile
          } else {
            writing = std::async(std::launch::async, [&writer, now, writes = std::move(block)] {
              writer.apply(writes, now);
            });
          }
          index_->evict();
          // A chunk's scratch (placements, clustering, SQL buffers) is freed between
          // chunks of a first poll while the index grows: give the pages back, or the peak
          // holds every chunk's.
          if (pending.size() > kChunk) malloc_trim(0);
        }
        created = next_story - first_story;
        writer.note_unsettled(settles ? std::nullopt : std::optional<model::Time>(oldest));
        settled = settles;
        return {};
      },
      store::Store::ForeignKeys::trust);
  if (!written) {
    // The index already holds what the store refused: start again from the store, later.
    index_.reset();
    return written.error();
  }
  if (settled) {
    unsettled_from_.reset();
  } else {
    unsettled_from_ = std::min(unsettled_from_.value_or(oldest), oldest);
  }
  last_settled_ = settled;
  last_created_ = created;
  return assigned;
}

store::StoryWrites StoryAssigner::writes_of(
    const dedup::InsertResult& result,
    std::unordered_map<std::int64_t, std::pair<std::string, model::Time>>& fresh, model::Time now,
    int& assigned) const {
  store::StoryWrites block;
  for (const dedup::Placement& placed : result.placed) {
    const std::string relation(dedup::to_string(placed.relation));
    if (auto found = fresh.find(placed.item_id); found != fresh.end()) {
      block.members.push_back({placed.item_id, placed.story, relation,
                               std::move(found->second.first), found->second.second,
                               joined_by(placed)});
      ++assigned;
    } else {
      block.moved.push_back({placed.item_id, placed.story, relation, joined_by(placed)});
    }
  }
  // Members that stayed, there for another reason now: rewritten in place.
  for (const dedup::Placement& placed : result.relinked) {
    block.moved.push_back({placed.item_id, placed.story,
                           std::string(dedup::to_string(placed.relation)), joined_by(placed)});
  }
  for (std::int64_t story : result.created) {
    block.created.push_back(
        {story, index_->first_published(story).value_or(now), index_->representative(story)});
  }
  for (const auto& [merged, into] : result.merged)
    block.removed.push_back(merged);
  for (std::int64_t story : result.changed) {
    block.recomputed.push_back(story);
    block.touched.push_back(
        {story, index_->representative(story), index_->first_published(story).value_or(now)});
  }
  return block;
}

Result<int> StoryAssigner::settle(model::Time now) {
  // Read and clustered before the write transaction, which is held only to write: a settle
  // costs what a rebuild does (17 s at 10,000 feeds), and holding the store's write lock that
  // long failed a `story merge` issued meanwhile. What was read still holds when no override,
  // story or membership came or went since (StoriesVersion); else the settle runs again inside
  // the transaction, as one batch does.
  auto read = store_.stories_version();
  if (!read) return read.error();
  index_.reset();
  auto settled = settle_from_store(read->next_story, now);
  if (!settled) {
    index_.reset();
    return settled.error();
  }
  if (before_story_write_) before_story_write_();
  auto written = store_.write_stories(
      [&](store::StoryWriter& writer) -> Result<void> {
        if (writer.stories_version() != *read) {
          ++settles_redone_;
          index_.reset();
          settled = settle_from_store(writer.next_story_id(), now);
          if (!settled) return settled.error();
        }
        writer.apply(settled->writes, now);
        writer.note_unsettled(std::nullopt);
        return {};
      },
      store::Store::ForeignKeys::trust);
  if (!written) {
    index_.reset();
    return written.error();
  }
  unsettled_from_.reset();
  last_settled_ = true;
  last_created_ = settled->created;
  return settled->moved;
}

Result<StoryAssigner::Settled> StoryAssigner::settle_from_store(std::int64_t next_story,
                                                                model::Time now) {
  // The batches since the last settle, this process's and a dead assigner's, may reach back
  // before the newest two windows (a backfill, a feed's archive): their stories are settled
  // too.
  auto reach = unsettled_reach();
  if (!reach) return reach.error();
  if (auto built = rebuild(); !built) return built.error();
  if (*reach) {
    if (auto loaded = reach_back(**reach); !loaded) return loaded.error();
  }
  const std::int64_t first_story = next_story;
  // No new item: the first insert into an index built from the store scores every pair under
  // the statistics of the whole window and clusters every story again.
  const dedup::InsertResult result = index_->insert({}, next_story);
  std::unordered_map<std::int64_t, std::pair<std::string, model::Time>> none;
  int assigned = 0;
  Settled settled;
  settled.writes = writes_of(result, none, now, assigned);
  settled.moved = static_cast<int>(settled.writes.moved.size() - result.relinked.size());
  settled.created = next_story - first_story;
  return settled;
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
