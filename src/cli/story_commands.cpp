// The story subcommands: `stories` (list stories with their members), `why` (the signals
// between two items), `story merge` and `story split` (a person overrules dedup; persists).
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "feedmerge/config/config.h"
#include "feedmerge/daemon/daemon.h"
#include "feedmerge/report/stories.h"

namespace feedmerge::cli {
namespace {

struct StoryArgs {
  std::string config_path;
  bool json = false;
  std::string since;
  std::string link_a;
  std::string link_b;
  std::int64_t story_a = 0;
  std::int64_t story_b = 0;
};

Result<config::Config> load(const StoryArgs& args) {
  auto loaded = config::load_config(args.config_path);
  if (!loaded) {
    print_error(args.config_path, loaded.error());
  }
  return loaded;
}

int fail(const Error& error) {
  std::cerr << "error: " << error.message << '\n';
  return 1;
}

model::Time now_utc() {
  return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

// The config's database for `mode`; an error when there is none yet.
Result<std::unique_ptr<store::Store>> open_database(const config::Config& config,
                                                    store::OpenMode mode) {
  auto location = daemon::store_location(config);
  if (!location) return location.error();
  return store::open_store(*location, mode);
}

int run_stories(const StoryArgs& args) {
  std::optional<model::Time> since;
  if (!args.since.empty()) {
    // Checked by kDuration when the command line was parsed.
    const auto duration = config::parse_duration(args.since);
    if (!duration) return kExitUsage;
    since = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()) - *duration;
  }
  auto config = load(args);
  if (!config) return 1;
  auto location = daemon::store_location(*config);
  if (!location) return fail(location.error());
  auto stories = report::list_stories(*location, since);
  if (!stories) return fail(stories.error());
  return print_stdout(args.json ? report::stories_json(*stories) : report::stories_text(*stories));
}

int run_why(const StoryArgs& args) {
  auto config = load(args);
  if (!config) return 1;
  auto store = open_database(*config, store::OpenMode::read_only);
  if (!store) return fail(store.error());
  auto text = report::explain_pair(*config, **store, args.link_a, args.link_b);
  if (!text) return fail(text.error());
  return print_stdout(*text);
}

int run_merge(const StoryArgs& args) {
  auto config = load(args);
  if (!config) return 1;
  auto store = open_database(*config, store::OpenMode::read_write);
  if (!store) return fail(store.error());
  if (auto merged = report::merge_stories(**store, args.story_a, args.story_b, now_utc()); !merged)
    return fail(merged.error());
  std::cout << "story " << args.story_b << " merged into story " << args.story_a << '\n';
  return 0;
}

int run_split(const StoryArgs& args) {
  auto config = load(args);
  if (!config) return 1;
  auto store = open_database(*config, store::OpenMode::read_write);
  if (!store) return fail(store.error());
  auto story = report::split_story(**store, args.link_a, now_utc());
  if (!story) return fail(story.error());
  std::cout << args.link_a << " is now story " << *story << '\n';
  return 0;
}

// A --since value: a duration like "24h"; anything else is a usage error (status 2).
const CLI::Validator kDuration(
    [](std::string& text) {
      return config::parse_duration(text)
                 ? std::string()
                 : "expected a duration like \"24h\", got \"" + text + "\"";
    },
    "DURATION");

// Registers the command, with --config; the command reads the resolved path when it runs.
CLI::App* add_command(CLI::App* parent, Commands& commands, ConfigOption& config,
                      const std::shared_ptr<StoryArgs>& args, int (*run)(const StoryArgs&),
                      const char* name, const char* description) {
  CLI::App* command = parent->add_subcommand(name, description);
  config.add_to(command);
  commands.push_back({command, [args, run, &config] {
                        args->config_path = config.path();
                        return run(*args);
                      }});
  return command;
}

}  // namespace

void add_story_commands(CLI::App& app, Commands& commands, ConfigOption& config) {
  auto list_args = std::make_shared<StoryArgs>();
  CLI::App* list = add_command(&app, commands, config, list_args, run_stories, "stories",
                               "List stories with their items, most recently updated first");
  list->add_flag("--json", list_args->json, "Print JSON instead of text");
  list->add_option("--since", list_args->since,
                   "Only stories updated within this duration (\"24h\"); default: all")
      ->check(kDuration);
  list->footer(examples({"feedmerge stories --since 24h --config config/demo.toml"}));

  auto why_args = std::make_shared<StoryArgs>();
  CLI::App* why =
      add_command(&app, commands, config, why_args, run_why, "why",
                  "Show the signals and scores that did or did not put two items in one story");
  why->add_option("LINK_A", why_args->link_a, "An item's link, as published")->required();
  why->add_option("LINK_B", why_args->link_b, "Another item's link")->required();
  why->footer(examples({"feedmerge why https://example.com/a https://example.org/b"}));

  CLI::App* story = app.add_subcommand("story", "Overrule dedup: merge or split stories");
  story->require_subcommand(1);
  config.add_to(story);
  story->footer(examples({"feedmerge story merge 12 34",
                          "feedmerge story split "
                          "https://example.com/a"}));

  auto merge_args = std::make_shared<StoryArgs>();
  CLI::App* merge =
      add_command(story, commands, config, merge_args, run_merge, "merge",
                  "Move every item of story ID_B into story ID_A (ID_B goes); persists");
  merge->add_option("ID_A", merge_args->story_a, "The story that stays")->required();
  merge->add_option("ID_B", merge_args->story_b, "The story merged into it")->required();
  merge->footer(examples({"feedmerge story merge 12 34   # story 34's items join story 12"}));

  auto split_args = std::make_shared<StoryArgs>();
  CLI::App* split =
      add_command(story, commands, config, split_args, run_split, "split",
                  "Take the item with this link out of its story into a new one; persists");
  split->add_option("LINK", split_args->link_a, "The item's link, as published")->required();
  split->footer(examples({"feedmerge story split https://example.com/a"}));
}

}  // namespace feedmerge::cli
