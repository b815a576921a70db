#include "feedmerge/dedup/canonical_url.h"

#include <boost/url/parse.hpp>
#include <boost/url/pct_string_view.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>
#include <array>
#include <string_view>
#include <utility>
#include <vector>

#include "feedmerge/normalize/ascii.h"

namespace feedmerge::dedup {
namespace {

// Query parameters that say who sent the reader, never which article it is.
struct ParameterRule {
  std::string_view name;
  bool prefix;  // true: every parameter whose name starts with `name`
};
constexpr std::array kTrackingParameters = {
    ParameterRule{"utm_", true},
    ParameterRule{"fbclid", false},
    ParameterRule{"gclid", false},
    ParameterRule{"dclid", false},
    ParameterRule{"msclkid", false},
    ParameterRule{"yclid", false},
    ParameterRule{"ref", false},
    ParameterRule{"ref_src", false},
    ParameterRule{"ref_url", false},
    ParameterRule{"cmpid", false},
    ParameterRule{"cmp", false},
    ParameterRule{"icid", false},
    ParameterRule{"ncid", false},
    ParameterRule{"ocid", false},
    ParameterRule{"mc_cid", false},
    ParameterRule{"mc_eid", false},
    ParameterRule{"_hsenc", false},
    ParameterRule{"_hsmi", false},
    ParameterRule{"igshid", false},
    ParameterRule{"s_cid", false},
    ParameterRule{"mkt_tok", false},
    ParameterRule{"sr_share", false},
    ParameterRule{"spm", false},
    ParameterRule{"share", false},
    ParameterRule{"src", false},
    ParameterRule{"source", false},
    ParameterRule{"via", false},
    ParameterRule{"__twitter_impression", false},
    ParameterRule{"guccounter", false},
    ParameterRule{"guce_referrer", false},
    ParameterRule{"guce_referrer_sig", false},
    // AMP switches: the AMP page is the same article.
    ParameterRule{"amp", false},
    ParameterRule{"outputtype", false},
};

// Host prefixes that serve the same site.
constexpr std::array<std::string_view, 4> kHostPrefixes = {"www.", "m.", "mobile.", "amp."};

// Last path segments that name the folder's default page.
constexpr std::array<std::string_view, 6> kIndexPages = {
    "index.html", "index.htm", "index.php", "index.shtml", "default.aspx", "default.htm"};

bool is_tracking(std::string_view name) {
  const std::string lower = ascii::to_lower(name);
  return std::any_of(kTrackingParameters.begin(), kTrackingParameters.end(),
                     [&](const ParameterRule& rule) {
                       return rule.prefix ? lower.starts_with(rule.name) : lower == rule.name;
                     });
}

std::string strip_host(std::string host) {
  for (std::string_view prefix : kHostPrefixes) {
    if (host.starts_with(prefix) && host.size() > prefix.size() + 3) {
      host.erase(0, prefix.size());
      break;
    }
  }
  return host;
}

std::string canonical_path(std::string_view raw) {
  std::string path(raw);
  // AMP forms: /amp/... prefix, .../amp suffix, .amp.html pages.
  if (path.starts_with("/amp/")) path.erase(0, 4);
  for (;;) {
    while (path.size() > 1 && path.back() == '/')
      path.pop_back();
    bool changed = false;
    if (path.ends_with("/amp")) {
      path.resize(path.size() - 4);
      changed = true;
    }
    if (path.ends_with(".amp.html")) {
      path.replace(path.size() - 9, 9, ".html");
      changed = true;
    }
    const auto slash = path.rfind('/');
    const std::string last = ascii::to_lower(std::string_view(path).substr(slash + 1));
    if (std::find(kIndexPages.begin(), kIndexPages.end(), last) != kIndexPages.end()) {
      path.resize(slash + 1);
      changed = true;
    }
    if (!changed) break;
  }
  while (path.size() > 1 && path.back() == '/')
    path.pop_back();
  if (path == "/") path.clear();
  return path;
}

}  // namespace

namespace {

std::string canonicalise_once(std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return {};
  const boost::urls::url_view view = *parsed;
  const std::string scheme = ascii::to_lower(view.scheme());
  if (scheme != "http" && scheme != "https") return {};
  std::string host = strip_host(ascii::to_lower(view.encoded_host().decode()));
  if (host.empty()) return {};
  std::string port(view.port());
  if (port == "80" || port == "443") port.clear();

  // The query split by hand: Boost.URL 1.81's params iterator reads out of bounds on some
  // queries (fuzz_url: "https://h:x%cf:d/p?#f" crashed it), and links come from hostile feeds.
  std::vector<std::pair<std::string, std::string>> parameters;
  for (std::string_view query = view.encoded_query(); !query.empty();) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const std::size_t eq = pair.find('=');
    const std::string_view key = pair.substr(0, eq);
    const auto decoded = boost::urls::make_pct_string_view(key);
    if (is_tracking(decoded ? std::string(decoded->decode()) : std::string(key))) continue;
    parameters.emplace_back(
        key, eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
  }
  std::sort(parameters.begin(), parameters.end());

  std::string canonical = "https://" + host;
  if (!port.empty()) canonical += ":" + port;
  canonical += canonical_path(view.encoded_path());
  char separator = '?';
  for (const auto& [key, value] : parameters) {
    canonical += separator;
    canonical += key;
    if (!value.empty()) canonical += "=" + value;
    separator = '&';
  }
  return canonical;
}

}  // namespace

std::string canonical_url(std::string_view url) {
  // The canonical form must be a fixed point, or two copies of one link could fail to match.
  // Every real link reaches it in one pass; a malformed one that keeps changing shape (odd
  // authorities such as "http://h:x://") has no canonical form and matches only by its id.
  std::string canonical = canonicalise_once(url);
  if (canonical.empty()) return canonical;
  std::string again = canonicalise_once(canonical);
  if (again == canonical) return canonical;
  if (canonicalise_once(again) == again) return again;
  return {};
}

std::string url_host(std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return {};
  std::string host = ascii::to_lower(parsed->encoded_host().decode());
  if (host.starts_with("www.")) host.erase(0, 4);
  return host;
}

}  // namespace feedmerge::dedup

