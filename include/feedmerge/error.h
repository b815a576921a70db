// Error values shared by every stage: expected failures travel as Result<T>, recoverable
// problems as Warning. Depends on nothing else in feedmerge. Plain values, thread-compatible.
#pragma once

#include <string>

#include <boost/system/result.hpp>

namespace feedmerge {

enum class ErrorKind {
  invalid_input,  // the bytes are not a feed we can read
  too_deep,       // refused before DOM work: nesting beyond the fixed limit
  io,             // a file or stream could not be read
  network,        // transport failure (DNS, connect, TLS, timeout)
  http,           // an HTTP status that is a failure
  config,         // the config file is invalid; line/column point into it
  database,       // SQLite failed, or the schema is one we must not touch
};

struct Error {
  ErrorKind kind = ErrorKind::invalid_input;
  std::string message;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based; 0 when unknown

  bool operator==(const Error&) const = default;
};

// A recoverable problem; `line` is 0 when no line is known.
struct Warning {
  int line = 0;
  std::string message;
  int column = 0;  // 1-based; 0 when unknown (most warnings know their line only)

  bool operator==(const Warning&) const = default;
};

// "line 12: message", or just the message when no line is known.
std::string to_string(const Warning& warning);

// "FILE:LINE:COLUMN: message" (as check-config prints it), or "FILE: message" when no line is
// known.
std::string located(const std::string& file, const Error& error);
// The same for a warning: "FILE:LINE:COLUMN: message", "FILE:LINE: message" without a column.
std::string located(const std::string& file, const Warning& warning);

// Lets Result<T>::value() throw on an error, as boost::system::result expects.
[[noreturn]] void throw_exception_from_error(const Error& error, const boost::source_location& loc);

template <class T>
using Result = boost::system::result<T, Error>;

}  // namespace feedmerge
