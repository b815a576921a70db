#include "feedmerge/normalize/date.h"

#include "feedmerge/normalize/ascii.h"

#include <array>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

// Two readers share the field validation: ISO 8601 / RFC 3339 / W3CDTF, recognised by a
// leading four-digit year, and a token-based reader for everything RFC 822-like, which
// classifies words (month, weekday, zone), numbers (day, year) and one h:mm[:ss] time without
// caring much about their order or the punctuation between them. The arithmetic is
// std::chrono's civil calendar, so nothing here touches the C locale or the TZ variable.

namespace feedmerge::normalize {
namespace {

using ascii::is_digit;
using ascii::is_space;
using ascii::trim;

// Real dates are short; anything longer is not one, and the bound keeps fuzzed input cheap.
constexpr std::size_t kMaxDateLength = 256;
constexpr std::size_t kMaxTokens = 16;

struct Fields {
  int year = 0;
  int month = 1;
  int day = 1;
  int hour = 0;
  int minute = 0;
  int second = 0;
  int offset_minutes = 0;  // east of UTC
};

std::optional<std::chrono::sys_seconds> to_instant(const Fields& f) {
  if (f.year < 1900 || f.year > 2999) return std::nullopt;
  if (f.month < 1 || f.month > 12 || f.day < 1 || f.day > 31) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year{f.year},
                                        std::chrono::month{static_cast<unsigned>(f.month)},
                                        std::chrono::day{static_cast<unsigned>(f.day)}};
  if (!ymd.ok()) return std::nullopt;
  // 24:00:00 is ISO 8601's end of day, the next day's midnight; nothing later is.
  const bool end_of_day = f.hour == 24 && f.minute == 0 && f.second == 0;
  if (f.hour < 0 || (f.hour > 23 && !end_of_day)) return std::nullopt;
  if (f.minute < 0 || f.minute > 59 || f.second < 0 || f.second > 60) return std::nullopt;
  // A leap second cannot be represented in sys_seconds; the second before it is close enough.
  const int second = f.second == 60 ? 59 : f.second;
  return std::chrono::sys_days{ymd} + std::chrono::hours{f.hour} +
         std::chrono::minutes{f.minute - f.offset_minutes} + std::chrono::seconds{second};
}

// ---------------------------------------------------------------------------------------------
// Names of months, weekdays and zones.

// A word as the name tables spell it: ASCII lower case, accents of Latin-1 letters removed,
// dots dropped ("Févr." -> "fevr", "MÄR" -> "mar"). Other non-ASCII becomes '?', which
// matches nothing.
std::string fold_word(std::string_view raw) {
  // Code points U+00C0..U+00FF, which UTF-8 writes as C3 80..C3 BF.
  static constexpr std::string_view kLatin1Fold =
      "aaaaaa?ceeeeiiii?nooooo?ouuuuy??"
      "aaaaaa?ceeeeiiii?nooooo?ouuuuy?y";
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const auto c = static_cast<unsigned char>(raw[i]);
    if (c == '.') continue;
    if (c < 0x80) {
      out.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c));
    } else if (c == 0xC3 && i + 1 < raw.size() &&
               (static_cast<unsigned char>(raw[i + 1]) & 0xC0) == 0x80) {
      out.push_back(kLatin1Fold[static_cast<unsigned char>(raw[i + 1]) - 0x80]);
      ++i;
    } else {
      out.push_back('?');
    }
  }
  return out;
}

struct Name {
  std::string_view full;   // folded
  std::size_t min_length;  // shortest accepted prefix
  int value;
};

