#include "parse/xml_prepare.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "feedmerge/normalize/text.h"

namespace feedmerge::parse {
namespace {

// Byte classes, as bit masks, so that each state skips the bytes it has nothing to do with in a
// tight loop and copies them in bulk.
enum : std::uint8_t {
  kForbidden = 1,  // C0 controls XML forbids; 0xEF, which may start U+FFFE/U+FFFF
  kText = 2,       // '<' '&'
  kAttr = 4,       // '&' '<' '"' '\''
  kTag = 8,        // '>' '"' '\''
};

constexpr std::array<std::uint8_t, 256> make_classes() {
  std::array<std::uint8_t, 256> t{};
  for (int c = 0; c < 0x20; ++c) {
    if (c != '\t' && c != '\n' && c != '\r') t[c] |= kForbidden;
  }
  t[0xEF] |= kForbidden;
  t['<'] |= kText | kAttr;
  t['&'] |= kText | kAttr;
  t['"'] |= kAttr | kTag;
  t['\''] |= kAttr | kTag;
  t['>'] |= kTag;
  return t;
}
constexpr std::array<std::uint8_t, 256> kClasses = make_classes();

// Unicode code points of the windows-1252 bytes 0x80-0x9F; 0 where the byte is undefined.
constexpr std::array<std::uint16_t, 32> kCp1252High = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,      0x017D, 0,      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178};

constexpr std::size_t kNpos = std::string_view::npos;
constexpr std::size_t kMaxEntityName = 64;  // the longest HTML name has 31 characters
constexpr std::size_t kDeclarationSearch = 4096;

bool is_space(std::uint8_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
bool is_alpha(std::uint8_t c) {
  return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}
bool is_digit(std::uint8_t c) {
  return c >= '0' && c <= '9';
}
bool is_name_start(std::uint8_t c) {
  return is_alpha(c) || c == '_' || c == ':' || c >= 0x80;
}
bool is_name_char(std::uint8_t c) {
  return is_name_start(c) || is_digit(c) || c == '-' || c == '.';
}

bool is_xml_char(std::uint32_t cp) {
  if (cp < 0x20) return cp == 0x9 || cp == 0xA || cp == 0xD;
  if (cp >= 0xD800 && cp <= 0xDFFF) return false;
  if (cp == 0xFFFE || cp == 0xFFFF) return false;
  return cp <= 0x10FFFF;
}

// Decodes the (valid) UTF-8 of an HTML entity expansion.
template <class F>
void for_each_code_point(std::string_view utf8, F&& f) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(utf8.data());
  const std::size_t n = utf8.size();
  for (std::size_t i = 0; i < n;) {
    std::uint32_t cp = p[i];
    int extra = cp < 0x80 ? 0 : cp < 0xE0 ? 1 : cp < 0xF0 ? 2 : 3;
    if (extra > 0) cp &= 0x3F >> extra;
    ++i;
    for (; extra > 0 && i < n; --extra, ++i)
      cp = (cp << 6) | (p[i] & 0x3F);
    f(cp);
  }
}

std::string hex_code_point(std::uint32_t cp) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = "U+";
  std::string digits;
  do {
    digits.insert(digits.begin(), kHex[cp & 0xF]);
    cp >>= 4;
  } while (cp != 0);
  while (digits.size() < 4)
    digits.insert(digits.begin(), '0');
  return out + digits;
}

// One kind of repeated problem: reported once, with its count and first line.
struct Tally {
  std::size_t count = 0;
  int line = 0;
  std::string example;
};

class Preparer {
 public:
  Preparer(std::string_view in, int max_depth)
      : in_(in),
        p_(reinterpret_cast<const std::uint8_t*>(in.data())),
        n_(in.size()),
        max_depth_(max_depth) {}

  Result<PreparedXml> run() {
    std::size_t i = start_of_document();
    result_.lines_removed_before_root = count_newlines(0, i);
    if (i > 0 && i < n_) {
      // Strict parsers (libxml2) refuse these documents; feed authors want to know.
      std::string_view skipped = in_.substr(0, i);
      if (skipped.starts_with("\xEF\xBB\xBF")) skipped.remove_prefix(3);  // a BOM is no text
      const bool blank = skipped.find_first_not_of(" \t\r\n") == kNpos;
      const char* what = is_declaration(i) ? "the XML declaration" : "the root element";
      result_.warnings.push_back(
          {1, std::string(blank ? "white space" : "text") + " before " + what + " removed"});
    }
    out_.reserve(n_ - i + (n_ - i) / 32 + 64);

    while (i < n_) {
      const std::size_t j = find(i, kText | kForbidden);
      out_.append(in_.data() + i, j - i);
      if (j >= n_) break;
      if (p_[j] == '&') {
        i = reference(j);
      } else if (p_[j] == '<') {
        i = markup(j);
        if (error_) return *error_;
      } else {
        i = forbidden(j);
      }
    }
    result_.text = std::move(out_);
    report();
    return std::move(result_);
  }

