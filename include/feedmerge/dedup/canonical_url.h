// Canonical URLs: the form of a link used only to tell that two items are the same article
// (level 1 of the dedup stage). What is stored and published stays the link as the feed gave
// it. The rules are one table in src/dedup/canonical_url.cpp. Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace feedmerge::dedup {

// `url` with scheme and host lower-cased, http folded into https, `www.`/`m.`/`amp.` host
// prefixes, default ports, fragments, tracking parameters (utm_*, fbclid, gclid, ref, cmpid,
// ...), AMP forms (/amp, /amp/, ?amp=1, .amp.html), index pages and trailing slashes removed,
// and the remaining query parameters sorted. "" when `url` is not an absolute http(s) URL.
std::string canonical_url(std::string_view url);

// Whether a canonical URL can name one article, and so be an item's identity: false for a
// site root ("https://taverncast.com") and for a listing page: one segment that names one
// ("/news", "/blog", "/podcast", ...) or a subject folder and its subject ("/category/x",
// "/tag/x", "/section/x", "/topic/x"), without a query. A feed links there when its items
// have no page of their own; other shared links are found by StoryIndex as they recur.
bool is_article_url(std::string_view canonical);

// The host of `url` without `www.` and lower-cased ("" when there is none): how outlets are
// named in [dedup].preferred.
std::string url_host(std::string_view url);

}  // namespace feedmerge::dedup
