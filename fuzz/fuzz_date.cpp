// libFuzzer target: any bytes through normalize::parse_date. Besides crashes and sanitizer
// reports it checks what must hold for every input: a date that parses lies in the documented
// range (years 1900..2999, give or take a day for the zone offset), and its RFC 3339 form parses
// back to the same instant.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "feedmerge/normalize/date.h"

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz check failed: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace std::chrono;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = feedmerge::normalize::parse_date(text);
  if (!parsed) return 0;
  if (feedmerge::normalize::parse_date(text) != parsed) fail("parse_date is not deterministic");
  const year_month_day day{floor<days>(*parsed)};
  if (day.year() < year{1899} || day.year() > year{3000}) fail("a date outside 1900..2999");
  const auto text3339 = feedmerge::normalize::format_rfc3339(*parsed);
  if (day.year() >= year{1900} && day.year() <= year{2999}) {
    const auto again = feedmerge::normalize::parse_date(text3339);
    if (!again || *again != *parsed) fail("the RFC 3339 form does not parse back to the instant");
  }
  return 0;
}
