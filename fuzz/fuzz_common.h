// Shared body of the libFuzzer targets: splits a selector byte off the input, runs parse_feed
// and to_parse_json, and checks what must hold for any input (the output is valid JSON in
// UTF-8 with one entry per model item; an error has a message). Only the fuzz targets use it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "feedmerge/parse/parse_json.h"
#include "feedmerge/parse/parser.h"

namespace feedmerge::fuzz {

// Chosen to reach every decoding route: no header, a header without charset, a charset that
// agrees or disagrees with the document, a multi-byte one, an alias, an unknown name, and one
// with quotes and odd spacing.
inline constexpr std::array<std::string_view, 8> kContentTypes = {
    "",
    "text/xml",
    "application/rss+xml; charset=windows-1251",
    "application/atom+xml; charset=utf-8",
    "text/xml; charset=\"ISO-8859-1\"",
    "application/xml;charset=UTF-16",
    "application/feed+json; charset=shift_jis",
    "text/html ; charset = no-such-charset",
};

// None, an ordinary base, an IDN host with path/query/fragment, and something that is not a URL.
inline constexpr std::array<std::string_view, 4> kDocumentUrls = {
    "",
    "https://example.com/blog/feed.xml",
    "http://xn--r8jz45g.jp:8080/a/b/../c?q=1#frag",
    "not a url",
};

inline void fail(const char* why) {
  // libFuzzer records the input on abort(); the message says which property broke.
  std::fprintf(stderr, "fuzz check failed: %s\n", why);
  std::abort();
}

inline bool starts_like_json(std::string_view bytes) {
  if (bytes.starts_with("\xEF\xBB\xBF")) {
    bytes.remove_prefix(3);
  }
  const std::size_t first = bytes.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && bytes[first] == '{';
}

// `json_only` makes the JSON target skip inputs the XML path would take, which fuzz_xml covers.
inline void run_one(const std::uint8_t* data, std::size_t size, bool json_only) {
  if (size < 1) {
    return;
  }
  const std::uint8_t selector = data[0];
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  if (json_only && !starts_like_json(bytes)) {
    return;
  }
  parse::ParseInput input;
  input.bytes = bytes;
  input.content_type = kContentTypes[selector & 0x07];
  input.document_url = kDocumentUrls[(selector >> 3) & 0x03];

  const Result<parse::ParsedFeed> parsed = parse::parse_feed(input);
  if (!parsed) {
    if (parsed.error().message.empty()) {
      fail("parse_feed returned an error without a message");
    }
    if (parsed.error().line < 0 || parsed.error().column < 0) {
      fail("parse_feed returned a negative line or column");
    }
    return;
  }
  // parse_feed repairs invalid UTF-8 in the model as a last resort (and warns). A repair means
  // some stage let bad bytes through: FEEDMERGE_FUZZ_STRICT_UTF8=1 turns it into a finding, for
  // long campaigns that hunt the stage.
  static const bool strict_utf8 = std::getenv("FEEDMERGE_FUZZ_STRICT_UTF8") != nullptr;
  if (strict_utf8) {
    for (const Warning& warning : parsed->warnings) {
      if (warning.message.find("invalid UTF-8 in ") != std::string::npos &&
          warning.message.find("parsed strings replaced") != std::string::npos) {
        fail("a stage produced invalid UTF-8 that parse_feed had to repair");
      }
    }
  }
  const std::string json = parse::to_parse_json(*parsed);
  boost::system::error_code ec;
  // boost::json::parse rejects invalid UTF-8 in strings by default, which the spec forbids too.
  const boost::json::value value = boost::json::parse(json, ec);
  if (ec) {
    std::fprintf(stderr, "boost::json: %s\n", ec.message().c_str());
    fail("to_parse_json output is not valid JSON");
  }
  const boost::json::object* root = value.if_object();
  if (root == nullptr) {
    fail("to_parse_json output is not a JSON object");
  }
  const boost::json::value* items = root->if_contains("items");
  if (items == nullptr || !items->is_array() ||
      items->get_array().size() != parsed->feed.items.size()) {
    fail("to_parse_json items do not match the model");
  }
}

}  // namespace feedmerge::fuzz
