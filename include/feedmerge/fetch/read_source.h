// Reads one document for the command line (`feedmerge parse SOURCE`): a file path, "-" for
// standard input, a file:// URL, or an http(s) URL fetched once with libcurl. Blocking: for
// the CLI and tools only; the daemon fetches through the asynchronous fetcher.
#pragma once

#include <string>
#include <string_view>

#include "feedmerge/error.h"

namespace feedmerge::fetch {

struct SourceDocument {
  std::string bytes;
  std::string content_type;  // the HTTP Content-Type header; "" for files
  std::string url;           // the final http(s) URL after redirects; "" for files
};

struct ReadOptions {
  std::size_t max_bytes = 64u << 20;  // counted on decompressed bytes
  long timeout_seconds = 60;
};

Result<SourceDocument> read_source(std::string_view source, const ReadOptions& options = {});

}  // namespace feedmerge::fetch
