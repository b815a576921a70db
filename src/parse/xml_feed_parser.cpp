#include "parse/xml_feed_parser.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

#include <pugixml.hpp>

#include "feedmerge/normalize/ascii.h"
#include "feedmerge/normalize/date.h"
#include "feedmerge/normalize/encoding.h"
#include "feedmerge/normalize/text.h"
#include "feedmerge/normalize/url.h"
#include "parse/xml_prepare.h"

namespace feedmerge::parse {
namespace {

// Namespaces are matched by URI, never by prefix.
namespace ns {
constexpr std::string_view kNone = "";
constexpr std::string_view kAtom10 = "http://www.w3.org/2005/Atom";
constexpr std::string_view kAtom03 = "http://purl.org/atom/ns#";
constexpr std::string_view kRss10 = "http://purl.org/rss/1.0/";
constexpr std::string_view kRss090 = "http://my.netscape.com/rdf/simple/0.9/";
constexpr std::string_view kRssUserland = "http://backend.userland.com/rss2";
constexpr std::string_view kRssUserland2 = "http://blogs.law.harvard.edu/tech/rss";
constexpr std::string_view kRdf = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";
constexpr std::string_view kContent = "http://purl.org/rss/1.0/modules/content/";
constexpr std::string_view kDc = "http://purl.org/dc/elements/1.1/";
constexpr std::string_view kDc10 = "http://purl.org/dc/elements/1.0/";
constexpr std::string_view kDcTerms = "http://purl.org/dc/terms/";
constexpr std::string_view kMedia = "http://search.yahoo.com/mrss/";
constexpr std::string_view kItunes = "http://www.itunes.com/dtds/podcast-1.0.dtd";
constexpr std::string_view kSy = "http://purl.org/rss/1.0/modules/syndication/";
constexpr std::string_view kXhtml = "http://www.w3.org/1999/xhtml";
constexpr std::string_view kXml = "http://www.w3.org/XML/1998/namespace";
}  // namespace ns

// Which vocabulary an element belongs to, after resolving its prefix.
enum class Vocab { other, rss, atom, rdf, content, dc, dcterms, media, itunes, sy, xhtml };

using ascii::trim;
constexpr bool ieq(std::string_view a, std::string_view b) {
  return ascii::iequals(a, b);
}

// Real feeds bind well-known namespaces with the wrong case or without the final '/' or '#'
// ("http://purl.org/dc/elements/1.1"); feed readers accept those, so do we.
bool same_namespace(std::string_view uri, std::string_view known) {
  auto bare = [](std::string_view u) {
    while (!u.empty() && (u.back() == '/' || u.back() == '#'))
      u.remove_suffix(1);
    // "https://purl.org/dc/..." is seen too, and so are shouted schemes.
    if (auto colon = u.find("://"); colon == 4 || colon == 5) {
      if (ieq(u.substr(0, colon), "http") || ieq(u.substr(0, colon), "https"))
        u.remove_prefix(colon + 3);
    }
    return u;
  };
  return ieq(bare(uri), bare(known));
}

Vocab vocab_of(std::string_view uri) {
  auto same = [&](std::string_view known) { return same_namespace(uri, known); };
  if (uri.empty() || same(ns::kRss10) || same(ns::kRss090) || same(ns::kRssUserland) ||
      same(ns::kRssUserland2))
    return Vocab::rss;
  if (same(ns::kAtom10) || same(ns::kAtom03)) return Vocab::atom;
  if (same(ns::kRdf)) return Vocab::rdf;
  if (same(ns::kContent)) return Vocab::content;
  if (same(ns::kDc) || same(ns::kDc10)) return Vocab::dc;
  if (same(ns::kDcTerms)) return Vocab::dcterms;
  if (same(ns::kMedia)) return Vocab::media;
  if (same(ns::kItunes)) return Vocab::itunes;
  if (same(ns::kSy)) return Vocab::sy;
  if (same(ns::kXhtml)) return Vocab::xhtml;
  return Vocab::other;
}

struct Binding {
  std::string_view prefix;  // "" for the default namespace
  std::string_view uri;
  Vocab vocab = Vocab::other;
};

// Prefix bindings in force at one element; scopes chain to their parent's. Feeds declare
// almost everything on the root, so lookups stay short; each URI is classified once, here.
struct Scope {
  const Scope* parent = nullptr;
  std::vector<Binding> bindings;

