#include "fetch/http_fetcher.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <map>
#include <set>
#include <string_view>
#include <unordered_map>

#include <curl/curl.h>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "feedmerge/normalize/date.h"
#include "fetch/curl_handles.h"
#include "fetch/http_headers.h"

namespace feedmerge::fetch {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using Strand = asio::strand<asio::io_context::executor_type>;

const char* to_string(FetchOutcome outcome) {
  switch (outcome) {
    case FetchOutcome::ok:
      return "ok";
    case FetchOutcome::not_modified:
      return "not_modified";
    case FetchOutcome::http_error:
      return "http_error";
    case FetchOutcome::too_large:
      return "too_large";
    case FetchOutcome::network_error:
      return "network_error";
    case FetchOutcome::bad_redirect:
      return "bad_redirect";
    case FetchOutcome::bad_url:
      return "bad_url";
    case FetchOutcome::refused_address:
      return "refused_address";
    case FetchOutcome::cancelled:
      return "cancelled";
  }
  return "unknown";
}

namespace {

NetworkFailure network_failure(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return NetworkFailure::resolve;
    case CURLE_COULDNT_CONNECT:
      return NetworkFailure::connect;
    case CURLE_OPERATION_TIMEDOUT:
      return NetworkFailure::timeout;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
      return NetworkFailure::tls;
    default:
      return NetworkFailure::other;
  }
}

// Feed types first, anything else last: some servers pick a representation by Accept.
constexpr const char* kAccept =
    "Accept: application/rss+xml, application/atom+xml, application/feed+json, "
    "application/json;q=0.9, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8";

std::string ascii_lower(std::string text) {
  for (char& c : text)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return text;
}

// Scheme, host and port of an http(s) URL, read with libcurl's own URL parser so that what we
// check is what curl will connect to. The host is the politeness key; all three decide
// whether credentials may go along.
struct Origin {
  std::string scheme, host, port;
  bool operator==(const Origin&) const = default;
};

std::optional<Origin> origin_of(const std::string& url) {
  CurlUrl parsed(curl_url());
  if (!parsed || curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK)
    return std::nullopt;
  auto part = [&](CURLUPart which, unsigned flags) -> std::optional<std::string> {
    char* raw = nullptr;
    if (curl_url_get(parsed.get(), which, &raw, flags) != CURLUE_OK || raw == nullptr)
      return std::nullopt;
    CurlString owned(raw);
    return ascii_lower(owned.get());
  };
  Origin origin;
  auto scheme = part(CURLUPART_SCHEME, 0);
  auto host = part(CURLUPART_HOST, 0);
  auto port = part(CURLUPART_PORT, CURLU_DEFAULT_PORT);
  if (!scheme || !host || !port || host->empty()) return std::nullopt;
  if (*scheme != "http" && *scheme != "https") return std::nullopt;
  return Origin{std::move(*scheme), std::move(*host), std::move(*port)};
}

// No feed has a reason to be read from these, whatever the config says: a cloud's metadata
// service hands out credentials, and link-local addresses are where such services live.
bool always_refused(AddressClass kind) {
  return kind == AddressClass::cloud_metadata || kind == AddressClass::link_local;
}

// The address class of a URL host written as an address ("169.254.169.254", "[fd00:ec2::254]",
// and the legacy forms inet_aton reads: "2852039166", "0xa9fea9fe"); nullopt for a name.
std::optional<AddressClass> literal_host_class(std::string_view host) {
  sockaddr_storage storage{};
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.find(']') - 1);
  const std::string text(host.substr(0, host.find('%')));  // without an IPv6 zone
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
  } else if (inet_aton(text.c_str(), &v4->sin_addr) != 0) {
    v4->sin_family = AF_INET;
  } else {
    return std::nullopt;
  }
  return classify_address(reinterpret_cast<const sockaddr*>(&storage));
}

// Refused before anything is sent, through a proxy too (which would resolve and connect on our
// behalf, out of the address guard's sight): a URL naming a metadata or link-local address, or
// a cloud's metadata host name. Returns what was refused; "" when the host may be tried.
std::string forbidden_host(const Origin& origin) {
  std::string_view host = origin.host;
  while (!host.empty() && host.back() == '.')
    host.remove_suffix(1);
  static constexpr std::string_view kMetadataNames[] = {
      "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal"};
  for (std::string_view name : kMetadataNames)
    if (host == name) return std::string(host) + " (cloud metadata)";
  if (const auto kind = literal_host_class(host); kind && always_refused(*kind))
    return std::string(host) + " (" + to_string(*kind) + ")";
  return {};
}

