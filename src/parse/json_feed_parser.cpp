#include "parse/json_feed_parser.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "feedmerge/normalize/date.h"
#include "feedmerge/normalize/encoding.h"
#include "feedmerge/normalize/text.h"
#include "feedmerge/normalize/url.h"

namespace feedmerge::parse {
namespace {

namespace json = boost::json;

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

bool is_json_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_json_space(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && is_json_space(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

struct Position {
  int line = 1;
  int column = 1;
};

// 1-based line and column (in characters, not bytes) of `offset` in UTF-8 `text`.
Position position_at(std::string_view text, std::size_t offset) {
  Position pos;
  offset = std::min(offset, text.size());
  for (std::size_t i = 0; i < offset; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      ++pos.line;
      pos.column = 1;
    } else if ((c & 0xC0) != 0x80) {
      ++pos.column;
    }
  }
  return pos;
}

Error error_at(ErrorKind kind, std::string message, std::string_view text, std::size_t offset) {
  const Position pos = position_at(text, offset);
  return Error{kind, std::move(message), pos.line, pos.column};
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The UTF-16 code unit of the four hex digits at `at`, or -1.
int hex4(std::string_view text, std::size_t at) {
  if (at + 4 > text.size()) return -1;
  int unit = 0;
  for (std::size_t i = at; i < at + 4; ++i) {
    const int d = hex_digit(text[i]);
    if (d < 0) return -1;
    unit = unit * 16 + d;
  }
  return unit;
}

// Real feeds cut strings in the middle of a surrogate pair ("\ud83d" alone), which Boost.JSON
// rejects as a whole document. Each unpaired surrogate escape becomes "\ufffd" in place: the
// same length, so error positions stay true. Outside strings a backslash is a syntax error
// anyway, so there is no need to track where strings begin. Characters XML 1.0 forbids, escaped
// or raw, become U+FFFD the same way: they must never reach storage or an output feed.
void replace_unpaired_surrogates(std::string& text, std::vector<Warning>& warnings) {
  std::size_t count = 0;
  std::size_t first = 0;
  std::size_t forbidden = 0;
  std::size_t first_forbidden = 0;
  for (std::size_t i = text.find('\\'); i != std::string::npos && i + 1 < text.size();
       i = text.find('\\', i)) {
    if (text[i + 1] != 'u') {
      i += 2;  // skips an escaped backslash, so "\\ud800" is left alone
      continue;
    }
    const int unit = hex4(text, i + 2);
    // Characters XML 1.0 forbids (NUL, C0 controls but tab and line ends, U+FFFE, U+FFFF):
    // they must never reach storage or an output feed (found by the hostile-input suite).
    const bool xml_forbidden =
        (unit >= 0 && unit < 0x20 && unit != 0x09 && unit != 0x0A && unit != 0x0D) ||
        unit == 0xFFFE || unit == 0xFFFF;
    if (xml_forbidden) {
      if (forbidden++ == 0) first_forbidden = i;
      text.replace(i + 2, 4, "fffd");
      i += 6;
      continue;
    }
    if (unit < 0xD800 || unit > 0xDFFF) {
      i += 2;
      continue;
    }
    if (unit <= 0xDBFF && i + 12 <= text.size() && text[i + 6] == '\\' && text[i + 7] == 'u') {
      const int low = hex4(text, i + 8);
      if (low >= 0xDC00 && low <= 0xDFFF) {
        i += 12;
        continue;
      }
    }
    if (count++ == 0) first = i;
    text.replace(i + 2, 4, "fffd");
    i += 6;
  }
  // The same characters written raw: U+FFFE and U+FFFF are three UTF-8 bytes, like U+FFFD.
  for (std::size_t i = text.find("\xEF\xBF"); i != std::string::npos && i + 2 < text.size();
       i = text.find("\xEF\xBF", i + 2)) {
    if (text[i + 2] != '\xBE' && text[i + 2] != '\xBF') continue;
    if (forbidden++ == 0) first_forbidden = i;
    text[i + 2] = '\xBD';
  }
  if (forbidden > 0) {
    std::string message = "character XML forbids replaced with U+FFFD";
    if (forbidden > 1) message += " (" + std::to_string(forbidden) + " in the document)";
    warnings.push_back(Warning{position_at(text, first_forbidden).line, std::move(message)});
  }
  if (count == 0) return;
  std::string message = "unpaired UTF-16 surrogate escape replaced with U+FFFD";
  if (count > 1) message += " (" + std::to_string(count) + " in the document)";
  warnings.push_back(Warning{position_at(text, first).line, std::move(message)});
}

std::string_view kind_name(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return "a number";
    case json::kind::string:
      return "a string";
    case json::kind::array:
      return "an array";
    case json::kind::object:
      return "an object";
  }
  return "a value";
}

// The number as people write it: the shortest form that reads back the same, so 42.0 is "42".
std::string number_text(const json::value& v) {
  if (const auto* i = v.if_int64()) return std::to_string(*i);
  if (const auto* u = v.if_uint64()) return std::to_string(*u);
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, v.get_double());
  return std::string(buffer, result.ptr);
}

// A quoted excerpt of a value for a warning; long values are cut at a character boundary.
std::string excerpt(std::string_view s) {
  constexpr std::size_t kMax = 80;
  if (s.size() <= kMax) return std::string(s);
  std::size_t cut = kMax;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) {
    --cut;
  }
  return std::string(s.substr(0, cut)) + "...";
}

// JSON Feed titles are plain text by the format, but real feeds put character references and
// tags in them ("Blog &#8211; InfluxData"); those are read as HTML.
std::string plain_text(std::string_view s) {
  if (normalize::looks_like_html(s)) return normalize::html_to_text(s);
  return normalize::collapse_whitespace(s);
}

void add_unique(std::vector<std::string>& list, std::string value) {
  if (value.empty()) return;
  for (const auto& v : list) {
    if (v == value) return;
  }
  list.push_back(std::move(value));
}

// What the "version" member says; nullopt when it names no version we know.
std::optional<model::FeedFormat> known_version(std::string_view version) {
  version = trim(version);
  for (std::string_view scheme : {"https://", "http://"}) {
    if (version.starts_with(scheme)) {
      version.remove_prefix(scheme.size());
      break;
    }
  }
  if (version.starts_with("www.")) version.remove_prefix(4);
  constexpr std::string_view kPrefix = "jsonfeed.org/version/";
  if (!version.starts_with(kPrefix)) return std::nullopt;
  version.remove_prefix(kPrefix.size());
  if (version.ends_with('/')) version.remove_suffix(1);
  if (version == "1" || version == "1.0") return model::FeedFormat::json10;
  if (version == "1.1") return model::FeedFormat::json11;
  return std::nullopt;
}

bool names_jsonfeed(std::string_view version) {
  return version.find("jsonfeed.org") != std::string_view::npos;
}

// Maps one parsed JSON Feed object onto the model. Wrong-typed members are skipped with a
// warning that names the item (JSON values carry no line numbers).
class JsonFeedMapper {
 public:
  JsonFeedMapper(std::string_view document_url, std::vector<Warning>& warnings)
      : document_url_(document_url), warnings_(warnings) {}