  Binding lookup(std::string_view prefix) const {
    for (const Scope* s = this; s; s = s->parent) {
      for (auto it = s->bindings.rbegin(); it != s->bindings.rend(); ++it) {
        if (it->prefix == prefix) return *it;
      }
    }
    if (prefix == "xml") return {prefix, ns::kXml, Vocab::other};
    if (prefix.empty()) return {prefix, ns::kNone, Vocab::rss};
    return {prefix, ns::kNone, Vocab::other};  // an unbound prefix: nothing we know
  }
};

Scope scope_for(pugi::xml_node node, const Scope* parent) {
  Scope scope{parent, {}};
  for (pugi::xml_attribute a : node.attributes()) {
    std::string_view name = a.name();
    if (name == "xmlns") {
      scope.bindings.push_back({"", a.value(), vocab_of(a.value())});
    } else if (name.starts_with("xmlns:")) {
      scope.bindings.push_back({name.substr(6), a.value(), vocab_of(a.value())});
    }
  }
  return scope;
}

bool has_xmlns(pugi::xml_node node) {
  for (pugi::xml_attribute a : node.attributes()) {
    if (std::string_view(a.name()).starts_with("xmlns")) return true;
  }
  return false;
}

struct QName {
  std::string_view prefix;
  std::string_view local;
};

QName split_name(std::string_view name) {
  auto colon = name.find(':');
  if (colon == std::string_view::npos) return {"", name};
  return {name.substr(0, colon), name.substr(colon + 1)};
}

// One element with its resolved name, the scope that resolved it, and its xml:base.
struct Element {
  pugi::xml_node node;
  Vocab vocab = Vocab::other;
  std::string_view local;
  std::string_view uri;
};

bool is_void_html_element(std::string_view name) {
  static constexpr std::array<std::string_view, 14> kVoid = {
      "area",  "base", "br",   "col",   "embed",  "hr",    "img",
      "input", "link", "meta", "param", "source", "track", "wbr"};
  return std::find(kVoid.begin(), kVoid.end(), name) != kVoid.end();
}

void append_escaped(std::string& out, std::string_view s, bool attribute) {
  std::size_t run = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char* rep = nullptr;
    switch (s[i]) {
      case '&':
        rep = "&amp;";
        break;
      case '<':
        rep = "&lt;";
        break;
      case '>':
        rep = "&gt;";
        break;
      case '"':
        rep = attribute ? "&quot;" : nullptr;
        break;
      default:
        break;
    }
    if (rep) {
      out.append(s.data() + run, i - run);
      out += rep;
      run = i + 1;
    }
  }
  out.append(s.data() + run, s.size() - run);
}

// Serialises the children of `node` as HTML: element prefixes and xmlns attributes dropped (in
// XHTML content they only bind the XHTML namespace), text escaped, void elements unclosed.
void append_inner_html(std::string& out, pugi::xml_node node, int depth = 0) {
  for (pugi::xml_node child : node.children()) {
    switch (child.type()) {
      case pugi::node_pcdata:
      case pugi::node_cdata:
        append_escaped(out, child.value(), false);
        break;
      case pugi::node_element: {
        if (depth > kMaxNestingDepth) break;  // prepare_xml bounds depth; belt and braces
        std::string_view name = split_name(child.name()).local;
        out += '<';
        out += name;
        for (pugi::xml_attribute a : child.attributes()) {
          std::string_view an = a.name();
          if (an == "xmlns" || an.starts_with("xmlns:")) continue;
          out += ' ';
          out += an.starts_with("xml:") ? an : split_name(an).local;
          out += "=\"";
          append_escaped(out, a.value(), true);
          out += '"';
        }
        out += '>';
        if (is_void_html_element(name) && !child.first_child()) break;
        append_inner_html(out, child, depth + 1);
        out += "</";
        out += name;
        out += '>';
        break;
      }
      default:
        break;
    }
  }
}

// The text of an element: its character data, or, when a feed put unescaped markup inside,
// that markup serialised back to HTML.
std::string inner_text(pugi::xml_node node) {
  pugi::xml_node first = node.first_child();
  if (!first) return {};
  if (!first.next_sibling() &&
      (first.type() == pugi::node_pcdata || first.type() == pugi::node_cdata))
    return first.value();
  bool has_elements = false;
  for (pugi::xml_node c : node.children()) {
    if (c.type() == pugi::node_element) {
      has_elements = true;
      break;
    }
  }
  std::string out;
  if (has_elements) {
    append_inner_html(out, node);
  } else {
    for (pugi::xml_node c : node.children())
      out += c.value();
  }
  return out;
}

std::string plain_text(std::string_view raw) {
  return normalize::html_to_text(raw);
}

// Atom 0.3 mode="base64"; white space ignored, decoding stops at the first invalid byte.
std::string decode_base64(std::string_view in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  out.reserve(in.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    int v = value(c);
    if (v < 0) break;  // '=' padding or garbage
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return normalize::make_valid_utf8(out);
}

// "jane@example.com (Jane Doe)" -> "Jane Doe"; "Jane Doe <jane@example.com>" -> "Jane Doe".
std::string author_name(std::string_view raw) {
  std::string text = normalize::collapse_whitespace(raw);
  std::string_view s = text;
  // Only "EMAIL (Name)" names the author in parentheses; "Nick Ames (now)" is a name as it is.
  auto open = s.find('(');
  if (open != std::string_view::npos && s.back() == ')') {
    auto email = trim(s.substr(0, open));
    auto inner = trim(s.substr(open + 1, s.size() - open - 2));
    if (email.find('@') != std::string_view::npos && email.find(' ') == std::string_view::npos &&
        !inner.empty())
      return std::string(inner);
  }
  auto lt = s.find('<');
  if (lt != std::string_view::npos && lt > 0 && s.back() == '>') {
    auto name = trim(s.substr(0, lt));
    if (!name.empty()) return std::string(name);
  }
  return text;
}

// Where each line of the prepared text starts.
class LineIndex {
 public:
  LineIndex(std::string_view text, int line_shift) : line_shift_(line_shift) {
    for (auto i = text.find('\n'); i != std::string_view::npos; i = text.find('\n', i + 1))
      newlines_.push_back(i);
  }
  // 1-based line and column of a byte offset, in the original document's lines.
  std::pair<int, int> position(std::size_t offset) const {
    auto it = std::lower_bound(newlines_.begin(), newlines_.end(), offset);
    const std::size_t line_start = it == newlines_.begin() ? 0 : *std::prev(it) + 1;
    return {static_cast<int>(it - newlines_.begin()) + 1 + line_shift_,
            static_cast<int>(offset - line_start) + 1};
  }

 private:
  std::vector<std::size_t> newlines_;
  int line_shift_ = 0;
};

// Line numbers are wanted only for warnings and errors, and pugixml parses the prepared text in
// place (rewriting it), so the index is built on first use from a fresh preparation of the
// decoded document: the same bytes pugixml saw, at a cost only documents with warnings pay.
class LazyLines {
 public:
  LazyLines(std::string_view utf8, int line_shift) : utf8_(utf8), line_shift_(line_shift) {}
  std::pair<int, int> position(std::size_t offset) {
    if (!index_) {
      auto again = prepare_xml(utf8_, kMaxNestingDepth);
      index_.emplace(again ? std::string_view(again->text) : std::string_view(), line_shift_);
    }
    return index_->position(offset);
  }

 private:
  std::string_view utf8_;
  int line_shift_ = 0;
  std::optional<LineIndex> index_;
};

struct Parser {
  std::string_view document_url;
  std::string_view atom_uri;  // the namespace Atom elements use here ("" for a bare <feed>)
  std::vector<Warning> warnings;
  LazyLines* lines = nullptr;
  model::Feed feed;

  int line_of(pugi::xml_node node) {
    const std::ptrdiff_t offset = node.offset_debug();
    return offset < 0 ? 0 : lines->position(static_cast<std::size_t>(offset)).first;
  }

  void warn(pugi::xml_node node, std::string message) {
    warnings.push_back({node ? line_of(node) : 0, std::move(message)});
  }

  std::optional<model::Time> date(pugi::xml_node node) {
    std::string raw = normalize::collapse_whitespace(inner_text(node));
    if (raw.empty()) return std::nullopt;
    auto t = normalize::parse_date(raw);
    if (!t) warn(node, "unreadable date '" + raw + "'");
    return t;
  }

  static std::string base_of(pugi::xml_node node, const std::string& inherited) {
    pugi::xml_attribute b = node.attribute("xml:base");
    if (!b) return inherited;
    std::string_view v = trim(b.value());
    if (inherited.empty()) return std::string(v);
    return normalize::resolve_url(inherited, v);
  }

  std::string url(std::string_view base, std::string_view raw) {
    std::string_view t = trim(raw);
    if (t.empty()) return {};
    return normalize::resolve_url(base, t);
  }

  std::string html(std::string_view base, std::string html) {
    if (base.empty() || !normalize::is_absolute_url(base)) return html;
    if (html.find("href") == std::string::npos && html.find("src") == std::string::npos &&
        html.find("poster") == std::string::npos)
      return html;
    return normalize::absolutize_html_urls(html, base);
  }

  // --- Atom text constructs --------------------------------------------------------------------
  enum class TextType { text, html, xhtml };

  static bool is_base64(pugi::xml_node node) {
    return ieq(trim(node.attribute("mode").value()), "base64");
  }

  static TextType text_type(pugi::xml_node node) {
    std::string_view type = trim(node.attribute("type").value());
    std::string_view mode = trim(node.attribute("mode").value());
    if (ieq(type, "xhtml") || ieq(type, "application/xhtml+xml")) return TextType::xhtml;
    if (ieq(type, "html") || ieq(type, "text/html") || ieq(mode, "escaped")) return TextType::html;
    return TextType::text;
  }

  // Atom 0.3 mode="xml" content may hold XHTML without a wrapping div.
  static std::string xhtml_of(pugi::xml_node node) {
    pugi::xml_node div;
    int elements = 0;
    bool text = false;
    for (pugi::xml_node c : node.children()) {
      if (c.type() == pugi::node_element) {
        ++elements;
        div = c;
      } else if (c.type() == pugi::node_pcdata && !trim(c.value()).empty()) {
        text = true;
      }
    }
    std::string out;
    if (elements == 1 && !text && split_name(div.name()).local == "div") {
      append_inner_html(out, div);
    } else {
      append_inner_html(out, node);
    }
    return std::string(trim(out));
  }

  std::string text_construct_plain(pugi::xml_node node) {
    switch (text_type(node)) {
      case TextType::text:
        return normalize::collapse_whitespace(inner_text(node));
      case TextType::html:
        return plain_text(inner_text(node));
      case TextType::xhtml:
        return plain_text(xhtml_of(node));
    }
    return {};
  }

  std::string text_construct_html(pugi::xml_node node, const std::string& base) {
    std::string raw;
    if (is_base64(node)) {
      raw = decode_base64(inner_text(node));
      if (text_type(node) == TextType::text) raw = normalize::escape_html(raw);
      return html(base_of(node, base), std::move(raw));
    }
    switch (text_type(node)) {
      case TextType::text: {
        // Atom 0.3 mode="xml" / type="text/plain" with markup children is XHTML in practice.
        bool has_elements = false;
        for (pugi::xml_node c : node.children())
          has_elements |= c.type() == pugi::node_element;
        raw = has_elements ? xhtml_of(node) : normalize::escape_html(inner_text(node));
        break;
      }
      case TextType::html:
        raw = inner_text(node);
        break;
      case TextType::xhtml:
        raw = xhtml_of(node);
        break;
    }
    return html(base_of(node, base), std::move(raw));
  }

  // --- shared item pieces ----------------------------------------------------------------------
  void add_media(model::Item& item, const Element& e, const Scope& scope, const std::string& base) {
    if (e.local == "thumbnail") {
      if (item.image.empty()) item.image = url(base, e.node.attribute("url").value());
    } else if (e.local == "content") {
      std::string_view u = trim(e.node.attribute("url").value());
      if (u.empty()) return;
      std::string_view medium = e.node.attribute("medium").value();
      std::string_view type = e.node.attribute("type").value();
      if (medium == "image" || (medium.empty() && type.starts_with("image/"))) {
        if (image_from_media_content_.empty()) image_from_media_content_ = url(base, u);
      }
      model::Enclosure enc{url(base, u), std::string(trim(type)), std::nullopt};
      enc.length = number(e.node.attribute("fileSize").value());
      add_enclosure(item, std::move(enc));
    } else if (e.local == "group") {
      for_each_child(e.node, scope, [&](const Element& c, const Scope& s) {
        if (c.vocab == Vocab::media) add_media(item, c, s, base);
      });
    }
  }

  static void add_enclosure(model::Item& item, model::Enclosure enc) {
    if (enc.url.empty()) return;
    for (auto& existing : item.enclosures) {
      if (existing.url == enc.url) {
        if (existing.type.empty()) existing.type = enc.type;
        if (!existing.length) existing.length = enc.length;
        return;
      }
    }
    item.enclosures.push_back(std::move(enc));
  }

  static std::optional<std::int64_t> number(std::string_view raw) {
    raw = trim(raw);
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), v);
    if (ec != std::errc() || end != raw.data() + raw.size() || v < 0) return std::nullopt;
    return v;
  }

