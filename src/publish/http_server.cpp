#include "publish/http_server.h"

#include <sys/sendfile.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include <spdlog/spdlog.h>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "feedmerge/normalize/date.h"

namespace feedmerge::publish {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::string_view kServerName = "feedmerge";
constexpr int kSendBufferBytes = 1 << 20;
// What a client turned away at the connection limit is told to wait before trying again.
constexpr std::string_view kRetryAfterSeconds = "5";
// After an answer that closes the connection, what the client still sends is read and dropped
// for up to this long (bounded by the request timeout): closing a socket with unread data
// resets it, and a reset can destroy the answer before the client has read it.
constexpr std::chrono::seconds kLingerLimit{2};
constexpr std::size_t kLingerBytes = 64 * 1024;

// RFC 3986 host [ ":" port ]: a reg-name, an IPv4 address or an [IP-literal]; empty is valid
// (RFC 9112 3.2).
bool valid_host(std::string_view value) {
  auto digits = [](std::string_view text) {
    return std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  auto alnum = [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  };
  std::string_view host = value;
  std::string_view rest;
  if (host.starts_with('[')) {
    const std::size_t close = host.find(']');
    if (close == std::string_view::npos) return false;
    rest = host.substr(close + 1);
    host = host.substr(1, close - 1);
    if (host.empty()) return false;
    for (char c : host)
      if (!alnum(c) && c != ':' && c != '.' && c != '-' && c != '_' && c != '~') return false;
  } else {
    const std::size_t colon = host.find(':');
    if (colon != std::string_view::npos) {
      rest = host.substr(colon);
      host = host.substr(0, colon);
    }
    constexpr std::string_view kAllowed = "-._~%!$&'()*+,;=";
    for (char c : host)
      if (!alnum(c) && kAllowed.find(c) == std::string_view::npos) return false;
  }
  return rest.empty() || (rest.front() == ':' && digits(rest.substr(1)));
}

// Why a parsed request is refused before it is served (RFC 9112 3.2 and 6.1-6.3), or empty.
// Beast reads a body only when chunked is the last coding and otherwise takes the request as
// bodiless: the "body" of `Transfer-Encoding: xchunked` would then be read as the next
// request, the way requests are smuggled past a proxy that frames them differently.
std::string_view request_problem(const http::request<http::empty_body>& request, bool chunked) {
  if (request.find(http::field::transfer_encoding) != request.end()) {
    if (request.version() < 11) return "Transfer-Encoding in an HTTP/1.0 request\n";
    if (!chunked) return "Transfer-Encoding whose last coding is not chunked\n";
  }
  const std::size_t hosts = request.count(http::field::host);
  if (hosts > 1) return "more than one Host header\n";
  if (hosts == 0) return request.version() >= 11 ? "no Host header\n" : std::string_view{};
  const auto host = request.find(http::field::host)->value();
  if (!valid_host({host.data(), host.size()})) return "invalid Host header\n";
  return {};
}

// A small body owned by the session (errors, /metrics, /healthz).
std::shared_ptr<const Snapshot> plain_text(std::string text, std::string content_type) {
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->body = std::move(text);
  snapshot->content_type = std::move(content_type);
  return snapshot;
}

}  // namespace

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  class Session;

  Impl(ServerOptions opts, SiteSource source, Metrics& m)
      : options(opts), site(std::move(source)), metrics(m) {
    const int count = options.threads > 0
                          ? options.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    for (int i = 0; i < count; ++i) {
      // Concurrency hint 1: each context is run by exactly one thread.
      contexts.push_back(std::make_unique<asio::io_context>(1));
      guards.emplace_back(contexts.back()->get_executor());
    }
    acceptor.emplace(*contexts.front());
  }

  const ServerOptions options;
  const SiteSource site;
  Metrics& metrics;
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  std::vector<std::thread> threads;
  std::optional<tcp::acceptor> acceptor;  // on the first context's thread only
  std::size_t next_context = 0;           // the acceptor's
  std::atomic<std::size_t> connections{0};
  std::atomic<bool> stopped{false};

  std::mutex sessions_mutex;  // guards `sessions` only
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;

