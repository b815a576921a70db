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

// Every string of the model must be valid UTF-8: the store, `parse` and the feeds we publish
// rely on it. The stages above produce it by construction; this last pass (a fast scan of
// each string) makes that an invariant of parse_feed rather than a property of every code
// path, and says when it had to repair something.
void ensure_valid_utf8(model::Feed& feed, std::vector<Warning>& warnings) {
  std::size_t repaired = 0;
  auto fix = [&repaired](std::string& s) {
    if (normalize::is_valid_utf8(s)) return;  // the usual case: a scan, no copy
    s = normalize::make_valid_utf8(s);
    ++repaired;
  };
  auto fix_all = [&fix](std::vector<std::string>& strings) {
    for (std::string& s : strings)
      fix(s);
  };
  fix(feed.title);
  fix(feed.link);
  fix(feed.description);
  fix(feed.language);
  for (model::Item& item : feed.items) {
    fix(item.id);
    fix(item.title);
    fix(item.link);
    fix(item.summary);
    fix(item.content);
    fix(item.image);
    fix_all(item.authors);
    fix_all(item.categories);
    for (model::Enclosure& enclosure : item.enclosures) {
      fix(enclosure.url);
      fix(enclosure.type);
    }
  }
  if (repaired > 0) {
    warnings.push_back({0, "invalid UTF-8 in " + std::to_string(repaired) +
                               " parsed strings replaced with U+FFFD"});
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
    if (auto& items = result->feed.items; input.max_items > 0 && items.size() > input.max_items) {
      result->warnings.push_back({0, std::to_string(items.size() - input.max_items) +
                                         " items after the first " +
                                         std::to_string(input.max_items) + " ignored"});
      items.resize(input.max_items);
    }
    ensure_valid_utf8(result->feed, result->warnings);
    tidy_warnings(result->warnings);
  } else {
    std::vector<Warning> message{{0, std::move(result.error().message)}};
    tidy_warnings(message);
    result.error().message = std::move(message[0].message);
  }
  return result;
}

}  // namespace feedmerge::parse
