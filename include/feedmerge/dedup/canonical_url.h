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

// The host of `url` without `www.` and lower-cased ("" when there is none): how outlets are
// named in [dedup].preferred.
std::string url_host(std::string_view url);

}  // namespace feedmerge::dedup
