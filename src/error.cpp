#include "feedmerge/error.h"

#include <stdexcept>

namespace feedmerge {

std::string to_string(const Warning& warning) {
  if (warning.line <= 0) return warning.message;
  return "line " + std::to_string(warning.line) + ": " + warning.message;
}

std::string located(const std::string& file, const Error& error) {
  std::string text = file + ":";
  if (error.line > 0) text += std::to_string(error.line) + ":" + std::to_string(error.column) + ":";
  return text + " " + error.message;
}

std::string located(const std::string& file, const Warning& warning) {
  std::string text = file + ":";
  if (warning.line > 0) {
    text += std::to_string(warning.line) + ":";
    if (warning.column > 0) text += std::to_string(warning.column) + ":";
  }
  return text + " " + warning.message;
}

void throw_exception_from_error(const Error& error, const boost::source_location&) {
  throw std::runtime_error(error.message);
}

}  // namespace feedmerge
