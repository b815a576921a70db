// Character encodings: decides which encoding a document is in and converts it to UTF-8
// through ICU. Pure functions; thread-safe (ICU converters are opened per call).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "feedmerge/error.h"

namespace feedmerge::normalize {

struct DecodedText {
  std::string utf8;                // valid UTF-8, no BOM; invalid input became U+FFFD
  std::string encoding;            // the encoding that was used, lower case ("utf-8", "windows-1252")
  std::vector<Warning> warnings;   // e.g. invalid byte sequences, a declaration that was overruled
};

// The charset parameter of a Content-Type value, lower case, unquoted; "" when none.
std::string charset_from_content_type(std::string_view content_type);

// XML documents. Decision order (RFC 7303 and what browsers and feed readers do):
//  1. a byte order mark (UTF-8, UTF-16 LE/BE, UTF-32) wins;
//  2. the charset of an XML media type (application/*+xml, text/xml, ...) in `content_type`;
//  3. the encoding in the XML declaration (read from the ASCII-compatible or UTF-16 bytes);
//  4. UTF-16 without BOM recognised by the "<\0?\0" / "\0<\0?" pattern;
//  5. UTF-8.
// Whatever was chosen, bytes that are entirely valid UTF-8 (and contain non-ASCII) under a
// declared single-byte encoding are read as UTF-8, and a declared UTF-16 document whose bytes
// are not UTF-16 is read as UTF-8, with a warning. Undeclared bytes that are not valid UTF-8
// are read as windows-1252 (the superset of ISO-8859-1 that real feeds mean). ISO-8859-1 is
// always read as windows-1252 (as the HTML standard says). The XML declaration is left in
// place; callers parse the result as UTF-8.
DecodedText decode_xml(std::string_view bytes, std::string_view content_type);

// JSON documents: BOM, else UTF-8 (RFC 8259), else the charset of `content_type`, else
// windows-1252 for bytes that are not valid UTF-8.
DecodedText decode_json(std::string_view bytes, std::string_view content_type);

// Replaces invalid UTF-8 sequences with U+FFFD; `replaced` counts them.
std::string make_valid_utf8(std::string_view bytes, std::size_t* replaced = nullptr);

}  // namespace feedmerge::normalize
