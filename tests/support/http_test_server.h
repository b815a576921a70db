// A local HTTP/1.1 server for the fetcher tests: Boost.Beast on 127.0.0.1 and an ephemeral
// port, on its own thread and io_context, with one route per case the fetcher must handle
// (listed in http_test_server.cpp). Tests read what it saw (requests per path, peaks of
// requests in flight per Host) and can hold responses until they open a gate.
// Every public member may be called from any thread. Beast stays in the .cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace feedmerge::test {

struct RecordedRequest {
  std::string target;  // as sent: origin-form, or absolute-form when it came through a proxy
  std::string host;    // the Host header without its port, lowercased
  std::vector<std::pair<std::string, std::string>> headers;

  // The value of the first header named `name` (case-insensitive); "" when there is none.
  std::string header(std::string_view name) const;
};

class HttpTestServer {
 public:
  // The ETag and Last-Modified that /feed.xml and /lm.xml send and compare against.
  static constexpr std::string_view kEtag = "\"feed-v1\"";
  static constexpr std::string_view kLastModified = "Tue, 22 Sep 2020 14:05:00 GMT";
  static constexpr std::size_t kBombBytes = 100u << 20;  // what /bomb.xml decompresses to
  static constexpr std::size_t kBigBytes = 2u << 20;     // the size of /big.xml
  static constexpr std::chrono::seconds kSlowDelay{2};   // how long /slow.xml takes to answer

  HttpTestServer();  // listening when it returns
  ~HttpTestServer();
  HttpTestServer(const HttpTestServer&) = delete;
  HttpTestServer& operator=(const HttpTestServer&) = delete;

  std::uint16_t port() const;
  std::string url(std::string_view path) const;  // "http://127.0.0.1:PORT/path"
  // "http://HOST:PORT/path": pair it with resolve_entry(HOST) in FetchOptions::resolve.
  std::string url(std::string_view host, std::string_view path) const;
  std::string resolve_entry(std::string_view host) const;  // "HOST:PORT:127.0.0.1"

  // Requests received for `path` (the target's path, without query, also for absolute-form).
  int count(std::string_view path) const;
  std::vector<RecordedRequest> requests(std::string_view path) const;

  // Requests to /hold/... wait for open_gate(); once it is open, later ones pass straight away.
  int held() const;
  // Block until the condition holds (true) or `timeout` passes (false): tests await the
  // server's state instead of sleeping, and a broken program fails instead of hanging.
  bool wait_for_count(std::string_view path, int n,
                      std::chrono::seconds timeout = std::chrono::seconds{60}) const;
  bool wait_for_held(int n, std::chrono::seconds timeout = std::chrono::seconds{60}) const;
  void open_gate();

  // The most requests that were being answered at once for one Host, or for all hosts. A
  // request counts from when it has been read until its response starts to be written.
  int max_in_flight(std::string_view host) const;
  int max_in_flight() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace feedmerge::test
