// The HTTP server (Boost.Beast): serves the publisher's snapshots, /healthz and /metrics.
// GET and HEAD only; ETag / Last-Modified with 304; gzip when accepted (compressed once per
// snapshot); keep-alive; bounded header size (431), a timeout on every read and write, and a
// connection limit, so that slow or idle clients cannot exhaust it.
// Threading: the server runs its own io_contexts, one per thread, each with its connections
// (so connections never contend for one scheduler, and polling never delays serving); a
// request reads one immutable Site (the `site` callback must be thread-safe) and touches no
// database.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "feedmerge/error.h"
#include "feedmerge/publish/metrics.h"
#include "feedmerge/publish/snapshot.h"

namespace feedmerge::publish {

struct ServerOptions {
  std::size_t max_header_bytes = 8 * 1024;
  // The whole of one request (headers included) must arrive within this; also the keep-alive
  // idle limit and the limit for writing one response.
  std::chrono::milliseconds request_timeout = std::chrono::seconds{15};
  std::size_t max_connections = 512;
  int threads = 0;  // 0 = the number of cores
  // /healthz reports unhealthy when no poll has finished for this long.
  std::chrono::seconds max_poll_silence = std::chrono::hours{48};
  // /healthz reports the writer stuck when one of its tasks runs longer than this.
  std::chrono::milliseconds writer_stuck_after = Metrics::kWriterStuckAfter;
};

class HttpServer {
 public:
  using SiteSource = std::function<std::shared_ptr<const Site>()>;

  HttpServer(ServerOptions options, SiteSource site, Metrics& metrics);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds "host:port" or "[v6]:port" (port 0: an ephemeral one), starts the threads and
  // accepts. Call once.
  Result<void> listen(const std::string& address);
  std::uint16_t port() const;
  // Stops accepting and closes every open connection; does not block (any thread may call it).
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace feedmerge::publish
