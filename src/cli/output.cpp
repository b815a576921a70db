#include <cstdio>
#include <cstdlib>
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "feedmerge/config/config.h"

namespace feedmerge::cli {

CLI::Option* ConfigOption::add_to(CLI::App* app, std::string_view description) {
  return app
      ->add_option_function<std::string>(
          "--config", [this](const std::string& path) { given_.push_back(path); },
          std::string(description) + " (default: $FEEDMERGE_CONFIG, else " +
              std::string(config::kDefaultConfigPath) + ")")
      ->type_name("FILE");
}

std::string ConfigOption::path() const {
  if (!given_.empty()) return given_.back();
  if (const char* from_environment = std::getenv("FEEDMERGE_CONFIG");
      from_environment != nullptr && *from_environment != '\0')
    return from_environment;
  return std::string(config::kDefaultConfigPath);
}

int print_stdout(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  return std::fflush(stdout) == 0 ? kExitOk : kExitFailure;
}

void print_error(const std::string& file, const Error& error) {
  std::cerr << located(file, error) << '\n';
}

void print_read_error(const std::string& source, const Error& error) {
  const std::string message = error.message;
  std::string_view what = message;
  if (what.starts_with(source + ": ")) what.remove_prefix(source.size() + 2);
  std::cerr << source << ": error: " << what << '\n';
}

std::string examples(std::initializer_list<std::string_view> lines) {
  std::string text = lines.size() == 1 ? "\nExample:\n" : "\nExamples:\n";
  for (std::string_view line : lines)
    text += "  " + std::string(line) + "\n";
  return text;
}

}  // namespace feedmerge::cli