  void accept();
  bool evict_longest_waiting();
  void stop_all();
};

class HttpServer::Impl::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<Impl> server, bool reject)
      : stream_(std::move(socket)), server_(std::move(server)), reject_(reject) {
    ++server_->connections;
    beast::error_code ignored;                            // Asio's own operations work either way
    stream_.socket().native_non_blocking(true, ignored);  // send_file relies on it
  }
  ~Session() {
    --server_->connections;
    std::lock_guard lock(server_->sessions_mutex);
    server_->sessions.erase(this);
  }

  void start() {
    {
      std::lock_guard lock(server_->sessions_mutex);
      server_->sessions.emplace(this, weak_from_this());
    }
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      if (self->reject_) {
        // Over the connection limit: a short answer instead of a silent reset.
        self->send_busy();
      } else {
        self->read();
      }
    });
  }

  // Since when this connection has been waiting for a request (steady-clock ticks), or -1 while
  // it is busy with one: the accept loop evicts the longest waiting connection at the limit.
  std::int64_t waiting_since() const { return waiting_since_.load(std::memory_order_relaxed); }

  void close() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
      self->stream_.close();
    });
  }

  // Makes room at the connection limit. A connection that has been answered before is an idle
  // keep-alive one: it closes silently, and its client retries on a new one (RFC 9112
  // 9.3.1). One that never was may be a client whose request is on its way (or a slow-loris
  // one): it gets a 503 with Retry-After and closes, so that no client is dropped unanswered.
  void evict() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      if (self->waiting_since() < 0) {
        self->close_after_ = true;  // busy with a request by now: answered, then closed
        return;
      }
      if (self->answered_ > 0) {
        beast::error_code ignored;
        self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
        self->stream_.close();
        return;
      }
      self->evicted_ = true;
      self->stream_.cancel();  // on_read answers
    });
  }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_->options.max_header_bytes));
    parser_->body_limit(0);  // GET and HEAD carry no body
    // One deadline for the whole request: a client that trickles its headers byte by byte
    // gets no more time than one that sends nothing.
    stream_.expires_after(server_->options.request_timeout);
    waiting_since_.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                         std::memory_order_relaxed);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code error, std::size_t) {
                       self->on_read(error);
                     });
  }

  void on_read(beast::error_code error) {
    waiting_since_.store(-1, std::memory_order_relaxed);
    if (evicted_ && error) return send_busy();
    if (error == http::error::end_of_stream || error == beast::error::timeout ||
        error == asio::error::operation_aborted || error == asio::error::connection_reset ||
        error == asio::error::eof) {
      return finish();
    }
    if (error == http::error::header_limit) {
      return send_text(http::status::request_header_fields_too_large,
                       "request header fields too large\n", true);
    }
    if (error == http::error::body_limit || error == http::error::unexpected_body) {
      return send_text(http::status::payload_too_large, "a request body is not accepted\n", true);
    }
    if (error) return send_text(http::status::bad_request, "bad request\n", true);
    if (const std::string_view problem = request_problem(parser_->get(), parser_->chunked());
        !problem.empty()) {
      return send_text(http::status::bad_request, std::string(problem), true);
    }
    // Evicted while its request was already complete: it is answered, then closed.
    if (evicted_) close_after_ = true;
    handle(parser_->get());
  }

  void send_busy() {
    response_ = {};
    response_.set(http::field::retry_after, kRetryAfterSeconds);
    send_text(http::status::service_unavailable, "too many connections\n", true, false, false);
  }

  void handle(const http::request<http::empty_body>& request) {
    const bool keep_alive = request.keep_alive();
    std::string_view path(request.target().data(), request.target().size());
    if (const std::size_t query = path.find('?'); query != std::string_view::npos)
      path = path.substr(0, query);
    const bool head = request.method() == http::verb::head;
    if (request.method() != http::verb::get && !head) {
      response_ = {};
      response_.set(http::field::allow, "GET, HEAD");
      return send_text(http::status::method_not_allowed, "method not allowed\n", !keep_alive, head,
                       false);
    }
    if (path == "/healthz") {
      const std::string problem = server_->metrics.health_problem(
          server_->options.max_poll_silence, server_->options.writer_stuck_after);
      return send_text(problem.empty() ? http::status::ok : http::status::service_unavailable,
                       problem.empty() ? "ok\n" : problem + "\n", !keep_alive, head);
    }
    if (path == "/metrics") {
      held_ = plain_text(server_->metrics.prometheus_text(),
                         "text/plain; version=0.0.4; charset=utf-8");
      return send(http::status::ok, *held_, held_->body, -1, !keep_alive, head);
    }
    const std::shared_ptr<const Site> site = server_->site();
    const auto found = site->find(path);
    if (found == site->end()) {
      return send_text(http::status::not_found, "not found\n", !keep_alive, head);
    }
    if (!found->second) {
      // A configured output that could not be rendered yet: readers retry a 503, while a 404
      // may make them drop the subscription.
      response_ = {};
      response_.set(http::field::retry_after, "60");
      return send_text(http::status::service_unavailable, "not available now; /healthz says why\n",
                       !keep_alive, head, false);
    }
    held_ = found->second;  // kept alive until the response is written
    const Snapshot& snapshot = *held_;
    const bool gzip =
        !snapshot.gzip_body.empty() && accepts_gzip(header(request, http::field::accept_encoding));
    const std::string& etag = gzip ? snapshot.gzip_etag : snapshot.etag;
    response_ = {};
    response_.set(http::field::etag, etag);
    response_.set(http::field::last_modified, snapshot.last_modified_http);
    response_.set(http::field::vary, "Accept-Encoding");
    if (not_modified(request, snapshot, etag)) {
      return send(http::status::not_modified, snapshot, {}, -1, !keep_alive, true);
    }
    if (gzip) response_.set(http::field::content_encoding, "gzip");
    send(http::status::ok, snapshot, gzip ? snapshot.gzip_body : snapshot.body,
         gzip ? snapshot.gzip_file.fd() : snapshot.body_file.fd(), !keep_alive, head);
  }

  static std::string_view header(const http::request<http::empty_body>& request,
                                 http::field field) {
    const auto found = request.find(field);
    if (found == request.end()) return {};
    return {found->value().data(), found->value().size()};
  }

  static bool not_modified(const http::request<http::empty_body>& request, const Snapshot& snapshot,
                           std::string_view etag) {
    // RFC 9110 13.2.2: If-None-Match, when present, decides; If-Modified-Since only without it.
    if (request.find(http::field::if_none_match) != request.end())
      return etag_matches(header(request, http::field::if_none_match), etag);
    const std::string_view since = header(request, http::field::if_modified_since);
    if (since.empty()) return false;
    const auto time = normalize::parse_date(since);
    return time && snapshot.last_modified <= *time;
  }

  void send_text(http::status status, std::string text, bool close, bool head = false,
                 bool reset = true) {
    if (reset) response_ = {};
    held_ = plain_text(std::move(text), "text/plain; charset=utf-8");
    send(status, *held_, held_->body, -1, close, head);
  }

  // Writes `body` (a view into held_) with the headers already set on response_; from `file`
  // with sendfile(2) after the header when it is a descriptor holding the same bytes.
  void send(http::status status, const Snapshot& snapshot, std::string_view body, int file,
            bool close, bool head) {
    response_.result(status);
    response_.version(11);
    response_.set(http::field::server, kServerName);
    if (!snapshot.content_type.empty() && status != http::status::not_modified)
      response_.set(http::field::content_type, snapshot.content_type);
    if (status == http::status::not_modified) {
      response_.body() = {};
    } else {
      // HEAD: the length of what GET would send, and no body.
      response_.content_length(body.size());
      const bool by_file = file >= 0 && !head;
      response_.body() = head || by_file
                             ? http::span_body<const char>::value_type{}
                             : http::span_body<const char>::value_type(body.data(), body.size());
      file_ = by_file ? file : -1;
      file_offset_ = 0;
      file_size_ = body.size();
    }
    close_after_ = close || close_after_;
    response_.keep_alive(!close_after_);
    ++answered_;
    server_->metrics.record_request(static_cast<int>(status));
    stream_.expires_after(server_->options.request_timeout);
    http::async_write(stream_, response_,
                      [self = shared_from_this()](beast::error_code error, std::size_t) {
                        if (!error && self->file_ >= 0) return self->send_file();
                        self->on_write(error);
                      });
  }

  // The body straight from the snapshot's memory file into the socket. The socket is
  // non-blocking: when its buffer is full, wait until it is writable (with the deadline).
  void send_file() {
    const int socket = stream_.socket().native_handle();
    while (file_offset_ < static_cast<off_t>(file_size_)) {
      const ssize_t n = ::sendfile(socket, file_, &file_offset_,
                                   file_size_ - static_cast<std::size_t>(file_offset_));
      if (n > 0) continue;
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        waiting_ = true;
        deadline_.expires_after(server_->options.request_timeout);
        deadline_.async_wait([self = shared_from_this()](beast::error_code error) {
          if (!error && self->waiting_) self->stream_.socket().cancel();
        });
        stream_.socket().async_wait(tcp::socket::wait_write,
                                    [self = shared_from_this()](beast::error_code error) {
                                      self->waiting_ = false;
                                      self->deadline_.cancel();
                                      if (error) return self->on_write(error);
                                      self->send_file();
                                    });
        return;
      }
      return on_write(beast::error_code(n < 0 ? errno : EPIPE, boost::system::system_category()));
    }
    file_ = -1;
    on_write({});
  }

  void on_write(beast::error_code error) {
    held_.reset();
    if (error || server_->stopped) return finish();
    if (close_after_) return linger();
    read();
  }

  void finish() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  // The answer is sent and our side shut; what the client has sent and we did not read (a
  // request turned away at the limit, a pipelined one) is read and dropped until it closes
  // too, briefly, so that our close does not reset the connection under an answer the client
  // has yet to read.
  void linger() {
    beast::error_code error;
    stream_.socket().shutdown(tcp::socket::shutdown_send, error);
    const std::size_t unread = error ? 0 : stream_.socket().available(error);
    if (error || unread == 0) return finish();
    stream_.expires_after(
        std::min<std::chrono::milliseconds>(kLingerLimit, server_->options.request_timeout));
    buffer_.clear();
    drain();
  }

  void drain() {
    stream_.async_read_some(asio::buffer(drain_buffer_),
                            [self = shared_from_this()](beast::error_code error, std::size_t n) {
                              self->drained_ += n;
                              if (error || self->drained_ >= kLingerBytes) return self->finish();
                              self->drain();
                            });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> parser_;
  std::atomic<std::int64_t> waiting_since_{-1};
  http::response<http::span_body<const char>> response_;
  std::shared_ptr<const Snapshot> held_;
  std::shared_ptr<Impl> server_;
  bool reject_ = false;
  bool evicted_ = false;  // by the connection limit: answered with 503 (see evict)
  bool close_after_ = false;
  std::size_t answered_ = 0;  // responses sent on this connection
  std::array<char, 4096> drain_buffer_{};
  std::size_t drained_ = 0;
  int file_ = -1;  // the held snapshot's descriptor being sent, or -1
  off_t file_offset_ = 0;
  std::size_t file_size_ = 0;
  bool waiting_ = false;  // for writability during send_file
  asio::steady_timer deadline_{stream_.get_executor()};
};