bool is_redirect(long status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

bool has_line_break(std::string_view text) {
  return text.find_first_of("\r\n") != std::string_view::npos;
}

// One request from fetch() to its completion, across every redirect hop. Owned by the queue
// while it waits and by the running map while curl works on it.
struct Transfer {
  FetchRequest request;
  std::function<void(FetchResult)> done;
  std::uint64_t seq = 0;  // submission order: the queue serves the oldest eligible first
  std::string url;        // of the current hop
  Origin origin;          // of the current hop
  // Of request.credentials_url (else request.url): the only origin that gets the request's
  // headers and credentials. nullopt: none gets them.
  std::optional<Origin> credential_origin;
  bool holds_slot = false;

  CurlEasy easy;
  CurlSlist headers;
  char error[CURL_ERROR_SIZE] = {};
  ResponseHeaders response;
  std::string body;
  std::uint64_t max_body = 0;
  bool too_large = false;

  int redirects = 0;
  std::string permanent_redirect;
  // The address guard's state: the chain began at a local address of a config-named URL, so
  // its redirects may stay local; or the guard refused this address ("" = nothing refused).
  bool started_local = false;
  bool local_by_redirect = false;  // a redirect hop used that allowance
  std::string refused;
  bool refused_always = false;  // what was refused is never allowed (metadata, link-local)
  const FetchOptions* options = nullptr;
  Clock::duration spent{};  // in transfers, all hops so far
  Clock::time_point hop_started;
};

constexpr std::uint64_t kMaxReserve = 8u << 20;

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::size_t length = size * count;
  // curl hands over decoded bytes, so this caps what a gzip bomb can make us hold.
  if (transfer->body.size() + length > transfer->max_body) {
    transfer->too_large = true;
    return CURL_WRITEFUNC_ERROR;
  }
  // Sized once by the announced length (encoded, so a floor when compressed), rather than
  // grown 16 KB at a time: growing copies a body about once more, into fresh pages each time.
  // A lying header costs at most kMaxReserve of address space, never more than the cap.
  if (transfer->body.empty()) {
    curl_off_t announced = -1;
    if (curl_easy_getinfo(transfer->easy.get(), CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &announced) ==
            CURLE_OK &&
        announced > 0) {
      transfer->body.reserve(static_cast<std::size_t>(
          std::min({static_cast<std::uint64_t>(announced), transfer->max_body, kMaxReserve})));
    }
  }
  transfer->body.append(data, length);
  return length;
}

// The address guard (FetchOptions::allow_private_networks): may this hop use `address`?
// Called twice per hop, so it gives the same answer for the same address.
bool guard_allows(Transfer& transfer, const sockaddr* address) {
  const FetchOptions& options = *transfer.options;
  const AddressClass kind =
      options.classify_address ? options.classify_address(address) : classify_address(address);
  auto refuse = [&] {
    transfer.refused = address_text(address) + " (" + to_string(kind) + ")";
    transfer.refused_always = always_refused(kind);
    return false;
  };
  if (always_refused(kind)) return refuse();
  if (options.allow_private_networks || !options.proxy.empty()) return true;
  const bool first_hop = transfer.redirects == 0;
  if (kind == AddressClass::public_address) {
    if (first_hop) transfer.started_local = false;
    return true;
  }
  if (first_hop && transfer.request.config_named) {
    transfer.started_local = true;
    return true;
  }
  if (transfer.started_local) {
    transfer.local_by_redirect = true;
    return true;
  }
  return refuse();
}

