// Renders a ParsedFeed as the `feedmerge parse` JSON of docs/spec/parse-json.md (schema 1).
// Pure function; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "feedmerge/model/feed.h"
#include "feedmerge/parse/parser.h"

namespace feedmerge::parse {

// "rss2.0", "atom1.0", "json1.1", ... as the spec names them.
std::string_view format_name(model::FeedFormat format);

// One JSON object, pretty-printed with two-space indentation and a final newline.
std::string to_parse_json(const ParsedFeed& parsed);

}  // namespace feedmerge::parse
