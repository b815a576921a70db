// libFuzzer target: arbitrary bytes through parse_feed as an XML feed, then to_parse_json.
// The first input byte picks a Content-Type and a document URL so that the charset and
// base-URL paths are fuzzed too. Finds crashes, sanitizer reports and invalid JSON output.
#include <cstddef>
#include <cstdint>

#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  feedmerge::fuzz::run_one(data, size, false);
  return 0;
}