  static void add_unique(std::vector<std::string>& list, std::string value) {
    if (value.empty()) return;
    if (std::find(list.begin(), list.end(), value) == list.end()) list.push_back(std::move(value));
  }

  template <class F>
  void for_each_child(pugi::xml_node parent, const Scope& scope, F&& f) {
    for (pugi::xml_node c = parent.first_child(); c; c = c.next_sibling()) {
      if (c.type() != pugi::node_element) continue;
      if (has_xmlns(c)) {
        Scope inner = scope_for(c, &scope);
        f(resolve(c, inner), inner);
      } else {
        f(resolve(c, scope), scope);
      }
    }
  }

  static Element resolve(pugi::xml_node node, const Scope& scope) {
    QName q = split_name(node.name());
    Binding b = scope.lookup(q.prefix);
    return {node, b.vocab, q.local, b.uri};
  }

  std::string image_from_media_content_;  // per item: media:content medium="image"
  std::string image_from_itunes_;         // per item

  void finish_image(model::Item& item) {
    if (item.image.empty()) item.image = std::move(image_from_media_content_);
    if (item.image.empty()) item.image = std::move(image_from_itunes_);
    image_from_media_content_.clear();
    image_from_itunes_.clear();
  }

  // --- RSS -------------------------------------------------------------------------------------
  void parse_rss_item(pugi::xml_node node, const Scope& scope, const std::string& inherited_base) {
    model::Item item;
    const std::string base = base_of(node, inherited_base);
    std::string guid;
    std::string guid_link;
    std::string atom_link;
    std::string rdf_about = std::string(trim(node.attribute("rdf:about").value()));
    std::optional<model::Time> dc_date, pub_date, issued, created;
    std::string itunes_author;
    bool have_description = false;

    for_each_child(node, scope, [&](const Element& e, const Scope& s) {
      switch (e.vocab) {
        case Vocab::rss:
          if (e.local == "title") {
            item.title = plain_text(inner_text(e.node));
          } else if (e.local == "link") {
            if (item.link.empty()) item.link = url(base_of(e.node, base), inner_text(e.node));
          } else if (e.local == "guid") {
            guid = std::string(trim(inner_text(e.node)));
            std::string_view permalink = trim(e.node.attribute("isPermaLink").value());
            if (!ieq(permalink, "false") &&
                (guid.starts_with("http://") || guid.starts_with("https://")))
              guid_link = url(base_of(e.node, base), guid);
          } else if (e.local == "description") {
            item.summary = rss_description(e.node, base);
            have_description = true;
          } else if (e.local == "pubDate") {
            pub_date = date(e.node);
          } else if (e.local == "author") {
            add_unique(item.authors, author_name(inner_text(e.node)));
          } else if (e.local == "category") {
            add_category(item, inner_text(e.node));
          } else if (e.local == "enclosure") {
            model::Enclosure enc{url(base, e.node.attribute("url").value()),
                                 std::string(trim(e.node.attribute("type").value())), std::nullopt};
            enc.length = number(e.node.attribute("length").value());
            add_enclosure(item, std::move(enc));
          }
          break;
        case Vocab::content:
          if (e.local == "encoded") item.content = html(base_of(e.node, base), inner_text(e.node));
          break;
        case Vocab::dc:
          if (e.local == "creator") {
            add_unique(item.authors, author_name(inner_text(e.node)));
          } else if (e.local == "date") {
            dc_date = date(e.node);
          } else if (e.local == "subject") {
            add_category(item, inner_text(e.node));
          } else if (e.local == "description" && !have_description) {
            item.summary = rss_description(e.node, base);
          } else if (e.local == "title" && item.title.empty()) {
            item.title = plain_text(inner_text(e.node));
          }
          break;
        case Vocab::dcterms:
          if (e.local == "modified") {
            item.updated = date(e.node);
          } else if (e.local == "issued") {
            issued = date(e.node);
          } else if (e.local == "created") {
            created = date(e.node);
          }
          break;
        case Vocab::atom:
          if (e.local == "link") {
            std::string_view rel = trim(e.node.attribute("rel").value());
            std::string href = url(base_of(e.node, base), e.node.attribute("href").value());
            if ((rel.empty() || rel == "alternate") && atom_link.empty()) {
              atom_link = std::move(href);
            } else if (rel == "enclosure") {
              model::Enclosure enc{std::move(href),
                                   std::string(trim(e.node.attribute("type").value())),
                                   number(e.node.attribute("length").value())};
              add_enclosure(item, std::move(enc));
            }
          } else if (e.local == "updated" && !item.updated) {
            item.updated = date(e.node);
          } else if (e.local == "author") {
            for_each_child(e.node, s, [&](const Element& a, const Scope&) {
              if (a.vocab == Vocab::atom && a.local == "name")
                add_unique(item.authors, normalize::collapse_whitespace(inner_text(a.node)));
            });
          }
          break;
        case Vocab::media:
          add_media(item, e, s, base);
          break;
        case Vocab::itunes:
          if (e.local == "image" && image_from_itunes_.empty()) {
            image_from_itunes_ = url(base, e.node.attribute("href").value());
          } else if (e.local == "author") {
            itunes_author = normalize::collapse_whitespace(inner_text(e.node));
          }
          break;
        default:
          break;
      }
    });

    // Podcasts often name their author only for iTunes.
    if (item.authors.empty()) add_unique(item.authors, std::move(itunes_author));
    if (item.link.empty()) item.link = !atom_link.empty() ? atom_link : guid_link;
    if (item.link.empty() && !rdf_about.empty() &&
        (rdf_about.starts_with("http://") || rdf_about.starts_with("https://")))
      item.link = url(base, rdf_about);
    item.id = !guid.empty() ? guid : !rdf_about.empty() ? rdf_about : item.link;
    item.published = pub_date ? pub_date : dc_date ? dc_date : issued ? issued : created;
    finish_image(item);
    feed.items.push_back(std::move(item));
  }

