// The feedmerge command line: parses arguments and runs one subcommand (src/cli/*_command.cpp).
// Each subcommand reports its own errors once, as SOURCE:LINE:COLUMN: error: WHAT. The exit
// status is 0, 1 (the input or the config) or 2 (the command line), whatever fails.
#include <csignal>
#include <exception>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <curl/curl.h>
#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "feedmerge/normalize/text.h"

namespace {

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
  ~CurlGlobal() { curl_global_cleanup(); }
  CurlGlobal(const CurlGlobal&) = delete;
  CurlGlobal& operator=(const CurlGlobal&) = delete;
};

// CLI11 2.1 answers a mistyped command with "The following argument was not expected"; like
// git, say which command was meant. Walks the command words of argv (options at the levels
// that have subcommands are --config FILE and flags) and returns the message for the first
// word that names no command, or nothing when every word does.
std::optional<std::string> unknown_command(const CLI::App& app, int argc, char** argv) {
  const CLI::App* level = &app;
  std::string where = "feedmerge";
  for (int i = 1; i < argc; ++i) {
    const std::string_view word = argv[i];
    if (word == "--") return std::nullopt;
    if (word == "--config") {
      ++i;
      continue;
    }
    if (word.starts_with("-")) continue;
    const auto commands = level->get_subcommands([](const CLI::App*) { return true; });
    if (commands.empty()) return std::nullopt;  // a positional argument of a leaf command
    const CLI::App* next = nullptr;
    std::string_view closest;
    std::size_t closest_distance = 3;  // suggest only within two edits
    std::string names;
    for (const CLI::App* command : commands) {
      const std::string& name = command->get_name();
      if (name == word) next = command;
      names += (names.empty() ? "" : ", ") + name;
      const std::size_t distance = name.starts_with(word) && word.size() >= 3
                                       ? 1
                                       : feedmerge::normalize::edit_distance(word, name);
      if (distance < closest_distance && distance < name.size()) {
        closest = name;
        closest_distance = distance;
      }
    }
    if (next == nullptr) {
      std::string message = where + ": unknown command \"" + std::string(word) + "\"";
      if (!closest.empty()) return message + "; did you mean \"" + std::string(closest) + "\"?";
      return message + "; the commands are " + names;
    }
    level = next;
    where += " " + next->get_name();
  }
  return std::nullopt;
}

int run(int argc, char** argv) {
  namespace cli = feedmerge::cli;
  CLI::App app{"feedmerge: merges tech-news feeds into one feed, one entry per story"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "feedmerge 0.1.0");

  cli::ConfigOption config;
  config.add_to(&app);
  cli::Commands commands;
  cli::add_parse_command(app, commands);
  cli::add_config_commands(app, commands, config);
  cli::add_daemon_commands(app, commands, config);
  cli::add_publish_command(app, commands, config);
  cli::add_story_commands(app, commands, config);
  cli::add_store_commands(app, commands);
  // Set last: a subcommand copies its parent's footer when it is created.
  app.footer(cli::examples({"feedmerge check-config --config /etc/feedmerge/feedmerge.toml",
                            "feedmerge run", "feedmerge COMMAND --help"}) +
             "\nExit status: 0 success, 1 a problem with the input or the config, 2 a usage "
             "error.\n");

  if (auto message = unknown_command(app, argc, argv)) {
    std::cerr << *message << "\nRun with --help for more information.\n";
    return cli::kExitUsage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version end here with 0; CLI11's own codes (100 and up) are usage errors.
    return app.exit(e) == 0 ? cli::kExitOk : cli::kExitUsage;
  }
  const auto& given = config.given();
  for (const std::string& path : given) {
    if (path != given.front()) {
      std::cerr << "feedmerge: --config given twice, as " << given.front() << " and " << path
                << "\nRun with --help for more information.\n";
      return cli::kExitUsage;
    }
  }
  for (const auto& command : commands) {
    if (command.app->parsed()) return command.run();
  }
  return cli::kExitUsage;  // unreachable: CLI11 requires a subcommand
}

}  // namespace

int main(int argc, char** argv) {
  // A closed pipe (`feedmerge stories | head`) is a failed write, status 1, not a death by
  // SIGPIPE; the daemon's sockets want the same.
  std::signal(SIGPIPE, SIG_IGN);
  CurlGlobal curl_global;
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    // Nothing should throw this far; if something does, the exit status still means something.
    std::cerr << "feedmerge: error: " << e.what() << '\n';
    return feedmerge::cli::kExitFailure;
  }
}
