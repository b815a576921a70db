// A TOML syntax error told the way feedmerge's other config errors are: where, what is wrong
// and what to write instead (`unterminated string; close it with "`), instead of toml++'s
// "Error while parsing SCOPE: REASON". Pure; knows no toml++ type.
#pragma once

#include <string_view>

#include "feedmerge/error.h"

namespace feedmerge::config::detail {

// `description`, `line` and `column` are toml++'s (parse_error::description() and
// source().begin); `text` is the document, for the context the description lacks (which
// quote opened an unterminated string, the unquoted word a value was made of). The result
// is an ErrorKind::config error; its position may move to where the problem starts (the
// opening quote, the unquoted word). A description no rule knows keeps toml++'s reason.
Error describe_toml_syntax_error(std::string_view text, std::string_view description, int line,
                                 int column);

}  // namespace feedmerge::config::detail
