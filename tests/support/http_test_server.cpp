#include "support/http_test_server.h"

#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

// Routes (the path decides; a query is ignored):
//   /feed.xml         200 feed, ETag kEtag, Last-Modified kLastModified, max-age=300;
//                     304 when If-None-Match is kEtag, or (without If-None-Match) when
//                     If-Modified-Since is kLastModified
//   /lm.xml           like /feed.xml with Last-Modified only; its 304 repeats no validators
//   /gzip.xml         the feed gzip-compressed when Accept-Encoding names gzip
//   /br.xml           the feed brotli-compressed when Accept-Encoding names br
//   /br-bomb.xml      80 bytes of brotli that decompress to 100 MB of zeros
//   /bomb.xml         Content-Encoding: gzip, kBombBytes of zeros in ~100 KB
//   /big.xml          kBigBytes, uncompressed
//   /drip.xml         headers, then one body byte every 100 ms
//   /reset            reads the request, then resets the connection (RST)
//   /chain/N          302 to /chain/N-1; /chain/1 302s to /feed.xml
//   /moved            301 to "/feed.xml" (a relative Location)
//   /moved308         308 to the absolute URL of /chain/1
//   /loop             302 to itself
//   /to-file          302 to file:///etc/passwd
//   /other-host       302 to http://other.test:PORT/feed.xml
//   /gone             410      /error  500
//   /busy/seconds     429, Retry-After: 120
//   /busy/date        503, Date: Sun, 06 Nov 1994 08:49:37 GMT, Retry-After an hour later
//   /wrong-type       200 text/html page      /invalid.xml  200 malformed XML
//   /hold/NAME        waits for open_gate(), then serves the feed
//   /slow.xml         waits kSlowDelay, then serves the feed (a slow host)
//   /redir?code=N&to=URL   status N with Location URL (`to` last, taken verbatim)
//   anything else     404

namespace feedmerge::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

std::string read_fixture(const std::string& name) {
  const std::string path = std::string(FEEDMERGE_TEST_DATA) + "/fetch/" + name;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  return out;
}

bool contains_token(std::string_view list, std::string_view token) {
  return ascii_lower(list).find(token) != std::string::npos;
}

// Zeros compressed into a gzip member: a tiny body that inflates to kBombBytes. Made once per
// process, on first use, so only the test that needs it pays.
const std::string& gzip_bomb() {
  static const std::string bomb = [] {
    z_stream z{};
    if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK)
      throw std::runtime_error("deflateInit2 failed");
    const std::string zeros(1u << 20, '\0');
    std::string out;
    char chunk[64 * 1024];
    for (std::size_t fed = 0; fed <= HttpTestServer::kBombBytes; fed += zeros.size()) {
      const bool last = fed == HttpTestServer::kBombBytes;
      z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(zeros.data()));
      z.avail_in = last ? 0 : static_cast<uInt>(zeros.size());
      do {
        z.next_out = reinterpret_cast<Bytef*>(chunk);
        z.avail_out = sizeof chunk;
        deflate(&z, last ? Z_FINISH : Z_NO_FLUSH);
        out.append(chunk, sizeof chunk - z.avail_out);
      } while (z.avail_out == 0);
    }
    deflateEnd(&z);
    return out;
  }();
  return bomb;
}

// The path of an origin-form ("/a?b") or absolute-form ("http://h:1/a?b") target.
std::string path_of(std::string_view target) {
  // Absolute-form only when it does not start with "/": a query may hold a URL ("?to=http://").
  if (const auto scheme = target.find("://");
      !target.starts_with('/') && scheme != std::string_view::npos) {
    const auto slash = target.find('/', scheme + 3);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  return std::string(target.substr(0, target.find('?')));
}

std::string host_of(std::string_view host_header) {
  if (!host_header.empty() && host_header.front() == '[')  // [::1]:8080
    return ascii_lower(host_header.substr(0, host_header.find(']') + 1));
  return ascii_lower(host_header.substr(0, host_header.find(':')));
}

}  // namespace

