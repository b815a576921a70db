// libFuzzer target: JSON Feed bytes through parse_feed, then to_parse_json. parse_feed detects
// JSON by content (a leading '{'); inputs without one are skipped here because they take the
// XML path, which fuzz_xml covers. The first byte picks a Content-Type and a document URL.
#include <cstddef>
#include <cstdint>

#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  feedmerge::fuzz::run_one(data, size, true);
  return 0;
}
