#include "config/feed_url.h"

#include <boost/url.hpp>

#include "feedmerge/normalize/ascii.h"
#include "feedmerge/normalize/url.h"

namespace feedmerge::config::detail {
namespace {

std::string lowercase(std::string_view text) {
  return ascii::to_lower(text);
}

// file:samples/a.rss -> file:///CONFIG_DIR/samples/a.rss. RFC 3986 resolution ignores the
// base for a reference that has a scheme, so the path is resolved as a relative reference.
std::string resolve_relative_file_url(const boost::urls::url_view& ref, std::string_view base_dir) {
  boost::urls::url base;
  base.set_scheme("file");
  base.set_encoded_host("");
  std::string dir(base_dir);
  if (dir.empty() || dir.back() != '/') dir += '/';
  base.set_path(dir);
  // "./" keeps a first segment holding ':' from reading as a scheme.
  // Appended piece by piece: GCC 12 -O3 reports a false -Wrestrict on "./" + std::string.
  std::string relative = "./";
  relative += ref.encoded_path();
  if (ref.has_query()) {
    relative += '?';
    relative += ref.encoded_query();
  }
  auto parsed = boost::urls::parse_relative_ref(relative);
  if (!parsed) return std::string(ref.buffer());
  boost::urls::url resolved;
  if (!boost::urls::resolve(base, *parsed, resolved)) return std::string(ref.buffer());
  return std::string(resolved.buffer());
}

}  // namespace

std::string subscription_url(std::string_view url) {
  if (url.size() > 5 && ascii::iequals(url.substr(0, 5), "feed:")) {
    const std::string_view rest = url.substr(5);
    if (rest.starts_with("//")) return "http:" + std::string(rest);
    return std::string(rest);
  }
  return std::string(url);
}

CheckedFeedUrl check_feed_url(std::string_view written, std::string_view base_dir) {
  CheckedFeedUrl out;
  out.url = subscription_url(written);
  const std::string_view url = out.url;
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return out;
  const std::string scheme = lowercase(parsed->scheme());
  if (scheme == "http" || scheme == "https") {
    if (parsed->has_authority() && !parsed->encoded_host().empty()) {
      out.status = FeedUrlStatus::ok;
    }
    return out;
  }
  if (scheme != "file") return out;
  out.is_file = true;
  if (parsed->has_authority()) {
    const std::string host = lowercase(parsed->encoded_host());
    if (!host.empty() && host != "localhost") {
      out.status = FeedUrlStatus::file_with_host;
      return out;
    }
  }
  if (parsed->encoded_path().empty()) return out;
  out.status = FeedUrlStatus::ok;
  if (!parsed->has_authority() && !parsed->encoded_path().starts_with("/")) {
    out.url = resolve_relative_file_url(*parsed, base_dir);
  }
  return out;
}

std::string same_feed_key(std::string_view url) {
  std::string key = normalize::feed_identity(subscription_url(url));
  auto parsed = boost::urls::parse_uri(key);
  if (!parsed) return key;
  const auto scheme = parsed->scheme_id();
  if (scheme != boost::urls::scheme::http && scheme != boost::urls::scheme::https) return key;
  // Only compared, never fetched: a scheme-less "//host/path" key is enough.
  const std::string_view rest = key;
  std::string out(rest.substr(parsed->scheme().size() + 1));
  const std::string_view path = parsed->encoded_path();
  if (path.size() > 1 && path.ends_with('/')) {
    const auto end = static_cast<std::size_t>(path.data() + path.size() - key.data());
    out.erase(end - parsed->scheme().size() - 2, 1);
  }
  return out;
}

}  // namespace feedmerge::config::detail