std::string RecordedRequest::header(std::string_view name) const {
  const std::string wanted = ascii_lower(name);
  for (const auto& [key, value] : headers)
    if (ascii_lower(key) == wanted) return value;
  return "";
}

struct HttpTestServer::Impl {
  using Request = http::request<http::string_body>;
  using Response = http::response<http::string_body>;

  Impl()
      : feed(read_fixture("feed.xml")),
        feed_gz(read_fixture("feed.xml.gz")),
        feed_br(read_fixture("feed.xml.br")),
        brotli_bomb(read_fixture("bomb.br")),
        invalid(read_fixture("invalid.xml")),
        page(read_fixture("page.html")),
        acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        gate(io, asio::steady_timer::time_point::max()) {
    port = acceptor.local_endpoint().port();
    asio::co_spawn(io, listen(), asio::detached);
    thread = std::thread([this] { io.run(); });
  }

  // Sessions still waiting (held, dripping) are destroyed with the io_context, after the
  // acceptor and the gate; the bookkeeping declared before the io_context outlives them all.
  ~Impl() {
    io.stop();
    thread.join();
  }

  // --- bookkeeping shared with the test thread ----------------------------------------------

  struct InFlight {
    Impl* server = nullptr;
    std::string host;
    InFlight(Impl* s, std::string h) : server(s), host(std::move(h)) {
      std::lock_guard lock(server->mutex);
      const int now = ++server->in_flight[host];
      server->peak[host] = std::max(server->peak[host], now);
      server->peak_total = std::max(server->peak_total, ++server->in_flight_total);
    }
    void end() {
      if (server == nullptr) return;
      std::lock_guard lock(server->mutex);
      --server->in_flight[host];
      --server->in_flight_total;
      server = nullptr;
    }
    ~InFlight() { end(); }
    InFlight(const InFlight&) = delete;
    InFlight& operator=(const InFlight&) = delete;
  };

  void record(const Request& request, const std::string& path, const std::string& host) {
    RecordedRequest seen;
    seen.target = std::string(request.target());
    seen.host = host;
    for (const auto& field : request)
      seen.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    {
      std::lock_guard lock(mutex);
      recorded[path].push_back(std::move(seen));
    }
    changed.notify_all();
  }

  // --- serving ---------------------------------------------------------------------------------

