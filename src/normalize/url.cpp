#include "feedmerge/normalize/url.h"

#include "feedmerge/normalize/ascii.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>

#include <boost/url.hpp>

#include "feedmerge/normalize/text.h"

// Boost.URL does the RFC 3986 parsing and resolution; this file adds what feeds need around
// it: tolerance for the spaces and non-ASCII characters real links contain, and a scanner that
// finds URL attributes in HTML without building a DOM. Boost.URL may throw (allocation,
// lengths); its exceptions end here.

namespace feedmerge::normalize {
namespace {

using ascii::is_hex_digit;

// As the WHATWG URL parser does: leading and trailing C0 controls and spaces go, and so do
// tabs and newlines anywhere (feeds wrap long links).
std::string clean_url(std::string_view s) {
  while (!s.empty() && static_cast<unsigned char>(s.front()) <= 0x20)
    s.remove_prefix(1);
  while (!s.empty() && static_cast<unsigned char>(s.back()) <= 0x20)
    s.remove_suffix(1);
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c != '\t' && c != '\n' && c != '\r') out.push_back(c);
  }
  return out;
}

// Characters RFC 3986 allows somewhere in a URI reference: unreserved, gen-delims,
// sub-delims and '%'.
bool is_uri_char(char c) {
  static constexpr std::string_view kPunctuation = "-._~:/?#[]@!$&'()*+,;=%";
  return ascii::is_alpha(c) || ascii::is_digit(c) ||
         (c != '\0' && kPunctuation.find(c) != std::string_view::npos);
}

// `s` with what RFC 3986 forbids percent-encoded as UTF-8 bytes: spaces, non-ASCII, '"', '<',
// '\\', '{', a '%' that starts no escape, a second '#'. With `brackets`, also '[' and ']' (only
// legal around an IPv6 host, and the first attempt keeps them for that).
std::string percent_encode_invalid(std::string_view s, bool brackets) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() + 16);
  bool seen_hash = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    bool keep = is_uri_char(c);
    if (c == '%') {
      keep = i + 2 < s.size() && is_hex_digit(s[i + 1]) && is_hex_digit(s[i + 2]);
    } else if (c == '#') {
      keep = !seen_hash;
      seen_hash = true;
    } else if (c == '[' || c == ']') {
      keep = !brackets;
    }
    if (keep) {
      out.push_back(c);
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0x0F]);
    }
  }
  return out;
}

// Parses a URI reference, percent-encoding forbidden characters when the text as given does
// not parse. `encode_brackets` allows a last try with '[' and ']' encoded too.
std::optional<boost::urls::url> parse_reference(std::string_view text, bool encode_brackets) {
  if (auto parsed = boost::urls::parse_uri_reference(text)) return boost::urls::url(*parsed);
  for (bool brackets : {false, true}) {
    if (brackets && !encode_brackets) break;
    const std::string encoded = percent_encode_invalid(text, brackets);
    if (auto parsed = boost::urls::parse_uri_reference(encoded)) {
      return boost::urls::url(*parsed);
    }
  }
  return std::nullopt;
}

// RFC 3986 5.2.4, remove_dot_segments, on an encoded path.
std::string remove_dot_segments(std::string_view input) {
  std::string output;
  output.reserve(input.size());
  auto drop_last_segment = [&output] {
    const std::size_t slash = output.rfind('/');
    output.erase(slash == std::string::npos ? 0 : slash);
  };
  while (!input.empty()) {
    if (input.starts_with("../")) {
      input.remove_prefix(3);
    } else if (input.starts_with("./")) {
      input.remove_prefix(2);
    } else if (input.starts_with("/./")) {
      input.remove_prefix(2);
    } else if (input == "/.") {
      input = "/";
    } else if (input.starts_with("/../")) {
      input.remove_prefix(3);
      drop_last_segment();
    } else if (input == "/..") {
      input = "/";
      drop_last_segment();
    } else if (input == "." || input == "..") {
      input = {};
    } else {
      const std::size_t end = input.find('/', 1);
      const std::size_t n = end == std::string_view::npos ? input.size() : end;
      output.append(input.substr(0, n));
      input.remove_prefix(n);
    }
  }
  return output;
}

