// Dates as feeds write them: RFC 822/1123 with the variants seen in the wild, RFC 3339 / ISO
// 8601, W3CDTF partial dates, French/German/Spanish day and month names. Pure; thread-safe.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace feedmerge::normalize {

// The instant `text` names, in UTC, whole seconds (fractions dropped). std::nullopt when the
// text is not a date we can read or is out of range (years outside 1900..2999 after two-digit
// expansion, day 31 in a 30-day month, hour 25, ...).
//
// Accepted, among others:
//   "Tue, 22 Sep 2020 14:05:00 GMT"  "Tue,22 Sep 2020 14:05 +0200"  "22 Sep 20 14:05:00 EST"
//   "Tuesday, 22-Sep-2020 14:05:00 PDT"  "Tue, 22 Sep 2020 14:05:00 Z" (military letters)
//   "Tue, 22 Sep 2020 14:05:00 +02:00"   "Sep 22 2020 14:05:00 GMT" (asctime-like)
//   "mar., 22 sept. 2020 14:05:00 +0200"  "Di, 22 Sep 2020 14:05:00 +0200"  "22 März 2020"
//   "mié, 22 sep 2020 14:05:00 +0200"
//   "2020-09-22T14:05:00Z" "2020-09-22T14:05Z" "2020-09-22 14:05:00+02:00"
//   "2020-09-22T14:05:00.123-0700" "2020-09-22" "2020-09" "2020" (W3CDTF partial: first instant)
// Two-digit years: 00..49 -> 20xx, 50..99 -> 19xx. A missing zone means UTC, and so do
// military letters other than Z (RFC 5322 4.3) and unknown or ambiguous abbreviations ("IST").
// The weekday, when given, is not checked against the date.
std::optional<std::chrono::sys_seconds> parse_date(std::string_view text);

// RFC 3339 in UTC with a Z and whole seconds: "2020-09-22T14:05:00Z".
std::string format_rfc3339(std::chrono::sys_seconds time);

}  // namespace feedmerge::normalize
