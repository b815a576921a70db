// The HTTP server (Boost.Beast): serves the publisher's snapshots, /healthz and /metrics.
// GET and HEAD only; ETag / Last-Modified with 304; gzip when accepted (compressed once per
// snapshot); keep-alive; bounded header size (431), a timeout on every read and write, and a
// connection limit, so that slow or idle clients cannot exhaust it.
// Threading: each connection runs on its own strand of the given io_context; a request reads
// one immutable Site (the `site` callback must be thread-safe) and touches no database.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

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
  // /healthz reports unhealthy when no poll has finished for this long.
  std::chrono::seconds max_poll_silence = std::chrono::hours{48};
};

class HttpServer {
 public:
  using SiteSource = std::function<std::shared_ptr<const Site>()>;

  HttpServer(boost::asio::io_context& io, ServerOptions options, SiteSource site, Metrics& metrics);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds "host:port" or "[v6]:port" (port 0: an ephemeral one) and starts accepting.
  Result<void> listen(const std::string& address);
  std::uint16_t port() const;
  // Stops accepting and closes every open connection (their handlers finish with an error).
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace feedmerge::publish
