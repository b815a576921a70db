#include "feedmerge/publish/sanitize.h"

#include <gumbo.h>

#include <algorithm>
#include <array>
#include <memory>
#include <string>
#include <vector>

#include "feedmerge/normalize/ascii.h"
#include "feedmerge/normalize/text.h"
#include "feedmerge/normalize/url.h"

namespace feedmerge::publish {
namespace {

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

bool xml_allowed(char32_t c) {
  if (c < 0x20) return c == 0x09 || c == 0x0A || c == 0x0D;
  if (c >= 0xD800 && c <= 0xDFFF) return false;
  return c != 0xFFFE && c != 0xFFFF;
}

// Dropped with everything inside: active content, or text a reader should never show.
constexpr std::array<std::string_view, 22> kDropped = {
    "script", "style",  "iframe",   "object", "embed",    "form",   "input",    "button",
    "select", "option", "textarea", "frame",  "frameset", "applet", "noscript", "template",
    "head",   "title",  "meta",     "link",   "base",     "svg"};

constexpr std::array<std::string_view, 56> kAllowed = {
    "a",          "abbr",       "address", "article", "aside", "audio", "b",     "bdi",
    "bdo",        "blockquote", "br",      "caption", "cite",  "code",  "col",   "colgroup",
    "dd",         "del",        "details", "dfn",     "div",   "dl",    "dt",    "em",
    "figcaption", "figure",     "h1",      "h2",      "h3",    "h4",    "h5",    "h6",
    "hr",         "i",          "img",     "ins",     "kbd",   "li",    "mark",  "ol",
    "p",          "picture",    "pre",     "q",       "s",     "samp",  "small", "source",
    "span",       "strong",     "sub",     "summary", "sup",   "table", "tbody", "td"};
constexpr std::array<std::string_view, 9> kAllowedMore = {"tfoot", "th", "thead", "time",   "tr",
                                                          "u",     "ul", "video", "section"};

constexpr std::array<std::string_view, 7> kVoid = {"br",  "hr",  "img", "source",
                                                   "col", "wbr", "area"};

template <std::size_t N>
bool contains(const std::array<std::string_view, N>& list, std::string_view name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

bool allowed_tag(std::string_view tag) {
  return contains(kAllowed, tag) || contains(kAllowedMore, tag);
}

// Which attributes a tag keeps, and whether the value is a URL (and of which use).
struct AttributeRule {
  bool keep = false;
  bool url = false;
  UrlUse use = UrlUse::link;
};

AttributeRule attribute_rule(std::string_view tag, std::string_view name) {
  if (name == "title" || name == "lang" || name == "dir") return {true};
  if (tag == "a") {
    if (name == "href") return {true, true, UrlUse::link};
    if (name == "hreflang") return {true};
  }
  if (tag == "img") {
    if (name == "src") return {true, true, UrlUse::image};
    if (name == "alt" || name == "width" || name == "height") return {true};
  }
  if (tag == "audio" || tag == "video" || tag == "source") {
    if (name == "src") return {true, true, UrlUse::media};
    if (name == "poster") return {true, true, UrlUse::image};
    if (name == "controls" || name == "type" || name == "width" || name == "height") return {true};
  }
  if ((tag == "blockquote" || tag == "q" || tag == "del" || tag == "ins") && name == "cite")
    return {true, true, UrlUse::link};
  if ((tag == "td" || tag == "th") && (name == "colspan" || name == "rowspan" || name == "scope"))
    return {true};
  if (tag == "ol" && (name == "start" || name == "reversed" || name == "type")) return {true};
  if ((tag == "time" || tag == "del" || tag == "ins") && name == "datetime") return {true};
  if ((tag == "abbr" || tag == "dfn") && name == "title") return {true};
  return {};
}

void escape_into(std::string& out, std::string_view text, bool attribute) {
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        if (attribute) {
          out += "&quot;";
          break;
        }
        [[fallthrough]];
      default:
        out += c;
    }
  }
}

// Walks gumbo's tree with a stack of its own, not by recursion: a hostile summary nests
// elements tens of thousands deep, and each level of a recursive walk is a stack frame.
class Writer {
 public:
  explicit Writer(std::string_view base) : base_(base) {}