// Every abbreviation feeds use is a prefix of the full name ("sept", "févr", "juil", "tues");
// the minimum lengths keep prefixes unambiguous ("jui" could be juin or juillet). The only
// word that is both a month and a weekday is "mar" (March; French mardi, Spanish martes,
// Italian martedì); parse_rfc_like settles it by position.
constexpr std::array kMonths = {
    // English
    Name{"january", 3, 1},
    Name{"february", 3, 2},
    Name{"march", 3, 3},
    Name{"april", 3, 4},
    Name{"may", 3, 5},
    Name{"june", 3, 6},
    Name{"july", 3, 7},
    Name{"august", 3, 8},
    Name{"september", 3, 9},
    Name{"october", 3, 10},
    Name{"november", 3, 11},
    Name{"december", 3, 12},
    // French
    Name{"janvier", 3, 1},
    Name{"fevrier", 3, 2},
    Name{"mars", 3, 3},
    Name{"avril", 3, 4},
    Name{"mai", 3, 5},
    Name{"juin", 4, 6},
    Name{"juillet", 4, 7},
    Name{"aout", 3, 8},
    Name{"septembre", 3, 9},
    Name{"octobre", 3, 10},
    Name{"novembre", 3, 11},
    Name{"decembre", 3, 12},
    // German
    Name{"januar", 3, 1},
    Name{"februar", 3, 2},
    Name{"marz", 3, 3},
    Name{"maerz", 4, 3},
    Name{"mrz", 3, 3},
    Name{"juni", 3, 6},
    Name{"juli", 3, 7},
    Name{"oktober", 3, 10},
    Name{"dezember", 3, 12},
    // Spanish
    Name{"enero", 3, 1},
    Name{"febrero", 3, 2},
    Name{"marzo", 3, 3},
    Name{"abril", 3, 4},
    Name{"mayo", 3, 5},
    Name{"junio", 3, 6},
    Name{"julio", 3, 7},
    Name{"agosto", 3, 8},
    Name{"septiembre", 3, 9},
    Name{"setiembre", 3, 9},
    Name{"octubre", 3, 10},
    Name{"noviembre", 3, 11},
    Name{"diciembre", 3, 12},
    // Portuguese and Italian (seen in real feeds: "Seg, 22 Set 2020")
    Name{"janeiro", 3, 1},
    Name{"fevereiro", 3, 2},
    Name{"marco", 3, 3},
    Name{"maio", 3, 5},
    Name{"junho", 3, 6},
    Name{"julho", 3, 7},
    Name{"setembro", 3, 9},
    Name{"outubro", 3, 10},
    Name{"dezembro", 3, 12},
    Name{"gennaio", 3, 1},
    Name{"febbraio", 3, 2},
    Name{"aprile", 3, 4},
    Name{"maggio", 3, 5},
    Name{"giugno", 3, 6},
    Name{"luglio", 3, 7},
    Name{"settembre", 3, 9},
    Name{"ottobre", 3, 10},
    Name{"dicembre", 3, 12},
};

constexpr std::array kWeekdays = {
    // English
    Name{"monday", 3, 1},
    Name{"tuesday", 3, 2},
    Name{"wednesday", 3, 3},
    Name{"weds", 4, 3},
    Name{"thursday", 3, 4},
    Name{"friday", 3, 5},
    Name{"saturday", 3, 6},
    Name{"sunday", 3, 7},
    // French
    Name{"lundi", 3, 1},
    Name{"mardi", 3, 2},
    Name{"mercredi", 3, 3},
    Name{"jeudi", 3, 4},
    Name{"vendredi", 3, 5},
    Name{"samedi", 3, 6},
    Name{"dimanche", 3, 7},
    // German: two-letter abbreviations are the usual ones ("Di, 22 Sep 2020")
    Name{"montag", 2, 1},
    Name{"dienstag", 2, 2},
    Name{"mittwoch", 2, 3},
    Name{"donnerstag", 2, 4},
    Name{"freitag", 2, 5},
    Name{"samstag", 2, 6},
    Name{"sonnabend", 2, 6},
    Name{"sonntag", 2, 7},
    // Spanish
    Name{"lunes", 3, 1},
    Name{"martes", 3, 2},
    Name{"miercoles", 3, 3},
    Name{"jueves", 3, 4},
    Name{"viernes", 3, 5},
    Name{"sabado", 3, 6},
    Name{"domingo", 3, 7},
    // Portuguese and Italian
    Name{"segunda", 3, 1},
    Name{"terca", 3, 2},
    Name{"quarta", 3, 3},
    Name{"quinta", 3, 4},
    Name{"sexta", 3, 5},
    Name{"lunedi", 3, 1},
    Name{"martedi", 3, 2},
    Name{"mercoledi", 3, 3},
    Name{"giovedi", 3, 4},
    Name{"venerdi", 3, 5},
    Name{"sabato", 3, 6},
    Name{"domenica", 3, 7},
};

