#include "feedmerge/fetch/read_source.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>

#include <curl/curl.h>

#include <boost/url/parse.hpp>

namespace feedmerge::fetch {
namespace {

struct CurlEasyDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
using CurlEasy = std::unique_ptr<CURL, CurlEasyDeleter>;

struct Body {
  std::string bytes;
  std::size_t max = 0;
  bool too_large = false;
};

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* body = static_cast<Body*>(user);
  const std::size_t len = size * n;
  if (body->bytes.size() + len > body->max) {
    body->too_large = true;
    return 0;  // makes curl abort the transfer with CURLE_WRITE_ERROR
  }
  body->bytes.append(data, len);
  return len;
}

Result<SourceDocument> read_file(const std::string& path, const ReadOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{ErrorKind::io, path + ": " + std::strerror(errno)};
  SourceDocument doc;
  doc.bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) return Error{ErrorKind::io, path + ": read error"};
  if (doc.bytes.size() > options.max_bytes)
    return Error{ErrorKind::io,
                 path + ": larger than " + std::to_string(options.max_bytes) + " bytes"};
  return doc;
}

Result<SourceDocument> read_stdin(const ReadOptions& options) {
  SourceDocument doc;
  doc.bytes.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  if (doc.bytes.size() > options.max_bytes)
    return Error{ErrorKind::io,
                 "standard input is larger than " + std::to_string(options.max_bytes) + " bytes"};
  return doc;
}

Result<SourceDocument> read_http(const std::string& url, const ReadOptions& options) {
  CurlEasy curl(curl_easy_init());
  if (!curl) return Error{ErrorKind::network, url + ": cannot initialise libcurl"};
  Body body;
  body.max = options.max_bytes;
  char error[CURL_ERROR_SIZE] = {};
  CURL* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");  // every encoding this libcurl decodes
  curl_easy_setopt(h, CURLOPT_TIMEOUT, options.timeout_seconds);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 20L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "feedmerge/0.1 (+parse)");
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
  CURLcode rc = curl_easy_perform(h);
  if (body.too_large)
    return Error{ErrorKind::io,
                 url + ": body larger than " + std::to_string(options.max_bytes) + " bytes"};
  if (rc != CURLE_OK) {
    return Error{ErrorKind::network, url + ": " + (error[0] ? error : curl_easy_strerror(rc))};
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status >= 300)
    return Error{ErrorKind::http, url + ": HTTP status " + std::to_string(status)};
  SourceDocument doc;
  doc.bytes = std::move(body.bytes);
  char* type = nullptr;
  if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &type) == CURLE_OK && type)
    doc.content_type = type;
  char* effective = nullptr;
  if (curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &effective) == CURLE_OK && effective)
    doc.url = effective;
  else
    doc.url = url;
  return doc;
}

// file:///path -> /path, with percent-decoding.
Result<std::string> file_url_path(std::string_view source) {
  auto u = boost::urls::parse_uri(source);
  if (!u) return Error{ErrorKind::io, std::string(source) + ": not a valid file URL"};
  if (!u->encoded_host().empty() && u->encoded_host() != "localhost")
    return Error{ErrorKind::io, std::string(source) + ": file URLs must name a local path"};
  return std::string(u->path());
}

}  // namespace

Result<SourceDocument> read_source(std::string_view source, const ReadOptions& options) {
  if (source == "-") return read_stdin(options);
  if (source.starts_with("http://") || source.starts_with("https://"))
    return read_http(std::string(source), options);
  if (source.starts_with("file:")) {
    auto path = file_url_path(source);
    if (!path) return path.error();
    return read_file(*path, options);
  }
  return read_file(std::string(source), options);
}

}  // namespace feedmerge::fetch