// The text of a resolved URL. Boost.URL 1.81 leaves dot segments that climb above the root:
// "../../../g" against "http://a/b/c/d;p?q" gives "http://a/../g" instead of "http://a/g"
// (boostorg/url#808, fixed in later releases), and "../../../../" gives "http://a/../../".
// With an authority present no path can be mistaken for anything else, so removing them
// again is safe; it is done on the text because set_encoded_path("/") writes "/./" in 1.81.
std::string finish_dot_segments(const boost::urls::url& url) {
  const std::string_view buffer = url.buffer();
  const std::string_view path = url.encoded_path();
  if (!url.has_authority() || path.find("/.") == std::string_view::npos) {
    return std::string(buffer);
  }
  const auto path_start = static_cast<std::size_t>(path.data() - buffer.data());
  std::string out(buffer.substr(0, path_start));
  out.append(remove_dot_segments(path));
  out.append(buffer.substr(path_start + path.size()));
  return out;
}

// A base URL parsed once, for the many references of one HTML fragment, and only when a
// reference needs it: most links in feeds are absolute already, and parsing the base took
// a tenth of a first poll's parse time. `base` must outlive the Resolver.
class Resolver {
 public:
  explicit Resolver(std::string_view base) : base_text_(base) {}

  bool usable() const {
    parse();
    return base_.has_value();
  }

  // `ref` (already cleaned) resolved, or `ref` itself when it cannot be.
  std::string resolve(const std::string& ref) const {
    if (is_absolute_url(ref) || !usable()) return ref;
    try {
      auto parsed = parse_reference(ref, /*encode_brackets=*/true);
      if (!parsed) return ref;
      boost::urls::url resolved;
      if (!boost::urls::resolve(*base_, *parsed, resolved)) return ref;
      return finish_dot_segments(resolved);
    } catch (const std::exception&) {
      return ref;
    }
  }

 private:
  void parse() const {
    if (parsed_) return;
    parsed_ = true;
    const std::string cleaned = clean_url(base_text_);
    if (!is_absolute_url(cleaned)) return;
    try {
      // A base whose brackets are not an IPv6 host is broken, not merely sloppy.
      base_ = parse_reference(cleaned, /*encode_brackets=*/false);
      if (base_ && !base_->has_scheme()) base_.reset();
      // RFC 3986 5.2.2 never takes the base's fragment, but Boost.URL 1.81 keeps it for a
      // query-only reference ("?page=2").
      if (base_) base_->remove_fragment();
    } catch (const std::exception&) {
      base_.reset();
    }
  }

  std::string_view base_text_;
  mutable bool parsed_ = false;
  mutable std::optional<boost::urls::url> base_;
};

// ---------------------------------------------------------------------------------------------
// HTML attribute rewriting.

bool is_url_attribute(std::string_view name) {
  return name == "href" || name == "src" || name == "poster";
}

// Re-escapes a resolved value for the quoting it will be written in.
std::string escape_attribute(std::string_view value, char quote) {
  std::string out;
  out.reserve(value.size() + 8);
  bool needs_quotes = false;
  for (char c : value) {
    switch (c) {
      case '&':
        out.append("&amp;");
        break;
      case '"':
        out.append(quote == '\'' ? "\"" : "&quot;");
        break;
      case '\'':
        out.append(quote == '"' ? "'" : "&#39;");
        break;
      default:
        if (quote == 0 && (ascii::is_space(c) || c == '<' || c == '>' || c == '=' || c == '`')) {
          needs_quotes = true;
        }
        out.push_back(c);
    }
  }
  // An unquoted value that would no longer survive unquoted gets double quotes.
  if (needs_quotes) return '"' + escape_attribute(value, '"') + '"';
  return out;
}

// A srcset value ("a.jpg 1x, b.jpg 2x") with each candidate URL resolved; everything between
// the URLs is kept as it was. Follows the HTML standard's srcset parsing: a URL is a run of
// non-space characters (so "data:image/png;base64,..." keeps its comma) and trailing commas
// end the candidate.
std::string resolve_srcset(std::string_view value, const Resolver& resolver) {
  std::string out;
  out.reserve(value.size() + 32);
  std::size_t i = 0;
  while (i < value.size()) {
    const std::size_t separators = i;
    while (i < value.size() && (ascii::is_space(value[i]) || value[i] == ','))
      ++i;
    out.append(value, separators, i - separators);
    if (i >= value.size()) break;

    const std::size_t url_start = i;
    while (i < value.size() && !ascii::is_space(value[i]))
      ++i;
    std::size_t url_end = i;
    while (url_end > url_start && value[url_end - 1] == ',')
      --url_end;
    const std::string url(value.substr(url_start, url_end - url_start));
    out.append(url.empty() ? url : resolver.resolve(url));
    out.append(value, url_end, i - url_end);
    if (url_end != i) continue;  // the commas ended this candidate

    // Descriptors up to the next comma outside parentheses.
    const std::size_t descriptors = i;
    int depth = 0;
    while (i < value.size() && (value[i] != ',' || depth > 0)) {
      if (value[i] == '(') ++depth;
      if (value[i] == ')' && depth > 0) --depth;
      ++i;
    }
    out.append(value, descriptors, i - descriptors);
  }
  return out;
}