// Before a new connection: after DNS, for every hop, so what is checked is what is used, and
// a refused address is never even connected to.
curl_socket_t on_open_socket(void* user, curlsocktype purpose, curl_sockaddr* address) {
  auto* transfer = static_cast<Transfer*>(user);
  if (purpose == CURLSOCKTYPE_IPCXN && !guard_allows(*transfer, &address->addr))
    return CURL_SOCKET_BAD;
  return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

// Before each request is sent, also on a reused connection, which never passes through
// on_open_socket: a redirect must not ride a kept-alive connection to a local feed's host.
int on_prerequest(void* user, char* primary_ip, char*, int primary_port, int) {
  auto* transfer = static_cast<Transfer*>(user);
  sockaddr_storage storage{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
  // The port too, so that an injected classifier sees what on_open_socket saw.
  const auto port = htons(static_cast<std::uint16_t>(primary_port));
  if (inet_pton(AF_INET, primary_ip, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = port;
  } else if (inet_pton(AF_INET6, primary_ip, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = port;
  }  // else: a Unix socket or unknown: judged as special-purpose below, unless allowed
  return guard_allows(*transfer, reinterpret_cast<const sockaddr*>(&storage))
             ? CURL_PREREQFUNC_OK
             : CURL_PREREQFUNC_ABORT;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  transfer->response.add_line(std::string_view(data, size * count));
  return size * count;
}

// Asio's view of one of curl's sockets. curl keeps owning the descriptor: it is only watched
// here and released (never closed) when curl says CURL_POLL_REMOVE, which curl does before it
// closes a socket. That covers sockets that never pass through CURLOPT_OPENSOCKETFUNCTION too
// (the threaded resolver's socketpair), and leaves cached connections entirely to curl.
struct Watcher {
  Watcher(const Strand& strand, curl_socket_t socket) : descriptor(strand), fd(socket) {}

  asio::posix::stream_descriptor descriptor;
  curl_socket_t fd;
  int wanted = 0;        // CURL_POLL_IN / OUT / INOUT
  bool reading = false;  // an async_wait(wait_read) is pending
  bool writing = false;  // an async_wait(wait_write) is pending
  bool kicked = false;   // a readiness re-check is posted
  bool removed = false;  // curl is done with this socket; late handlers ignore it
};

}  // namespace

class HttpFetcher::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(asio::io_context& io, FetchOptions options)
      : strand_(asio::make_strand(io)), options_(std::move(options)), timer_(strand_) {
    options_.concurrency = std::max(1, options_.concurrency);
    options_.per_host = std::max(1, options_.per_host);
    options_.max_redirects = std::max(0, options_.max_redirects);
    for (const std::string& entry : options_.resolve)
      append(resolve_, entry.c_str());
  }

  // Separate from the constructor: the callbacks take weak_from_this(), which needs the
  // owning shared_ptr to exist.
  void init() {
    multi_.reset(curl_multi_init());
    if (!multi_) return;  // every transfer will then fail with a network error
    curl_multi_setopt(multi_.get(), CURLMOPT_SOCKETFUNCTION, &Impl::on_socket);
    curl_multi_setopt(multi_.get(), CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_.get(), CURLMOPT_TIMERFUNCTION, &Impl::on_timer);
    curl_multi_setopt(multi_.get(), CURLMOPT_TIMERDATA, this);
  }

  const Strand& strand() const { return strand_; }

  // --- entry points, each on the strand -------------------------------------------------------

  void submit(std::unique_ptr<Transfer> transfer) {
    if (shut_down_) {
      complete(std::move(transfer), FetchOutcome::cancelled, 0, "fetcher shut down");
      return;
    }
    auto origin = origin_of(transfer->request.url);
    if (!origin) {
      // Built first: the argument list moves `transfer` away in an unspecified order.
      std::string message = "not an http(s) URL with a host: " + transfer->request.url;
      complete(std::move(transfer), FetchOutcome::bad_url, 0, std::move(message));
      return;
    }
    transfer->seq = next_seq_++;
    transfer->url = transfer->request.url;
    transfer->origin = *origin;
    transfer->credential_origin = transfer->request.credentials_url.empty()
                                      ? origin
                                      : origin_of(transfer->request.credentials_url);
    transfer->max_body = options_.max_body;
    if (std::string refused = forbidden_host(*origin); !refused.empty()) {
      refuse_host(std::move(transfer), std::move(refused));
      return;
    }
    enqueue(std::move(transfer));
    pump();
  }

  void cancel_all() {
    for (auto& [name, host] : hosts_) {
      for (auto& [seq, transfer] : host.waiting)
        complete(std::move(transfer), FetchOutcome::cancelled, 0, "cancelled");
    }
    hosts_.clear();
    ready_.clear();
    auto running = std::move(running_);
    running_.clear();
    for (auto& [easy, transfer] : running) {
      curl_multi_remove_handle(multi_.get(), easy);
      transfer->spent += Clock::now() - transfer->hop_started;
      transfer->holds_slot = false;  // the host table is gone already
      complete(std::move(transfer), FetchOutcome::cancelled, 0, "cancelled");
    }
  }

  // For the destructor: nothing may run on our behalf afterwards, so completions are called
  // here rather than posted.
  void shutdown() {
    shut_down_ = true;
    deliver_inline_ = true;
    cancel_all();
    timer_.cancel();
    multi_.reset();  // closes curl's connections; its CURL_POLL_REMOVE calls still land here
    for (auto& [fd, watcher] : watchers_)
      forget(*watcher);
    watchers_.clear();
  }

 private:
  struct Host {
    int active = 0;
    std::map<std::uint64_t, std::unique_ptr<Transfer>> waiting;  // by seq
    std::optional<std::uint64_t> ready_seq;                      // its key in ready_, if any
  };

  // --- the politeness queue ---------------------------------------------------------------------

  void enqueue(std::unique_ptr<Transfer> transfer) {
    const std::string name = transfer->origin.host;
    Host& host = hosts_[name];
    const std::uint64_t seq = transfer->seq;
    host.waiting.emplace(seq, std::move(transfer));
    refresh_ready(name);
  }

  // Keeps ready_ holding exactly the hosts that have a waiting transfer and a free slot, keyed
  // by their oldest waiting transfer, and drops hosts that have nothing left.
  void refresh_ready(const std::string& name) {
    auto it = hosts_.find(name);
    if (it == hosts_.end()) return;
    Host& host = it->second;
    if (host.ready_seq) {
      ready_.erase({*host.ready_seq, name});
      host.ready_seq.reset();
    }
    if (host.active < options_.per_host && !host.waiting.empty()) {
      host.ready_seq = host.waiting.begin()->first;
      ready_.emplace(*host.ready_seq, name);
    } else if (host.active == 0 && host.waiting.empty()) {
      hosts_.erase(it);
    }
  }

  void release_slot(Transfer& transfer) {
    if (!transfer.holds_slot) return;
    transfer.holds_slot = false;
    auto it = hosts_.find(transfer.origin.host);
    if (it == hosts_.end()) return;
    --it->second.active;
    refresh_ready(transfer.origin.host);
  }

  // Starts the oldest eligible transfers while the global limit allows.
  void pump() {
    while (!shut_down_ && running_.size() < std::size_t(options_.concurrency) && !ready_.empty()) {
      const std::string name = ready_.begin()->second;
      Host& host = hosts_.at(name);
      auto node = host.waiting.begin();
      std::unique_ptr<Transfer> transfer = std::move(node->second);
      host.waiting.erase(node);
      ++host.active;
      transfer->holds_slot = true;
      refresh_ready(name);
      start_hop(std::move(transfer));
    }
  }

  // --- transfers -------------------------------------------------------------------------------

  void start_hop(std::unique_ptr<Transfer> transfer) {
    const auto remaining =
        std::chrono::duration_cast<std::chrono::milliseconds>(options_.timeout - transfer->spent);
    if (remaining <= std::chrono::milliseconds(0)) {
      std::string message = "timed out after " + std::to_string(transfer->redirects) + " redirects";
      complete(std::move(transfer), FetchOutcome::network_error, 0, std::move(message));
      return;
    }
    if (!multi_) {
      complete(std::move(transfer), FetchOutcome::network_error, 0,
               "cannot create a curl multi handle");
      return;
    }
    if (!transfer->easy) transfer->easy.reset(curl_easy_init());
    if (!transfer->easy || !configure(*transfer, remaining)) {
      complete(std::move(transfer), FetchOutcome::network_error, 0, "cannot set up a curl handle");
      return;
    }
    CURL* easy = transfer->easy.get();
    transfer->hop_started = Clock::now();
    auto [slot, inserted] = running_.emplace(easy, std::move(transfer));
    const CURLMcode code = curl_multi_add_handle(multi_.get(), easy);
    if (code != CURLM_OK) {
      std::unique_ptr<Transfer> failed = std::move(slot->second);
      running_.erase(slot);
      complete(std::move(failed), FetchOutcome::network_error, 0, curl_multi_strerror(code));
    }
  }

  bool configure(Transfer& transfer, std::chrono::milliseconds remaining) {
    CURL* h = transfer.easy.get();
    transfer.error[0] = '\0';
    transfer.response = ResponseHeaders{};
    transfer.body.clear();
    transfer.too_large = false;

    // The configured headers (an X-Api-Key, a Cookie, ...) and Basic auth go to the origin
    // they were configured for and nowhere else: not to a redirect's other host or port, not
    // over plain http after https. Stricter than curl's own rule, which keeps custom headers.
    const bool credentials =
        transfer.credential_origin && transfer.origin == *transfer.credential_origin;
    CurlSlist headers;
    bool ok = true;
    bool has_accept = false;
    for (const auto& [name, value] : transfer.request.headers) {
      if (!credentials || has_line_break(name) || has_line_break(value)) continue;
      has_accept = has_accept || equals_ignoring_case(name, "Accept");
      ok = ok && append(headers, (name + ": " + value).c_str());
    }
    if (!has_accept) ok = ok && append(headers, kAccept);
    // Validators go back exactly as the server sent them (RFC 9110 13.1).
    if (!transfer.request.etag.empty() && !has_line_break(transfer.request.etag))
      ok = ok && append(headers, ("If-None-Match: " + transfer.request.etag).c_str());
    if (!transfer.request.last_modified.empty() && !has_line_break(transfer.request.last_modified))
      ok = ok && append(headers, ("If-Modified-Since: " + transfer.request.last_modified).c_str());
    if (!ok) return false;
    transfer.headers = std::move(headers);

    auto set = [&](CURLoption option, auto value) {
      ok = ok && curl_easy_setopt(h, option, value) == CURLE_OK;
    };
    set(CURLOPT_URL, transfer.url.c_str());
    set(CURLOPT_ERRORBUFFER, transfer.error);
    set(CURLOPT_NOSIGNAL, 1L);
    set(CURLOPT_HTTPGET, 1L);
    set(CURLOPT_PROTOCOLS_STR, "http,https");
    set(CURLOPT_FOLLOWLOCATION, 0L);   // followed by hand: see on_hop_done
    set(CURLOPT_ACCEPT_ENCODING, "");  // every coding this libcurl decodes: gzip, deflate, br
    set(CURLOPT_HTTPHEADER, transfer.headers.get());
    set(CURLOPT_USERAGENT, options_.user_agent.c_str());
    set(CURLOPT_TIMEOUT_MS, static_cast<long>(remaining.count()));
    const std::chrono::milliseconds connect_timeout =
        std::min<std::chrono::milliseconds>(options_.connect_timeout, remaining);
    set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_timeout.count()));
    set(CURLOPT_LOW_SPEED_LIMIT, options_.low_speed_bytes);
    set(CURLOPT_LOW_SPEED_TIME, static_cast<long>(options_.low_speed_time.count()));
    set(CURLOPT_SSL_VERIFYPEER, 1L);
    set(CURLOPT_SSL_VERIFYHOST, 2L);
    if (!options_.ca_file.empty()) set(CURLOPT_CAINFO, options_.ca_file.c_str());
    if (!options_.proxy.empty()) set(CURLOPT_PROXY, options_.proxy.c_str());
    if (resolve_) set(CURLOPT_RESOLVE, resolve_.get());
    const bool send_credentials = credentials && !transfer.request.username.empty();
    set(CURLOPT_USERNAME, send_credentials ? transfer.request.username.c_str() : nullptr);
    set(CURLOPT_PASSWORD, send_credentials ? transfer.request.password.c_str() : nullptr);
    set(CURLOPT_WRITEFUNCTION, &on_body);
    set(CURLOPT_WRITEDATA, static_cast<void*>(&transfer));
    set(CURLOPT_HEADERFUNCTION, &on_header);
    set(CURLOPT_HEADERDATA, static_cast<void*>(&transfer));
    transfer.options = &options_;
    set(CURLOPT_OPENSOCKETFUNCTION, &on_open_socket);
    set(CURLOPT_OPENSOCKETDATA, static_cast<void*>(&transfer));
    set(CURLOPT_PREREQFUNCTION, &on_prerequest);
    set(CURLOPT_PREREQDATA, static_cast<void*>(&transfer));
    return ok;
  }

  // Redirects are followed here rather than with CURLOPT_FOLLOWLOCATION so that each hop's
  // status is seen (a first-hop 301/308 is reported), each target is checked before anything is
  // sent to it, credentials stay with their origin, and a hop to another host waits for a slot
  // of that host like any other request.
  void on_hop_done(std::unique_ptr<Transfer> transfer, CURLcode code) {
    CURL* easy = transfer->easy.get();
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    if (transfer->too_large) {
      complete(std::move(transfer), FetchOutcome::too_large, status,
               "body larger than " + std::to_string(options_.max_body) + " bytes");
      return;
    }
    // Only when nothing else connected: curl may have tried another address that passed.
    if (code != CURLE_OK && !transfer->refused.empty()) {
      std::string message =
          "refused to connect to " + transfer->refused + " for " + transfer->url +
          (transfer->redirects > 0 ? " (reached by a redirect)" : "") +
          (transfer->refused_always ? ": metadata and link-local addresses are never fetched, "
                                      "poll.allow_private_networks notwithstanding"
                                    : ": set poll.allow_private_networks = true to allow it");
      complete(std::move(transfer), FetchOutcome::refused_address, status, std::move(message));
      return;
    }
    if (code != CURLE_OK) {
      std::string message = transfer->error[0] ? transfer->error : curl_easy_strerror(code);
      complete(std::move(transfer), FetchOutcome::network_error, status, std::move(message),
               network_failure(code));
      return;
    }
    if (!is_redirect(status)) {
      if (status >= 200 && status < 300) {
        complete(std::move(transfer), FetchOutcome::ok, status, "");
      } else if (status == 304) {
        complete(std::move(transfer), FetchOutcome::not_modified, status, "");
      } else {
        complete(std::move(transfer), FetchOutcome::http_error, status,
                 "HTTP " + std::to_string(status));
      }
      return;
    }

    char* location = nullptr;  // absolute, resolved by curl against the current URL
    curl_easy_getinfo(easy, CURLINFO_REDIRECT_URL, &location);
    if (location == nullptr) {
      complete(std::move(transfer), FetchOutcome::bad_redirect, status,
               "HTTP " + std::to_string(status) + " without a usable Location");
      return;
    }
    std::string next = location;
    const auto origin = origin_of(next);
    if (!origin) {
      complete(std::move(transfer), FetchOutcome::bad_redirect, status,
               "redirect to a URL that is not http(s): " + next);
      return;
    }
    if (transfer->redirects == 0 && (status == 301 || status == 308))
      transfer->permanent_redirect = next;
    if (transfer->redirects >= options_.max_redirects) {
      complete(std::move(transfer), FetchOutcome::bad_redirect, status,
               "more than " + std::to_string(options_.max_redirects) + " redirects");
      return;
    }
    ++transfer->redirects;
    transfer->url = std::move(next);
    if (std::string refused = forbidden_host(*origin); !refused.empty()) {
      refuse_host(std::move(transfer), std::move(refused));
      return;
    }
    if (origin->host == transfer->origin.host) {
      transfer->origin = *origin;
      start_hop(std::move(transfer));
    } else {
      release_slot(*transfer);
      transfer->origin = *origin;
      enqueue(std::move(transfer));  // keeps its seq: first in line at the new host
    }
  }

  // A URL whose host names a forbidden address: nothing is sent, not even to a proxy.
  void refuse_host(std::unique_ptr<Transfer> transfer, std::string refused) {
    std::string message = "refused to connect to " + refused + " for " + transfer->url +
                          (transfer->redirects > 0 ? " (reached by a redirect)" : "") +
                          ": metadata and link-local addresses are never fetched, "
                          "poll.allow_private_networks and a proxy notwithstanding";
    complete(std::move(transfer), FetchOutcome::refused_address, 0, std::move(message));
  }

  void complete(std::unique_ptr<Transfer> transfer, FetchOutcome outcome, long status,
                std::string error, NetworkFailure failure = NetworkFailure::none) {
    release_slot(*transfer);
    FetchResult result;
    result.outcome = outcome;
    result.network_failure = failure;
    result.status = status;
    result.error = std::move(error);
    result.final_url = transfer->url.empty() ? transfer->request.url : transfer->url;
    result.permanent_redirect = std::move(transfer->permanent_redirect);
    result.redirects = transfer->redirects;
    result.local_by_redirect = transfer->local_by_redirect;
    result.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(transfer->spent);
    const ResponseHeaders& response = transfer->response;
    result.content_type = response.content_type();
    result.etag = response.etag();
    result.last_modified = response.last_modified();
    if (outcome == FetchOutcome::not_modified) {
      // A 304 need not repeat the validators; the stored ones stay valid.
      if (result.etag.empty()) result.etag = transfer->request.etag;
      if (result.last_modified.empty()) result.last_modified = transfer->request.last_modified;
    }
    if (outcome == FetchOutcome::ok) result.body = std::move(transfer->body);
    if (!response.retry_after().empty()) {
      const auto server_now = normalize::parse_date(response.date());
      const auto now =
          server_now ? *server_now
                     : std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
      result.retry_after = parse_retry_after(response.retry_after(), now);
    }
    if (!response.cache_control().empty()) result.max_age = parse_max_age(response.cache_control());

    auto done = std::move(transfer->done);
    transfer.reset();  // frees the easy handle now; it is out of the multi handle already
    if (deliver_inline_) {
      done(std::move(result));
      return;
    }
    // A handler of its own: `done` may call back into the fetcher or destroy it.
    asio::post(strand_, [done = std::move(done), result = std::move(result)]() mutable {
      done(std::move(result));
    });
  }

  void check_multi_info() {
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(multi_.get(), &left)) {
      if (message->msg != CURLMSG_DONE) continue;
      CURL* easy = message->easy_handle;
      const CURLcode code = message->data.result;  // `message` dies with remove_handle
      auto it = running_.find(easy);
      if (it == running_.end()) continue;
      std::unique_ptr<Transfer> transfer = std::move(it->second);
      running_.erase(it);
      curl_multi_remove_handle(multi_.get(), easy);
      transfer->spent += Clock::now() - transfer->hop_started;
      on_hop_done(std::move(transfer), code);
    }
  }

  // --- curl <-> Asio -------------------------------------------------------------------------

  void socket_action(curl_socket_t fd, int mask) {
    int running = 0;
    curl_multi_socket_action(multi_.get(), fd, mask, &running);
    check_multi_info();
    pump();
  }

  static int on_socket(CURL*, curl_socket_t fd, int what, void* user, void*) {
    auto* self = static_cast<Impl*>(user);
    if (what == CURL_POLL_REMOVE) {
      auto it = self->watchers_.find(fd);
      if (it != self->watchers_.end()) {
        self->forget(*it->second);
        self->watchers_.erase(it);
      }
      return 0;
    }
    if (self->shut_down_) return 0;
    std::shared_ptr<Watcher>& watcher = self->watchers_[fd];
    if (!watcher) {
      watcher = std::make_shared<Watcher>(self->strand_, fd);
      boost::system::error_code ec;
      watcher->descriptor.assign(fd, ec);
      if (ec) {
        self->watchers_.erase(fd);
        return -1;
      }
    }
    watcher->wanted = what;
    self->arm(watcher);
    return 0;
  }

  void forget(Watcher& watcher) {
    watcher.removed = true;
    if (watcher.descriptor.is_open()) watcher.descriptor.release();  // curl closes the fd
  }

  // Asio's reactor is edge-triggered (an async_wait sees readiness that arrives after it is
  // registered), while curl expects level-triggered polling: it may leave bytes unread and ask
  // for IN again. So after making sure a wait is pending we poll() once without blocking; if
  // the socket is already ready, a re-check is posted that drives curl again. The wait is
  // registered before the poll(), so readiness arriving between the two is not lost.
  void arm(const std::shared_ptr<Watcher>& watcher) {
    if (watcher->removed) return;
    if ((watcher->wanted & CURL_POLL_IN) && !watcher->reading) {
      watcher->reading = true;
      wait(watcher, asio::posix::stream_descriptor::wait_read, CURL_CSELECT_IN);
    }
    if ((watcher->wanted & CURL_POLL_OUT) && !watcher->writing) {
      watcher->writing = true;
      wait(watcher, asio::posix::stream_descriptor::wait_write, CURL_CSELECT_OUT);
    }
    if (watcher->kicked) return;
    pollfd probe{watcher->fd, 0, 0};
    if (watcher->wanted & CURL_POLL_IN) probe.events |= POLLIN;
    if (watcher->wanted & CURL_POLL_OUT) probe.events |= POLLOUT;
    if (probe.events == 0 || ::poll(&probe, 1, 0) <= 0) return;
    int mask = 0;
    if (probe.revents & (POLLIN | POLLHUP)) mask |= CURL_CSELECT_IN;
    if (probe.revents & POLLOUT) mask |= CURL_CSELECT_OUT;
    if (probe.revents & (POLLERR | POLLNVAL)) mask |= CURL_CSELECT_ERR;
    if (mask == 0) return;
    watcher->kicked = true;
    asio::post(strand_, [weak = weak_from_this(), watcher, mask] {
      auto self = weak.lock();
      watcher->kicked = false;
      if (!self || self->shut_down_ || watcher->removed) return;
      self->socket_action(watcher->fd, mask);
      self->arm(watcher);
    });
  }

  void wait(const std::shared_ptr<Watcher>& watcher, asio::posix::stream_descriptor::wait_type type,
            int direction) {
    watcher->descriptor.async_wait(
        type, asio::bind_executor(strand_, [weak = weak_from_this(), watcher,
                                            direction](const boost::system::error_code& ec) {
          auto self = weak.lock();
          (direction == CURL_CSELECT_IN ? watcher->reading : watcher->writing) = false;
          if (!self || self->shut_down_ || watcher->removed || ec == asio::error::operation_aborted)
            return;
          const int wanted_bit = direction == CURL_CSELECT_IN ? CURL_POLL_IN : CURL_POLL_OUT;
          if (!ec && !(watcher->wanted & wanted_bit)) {
            self->arm(watcher);  // curl stopped caring about this direction meanwhile
            return;
          }
          self->socket_action(watcher->fd, ec ? CURL_CSELECT_ERR : direction);
          self->arm(watcher);
        }));
  }

  static int on_timer(CURLM*, long timeout_ms, void* user) {
    auto* self = static_cast<Impl*>(user);
    if (self->shut_down_) return 0;
    if (timeout_ms < 0) {
      self->timer_.cancel();
      return 0;
    }
    // Also for 0: curl must not be called back from inside its own callback.
    self->timer_.expires_after(std::chrono::milliseconds(timeout_ms));
    self->timer_.async_wait(asio::bind_executor(
        self->strand_, [weak = self->weak_from_this()](const boost::system::error_code& ec) {
          auto self = weak.lock();
          if (!self || self->shut_down_ || ec == asio::error::operation_aborted) return;
          self->socket_action(CURL_SOCKET_TIMEOUT, 0);
        }));
    return 0;
  }

  Strand strand_;
  FetchOptions options_;
  CurlSlist resolve_;
  asio::steady_timer timer_;
  std::unordered_map<curl_socket_t, std::shared_ptr<Watcher>> watchers_;
  // Destroyed before the watchers: curl_multi_cleanup reports CURL_POLL_REMOVE to on_socket.
  CurlMulti multi_;

  std::unordered_map<std::string, Host> hosts_;
  std::set<std::pair<std::uint64_t, std::string>> ready_;  // (oldest waiting seq, host)
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> running_;
  std::uint64_t next_seq_ = 0;
  bool shut_down_ = false;
  bool deliver_inline_ = false;
};