  void children(const GumboVector& children) {
    push_children(children);
    while (!stack_.empty()) {
      Step step = std::move(stack_.back());
      stack_.pop_back();
      if (step.node == nullptr) {  // an element's end
        out_ += "</";
        out_ += step.closing;
        out_ += '>';
        --open_;
        continue;
      }
      node(*step.node);
    }
  }

  std::string take() { return std::move(out_); }

 private:
  // What is left to write: a node, or (node null) the end tag of an element written open.
  struct Step {
    const GumboNode* node = nullptr;
    std::string closing;
  };

  void push_children(const GumboVector& children) {
    for (unsigned i = children.length; i-- > 0;)
      stack_.push_back({static_cast<const GumboNode*>(children.data[i]), {}});
  }

  void node(const GumboNode& node) {
    switch (node.type) {
      case GUMBO_NODE_TEXT:
      case GUMBO_NODE_WHITESPACE:
      case GUMBO_NODE_CDATA:
        escape_into(out_, node.v.text.text, false);
        return;
      case GUMBO_NODE_ELEMENT:
      case GUMBO_NODE_TEMPLATE:
        element(node.v.element);
        return;
      default:  // comments and the document node carry nothing to publish
        return;
    }
  }

  void element(const GumboElement& element) {
    const std::string tag = tag_name(element);
    if (contains(kDropped, tag) || element.tag_namespace != GUMBO_NAMESPACE_HTML) return;
    // Deeper than any article's markup, elements keep only their content: readers' parsers
    // have limits of their own.
    if (!allowed_tag(tag) || open_ >= kMaxOpenElements) {
      push_children(element.children);
      return;
    }
    out_ += '<';
    out_ += tag;
    for (unsigned i = 0; i < element.attributes.length; ++i) {
      const auto& attribute = *static_cast<const GumboAttribute*>(element.attributes.data[i]);
      const std::string name = ascii::to_lower(attribute.name);
      const AttributeRule rule = attribute_rule(tag, name);
      if (!rule.keep) continue;
      std::string value = attribute.value;
      if (rule.url) {
        value = safe_url(value, base_, rule.use);
        if (value.empty()) continue;
      }
      out_ += ' ';
      out_ += name;
      out_ += "=\"";
      escape_into(out_, value, true);
      out_ += '"';
    }
    if (tag == "a") out_ += " rel=\"nofollow noopener noreferrer\"";
    out_ += '>';
    if (contains(kVoid, tag)) return;
    ++open_;
    stack_.push_back({nullptr, tag});
    push_children(element.children);
  }

  static std::string tag_name(const GumboElement& element) {
    if (element.tag != GUMBO_TAG_UNKNOWN) return gumbo_normalized_tagname(element.tag);
    GumboStringPiece piece = element.original_tag;
    gumbo_tag_from_original_text(&piece);
    return ascii::to_lower(std::string_view(piece.data, piece.length));
  }

  static constexpr int kMaxOpenElements = 64;
  std::string_view base_;
  std::string out_;
  std::vector<Step> stack_;
  int open_ = 0;  // elements written open and not yet closed
};

std::string_view scheme_of(std::string_view url) {
  const std::size_t colon = url.find(':');
  if (colon == std::string_view::npos) return {};
  const std::string_view scheme = url.substr(0, colon);
  for (char c : scheme) {
    if (!ascii::is_alpha(c) && !ascii::is_digit(c) && c != '+' && c != '-' && c != '.') return {};
  }
  return scheme;
}

}  // namespace

