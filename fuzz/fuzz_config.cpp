// libFuzzer target: any bytes as a config file through check_config and parse_config. Besides
// crashes and sanitizer reports it checks: every error has a message and a non-negative
// position; parse_config fails exactly when check_config reports errors, with the first of them;
// a config that loads is stable (checking it again gives the same Config).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "feedmerge/config/config.h"

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz check failed: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace config = feedmerge::config;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const config::ConfigCheck check = config::check_config(text, "/etc/feedmerge/fuzz.toml");
  for (const feedmerge::Error& error : check.errors) {
    if (error.message.empty()) fail("an error without a message");
    if (error.line < 0 || error.column < 0) fail("a negative error position");
  }
  const auto parsed = config::parse_config(text, "/etc/feedmerge/fuzz.toml");
  if (parsed.has_value() != check.errors.empty()) fail("parse_config and check_config disagree");
  if (!parsed) {
    if (!(parsed.error() == check.errors.front())) fail("parse_config's error is not the first");
    return 0;
  }
  if (!(*parsed == check.config)) fail("parse_config and check_config give different configs");
  return 0;
}
