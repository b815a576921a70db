// `migrate-store`: copies a SQLite installation into PostgreSQL (feedmerge/store/migrate.h).
#include <iostream>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "feedmerge/store/migrate.h"
#include "feedmerge/store/store.h"

namespace feedmerge::cli {
namespace {

struct MigrateArgs {
  std::string from;
  std::string to;
};

int run_migrate(const MigrateArgs& args) {
  std::string source = args.from;
  if (source.starts_with("sqlite:")) source.erase(0, 7);
  auto copied = store::copy_sqlite_to_postgresql(source, args.to);
  if (!copied) {
    std::cerr << "error: " << copied.error().message << '\n';
    return kExitFailure;
  }
  const store::CopyCounts& n = *copied;
  return print_stdout("copied " + std::to_string(n.feeds) + " feeds, " + std::to_string(n.items) +
                      " items, " + std::to_string(n.tombstones) + " tombstones, " +
                      std::to_string(n.stories) + " stories, " + std::to_string(n.memberships) +
                      " memberships and " + std::to_string(n.overrides) +
                      " overrides; the next story id is " + std::to_string(n.next_story_id) +
                      "\nnow set [storage] backend = \"postgresql\" and its url in the config\n");
}

}  // namespace

void add_store_commands(CLI::App& app, Commands& commands) {
  auto args = std::make_shared<MigrateArgs>();
  CLI::App* migrate = app.add_subcommand(
      "migrate-store",
      "Copy a SQLite database (feeds with their polling state, items, stories and their ids) "
      "into an empty PostgreSQL database; stop the daemon first");
  migrate->add_option("--from", args->from, "The SQLite database: sqlite:PATH")
      ->required()
      ->check(CLI::Validator(
          [](std::string& text) {
            return text.starts_with("sqlite:") && text.size() > 7
                       ? std::string()
                       : "expected sqlite:PATH, got \"" + text + "\"";
          },
          "sqlite:PATH"));
  migrate->add_option("--to", args->to, "The PostgreSQL database: postgresql://...")
      ->required()
      ->check(CLI::Validator(
          [](std::string& text) {
            return store::is_postgresql_url(text)
                       ? std::string()
                       : "expected a postgresql:// URL, got \"" + text + "\"";
          },
          "postgresql://..."));
  migrate->footer(
      examples({"feedmerge migrate-store --from sqlite:/var/lib/feedmerge/feedmerge.db "
                "--to postgresql://feedmerge@db.example.org/feedmerge"}));
  commands.push_back({migrate, [args] { return run_migrate(*args); }});
}

}  // namespace feedmerge::cli