std::string xml_safe_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  while (i < text.size()) {
    const unsigned char lead = byte(i);
    if (lead < 0x80) {
      if (xml_allowed(lead)) out += static_cast<char>(lead);
      ++i;
      continue;
    }
    int length = 0;
    char32_t c = 0;
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
      c = lead & 0x1F;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      c = lead & 0x0F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      c = lead & 0x07;
    }
    bool valid = length > 0 && i + static_cast<std::size_t>(length) <= text.size();
    for (int k = 1; valid && k < length; ++k) {
      const unsigned char next = byte(i + static_cast<std::size_t>(k));
      if ((next & 0xC0) != 0x80) {
        valid = false;
      } else {
        c = (c << 6) | (next & 0x3F);
      }
    }
    // Overlong forms, surrogates and code points past U+10FFFF are invalid too.
    if (valid && ((length == 3 && (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF))) ||
                  (length == 4 && (c < 0x10000 || c > 0x10FFFF))))
      valid = false;
    if (!valid) {
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    if (xml_allowed(c)) append_utf8(out, c);
    i += static_cast<std::size_t>(length);
  }
  return out;
}

std::string clean_text(std::string_view text) {
  return normalize::collapse_whitespace(xml_safe_text(text));
}

std::string safe_url(std::string_view url, std::string_view base, UrlUse use) {
  // An empty reference is "no URL", not the base (which resolve_url would give): an item
  // without an image must not get its own link as one.
  if (std::all_of(url.begin(), url.end(),
                  [](char c) { return static_cast<unsigned char>(c) <= 0x20; }))
    return {};
  // Browsers ignore control characters and spaces around a URL and tabs and newlines inside
  // it ("java\tscript:"): resolve_url does the same before the scheme is read.
  std::string resolved = normalize::resolve_url(base, xml_safe_text(url));
  if (resolved.empty()) return {};
  const std::string scheme = ascii::to_lower(scheme_of(resolved));
  if (scheme.empty()) return {};  // still relative: no absolute base was known
  if (scheme == "http" || scheme == "https") {
    // A user name or password in a link is a credential (often the feed's own, inherited by
    // a relative link resolved against the feed URL): never published.
    const std::size_t authority = resolved.find("://") + 3;
    const std::size_t authority_end =
        std::min(resolved.find_first_of("/?#", authority), resolved.size());
    const std::size_t at = resolved.rfind('@', authority_end - 1);
    if (at != std::string::npos && at >= authority) resolved.erase(authority, at + 1 - authority);
    return resolved;
  }
  if (scheme == "mailto" && use == UrlUse::link) return resolved;
  if (scheme == "data" && use == UrlUse::image) {
    // Raster images only: an SVG can carry script.
    const std::string head = ascii::to_lower(std::string_view(resolved).substr(0, 32));
    for (std::string_view type : {"data:image/png", "data:image/jpeg", "data:image/gif",
                                  "data:image/webp", "data:image/avif"}) {
      if (head.starts_with(type) && head.size() > type.size() &&
          (head[type.size()] == ';' || head[type.size()] == ','))
        return resolved;
    }
  }
  return {};
}

std::string sanitize_html(std::string_view html, std::string_view base) {
  if (html.empty()) return {};
  const std::string input = xml_safe_text(html);
  GumboOutput* output = gumbo_parse_with_options(&kGumboDefaultOptions, input.data(), input.size());
  std::unique_ptr<GumboOutput, void (*)(GumboOutput*)> guard(
      output, [](GumboOutput* o) { gumbo_destroy_output(&kGumboDefaultOptions, o); });
  Writer writer(base);
  // The fragment is the body's content; text gumbo put in <head> (a stray <title>) is dropped.
  const GumboVector& root = output->root->v.element.children;
  for (unsigned i = 0; i < root.length; ++i) {
    const auto* child = static_cast<const GumboNode*>(root.data[i]);
    if (child->type == GUMBO_NODE_ELEMENT && child->v.element.tag == GUMBO_TAG_BODY)
      writer.children(child->v.element.children);
  }
  return xml_safe_text(writer.take());
}

}  // namespace feedmerge::publish
