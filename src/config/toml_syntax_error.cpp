#include "config/toml_syntax_error.h"

#include <algorithm>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

namespace feedmerge::config::detail {
namespace {

// The 1-based `line` of `text`, without its line break; empty past the end.
std::string_view line_of(std::string_view text, int line) {
  for (int n = 1; n < line; ++n) {
    const std::size_t end = text.find('\n');
    if (end == std::string_view::npos) return text.substr(text.size());  // inside `text`, empty
    text.remove_prefix(end + 1);
  }
  text = text.substr(0, text.find('\n'));
  if (text.ends_with('\r')) text.remove_suffix(1);
  return text;
}

bool is_continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

// toml++ counts columns in code points; these convert to and from byte offsets in the line.
std::size_t offset_of(std::string_view line, int column) {
  std::size_t offset = 0;
  for (int n = 1; n < column && offset < line.size(); ++n) {
    ++offset;
    while (offset < line.size() && is_continuation(line[offset]))
      ++offset;
  }
  return offset;
}

int column_of(std::string_view line, std::size_t offset) {
  int column = 1;
  for (std::size_t i = 0; i < offset && i < line.size(); ++i) {
    if (!is_continuation(line[i])) ++column;
  }
  return column;
}

bool is_space(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front()))
    text.remove_prefix(1);
  while (!text.empty() && is_space(text.back()))
    text.remove_suffix(1);
  return text;
}

// What toml++ quotes after "saw " ("'y'", "comma"), or "".
std::string_view what_was_seen(std::string_view reason) {
  const std::size_t at = reason.rfind("saw ");
  return at == std::string_view::npos ? std::string_view() : reason.substr(at + 4);
}

// The text between the first pair of single quotes in `reason` ("cannot redefine existing
// table 'x'" -> x).
std::string_view quoted_name(std::string_view reason) {
  const std::size_t open = reason.find('\'');
  if (open == std::string_view::npos) return {};
  const std::size_t close = reason.find('\'', open + 1);
  if (close == std::string_view::npos) return {};
  return reason.substr(open + 1, close - open - 1);
}

// The line and column of byte `offset` of `text`.
std::pair<int, int> position_of(std::string_view text, std::size_t offset) {
  const std::string_view before = text.substr(0, offset);
  const std::size_t newline = before.rfind('\n');
  const std::size_t line_start = newline == std::string_view::npos ? 0 : newline + 1;
  const int line = 1 + static_cast<int>(std::count(before.begin(), before.end(), '\n'));
  return {line, column_of(text.substr(line_start), offset - line_start)};
}

// The byte offset of the first byte that does not belong to a well-formed UTF-8 sequence.
std::optional<std::size_t> first_invalid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const std::size_t length = lead < 0x80           ? 1
                               : (lead >> 5) == 0x6  ? 2
                               : (lead >> 4) == 0xE  ? 3
                               : (lead >> 3) == 0x1E ? 4
                                                     : 0;
    if (length == 0 || i + length > text.size()) return i;
    for (std::size_t j = 1; j < length; ++j) {
      if (!is_continuation(text[i + j])) return i;
    }
    i += length;
  }
  return std::nullopt;
}

class Describer {
 public:
  Describer(std::string_view text, int line, int column)
      : full_(text),
        line_(line),
        column_(column),
        text_(line_of(text, line)),
        offset_(offset_of(text_, column)) {}

  // The problem is where toml++ found it.
  Error here(std::string message) const {
    return Error{ErrorKind::config, std::move(message), line_, column_};
  }
  // The problem starts at byte `offset` of the same line.
  Error at(std::size_t offset, std::string message) const {
    return Error{ErrorKind::config, std::move(message), line_, column_of(text_, offset)};
  }

  // toml++ stopped at the end of the line: a line break or the end of the file.
  bool at_line_end() const { return offset_ >= text_.size(); }