 private:
  // ---- positions -----------------------------------------------------------------------------

  // The hot loop: unrolled, since runs between markup are short but many.
  std::size_t find(std::size_t i, std::uint8_t mask) const {
#if defined(__SSE2__)
    // Sixteen bytes at a time: most of a feed is text that no state cares about. The vector
    // test flags a superset (every control, the quote and bracket bytes this mask may want);
    // the table decides.
    const __m128i controls = _mm_set1_epi8(0x1F);  // max(x, 0x1F) == 0x1F  <=>  x < 0x20
    const __m128i ef = _mm_set1_epi8(static_cast<char>(0xEF));
    const __m128i lt = _mm_set1_epi8('<');
    const __m128i amp = _mm_set1_epi8('&');
    const __m128i gt = _mm_set1_epi8('>');
    const __m128i dq = _mm_set1_epi8('"');
    const __m128i sq = _mm_set1_epi8('\'');
    const bool quotes = (mask & (kAttr | kTag)) != 0;
    const bool text = (mask & (kText | kAttr)) != 0;
    const bool tag = (mask & kTag) != 0;
    for (; i + 16 <= n_; i += 16) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p_ + i));
      __m128i hit =
          _mm_or_si128(_mm_cmpeq_epi8(_mm_max_epu8(v, controls), controls), _mm_cmpeq_epi8(v, ef));
      if (text)
        hit = _mm_or_si128(hit, _mm_or_si128(_mm_cmpeq_epi8(v, lt), _mm_cmpeq_epi8(v, amp)));
      if (tag) hit = _mm_or_si128(hit, _mm_cmpeq_epi8(v, gt));
      if (quotes)
        hit = _mm_or_si128(hit, _mm_or_si128(_mm_cmpeq_epi8(v, dq), _mm_cmpeq_epi8(v, sq)));
      for (auto bits = static_cast<unsigned>(_mm_movemask_epi8(hit)); bits != 0; bits &= bits - 1) {
        const std::size_t k = i + static_cast<std::size_t>(__builtin_ctz(bits));
        if (kClasses[p_[k]] & mask) return k;
      }
    }
