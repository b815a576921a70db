#include "feedmerge/error.h"

#include <stdexcept>

namespace feedmerge {

std::string to_string(const Warning& warning) {
  if (warning.line <= 0) return warning.message;
  return "line " + std::to_string(warning.line) + ": " + warning.message;
}

void throw_exception_from_error(const Error& error, const boost::source_location&) {
  throw std::runtime_error(error.message);
}

}  // namespace feedmerge
