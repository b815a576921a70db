// Internal to parse/: JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1) into the model.
#pragma once

#include <string_view>

#include "feedmerge/parse/parser.h"

namespace feedmerge::parse {

// True when the first non-white-space byte (after any BOM) is '{'.
bool looks_like_json(std::string_view bytes);

// Decodes, parses and maps a JSON Feed. Not a JSON Feed (no "version" naming jsonfeed.org, no
// "items" array) or invalid JSON is an Error with line and column.
Result<ParsedFeed> parse_json_feed(std::string_view bytes, std::string_view content_type,
                                   std::string_view document_url);

}  // namespace feedmerge::parse