// The new text of an attribute value, or nullopt to keep the original bytes. Sets
// `base_unusable` instead when the value needs a base and there is none (the caller then
// keeps the whole fragment as it was).
std::optional<std::string> rewrite_value(std::string_view name, std::string_view raw, char quote,
                                         const Resolver& resolver, bool& base_unusable) {
  const std::string decoded = decode_html_entities(raw);
  std::string rewritten;
  if (name == "srcset") {
    if (!resolver.usable()) {
      base_unusable = true;
      return std::nullopt;
    }
    rewritten = resolve_srcset(decoded, resolver);
  } else {
    const std::string ref = clean_url(decoded);
    // An empty value stays empty: resolving it would turn <img src=""> into the base URL.
    if (ref.empty() || is_absolute_url(ref)) return std::nullopt;
    if (!resolver.usable()) {
      base_unusable = true;
      return std::nullopt;
    }
    rewritten = resolver.resolve(ref);
  }
  if (rewritten == decoded) return std::nullopt;
  return escape_attribute(rewritten, quote);
}

// Position of "</name" (case-insensitive) at or after `from`; the size when there is none.
std::size_t find_end_tag(std::string_view html, std::size_t from, std::string_view name) {
  for (std::size_t i = html.find("</", from); i != std::string_view::npos;
       i = html.find("</", i + 2)) {
    if (html.size() - (i + 2) >= name.size() &&
        ascii::to_lower(html.substr(i + 2, name.size())) == name) {
      return i;
    }
  }
  return html.size();
}

// A host the resolver would read as an IPv4 address ("127.1", "0x7f.1", "2130706433"), as four
// decimals; nullopt for a name. inet_aton is the parser getaddrinfo and curl use for such hosts.
std::optional<std::string> numeric_ipv4(std::string_view host) {
  if (host.empty() || host.size() > 64) return std::nullopt;
  const bool numeric = std::all_of(host.begin(), host.end(), [](char c) {
    return ascii::is_hex_digit(c) || c == 'x' || c == 'X' || c == '.';
  });
  if (!numeric || !ascii::is_digit(host.front())) return std::nullopt;
  const std::string text(host);
  in_addr address{};
  if (inet_aton(text.c_str(), &address) == 0) return std::nullopt;
  char out[INET_ADDRSTRLEN] = {};
  if (inet_ntop(AF_INET, &address, out, sizeof out) == nullptr) return std::nullopt;
  return std::string(out);
}

std::string canonical_ipv6(std::string_view host) {
  const std::string text(host);
  in6_addr address{};
  if (inet_pton(AF_INET6, text.c_str(), &address) != 1) return text;
  char out[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(AF_INET6, &address, out, sizeof out) == nullptr) return text;
  return out;
}

// "user@HOST.:80" -> "user@host" for http: the host lower-cased, without its trailing dot, an
// IPv4 address as four decimals, IPv6 in RFC 5952 form; the port without leading zeros and
// dropped when it is the scheme's default. nullopt when it is not an authority.
std::optional<std::string> canonical_authority(std::string_view authority, unsigned default_port) {
  std::string out;
  if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
    out += authority.substr(0, at + 1);
    authority.remove_prefix(at + 1);
  }
  std::string_view host = authority;
  std::string_view port;
  const std::size_t close = authority.starts_with('[') ? authority.find(']') : 0;
  if (close == std::string_view::npos) return std::nullopt;
  if (const std::size_t colon = authority.find(':', close); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.starts_with('[')) {
    if (!host.ends_with(']')) return std::nullopt;
    out += '[' + canonical_ipv6(ascii::to_lower(host.substr(1, host.size() - 2))) + ']';
  } else {
    std::string name = ascii::to_lower(host);
    if (name.size() > 1 && name.back() == '.') name.pop_back();
    if (auto ipv4 = numeric_ipv4(name)) name = std::move(*ipv4);
    out += name;
  }
  unsigned number = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
  if (ec == std::errc() && end == port.data() + port.size()) {
    if (number != default_port) out += ':' + std::to_string(number);
  } else if (!port.empty()) {
    out += ':';
    out += port;
  }
  return out;
}

}  // namespace

