#include "feedmerge/normalize/encoding.h"

#include "feedmerge/normalize/ascii.h"

#include <unicode/ucnv.h>
#include <unicode/ucnv_cb.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>

namespace feedmerge::normalize {
namespace {

using ascii::is_space;
using ascii::trim;

constexpr std::string_view kReplacementUtf8 = "\xEF\xBF\xBD";  // U+FFFD
constexpr std::string_view kUtf8 = "utf-8";
constexpr std::string_view kWindows1252 = "windows-1252";

// ---------------------------------------------------------------------------------------------
// Small ASCII helpers (labels, media types and declarations are ASCII).

int line_at(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + offset, '\n'));
}

// ---------------------------------------------------------------------------------------------
// UTF-8 validation. ICU has no whole-buffer validator in its C API, so this is a loop around
// its U8_NEXT macro (maximal-subpart error handling, as ICU's converters and the WHATWG
// decoder count) with a word-at-a-time skip over ASCII, which is most of any feed.

struct Utf8Scan {
  std::size_t invalid = 0;        // ill-formed sequences
  std::size_t first_invalid = 0;  // byte offset of the first one
  std::size_t multibyte = 0;      // well-formed non-ASCII characters

  bool valid() const { return invalid == 0; }
  bool ascii_only() const { return invalid == 0 && multibyte == 0; }
};

constexpr std::uint64_t kHighBits = 0x8080808080808080ull;

// Index of the first non-ASCII byte at or after `i`, or `n`.
std::size_t skip_ascii(const std::uint8_t* p, std::size_t i, std::size_t n) {
  while (i + 16 <= n) {
    std::uint64_t a;
    std::uint64_t b;
    std::memcpy(&a, p + i, 8);
    std::memcpy(&b, p + i + 8, 8);
    if ((a | b) & kHighBits) break;
    i += 16;
  }
  while (i < n && p[i] < 0x80)
    ++i;
  return i;
}

Utf8Scan scan_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(s.data());
  const std::size_t n = s.size();
  Utf8Scan scan;
  std::size_t i = skip_ascii(p, 0, n);
  while (i < n) {
    const std::size_t start = i;
    UChar32 c;
    U8_NEXT(p, i, n, c);
    if (c < 0) {
      if (scan.invalid++ == 0) scan.first_invalid = start;
    } else {
      ++scan.multibyte;
    }
    i = skip_ascii(p, i, n);
  }
  return scan;
}

// ---------------------------------------------------------------------------------------------
// ICU converters.

struct ConverterCloser {
  void operator()(UConverter* c) const noexcept { ucnv_close(c); }
};
using Converter = std::unique_ptr<UConverter, ConverterCloser>;

// nullptr when ICU does not know `name`. ucnv_open("") would open the platform default, which
// is never what a document means.
Converter open_converter(std::string_view name) {
  if (name.empty() || name.size() >= UCNV_MAX_CONVERTER_NAME_LENGTH) return nullptr;
  const std::string zname(name);
  UErrorCode status = U_ZERO_ERROR;
  Converter converter(ucnv_open(zname.c_str(), &status));
  if (U_FAILURE(status)) return nullptr;
  return converter;
}

struct Substitutions {
  const char* source_begin = nullptr;
  std::size_t count = 0;
  std::size_t first_offset = 0;  // byte offset of the first bad sequence in the source
};

// Counts each ill-formed or unmappable sequence and writes U+FFFD for it. ICU's own
// UCNV_TO_U_CALLBACK_SUBSTITUTE writes U+001A for some single-byte charsets; we always want
// U+FFFD.
void U_CALLCONV substitute_fffd(const void* context, UConverterToUnicodeArgs* args,
                                const char* /*code_units*/, int32_t length,
                                UConverterCallbackReason reason, UErrorCode* status) {
  if (reason > UCNV_IRREGULAR) return;  // reset, close, clone: nothing to substitute
  auto* subs = static_cast<Substitutions*>(const_cast<void*>(context));
  if (subs->count++ == 0) {
    const std::ptrdiff_t end = args->source - subs->source_begin;
    subs->first_offset = static_cast<std::size_t>(std::max<std::ptrdiff_t>(0, end - length));
  }
  static const UChar kFffd = 0xFFFD;
  *status = U_ZERO_ERROR;
  ucnv_cbToUWriteUChars(args, &kFffd, 1, 0, status);
}

