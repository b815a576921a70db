#include <xxhash.h>

#include "feedmerge/dedup/canonical_url.h"
#include "feedmerge/dedup/story_index.h"
#include "feedmerge/normalize/ascii.h"
#include "feedmerge/normalize/text.h"

namespace feedmerge::dedup {
namespace {

// Below this many characters a summary is a teaser; the content says more.
constexpr std::size_t kShortSummary = 300;

// The first `limit` bytes of `html`, not splitting a UTF-8 sequence.
std::string_view cut_html(std::string_view html, std::size_t limit) {
  if (html.size() <= limit) return html;
  while (limit > 0 && (static_cast<unsigned char>(html[limit]) & 0xC0) == 0x80)
    --limit;
  return html.substr(0, limit);
}

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
  if (!item.title.empty()) {
    const std::string title = ascii::to_lower(item.title);
    candidate.title_key = XXH3_64bits(title.data(), title.size()) | 1;
  }
  // Features read kMaxBodyBytes of text: a few times that much HTML is plenty, and long
  // summaries (whole articles) then cost no more than short ones. Only the text features read
  // is made (the same bytes as cutting the whole text).
  std::string body =
      normalize::html_to_text_prefix(cut_html(item.summary, 4 * kMaxBodyBytes), kMaxBodyBytes);
  if (body.size() < kShortSummary && !item.content.empty()) {
    if (!body.empty()) body += ' ';
    body += normalize::html_to_text_prefix(cut_html(item.content, 4 * kMaxBodyBytes),
                                           kMaxBodyBytes - body.size());
  }
  candidate.features = extract_features(item.title, body);
  Features title = extract_features(item.title, {});
  candidate.title_terms = std::move(title.terms);
  candidate.title_entities = std::move(title.entities);
  return candidate;
}

}  // namespace feedmerge::dedup