template <std::size_t N>
int lookup_name(const std::array<Name, N>& table, std::string_view word) {
  for (const Name& name : table) {
    if (word.size() >= name.min_length && name.full.starts_with(word)) return name.value;
  }
  return 0;
}

// Words that join the parts of a date in long forms ("22 de septiembre de 2020",
// "Tuesday, September 22, 2020 at 14:05", "segunda-feira").
bool is_filler(std::string_view word) {
  return word == "de" || word == "del" || word == "at" || word == "um" || word == "le" ||
         word == "feira" || word == "the" || word == "of";
}

// UTC offset in minutes for a zone name. RFC 822 names, and a few more that feeds use whose
// abbreviation names one zone only in the tz database (so not IST: India, Ireland, Israel).
std::optional<int> zone_offset(std::string_view word) {
  struct Zone {
    std::string_view name;
    int minutes;
  };
  static constexpr std::array kZones = {
      Zone{"ut", 0},     Zone{"utc", 0},    Zone{"gmt", 0},     Zone{"z", 0},
      Zone{"est", -300}, Zone{"edt", -240}, Zone{"cst", -360},  Zone{"cdt", -300},
      Zone{"mst", -420}, Zone{"mdt", -360}, Zone{"pst", -480},  Zone{"pdt", -420},
      Zone{"ast", -240}, Zone{"adt", -180}, Zone{"akst", -540}, Zone{"akdt", -480},
      Zone{"hst", -600}, Zone{"wet", 0},    Zone{"west", 60},   Zone{"bst", 60},
      Zone{"cet", 60},   Zone{"cest", 120}, Zone{"met", 60},    Zone{"mest", 120},
      Zone{"eet", 120},  Zone{"eest", 180}, Zone{"msk", 180},   Zone{"jst", 540},
      Zone{"kst", 540},  Zone{"hkt", 480},  Zone{"awst", 480},  Zone{"acst", 570},
      Zone{"acdt", 630}, Zone{"aest", 600}, Zone{"aedt", 660},  Zone{"nzst", 720},
      Zone{"nzdt", 780},
  };
  for (const Zone& zone : kZones) {
    if (zone.name == word) return zone.minutes;
  }
  // Military single letters. RFC 822 gave them with the wrong sign, so RFC 1123 and RFC 5322
  // (section 4.3) say to read every one but Z as -0000, "no information": a letter in the wild
  // is as likely to mean +N as -N, and UTC is the reading the standards stand behind.
  if (word.size() == 1 && word[0] >= 'a' && word[0] <= 'z') return 0;
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Shared scanning helpers.

struct Cursor {
  std::string_view s;
  std::size_t i = 0;

  bool done() const { return i >= s.size(); }
  char peek(std::size_t ahead = 0) const { return i + ahead < s.size() ? s[i + ahead] : '\0'; }
  bool eat(char c) {
    if (peek() != c || done()) return false;
    ++i;
    return true;
  }
  void skip_spaces() {
    while (!done() && is_space(s[i]))
      ++i;
  }
  std::size_t digit_run() const {
    std::size_t n = 0;
    while (i + n < s.size() && is_digit(s[i + n]))
      ++n;
    return n;
  }
  // Exactly `n` digits.
  std::optional<int> fixed(std::size_t n) {
    if (digit_run() < n) return std::nullopt;
    int value = 0;
    for (std::size_t k = 0; k < n; ++k)
      value = value * 10 + (s[i++] - '0');
    return value;
  }
  // `min`..`max` digits, and not followed by another digit.
  std::optional<int> between(std::size_t min, std::size_t max) {
    const std::size_t n = digit_run();
    if (n < min || n > max) return std::nullopt;
    return fixed(n);
  }
  std::string_view word() {
    const std::size_t start = i;
    while (!done() && (ascii::is_alpha(s[i]) || s[i] == '.' || (s[i] & 0x80) != 0))
      ++i;
    return s.substr(start, i - start);
  }
};

// After the sign: "hh", "h", "hhmm", "hmm", "hh:mm". Minutes east of UTC.
std::optional<int> parse_offset_digits(Cursor& c, bool negative) {
  const std::size_t n = c.digit_run();
  int hours = 0;
  int minutes = 0;
  if (n == 1 || n == 2) {
    hours = *c.fixed(n);
    if (c.peek() == ':') {
      ++c.i;
      auto m = c.between(2, 2);
      if (!m) return std::nullopt;
      minutes = *m;
    }
  } else if (n == 3 || n == 4) {
    hours = *c.fixed(n - 2);
    minutes = *c.fixed(2);
  } else {
    return std::nullopt;
  }
  if (hours > 23 || minutes > 59) return std::nullopt;
  const int total = hours * 60 + minutes;
  return negative ? -total : total;
}

// ---------------------------------------------------------------------------------------------
// ISO 8601 / RFC 3339 / W3CDTF: YYYY[-MM[-DD[(T|t| )hh:mm[:ss[.fff]][zone]]]], also the basic
// forms YYYYMMDD[Thhmm[ss]] and YYYY/MM/DD.

std::optional<std::chrono::sys_seconds> parse_iso(std::string_view text) {
  Cursor c{text};
  Fields f;
  f.year = *c.fixed(4);
  if (c.done()) return to_instant(f);

  bool basic = false;
  const char separator = c.peek();
  if (separator == '-' || separator == '/') {
    ++c.i;
    auto month = c.between(1, 2);
    if (!month) return std::nullopt;
    f.month = *month;
    if (c.done()) return to_instant(f);
    if (!c.eat(separator)) return std::nullopt;
    auto day = c.between(1, 2);
    if (!day) return std::nullopt;
    f.day = *day;
  } else {
    basic = true;
    auto month = c.fixed(2);
    auto day = c.fixed(2);
    if (!month || !day || is_digit(c.peek())) return std::nullopt;
    f.month = *month;
    f.day = *day;
  }
  if (c.done()) return to_instant(f);

  if (c.peek() == 'T' || c.peek() == 't') {
    ++c.i;
  } else if (is_space(c.peek())) {
    c.skip_spaces();
  } else {
    return std::nullopt;
  }

  auto hour = basic && c.digit_run() >= 4 ? c.fixed(2) : c.between(1, 2);
  if (!hour) return std::nullopt;
  f.hour = *hour;
  bool have_seconds = false;
  if (c.eat(':')) {
    auto minute = c.between(2, 2);
    if (!minute) return std::nullopt;
    f.minute = *minute;
    if (c.eat(':')) {
      auto second = c.between(2, 2);
      if (!second) return std::nullopt;
      f.second = *second;
      have_seconds = true;
    }
  } else if (basic && (c.digit_run() == 2 || c.digit_run() == 4)) {
    f.minute = *c.fixed(2);
    if (c.digit_run() == 2) {
      f.second = *c.fixed(2);
      have_seconds = true;
    }
  } else {
    return std::nullopt;
  }
  // Fractions of any length; the model keeps whole seconds.
  if (have_seconds && (c.peek() == '.' || c.peek() == ',') && is_digit(c.peek(1))) {
    ++c.i;
    c.i += c.digit_run();
  }

  c.skip_spaces();
  if (c.peek() == 'Z' || c.peek() == 'z') {
    ++c.i;
  } else if (ascii::is_alpha(c.peek())) {
    // "2020-09-22 14:05:00 UTC", "... GMT+02:00"
    auto zone = zone_offset(fold_word(c.word()));
    if (!zone) return std::nullopt;
    f.offset_minutes = *zone;
  }
  if (c.peek() == '+' || c.peek() == '-') {
    const bool negative = c.peek() == '-';
    ++c.i;
    auto offset = parse_offset_digits(c, negative);
    if (!offset) return std::nullopt;
    f.offset_minutes = *offset;
  }
  c.skip_spaces();
  if (!c.done()) return std::nullopt;
  return to_instant(f);
}

// ---------------------------------------------------------------------------------------------
// RFC 822 and everything that resembles it.

struct Token {
  enum Kind { kWord, kNumber, kTime, kOffset } kind;
  std::string word;                      // kWord, folded
  int value = 0;                         // kNumber; kOffset in minutes
  std::size_t digits = 0;                // kNumber
  int hour = 0, minute = 0, second = 0;  // kTime
};

std::optional<std::vector<Token>> tokenize(std::string_view text) {
  std::vector<Token> tokens;
  Cursor c{text};
  bool seen_time = false;
  while (!c.done()) {
    if (tokens.size() > kMaxTokens) return std::nullopt;
    const char ch = c.peek();
    if (is_space(ch) || ch == ',' || ch == '.' || ch == '/') {
      ++c.i;
    } else if ((ch == '+' || ch == '-') && is_digit(c.peek(1)) &&
               (seen_time || (!tokens.empty() && tokens.back().kind == Token::kWord &&
                              (tokens.back().word == "gmt" || tokens.back().word == "utc")))) {
      ++c.i;
      auto offset = parse_offset_digits(c, ch == '-');
      if (!offset) return std::nullopt;
      tokens.push_back({Token::kOffset, {}, *offset});
    } else if (ch == '-') {
      ++c.i;  // "22-Sep-2020"
    } else if (is_digit(ch)) {
      const std::size_t n = c.digit_run();
      if (n > 4) return std::nullopt;
      if (c.peek(n) == ':' && n <= 2) {
        Token t{Token::kTime, {}};
        t.hour = *c.fixed(n);
        ++c.i;
        auto minute = c.between(2, 2);
        if (!minute) return std::nullopt;
        t.minute = *minute;
        if (c.eat(':')) {
          auto second = c.between(2, 2);
          if (!second) return std::nullopt;
          t.second = *second;
          if ((c.peek() == '.' || c.peek() == ',') && is_digit(c.peek(1))) {
            ++c.i;
            c.i += c.digit_run();
          }
        }
        seen_time = true;
        tokens.push_back(std::move(t));
      } else {
        Token t{Token::kNumber, {}};
        t.digits = n;
        t.value = *c.fixed(n);
        // English ordinals: "September 22nd, 2020".
        const std::string_view rest = text.substr(c.i);
        for (std::string_view suffix : {"st", "nd", "rd", "th", "ST", "ND", "RD", "TH"}) {
          if (rest.starts_with(suffix) && !ascii::is_alpha(c.peek(2))) {
            c.i += 2;
            break;
          }
        }
        tokens.push_back(std::move(t));
      }
    } else if (ascii::is_alpha(ch) || (ch & 0x80) != 0) {
      tokens.push_back({Token::kWord, fold_word(c.word())});
    } else {
      return std::nullopt;
    }
  }
  return tokens;
}

std::optional<std::chrono::sys_seconds> parse_rfc_like(std::string_view text) {
  auto tokens = tokenize(text);
  if (!tokens) return std::nullopt;

  struct MonthCandidate {
    int month;
    bool may_be_weekday;
    bool first;
  };
  std::vector<MonthCandidate> months;
  std::vector<const Token*> numbers;
  const Token* time = nullptr;
  std::optional<int> zone_name;
  std::optional<int> offset;
  int meridiem = 0;  // 1 am, 2 pm

  for (std::size_t k = 0; k < tokens->size(); ++k) {
    const Token& t = (*tokens)[k];
    switch (t.kind) {
      case Token::kNumber:
        numbers.push_back(&t);
        break;
      case Token::kTime:
        if (time) return std::nullopt;
        time = &t;
        break;
      case Token::kOffset:
        if (offset || !time) return std::nullopt;
        offset = t.value;
        break;
      case Token::kWord: {
        const std::string& w = t.word;
        if (w.empty()) break;  // a lone '.'
        if (time && !meridiem && (w == "am" || w == "pm")) {
          meridiem = w == "am" ? 1 : 2;
          break;
        }
        if (time) {
          // After the time only a zone may follow (or a month/year in asctime order).
          if (const int month = lookup_name(kMonths, w); month != 0 && w.size() > 1) {
            months.push_back({month, false, false});
            break;
          }
          if (zone_name || offset) return std::nullopt;
          if (auto zone = zone_offset(w)) {
            zone_name = *zone;
          } else if (w.size() <= 5 && w.find('?') == std::string::npos) {
            // An unknown zone abbreviation: the date and time are still right to within a
            // day, which is worth more to a reader than no date; feedparser does the same.
            zone_name = 0;
          } else {
            return std::nullopt;
          }
          break;
        }
        if (is_filler(w) ||
            (w == "a" && k + 1 < tokens->size() && (*tokens)[k + 1].kind == Token::kTime)) {
          break;  // "à 14:05"
        }
        const int month = lookup_name(kMonths, w);
        const bool weekday = lookup_name(kWeekdays, w) != 0;
        if (month != 0) {
          months.push_back({month, weekday, k == 0});
        } else if (!weekday) {
          return std::nullopt;
        }
        break;
      }
    }
  }

  // "mar., 22 sept. 2020": a leading word that may be a weekday gives way to a second month.
  if (months.size() == 2 && months[0].first && months[0].may_be_weekday) {
    months.erase(months.begin());
  }
  if (months.size() != 1 || numbers.size() != 2) return std::nullopt;

  // One number is the day (1-2 digits), the other the year (4 digits, or 2 when both are
  // short: then the day comes first, as in "22 Sep 20" and "Sep 22 20").
  const Token* day = numbers[0];
  const Token* year = numbers[1];
  if (day->digits == 4) std::swap(day, year);
  if (day->digits > 2 || (year->digits != 4 && year->digits != 2)) return std::nullopt;

  Fields f;
  f.month = months[0].month;
  f.day = day->value;
  f.year = year->value;
  if (year->digits == 2) f.year += f.year < 50 ? 2000 : 1900;
  if (time) {
    f.hour = time->hour;
    f.minute = time->minute;
    f.second = time->second;
    if (meridiem) {
      if (f.hour < 1 || f.hour > 12) return std::nullopt;
      if (f.hour == 12) f.hour = 0;
      if (meridiem == 2) f.hour += 12;
    }
  }
  f.offset_minutes = offset ? *offset : zone_name.value_or(0);
  return to_instant(f);
}

// RFC 5322 comments: "+0000 (UTC)", "(Coordinated Universal Time)". Nested ones too.
std::string strip_comments(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  int depth = 0;
  for (char c : text) {
    if (c == '(') {
      ++depth;
      out.push_back(' ');
    } else if (c == ')' && depth > 0) {
      --depth;
    } else if (depth == 0) {
      out.push_back(c);
    }
  }
  return out;
}

bool starts_iso(std::string_view s) {
  if (s.size() < 4) return false;
  for (std::size_t k = 0; k < 4; ++k) {
    if (!is_digit(s[k])) return false;
  }
  if (s.size() == 4 || s[4] == '-' || s[4] == '/') return true;
  // Basic format: YYYYMMDD, alone or before 'T'.
  if (s.size() < 8) return false;
  for (std::size_t k = 4; k < 8; ++k) {
    if (!is_digit(s[k])) return false;
  }
  return s.size() == 8 || s[8] == 'T' || s[8] == 't';
}

}  // namespace

std::optional<std::chrono::sys_seconds> parse_date(std::string_view text) {
  text = trim(text);
  if (text.empty() || text.size() > kMaxDateLength) return std::nullopt;
  const std::string cleaned = strip_comments(text);
  const std::string_view s = trim(cleaned);
  if (starts_iso(s)) return parse_iso(s);
  return parse_rfc_like(s);
}

std::string format_rfc3339(std::chrono::sys_seconds time) {
  const auto day = std::chrono::floor<std::chrono::days>(time);
  const std::chrono::year_month_day ymd{day};
  const std::chrono::hh_mm_ss hms{time - day};
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02d:%02d:%02dZ", int{ymd.year()},
                unsigned{ymd.month()}, unsigned{ymd.day()}, static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()));
  return buffer;
}

}  // namespace feedmerge::normalize