bool same_origin(const std::string& a, const std::string& b) {
  const auto first = origin_of(a);
  const auto second = origin_of(b);
  return first && second && *first == *second;
}

std::string politeness_host(const std::string& url) {
  const auto origin = origin_of(url);
  return origin ? origin->host : std::string();
}

HttpFetcher::HttpFetcher(asio::io_context& io, FetchOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(options))) {
  impl_->init();
}

HttpFetcher::~HttpFetcher() {
  impl_->shutdown();
}

void HttpFetcher::fetch(FetchRequest request, std::function<void(FetchResult)> done) {
  auto transfer = std::make_unique<Transfer>();
  transfer->request = std::move(request);
  transfer->done = std::move(done);
  asio::post(impl_->strand(),
             [weak = std::weak_ptr<Impl>(impl_), transfer = std::move(transfer)]() mutable {
               if (auto self = weak.lock()) {
                 self->submit(std::move(transfer));
                 return;
               }
               // The fetcher went away before the request reached its strand.
               FetchResult result;
               result.outcome = FetchOutcome::cancelled;
               result.final_url = transfer->request.url;
               result.error = "fetcher shut down";
               transfer->done(std::move(result));
             });
}

void HttpFetcher::cancel_all() {
  asio::post(impl_->strand(), [weak = std::weak_ptr<Impl>(impl_)] {
    if (auto self = weak.lock()) self->cancel_all();
  });
}

}  // namespace feedmerge::fetch