void HttpServer::Impl::accept() {
  // Connections are spread over the contexts in turn; each lives on its context's one thread.
  asio::io_context& context = *contexts[next_context];
  next_context = (next_context + 1) % contexts.size();
  acceptor->async_accept(
      context, [self = shared_from_this()](beast::error_code error, tcp::socket socket) {
        if (error == asio::error::operation_aborted || self->stopped) return;
        if (!error) {
          socket.set_option(tcp::no_delay(true), error);
          // Room for a whole feed in the kernel: one send per response instead of a wait for
          // writability every few dozen kilobytes.
          socket.set_option(asio::socket_base::send_buffer_size(kSendBufferBytes), error);
          // At the limit, the connection that has waited longest for a request (a slow-loris
          // client trickling its headers, an idle keep-alive) makes room; 503 only when every
          // connection is busy with a response.
          const bool full = self->connections.load() >= self->options.max_connections;
          const bool reject = full && !self->evict_longest_waiting();
          std::make_shared<Session>(std::move(socket), self, reject)->start();
        } else {
          spdlog::warn("http: accept: {}", error.message());
        }
        self->accept();
      });
}

bool HttpServer::Impl::evict_longest_waiting() {
  std::shared_ptr<Session> oldest;
  std::int64_t oldest_since = 0;
  {
    std::lock_guard lock(sessions_mutex);
    for (auto& [raw, weak] : sessions) {
      const std::int64_t since = raw->waiting_since();
      if (since < 0 || (oldest && since >= oldest_since)) continue;
      if (auto session = weak.lock()) {
        oldest = std::move(session);
        oldest_since = since;
      }
    }
  }
  if (!oldest) return false;
  metrics.record_eviction();
  oldest->evict();
  return true;
}

