// The daemon's subcommands: `run` (foreground, logs to the console), `once` (one poll, then
// exit) and `feeds` (what the database knows about every configured feed).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "feedmerge/config/config.h"
#include "feedmerge/daemon/daemon.h"
#include "feedmerge/normalize/url.h"
#include "feedmerge/report/feeds.h"

namespace feedmerge::cli {
namespace {

struct DaemonArgs {
  std::string config_path;
  bool all = false;
  bool json = false;
};

// The service tests' hooks (daemon::TestHooks), only with FEEDMERGE_TEST_HOOKS=1: read here,
// at the program's edge, never inside the daemon.
daemon::TestHooks test_hooks() {
  daemon::TestHooks hooks;
  const char* enabled = std::getenv("FEEDMERGE_TEST_HOOKS");
  if (enabled == nullptr || std::string_view(enabled) != "1") return hooks;
  hooks.enabled = true;
  if (const char* stall = std::getenv("FEEDMERGE_TEST_STALL_MS"))
    hooks.writer_stall = std::chrono::milliseconds(std::atol(stall));
  if (const char* stuck = std::getenv("FEEDMERGE_TEST_WRITER_STUCK_MS"))
    hooks.writer_stuck_after = std::chrono::milliseconds(std::atol(stuck));
  if (const char* gate = std::getenv("FEEDMERGE_TEST_START_GATE")) hooks.start_gate = gate;
  return hooks;
}

int run_run(const DaemonArgs& args) {
  auto loaded = config::load_config(args.config_path);
  if (!loaded) {
    print_error(args.config_path, loaded.error());
    return 1;
  }
  return daemon::run_daemon(*loaded, {.hooks = test_hooks()});
}

int run_once(const DaemonArgs& args) {
  auto loaded = config::load_config(args.config_path);
  if (!loaded) {
    print_error(args.config_path, loaded.error());
    return 1;
  }
  auto summary = daemon::poll_once(*loaded, args.all);
  if (!summary) {
    std::cerr << summary.error().message << '\n';
    return 1;
  }
  // Each failure was logged once already, as `run` logs it; the summary only counts them.
  std::cout << "polled " << summary->polled << " feeds: " << summary->succeeded << " ok ("
            << summary->not_modified << " not modified, " << summary->unchanged << " unchanged), "
            << summary->failed << " failed; " << summary->new_items << " new items, "
            << summary->updated_items << " updated\n";
  if (summary->interrupted) {
    std::cerr << "feedmerge once: interrupted before every due feed was polled\n";
    return kExitFailure;
  }
  // Non-zero only when nothing could be done at all: every feed polled failed.
  return summary->polled > 0 && summary->succeeded == 0 ? kExitFailure : kExitOk;
}

int run_feeds(const DaemonArgs& args) {
  auto loaded = config::load_config(args.config_path);
  if (!loaded) {
    print_error(args.config_path, loaded.error());
    return 1;
  }
  const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  const auto location = daemon::store_location(*loaded);
  if (!location) {
    std::cerr << location.error().message << '\n';
    return 1;
  }
  const std::string& database = *location;
  const std::string fault = report::database_fault(database);
  auto reports = report::feed_reports(*loaded, database, now);
  if (!reports) {
    if (!fault.empty()) std::cerr << "the daemon stopped writing at " << fault << '\n';
    std::cerr << reports.error().message << '\n';
    return 1;
  }
  auto assigner = report::story_assigner(database);
  if (!assigner) {
    std::cerr << assigner.error().message << '\n';
    return 1;
  }
  return print_stdout(args.json ? report::feeds_json(*reports, fault, *assigner)
                                : report::feeds_text(*reports, now, fault, *assigner));
}

CLI::App* add_command(CLI::App& app, Commands& commands, ConfigOption& config, const char* name,
                      const char* description, const std::shared_ptr<DaemonArgs>& args,
                      int (*run)(const DaemonArgs&)) {
  CLI::App* command = app.add_subcommand(name, description);
  config.add_to(command);
  commands.push_back({command, [args, run, &config] {
                        args->config_path = config.path();
                        return run(*args);
                      }});
  return command;
}

}  // namespace

void add_daemon_commands(CLI::App& app, Commands& commands, ConfigOption& config) {
  CLI::App* run = add_command(app, commands, config, "run",
                              "Poll every feed on its schedule in the foreground, logging to "
                              "standard error (the journal under systemd), until SIGINT or "
                              "SIGTERM",
                              std::make_shared<DaemonArgs>(), run_run);
  run->footer(examples({"feedmerge run --config config/demo.toml"}));

  auto once_args = std::make_shared<DaemonArgs>();
  CLI::App* once = add_command(app, commands, config, "once",
                               "Poll every due feed once, log as run does, print a summary, "
                               "then exit (status 1 only when every feed polled failed)",
                               once_args, run_once);
  once->add_flag("--all", once_args->all, "Poll every enabled feed now, due or not");
  once->footer(examples({"feedmerge once --all --config config/demo.toml",
                         "*/30 * * * * feedmerge once   # in a crontab"}));

  auto feeds_args = std::make_shared<DaemonArgs>();
  CLI::App* feeds = add_command(app, commands, config, "feeds",
                                "Show every configured feed: URL, title, last status, last "
                                "success, items, next poll, error",
                                feeds_args, run_feeds);
  feeds->add_flag("--json", feeds_args->json, "Print JSON instead of text");
  feeds->footer(examples({"feedmerge feeds --config config/demo.toml --json"}));
}

}  // namespace feedmerge::cli