  asio::awaitable<void> listen() {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(kTuple);
      if (ec) co_return;
      asio::co_spawn(acceptor.get_executor(), session(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> session(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
      Request request;
      auto [read_error, read_bytes] = co_await http::async_read(stream, buffer, request, kTuple);
      if (read_error) co_return;
      const std::string path = path_of(request.target());
      const std::string host = host_of(request[http::field::host]);
      record(request, path, host);
      InFlight in_flight(this, host);

      if (path.starts_with("/hold/") && !gate_open) {
        {
          std::lock_guard lock(mutex);
          ++held_now;
        }
        changed.notify_all();
        co_await gate.async_wait(kTuple);  // cancelled by open_gate()
        {
          std::lock_guard lock(mutex);
          --held_now;
        }
        changed.notify_all();
      }
      if (path == "/slow.xml") {
        asio::steady_timer pause(stream.get_executor());
        pause.expires_after(kSlowDelay);
        co_await pause.async_wait(kTuple);
      }
      if (path == "/reset") {
        beast::error_code ignored;
        stream.socket().set_option(asio::socket_base::linger(true, 0), ignored);
        stream.socket().close(ignored);
        co_return;
      }
      if (path == "/drip.xml") {
        in_flight.end();
        co_await drip(stream.socket());
        co_return;
      }

      Response response = respond(request, path);
      response.keep_alive(request.keep_alive());
      in_flight.end();
      auto [write_error, written] = co_await http::async_write(stream, response, kTuple);
      if (write_error || !response.keep_alive()) co_return;
    }
  }

  asio::awaitable<void> drip(tcp::socket& socket) {
    static constexpr std::string_view kHead =
        "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 1000000\r\n\r\n";
    auto [head_error, head_bytes] = co_await asio::async_write(socket, asio::buffer(kHead), kTuple);
    if (head_error) co_return;
    asio::steady_timer pause(socket.get_executor());
    for (int i = 0; i < 1000000; ++i) {
      auto [error, bytes] = co_await asio::async_write(socket, asio::buffer("x", 1), kTuple);
      if (error) co_return;
      pause.expires_after(std::chrono::milliseconds(100));
      co_await pause.async_wait(kTuple);
    }
  }

  Response respond(const Request& request, const std::string& path) {
    Response response{http::status::ok, request.version()};
    response.set(http::field::server, "feedmerge-test");
    auto body = [&](std::string bytes, std::string_view type) {
      response.set(http::field::content_type, type);
      response.body() = std::move(bytes);
      response.prepare_payload();
    };
    auto redirect = [&](http::status status, std::string location) {
      response.result(status);
      response.set(http::field::location, location);
      response.prepare_payload();
    };
    auto fail = [&](http::status status) {
      response.result(status);
      body("failure page", "text/plain");
    };
    constexpr std::string_view kRss = "application/rss+xml; charset=utf-8";
    const std::string accept_encoding(request[http::field::accept_encoding]);

    if (path == "/redir") {
      const std::string target(request.target());
      const auto code = target.find("code=");
      const auto to = target.find("to=");
      if (code == std::string::npos || to == std::string::npos) {
        fail(http::status::bad_request);
        return response;
      }
      redirect(static_cast<http::status>(std::atoi(target.c_str() + code + 5)),
               target.substr(to + 3));
      return response;
    }
    if (path == "/feed.xml" || path.starts_with("/hold/") || path == "/slow.xml") {
      response.set(http::field::etag, kEtag);
      response.set(http::field::last_modified, kLastModified);
      response.set(http::field::cache_control, "public, max-age=300");
      const auto if_none_match = request[http::field::if_none_match];
      const bool fresh = !if_none_match.empty()
                             ? if_none_match == kEtag
                             : request[http::field::if_modified_since] == kLastModified;
      if (fresh) {
        response.result(http::status::not_modified);  // no body, no Content-Length
        return response;
      }
      body(feed, kRss);
    } else if (path == "/lm.xml") {
      if (request[http::field::if_modified_since] == kLastModified) {
        response.result(http::status::not_modified);
        return response;
      }
      response.set(http::field::last_modified, kLastModified);
      body(feed, kRss);
    } else if (path == "/gzip.xml") {
      if (contains_token(accept_encoding, "gzip")) {
        response.set(http::field::content_encoding, "gzip");
        body(feed_gz, kRss);
      } else {
        body(feed, kRss);
      }
    } else if (path == "/br.xml") {
      if (contains_token(accept_encoding, "br")) {
        response.set(http::field::content_encoding, "br");
        body(feed_br, kRss);
      } else {
        body(feed, kRss);
      }
    } else if (path == "/br-bomb.xml") {
      response.set(http::field::content_encoding, "br");
      body(brotli_bomb, kRss);
    } else if (path == "/bomb.xml") {
      response.set(http::field::content_encoding, "gzip");
      body(gzip_bomb(), kRss);
    } else if (path == "/big.xml") {
      body(std::string(kBigBytes, 'x'), kRss);
    } else if (path.starts_with("/chain/")) {
      const int n = std::atoi(path.c_str() + 7);
      redirect(http::status::found, n > 1 ? "/chain/" + std::to_string(n - 1) : "/feed.xml");
    } else if (path == "/moved") {
      redirect(http::status::moved_permanently, "/feed.xml");
    } else if (path == "/moved308") {
      redirect(http::status::permanent_redirect, url_for("127.0.0.1", "/chain/1"));
    } else if (path == "/loop") {
      redirect(http::status::found, "/loop");
    } else if (path == "/to-file") {
      redirect(http::status::found, "file:///etc/passwd");
    } else if (path == "/other-host") {
      redirect(http::status::found, url_for("other.test", "/feed.xml"));
    } else if (path == "/gone") {
      fail(http::status::gone);
    } else if (path == "/error") {
      fail(http::status::internal_server_error);
    } else if (path == "/busy/seconds") {
      response.set(http::field::retry_after, "120");
      fail(http::status::too_many_requests);
    } else if (path == "/busy/date") {
      response.set(http::field::date, "Sun, 06 Nov 1994 08:49:37 GMT");
      response.set(http::field::retry_after, "Sun, 06 Nov 1994 09:49:37 GMT");
      fail(http::status::service_unavailable);
    } else if (path == "/wrong-type") {
      body(page, "text/html; charset=utf-8");
    } else if (path == "/invalid.xml") {
      body(invalid, kRss);
    } else {
      fail(http::status::not_found);
    }
    return response;
  }

  std::string url_for(std::string_view host, std::string_view path) const {
    return "http://" + std::string(host) + ":" + std::to_string(port) + std::string(path);
  }

  const std::string feed, feed_gz, feed_br, brotli_bomb, invalid, page;

  mutable std::mutex mutex;                 // guards everything below it up to the io_context
  mutable std::condition_variable changed;  // a request was recorded or held_now moved
  std::map<std::string, std::vector<RecordedRequest>, std::less<>> recorded;
  std::map<std::string, int, std::less<>> in_flight, peak;
  int in_flight_total = 0;
  int peak_total = 0;
  int held_now = 0;

  bool gate_open = false;  // server thread only
  asio::io_context io{1};
  tcp::acceptor acceptor;
  asio::steady_timer gate;
  std::uint16_t port = 0;
  std::thread thread;
};

HttpTestServer::HttpTestServer() : impl_(std::make_unique<Impl>()) {}
HttpTestServer::~HttpTestServer() = default;

std::uint16_t HttpTestServer::port() const {
  return impl_->port;
}

std::string HttpTestServer::url(std::string_view path) const {
  return impl_->url_for("127.0.0.1", path);
}

std::string HttpTestServer::url(std::string_view host, std::string_view path) const {
  return impl_->url_for(host, path);
}

std::string HttpTestServer::resolve_entry(std::string_view host) const {
  return std::string(host) + ":" + std::to_string(impl_->port) + ":127.0.0.1";
}

int HttpTestServer::count(std::string_view path) const {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->recorded.find(path);
  return it == impl_->recorded.end() ? 0 : static_cast<int>(it->second.size());
}

std::vector<RecordedRequest> HttpTestServer::requests(std::string_view path) const {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->recorded.find(path);
  return it == impl_->recorded.end() ? std::vector<RecordedRequest>{} : it->second;
}

int HttpTestServer::held() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->held_now;
}

bool HttpTestServer::wait_for_count(std::string_view path, int n,
                                    std::chrono::seconds timeout) const {
  std::unique_lock lock(impl_->mutex);
  return impl_->changed.wait_for(lock, timeout, [&] {
    auto it = impl_->recorded.find(path);
    return it != impl_->recorded.end() && static_cast<int>(it->second.size()) >= n;
  });
}

bool HttpTestServer::wait_for_held(int n, std::chrono::seconds timeout) const {
  std::unique_lock lock(impl_->mutex);
  return impl_->changed.wait_for(lock, timeout, [&] { return impl_->held_now >= n; });
}

void HttpTestServer::open_gate() {
  asio::post(impl_->io, [impl = impl_.get()] {
    impl->gate_open = true;
    impl->gate.cancel();
  });
}

int HttpTestServer::max_in_flight(std::string_view host) const {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->peak.find(host);
  return it == impl_->peak.end() ? 0 : it->second;
}

int HttpTestServer::max_in_flight() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->peak_total;
}

}  // namespace feedmerge::test