void HttpServer::Impl::stop_all() {
  std::vector<std::shared_ptr<Session>> open;
  {
    std::lock_guard lock(sessions_mutex);
    for (auto& [raw, weak] : sessions) {
      if (auto session = weak.lock()) open.push_back(std::move(session));
    }
  }
  for (auto& session : open)
    session->close();
}

HttpServer::HttpServer(ServerOptions options, SiteSource site, Metrics& metrics)
    : impl_(std::make_shared<Impl>(options, std::move(site), metrics)) {
  // sendfile(2) has no MSG_NOSIGNAL: a client that hangs up mid-body must cost an EPIPE, not
  // the process. Every server ignores SIGPIPE for this reason.
  std::signal(SIGPIPE, SIG_IGN);
}

HttpServer::~HttpServer() {
  stop();
  for (std::thread& thread : impl_->threads)
    thread.join();
  // Pending handlers hold sessions that hold the Impl: destroying the contexts (and with them
  // those handlers) breaks the cycle while the Impl is still alive.
  impl_->acceptor.reset();
  impl_->contexts.clear();
}

Result<void> HttpServer::listen(const std::string& address) {
  std::string host;
  std::string port;
  if (address.starts_with('[')) {
    const std::size_t close = address.find("]:");
    if (close == std::string::npos)
      return Error{ErrorKind::config, "server.listen: expected \"[ADDRESS]:PORT\", got " + address};
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
  } else {
    const std::size_t colon = address.rfind(':');
    if (colon == std::string::npos)
      return Error{ErrorKind::config, "server.listen: expected \"HOST:PORT\", got " + address};
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
  }
  try {
    tcp::resolver resolver(*impl_->contexts.front());
    const auto endpoints = resolver.resolve(host, port, tcp::resolver::passive);
    if (endpoints.empty())
      return Error{ErrorKind::config, "server.listen: " + address + ": no address"};
    const tcp::endpoint endpoint = *endpoints.begin();
    tcp::acceptor& acceptor = *impl_->acceptor;
    acceptor.open(endpoint.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen(asio::socket_base::max_listen_connections);
  } catch (const std::exception& e) {
    return Error{ErrorKind::io, "server.listen: " + address + ": " + e.what()};
  }
  asio::post(impl_->acceptor->get_executor(), [impl = impl_] { impl->accept(); });
  for (auto& context : impl_->contexts)
    impl_->threads.emplace_back([&context] { context->run(); });
  return {};
}

std::uint16_t HttpServer::port() const {
  beast::error_code error;
  const auto endpoint = impl_->acceptor->local_endpoint(error);
  return error ? 0 : endpoint.port();
}

void HttpServer::stop() {
  if (impl_->stopped.exchange(true)) return;
  asio::post(impl_->acceptor->get_executor(), [impl = impl_] {
    beast::error_code ignored;
    impl->acceptor->close(ignored);
  });
  impl_->stop_all();
  // Once the closes above have run, the contexts run out of work and their threads return.
  for (auto& guard : impl_->guards)
    guard.reset();
}

}  // namespace feedmerge::publish
