// The subcommands of the feedmerge executable. Each add_* function registers its subcommands
// on the CLI11 app and appends what to run when one of them was chosen; main() runs it.
#pragma once

#include <functional>
#include <vector>

namespace CLI {
class App;
}

namespace feedmerge::cli {

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;  // the process exit status
};
using Commands = std::vector<Command>;

void add_parse_command(CLI::App& app, Commands& commands);
void add_config_commands(CLI::App& app, Commands& commands);
void add_daemon_commands(CLI::App& app, Commands& commands);
void add_publish_command(CLI::App& app, Commands& commands);
void add_story_commands(CLI::App& app, Commands& commands);

}  // namespace feedmerge::cli
