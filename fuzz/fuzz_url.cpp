// libFuzzer target: the URL canonicaliser that decides whether two links are one article.
// Properties: it never crashes, its result is "" or an absolute https URL, and canonicalising
// a canonical URL changes nothing (otherwise two copies of one link could fail to match).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "feedmerge/dedup/canonical_url.h"

namespace {

void fail(const char* why, std::string_view url, std::string_view once, std::string_view twice) {
  std::fprintf(stderr, "fuzz check failed: %s\n  url:   %.*s\n  once:  %.*s\n  twice: %.*s\n", why,
               static_cast<int>(url.size()), url.data(), static_cast<int>(once.size()),
               once.data(), static_cast<int>(twice.size()), twice.data());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view url(reinterpret_cast<const char*>(data), size);
  const std::string once = feedmerge::dedup::canonical_url(url);
  if (once.empty()) return 0;
  const std::string twice = feedmerge::dedup::canonical_url(once);
  if (twice != once) fail("canonical_url is not idempotent", url, once, twice);
  (void)feedmerge::dedup::url_host(url);
  return 0;
}