  void map_feed(const json::object& root, model::Feed& feed) {
    const std::string context;
    if (auto s = string_member(root, "title", context)) feed.title = plain_text(*s);
    if (auto s = string_member(root, "home_page_url", context)) feed.link = url(*s);
    if (auto s = string_member(root, "description", context)) feed.description = plain_text(*s);
    if (auto s = string_member(root, "language", context)) feed.language = trim(*s);

    const json::value* items = root.if_contains("items");
    if (items == nullptr || items->is_null()) {
      warn(context, "no 'items' array");
      return;
    }
    const json::array* array = items->if_array();
    if (array == nullptr) {
      warn(context, "'items' is " + std::string(kind_name(*items)) + ", not an array; ignored");
      return;
    }
    feed.items.reserve(array->size());
    int index = 0;
    for (const json::value& entry : *array) {
      ++index;
      const std::string item_context = "item " + std::to_string(index) + ": ";
      const json::object* object = entry.if_object();
      if (object == nullptr) {
        warn(item_context, std::string(kind_name(entry)) + ", not an object; skipped");
        continue;
      }
      feed.items.push_back(map_item(*object, item_context));
    }
  }

 private:
  model::Item map_item(const json::object& o, const std::string& context) {
    model::Item item;
    if (auto s = string_member(o, "url", context)) item.link = url(*s);
    item.id = id(o, context);
    if (item.id.empty()) item.id = item.link;
    if (auto s = string_member(o, "title", context)) item.title = plain_text(*s);

    const auto html = string_member(o, "content_html", context);
    const auto text = string_member(o, "content_text", context);
    if (html && !html->empty()) {
      item.content = normalize::absolutize_html_urls(*html, document_url_);
    } else if (text) {
      item.content = normalize::escape_html(*text);
    }
    if (auto s = string_member(o, "summary", context)) item.summary = normalize::escape_html(*s);

    item.published = date(o, "date_published", context);
    item.updated = date(o, "date_modified", context);
    item.authors = authors(o, context);
    item.categories = tags(o, context);
    if (auto s = string_member(o, "image", context)) item.image = url(*s);
    item.enclosures = attachments(o, context);
    return item;
  }

