// Internal to parse/: turns decoded UTF-8 XML into text pugixml can load without surprises, and
// refuses hostile nesting before any DOM work. Pure; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "feedmerge/error.h"

namespace feedmerge::parse {

struct PreparedXml {
  std::string text;
  int lines_removed_before_root = 0;  // add to line numbers computed on `text`
  std::vector<Warning> warnings;
};

// In one pass over `utf8`, keeping every newline so that line numbers stay true:
//  - drops white space, a BOM and junk before the XML declaration or first element;
//  - removes the DOCTYPE with its internal subset (no DTD or entity definition is ever read:
//    billion laughs and XXE expand to nothing);
//  - replaces HTML named references that XML does not define (&nbsp; &eacute; ...) with
//    numeric references, and escapes a bare '&' that starts no reference as &amp; (warning);
//  - removes characters XML 1.0 forbids (C0 controls but tab/LF/CR, U+FFFE/FFFF) (warning);
//  - counts element nesting, ignoring comments, CDATA, processing instructions and quoted
//    attribute values; deeper than `max_depth` is an Error of kind too_deep with line/column.
// CDATA sections, comments and processing instructions are copied untouched.
Result<PreparedXml> prepare_xml(std::string_view utf8, int max_depth);

}  // namespace feedmerge::parse
