// Sanitising what feeds gave us before it is published: HTML through an allowlist over a real
// HTML parser (gumbo), URLs through scheme rules, text stripped of what XML 1.0 forbids.
// Everything we publish that came from a feed passes through here. Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace feedmerge::publish {

// Valid UTF-8 without the characters XML 1.0 forbids: invalid sequences become U+FFFD; C0
// controls other than tab, newline and carriage return, U+FFFE and U+FFFF are removed.
std::string xml_safe_text(std::string_view text);

// A title or name for publishing: xml_safe_text with white space collapsed. Titles are plain
// text in the model (the parser already turned HTML titles into text), so "C++ <vector>"
// stays as written and the writers escape it; nothing is decoded a second time.
std::string clean_text(std::string_view text);

enum class UrlUse {
  link,   // href: http, https, mailto
  media,  // src of audio, video, source; enclosures: http, https
  image,  // img src: http, https, and data: with a raster image type
};

// `url` resolved against `base` and checked against the scheme rules of `use`; "" when it is
// empty, refused (javascript:, vbscript:, data: outside images, unknown schemes) or still
// relative because no absolute base was known. An http(s) result loses its userinfo
// ("user:pass@"): credentials are never published.
std::string safe_url(std::string_view url, std::string_view base, UrlUse use = UrlUse::link);

// `html` parsed as a fragment and written back with only allowlisted tags and attributes.
// Dropped with their content: script, style, iframe, object, embed, form and the other active
// or invisible elements. Unwrapped (content kept): any other unknown tag. Attributes: no event
// handlers, no style; URL attributes pass safe_url against `base`. Broken markup is repaired
// as a browser would (unclosed tags closed), never truncated. The result is xml_safe_text.
std::string sanitize_html(std::string_view html, std::string_view base);

}  // namespace feedmerge::publish
