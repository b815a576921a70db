// The fetch seam: what a poll asks for (FetchRequest), what comes back (FetchResult) and the
// Fetcher that does it. The daemon's is the libcurl HttpFetcher (src/fetch/http_fetcher.h);
// tests script one (tests/support/fake_fetcher.h). Threading: fetch() and cancel_all() may be
// called from any thread; each completion runs as a handler of its own on the io_context the
// fetcher was made with, never inside fetch().
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace feedmerge::fetch {

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

// Whether two http(s) URLs have the same scheme, host and port (curl's reading of them);
// false when either is not such a URL.
bool same_origin(const std::string& a, const std::string& b);
// The host of an http(s) URL as the politeness queue keys it (lowercase); "" when none.
std::string politeness_host(const std::string& url);

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

class Fetcher {
 public:
  virtual ~Fetcher() = default;
  // Queues a request. `done` runs exactly once, as a handler of its own (never inside
  // fetch()), also when the request is cancelled.
  virtual void fetch(FetchRequest request, std::function<void(FetchResult)> done) = 0;
  // SIGTERM: every queued and running request completes with `cancelled`; the fetcher stays
  // usable.
  virtual void cancel_all() = 0;
};

}  // namespace feedmerge::fetch
