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

// Default member initialisers let callers write {.url = u, .etag = e} without warnings.
struct FetchRequest {
  std::string url{};
  std::string etag{};           // the stored ETag, sent back verbatim as If-None-Match
  std::string last_modified{};  // the stored Last-Modified, sent back verbatim as If-Modified-Since
  std::vector<std::pair<std::string, std::string>> headers{};  // extra request headers
  std::string username{};                                      // Basic auth
  std::string password{};
  // The URL `headers`, `username` and `password` were configured for ("" = `url`): they go
  // only to its origin (scheme, host and port), on any hop; every other origin gets none of
  // them, which keeps them off a permanent redirect the daemon adopted to another origin.
  std::string credentials_url{};
  // The URL is the one the config names (or a permanent redirect to the same host that the
  // daemon adopted), not a redirect target met on the way: its first hop may connect to a
  // loopback or private address.
  bool config_named = false;
};

enum class FetchOutcome {
  ok,               // 2xx: body holds the decompressed document
  not_modified,     // 304: nothing to parse
  http_error,       // any other final status; see status, retry_after
  too_large,        // the decompressed body passed max_body
  network_error,    // DNS, connect, TLS, reset, timeout, low speed; error holds curl's message
  bad_redirect,     // too many redirects, or a Location that is not http(s)
  bad_url,          // the request URL is not an http(s) URL with a host
  refused_address,  // the address guard refused the address a hop would connect to
  cancelled,        // cancel_all() or the fetcher's destruction
};

const char* to_string(FetchOutcome outcome);

// What kind of network_error, for the daemon to tell "no network at all" from one bad host.
enum class NetworkFailure {
  none,     // not a network_error
  resolve,  // the host name (or the proxy's) did not resolve
  connect,  // no connection: refused, unreachable
  timeout,  // a connect or transfer timeout, or the low-speed limit
  tls,      // the TLS handshake or the certificate check failed
  other,    // reset, malformed response, ...
};

struct FetchResult {
  FetchOutcome outcome = FetchOutcome::network_error;
  long status = 0;   // the final response's HTTP status; 0 when none arrived
  std::string body;  // outcome ok only
  std::string content_type, etag, last_modified;    // of the final response; for a 304 without
                                                    // validators, the request's are echoed
  std::string final_url;                            // the URL of the last request made
  std::optional<std::chrono::seconds> retry_after;  // Retry-After, against the response's Date
  std::optional<std::chrono::seconds> max_age;      // Cache-Control: max-age
  // Set when the *first* hop was a 301 or 308 to an http(s) URL: that hop's target, however the
  // chain ended. The daemon decides whether a move has held for long enough to adopt it.
  std::string permanent_redirect;
  int redirects = 0;  // hops followed
  // A redirect hop connected to a loopback or private address, allowed only because the chain
  // began at one (a config-named local feed): the daemon does not adopt such a chain's
  // redirect to another host, since an adopted URL gets no such allowance.
  bool local_by_redirect = false;
  std::string error;  // curl's message, "HTTP 500", ...; empty for ok and not_modified
  NetworkFailure network_failure = NetworkFailure::none;  // network_error only
  std::chrono::milliseconds elapsed{0};  // from the first byte sent to completion, queue excluded
};

// Whether two http(s) URLs have the same scheme, host and port (curl's reading of them);
// false when either is not such a URL.
bool same_origin(const std::string& a, const std::string& b);
// The host of an http(s) URL as the politeness queue keys it (lowercase); "" when none.
std::string politeness_host(const std::string& url);

class HttpFetcher {
 public:
  HttpFetcher(boost::asio::io_context& io, FetchOptions options);
  // Completes every queued and running request with `cancelled`, synchronously. Call it on the
  // fetcher's strand (e.g. from a completion) or while no thread runs the io_context.
  ~HttpFetcher();

  HttpFetcher(const HttpFetcher&) = delete;
  HttpFetcher& operator=(const HttpFetcher&) = delete;

  // Queues a request. `done` runs exactly once, on the fetcher's strand, as a handler of its
  // own (never inside fetch()), also when the request is cancelled.
  void fetch(FetchRequest request, std::function<void(FetchResult)> done);

  // SIGTERM: aborts every queued and running transfer; each completion gets `cancelled`. The
  // fetcher stays usable.
  void cancel_all();

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace feedmerge::fetch
