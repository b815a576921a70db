// Internal to parse/: RSS 0.9x/1.0/2.0 and Atom 0.3/1.0 from decoded UTF-8 into the model.
#pragma once

#include <string_view>

#include "feedmerge/parse/parser.h"

namespace feedmerge::parse {

// `utf8` is the decoded document; decoding warnings are passed in so that they come first.
Result<ParsedFeed> parse_xml_feed(std::string_view utf8, std::string_view document_url,
                                  std::vector<Warning> warnings);

}  // namespace feedmerge::parse