  // Feeds repeat categories (a tag and a dc:subject with the same name); keep the first.
  static void add_category(model::Item& item, std::string_view raw) {
    add_unique(item.categories, normalize::collapse_whitespace(raw));
  }

  // RSS descriptions are HTML by convention, sometimes plain text, sometimes escaped twice.
  std::string rss_description(pugi::xml_node node, const std::string& base) {
    std::string raw = inner_text(node);
    if (normalize::looks_double_escaped(raw)) {
      raw = normalize::decode_html_entities(raw);
    } else if (!normalize::looks_like_html(raw)) {
      raw = normalize::escape_html(raw);
    }
    return html(base_of(node, base), std::string(trim(raw)));
  }

  void parse_rss_channel(pugi::xml_node node, const Scope& scope, const std::string& base) {
    std::optional<model::Time> last_build, pub_date, dc_date, atom_updated;
    std::string atom_link;
    for_each_child(node, scope, [&](const Element& e, const Scope& s) {
      switch (e.vocab) {
        case Vocab::rss:
          if (e.local == "item") {
            parse_rss_item(e.node, s, base);
          } else if (e.local == "title") {
            feed.title = plain_text(inner_text(e.node));
          } else if (e.local == "link") {
            if (feed.link.empty()) feed.link = url(base_of(e.node, base), inner_text(e.node));
          } else if (e.local == "description") {
            feed.description = plain_text(inner_text(e.node));
          } else if (e.local == "language") {
            feed.language = std::string(trim(inner_text(e.node)));
          } else if (e.local == "lastBuildDate") {
            last_build = date(e.node);
          } else if (e.local == "pubDate") {
            pub_date = date(e.node);
          } else if (e.local == "ttl") {
            if (auto m = number(inner_text(e.node)); m && *m > 0 && *m < 60 * 24 * 365)
              feed.hints.ttl = std::chrono::minutes(*m);
          } else if (e.local == "skipHours") {
            for_each_child(e.node, s, [&](const Element& h, const Scope&) {
              if (auto v = number(inner_text(h.node));
                  v && h.local == "hour" && *v >= 0 && *v <= 24)
                feed.hints.skip_hours.push_back(static_cast<int>(*v % 24));
            });
          } else if (e.local == "skipDays") {
            static constexpr std::array<std::string_view, 7> kDays = {
                "sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"};
            for_each_child(e.node, s, [&](const Element& d, const Scope&) {
              const std::string text = inner_text(d.node);
              const std::string_view day = trim(text);
              for (std::size_t i = 0; i < kDays.size(); ++i)
                if (d.local == "day" && ieq(day, kDays[i]))
                  feed.hints.skip_days.push_back(static_cast<int>(i));
            });
          }
          break;
        case Vocab::dc:
          if (e.local == "language" && feed.language.empty()) {
            feed.language = std::string(trim(inner_text(e.node)));
          } else if (e.local == "date") {
            dc_date = date(e.node);
          } else if (e.local == "title" && feed.title.empty()) {
            feed.title = plain_text(inner_text(e.node));
          } else if (e.local == "description" && feed.description.empty()) {
            feed.description = plain_text(inner_text(e.node));
          }
          break;
        case Vocab::atom:
          if (e.local == "link") {
            std::string_view rel = trim(e.node.attribute("rel").value());
            if ((rel.empty() || rel == "alternate") && atom_link.empty())
              atom_link = url(base_of(e.node, base), e.node.attribute("href").value());
          } else if (e.local == "updated") {
            atom_updated = date(e.node);
          }
          break;
        case Vocab::sy:
          parse_sy(e);
          break;
        default:
          break;
      }
    });
    if (feed.link.empty()) feed.link = atom_link;
    if (!feed.updated) {
      feed.updated = last_build ? last_build
                     : pub_date ? pub_date
                     : dc_date  ? dc_date
                                : atom_updated;
    }
  }

