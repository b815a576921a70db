// The feedmerge command line: parses arguments and runs one subcommand (src/cli/*_command.cpp).
// Each subcommand reports its own errors once, as SOURCE:LINE:COLUMN: error: WHAT.
#include <curl/curl.h>
#include <CLI/CLI.hpp>

#include "cli/commands.h"

namespace {

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
  ~CurlGlobal() { curl_global_cleanup(); }
  CurlGlobal(const CurlGlobal&) = delete;
  CurlGlobal& operator=(const CurlGlobal&) = delete;
};

}  // namespace

int main(int argc, char** argv) {
  CurlGlobal curl_global;
  CLI::App app{"feedmerge: merges tech-news feeds into one feed, one entry per story"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "feedmerge 0.1.0");

  feedmerge::cli::Commands commands;
  feedmerge::cli::add_parse_command(app, commands);
  feedmerge::cli::add_config_commands(app, commands);
  feedmerge::cli::add_daemon_commands(app, commands);
  feedmerge::cli::add_publish_command(app, commands);
  feedmerge::cli::add_story_commands(app, commands);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  for (const auto& command : commands) {
    if (command.app->parsed()) return command.run();
  }
  return 0;
}
