// URLs: resolution against a base (RFC 3986 through Boost.URL), rewriting of relative
// href/src attributes inside HTML, and redaction of the secrets a URL can carry. Pure;
// thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace feedmerge::normalize {

// `ref` resolved against `base`. Returns `ref` trimmed and otherwise unchanged when `base` is
// empty or not absolute, when `ref` is already absolute (any scheme), or when either cannot be
// parsed. Spaces and other characters that URLs forbid are percent-encoded in the result.
// As in browsers, tabs and newlines inside `ref` are dropped. An empty `ref` gives `base`
// without its fragment (RFC 3986): callers that read an empty link as "no link" check first.
std::string resolve_url(std::string_view base, std::string_view ref);

// The form in which two feed URLs are compared to decide that they name the same feed: only
// rewrites that cannot change what a fetch receives. Scheme and host lower-cased, one trailing
// dot of the host dropped ("LOCALHOST." -> "localhost"), the default port dropped (":80" for
// http, ":443" for https), an IPv4 address in any form the resolver reads spelt as four
// decimals ("127.1", "0x7f.0.0.1" -> "127.0.0.1"), an IPv6 address in its RFC 5952 form, an
// empty path made "/", an empty query ("?") and the fragment (never sent) dropped,
// percent-encoding and dot segments normalised; file://localhost/ is file:///. Userinfo stays:
// other credentials may see another feed. Text that does not parse as a URL stays as given.
// A key to compare, not a URL to fetch: callers keep the URL as the user wrote it.
std::string feed_identity(std::string_view url);

// True when `url` has a scheme ("https:", "mailto:", ...).
bool is_absolute_url(std::string_view url);

// Rewrites the values of href, src (and srcset, poster) attributes in `html` that are
// relative, resolving them against `base`; everything else is copied byte for byte. A no-op
// when `base` is empty or not absolute.
std::string absolutize_html_urls(std::string_view html, std::string_view base);

// `url` fit to show anyone: the userinfo ("user:pass@") becomes "REDACTED@", and the value of
// every query parameter becomes "REDACTED" ("?api_key=s3cret&x" -> "?api_key=REDACTED&REDACTED":
// a parameter without '=' may be a token itself). Scheme, host, port, path and fragment stay.
// Works on text, not on a parse, so that a malformed URL cannot slip through unredacted.
// Every feed URL that reaches an output, a page, /sources.opml or a log line passes here.
std::string redact_url(std::string_view url);

// True for a file: URL (any case), a local path that no output, page or OPML publishes.
bool is_file_url(std::string_view url);

// `text` with every URL inside it ("scheme://..." up to white space, a quote or '<' '>')
// passed through redact_url: for error messages and log lines that quote URLs.
std::string redact_urls_in(std::string_view text);

}  // namespace feedmerge::normalize