  // JSON Feed says a string, but real feeds write numbers (often database keys).
  std::string id(const json::object& o, const std::string& context) {
    const json::value* v = o.if_contains("id");
    if (v == nullptr || v->is_null()) return {};
    if (const auto* s = v->if_string()) return std::string(trim(*s));
    if (v->is_number()) {
      std::string text = number_text(*v);
      warn(context, "numeric id " + text + " read as a string");
      return text;
    }
    warn(context, "'id' is " + std::string(kind_name(*v)) + ", not a string; ignored");
    return {};
  }

  std::optional<model::Time> date(const json::object& o, std::string_view key,
                                  const std::string& context) {
    const auto s = string_member(o, key, context);
    if (!s || trim(*s).empty()) return std::nullopt;
    auto time = normalize::parse_date(*s);
    if (!time) warn(context, "unreadable date '" + excerpt(*s) + "'");
    return time;
  }

  // 1.1 "authors" supersedes 1.0 "author"; feeds that write both for old readers repeat the
  // same people, so the older member counts only when the newer names no one.
  std::vector<std::string> authors(const json::object& o, const std::string& context) {
    std::vector<std::string> names;
    if (const json::array* list = array_member(o, "authors", context)) {
      int index = 0;
      for (const json::value& a : *list) {
        ++index;
        add_unique(names, author_name(a, context + "author " + std::to_string(index) + ": "));
      }
    }
    if (names.empty()) {
      if (const json::value* a = o.if_contains("author")) {
        add_unique(names, author_name(*a, context + "author: "));
      }
    }
    return names;
  }

  std::string author_name(const json::value& author, const std::string& context) {
    if (author.is_null()) return {};
    // A bare string is a common mistake whose meaning is plain.
    if (const auto* s = author.if_string()) return normalize::collapse_whitespace(*s);
    const json::object* object = author.if_object();
    if (object == nullptr) {
      warn(context, std::string(kind_name(author)) + ", not an object; ignored");
      return {};
    }
    if (auto s = string_member(*object, "name", context)) return normalize::collapse_whitespace(*s);
    return {};
  }

  std::vector<std::string> tags(const json::object& o, const std::string& context) {
    std::vector<std::string> tags;
    const json::array* list = array_member(o, "tags", context);
    if (list == nullptr) return tags;
    int index = 0;
    for (const json::value& t : *list) {
      ++index;
      if (const auto* s = t.if_string()) {
        add_unique(tags, normalize::collapse_whitespace(*s));
      } else if (!t.is_null()) {
        warn(context, "tag " + std::to_string(index) + " is " + std::string(kind_name(t)) +
                          ", not a string; ignored");
      }
    }
    return tags;
  }

