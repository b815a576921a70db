// One poll as a pure function: (the feed's config and stored state, the last document's hints,
// a jitter draw, now, and what the fetch or the file read gave) -> parse -> observation ->
// decision (apply_poll) -> what the writer stores, with the dedup candidates of the items that
// are probably new already built. No threads, no I/O, no clock: the scheduler runs it on the
// parse pool and hands the result to the writer, which only attaches what the store assigned.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "daemon/schedule.h"
#include "feedmerge/config/config.h"
#include "feedmerge/dedup/story_index.h"
#include "feedmerge/error.h"
#include "feedmerge/fetch/fetcher.h"
#include "feedmerge/fetch/read_source.h"
#include "feedmerge/model/feed.h"
#include "feedmerge/store/store.h"

namespace feedmerge::daemon {

// What the scheduler knows of a feed when its poll starts.
struct PollInput {
  config::FeedConfig config;
  IntervalLimits limits;
  store::FeedState state;  // as before the poll
  model::PollHints last_hints;
  double jitter = 0;  // the draw for a backoff's jitter, in [0, 1)
  // item_identity() of the items of the feed's last stored document, sorted: their candidates
  // are not built again (they are stored already, so not new).
  std::vector<std::uint64_t> known_items;
};

// What one poll came to, for the writer and then the scheduler.
struct PollOutcome {
  PollObservation observation;
  PollDecision decision;
  std::optional<model::Feed> parsed;  // fresh only: the document to store
  bool was_parsed = false;            // a document was parsed (successfully or not)
  fetch::NetworkFailure network_failure = fetch::NetworkFailure::none;
  std::int64_t feed_id = 0;
  bool merge = true;  // the feed's [[feeds]] merge
  // One per parsed item: its candidate without what the store assigns (prepare_candidate),
  // for the items not in PollInput::known_items.
  std::vector<std::optional<dedup::Candidate>> candidates;
  std::vector<std::uint64_t> items;  // item_identity() of every parsed item, sorted
};

// The request for an http(s) feed. `password`: the feed's password file's first line.
fetch::FetchRequest fetch_request(const PollInput& input, const std::string& password);

// The poll of an http(s) feed, from the fetcher's result.
PollOutcome poll_fetched(const PollInput& input, const fetch::FetchResult& result, model::Time now);
// The poll of a file:// feed, from its read.
PollOutcome poll_read(const PollInput& input, const Result<fetch::SourceDocument>& read,
                      model::Time now);

// What says that two documents list the same item, cheaply: its id, else its link. 0 for an
// item with neither (always treated as new).
std::uint64_t item_identity(const model::Item& item);

// The item's dedup candidate as far as the document tells it: the features (the costly part).
dedup::Candidate prepare_candidate(const model::Item& item, std::int64_t feed_id, bool merge);
// The same candidate StoryAssigner::candidate() builds, from a prepared one and the item as
// record_poll stored it.
dedup::Candidate attach_stored(dedup::Candidate prepared, const model::Item& item,
                               const store::NewItem& stored);

// Whether two URLs have the same politeness host (never for a URL without one).
bool same_host(const std::string& a, const std::string& b);

}  // namespace feedmerge::daemon