struct Converted {
  std::string utf8;
  std::size_t substitutions = 0;
  std::size_t first_offset = 0;
};

// Converts `bytes` from `from` to UTF-8 in one ucnv_convertEx run (pivoting through a stack
// buffer, no intermediate UTF-16 string).
Converted convert_to_utf8(UConverter* from, std::string_view bytes) {
  Converted out;
  Converter to = open_converter("UTF-8");
  Substitutions subs{bytes.data()};
  UErrorCode status = U_ZERO_ERROR;
  ucnv_setToUCallBack(from, substitute_fffd, &subs, nullptr, nullptr, &status);
  if (!to || U_FAILURE(status)) return out;  // ICU data missing: nothing sensible to do

  // Most legacy text grows by at most half (Cyrillic and CJK); grown on demand otherwise.
  out.utf8.resize(bytes.size() + bytes.size() / 2 + 64);
  std::array<UChar, 4096> pivot;
  UChar* pivot_source = pivot.data();
  UChar* pivot_target = pivot.data();
  const char* source = bytes.data();
  char* target = out.utf8.data();
  bool reset = true;
  for (;;) {
    status = U_ZERO_ERROR;
    ucnv_convertEx(to.get(), from, &target, out.utf8.data() + out.utf8.size(), &source,
                   bytes.data() + bytes.size(), pivot.data(), &pivot_source, &pivot_target,
                   pivot.data() + pivot.size(), reset, /*flush=*/true, &status);
    reset = false;
    if (status != U_BUFFER_OVERFLOW_ERROR) break;
    const std::size_t used = static_cast<std::size_t>(target - out.utf8.data());
    out.utf8.resize(out.utf8.size() * 2);
    target = out.utf8.data() + used;
  }
  out.utf8.resize(static_cast<std::size_t>(target - out.utf8.data()));
  out.substitutions = subs.count;
  out.first_offset = subs.first_offset;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Encoding names.

enum class Family { utf8, utf16le, utf16be, utf16, utf32le, utf32be, utf32, legacy };

struct Encoding {
  std::string canonical;  // ICU's converter name, what we open
  std::string name;       // lower-case display name ("windows-1252")
  Family family = Family::legacy;

  bool unicode() const { return family != Family::legacy; }
};

bool is_utf16(Family f) {
  return f == Family::utf16 || f == Family::utf16le || f == Family::utf16be;
}
bool is_utf32(Family f) {
  return f == Family::utf32 || f == Family::utf32le || f == Family::utf32be;
}

std::string display_name(const char* canonical) {
  for (const char* standard : {"MIME", "IANA", "WINDOWS"}) {
    UErrorCode status = U_ZERO_ERROR;
    const char* name = ucnv_getStandardName(canonical, standard, &status);
    // IANA also lists names like "ISO_8859-1:1987" that nobody writes.
    if (U_SUCCESS(status) && name != nullptr && std::strchr(name, ':') == nullptr &&
        std::strlen(name) <= 20) {
      return ascii::to_lower(name);
    }
  }
  return ascii::to_lower(canonical);
}

Encoding unicode_encoding(Family family) {
  switch (family) {
    case Family::utf8:
      return {"UTF-8", "utf-8", family};
    case Family::utf16le:
      return {"UTF-16LE", "utf-16le", family};
    case Family::utf16be:
    case Family::utf16:
      return {"UTF-16BE", "utf-16be", Family::utf16be};
    case Family::utf32le:
      return {"UTF-32LE", "utf-32le", family};
    case Family::utf32be:
    case Family::utf32:
      return {"UTF-32BE", "utf-32be", Family::utf32be};
    case Family::legacy:
      break;
  }
  return {"windows-1252", "windows-1252", Family::legacy};
}

// What a label means, as the WHATWG Encoding Standard reads labels where it differs from ICU:
// ISO-8859-1 and US-ASCII are windows-1252 (whose extra characters in 0x80-0x9F are what such
// feeds contain), GB2312 and GBK are GB18030, the superset that real Chinese feeds need.
std::optional<Encoding> resolve_label(std::string_view label) {
  label = trim(label);
  if (label.size() >= 2 && (label.front() == '"' || label.front() == '\'') &&
      label.back() == label.front()) {
    label = trim(label.substr(1, label.size() - 2));
  }
  Converter converter = open_converter(label);
  if (!converter) return std::nullopt;
  UErrorCode status = U_ZERO_ERROR;
  const std::string canonical = ucnv_getName(converter.get(), &status);
  if (U_FAILURE(status)) return std::nullopt;

  if (canonical == "UTF-8") return unicode_encoding(Family::utf8);
  if (canonical == "UTF-16") return Encoding{canonical, "utf-16", Family::utf16};
  if (canonical == "UTF-16LE") return unicode_encoding(Family::utf16le);
  if (canonical == "UTF-16BE") return unicode_encoding(Family::utf16be);
  if (canonical == "UTF-32") return Encoding{canonical, "utf-32", Family::utf32};
  if (canonical == "UTF-32LE") return unicode_encoding(Family::utf32le);
  if (canonical == "UTF-32BE") return unicode_encoding(Family::utf32be);
  if (canonical == "ISO-8859-1" || canonical == "US-ASCII") {
    return Encoding{"windows-1252", "windows-1252", Family::legacy};
  }
  if (canonical == "ibm-1383_P110-1999" || canonical == "windows-936-2000") {
    return Encoding{"gb18030", "gb18030", Family::legacy};
  }
  return Encoding{canonical, display_name(canonical.c_str()), Family::legacy};
}

bool same_encoding(const Encoding& a, const Encoding& b) {
  if (is_utf16(a.family) && is_utf16(b.family)) return true;
  if (is_utf32(a.family) && is_utf32(b.family)) return true;
  return a.canonical == b.canonical;
}

// ---------------------------------------------------------------------------------------------
// Sniffing.

struct Bom {
  Family family;
  std::size_t length;
};

std::optional<Bom> detect_bom(std::string_view b) {
  auto starts = [&](std::string_view prefix) { return b.substr(0, prefix.size()) == prefix; };
  // UTF-32 LE before UTF-16 LE: FF FE 00 00 starts with FF FE.
  if (starts(std::string_view("\xFF\xFE\0\0", 4))) return Bom{Family::utf32le, 4};
  if (starts(std::string_view("\0\0\xFE\xFF", 4))) return Bom{Family::utf32be, 4};
  if (starts("\xEF\xBB\xBF")) return Bom{Family::utf8, 3};
  if (starts("\xFF\xFE")) return Bom{Family::utf16le, 2};
  if (starts("\xFE\xFF")) return Bom{Family::utf16be, 2};
  return std::nullopt;
}

// UTF-16 or UTF-32 without BOM, recognised from the zero bytes that ASCII markup ("<?xml",
// "{") leaves in them: ASCII-compatible text has no zero bytes at all.
std::optional<Family> sniff_wide(std::string_view b) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(b.data());
  const std::size_t n = std::min<std::size_t>(b.size(), 64);
  if (n >= 4) {
    std::size_t le = 0;
    std::size_t be = 0;
    const std::size_t quads = n / 4;
    for (std::size_t q = 0; q < quads; ++q) {
      const std::uint8_t* u = p + 4 * q;
      if (u[0] != 0 && u[1] == 0 && u[2] == 0 && u[3] == 0) ++le;
      if (u[0] == 0 && u[1] == 0 && u[2] == 0 && u[3] != 0) ++be;
    }
    if (le * 4 >= quads * 3) return Family::utf32le;
    if (be * 4 >= quads * 3) return Family::utf32be;
  }
  if (n >= 2) {
    std::size_t le = 0;
    std::size_t be = 0;
    const std::size_t pairs = n / 2;
    for (std::size_t i = 0; i < pairs; ++i) {
      const std::uint8_t* u = p + 2 * i;
      if (u[0] != 0 && u[1] == 0) ++le;
      if (u[0] == 0 && u[1] != 0) ++be;
    }
    if (le * 4 >= pairs * 3) return Family::utf16le;
    if (be * 4 >= pairs * 3) return Family::utf16be;
  }
  return std::nullopt;
}