  std::string sy_period_;
  std::int64_t sy_frequency_ = 1;

  void parse_sy(const Element& e) {
    if (e.local == "updatePeriod") {
      sy_period_ = std::string(trim(inner_text(e.node)));
    } else if (e.local == "updateFrequency") {
      if (auto f = number(inner_text(e.node)); f && *f > 0) sy_frequency_ = *f;
    }
  }

  void finish_sy() {
    static constexpr std::array<std::pair<std::string_view, std::int64_t>, 5> kPeriods = {
        {{"hourly", 3600},
         {"daily", 86400},
         {"weekly", 604800},
         {"monthly", 2592000},
         {"yearly", 31536000}}};
    for (auto [name, seconds] : kPeriods) {
      if (ieq(sy_period_, name))
        feed.hints.update_period = std::chrono::seconds(seconds / sy_frequency_);
    }
  }

  void parse_rss(pugi::xml_node root, const Scope& scope, bool rdf) {
    std::string_view version = trim(root.attribute("version").value());
    if (rdf) {
      feed.format = model::FeedFormat::rss10;
    } else if (version == "0.91") {
      feed.format = model::FeedFormat::rss091;
    } else if (version == "0.92") {
      feed.format = model::FeedFormat::rss092;
    } else if (version == "0.90") {
      feed.format = model::FeedFormat::rss090;
    } else if (version == "2.0" || version == "2" || version == "2.0.1" || version == "2.00") {
      feed.format = model::FeedFormat::rss20;
    } else {
      feed.format = model::FeedFormat::rss;
    }
    const std::string base = base_of(root, std::string(document_url));
    // Items live in the channel (RSS 0.9x/2.0) or beside it (RDF); accept both in document order.
    for_each_child(root, scope, [&](const Element& e, const Scope& s) {
      if (e.vocab != Vocab::rss) return;
      if (e.local == "channel") {
        if (rdf && same_namespace(e.uri, ns::kRss090)) feed.format = model::FeedFormat::rss090;
        parse_rss_channel(e.node, s, base_of(e.node, base));
      } else if (e.local == "item") {
        parse_rss_item(e.node, s, base);
      }
    });
    finish_sy();
  }

