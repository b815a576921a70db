// The subcommands of the feedmerge executable. Each add_* function registers its subcommands
// on the CLI11 app and appends what to run when one of them was chosen; main() runs it.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "feedmerge/error.h"

namespace CLI {
class App;
}

namespace feedmerge::cli {

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;  // the process exit status
};
using Commands = std::vector<Command>;

// Output shared by the subcommands: `text` on standard output (exit status 1 when it cannot
// be written), and an error located in `file` on standard error.
int print_stdout(std::string_view text);
void print_error(const std::string& file, const Error& error);

void add_parse_command(CLI::App& app, Commands& commands);
void add_config_commands(CLI::App& app, Commands& commands);
void add_daemon_commands(CLI::App& app, Commands& commands);
void add_publish_command(CLI::App& app, Commands& commands);
void add_story_commands(CLI::App& app, Commands& commands);

}  // namespace feedmerge::cli
