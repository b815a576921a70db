// The feed parser: bytes of any supported format in, the feed model out. Pure: no I/O, no
// logging, no global state, so any thread may call it concurrently. Start reading here.
#pragma once

#include <cstddef>

#include <string_view>
#include <vector>

#include "feedmerge/error.h"
#include "feedmerge/model/feed.h"

namespace feedmerge::parse {

struct ParseInput {
  std::string_view bytes;
  std::string_view content_type;  // an HTTP Content-Type header value; its charset counts
  std::string_view document_url;  // base for relative links; empty when unknown
  // Items past this many are dropped with a warning; 0: no limit (`feedmerge parse`). The
  // daemon passes kMaxItemsPerFeed.
  std::size_t max_items = 0;
};

struct ParsedFeed {
  model::Feed feed;
  std::vector<Warning> warnings;
};

// Documents nested deeper than this are refused before any DOM is built.
inline constexpr int kMaxNestingDepth = 256;
// The daemon's bound on items per document: real feeds list a few hundred at most, and a
// hostile one must not turn into a million store writes per poll.
inline constexpr std::size_t kMaxItemsPerFeed = 10'000;

// Detects the format by content (RSS 0.9x/1.0/2.0, Atom 0.3/1.0, JSON Feed 1.0/1.1), decodes
// the encoding, repairs what real feeds break, and normalises text, dates and URLs.
Result<ParsedFeed> parse_feed(const ParseInput& input);

}  // namespace feedmerge::parse