// The ASCII characters at the start of a UTF-16/32 document, enough to read its declaration.
std::string narrow_prefix(std::string_view b, Family family) {
  const std::size_t width = is_utf32(family) ? 4 : 2;
  const bool little = family == Family::utf16le || family == Family::utf32le;
  std::string out;
  for (std::size_t i = 0; i + width <= b.size() && out.size() < 512; i += width) {
    const std::string_view unit = b.substr(i, width);
    const char c = little ? unit.front() : unit.back();
    const std::string_view rest = little ? unit.substr(1) : unit.substr(0, width - 1);
    if (static_cast<unsigned char>(c) >= 0x80 || rest.find_first_not_of('\0') != rest.npos) break;
    out.push_back(c);
  }
  return out;
}

struct Declaration {
  std::string encoding;  // as written; "" when none
  int line = 0;
};

// The encoding pseudo-attribute of an XML declaration at the start of `text` (after white
// space, which real feeds put there although XML forbids it).
Declaration read_declaration(std::string_view text) {
  Declaration decl;
  std::size_t i = 0;
  while (i < text.size() && i < 1024 && is_space(text[i]))
    ++i;
  if (text.substr(i, 5) != "<?xml" || i + 5 >= text.size() || !is_space(text[i + 5])) return decl;
  decl.line = line_at(text, i);
  const std::size_t end = text.find("?>", i);
  std::string_view body = text.substr(i + 5, std::min<std::size_t>(end, i + 1024) - (i + 5));
  for (std::size_t at = body.find("encoding"); at != body.npos;
       at = body.find("encoding", at + 1)) {
    if (at > 0 && !is_space(body[at - 1])) continue;
    std::size_t j = at + 8;
    while (j < body.size() && is_space(body[j]))
      ++j;
    if (j >= body.size() || body[j] != '=') continue;
    ++j;
    while (j < body.size() && is_space(body[j]))
      ++j;
    if (j >= body.size() || (body[j] != '"' && body[j] != '\'')) continue;
    const std::size_t close = body.find(body[j], j + 1);
    if (close == body.npos) break;
    decl.encoding = std::string(trim(body.substr(j + 1, close - j - 1)));
    break;
  }
  return decl;
}

