#include "feedmerge/normalize/text.h"

#include "feedmerge/normalize/ascii.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <vector>

// Every function here is one left-to-right pass that appends whole runs of unchanged bytes at
// once; none of them validates UTF-8 (encoding.cpp has made the text valid before it gets here)
// and none can read past the end of its input.

namespace feedmerge::normalize {
namespace {

using ascii::hex_value;
using ascii::is_hex_digit;

bool starts_with_ignore_case(std::string_view text, std::size_t pos, std::string_view prefix) {
  if (text.size() - pos < prefix.size()) return false;
  for (std::size_t k = 0; k < prefix.size(); ++k) {
    if (ascii::to_lower(text[pos + k]) != prefix[k]) return false;
  }
  return true;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// What a numeric reference stands for, as the HTML standard's "numeric character reference
// end state" says: 0x80..0x9F are read as windows-1252 (the five bytes that encoding leaves
// undefined stay C1 controls), NUL, surrogates and values past U+10FFFF become U+FFFD.
char32_t numeric_reference_code_point(std::uint32_t value) {
  static constexpr std::array<char16_t, 32> kWindows1252 = {
      0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
      0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
      0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};
  if (value == 0 || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return 0xFFFD;
  if (value >= 0x80 && value <= 0x9F) return kWindows1252[value - 0x80];
  return value;
}

// The longest HTML5 entity name is 31 characters ("CounterClockwiseContourIntegral").
constexpr std::size_t kMaxEntityNameLength = 32;

// Decodes the reference that starts at text[pos] == '&'. Appends its expansion and returns
// the number of bytes consumed, or 0 when there is no reference there.
std::size_t decode_reference(std::string_view text, std::size_t pos, std::string& out) {
  std::size_t i = pos + 1;
  if (i < text.size() && text[i] == '#') {
    ++i;
    const bool hex = i < text.size() && (text[i] == 'x' || text[i] == 'X');
    if (hex) ++i;
    const std::size_t digits_start = i;
    std::uint32_t value = 0;
    while (i < text.size() && (hex ? is_hex_digit(text[i]) : ascii::is_digit(text[i]))) {
      // Saturate: anything past U+10FFFF is U+FFFD however large it is.
      if (value <= 0x10FFFF) value = value * (hex ? 16 : 10) + hex_value(text[i]);
      ++i;
    }
    if (i == digits_start) return 0;  // "&#" or "&#x" alone is text
    // Browsers accept a numeric reference without its ';' ("&#233 "), so do we.
    if (i < text.size() && text[i] == ';') ++i;
    append_utf8(out, numeric_reference_code_point(value));
    return i - pos;
  }
  while (i < text.size() && i - pos <= kMaxEntityNameLength && ascii::is_alnum(text[i]))
    ++i;
  // Named references need their ';': without it "AT&T;" would be fine but "?a=1&copy=2"
  // would lose its parameter, and feeds have far more of the second.
  if (i == pos + 1 || i >= text.size() || text[i] != ';') return 0;
  const std::string_view expansion = html_entity(text.substr(pos + 1, i - pos - 1));
  if (expansion.empty()) return 0;
  out.append(expansion);
  return i + 1 - pos;
}

void decode_html_entities_into(std::string_view text, std::string& out) {
  std::size_t copied = 0;
  for (std::size_t amp = text.find('&'); amp != std::string_view::npos;
       amp = text.find('&', amp + 1)) {
    out.append(text, copied, amp - copied);
    const std::size_t consumed = decode_reference(text, amp, out);
    if (consumed == 0) {
      out.push_back('&');
      copied = amp + 1;
    } else {
      copied = amp + consumed;
      amp = copied - 1;
    }
  }
  out.append(text, copied);
}

// Length of the Unicode white space character at text[i], or 0: ASCII white space, U+0085,
// U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029, U+202F, U+205F and U+3000.
std::size_t space_length(std::string_view text, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(text[i]);
  if (b0 < 0x80) {
    return b0 == ' ' || b0 == '\t' || b0 == '\n' || b0 == '\r' || b0 == '\f' || b0 == '\v' ? 1 : 0;
  }
  const std::size_t left = text.size() - i;
  if (b0 == 0xC2) {
    if (left < 2) return 0;
    const auto b1 = static_cast<unsigned char>(text[i + 1]);
    return b1 == 0x85 || b1 == 0xA0 ? 2 : 0;
  }
  if (b0 != 0xE1 && b0 != 0xE2 && b0 != 0xE3) return 0;
  if (left < 3) return 0;
  const auto b1 = static_cast<unsigned char>(text[i + 1]);
  const auto b2 = static_cast<unsigned char>(text[i + 2]);
  if (b0 == 0xE1) return b1 == 0x9A && b2 == 0x80 ? 3 : 0;
  if (b0 == 0xE3) return b1 == 0x80 && b2 == 0x80 ? 3 : 0;
  if (b1 == 0x80) {
    return (b2 >= 0x80 && b2 <= 0x8A) || b2 == 0xA8 || b2 == 0xA9 || b2 == 0xAF ? 3 : 0;
  }
  return b1 == 0x81 && b2 == 0x9F ? 3 : 0;
}

// Elements whose start or end breaks a line when rendered; in plain text they become a space
// so that "<p>a</p><p>b</p>" reads "a b", not "ab".
bool is_block_element(std::string_view name) {
  static constexpr std::string_view kBlocks[] = {
      "address", "article", "aside",  "blockquote", "br",      "caption",  "dd",
      "details", "dialog",  "div",    "dl",         "dt",      "fieldset", "figcaption",
      "figure",  "footer",  "form",   "h1",         "h2",      "h3",       "h4",
      "h5",      "h6",      "header", "hr",         "li",      "main",     "nav",
      "ol",      "p",       "pre",    "section",    "summary", "table",    "tbody",
      "td",      "tfoot",   "th",     "thead",      "tr",      "ul",
  };
  for (std::string_view block : kBlocks) {
    if (block == name) return true;
  }
  return false;
}

// Where the tag that starts at html[pos] == '<' ends (one past its '>'), skipping quoted
// attribute values when `respect_quotes`; npos when it never ends.
std::size_t tag_end(std::string_view html, std::size_t pos, bool respect_quotes) {
  if (!respect_quotes) {
    const std::size_t close = html.find('>', pos + 1);
    return close == std::string_view::npos ? close : close + 1;
  }
  std::size_t i = pos + 1;
  bool after_equals = false;
  while (i < html.size()) {
    const char c = html[i];
    if (c == '>') return i + 1;
    if ((c == '"' || c == '\'') && after_equals) {
      const std::size_t close = html.find(c, i + 1);
      if (close == std::string_view::npos) return std::string_view::npos;
      i = close + 1;
      after_equals = false;
      continue;
    }
    if (c == '=') {
      after_equals = true;
    } else if (!ascii::is_space(c)) {
      after_equals = false;
    }
    ++i;
  }
  return std::string_view::npos;
}

// Position of the end tag `</name` (case-insensitive) at or after `from`, or npos.
std::size_t find_end_tag(std::string_view html, std::size_t from, std::string_view name) {
  for (std::size_t i = html.find("</", from); i != std::string_view::npos;
       i = html.find("</", i + 2)) {
    if (starts_with_ignore_case(html, i + 2, name)) {
      const std::size_t after = i + 2 + name.size();
      if (after >= html.size() || !ascii::is_alnum(html[after])) return i;
    }
  }
  return std::string_view::npos;
}

bool is_tag_start(std::string_view text, std::size_t i) {
  // "<p", "</p", "<!--": what a browser would not show as text.
  if (i + 1 >= text.size()) return false;
  const char next = text[i + 1];
  if (ascii::is_alpha(next)) return true;
  if (next == '/') return i + 2 < text.size() && ascii::is_alpha(text[i + 2]);
  return text.substr(i + 1).starts_with("!--");
}

// "&lt;", "&#60;", "&#x3c;" (any case) at text[i]; the length, or 0.
std::size_t escaped_lt_length(std::string_view text, std::size_t i) {
  for (std::string_view form : {"&lt;", "&#60;", "&#x3c;", "&#060;"}) {
    if (starts_with_ignore_case(text, i, form)) return form.size();
  }
  return 0;
}

// Tag names common enough in feed HTML that "&lt;name" is almost surely an escaped tag.
bool is_common_tag_name(std::string_view name) {
  static constexpr std::string_view kNames[] = {
      "a",     "abbr",   "article", "b",   "blockquote", "br", "center", "code", "div",     "em",
      "embed", "figure", "font",    "h1",  "h2",         "h3", "h4",     "h5",   "h6",      "hr",
      "i",     "iframe", "img",     "li",  "object",     "ol", "p",      "pre",  "section", "small",
      "span",  "strong", "sub",     "sup", "table",      "td", "tr",     "u",    "ul",      "video",
  };
  for (std::string_view known : kNames) {
    if (known == name) return true;
  }
  return false;
}

}  // namespace

std::string decode_html_entities(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  decode_html_entities_into(text, out);
  return out;
}

std::string collapse_whitespace(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  std::size_t i = 0;
  while (i < text.size()) {
    if (const std::size_t n = space_length(text, i); n != 0) {
      pending_space = !out.empty();
      i += n;
      continue;
    }
    // A run of non-space bytes goes in one append.
    std::size_t end = i + 1;
    while (end < text.size() && space_length(text, end) == 0)
      ++end;
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.append(text, i, end - i);
    i = end;
  }
  return out;
}

namespace {

// Appends `text` to `out` with white space collapsed as collapse_whitespace does, `pending`
// carrying a space between calls; stops once `out` holds more than `limit` bytes. Most text is
// printable ASCII words between single spaces: such stretches are copied as they are.
void collapse_into(std::string_view text, std::string& out, bool& pending, std::size_t limit) {
  auto printable = [&](std::size_t k) {
    const auto c = static_cast<unsigned char>(text[k]);
    return c > ' ' && c < 0x80;
  };
  std::size_t i = 0;
  while (i < text.size() && out.size() <= limit) {
    if (const std::size_t n = space_length(text, i); n != 0) {
      pending = pending || !out.empty();
      i += n;
      continue;
    }
    // Bytes past what the limit needs are never read.
    const std::size_t stop = std::min(text.size(), i + (limit + 1 - out.size()));
    std::size_t end = i + 1;
    if constexpr (std::endian::native == std::endian::little) {
      // Eight bytes at a time to the first that is not printable ASCII (the lowest flagged
      // byte is exact; the borrow may flag bytes above it, which are not looked at).
      constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
      constexpr std::uint64_t kHighs = 0x8080808080808080ULL;
      while (end + 8 <= stop) {
        std::uint64_t word = 0;
        std::memcpy(&word, text.data() + end, 8);
        const std::uint64_t flagged = ((word - kOnes * 0x21) & ~word & kHighs) | (word & kHighs);
        if (flagged == 0) {
          end += 8;
          continue;
        }
        end += static_cast<std::size_t>(std::countr_zero(flagged)) / 8;
        if (text[end] == ' ' && end + 1 < stop && printable(end + 1)) {
          end += 2;  // one space between words stays as it is
        } else if (space_length(text, end) == 0) {
          ++end;
        } else {
          break;
        }
      }
    }
    while (end < stop) {
      if (printable(end)) {
        ++end;
      } else if (text[end] == ' ' && end + 1 < stop && printable(end + 1)) {
        end += 2;  // one space between words stays as it is
      } else if (space_length(text, end) == 0) {
        ++end;
      } else {
        break;
      }
    }
    if (pending) out.push_back(' ');
    pending = false;
    out.append(text, i, end - i);
    i = end;
  }
}

// html_to_text, and with `limit` != npos its text cut to at most `limit` bytes (see
// html_to_text_prefix): the output is collapsed as the input is read, and reading stops once
// more than `limit` bytes of text are out.
std::string html_to_text_up_to(std::string_view html, std::size_t limit) {
  const bool bounded = limit != std::string_view::npos;
  std::string text;  // raw text, white space not yet collapsed
  text.reserve(bounded ? std::min(html.size(), limit) : html.size());
  std::string out;
  bool pending_space = false;
  std::size_t collapsed = 0;  // text[0, collapsed) is in `out`
  // Bounded: collapses what is new once it could take `out` past `limit`; true when it did.
  auto full = [&] {
    if (!bounded || text.size() - collapsed <= limit - std::min(limit, out.size())) return false;
    collapse_into(std::string_view(text).substr(collapsed), out, pending_space, limit);
    collapsed = text.size();
    return out.size() > limit;
  };
  std::size_t copied = 0;  // html[copied, i) is text not yet decoded into `text`
  std::size_t i = html.find('<');
  auto flush = [&](std::size_t until) {
    if (!bounded) {
      decode_html_entities_into(html.substr(copied, until - copied), text);
      return;
    }
    // Long text between tags is decoded a piece at a time, until the limit is reached. Pieces
    // end before ASCII white space, which no reference spans: decoding them one by one is
    // decoding them together.
    for (std::size_t from = copied; from < until && !full();) {
      const std::size_t want = std::max<std::size_t>(256, limit + 1 - std::min(limit, out.size()));
      std::size_t to =
          until - from <= want ? until : html.find_first_of(" \t\n\r\f\v", from + want);
      to = std::min(to, until);
      decode_html_entities_into(html.substr(from, to - from), text);
      from = to;
    }
  };
  // Linear time on broken markup: nothing ends after the last '>', and once a quoted value
  // runs to the end of the input, quotes are no longer trusted (each later tag then ends at its
  // first '>'), so no stretch of input is scanned twice for a tag that never ends.
  const std::size_t last_gt = html.rfind('>');
  auto gt_after = [last_gt](std::size_t pos) {
    return last_gt != std::string_view::npos && last_gt > pos;
  };
  bool respect_quotes = true;
  auto find_tag_end = [&](std::size_t pos) {
    if (!gt_after(pos)) return std::string_view::npos;
    std::size_t end = tag_end(html, pos, respect_quotes);
    if (end == std::string_view::npos && respect_quotes) {
      respect_quotes = false;
      end = tag_end(html, pos, false);
    }
    return end;
  };
  while (i != std::string_view::npos && !full()) {
    std::size_t resume = std::string_view::npos;  // where text starts again after markup
    if (html.substr(i).starts_with("<!--")) {
      const std::size_t close = html.find("-->", i + 4);
      flush(i);
      resume = close == std::string_view::npos ? html.size() : close + 3;
    } else if (html.substr(i).starts_with("<![CDATA[")) {
      // Its content is text as it stands: no references to decode.
      const std::size_t close = html.find("]]>", i + 9);
      flush(i);
      const std::size_t end = close == std::string_view::npos ? html.size() : close;
      text.append(html, i + 9, end - (i + 9));
      resume = close == std::string_view::npos ? html.size() : close + 3;
    } else if (i + 1 < html.size() && (html[i + 1] == '!' || html[i + 1] == '?')) {
      // <!DOCTYPE ...>, <?xml ...?>; without a '>' it is text.
      if (gt_after(i)) {
        flush(i);
        resume = html.find('>', i) + 1;
      }
    } else if (is_tag_start(html, i)) {
      const std::size_t end = find_tag_end(i);
      if (end != std::string_view::npos) {
        const bool closing = html[i + 1] == '/';
        std::size_t name_end = i + (closing ? 2 : 1);
        while (name_end < end && ascii::is_alnum(html[name_end]))
          ++name_end;
        std::string name(html.substr(i + (closing ? 2 : 1), name_end - i - (closing ? 2 : 1)));
        for (char& c : name)
          c = ascii::to_lower(c);
        flush(i);
        if (is_block_element(name)) text.push_back(' ');
        resume = end;
        if (!closing && (name == "script" || name == "style")) {
          // Their content is code, never text.
          const std::size_t close = find_end_tag(html, end, name);
          const std::size_t close_end =
              close == std::string_view::npos ? std::string_view::npos : find_tag_end(close);
          resume = close_end == std::string_view::npos ? html.size() : close_end;
        }
      }
      // A tag that never ends ("x <y") is left as text.
    }
    if (resume != std::string_view::npos) {
      copied = resume;
      i = html.find('<', resume);
    } else {
      i = html.find('<', i + 1);  // "a < b": a '<' that starts nothing is text
    }
  }
  if (!bounded) {
    flush(html.size());
    return collapse_whitespace(text);
  }
  if (out.size() <= limit) {
    flush(html.size());
    collapse_into(std::string_view(text).substr(collapsed), out, pending_space, limit);
  }
  if (out.size() > limit) {
    // Not splitting a UTF-8 sequence.
    std::size_t end = limit;
    while (end > 0 && (static_cast<unsigned char>(out[end]) & 0xC0) == 0x80)
      --end;
    out.resize(end);
  }
  return out;
}

}  // namespace

std::string html_to_text(std::string_view html) {
  return html_to_text_up_to(html, std::string_view::npos);
}

std::string html_to_text_prefix(std::string_view html, std::size_t max_bytes) {
  return html_to_text_up_to(html, max_bytes);
}

std::string escape_html(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  std::size_t copied = 0;
  for (std::size_t i = text.find_first_of("&<>\""); i != std::string_view::npos;
       i = text.find_first_of("&<>\"", i + 1)) {
    out.append(text, copied, i - copied);
    switch (text[i]) {
      case '&':
        out.append("&amp;");
        break;
      case '<':
        out.append("&lt;");
        break;
      case '>':
        out.append("&gt;");
        break;
      default:
        out.append("&quot;");
        break;
    }
    copied = i + 1;
  }
  out.append(text, copied);
  return out;
}

bool looks_double_escaped(std::string_view text) {
  bool escaped_tag = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '<') {
      if (is_tag_start(text, i)) return false;  // real markup: it was escaped just right
    } else if (text[i] == '&' && !escaped_tag) {
      const std::size_t lt = escaped_lt_length(text, i);
      if (lt == 0) continue;
      std::size_t j = i + lt;
      if (j < text.size() && text[j] == '/') ++j;
      if (text.substr(j).starts_with("!--")) {
        escaped_tag = true;
        continue;
      }
      const std::size_t name_start = j;
      while (j < text.size() && j - name_start < 16 && ascii::is_alnum(text[j]))
        ++j;
      std::string name(text.substr(name_start, j - name_start));
      for (char& c : name)
        c = ascii::to_lower(c);
      // The name must end the way a tag name does: "&lt;p&gt;", "&lt;a href", "&lt;br/&gt;".
      const bool name_ends =
          j < text.size() && (text[j] == '&' || text[j] == '/' || ascii::is_space(text[j]));
      escaped_tag = name_ends && is_common_tag_name(name);
    }
  }
  return escaped_tag;
}

bool looks_like_html(std::string_view text) {
  const std::size_t last_gt = text.rfind('>');
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '<') {
      // A tag needs its '>' somewhere after, which "x <y" and "<3" lack.
      if (is_tag_start(text, i) && last_gt != std::string_view::npos && last_gt > i + 1) {
        return true;
      }
    } else if (text[i] == '&') {
      // "&#233" without ';' is tolerated when decoding but is no evidence of markup.
      std::string scratch;
      const std::size_t n = decode_reference(text, i, scratch);
      if (n != 0 && text[i + n - 1] == ';') return true;
    }
  }
  return false;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i)
    d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j)
    d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

}  // namespace feedmerge::normalize
