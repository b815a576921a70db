// Writing TOML text by hand: quoted strings and keys, for error messages and for the [[feed]]
// tables that import-opml prints. Pure.
#pragma once

#include <string>
#include <string_view>

namespace feedmerge::config::detail {

// A TOML basic string with its quotes: `"`, `\` and control characters escaped; bytes that
// are not UTF-8 become U+FFFD, so the result is always valid TOML.
std::string toml_quote(std::string_view text);

// `key` as a bare key when it is one (A-Za-z0-9_-), else quoted.
std::string toml_key(std::string_view key);

// `parent.key` in the form error messages use ("poll.interval", `feed[1].headers."X Y"`).
std::string join_key(std::string_view parent, std::string_view key);

}  // namespace feedmerge::config::detail