bool is_xml_media_type(std::string_view content_type) {
  std::string type = ascii::to_lower(trim(content_type.substr(0, content_type.find(';'))));
  const std::size_t slash = type.find('/');
  if (slash == std::string::npos) return false;
  const std::string_view subtype = std::string_view(type).substr(slash + 1);
  return subtype == "xml" || subtype.ends_with("+xml") || subtype == "xml-external-parsed-entity";
}

// ---------------------------------------------------------------------------------------------
// Decoding with one chosen encoding.

std::string plural(std::size_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

// `borrow`: valid input is not copied; `borrowed` points at it instead (see DecodedText).
DecodedText decode_utf8(std::string_view bytes, const Utf8Scan& scan, bool borrow = false) {
  DecodedText out;
  out.encoding = kUtf8;
  if (scan.valid()) {
    if (borrow) {
      out.borrowed = bytes;
    } else {
      out.utf8.assign(bytes.data(), bytes.size());
    }
    return out;
  }
  out.utf8 = make_valid_utf8(bytes);
  out.warnings.push_back({line_at(bytes, scan.first_invalid),
                          plural(scan.invalid, "invalid byte sequence", "invalid byte sequences") +
                              " in utf-8 replaced with U+FFFD"});
  return out;
}

DecodedText decode_with(std::string_view bytes, const Encoding& encoding) {
  DecodedText out;
  out.encoding = encoding.name;
  Converter converter = open_converter(encoding.canonical);
  if (!converter) {  // cannot happen for a resolved encoding; stay safe without ICU data
    out.utf8 = make_valid_utf8(bytes);
    out.encoding = kUtf8;
    return out;
  }
  Converted converted = convert_to_utf8(converter.get(), bytes);
  out.utf8 = std::move(converted.utf8);
  if (converted.substitutions > 0) {
    // The line of the first bad sequence: decode what precedes it and count its newlines,
    // which works for every encoding, wide or stateful.
    Converter again = open_converter(encoding.canonical);
    const std::string before =
        again ? convert_to_utf8(again.get(), bytes.substr(0, converted.first_offset)).utf8 : "";
    out.warnings.push_back(
        {line_at(before, before.size()),
         plural(converted.substitutions, "invalid byte sequence", "invalid byte sequences") +
             " in " + encoding.name + " replaced with U+FFFD"});
  }
  return out;
}

void prepend(std::vector<Warning>& into, std::vector<Warning> first) {
  into.insert(into.begin(), std::make_move_iterator(first.begin()),
              std::make_move_iterator(first.end()));
}

// Lazily scanned UTF-8 facts about the input: only needed on some paths.
class Bytes {
 public:
  explicit Bytes(std::string_view bytes) : bytes_(bytes) {}
  std::string_view view() const { return bytes_; }
  const Utf8Scan& scan() {
    if (!scan_) scan_ = scan_utf8(bytes_);
    return *scan_;
  }

 private:
  std::string_view bytes_;
  std::optional<Utf8Scan> scan_;
};

// Bytes with a few bad sequences among many well-formed multi-byte ones are UTF-8 with damage
// (a truncated character, one pasted byte): legacy single-byte text almost never contains a
// well-formed multi-byte sequence, and reading it as windows-1252 would garble every other
// character to save one.
bool mostly_utf8(const Utf8Scan& scan) {
  return scan.valid() || scan.multibyte > scan.invalid;
}

// Bytes that nothing declares, or whose declaration we could not use: UTF-8 when they are
// (mostly) UTF-8, else `fallback`. `why`, when not empty, is the warning for the latter.
DecodedText decode_undeclared(Bytes& bytes, const Encoding& fallback, std::vector<Warning> notes,
                              std::string_view why, bool borrow = false) {
  const Utf8Scan& scan = bytes.scan();
  DecodedText out;
  if (mostly_utf8(scan)) {
    out = decode_utf8(bytes.view(), scan, borrow);
  } else {
    out = decode_with(bytes.view(), fallback);
    if (!why.empty()) {
      notes.push_back({line_at(bytes.view(), scan.first_invalid),
                       std::string(why) + "; read as " + fallback.name});
    }
  }
  prepend(out.warnings, std::move(notes));
  return out;
}

Encoding windows_1252() {
  return Encoding{"windows-1252", std::string(kWindows1252), Family::legacy};
}

// The encoding to read undeclared non-UTF-8 bytes with: a legacy charset named by a Content-Type
// that is not an XML media type (and so does not bind), else windows-1252.
Encoding legacy_hint(std::string_view charset) {
  if (!charset.empty()) {
    if (auto hinted = resolve_label(charset); hinted && !hinted->unicode()) return *hinted;
  }
  return windows_1252();
}

// Decodes a document known to be UTF-16 or UTF-32 (BOM already removed).
DecodedText decode_wide(std::string_view bytes, Family family) {
  return decode_with(bytes, unicode_encoding(family));
}

}  // namespace

