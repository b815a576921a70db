// The story subcommands: `stories` (list stories with their members), `why` (the signals
// between two items), `story merge` and `story split` (a person overrules dedup; persists).
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "feedmerge/config/config.h"
#include "feedmerge/daemon/stories.h"

namespace feedmerge::cli {
namespace {

struct StoryArgs {
  std::string config_path = std::string(config::kDefaultConfigPath);
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

int run_stories(const StoryArgs& args) {
  std::optional<model::Time> since;
  if (!args.since.empty()) {
    const auto duration = config::parse_duration(args.since);
    if (!duration) {
      std::cerr << "--since: expected a duration like \"24h\", got \"" << args.since << "\"\n";
      return 1;
    }
    since = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()) - *duration;
  }
  auto config = load(args);
  if (!config) return 1;
  auto stories = daemon::list_stories(*config, since);
  if (!stories) return fail(stories.error());
  return print_stdout(args.json ? daemon::stories_json(*stories) : daemon::stories_text(*stories));
}

int run_why(const StoryArgs& args) {
  auto config = load(args);
  if (!config) return 1;
  auto text = daemon::explain_pair(*config, args.link_a, args.link_b);
  if (!text) return fail(text.error());
  return print_stdout(*text);
}

int run_merge(const StoryArgs& args) {
  auto config = load(args);
  if (!config) return 1;
  if (auto merged = daemon::merge_stories(*config, args.story_a, args.story_b); !merged)
    return fail(merged.error());
  std::cout << "story " << args.story_b << " merged into story " << args.story_a << '\n';
  return 0;
}

int run_split(const StoryArgs& args) {
  auto config = load(args);
  if (!config) return 1;
  auto story = daemon::split_story(*config, args.link_a);
  if (!story) return fail(story.error());
  std::cout << args.link_a << " is now story " << *story << '\n';
  return 0;
}

void add_config_option(CLI::App* command, StoryArgs& args) {
  command->add_option("--config", args.config_path, "The config file")->capture_default_str();
}

}  // namespace

void add_story_commands(CLI::App& app, Commands& commands) {
  auto list_args = std::make_shared<StoryArgs>();
  CLI::App* list =
      app.add_subcommand("stories", "List stories with their items, most recently updated first");
  add_config_option(list, *list_args);
  list->add_flag("--json", list_args->json, "Print JSON instead of text");
  list->add_option("--since", list_args->since,
                   "Only stories updated within this duration (\"24h\"); default: all");
  commands.push_back({list, [list_args] { return run_stories(*list_args); }});

  auto why_args = std::make_shared<StoryArgs>();
  CLI::App* why = app.add_subcommand(
      "why", "Show the signals and scores that did or did not put two items in one story");
  add_config_option(why, *why_args);
  why->add_option("LINK_A", why_args->link_a, "An item's link, as published")->required();
  why->add_option("LINK_B", why_args->link_b, "Another item's link")->required();
  commands.push_back({why, [why_args] { return run_why(*why_args); }});

  CLI::App* story = app.add_subcommand("story", "Overrule dedup: merge or split stories");
  story->require_subcommand(1);
  auto merge_args = std::make_shared<StoryArgs>();
  CLI::App* merge = story->add_subcommand(
      "merge", "Move every item of story ID_B into story ID_A (ID_B goes); persists");
  add_config_option(merge, *merge_args);
  merge->add_option("ID_A", merge_args->story_a, "The story that stays")->required();
  merge->add_option("ID_B", merge_args->story_b, "The story merged into it")->required();
  commands.push_back({merge, [merge_args] { return run_merge(*merge_args); }});

  auto split_args = std::make_shared<StoryArgs>();
  CLI::App* split = story->add_subcommand(
      "split", "Take the item with this link out of its story into a new one; persists");
  add_config_option(split, *split_args);
  split->add_option("LINK", split_args->link_a, "The item's link, as published")->required();
  commands.push_back({split, [split_args] { return run_split(*split_args); }});
}

}  // namespace feedmerge::cli