  // --- Atom ------------------------------------------------------------------------------------
  // A <feed> without a known namespace still uses Atom's element names.
  bool is_atom(const Element& e) const { return e.vocab == Vocab::atom || e.uri == atom_uri; }

  void parse_atom_entry(pugi::xml_node node, const Scope& scope, const std::string& inherited) {
    model::Item item;
    const std::string base = base_of(node, inherited);
    std::string first_link;
    std::optional<model::Time> issued, created;
    for_each_child(node, scope, [&](const Element& e, const Scope& s) {
      switch (is_atom(e) ? Vocab::atom : e.vocab) {
        case Vocab::atom:
          if (e.local == "id") {
            item.id = normalize::collapse_whitespace(inner_text(e.node));
          } else if (e.local == "title") {
            item.title = text_construct_plain(e.node);
          } else if (e.local == "link") {
            std::string_view rel = trim(e.node.attribute("rel").value());
            std::string href = url(base_of(e.node, base), e.node.attribute("href").value());
            if (rel == "alternate" && item.link.empty()) {
              item.link = std::move(href);
            } else if (rel.empty() && first_link.empty()) {
              first_link = std::move(href);
            } else if (rel == "enclosure") {
              add_enclosure(item,
                            {std::move(href), std::string(trim(e.node.attribute("type").value())),
                             number(e.node.attribute("length").value())});
            }
          } else if (e.local == "published") {
            item.published = date(e.node);
          } else if (e.local == "issued") {
            issued = date(e.node);
          } else if (e.local == "created") {
            created = date(e.node);
          } else if (e.local == "updated" || e.local == "modified") {
            item.updated = date(e.node);
          } else if (e.local == "author") {
            for_each_child(e.node, s, [&](const Element& a, const Scope&) {
              if (is_atom(a) && a.local == "name")
                add_unique(item.authors, normalize::collapse_whitespace(inner_text(a.node)));
            });
          } else if (e.local == "summary") {
            item.summary = text_construct_html(e.node, base);
          } else if (e.local == "content") {
            item.content = text_construct_html(e.node, base);
          } else if (e.local == "category") {
            add_category(item, e.node.attribute("term").value());
          }
          break;
        case Vocab::dc:
          if (e.local == "subject") {
            add_category(item, inner_text(e.node));
          } else if (e.local == "creator") {
            add_unique(item.authors, author_name(inner_text(e.node)));
          } else if (e.local == "date" && !issued) {
            issued = date(e.node);
          }
          break;
        case Vocab::dcterms:
          if (e.local == "modified" && !item.updated) item.updated = date(e.node);
          break;
        case Vocab::media:
          add_media(item, e, s, base);
          break;
        case Vocab::itunes:
          if (e.local == "image" && image_from_itunes_.empty())
            image_from_itunes_ = url(base, e.node.attribute("href").value());
          break;
        default:
          break;
      }
    });
    if (item.link.empty()) item.link = std::move(first_link);
    if (!item.published) item.published = issued ? issued : created;
    if (item.id.empty()) item.id = item.link;
    finish_image(item);
    feed.items.push_back(std::move(item));
  }

