// The subcommands of the feedmerge executable. Each add_* function registers its subcommands
// on the CLI11 app and appends what to run when one of them was chosen; main() runs it.
// Exit statuses: kExitOk, kExitFailure (the input, the config or the database), kExitUsage.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "feedmerge/error.h"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace feedmerge::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // a problem with the input or the config
inline constexpr int kExitUsage = 2;    // the command line itself is wrong

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;  // the process exit status
};
using Commands = std::vector<Command>;

// `--config FILE`, accepted before the subcommand and after it. path() is the file given,
// else $FEEDMERGE_CONFIG, else /etc/feedmerge/feedmerge.toml. Owned by main(), it outlives
// every command that reads it.
class ConfigOption {
 public:
  CLI::Option* add_to(CLI::App* app, std::string_view description = "The config file");
  // Every --config given; main() refuses two different files (a usage error).
  const std::vector<std::string>& given() const { return given_; }
  std::string path() const;

 private:
  std::vector<std::string> given_;
};

// Output shared by the subcommands: `text` on standard output (exit status 1 when it cannot
// be written), and an error located in `file` on standard error.
int print_stdout(std::string_view text);
void print_error(const std::string& file, const Error& error);
// A source that could not be read (no position inside it): "SOURCE: error: WHAT", the source
// named once although the reader's message starts with it too.
void print_read_error(const std::string& source, const Error& error);

// "\nExample:\n  feedmerge ..." for a command's --help, one example per line.
std::string examples(std::initializer_list<std::string_view> lines);

void add_parse_command(CLI::App& app, Commands& commands);
void add_config_commands(CLI::App& app, Commands& commands, ConfigOption& config);
void add_daemon_commands(CLI::App& app, Commands& commands, ConfigOption& config);
void add_publish_command(CLI::App& app, Commands& commands, ConfigOption& config);
void add_story_commands(CLI::App& app, Commands& commands, ConfigOption& config);
void add_store_commands(CLI::App& app, Commands& commands);

}  // namespace feedmerge::cli