namespace feedmerge::dedup {

namespace {

// Pages that list a site's items: "/news", "/blog"; and the folders of listings by subject,
// "/category/sports", "/tag/x".
constexpr std::array<std::string_view, 14> kListingPages = {
    "news",     "blog",   "podcast", "podcasts", "episodes", "articles", "archive",
    "archives", "latest", "home",    "feed",     "index",    "stories",  "videos"};
constexpr std::array<std::string_view, 8> kListingFolders = {
    "category", "categories", "tag", "tags", "section", "sections", "topic", "topics"};

bool one_of(std::string_view word, const auto& words) {
  return std::any_of(words.begin(), words.end(),
                     [&](std::string_view listed) { return ascii::iequals(word, listed); });
}

}  // namespace

bool is_article_url(std::string_view canonical) {
  const std::size_t scheme = canonical.find("://");
  if (scheme == std::string_view::npos) return false;
  const std::size_t slash = canonical.find_first_of("/?", scheme + 3);
  if (slash == std::string_view::npos) return false;  // the site root
  // An id in the query (?p=123, ?story=...) names an article whatever the path.
  if (canonical.find('?', slash) != std::string_view::npos) return true;
  const std::string_view path = canonical.substr(slash + 1);
  // The first three segments, as views (this runs for every item the index decides).
  std::array<std::string_view, 3> segments{};
  std::size_t count = 0;
  for (std::size_t at = 0; at <= path.size() && count < segments.size();) {
    std::size_t end = path.find('/', at);
    if (end == std::string_view::npos) end = path.size();
    if (end > at) segments[count++] = path.substr(at, end - at);
    at = end + 1;
  }
  if (count == 0) return false;
  if (count == 1) return !one_of(segments[0], kListingPages);
  if (count == 2) return !one_of(segments[0], kListingFolders);
  return true;
}

}  // namespace feedmerge::dedup
