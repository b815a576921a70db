#include <cstdio>
#include <iostream>

#include "cli/commands.h"

namespace feedmerge::cli {

int print_stdout(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  return std::fflush(stdout) == 0 ? 0 : 1;
}

void print_error(const std::string& file, const Error& error) {
  std::cerr << located(file, error) << '\n';
}

}  // namespace feedmerge::cli