  void parse_atom(pugi::xml_node root, const Scope& scope, std::string_view uri) {
    feed.format = same_namespace(uri, ns::kAtom10)   ? model::FeedFormat::atom10
                  : same_namespace(uri, ns::kAtom03) ? model::FeedFormat::atom03
                                                     : model::FeedFormat::atom;
    if (feed.format == model::FeedFormat::atom && trim(root.attribute("version").value()) == "0.3")
      feed.format = model::FeedFormat::atom03;
    atom_uri = uri;
    const std::string base = base_of(root, std::string(document_url));
    std::string first_link;
    for_each_child(root, scope, [&](const Element& e, const Scope& s) {
      if (is_atom(e)) {
        if (e.local == "entry") {
          parse_atom_entry(e.node, s, base);
        } else if (e.local == "title") {
          feed.title = text_construct_plain(e.node);
        } else if (e.local == "subtitle" || e.local == "tagline") {
          feed.description = text_construct_plain(e.node);
        } else if (e.local == "link") {
          std::string_view rel = trim(e.node.attribute("rel").value());
          std::string href = url(base_of(e.node, base), e.node.attribute("href").value());
          if (rel == "alternate" && feed.link.empty()) {
            feed.link = std::move(href);
          } else if (rel.empty() && first_link.empty()) {
            first_link = std::move(href);
          }
        } else if (e.local == "updated" || e.local == "modified") {
          feed.updated = date(e.node);
        }
      } else if (e.vocab == Vocab::dc && e.local == "language" && feed.language.empty()) {
        feed.language = std::string(trim(inner_text(e.node)));
      }
    });
    if (feed.link.empty()) feed.link = std::move(first_link);
  }
};

// Byte offset to 1-based line and column in `text`.
std::pair<int, int> line_column(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  int line = 1;
  std::size_t line_start = 0;
  for (std::size_t i = text.find('\n'); i != std::string_view::npos && i < offset;
       i = text.find('\n', i + 1)) {
    ++line;
    line_start = i + 1;
  }
  return {line, static_cast<int>(offset - line_start) + 1};
}

// The innermost element still open where the text ends; "" when all are closed. Only called
// for documents pugixml rejected, to say which element a truncated document left open.
std::string innermost_open_element(std::string_view text) {
  std::vector<std::string_view> open;
  std::size_t i = 0;
  auto skip_past = [&](std::string_view end) {
    auto e = text.find(end, i);
    i = e == std::string_view::npos ? text.size() : e + end.size();
  };
  while ((i = text.find('<', i)) != std::string_view::npos) {
    std::string_view rest = text.substr(i);
    if (rest.starts_with("<!--")) {
      skip_past("-->");
    } else if (rest.starts_with("<![CDATA[")) {
      skip_past("]]>");
    } else if (rest.starts_with("<?")) {
      skip_past("?>");
    } else if (rest.starts_with("<!")) {
      skip_past(">");
    } else {
      const bool closing = rest.starts_with("</");
      std::size_t name_start = i + (closing ? 2 : 1);
      std::size_t j = name_start;
      while (j < text.size() && !std::strchr(" \t\r\n/>", text[j]))
        ++j;
      std::string_view name = text.substr(name_start, j - name_start);
      char quote = 0;
      for (; j < text.size(); ++j) {
        if (quote) {
          if (text[j] == quote) quote = 0;
        } else if (text[j] == '"' || text[j] == '\'') {
          quote = text[j];
        } else if (text[j] == '>') {
          break;
        }
      }
      if (j >= text.size()) break;  // the tag itself is cut off: its parent is the open one
      if (closing) {
        auto it = std::find(open.rbegin(), open.rend(), name);
        if (it != open.rend()) open.erase(std::next(it).base(), open.end());
      } else if (text[j - 1] != '/' && !name.empty()) {
        open.push_back(name);
      }
      i = j + 1;
    }
  }
  return open.empty() ? std::string() : std::string(open.back());
}

