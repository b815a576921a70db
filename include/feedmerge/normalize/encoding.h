// Character encodings: decides which encoding a document is in and converts it to UTF-8
// through ICU. Pure functions; thread-safe (ICU converters are opened per call).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "feedmerge/error.h"

namespace feedmerge::normalize {

struct DecodedText {
  // Set only by decode_xml_borrowing: the input was already valid UTF-8 and is used as it is;
  // `utf8` stays empty and this view points into the caller's bytes.
  std::string_view borrowed;
  std::string_view text() const { return borrowed.data() ? borrowed : std::string_view(utf8); }

  std::string utf8;      // valid UTF-8, no BOM; invalid input became U+FFFD
  std::string encoding;  // the encoding that was used, lower case ("utf-8", "windows-1252")
  std::vector<Warning> warnings;  // e.g. invalid byte sequences, a declaration that was overruled
};

// The charset parameter of a Content-Type value, lower case, unquoted; "" when none.
std::string charset_from_content_type(std::string_view content_type);

// XML documents. Decision order (RFC 7303 and what browsers and feed readers do):
//  1. a byte order mark (UTF-8, UTF-16 LE/BE, UTF-32) wins;
//  2. the charset of an XML media type (application/*+xml, text/xml, ...) in `content_type`
//     (text/xml without charset follows the declaration, as feed readers do);
//  3. the encoding in the XML declaration (read from the ASCII-compatible or UTF-16 bytes);
//  4. UTF-16 (or UTF-32) without BOM recognised by the zero bytes of its markup ("<\0?\0",
//     "\0<\0?"), which also wins over a label that says otherwise;
//  5. UTF-8.
// Whatever was chosen, bytes that are entirely valid UTF-8 (and contain non-ASCII) under a
// declared legacy encoding (single- or multi-byte) are read as UTF-8, and a declared UTF-16
// document whose bytes are not UTF-16 is read as if undeclared, with a warning. A binding
// charset=utf-8 on bytes that are not UTF-8 yields to a legacy XML declaration (a server-wide
// default over an old feed). Undeclared bytes that are not valid UTF-8 are read as windows-1252
// (the superset of ISO-8859-1 that real feeds mean), or as the charset of a non-XML media type
// (text/html; charset=...) when it names a legacy encoding; undeclared bytes whose well-formed
// multi-byte sequences outnumber the bad ones stay UTF-8 with U+FFFD. An unknown encoding name
// is treated as undeclared, with a warning. ISO-8859-1 and US-ASCII are read as windows-1252
// and GB2312/GBK as GB18030 (as the WHATWG Encoding Standard says). Invalid sequences become
// U+FFFD with one warning naming the line of the first. The XML declaration is left in place;
// callers parse the result as UTF-8. Valid UTF-8 costs one validation pass and one copy.
DecodedText decode_xml(std::string_view bytes, std::string_view content_type);

// The same decision as decode_xml, without copying a document that is already valid UTF-8
// (most feeds): then `borrowed` views `bytes`, which must outlive the result. The parser's hot
// path; everything else may use decode_xml.
DecodedText decode_xml_borrowing(std::string_view bytes, std::string_view content_type);

// JSON documents: BOM, else UTF-16/32 by the zero bytes (RFC 4627), else UTF-8 (RFC 8259),
// else the charset of `content_type`, else windows-1252 for bytes that are not valid UTF-8.
DecodedText decode_json(std::string_view bytes, std::string_view content_type);

// True when `bytes` is well-formed UTF-8 (a scan, no copy).
bool is_valid_utf8(std::string_view bytes);

// Replaces invalid UTF-8 sequences with U+FFFD; `replaced` counts them.
std::string make_valid_utf8(std::string_view bytes, std::size_t* replaced = nullptr);

}  // namespace feedmerge::normalize