bool is_absolute_url(std::string_view url) {
  while (!url.empty() && static_cast<unsigned char>(url.front()) <= 0x20)
    url.remove_prefix(1);
  // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), then ':'
  if (url.empty() || !ascii::is_alpha(url[0])) return false;
  for (std::size_t i = 1; i < url.size(); ++i) {
    const char c = url[i];
    if (c == ':') return true;
    if (!ascii::is_alpha(c) && !ascii::is_digit(c) && c != '+' && c != '-' && c != '.') {
      return false;
    }
  }
  return false;
}

std::string resolve_url(std::string_view base, std::string_view ref) {
  const std::string cleaned = clean_url(ref);
  const Resolver resolver(base);
  return resolver.resolve(cleaned);
}

std::string feed_identity(std::string_view url) {
  try {
    // The authority is rewritten as text before Boost.URL sees it: 1.81 reads the host
    // "127.0.0.1." as an IPv4 address and then loses the rest of the authority (the port).
    std::string text(url);
    const std::size_t slashes = text.find("://");
    const std::string scheme =
        ascii::to_lower(std::string_view(text).substr(0, std::min(slashes, text.size())));
    const bool web = slashes != std::string::npos && (scheme == "http" || scheme == "https");
    if (web) {
      const std::size_t start = slashes + 3;
      const std::size_t end = std::min(text.find_first_of("/?#", start), text.size());
      auto authority = canonical_authority(std::string_view(text).substr(start, end - start),
                                           scheme == "http" ? 80 : 443);
      if (!authority) return std::string(url);
      std::string rest = text.substr(end);
      if (!rest.starts_with('/')) rest.insert(0, 1, '/');  // "http://a" is "http://a/"
      text = scheme + "://" + *authority + rest;
    }
    auto parsed = boost::urls::parse_uri(text);
    if (!parsed) return std::string(url);
    boost::urls::url normal(*parsed);
    normal.normalize();
    normal.remove_fragment();
    if (web && normal.has_query() && normal.encoded_query().empty()) normal.remove_query();
    if (normal.scheme_id() == boost::urls::scheme::file &&
        ascii::iequals(normal.encoded_host(), "localhost")) {
      normal.set_encoded_host("");
    }
    return finish_dot_segments(normal);
  } catch (const std::exception&) {
    return std::string(url);
  }
}

std::string absolutize_html_urls(std::string_view html, std::string_view base) {
  // Without a usable base the fragment stays as it was: checked where a value first needs it.
  const Resolver resolver(base);
  bool base_unusable = false;

  std::string out;
  out.reserve(html.size() + html.size() / 8);
  std::size_t copied = 0;  // html[0, copied) is in `out`
  std::size_t i = html.find('<');
  while (i != std::string_view::npos && i < html.size()) {
    const std::string_view rest = html.substr(i);
    std::size_t next = i + 1;
    if (rest.starts_with("<!--")) {
      const std::size_t close = html.find("-->", i + 4);
      next = close == std::string_view::npos ? html.size() : close + 3;
    } else if (rest.starts_with("<![CDATA[")) {
      const std::size_t close = html.find("]]>", i + 9);
      next = close == std::string_view::npos ? html.size() : close + 3;
    } else if (rest.size() > 1 && ascii::is_alpha(rest[1])) {
      // A start tag: name, then attributes until '>'.
      std::size_t j = i + 1;
      while (j < html.size() && !ascii::is_space(html[j]) && html[j] != '/' && html[j] != '>')
        ++j;
      const std::string tag = ascii::to_lower(html.substr(i + 1, j - i - 1));
      bool closed = false;
      while (j < html.size()) {
        while (j < html.size() && (ascii::is_space(html[j]) || html[j] == '/'))
          ++j;
        if (j >= html.size()) break;
        if (html[j] == '>') {
          ++j;
          closed = true;
          break;
        }
        const std::size_t name_start = j++;  // a first '=' belongs to the name, as in HTML
        while (j < html.size() && !ascii::is_space(html[j]) && html[j] != '/' && html[j] != '>' &&
               html[j] != '=') {
          ++j;
        }
        const std::string name = ascii::to_lower(html.substr(name_start, j - name_start));
        std::size_t k = j;
        while (k < html.size() && ascii::is_space(html[k]))
          ++k;
        if (k >= html.size() || html[k] != '=') continue;  // an attribute without a value
        ++k;
        while (k < html.size() && ascii::is_space(html[k]))
          ++k;
        if (k >= html.size()) {
          j = k;
          break;
        }
        char quote = 0;
        std::size_t value_start = k;
        std::size_t value_end = 0;
        if (html[k] == '"' || html[k] == '\'') {
          quote = html[k];
          value_start = k + 1;
          value_end = html.find(quote, value_start);
          if (value_end == std::string_view::npos) {
            j = html.size();  // an unterminated value runs to the end: nothing more to do
            break;
          }
          j = value_end + 1;
        } else {
          value_end = k;
          while (value_end < html.size() && !ascii::is_space(html[value_end]) &&
                 html[value_end] != '>') {
            ++value_end;
          }
          j = value_end;
        }
        if (is_url_attribute(name) || name == "srcset") {
          const auto raw = html.substr(value_start, value_end - value_start);
          auto rewritten = rewrite_value(name, raw, quote, resolver, base_unusable);
          if (base_unusable) return std::string(html);
          if (rewritten) {
            out.append(html, copied, value_start - copied);
            out.append(*rewritten);
            copied = value_end;
          }
        }
      }
      next = j;
      // Raw text elements: their content is not markup, so no attribute inside it is real.
      if (closed && (tag == "script" || tag == "style" || tag == "textarea" || tag == "title" ||
                     tag == "xmp")) {
        next = find_end_tag(html, j, tag);
      }
    }
    i = html.find('<', next);
  }
  out.append(html, copied);
  return out;
}