std::string charset_from_content_type(std::string_view content_type) {
  std::size_t semicolon = content_type.find(';');
  while (semicolon != std::string_view::npos) {
    std::string_view rest = content_type.substr(semicolon + 1);
    // A quoted value may itself contain ';'.
    const std::size_t eq = rest.find('=');
    const std::size_t next_semicolon = rest.find(';');
    if (eq == std::string_view::npos) return "";
    if (next_semicolon != std::string_view::npos && next_semicolon < eq) {
      semicolon = semicolon + 1 + next_semicolon;
      continue;
    }
    const std::string name = ascii::to_lower(trim(rest.substr(0, eq)));
    std::string_view value = trim(rest.substr(eq + 1));
    std::size_t consumed;
    if (!value.empty() && value.front() == '"') {
      const std::size_t close = value.find('"', 1);
      consumed = close == std::string_view::npos ? value.size() : close + 1;
      value = value.substr(1, (close == std::string_view::npos ? value.size() : close) - 1);
    } else {
      consumed = std::min(value.find(';'), value.size());
      value = trim(value.substr(0, consumed));
    }
    if (name == "charset") return ascii::to_lower(trim(value));
    const std::size_t after = static_cast<std::size_t>(
        (trim(rest.substr(eq + 1)).data() - content_type.data()) + consumed);
    semicolon = content_type.find(';', after);
  }
  return "";
}

bool is_valid_utf8(std::string_view bytes) {
  return scan_utf8(bytes).valid();
}

