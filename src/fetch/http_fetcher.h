// The daemon's HTTP client: conditional GETs of feed URLs through libcurl's multi *socket*
// interface driven by Boost.Asio (curl's sockets watched by Asio, curl's timer on an Asio
// timer), with a politeness queue (global and per-host limits), a decompressed body cap and
// redirects followed by hand so each hop can be checked. Owned by the daemon.
// Threading: every piece of curl state and the queue live on one strand of the io_context;
// fetch() and cancel_all() may be called from any thread; completions run on that strand.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "feedmerge/fetch/address_guard.h"
#include "feedmerge/fetch/fetcher.h"

namespace feedmerge::fetch {

struct FetchOptions {
  std::chrono::seconds timeout{30};  // whole transfer, every redirect hop included
  std::chrono::seconds connect_timeout{10};
  std::uint64_t max_body = 10u << 20;       // counted on decompressed bytes
  long low_speed_bytes = 1;                 // abort when slower than this many bytes per second ...
  std::chrono::seconds low_speed_time{30};  // ... for this long
  std::string user_agent = "feedmerge/0.1";
  std::string proxy;  // "" = libcurl's default: the http_proxy/https_proxy/no_proxy variables
  int max_redirects = 5;
  int concurrency = 32;              // transfers in flight at once
  int per_host = 2;                  // transfers in flight at once to one host name
  std::vector<std::string> resolve;  // CURLOPT_RESOLVE entries, "host:port:127.0.0.2" (tests)
  std::string ca_file;               // "" = the system's CA bundle
  // The address guard ([poll].allow_private_networks): unless this is set, a connection to a
  // loopback or private address is refused, except for the first hop of a config-named URL
  // and for redirects of a chain that started at such an address. Cloud-metadata and
  // link-local addresses are refused always, this flag and a proxy notwithstanding. Checked on
  // the address curl actually connects to (CURLOPT_OPENSOCKETFUNCTION, CURLOPT_PREREQFUNCTION),
  // so neither a redirect nor a DNS answer can get around it. With a proxy that address is the
  // proxy's: then only a URL that names a metadata or link-local address (or a well-known
  // metadata host name) is refused, before anything is sent.
  bool allow_private_networks = false;
  // Tests replace the classifier: they have nothing but loopback to connect to.
  std::function<AddressClass(const sockaddr*)> classify_address;  // empty = classify_address
};

// The libcurl Fetcher (the daemon's; tests use tests/support/fake_fetcher.h).
class HttpFetcher final : public Fetcher {
 public:
  HttpFetcher(boost::asio::io_context& io, FetchOptions options);
  // Completes every queued and running request with `cancelled`, synchronously. Call it on the
  // fetcher's strand (e.g. from a completion) or while no thread runs the io_context.
  ~HttpFetcher() override;

  HttpFetcher(const HttpFetcher&) = delete;
  HttpFetcher& operator=(const HttpFetcher&) = delete;

  // Queues a request. `done` runs exactly once, on the fetcher's strand, as a handler of its
  // own (never inside fetch()), also when the request is cancelled.
  void fetch(FetchRequest request, std::function<void(FetchResult)> done) override;

  // SIGTERM: aborts every queued and running transfer; each completion gets `cancelled`. The
  // fetcher stays usable.
  void cancel_all() override;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace feedmerge::fetch
