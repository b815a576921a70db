// The config file's subcommands: `check-config`, `import-opml` and `export-opml`. Errors are
// printed once, as FILE:LINE:COLUMN: MESSAGE (FILE: MESSAGE when there is no position).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "feedmerge/config/config.h"
#include "feedmerge/config/opml.h"
#include "feedmerge/daemon/daemon.h"
#include "feedmerge/fetch/read_source.h"
#include "feedmerge/store/store.h"

namespace feedmerge::cli {
namespace {

std::string count(std::size_t n, std::string_view noun) {
  return std::to_string(n) + " " + std::string(noun) + (n == 1 ? "" : "s");
}

// FILE:LINE:COLUMN: warning: MESSAGE (FILE:LINE: when the column is unknown).
void print_warning(const std::string& file, const Warning& warning) {
  std::cerr << located(file, Warning{warning.line, "warning: " + warning.message, warning.column})
            << '\n';
}

int run_check_config(const std::string& config_path) {
  const config::ConfigCheck check = config::check_config_file(config_path);
  for (const Warning& warning : check.config.warnings)
    print_warning(config_path, warning);
  if (!check.errors.empty()) {
    for (const Error& error : check.errors)
      print_error(config_path, error);
    return 1;
  }
  std::cout << config_path << ": ok (" << count(check.config.feeds.size(), "feed") << ", "
            << count(check.config.outputs.size(), "output") << ")\n";
  return 0;
}

struct ImportArgs {
  std::string opml;
  std::string config_path;
  bool append = false;
};

int run_import_opml(const ImportArgs& args) {
  auto document = fetch::read_source(args.opml);
  if (!document) {
    print_read_error(args.opml, document.error());
    return 1;
  }
  std::vector<Warning> warnings;
  auto feeds = config::parse_opml(document->bytes, &warnings);
  if (!feeds) {
    print_error(args.opml, feeds.error());
    return 1;
  }
  // The config's outputs, when it can be read, tell which categories get published. Without
  // --append a missing config is no problem: the tables are only printed.
  if (auto loaded = config::load_config(args.config_path)) {
    auto unpublished = config::unpublished_categories(*feeds, loaded->outputs);
    warnings.insert(warnings.end(), unpublished.begin(), unpublished.end());
    std::stable_sort(warnings.begin(), warnings.end(),
                     [](const Warning& a, const Warning& b) { return a.line < b.line; });
  }
  for (const Warning& warning : warnings)
    print_warning(args.opml, warning);
  if (!args.append) return print_stdout(config::feeds_to_toml(*feeds));

  auto appended = config::append_feeds_to_config(args.config_path, *feeds);
  if (!appended) {
    print_error(args.config_path, appended.error());
    return 1;
  }
  for (const config::SkippedFeed& skipped : appended->skipped_feeds) {
    // Same feed as a configured one (http/https, a trailing slash, a default port...): the
    // configured one stays as it is.
    std::string message =
        "skipped \"" + skipped.url + "\": the same feed as \"" + skipped.listed_url + "\"";
    message += skipped.in_config ? " at " + args.config_path + ":" +
                                       std::to_string(skipped.listed_line) + ", which is kept"
                                 : " on line " + std::to_string(skipped.listed_line);
    print_warning(args.opml, Warning{skipped.line, std::move(message)});
  }
  std::cout << args.config_path << ": appended " << count(appended->appended, "feed");
  if (appended->skipped > 0) std::cout << ", skipped " << appended->skipped << " already listed";
  if (!appended->backup_path.empty()) std::cout << "; the old file is " << appended->backup_path;
  std::cout << '\n';
  return 0;
}

// The feeds' own titles from the database, for feeds the config names no title for; none when
// there is no database yet (export-opml works before the first poll).
config::OpmlListing own_titles(const config::Config& config) {
  config::OpmlListing listing;
  const auto database = daemon::store_location(config);
  if (!database) return listing;
  if (!store::is_postgresql_url(*database) && !std::filesystem::exists(*database)) return listing;
  auto store = store::open_store(*database, store::OpenMode::read_only);
  if (!store) return listing;
  auto feeds = (*store)->list_feeds();
  if (!feeds) return listing;
  for (const store::FeedState& feed : *feeds)
    listing.own_titles.emplace(feed.url, feed.title);
  return listing;
}

int run_export_opml(const std::string& config_path) {
  auto loaded = config::load_config(config_path);
  if (!loaded) {
    print_error(config_path, loaded.error());
    return 1;
  }
  return print_stdout(config::config_to_opml(*loaded, own_titles(*loaded)));
}

}  // namespace

void add_config_commands(CLI::App& app, Commands& commands, ConfigOption& config) {
  CLI::App* check = app.add_subcommand(
      "check-config", "Validate the config file without running; print every problem found");
  config.add_to(check);
  check->footer(examples({"feedmerge check-config --config config/feedmerge.toml"}));
  commands.push_back({check, [&config] { return run_check_config(config.path()); }});

  auto import_args = std::make_shared<ImportArgs>();
  CLI::App* import = app.add_subcommand(
      "import-opml",
      "Print the [[feed]] tables for an OPML subscription list (nested outlines become "
      "categories), or add them to the config file with --append");
  import->add_option("FILE", import_args->opml, "An OPML file, - for standard input, or a URL")
      ->required();
  config.add_to(import, "The config file --append adds to");
  import->add_flag("--append", import_args->append,
                   "Add the feeds the config does not list yet to its end, keeping its "
                   "comments; the old file is kept as FILE.bak (or FILE.bak.N)");
  import->footer(examples({"feedmerge import-opml subscriptions.opml > feeds.toml",
                           "feedmerge import-opml subscriptions.opml --append --config "
                           "config/feedmerge.toml"}));
  commands.push_back({import, [import_args, &config] {
                        import_args->config_path = config.path();
                        return run_import_opml(*import_args);
                      }});

  CLI::App* export_opml =
      app.add_subcommand("export-opml", "Print the configured feeds as an OPML 2.0 list");
  config.add_to(export_opml);
  export_opml->footer(
      examples({"feedmerge export-opml --config config/feedmerge.toml > feeds.opml"}));
  commands.push_back({export_opml, [&config] { return run_export_opml(config.path()); }});
}

}  // namespace feedmerge::cli
