#include "feedmerge/parse/parser.h"

#include "feedmerge/normalize/encoding.h"
#include "parse/json_feed_parser.h"
#include "parse/xml_feed_parser.h"

namespace feedmerge::parse {
namespace {

// Warnings quote the document (encoding labels, stray declarations): keep each one short and
// valid UTF-8, whatever the document held, so that every consumer can print it.
void tidy_warnings(std::vector<Warning>& warnings) {
  constexpr std::size_t kMaxWarningBytes = 300;
  for (Warning& w : warnings) {
    if (w.message.size() > kMaxWarningBytes) {
      std::size_t cut = kMaxWarningBytes;
      while (cut > 0 && (static_cast<unsigned char>(w.message[cut]) & 0xC0) == 0x80)
        --cut;
      w.message.resize(cut);
      w.message += "\u2026";
    }
    std::size_t replaced = 0;
    std::string valid = normalize::make_valid_utf8(w.message, &replaced);
    if (replaced > 0) w.message = std::move(valid);
  }
}

}  // namespace

Result<ParsedFeed> parse_feed(const ParseInput& input) {
  // Detection by content only: the content type and file name lie too often to be trusted.
  Result<ParsedFeed> result = [&]() -> Result<ParsedFeed> {
    if (looks_like_json(input.bytes)) {
      return parse_json_feed(input.bytes, input.content_type, input.document_url);
    }
    normalize::DecodedText decoded =
        normalize::decode_xml_borrowing(input.bytes, input.content_type);
    return parse_xml_feed(decoded.text(), input.document_url, std::move(decoded.warnings));
  }();
  if (result) {
    tidy_warnings(result->warnings);
  } else {
    std::vector<Warning> message{{0, std::move(result.error().message)}};
    tidy_warnings(message);
    result.error().message = std::move(message[0].message);
  }
  return result;
}

}  // namespace feedmerge::parse
