// Puts newly stored items into stories: the dedup StoryIndex in memory, the writer's Store on
// disk (the same connection that records polls). Owned by the daemon's single store writer
// (not thread-safe; every call on the writer's thread); each assign() is one transaction right
// after the poll's own. Before its first assignment it rebuilds the index from the items
// published within two windows of the newest one; at start-up it assigns the items that have
// no story yet.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "feedmerge/config/config.h"
#include "feedmerge/dedup/story_index.h"
#include "feedmerge/store/store.h"

namespace feedmerge::daemon {

class StoryAssigner {
 public:
  // `store` is the writer's read_write Store; it must outlive the assigner. assign_pending:
  // assign the items stored without a story now (one process per database; with several,
  // the assigner does when it becomes one).
  static Result<std::unique_ptr<StoryAssigner>> open(const config::Config& config,
                                                     store::Store& store,
                                                     bool assign_pending = true);

  // Assigns a story to each of `item_ids` that has none yet, reading them from the store.
  // Returns how many were assigned.
  Result<int> assign(const std::vector<std::int64_t>& item_ids, model::Time now);
  // The same for items just stored whose candidates the caller built (candidate(), on any
  // thread): nothing is read back. The items have no story yet.
  // One allocation per candidate: sorting moves pointers, not 500-byte candidates, and each
  // one is freed as soon as it is in the index, not at the end.
  using Batch = std::vector<std::unique_ptr<dedup::Candidate>>;
  Result<int> assign(Batch pending, model::Time now);
  // The assigner keeps its index between its batches (leased: those of its term), and each batch
  // is placed against the index it finds: its pairs were scored under the term statistics of
  // their time. Settling rebuilds the index from the store and clusters the window again
  // whole, so that the stories become what a new assigner (a takeover) or `once --all` would
  // make of the stored items. Returns how many stored members moved to another story.
  // Reads and clusters before its write transaction; when an override, story or membership
  // came or went meanwhile (another process: `story merge|split`, an assigner), it settles
  // again inside the transaction.
  Result<int> settle(model::Time now);
  // Settles, and indexes built ahead of a batch, that had to be done again inside their
  // transaction: stories changed meanwhile (for tests and logs).
  int settles_redone() const { return settles_redone_; }
  int rebuilds_redone() const { return rebuilds_redone_; }
  // Tests: runs between what a settle or a batch read and decided ahead and its write
  // transaction.
  void before_story_write(std::function<void()> hook) { before_story_write_ = std::move(hook); }
  // Whether the last assign() or settle() that succeeded left the stories settled (an assign
  // does when it began by building the index from the store, and no earlier batch reached
  // further back than that index).
  bool last_settled() const { return last_settled_; }
  // Stories the last assign() or settle() that succeeded created (the rest joined existing ones).
  std::int64_t last_created() const { return last_created_; }

  // The candidate of an item record_poll just inserted. Pure; callable from any thread.
  static dedup::Candidate candidate(const model::Item& item, const store::NewItem& stored,
                                    std::int64_t feed_id, bool merge);
  // After retention removed items: stories left empty go, representatives that went are
  // replaced, and the index is rebuilt from the store by the next batch.
  Result<int> tidy();
  // Drops the index: the next batch rebuilds it from the store (another process may have
  // written stories meanwhile).
  void forget() { index_.reset(); }

 private:
  StoryAssigner(const config::Config& config, store::Store& store);
  Result<void> rebuild();
  Result<void> load(model::Time from, model::Time to);
  // Loads the stories around items published from `oldest` on, when the index does not
  // cover them yet (a backfill, a settle's reach).
  Result<void> reach_back(model::Time oldest);
  // The oldest item placed since the stories last settled: this process's batches, or (in the
  // store) any assigner's; nullopt when settled.
  Result<std::optional<model::Time>> unsettled_reach();
  // Builds the index from the store before a batch's transaction when the batch would
  // (none yet, or a person's merge or split since): the store's version as read before, or
  // nullopt when the index is kept.
  Result<std::optional<store::StoriesVersion>> build_ahead();
  // The index as the store has it, ready for `pending` (sorted): rebuilt after a person's
  // merge or split, the stories around a backfill loaded, the batch's words counted. Inside
  // the batch's transaction, so that no other process changes stories meanwhile. True when it
  // began by building the index from the store, there or just before (`built_ahead`).
  Result<bool> catch_up(const Batch& pending, bool built_ahead);
  dedup::Candidate candidate(const store::StoredItem& item) const;
  // A settle's decisions: the index rebuilt from the store and clustered again, stories
  // numbered from `next_story`.
  struct Settled {
    store::StoryWrites writes;
    int moved = 0;
    std::int64_t created = 0;
  };
  Result<Settled> settle_from_store(std::int64_t next_story, model::Time now);
  // The store's writes for what the index decided; `fresh`: the batch's new items (their
  // canonical URL and time, moved out), counted in `assigned`.
  store::StoryWrites writes_of(
      const dedup::InsertResult& result,
      std::unordered_map<std::int64_t, std::pair<std::string, model::Time>>& fresh, model::Time now,
      int& assigned) const;

  dedup::DedupOptions options_;
  std::unordered_map<std::string, bool> merge_by_url_;
  store::Store& store_;
  // Built from the store on the first batch that has items to assign, not at start-up: a
  // conditional poll that stores nothing new never pays for it.
  std::unique_ptr<dedup::StoryIndex> index_;
  std::int64_t overrides_seen_ = 0;
  // The oldest item placed since the last settle: where the next one starts.
  std::optional<model::Time> unsettled_from_;
  bool last_settled_ = false;
  std::int64_t last_created_ = 0;
  int settles_redone_ = 0;
  int rebuilds_redone_ = 0;
  std::function<void()> before_story_write_;
};

}  // namespace feedmerge::daemon
