// `feedmerge render [--config FILE] PATH`: prints what the server would send for PATH (an
// [[output]] path, /sources.opml or /) from the database, without the daemon.
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "feedmerge/config/config.h"
#include "feedmerge/daemon/daemon.h"
#include "feedmerge/publish/settings.h"
#include "feedmerge/publish/site.h"
#include "feedmerge/publish/site_reader.h"

namespace feedmerge::cli {
namespace {

struct RenderArgs {
  std::string config_path;
  std::string path;
};

int run_render(const RenderArgs& args) {
  auto loaded = config::load_config(args.config_path);
  if (!loaded) {
    print_error(args.config_path, loaded.error());
    return 1;
  }
  // The publisher's path: query the store, then render from the values alone.
  auto location = daemon::store_location(*loaded);
  auto reader = location ? publish::SiteReader::open(*location)
                         : Result<std::unique_ptr<publish::SiteReader>>(location.error());
  if (!reader) {
    std::cerr << reader.error().message << '\n';
    return 1;
  }
  auto values = (*reader)->read(*loaded);
  if (!values) {
    std::cerr << values.error().message << '\n';
    return 1;
  }
  auto files =
      publish::render_site(publish::site_settings(*loaded), values->stories, values->feeds);
  if (!files) {
    std::cerr << files.error().message << '\n';
    return 1;
  }
  std::string known;
  for (const publish::RenderedFile& file : *files) {
    if (file.path == args.path) {
      return print_stdout(file.body);
    }
    known += (known.empty() ? "" : ", ") + file.path;
  }
  std::cerr << args.config_path << ": no output at " << args.path << " (configured: " << known
            << ")\n";
  return 1;
}

}  // namespace

void add_publish_command(CLI::App& app, Commands& commands, ConfigOption& config) {
  auto args = std::make_shared<RenderArgs>();
  CLI::App* render = app.add_subcommand(
      "render", "Print the output configured at PATH (e.g. /feed.xml, /sources.opml, /)");
  config.add_to(render);
  render->add_option("PATH", args->path, "The output's URL path")->required();
  render->footer(examples({"feedmerge render --config config/demo.toml /feed.xml"}));
  commands.push_back({render, [args, &config] {
                        args->config_path = config.path();
                        return run_render(*args);
                      }});
}

}  // namespace feedmerge::cli
