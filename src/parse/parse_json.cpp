#include "feedmerge/parse/parse_json.h"

#include "feedmerge/normalize/date.h"

namespace feedmerge::parse {
namespace {

// A small emitter for the fixed shape of the spec: pretty-printed and stable, which Boost.JSON's
// compact serializer is not.
class JsonWriter {
 public:
  std::string take() { return std::move(out_); }

  void raw(std::string_view s) { out_ += s; }
  void newline() {
    out_ += '\n';
    out_.append(static_cast<std::size_t>(indent_) * 2, ' ');
  }
  void open(char c) {
    out_ += c;
    ++indent_;
    first_ = true;
  }
  void close(char c, bool empty) {
    --indent_;
    if (!empty) newline();
    out_ += c;
    first_ = false;
  }
  void key(std::string_view k) {
    separator();
    string(k);
    out_ += ": ";
  }
  void element() { separator(); }

  void string(std::string_view s) {
    out_ += '"';
    std::size_t run = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
      const auto c = static_cast<unsigned char>(s[i]);
      const char* esc = nullptr;
      char buf[8];
      switch (c) {
        case '"':
          esc = "\\\"";
          break;
        case '\\':
          esc = "\\\\";
          break;
        case '\n':
          esc = "\\n";
          break;
        case '\r':
          esc = "\\r";
          break;
        case '\t':
          esc = "\\t";
          break;
        case '\b':
          esc = "\\b";
          break;
        case '\f':
          esc = "\\f";
          break;
        default:
          if (c < 0x20 || c == 0x7f) {
            static constexpr char kHex[] = "0123456789abcdef";
            buf[0] = '\\', buf[1] = 'u', buf[2] = '0', buf[3] = '0';
            buf[4] = kHex[c >> 4], buf[5] = kHex[c & 15], buf[6] = 0;
            esc = buf;
          }
      }
      if (esc) {
        out_.append(s.data() + run, i - run);
        out_ += esc;
        run = i + 1;
      }
    }
    out_.append(s.data() + run, s.size() - run);
    out_ += '"';
  }

  void time(const std::optional<model::Time>& t) {
    if (t) {
      string(normalize::format_rfc3339(*t));
    } else {
      out_ += "null";
    }
  }

  void strings(const std::vector<std::string>& v) {
    if (v.empty()) {
      out_ += "[]";
      return;
    }
    open('[');
    for (const auto& s : v) {
      element();
      string(s);
    }
    close(']', false);
  }

 private:
  void separator() {
    if (!first_) out_ += ',';
    first_ = false;
    newline();
  }

  std::string out_;
  int indent_ = 0;
  bool first_ = true;
};

void write_item(JsonWriter& w, const model::Item& item) {
  w.open('{');
  w.key("id"), w.string(item.id);
  w.key("title"), w.string(item.title);
  w.key("link"), w.string(item.link);
  w.key("published"), w.time(item.published);
  w.key("updated"), w.time(item.updated);
  w.key("authors"), w.strings(item.authors);
  w.key("summary"), w.string(item.summary);
  w.key("content"), w.string(item.content);
  w.key("categories"), w.strings(item.categories);
  w.key("image"), w.string(item.image);
  w.key("enclosures");
  if (item.enclosures.empty()) {
    w.raw("[]");
  } else {
    w.open('[');
    for (const auto& e : item.enclosures) {
      w.element();
      w.open('{');
      w.key("url"), w.string(e.url);
      w.key("type"), w.string(e.type);
      w.key("length"), w.raw(e.length ? std::to_string(*e.length) : "null");
      w.close('}', false);
    }
    w.close(']', false);
  }
  w.close('}', false);
}

}  // namespace

std::string_view format_name(model::FeedFormat format) {
  using F = model::FeedFormat;
  switch (format) {
    case F::rss090:
      return "rss0.90";
    case F::rss091:
      return "rss0.91";
    case F::rss092:
      return "rss0.92";
    case F::rss10:
      return "rss1.0";
    case F::rss20:
      return "rss2.0";
    case F::rss:
      return "rss";
    case F::atom03:
      return "atom0.3";
    case F::atom10:
      return "atom1.0";
    case F::atom:
      return "atom";
    case F::json10:
      return "json1.0";
    case F::json11:
      return "json1.1";
  }
  return "rss";
}

std::string to_parse_json(const ParsedFeed& parsed) {
  const model::Feed& feed = parsed.feed;
  JsonWriter w;
  w.open('{');
  w.key("schema"), w.raw("1");
  w.key("format"), w.string(format_name(feed.format));
  w.key("title"), w.string(feed.title);
  w.key("link"), w.string(feed.link);
  w.key("description"), w.string(feed.description);
  w.key("language"), w.string(feed.language);
  w.key("updated"), w.time(feed.updated);
  std::vector<std::string> warnings;
  warnings.reserve(parsed.warnings.size());
  for (const auto& warning : parsed.warnings)
    warnings.push_back(to_string(warning));
  w.key("warnings"), w.strings(warnings);
  w.key("items");
  if (feed.items.empty()) {
    w.raw("[]");
  } else {
    w.open('[');
    for (const auto& item : feed.items) {
      w.element();
      write_item(w, item);
    }
    w.close(']', false);
  }
  w.close('}', false);
  w.raw("\n");
  return w.take();
}

}  // namespace feedmerge::parse