// pugixml stops at the first error and keeps what it built, but an attribute it was reading
// when it failed (no closing quote) is left without a terminator: its value runs on through
// the bytes pugixml was still rewriting in place to the end of the buffer, garbage that can
// even cut a UTF-8 character in half. That attribute belongs to the last element opened, the
// end of the chain of last children; any value there that reaches past the error offset is
// emptied.
void drop_unterminated_attributes(pugi::xml_document& doc, std::string_view buffer,
                                  std::size_t error_offset) {
  const char* const begin = buffer.data();
  const char* const limit = begin + std::min(error_offset, buffer.size());
  for (pugi::xml_node node = doc.last_child(); node; node = node.last_child()) {
    for (pugi::xml_attribute attribute : node.attributes()) {
      const char* value = attribute.value();
      if (value < begin || value >= begin + buffer.size()) continue;  // not in the buffer
      const std::size_t room = static_cast<std::size_t>(begin + buffer.size() - value);
      if (value + strnlen(value, room) > limit) attribute.set_value("");
    }
  }
}

bool only_space_after(std::string_view text, std::size_t offset) {
  return offset >= text.size() ||
         text.find_first_not_of(" \t\r\n", offset) == std::string_view::npos;
}

}  // namespace

Result<ParsedFeed> parse_xml_feed(std::string_view utf8, std::string_view document_url,
                                  std::vector<Warning> warnings) {
  auto prepared = prepare_xml(utf8, kMaxNestingDepth);
  if (!prepared) return prepared.error();
  warnings.insert(warnings.end(), std::make_move_iterator(prepared->warnings.begin()),
                  std::make_move_iterator(prepared->warnings.end()));
  std::string& text = prepared->text;

  if (only_space_after(utf8, 0)) return Error{ErrorKind::invalid_input, "empty document", 1, 1};

  LazyLines lines(utf8, prepared->lines_removed_before_root);
  const std::size_t content_end = text.find_last_not_of(" \t\r\n") + 1;
  // In place, pugixml writes a terminator over the byte after a value; a document cut off
  // inside text would lose its last byte (half a UTF-8 character). A spare newline takes it.
  text.push_back('\n');
  pugi::xml_document doc;
  // In place, on the buffer prepare_xml made for us: no third copy of the document. DOCTYPE,
  // PIs and comments are skipped (prepare_xml already removed any DOCTYPE, so no entity is
  // ever defined).
  const unsigned options = pugi::parse_default & ~pugi::parse_doctype;
  pugi::xml_parse_result result =
      doc.load_buffer_inplace(text.data(), text.size(), options, pugi::encoding_utf8);
  pugi::xml_node root = doc.document_element();
  if (!root) {
    // Positions in the original text: prepare_xml may have dropped all of it as junk.
    auto [line, column] = line_column(utf8, utf8.find_first_not_of(" \t\r\n"));
    return Error{ErrorKind::invalid_input, "not a feed: no XML element found", line, column};
  }
  if (!result) {
    const auto offset = static_cast<std::size_t>(result.offset);
    drop_unterminated_attributes(doc, text, offset);
    // pugixml keeps everything parsed before the error: a truncated or damaged tail still
    // leaves the items before it, which is what a reader wants. (`text` is pugixml's now, so
    // the open element is looked for in the decoded document.)
    std::string open = offset + 1 >= content_end ? innermost_open_element(utf8) : "";
    if (!open.empty()) {
      warnings.push_back(
          {lines.position(text.size()).first,
           "document ends before <" + open + "> is closed; items before it were kept"});
    } else {
      warnings.push_back({lines.position(offset).first,
                          std::string("not well-formed XML (") + result.description() +
                              "); items before this point were kept"});
    }
  }

  Parser p;
  p.document_url = document_url;
  p.lines = &lines;
  p.warnings = std::move(warnings);
  // Element offsets point at the name; the element starts one byte earlier, at '<'.
  auto element_position = [&](pugi::xml_node node) {
    return lines.position(static_cast<std::size_t>(node.offset_debug()) - 1);
  };

  Scope top = scope_for(root, nullptr);
  QName q = split_name(root.name());
  const Binding root_ns = top.lookup(q.prefix);
  const std::string_view uri = root_ns.uri;
  if (q.local == "rss" || (q.local == "channel" && root_ns.vocab == Vocab::rss)) {
    if (q.local == "channel") {
      p.feed.format = model::FeedFormat::rss;
      p.parse_rss_channel(root, top, p.base_of(root, std::string(document_url)));
      p.finish_sy();
    } else {
      p.parse_rss(root, top, false);
    }
  } else if (q.local == "RDF" && (root_ns.vocab == Vocab::rdf || uri.empty())) {
    p.parse_rss(root, top, true);
  } else if (q.local == "feed") {
    p.parse_atom(root, top, uri);
  } else {
    auto [line, column] = element_position(root);
    return Error{ErrorKind::invalid_input,
                 "not a feed: the root element is <" + std::string(root.name()) +
                     ">, not <rss>, <rdf:RDF> or <feed>",
                 line, column};
  }
  if (p.feed.language.empty())
    p.feed.language = std::string(trim(root.attribute("xml:lang").value()));
  // PHP notices and similar junk after the document: pugixml reads them as more top-level
  // elements; we ignore them, and say so.
  if (pugi::xml_node extra = root.next_sibling(); extra && result) {
    p.warnings.push_back({element_position(extra).first, "content after the root element ignored"});
  }
  return ParsedFeed{std::move(p.feed), std::move(p.warnings)};
}

}  // namespace feedmerge::parse
