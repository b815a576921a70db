// Internal to parse/: turns decoded UTF-8 XML into text pugixml can load without surprises, and
// refuses hostile nesting before any DOM work. Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "feedmerge/error.h"

namespace feedmerge::parse {

struct PreparedXml {
  std::string text;
  int lines_removed_before_root = 0;  // add to line numbers computed on `text`
  std::vector<Warning> warnings;
};

// In one pass over `utf8`, keeping every newline so that line numbers stay true:
//  - drops white space, a BOM and junk before the XML declaration or first element (an XML
//    declaration within the first 4 KiB, behind junk such as PHP notices, starts the document);
//  - removes the DOCTYPE with its internal subset, and any other "<!NAME" declaration (no DTD
//    or entity definition is ever read: billion laughs and XXE expand to nothing);
//  - replaces HTML named references that XML does not define (&nbsp; &eacute; ...) with
//    numeric references, and escapes a bare '&' that starts no reference (or an undefined
//    entity) as &amp; (warning); in text and in attribute values alike;
//  - numeric references to characters XML forbids become &#xFFFD; (warning); &#128;-&#159;
//    become the windows-1252 characters they mean (as browsers and feedparser read them);
//  - escapes a '<' that starts no markup, and any '<' in an attribute value, as &lt; (warning);
//  - removes characters XML 1.0 forbids (C0 controls but tab/LF/CR, U+FFFE/FFFF) everywhere,
//    CDATA and comments included (warning);
//  - counts element nesting, ignoring comments, CDATA, processing instructions and quoted
//    attribute values; deeper than `max_depth` is an Error of kind too_deep whose line and
//    (1-based, byte) column are those of the offending '<' in `utf8` itself.
// CDATA sections, comments and processing instructions are otherwise copied untouched.
// Warnings are aggregated: one per kind, with the line of the first occurrence (of `utf8`)
// and a count. Linear time, no recursion; truncated input is copied as far as it goes.
Result<PreparedXml> prepare_xml(std::string_view utf8, int max_depth);

}  // namespace feedmerge::parse
