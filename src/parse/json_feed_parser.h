// Internal to parse/: JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1) into the model.
#pragma once

#include <string_view>

#include "feedmerge/parse/parser.h"

namespace feedmerge::parse {

// True when the first byte that is not white space, NUL or part of a byte order mark is '{'
// (so UTF-16 and UTF-32 JSON count too).
bool looks_like_json(std::string_view bytes);

// Decodes, parses and maps a JSON Feed. A top-level object whose "version" is not a known
// jsonfeed.org version but that has an "items" array (or names jsonfeed.org) is read as 1.1 with
// a warning. Anything else that is not a JSON Feed, invalid JSON, or nesting beyond
// kMaxNestingDepth (ErrorKind::too_deep) is an Error with line and column (in characters).
Result<ParsedFeed> parse_json_feed(std::string_view bytes, std::string_view content_type,
                                   std::string_view document_url);

}  // namespace feedmerge::parse