namespace {

constexpr std::string_view kRedacted = "REDACTED";

bool is_scheme_char(char c) {
  return ascii::is_alpha(c) || ascii::is_digit(c) || c == '+' || c == '-' || c == '.';
}

// Where a URL quoted in free text ends: white space, quotes and angle brackets never belong
// to it.
bool ends_quoted_url(char c) {
  return static_cast<unsigned char>(c) <= 0x20 || c == '"' || c == '\'' || c == '<' || c == '>' ||
         c == '`';
}

}  // namespace

std::string redact_url(std::string_view url) {
  std::string out;
  out.reserve(url.size() + 16);
  std::size_t rest = 0;
  if (const std::size_t slashes = url.find("://"); slashes != std::string_view::npos) {
    const std::size_t authority = slashes + 3;
    std::size_t authority_end = url.find_first_of("/?#", authority);
    if (authority_end == std::string_view::npos) authority_end = url.size();
    out.append(url.substr(0, authority));
    // The last '@' ends the userinfo: a password may hold an unescaped '@'.
    const std::size_t at = url.substr(authority, authority_end - authority).rfind('@');
    if (at != std::string_view::npos) {
      out.append(kRedacted).append("@");
      rest = authority + at + 1;
    } else {
      rest = authority;
    }
  }
  std::size_t query = url.find('?', rest);
  const std::size_t fragment = url.find('#', rest);
  if (fragment != std::string_view::npos && query > fragment) query = std::string_view::npos;
  if (query == std::string_view::npos) {
    out.append(url.substr(rest));
    return out;
  }
  out.append(url.substr(rest, query + 1 - rest));
  const std::size_t query_end = fragment == std::string_view::npos ? url.size() : fragment;
  std::size_t start = query + 1;
  while (start <= query_end) {
    std::size_t end = url.find_first_of("&;", start);
    if (end == std::string_view::npos || end > query_end) end = query_end;
    const std::string_view parameter = url.substr(start, end - start);
    if (!parameter.empty()) {
      const std::size_t equals = parameter.find('=');
      if (equals == std::string_view::npos) {
        out.append(kRedacted);
      } else {
        out.append(parameter.substr(0, equals + 1)).append(kRedacted);
      }
    }
    if (end < query_end) out += url[end];
    start = end + 1;
  }
  out.append(url.substr(query_end));
  return out;
}

bool is_file_url(std::string_view url) {
  return url.size() >= 5 && ascii::to_lower(url.substr(0, 5)) == "file:";
}

std::string redact_urls_in(std::string_view text) {
  std::string out;
  std::size_t copied = 0;
  std::size_t search = 0;
  while (true) {
    const std::size_t slashes = text.find("://", search);
    if (slashes == std::string_view::npos) break;
    std::size_t start = slashes;
    while (start > copied && is_scheme_char(text[start - 1]))
      --start;
    std::size_t end = slashes + 3;
    while (end < text.size() && !ends_quoted_url(text[end]))
      ++end;
    // Punctuation that closes the sentence around a URL is not part of it.
    while (end > slashes + 3 &&
           std::string_view(".,;:)]").find(text[end - 1]) != std::string_view::npos)
      --end;
    if (start == slashes) {  // "://" with no scheme before it: not a URL
      search = slashes + 3;
      continue;
    }
    out.append(text.substr(copied, start - copied));
    out.append(redact_url(text.substr(start, end - start)));
    copied = end;
    search = std::max(end, slashes + 3);
  }
  out.append(text.substr(copied));
  return out;
}

}  // namespace feedmerge::normalize
