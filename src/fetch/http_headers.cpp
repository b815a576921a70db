#include "fetch/http_headers.h"

#include <algorithm>
#include <charconv>
#include <cstdint>

#include "feedmerge/normalize/ascii.h"
#include "feedmerge/normalize/date.h"

namespace feedmerge::fetch {
namespace {

// A header value longer than this is not one we would use; keeping it would only let a server
// make us hold memory.
constexpr std::size_t kMaxFieldBytes = 8 * 1024;

using ascii::is_space;
using ascii::trim;

bool all_digits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Digits to seconds, saturating at kMaxDeltaSeconds instead of overflowing.
std::chrono::seconds delta_seconds(std::string_view digits) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec == std::errc::result_out_of_range || value > std::uint64_t(kMaxDeltaSeconds.count()))
    return kMaxDeltaSeconds;
  return std::chrono::seconds(static_cast<std::int64_t>(value));
}

void keep(std::string& field, std::string_view value) {
  field.assign(value.substr(0, kMaxFieldBytes));
}

}  // namespace

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return ascii::to_lower(x) == ascii::to_lower(y);
         });
}

bool is_status_line(std::string_view line) {
  return line.starts_with("HTTP/");
}

std::optional<HeaderField> split_header_line(std::string_view line) {
  if (line.empty() || line.front() == ' ' || line.front() == '\t') return std::nullopt;
  if (is_status_line(line)) return std::nullopt;
  const auto colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  const std::string_view name = line.substr(0, colon);
  if (std::any_of(name.begin(), name.end(), is_space)) return std::nullopt;
  return HeaderField{name, trim(line.substr(colon + 1))};
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::sys_seconds now) {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  if (all_digits(value)) return delta_seconds(value);
  const auto when = normalize::parse_date(value);
  if (!when) return std::nullopt;
  if (*when <= now) return std::chrono::seconds(0);
  return std::min(std::chrono::duration_cast<std::chrono::seconds>(*when - now), kMaxDeltaSeconds);
}

std::optional<std::chrono::seconds> parse_max_age(std::string_view cache_control) {
  std::size_t pos = 0;
  while (pos <= cache_control.size()) {
    // One directive runs to the next comma outside a quoted string.
    std::size_t end = pos;
    bool quoted = false;
    for (; end < cache_control.size(); ++end) {
      const char c = cache_control[end];
      if (quoted && c == '\\') {
        ++end;  // quoted-pair: the next character is literal
      } else if (c == '"') {
        quoted = !quoted;
      } else if (c == ',' && !quoted) {
        break;
      }
    }
    end = std::min(end, cache_control.size());
    const std::string_view directive = trim(cache_control.substr(pos, end - pos));
    const auto equals = directive.find('=');
    if (equals != std::string_view::npos &&
        equals_ignoring_case(trim(directive.substr(0, equals)), "max-age")) {
      std::string_view argument = trim(directive.substr(equals + 1));
      if (argument.size() >= 2 && argument.front() == '"' && argument.back() == '"')
        argument = argument.substr(1, argument.size() - 2);
      if (all_digits(argument)) return delta_seconds(argument);
    }
    pos = end + 1;
  }
  return std::nullopt;
}

void ResponseHeaders::add_line(std::string_view line) {
  if (is_status_line(line)) {
    *this = ResponseHeaders{};
    return;
  }
  const auto field = split_header_line(line);
  if (!field) return;
  if (equals_ignoring_case(field->name, "ETag")) {
    keep(etag_, field->value);
  } else if (equals_ignoring_case(field->name, "Last-Modified")) {
    keep(last_modified_, field->value);
  } else if (equals_ignoring_case(field->name, "Content-Type")) {
    keep(content_type_, field->value);
  } else if (equals_ignoring_case(field->name, "Retry-After")) {
    keep(retry_after_, field->value);
  } else if (equals_ignoring_case(field->name, "Date")) {
    keep(date_, field->value);
  } else if (equals_ignoring_case(field->name, "Cache-Control")) {
    // Repeated fields mean the same as one comma-joined field (RFC 9110 5.3).
    if (cache_control_.size() + field->value.size() + 2 > kMaxFieldBytes) return;
    if (!cache_control_.empty()) cache_control_ += ", ";
    cache_control_ += field->value;
  }
}

}  // namespace feedmerge::fetch
