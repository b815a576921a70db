#include "daemon/poll_job.h"

#include <xxhash.h>

#include <algorithm>
#include <cstdio>

#include "daemon/story_assigner.h"
#include "feedmerge/fetch/fetcher.h"
#include "feedmerge/parse/parser.h"

namespace feedmerge::daemon {

namespace {

std::string body_hash(std::string_view body) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx",
                static_cast<unsigned long long>(XXH3_64bits(body.data(), body.size())));
  return text;
}

PollOutcome start(const PollInput& input) {
  PollOutcome outcome;
  outcome.feed_id = input.state.id;
  outcome.merge = input.config.merge;
  return outcome;
}

// The candidates of the document's items that the last stored document did not list.
void prepare_candidates(const PollInput& input, PollOutcome& outcome) {
  const model::Feed& feed = *outcome.parsed;
  outcome.candidates.resize(feed.items.size());
  outcome.items.reserve(feed.items.size());
  for (std::size_t i = 0; i < feed.items.size(); ++i) {
    const std::uint64_t identity = item_identity(feed.items[i]);
    if (identity != 0) outcome.items.push_back(identity);
    if (identity != 0 &&
        std::binary_search(input.known_items.begin(), input.known_items.end(), identity))
      continue;
    outcome.candidates[i] = prepare_candidate(feed.items[i], outcome.feed_id, outcome.merge);
  }
  std::sort(outcome.items.begin(), outcome.items.end());
}

void parse_body(const PollInput& input, PollOutcome& outcome, std::string_view body,
                std::string_view content_type, std::string_view document_url) {
  PollObservation& observation = outcome.observation;
  observation.body_hash = body_hash(body);
  if (!input.state.body_hash.empty() && observation.body_hash == input.state.body_hash) {
    observation.kind = PollKind::unchanged;
    return;
  }
  outcome.was_parsed = true;
  auto parsed = parse::parse_feed({.bytes = body,
                                   .content_type = content_type,
                                   .document_url = document_url,
                                   .max_items = parse::kMaxItemsPerFeed});
  if (!parsed) {
    observation.kind = PollKind::failed;
    // The parser's own message may already say so ("not a feed: the root element is ...").
    const std::string& why = parsed.error().message;
    observation.error = why.starts_with("not a feed") ? why : "not a feed: " + why;
    observation.body_hash.clear();
    return;
  }
  observation.kind = PollKind::fresh;
  observation.hints = parsed->feed.hints;
  for (const model::Item& item : parsed->feed.items) {
    if (item.published) observation.publications.push_back(*item.published);
  }
  outcome.parsed = std::move(parsed->feed);
  prepare_candidates(input, outcome);
}

// The rules are pure: the decision needs only the observation and the state.
void decide(const PollInput& input, PollOutcome& outcome, model::Time now) {
  const double jitter = input.jitter;
  outcome.decision = apply_poll(input.state, outcome.observation, input.limits, input.last_hints,
                                now, [jitter] { return jitter; });
}

}  // namespace

bool same_host(const std::string& a, const std::string& b) {
  const std::string host = fetch::politeness_host(a);
  return !host.empty() && host == fetch::politeness_host(b);
}

fetch::FetchRequest fetch_request(const PollInput& input, const std::string& password) {
  const std::string& url = store::url_to_fetch(input.state);
  return {.url = url,
          .etag = input.state.etag,
          .last_modified = input.state.last_modified,
          .headers = input.config.headers,
          .username = input.config.username,
          .password = password,
          // Only the configured URL's origin gets them, also after a move to another origin
          // was adopted.
          .credentials_url = input.config.url,
          // The address guard: the URL the config names may be local; an adopted redirect is
          // trusted no further than the configured URL's own host.
          .config_named = url == input.config.url || same_host(url, input.config.url)};
}

PollOutcome poll_fetched(const PollInput& input, const fetch::FetchResult& result,
                         model::Time now) {
  PollOutcome outcome = start(input);
  PollObservation& observation = outcome.observation;
  observation.status = static_cast<int>(result.status);
  observation.etag = result.etag;
  observation.last_modified = result.last_modified;
  // A redirect never widens trust: only a poll that succeeded with every hop through the
  // address guard counts toward adopting its redirect, and a move to another host not when
  // a hop was let into a local address only because the configured URL is local.
  const bool succeeded = result.outcome == fetch::FetchOutcome::ok ||
                         result.outcome == fetch::FetchOutcome::not_modified;
  if (succeeded &&
      !(result.local_by_redirect && !same_host(result.permanent_redirect, input.config.url)))
    observation.permanent_redirect = result.permanent_redirect;
  observation.address_refused = result.outcome == fetch::FetchOutcome::refused_address;
  observation.retry_after = result.retry_after;
  observation.max_age = result.max_age;
  switch (result.outcome) {
    case fetch::FetchOutcome::ok:
      parse_body(input, outcome, result.body, result.content_type,
                 result.final_url.empty() ? store::url_to_fetch(input.state) : result.final_url);
      break;
    case fetch::FetchOutcome::not_modified:
      observation.kind = PollKind::not_modified;
      break;
    case fetch::FetchOutcome::http_error:
      observation.kind = PollKind::http_error;
      observation.error =
          result.error.empty() ? "HTTP " + std::to_string(result.status) : result.error;
      break;
    default:
      observation.kind = PollKind::failed;
      observation.error = result.error.empty() ? fetch::to_string(result.outcome) : result.error;
      outcome.network_failure = result.network_failure;
      break;
  }
  decide(input, outcome, now);
  return outcome;
}

PollOutcome poll_read(const PollInput& input, const Result<fetch::SourceDocument>& read,
                      model::Time now) {
  PollOutcome outcome = start(input);
  if (!read) {
    outcome.observation.kind = PollKind::failed;
    outcome.observation.error = read.error().message;
  } else {
    parse_body(input, outcome, read->bytes, read->content_type, store::url_to_fetch(input.state));
  }
  decide(input, outcome, now);
  return outcome;
}

std::uint64_t item_identity(const model::Item& item) {
  const std::string& identity = item.id.empty() ? item.link : item.id;
  if (identity.empty()) return 0;
  const std::uint64_t hash = XXH3_64bits(identity.data(), identity.size());
  return hash == 0 ? 1 : hash;
}

dedup::Candidate prepare_candidate(const model::Item& item, std::int64_t feed_id, bool merge) {
  return dedup::make_candidate(item, 0, feed_id, merge, model::Time{});
}

dedup::Candidate attach_stored(dedup::Candidate prepared, const model::Item& item,
                               const store::NewItem& stored) {
  dedup::Candidate candidate = std::move(prepared);
  candidate.item_id = stored.id;
  candidate.published = store::dedup_time(item.updated, stored.published,
                                          stored.published_estimated, stored.first_seen);
  candidate.first_seen = stored.first_seen;
  // As read back from the store: an item without an id is known by its key.
  if (candidate.guid.empty()) candidate.guid = stored.key;
  // A first poll holds tens of thousands of candidates until its batch ends: no spare capacity.
  candidate.features.terms.shrink_to_fit();
  candidate.features.entities.shrink_to_fit();
  candidate.features.entity_sequence.shrink_to_fit();
  return candidate;
}

}  // namespace feedmerge::daemon
