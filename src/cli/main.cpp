// The feedmerge command line: parses arguments and calls into the core library. Each
// subcommand reports its own errors once, as SOURCE:LINE:COLUMN: error: WHAT.
#include <cstdio>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <curl/curl.h>

#include "feedmerge/fetch/read_source.h"
#include "feedmerge/parse/parse_json.h"
#include "feedmerge/parse/parser.h"

namespace {

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
  ~CurlGlobal() { curl_global_cleanup(); }
  CurlGlobal(const CurlGlobal&) = delete;
  CurlGlobal& operator=(const CurlGlobal&) = delete;
};

struct ParseArgs {
  std::string source;
  std::string base_url;
  std::string content_type;
};

int run_parse(const ParseArgs& args) {
  const std::string& name = args.source;  // "-" for standard input, as given
  auto doc = feedmerge::fetch::read_source(args.source);
  if (!doc) {
    std::cerr << name << ":0:0: error: " << doc.error().message << '\n';
    return 1;
  }
  feedmerge::parse::ParseInput input;
  input.bytes = doc->bytes;
  // An explicit --content-type stands in for the HTTP header; otherwise the real one is used.
  input.content_type = args.content_type.empty() ? std::string_view(doc->content_type)
                                                 : std::string_view(args.content_type);
  input.document_url = args.base_url.empty() ? std::string_view(doc->url)
                                             : std::string_view(args.base_url);
  auto parsed = feedmerge::parse::parse_feed(input);
  if (!parsed) {
    const auto& e = parsed.error();
    std::cerr << name << ':' << e.line << ':' << e.column << ": error: " << e.message << '\n';
    return 1;
  }
  const std::string json = feedmerge::parse::to_parse_json(*parsed);
  std::fwrite(json.data(), 1, json.size(), stdout);
  return std::fflush(stdout) == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CurlGlobal curl_global;
  CLI::App app{"feedmerge: merges tech-news feeds into one feed, one entry per story"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "feedmerge 0.1.0");

  ParseArgs parse_args;
  CLI::App* parse = app.add_subcommand(
      "parse", "Parse one feed (file, -, file:// or http(s) URL) and print what was understood as JSON");
  parse->add_option("SOURCE", parse_args.source, "A file path, - for standard input, or a URL")
      ->required();
  parse->add_option("--base-url", parse_args.base_url,
                    "The document's own URL, for resolving relative links");
  parse->add_option("--content-type", parse_args.content_type,
                    "Plays the part of an HTTP Content-Type header (its charset counts)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (parse->parsed()) return run_parse(parse_args);
  return 0;
}