  // An unterminated string of `quote` (" or '): the opening quote is the last one on the line
  // before the error that no backslash escapes (basic strings only); none there, or a triple
  // quote, means a multi-line string opened on an earlier line.
  Error unterminated_string(char quote) const {
    std::size_t opener = std::string_view::npos;
    for (std::size_t i = 0; i < offset_ && i < text_.size(); ++i) {
      if (text_[i] != quote) continue;
      std::size_t backslashes = 0;
      while (quote == '"' && backslashes < i && text_[i - 1 - backslashes] == '\\')
        ++backslashes;
      if (backslashes % 2 == 0) opener = i;
    }
    const std::string one(1, quote);
    const bool triple = opener != std::string_view::npos && opener >= 2 &&
                        text_[opener - 1] == quote && text_[opener - 2] == quote;
    const std::string close = one + one + one;
    if (triple) return at(opener - 2, "unterminated multi-line string; close it with " + close);
    if (opener == std::string_view::npos) {
      // Opened on an earlier line: point at the last triple quote before this line.
      const auto line_start = static_cast<std::size_t>(text_.data() - full_.data());
      const std::size_t triple_at = full_.substr(0, line_start).rfind(close);
      if (triple_at == std::string_view::npos)
        return here("unterminated multi-line string; close it with " + close);
      const auto [line, column] = position_of(full_, triple_at);
      return Error{ErrorKind::config, "unterminated multi-line string; close it with " + close,
                   line, column};
    }
    return at(opener, "unterminated string; close it with " + one);
  }

  // A value that is no TOML value: most often text without quotes (interval = 30m). The
  // whole rest of the line after `=` when it is a plain value, else the word at the error.
  Error unquoted_value() const {
    const std::size_t equals = text_.rfind('=', offset_);
    std::size_t start = equals == std::string_view::npos ? 0 : equals + 1;
    std::string_view value = text_.substr(start);
    value = trim(value.substr(0, value.find('#')));
    if (equals == std::string_view::npos || value.empty() ||
        value.find_first_of("[]{},\"'") != std::string_view::npos) {
      // Inside an array or inline table: the word around the error.
      static constexpr std::string_view kDelimiters = " \t=,[]{}#";
      start = offset_ < text_.size() ? offset_ : text_.size();
      while (start > 0 && kDelimiters.find(text_[start - 1]) == std::string_view::npos)
        --start;
      std::size_t end = start;
      while (end < text_.size() && kDelimiters.find(text_[end]) == std::string_view::npos)
        ++end;
      value = text_.substr(start, end - start);
    } else {
      start = static_cast<std::size_t>(value.data() - text_.data());
    }
    if (value.empty()) return here("expected a value: \"text\", a number, true or false");
    const std::string word(value);
    if (word.size() > 1 && word.front() == '.' &&
        word.find_first_not_of("0123456789", 1) == std::string::npos)
      return at(start, "a number needs a digit before its point: write 0" + word);
    if (word == "True" || word == "TRUE" || word == "False" || word == "FALSE") {
      std::string lower = word;
      for (char& c : lower)
        c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
      return at(start, "true and false are written in lowercase: " + lower);
    }
    return at(start, "text must be quoted: write \"" + word + "\"");
  }

 private:
  std::string_view full_;  // the whole document
  int line_;
  int column_;
  std::string_view text_;  // the line of the error
  std::size_t offset_;     // the error's byte offset in it
};

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

}  // namespace

