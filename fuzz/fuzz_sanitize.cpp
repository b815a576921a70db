// libFuzzer target: the HTML sanitiser that everything we publish from a feed goes through.
// Properties: it never crashes; its output is valid UTF-8 without characters XML forbids; it
// holds no active element and no event-handler attribute. In the output every '<' starts a
// tag (text escapes it), so a plain scan of the tags is enough to check that.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <unicode/utf8.h>

#include "feedmerge/publish/sanitize.h"

namespace {

void fail(const char* why, std::string_view out) {
  std::fprintf(stderr, "fuzz check failed: %s\n  output: %.*s\n", why,
               static_cast<int>(out.size()), out.data());
  std::abort();
}

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

void check_xml_safe(std::string_view out) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(out.data());
  const auto n = static_cast<std::int32_t>(out.size());
  for (std::int32_t i = 0; i < n;) {
    UChar32 c;
    U8_NEXT(p, i, n, c);
    if (c < 0) fail("invalid UTF-8 in the output", out);
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0xFFFE || c == 0xFFFF)
      fail("a character XML forbids in the output", out);
  }
}

void check_tags(std::string_view out) {
  static constexpr std::string_view kActive[] = {"script", "style", "iframe", "object",
                                                 "embed",  "form",  "frame",  "base"};
  for (std::size_t lt = out.find('<'); lt != std::string_view::npos; lt = out.find('<', lt + 1)) {
    const std::size_t gt = out.find('>', lt);
    if (gt == std::string_view::npos) fail("a tag that never ends", out);
    std::string tag;
    for (std::size_t i = lt + 1; i < gt; ++i)
      tag.push_back(lower(out[i]));
    std::string_view name = tag;
    if (name.starts_with('/')) name.remove_prefix(1);
    name = name.substr(0, name.find_first_of(" \t\n/"));
    for (std::string_view active : kActive) {
      if (name == active) fail("an active element in the output", out);
    }
    // Attributes: " name=" pairs; values are quoted, so look only outside quotes.
    bool quoted = false;
    for (std::size_t i = 0; i + 2 < tag.size(); ++i) {
      if (tag[i] == '"') quoted = !quoted;
      if (quoted) continue;
      if ((tag[i] == ' ' || tag[i] == '\t' || tag[i] == '\n') && tag[i + 1] == 'o' &&
          tag[i + 2] == 'n')
        fail("an event-handler attribute in the output", out);
      if (tag.compare(i, 5, "style") == 0 && i > 0 && tag[i - 1] == ' ')
        fail("a style attribute in the output", out);
    }
    for (std::string_view attribute : {" href=\"", " src=\""}) {
      for (std::size_t at = tag.find(attribute); at != std::string::npos;
           at = tag.find(attribute, at + 1)) {
        const std::string_view value = std::string_view(tag).substr(at + attribute.size());
        if (value.starts_with("javascript:") || value.starts_with("vbscript:") ||
            (value.starts_with("data:") && !value.starts_with("data:image/")))
          fail("a script or data URL in a link", out);
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view html(reinterpret_cast<const char*>(data), size);
  const std::string out = feedmerge::publish::sanitize_html(html, "https://example.org/a/b.html");
  check_xml_safe(out);
  check_tags(out);
  check_xml_safe(feedmerge::publish::clean_text(html));
  return 0;
}