  std::vector<model::Enclosure> attachments(const json::object& o, const std::string& context) {
    std::vector<model::Enclosure> enclosures;
    const json::array* list = array_member(o, "attachments", context);
    if (list == nullptr) return enclosures;
    int index = 0;
    for (const json::value& a : *list) {
      const std::string attachment_context =
          context + "attachment " + std::to_string(++index) + ": ";
      const json::object* object = a.if_object();
      if (object == nullptr) {
        warn(attachment_context, std::string(kind_name(a)) + ", not an object; skipped");
        continue;
      }
      const auto href = string_member(*object, "url", attachment_context);
      if (!href || trim(*href).empty()) {
        warn(attachment_context, "no url; skipped");
        continue;
      }
      model::Enclosure enclosure;
      enclosure.url = url(*href);
      if (auto s = string_member(*object, "mime_type", attachment_context)) {
        enclosure.type = trim(*s);
      }
      enclosure.length = length(*object, attachment_context);
      enclosures.push_back(std::move(enclosure));
    }
    return enclosures;
  }

  // "size_in_bytes" as a count of bytes: a whole non-negative number, or a string of digits
  // as RSS writes its enclosure length.
  std::optional<std::int64_t> length(const json::object& o, const std::string& context) {
    const json::value* v = o.if_contains("size_in_bytes");
    if (v == nullptr || v->is_null()) return std::nullopt;
    std::optional<std::int64_t> n;
    if (const auto* i = v->if_int64()) {
      if (*i >= 0) n = *i;
    } else if (const auto* u = v->if_uint64()) {
      if (*u <= static_cast<std::uint64_t>(INT64_MAX)) n = static_cast<std::int64_t>(*u);
    } else if (const auto* d = v->if_double()) {
      if (*d >= 0 && *d < 9.2e18 && std::trunc(*d) == *d) n = static_cast<std::int64_t>(*d);
    } else if (const auto* s = v->if_string()) {
      const std::string_view digits = trim(*s);
      std::int64_t parsed = 0;
      const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), parsed);
      if (ec == std::errc() && end == digits.data() + digits.size() && parsed >= 0) n = parsed;
    }
    if (!n) {
      const std::string shown =
          v->is_string() ? "'" + excerpt(v->get_string()) + "'" : json::serialize(*v);
      warn(context, "'size_in_bytes' " + excerpt(shown) + " is not a byte count; ignored");
    }
    return n;
  }

  // The member as a string; absent and null are silent, any other type is warned about.
  std::optional<std::string_view> string_member(const json::object& o, std::string_view key,
                                                const std::string& context) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr || v->is_null()) return std::nullopt;
    if (const auto* s = v->if_string()) return std::string_view(*s);
    warn(context,
         "'" + std::string(key) + "' is " + std::string(kind_name(*v)) + ", not a string; ignored");
    return std::nullopt;
  }

  const json::array* array_member(const json::object& o, std::string_view key,
                                  const std::string& context) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr || v->is_null()) return nullptr;
    if (const auto* a = v->if_array()) return a;
    warn(context,
         "'" + std::string(key) + "' is " + std::string(kind_name(*v)) + ", not an array; ignored");
    return nullptr;
  }

  std::string url(std::string_view ref) const { return normalize::resolve_url(document_url_, ref); }

  void warn(const std::string& context, std::string message) {
    warnings_.push_back(Warning{0, context + message});
  }

  std::string_view document_url_;
  std::vector<Warning>& warnings_;
};