#endif
    for (; i + 4 <= n_; i += 4) {
      if (kClasses[p_[i]] & mask) return i;
      if (kClasses[p_[i + 1]] & mask) return i + 1;
      if (kClasses[p_[i + 2]] & mask) return i + 2;
      if (kClasses[p_[i + 3]] & mask) return i + 3;
    }
    while (i < n_ && (kClasses[p_[i]] & mask) == 0)
      ++i;
    return i;
  }

  std::size_t find(std::string_view what, std::size_t from) const {
    return from >= n_ ? kNpos : in_.find(what, from);
  }

  bool at(std::size_t i, std::string_view s) const {
    return in_.substr(i, s.size()) == s;
  }

  int count_newlines(std::size_t from, std::size_t to) const {
    int count = 0;
    const char* p = in_.data() + from;
    const char* end = in_.data() + to;
    while (p < end) {
      const void* nl = std::memchr(p, '\n', static_cast<std::size_t>(end - p));
      if (nl == nullptr) break;
      ++count;
      p = static_cast<const char*>(nl) + 1;
    }
    return count;
  }

  // 1-based line of input offset `i`. Offsets asked for only grow, so this stays linear.
  int line_of(std::size_t i) {
    if (i < line_pos_) {
      line_pos_ = 0;
      line_ = 1;
    }
    line_ += count_newlines(line_pos_, i);
    line_pos_ = i;
    return line_;
  }

  int column_of(std::size_t i) const {
    const std::size_t nl = in_.substr(0, i).rfind('\n');
    return static_cast<int>(i - (nl == kNpos ? 0 : nl + 1)) + 1;
  }

  void note(Tally& tally, std::size_t i, std::string_view example = {}) {
    if (tally.count++ == 0) {
      tally.line = line_of(i);
      tally.example = std::string(example);
    }
  }

  // ---- prolog --------------------------------------------------------------------------------

  // Where the document starts: the XML declaration, even behind junk that a broken server
  // printed first (PHP notices, a BOM, blank lines), else the first markup.
  std::size_t start_of_document() const {
    const std::size_t first = first_markup(0);
    if (first == kNpos) return n_;
    if (is_declaration(first)) return first;
    const std::string_view window = in_.substr(0, kDeclarationSearch);
    for (std::size_t d = window.find("<?xml"); d != kNpos; d = window.find("<?xml", d + 1)) {
      if (!is_declaration(d)) continue;
      // Markup that could hide "<?xml" as content means it is not a declaration after junk.
      const std::string_view before = in_.substr(0, d);
      if (before.find("<![CDATA[") != kNpos || before.find("<!--") != kNpos) break;
      return d;
    }
    return first;
  }

  bool is_declaration(std::size_t i) const {
    return at(i, "<?xml") && i + 5 < n_ && is_space(p_[i + 5]);
  }

  std::size_t first_markup(std::size_t from) const {
    for (std::size_t i = in_.find('<', from); i != kNpos; i = in_.find('<', i + 1)) {
      if (i + 1 < n_ && (p_[i + 1] == '?' || p_[i + 1] == '!' || is_name_start(p_[i + 1]))) {
        return i;
      }
    }
    return kNpos;
  }

  // ---- characters ----------------------------------------------------------------------------

  // At a byte of class kForbidden: drop it if it is one, else copy it.
  std::size_t forbidden(std::size_t i) {
    if (p_[i] != 0xEF) {
      note(forbidden_, i, hex_code_point(p_[i]));
      return i + 1;
    }
    if (i + 2 < n_ && p_[i + 1] == 0xBF && (p_[i + 2] == 0xBE || p_[i + 2] == 0xBF)) {
      note(forbidden_, i, p_[i + 2] == 0xBE ? "U+FFFE" : "U+FFFF");
      return i + 3;
    }
    out_.push_back(static_cast<char>(p_[i]));
    return i + 1;
  }

  // Copies [i, end) as it is, but for characters XML forbids.
  void copy_filtered(std::size_t i, std::size_t end) {
    while (i < end) {
      std::size_t j = i;
      while (j < end && (kClasses[p_[j]] & kForbidden) == 0)
        ++j;
      out_.append(in_.data() + i, j - i);
      if (j >= end) break;
      // A U+FFFE/U+FFFF whose bytes straddle `end` cannot occur: `end` is at ASCII markup.
      i = forbidden(j);
    }
  }

  void append_char_ref(std::uint32_t cp) {
    char buf[16];
    char* e = buf + sizeof buf;
    char* b = e;
    do {
      *--b = static_cast<char>('0' + cp % 10);
      cp /= 10;
    } while (cp != 0);
    out_ += "&#";
    out_.append(b, static_cast<std::size_t>(e - b));
    out_ += ';';
  }

  // ---- references ----------------------------------------------------------------------------

  // At '&', in text or in an attribute value. Returns where to continue.
  std::size_t reference(std::size_t i) {
    if (i + 1 < n_ && p_[i + 1] == '#') return numeric_reference(i);
    std::size_t j = i + 1;
    if (j < n_ && is_name_start(p_[j])) {
      while (j < n_ && j - i <= kMaxEntityName && is_name_char(p_[j]))
        ++j;
    }
    if (j == i + 1 || j >= n_ || p_[j] != ';') return bare_ampersand(i);

    const std::string_view name = in_.substr(i + 1, j - i - 1);
    if (name == "amp" || name == "lt" || name == "gt" || name == "quot" || name == "apos") {
      out_.append(in_.data() + i, j + 1 - i);
      return j + 1;
    }
    const std::string_view expansion = normalize::html_entity(name);
    if (expansion.empty()) {
      // Never expanded: the DOCTYPE that might have defined it is gone.
      note(undefined_entity_, i, in_.substr(i, j + 1 - i));
      out_ += "&amp;";
      return i + 1;
    }
    for_each_code_point(expansion, [this](std::uint32_t cp) { append_char_ref(cp); });
    return j + 1;
  }

  std::size_t numeric_reference(std::size_t i) {
    std::size_t j = i + 2;
    const bool hex = j < n_ && (p_[j] == 'x' || p_[j] == 'X');
    if (hex) ++j;
    const std::size_t digits_start = j;
    std::uint32_t cp = 0;
    for (; j < n_; ++j) {
      const std::uint8_t c = p_[j];
      std::uint32_t d;
      if (is_digit(c)) {
        d = c - '0';
      } else if (hex && (c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
        d = (c | 0x20) - 'a' + 10;
      } else {
        break;
      }
      cp = cp > 0x10FFFF ? cp : cp * (hex ? 16 : 10) + d;  // saturates past the last code point
    }
    if (j == digits_start || j >= n_ || p_[j] != ';') return bare_ampersand(i);

    if (cp >= 0x80 && cp <= 0x9F && kCp1252High[cp - 0x80] != 0) {
      // "&#146;" means the windows-1252 apostrophe, as it does in browsers and feedparser,
      // never the C1 control that XML would read.
      append_char_ref(kCp1252High[cp - 0x80]);
    } else if (!is_xml_char(cp)) {
      note(forbidden_reference_, i, in_.substr(i, j + 1 - i));
      out_ += "&#xFFFD;";
    } else if (hex && p_[i + 2] == 'X') {
      append_char_ref(cp);  // XML allows only a lower-case x
    } else {
      out_.append(in_.data() + i, j + 1 - i);
    }
    return j + 1;
  }

  std::size_t bare_ampersand(std::size_t i) {
    note(bare_ampersand_, i);
    out_ += "&amp;";
    return i + 1;
  }

  // ---- markup --------------------------------------------------------------------------------

  // At '<' in text. Returns where to continue; sets error_ for too deep a nesting.
  std::size_t markup(std::size_t i) {
    const std::uint8_t next = i + 1 < n_ ? p_[i + 1] : 0;
    if (next == '?') return copy_until(i, "?>", i + 2);
    if (next == '!') {
      if (at(i, "<!--")) return copy_until(i, "-->", i + 4);
      if (at(i, "<![CDATA[")) return copy_until(i, "]]>", i + 9);
      if (i + 2 < n_ && is_alpha(p_[i + 2])) return declaration(i);
    } else if (next == '/') {
      if (i + 2 < n_ && is_name_start(p_[i + 2])) return end_tag(i);
    } else if (is_name_start(next)) {
      return start_tag(i);
    }
    note(bare_less_than_, i);
    out_ += "&lt;";
    return i + 1;
  }

  // Copies a comment, CDATA section or PI untouched (but for forbidden characters); an
  // unterminated one runs to the end of the input.
  std::size_t copy_until(std::size_t i, std::string_view terminator, std::size_t from) {
    const std::size_t close = find(terminator, from);
    const std::size_t end = close == kNpos ? n_ : close + terminator.size();
    copy_filtered(i, end);
    return end;
  }

  // Removes <!DOCTYPE ...> with its internal subset, or any other "<!NAME" declaration, keeping
  // its newlines. Nothing in it is ever read, so no entity is defined and none can expand.
  std::size_t declaration(std::size_t i) {
    const bool doctype =
        in_.size() - i >= 9 && std::equal(in_.begin() + i + 2, in_.begin() + i + 9, "DOCTYPE",
                                          [](char a, char b) { return (a & ~0x20) == b; });
    std::size_t j = i + 2;
    int brackets = 0;
    bool subset = false;
    while (j < n_) {
      const std::uint8_t c = p_[j];
      if (c == '"' || c == '\'') {
        const std::size_t close = in_.find(static_cast<char>(c), j + 1);
        j = close == kNpos ? n_ : close + 1;
      } else if (c == '<' && at(j, "<!--")) {
        const std::size_t close = find("-->", j + 4);
        j = close == kNpos ? n_ : close + 3;
      } else if (c == '[') {
        ++brackets;
        subset = true;
        ++j;
      } else if (c == ']') {
        if (brackets > 0) --brackets;
        ++j;
      } else if (c == '>' && brackets == 0) {
        ++j;
        break;
      } else {
        ++j;
      }
    }
    out_.append(static_cast<std::size_t>(count_newlines(i, j)), '\n');
    if (!doctype) {
      std::size_t name_end = i + 2;
      while (name_end < n_ && name_end - i < 20 && is_name_char(p_[name_end]))
        ++name_end;
      note(other_declaration_, i, in_.substr(i, name_end - i));
    } else if (subset) {
      note(internal_subset_, i);
    }
    return j;
  }

  std::size_t end_tag(std::size_t i) {
    std::size_t close = in_.find('>', i + 2);
    const std::size_t end = close == kNpos ? n_ : close + 1;
    copy_filtered(i, end);
    if (close != kNpos && depth_ > 0) --depth_;
    return end;
  }

  // Copies a start tag, repairing references, '<' and forbidden characters in its quoted
  // attribute values, and counts nesting.
  std::size_t start_tag(std::size_t i) {
    std::size_t j = i;
    while (j < n_) {
      const std::size_t k = find(j, kTag | kForbidden);
      out_.append(in_.data() + j, k - j);
      if (k >= n_) return n_;  // truncated inside the tag: nothing more to count
      const std::uint8_t c = p_[k];
      if (c == '>') {
        out_.push_back('>');
        std::size_t before = k;
        while (before > i && is_space(p_[before - 1]))
          --before;
        if (p_[before - 1] != '/' && ++depth_ > max_depth_) {
          error_ = Error{ErrorKind::too_deep,
                         "elements nested deeper than " + std::to_string(max_depth_) + " levels",
                         line_of(i), column_of(i)};
        }
        return k + 1;
      }
      if (c == '"' || c == '\'') {
        j = attribute_value(k);
      } else {
        j = forbidden(k);
      }
    }
    return n_;
  }

  // At the opening quote of an attribute value. Returns the position after the closing quote.
  std::size_t attribute_value(std::size_t i) {
    const std::uint8_t quote = p_[i];
    out_.push_back(static_cast<char>(quote));
    std::size_t j = i + 1;
    while (j < n_) {
      const std::size_t k = find(j, kAttr | kForbidden);
      out_.append(in_.data() + j, k - j);
      if (k >= n_) return n_;
      const std::uint8_t c = p_[k];
      if (c == quote) {
        out_.push_back(static_cast<char>(quote));
        return k + 1;
      }
      if (c == '"' || c == '\'') {
        out_.push_back(static_cast<char>(c));
        j = k + 1;
      } else if (c == '&') {
        j = reference(k);
      } else if (c == '<') {
        note(bare_less_than_, k);
        out_ += "&lt;";
        j = k + 1;
      } else {
        j = forbidden(k);
      }
    }
    return n_;
  }

  // ---- warnings ------------------------------------------------------------------------------

  static std::string times(const Tally& t) {
    return t.count > 1 ? " (" + std::to_string(t.count) + " times)" : "";
  }

  void report() {
    std::vector<Warning>& w = result_.warnings;
    if (internal_subset_.count > 0) {
      w.push_back({internal_subset_.line,
                   "DOCTYPE internal subset ignored: its entities are not expanded"});
    }
    if (other_declaration_.count > 0) {
      w.push_back({other_declaration_.line, "markup declaration '" + other_declaration_.example +
                                                "' removed" + times(other_declaration_)});
    }
    if (bare_ampersand_.count > 0) {
      w.push_back(
          {bare_ampersand_.line, "unescaped '&' escaped as &amp;" + times(bare_ampersand_)});
    }
    if (undefined_entity_.count > 0) {
      w.push_back(
          {undefined_entity_.line,
           "undefined entity '" + undefined_entity_.example + "' kept as text" +
               (undefined_entity_.count > 1 ? " (" + std::to_string(undefined_entity_.count) +
                                                  " undefined references in all)"
                                            : "")});
    }
    if (bare_less_than_.count > 0) {
      w.push_back({bare_less_than_.line, "unescaped '<' escaped as &lt;" + times(bare_less_than_)});
    }
    if (forbidden_reference_.count > 0) {
      w.push_back(
          {forbidden_reference_.line, "reference '" + forbidden_reference_.example +
                                          "' to a character XML forbids replaced with U+FFFD" +
                                          times(forbidden_reference_)});
    }
    if (forbidden_.count > 0) {
      w.push_back(
          {forbidden_.line, forbidden_.count == 1
                                ? "character " + forbidden_.example + " that XML forbids removed"
                                : std::to_string(forbidden_.count) +
                                      " characters that XML forbids removed (first " +
                                      forbidden_.example + ")"});
    }
    std::stable_sort(w.begin(), w.end(),
                     [](const Warning& a, const Warning& b) { return a.line < b.line; });
  }

  std::string_view in_;
  const std::uint8_t* p_;
  std::size_t n_;
  int max_depth_;

  std::string out_;
  PreparedXml result_;
  std::optional<Error> error_;
  int depth_ = 0;

  std::size_t line_pos_ = 0;
  int line_ = 1;

  Tally bare_ampersand_;
  Tally undefined_entity_;
  Tally forbidden_reference_;
  Tally forbidden_;
  Tally bare_less_than_;
  Tally internal_subset_;
  Tally other_declaration_;
};

}  // namespace

Result<PreparedXml> prepare_xml(std::string_view utf8, int max_depth) {
  return Preparer(utf8, max_depth).run();
}

}  // namespace feedmerge::parse
