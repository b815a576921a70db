// `feedmerge parse SOURCE`: prints what the parser understood, as docs/spec/parse-json.md.
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "feedmerge/fetch/read_source.h"
#include "feedmerge/parse/parse_json.h"
#include "feedmerge/parse/parser.h"

namespace feedmerge::cli {
namespace {

struct ParseArgs {
  std::string source;
  std::string base_url;
  std::string content_type;
};

int run_parse(const ParseArgs& args) {
  const std::string& name = args.source;  // "-" for standard input, as given
  auto doc = fetch::read_source(args.source);
  if (!doc) {
    print_read_error(name, doc.error());
    return 1;
  }
  parse::ParseInput input;
  input.bytes = doc->bytes;
  // An explicit --content-type stands in for the HTTP header; otherwise the real one is used.
  input.content_type = args.content_type.empty() ? std::string_view(doc->content_type)
                                                 : std::string_view(args.content_type);
  input.document_url =
      args.base_url.empty() ? std::string_view(doc->url) : std::string_view(args.base_url);
  auto parsed = parse::parse_feed(input);
  if (!parsed) {
    const auto& e = parsed.error();
    std::cerr << name;
    if (e.line > 0) std::cerr << ':' << e.line << ':' << e.column;
    std::cerr << ": error: " << e.message << '\n';
    return 1;
  }
  return print_stdout(parse::to_parse_json(*parsed));
}

}  // namespace

void add_parse_command(CLI::App& app, Commands& commands) {
  auto args = std::make_shared<ParseArgs>();
  CLI::App* parse = app.add_subcommand(
      "parse",
      "Parse one feed (file, -, file:// or http(s) URL) and print what was understood as JSON");
  parse->add_option("SOURCE", args->source, "A file path, - for standard input, or a URL")
      ->required();
  parse->add_option("--base-url", args->base_url,
                    "The document's own URL, for resolving relative links");
  parse->add_option("--content-type", args->content_type,
                    "Plays the part of an HTTP Content-Type header (its charset counts)");
  parse->footer(examples({"feedmerge parse https://lwn.net/headlines/rss",
                          "feedmerge parse saved.xml --base-url https://example.com/"}));
  commands.push_back({parse, [args] { return run_parse(*args); }});
}

}  // namespace feedmerge::cli