Result<ParsedFeed> parse_decoded(std::string& text, std::string_view document_url,
                                 std::vector<Warning> warnings) {
  replace_unpaired_surrogates(text, warnings);

  json::parse_options options;
  options.max_depth = kMaxNestingDepth;
  unsigned char buffer[4096];
  json::monotonic_resource resource(buffer, sizeof buffer);
  json::stream_parser parser(json::storage_ptr(), options);
  parser.reset(&resource);

  boost::system::error_code ec;
  // write_some stops after the first complete value, so text after it can be a warning
  // rather than a reason to refuse the whole feed.
  std::size_t consumed = parser.write_some(text.data(), text.size(), ec);
  if (!ec && !parser.done()) {
    parser.finish(ec);
    if (ec) consumed = text.size();
  }
  if (ec == json::error::too_deep) {
    return error_at(ErrorKind::too_deep,
                    "JSON nested deeper than " + std::to_string(kMaxNestingDepth) + " levels", text,
                    consumed);
  }
  if (ec) {
    return error_at(ErrorKind::invalid_input, "invalid JSON: " + ec.message(), text, consumed);
  }

  const std::string_view rest = std::string_view(text).substr(consumed);
  const std::size_t extra = rest.find_first_not_of(" \t\r\n");
  if (extra != std::string_view::npos) {
    warnings.push_back(
        Warning{position_at(text, consumed + extra).line, "text after the JSON value ignored"});
  }

  const json::value root = parser.release();
  const std::size_t start = text.find_first_not_of(" \t\r\n");
  const json::object* object = root.if_object();
  if (object == nullptr) {
    return error_at(
        ErrorKind::invalid_input,
        "not a JSON Feed: the document is " + std::string(kind_name(root)) + ", not an object",
        text, start);
  }

  model::Feed feed;
  const json::value* version = object->if_contains("version");
  const json::string* version_string = version ? version->if_string() : nullptr;
  const auto format = version_string ? known_version(*version_string) : std::nullopt;
  if (format) {
    feed.format = *format;
  } else {
    const json::value* items = object->if_contains("items");
    const bool has_items = items != nullptr && items->is_array();
    if (!has_items && !(version_string && names_jsonfeed(*version_string))) {
      return error_at(ErrorKind::invalid_input,
                      "not a JSON Feed: no \"version\" naming jsonfeed.org and no \"items\" array",
                      text, start);
    }
    // The newest version we know reads older and newer documents alike: its members are a
    // superset of 1.0's, and the deprecated 1.0 members are still read.
    feed.format = model::FeedFormat::json11;
    std::string given = "(none given)";
    if (version_string) {
      given = "'" + excerpt(*version_string) + "'";
    } else if (version != nullptr) {
      given = "(" + std::string(kind_name(*version)) + ")";
    }
    warnings.push_back(Warning{0, "unknown JSON Feed version " + given + "; read as 1.1"});
  }

  JsonFeedMapper mapper(document_url, warnings);
  mapper.map_feed(*object, feed);
  return ParsedFeed{std::move(feed), std::move(warnings)};
}

}  // namespace

bool looks_like_json(std::string_view bytes) {
  if (bytes.starts_with(kUtf8Bom)) bytes.remove_prefix(kUtf8Bom.size());
  // Skipping NUL bytes and the UTF-16/32 byte order marks lets UTF-16 and UTF-32 JSON through
  // too; XML in those encodings still shows '<' first.
  for (const char c : bytes) {
    const auto u = static_cast<unsigned char>(c);
    if (is_json_space(c) || u == 0 || u == 0xFE || u == 0xFF) continue;
    return c == '{';
  }
  return false;
}

Result<ParsedFeed> parse_json_feed(std::string_view bytes, std::string_view content_type,
                                   std::string_view document_url) {
  // Boost.JSON and allocation may throw; nothing leaves the parser but a Result.
  try {
    normalize::DecodedText decoded = normalize::decode_json(bytes, content_type);
    return parse_decoded(decoded.utf8, document_url, std::move(decoded.warnings));
  } catch (const std::exception& e) {
    return Error{ErrorKind::invalid_input, std::string("could not read JSON: ") + e.what(), 0, 0};
  }
}

}  // namespace feedmerge::parse