std::string make_valid_utf8(std::string_view bytes, std::size_t* replaced) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(bytes.data());
  const std::size_t n = bytes.size();
  std::string out;
  out.reserve(n + n / 8 + 16);
  std::size_t count = 0;
  std::size_t run_start = 0;  // start of bytes not yet copied, all well-formed
  std::size_t i = skip_ascii(p, 0, n);
  while (i < n) {
    const std::size_t start = i;
    UChar32 c;
    U8_NEXT(p, i, n, c);
    if (c < 0) {
      out.append(bytes.data() + run_start, start - run_start);
      out.append(kReplacementUtf8);
      run_start = i;
      ++count;
    }
    i = skip_ascii(p, i, n);
  }
  out.append(bytes.data() + run_start, n - run_start);
  if (replaced != nullptr) *replaced = count;
  return out;
}

namespace {

DecodedText decode_xml_bytes(std::string_view input, std::string_view content_type, bool borrow) {
  Bytes bytes(input);

  // 1. A byte order mark is the most reliable signal there is (RFC 7303 section 4.3).
  if (std::optional<Bom> bom = detect_bom(input)) {
    const std::string_view body = input.substr(bom->length);
    DecodedText out;
    if (bom->family == Family::utf8) {
      Bytes rest(body);
      out = decode_utf8(body, rest.scan());
    } else {
      out = decode_wide(body, bom->family);
    }
    const Declaration decl = read_declaration(out.utf8);
    if (!decl.encoding.empty()) {
      auto declared = resolve_label(decl.encoding);
      if (declared && !same_encoding(*declared, unicode_encoding(bom->family))) {
        out.warnings.insert(out.warnings.begin(),
                            {decl.line, "encoding '" + decl.encoding +
                                            "' in the XML declaration overruled by the " +
                                            out.encoding + " byte order mark"});
      }
    }
    return out;
  }

  // 2./3. RFC 7303: the charset of an XML media type wins over the declaration. text/xml
  // without a charset would be US-ASCII under the obsolete RFC 3023; like every feed reader we
  // follow the declaration instead. The charset of a non-XML type (text/html, text/plain) does
  // not bind; it is only a hint for bytes that declare nothing and are not UTF-8.
  const std::string charset = charset_from_content_type(content_type);
  const bool binding_charset = !charset.empty() && is_xml_media_type(content_type);
  const std::optional<Family> wide = sniff_wide(input);
  const Declaration decl =
      read_declaration(wide ? std::string_view(narrow_prefix(input, *wide)) : input);

  std::vector<Warning> notes;
  std::string label;
  std::string where;
  int label_line = 0;
  if (binding_charset) {
    label = charset;
    where = "charset '" + charset + "' in Content-Type";
  } else if (!decl.encoding.empty()) {
    label = decl.encoding;
    where = "encoding '" + decl.encoding + "' in the XML declaration";
    label_line = decl.line;
  }

  // 4. Zero bytes in the markup mean UTF-16/32, whatever a label says.
  if (wide) {
    std::optional<Encoding> labelled = label.empty() ? std::nullopt : resolve_label(label);
    if (labelled && !(is_utf16(*wide) ? is_utf16(labelled->family) : is_utf32(labelled->family))) {
      notes.push_back(
          {label_line, where + " overruled: the bytes are " + unicode_encoding(*wide).name});
    }
    DecodedText out = decode_wide(input, *wide);
    prepend(out.warnings, std::move(notes));
    return out;
  }

  // 5. No label: UTF-8, or windows-1252 for bytes that are not.
  if (label.empty()) {
    return decode_undeclared(bytes, legacy_hint(charset), std::move(notes),
                             "no encoding declared and the bytes are not UTF-8");
  }

  std::optional<Encoding> encoding = resolve_label(label);
  const auto fallback_name = [&] { return mostly_utf8(bytes.scan()) ? kUtf8 : kWindows1252; };
  if (!encoding) {
    notes.push_back({label_line, "unknown " + where + "; read as " + std::string(fallback_name())});
    return decode_undeclared(bytes, windows_1252(), std::move(notes), "", borrow);
  }

  // A legacy label on bytes that are entirely valid UTF-8 with non-ASCII: the label is stale
  // (a site moved to UTF-8 and kept its template); legacy text of any length is practically
  // never valid UTF-8 by chance.
  const bool stale_legacy_label =
      !encoding->unicode() && bytes.scan().valid() && bytes.scan().multibyte > 0;

  if (binding_charset && !decl.encoding.empty() && !stale_legacy_label) {
    auto declared = resolve_label(decl.encoding);
    if (declared && !same_encoding(*declared, *encoding) && !bytes.scan().ascii_only()) {
      // A server-wide "charset=utf-8" on a legacy document is common: when the bytes are not
      // UTF-8, the document's own declaration is the better guess.
      if (encoding->family == Family::utf8 && !bytes.scan().valid() && !declared->unicode()) {
        notes.push_back({decl.line, where + " ignored: the bytes are not UTF-8; read as " +
                                        declared->name + " as the XML declaration says"});
        DecodedText out = decode_with(input, *declared);
        prepend(out.warnings, std::move(notes));
        return out;
      }
      notes.push_back({decl.line, "encoding '" + decl.encoding +
                                      "' in the XML declaration overruled by " + where});
    }
  }

  if (is_utf16(encoding->family) || is_utf32(encoding->family)) {
    // The bytes have no zero bytes where UTF-16/32 markup would: the label is wrong.
    notes.push_back({label_line, where + " but the bytes are not " + encoding->name + "; read as " +
                                     std::string(fallback_name())});
    return decode_undeclared(bytes, windows_1252(), std::move(notes), "", borrow);
  }

  if (encoding->family == Family::utf8) {
    DecodedText out = decode_utf8(input, bytes.scan(), borrow);
    prepend(out.warnings, std::move(notes));
    return out;
  }

  if (stale_legacy_label) {
    notes.push_back({label_line, where + " but the bytes are UTF-8; read as utf-8"});
    DecodedText out = decode_utf8(input, bytes.scan(), borrow);
    prepend(out.warnings, std::move(notes));
    return out;
  }
  DecodedText out = decode_with(input, *encoding);
  prepend(out.warnings, std::move(notes));
  return out;
}

DecodedText decode_json_bytes(std::string_view input, std::string_view content_type) {
  if (std::optional<Bom> bom = detect_bom(input)) {
    const std::string_view body = input.substr(bom->length);
    if (bom->family != Family::utf8) return decode_wide(body, bom->family);
    Bytes rest(body);
    return decode_utf8(body, rest.scan());
  }
  // RFC 4627 section 3: the zero bytes of the first characters tell UTF-16/32.
  if (std::optional<Family> wide = sniff_wide(input)) return decode_wide(input, *wide);

  Bytes bytes(input);
  const std::string charset = charset_from_content_type(content_type);
  if (!charset.empty()) {
    const Utf8Scan& scan = bytes.scan();
    if (!mostly_utf8(scan)) {
      if (auto encoding = resolve_label(charset)) {
        if (encoding->family == Family::utf8) return decode_utf8(input, scan);
        if (!encoding->unicode()) return decode_with(input, *encoding);
      }
    }
  }
  return decode_undeclared(bytes, windows_1252(), {}, "the bytes are not UTF-8");
}

// A second BOM after the first, or one that a label's converter kept, is not content either.
DecodedText without_bom(DecodedText decoded) {
  std::size_t n = 0;
  while (std::string_view(decoded.utf8).substr(n, 3) == "\xEF\xBB\xBF")
    n += 3;
  if (n > 0) decoded.utf8.erase(0, n);
  return decoded;
}

}  // namespace

DecodedText decode_xml(std::string_view bytes, std::string_view content_type) {
  return without_bom(decode_xml_bytes(bytes, content_type, false));
}

DecodedText decode_xml_borrowing(std::string_view bytes, std::string_view content_type) {
  DecodedText out = decode_xml_bytes(bytes, content_type, true);
  if (out.borrowed.data() == nullptr) return without_bom(std::move(out));
  while (out.borrowed.starts_with("\xEF\xBB\xBF"))
    out.borrowed.remove_prefix(3);
  return out;
}

DecodedText decode_json(std::string_view bytes, std::string_view content_type) {
  return without_bom(decode_json_bytes(bytes, content_type));
}

}  // namespace feedmerge::normalize
