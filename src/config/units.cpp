// Durations and sizes as the config file writes them ("30m", "10MB").
#include "feedmerge/config/config.h"

#include <array>
#include <charconv>
#include <limits>

#include "feedmerge/normalize/ascii.h"

namespace feedmerge::config {
namespace {

struct Unit {
  std::string_view name;
  std::uint64_t factor;
};

// Largest first: parse_duration requires this order, format_duration relies on it.
constexpr std::array<Unit, 4> kDurationUnits{{{"d", 86400}, {"h", 3600}, {"m", 60}, {"s", 1}}};

// Largest first within each family, so that format_size picks the largest exact unit.
constexpr std::array<Unit, 8> kSizeUnits{{{"GiB", 1ull << 30},
                                          {"GB", 1'000'000'000},
                                          {"MiB", 1ull << 20},
                                          {"MB", 1'000'000},
                                          {"KiB", 1ull << 10},
                                          {"KB", 1000},
                                          {"kB", 1000},
                                          {"B", 1}}};

// Nine digits at most keep every sum of four duration parts far from overflow.
constexpr std::size_t kMaxDigits = 9;

using ascii::is_digit;

// Reads the leading run of digits of `text` into `value`; returns how many it read (0 when
// there is none or it is too long).
std::size_t read_number(std::string_view text, std::uint64_t& value) {
  std::size_t n = 0;
  while (n < text.size() && is_digit(text[n]))
    ++n;
  if (n == 0 || n > kMaxDigits) return 0;
  std::from_chars(text.data(), text.data() + n, value);
  return n;
}

}  // namespace

std::optional<std::chrono::seconds> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::uint64_t total = 0;
  std::size_t next_unit = 0;  // units must come from the largest down, each at most once
  while (!text.empty()) {
    std::uint64_t value = 0;
    const std::size_t digits = read_number(text, value);
    if (digits == 0) return std::nullopt;
    text.remove_prefix(digits);
    std::size_t unit = next_unit;
    while (unit < kDurationUnits.size() && !text.starts_with(kDurationUnits[unit].name))
      ++unit;
    if (unit == kDurationUnits.size()) return std::nullopt;
    text.remove_prefix(kDurationUnits[unit].name.size());
    total += value * kDurationUnits[unit].factor;
    next_unit = unit + 1;
  }
  return std::chrono::seconds(static_cast<std::chrono::seconds::rep>(total));
}

std::string format_duration(std::chrono::seconds duration) {
  if (duration.count() <= 0) return std::to_string(duration.count()) + "s";
  auto rest = static_cast<std::uint64_t>(duration.count());
  std::string out;
  for (const Unit& unit : kDurationUnits) {
    if (rest >= unit.factor) {
      out += std::to_string(rest / unit.factor);
      out += unit.name;
      rest %= unit.factor;
    }
  }
  return out;
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && is_digit(text[digits]))
    ++digits;
  if (digits == 0) return std::nullopt;
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + digits, value);
  if (ec != std::errc()) return std::nullopt;
  const std::string_view unit_name = text.substr(digits);
  for (const Unit& unit : kSizeUnits) {
    if (unit_name != unit.name) continue;
    if (value > std::numeric_limits<std::uint64_t>::max() / unit.factor) return std::nullopt;
    return value * unit.factor;
  }
  return std::nullopt;
}

std::string format_size(std::uint64_t bytes) {
  for (const Unit& unit : kSizeUnits) {
    if (unit.name == "kB") continue;  // "KB" says the same
    if (bytes != 0 && bytes % unit.factor == 0) {
      return std::to_string(bytes / unit.factor) + std::string(unit.name);
    }
  }
  return std::to_string(bytes) + "B";
}

std::string_view to_string(LogLevel level) {
  switch (level) {
    case LogLevel::trace:
      return "trace";
    case LogLevel::debug:
      return "debug";
    case LogLevel::info:
      return "info";
    case LogLevel::warn:
      return "warn";
    case LogLevel::error:
      return "error";
  }
  return "info";
}

std::string_view to_string(OutputFormat format) {
  switch (format) {
    case OutputFormat::rss:
      return "rss";
    case OutputFormat::atom:
      return "atom";
    case OutputFormat::json:
      return "json";
  }
  return "rss";
}

}  // namespace feedmerge::config
