#include "feedmerge/parse/parser.h"

#include "feedmerge/normalize/encoding.h"
#include "parse/json_feed_parser.h"
#include "parse/xml_feed_parser.h"

namespace feedmerge::parse {

Result<ParsedFeed> parse_feed(const ParseInput& input) {
  // Detection by content only: the content type and file name lie too often to be trusted.
  if (looks_like_json(input.bytes)) {
    return parse_json_feed(input.bytes, input.content_type, input.document_url);
  }
  normalize::DecodedText decoded = normalize::decode_xml(input.bytes, input.content_type);
  return parse_xml_feed(decoded.utf8, input.document_url, std::move(decoded.warnings));
}

}  // namespace feedmerge::parse
