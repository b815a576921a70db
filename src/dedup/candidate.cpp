#include "feedmerge/dedup/canonical_url.h"
#include "feedmerge/dedup/story_index.h"
#include "feedmerge/normalize/text.h"

namespace feedmerge::dedup {
namespace {

// Below this many characters a summary is a teaser; the content says more.
constexpr std::size_t kShortSummary = 300;

}  // namespace

Candidate make_candidate(const model::Item& item, std::int64_t item_id, std::int64_t feed_id,
                         bool merge, Time published) {
  Candidate candidate;
  candidate.item_id = item_id;
  candidate.feed_id = feed_id;
  candidate.merge = merge;
  candidate.published = published;
  candidate.guid = item.id;
  candidate.canonical_url = canonical_url(item.link);
  candidate.host = url_host(item.link);
  std::string body = normalize::html_to_text(item.summary);
  if (body.size() < kShortSummary && !item.content.empty()) {
    if (!body.empty()) body += ' ';
    body += normalize::html_to_text(item.content.substr(0, 4 * kMaxBodyBytes));
  }
  candidate.features = extract_features(item.title, body);
  return candidate;
}

}  // namespace feedmerge::dedup