Error describe_toml_syntax_error(std::string_view text, std::string_view description, int line,
                                 int column) {
  static constexpr std::string_view kPrefix = "Error while parsing ";
  std::string_view scope;
  std::string_view reason = description;
  if (description.starts_with(kPrefix)) {
    const std::size_t colon = description.find(": ", kPrefix.size());
    if (colon != std::string_view::npos) {
      scope = description.substr(kPrefix.size(), colon - kPrefix.size());
      reason = description.substr(colon + 2);
    }
  }
  const Describer d(text, line, column);
  const std::string_view seen = what_was_seen(reason);
  const bool end_of_file = contains(reason, "end-of-file");

  if (contains(description, "utf-8")) {
    // toml++ reports where its reader stood, not where the bad byte is.
    Error error = d.here("the file is not UTF-8 text; save it as UTF-8");
    if (const auto bad = first_invalid_utf8(text)) {
      std::tie(error.line, error.column) = position_of(text, *bad);
    }
    return error;
  }

  if (scope == "string" || scope == "literal string") {
    const char quote = scope == "string" ? '"' : '\'';
    if (end_of_file || (contains(reason, "control characters") && d.at_line_end()))
      return d.unterminated_string(quote);
    if (contains(reason, "control characters")) {
      return d.here(quote == '"' ? "a control character inside a string; write it as an escape "
                                   "such as \\t or \\u0001"
                                 : "a control character inside a 'literal string'; use a "
                                   "\"basic string\" and an escape such as \\t or \\u0001");
    }
    if (contains(reason, "escape sequence")) {
      return d.here("unknown escape sequence " + std::string(quoted_name(reason)) +
                    "; write \\\\ for a backslash, or use a 'literal string' for text with "
                    "backslashes");
    }
  }
  if (scope == "unicode scalar sequence") {
    return d.here(
        "\\u and \\U must be followed by 4 and 8 hex digits; write \\\\ for a backslash, or "
        "use a 'literal string' for text with backslashes");
  }

  if (scope == "table header") {
    if (reason.starts_with("expected ']'")) {
      if (d.at_line_end() || seen == "'\\n'") {
        const std::string_view header = trim(line_of(text, line));
        return d.here(header.starts_with("[[") ? "unclosed table header; close it with ]]"
                                               : "unclosed table header; close it with ]");
      }
      return d.here("unexpected " + std::string(seen) +
                    " in a table name; quote a name with spaces or dots: [\"a b\"]");
    }
    if (contains(reason, "blank bare keys")) return d.here("empty table name; write [name]");
    const std::string name(quoted_name(reason));
    if (contains(reason, "as array-of-tables")) {
      return d.here("[[" + name + "]] cannot follow a table [" + name + "]; use one form for both");
    }
    if (contains(reason, "cannot redefine existing array")) {
      return d.here("[" + name + "] cannot follow an array of tables [[" + name + "]]; write [[" +
                    name + "]] to add another");
    }
    if (contains(reason, "cannot redefine existing table")) {
      return d.here("table [" + name + "] appears twice; merge the two into one");
    }
    if (contains(reason, "expected a comment or whitespace")) {
      return d.here("unexpected " + std::string(seen) +
                    " after the table header; nothing but a comment may follow it");
    }
  }

  if (scope == "key") {
    if (contains(reason, "multi-line")) return d.here("a key cannot be a multi-line string");
    return d.here("expected a key (letters, digits, _ and -, or \"quoted\"), saw " +
                  std::string(seen));
  }

  if (scope == "key-value pair") {
    if (end_of_file) return d.here("the file ends inside a key = value line; finish it");
    if (contains(reason, "cannot redefine existing")) {
      return d.here(std::string(quoted_name(reason)) + " is set twice; keep one of the two");
    }
    if (reason.starts_with("expected '='")) {
      return d.here(
          "expected = after the key (key = value); quote a key with spaces: "
          "\"a b\" = value");
    }
    if (reason.starts_with("expected value")) {
      return d.here("missing value after =; write \"text\", a number, true or false");
    }
    if (contains(reason, "expected a comment or whitespace")) {
      return d.here("unexpected " + std::string(seen) +
                    " after the value; write one key = value per line, and text in quotes");
    }
  }

  if (scope == "root table" && contains(reason, "expected keys, tables")) {
    return d.here("expected a key = value line or a [table] header, saw " + std::string(seen));
  }

  if (scope == "array") {
    if (end_of_file) return d.here("unterminated array; close it with ]");
    if (contains(reason, "saw comma")) return d.here("two commas in a row in an array");
    if (contains(reason, "expected comma or closing ']'")) {
      return d.here("expected , between the array's values or ] after the last one, saw " +
                    std::string(seen));
    }
  }

  if (scope == "inline table") {
    if (contains(reason, "dangling comma")) {
      return d.here("a comma before } in an inline table; remove it");
    }
    if (contains(reason, "saw comma")) return d.here("two commas in a row in an inline table");
    if (end_of_file || d.at_line_end() || seen == "'\\n'") {
      return d.here("unterminated inline table; close it with } on the same line");
    }
  }

  if (scope == "value" || scope == "boolean" || scope.ends_with("integer") ||
      scope.ends_with("floating-point")) {
    if (contains(reason, "leading zeroes")) {
      return d.here("a number must not start with 0; quote it if it is text: \"0123\"");
    }
    if (contains(reason, "not representable")) {
      return d.here("the number is too large (at most 9223372036854775807)");
    }
    if (contains(reason, "exceeded maximum nested")) return d.here("values nested too deep");
    return d.unquoted_value();
  }

  if (scope == "comment") return d.here("a control character in a comment; remove it");

  // Dates, times and the rarer mistakes: toml++'s own reason, in our form.
  if (scope.empty()) return d.here("TOML syntax error: " + std::string(reason));
  return d.here("TOML syntax error in a " + std::string(scope) + ": " + std::string(reason));
}

}  // namespace feedmerge::config::detail
