#include "fetch/http_fetcher.h"

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "support/http_test_server.h"

namespace {

namespace asio = boost::asio;
using feedmerge::fetch::FetchOptions;
using feedmerge::fetch::FetchOutcome;
using feedmerge::fetch::FetchRequest;
using feedmerge::fetch::FetchResult;
using feedmerge::fetch::HttpFetcher;
using feedmerge::test::HttpTestServer;
using std::chrono::seconds;

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(FEEDMERGE_TEST_DATA) + "/fetch/" + name, std::ios::binary);
  REQUIRE(in);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Runs `io` until `condition` holds. The limit is a safety net so that a broken fetcher fails
// the test instead of hanging it; nothing here measures time.
bool run_until(asio::io_context& io, const std::function<bool()>& condition,
               std::chrono::seconds limit = seconds(60)) {
  if (io.stopped()) io.restart();          // the previous call's work guard ran out
  auto guard = asio::make_work_guard(io);  // keeps run_one_for waiting while the server works
  const auto give_up = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    io.run_one_for(std::chrono::milliseconds(20));
  }
  return true;
}

// Options for tests: short enough that a mistake fails fast, long enough for a loaded machine.
FetchOptions test_options() {
  FetchOptions options;
  options.timeout = seconds(20);
  options.connect_timeout = seconds(10);
  options.user_agent = "feedmerge-test";
  // Everything here is on loopback; the address guard has its own tests (address_guard_test).
  options.allow_private_networks = true;
  return options;
}

// A fetcher with its io_context, collecting completions in the order they arrive.
struct Client {
  explicit Client(FetchOptions options = test_options())
      : fetcher(std::make_unique<HttpFetcher>(io, std::move(options))) {}

  struct Completion {
    std::string tag;
    FetchResult result;
  };

  void start(std::string tag, FetchRequest request) {
    ++started;
    fetcher->fetch(std::move(request), [this, tag = std::move(tag)](FetchResult result) {
      completions.push_back({tag, std::move(result)});
    });
  }

  bool wait_all() {
    return run_until(io, [&] { return completions.size() == std::size_t(started); });
  }

  FetchResult get(FetchRequest request) {
    start("", std::move(request));
    REQUIRE(wait_all());
    return completions.back().result;
  }

  FetchResult get(const std::string& url) { return get(FetchRequest{.url = url}); }

  asio::io_context io;
  std::unique_ptr<HttpFetcher> fetcher;
  std::vector<Completion> completions;
  int started = 0;
};

std::string describe(const FetchResult& r) {
  return std::string(to_string(r.outcome)) + " status=" + std::to_string(r.status) +
         " error=" + r.error;
}

}  // namespace

TEST_CASE("a feed comes back with its body, validators, content type and max-age") {
  HttpTestServer server;
  Client client;
  const FetchResult r = client.get(server.url("/feed.xml"));
  INFO(describe(r));
  CHECK(r.outcome == FetchOutcome::ok);
  CHECK(r.status == 200);
  CHECK(r.body == fixture("feed.xml"));
  CHECK(r.content_type == "application/rss+xml; charset=utf-8");
  CHECK(r.etag == HttpTestServer::kEtag);
  CHECK(r.last_modified == HttpTestServer::kLastModified);
  CHECK(r.max_age == seconds(300));
  CHECK_FALSE(r.retry_after);
  CHECK(r.final_url == server.url("/feed.xml"));
  CHECK(r.permanent_redirect.empty());
  CHECK(r.redirects == 0);
  CHECK(r.error.empty());

  const auto seen = server.requests("/feed.xml");
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].header("User-Agent") == "feedmerge-test");
  CHECK(seen[0].header("If-None-Match").empty());
  CHECK(seen[0].header("If-Modified-Since").empty());
  CHECK(seen[0].header("Accept").find("application/rss+xml") != std::string::npos);
}

TEST_CASE("the stored ETag goes back verbatim and a 304 is not_modified with no body") {
  HttpTestServer server;
  Client client;
  const FetchResult r =
      client.get({.url = server.url("/feed.xml"), .etag = std::string(HttpTestServer::kEtag)});
  INFO(describe(r));
  CHECK(r.outcome == FetchOutcome::not_modified);
  CHECK(r.status == 304);
  CHECK(r.body.empty());
  CHECK(r.etag == HttpTestServer::kEtag);
  CHECK(r.max_age == seconds(300));
  CHECK(r.error.empty());
  const auto seen = server.requests("/feed.xml");
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].header("If-None-Match") == HttpTestServer::kEtag);

  SUBCASE("a weak or odd ETag is not rewritten") {
    const FetchResult changed =
        client.get({.url = server.url("/feed.xml"), .etag = "W/\"feed-v0\"  "});
    CHECK(changed.outcome == FetchOutcome::ok);
    CHECK(server.requests("/feed.xml").back().header("If-None-Match") == "W/\"feed-v0\"");
  }
}

TEST_CASE("the stored Last-Modified goes back verbatim and a bare 304 keeps the stored values") {
  HttpTestServer server;
  Client client;
  const FetchResult first = client.get(server.url("/lm.xml"));
  REQUIRE(first.outcome == FetchOutcome::ok);
  CHECK(first.etag.empty());
  CHECK(first.last_modified == HttpTestServer::kLastModified);

  const FetchResult second =
      client.get({.url = server.url("/lm.xml"), .etag = "", .last_modified = first.last_modified});
  INFO(describe(second));
  CHECK(second.outcome == FetchOutcome::not_modified);
  CHECK(second.body.empty());
  CHECK(second.last_modified == HttpTestServer::kLastModified);  // the 304 repeated none
  CHECK(server.requests("/lm.xml").back().header("If-Modified-Since") ==
        HttpTestServer::kLastModified);
}

TEST_CASE("gzip and brotli bodies come back decoded") {
  HttpTestServer server;
  Client client;
  std::string path;
  SUBCASE("gzip") {
    path = "/gzip.xml";
  }
  SUBCASE("brotli") {
    path = "/br.xml";
  }
  const FetchResult r = client.get(server.url(path));
  INFO(describe(r));
  CHECK(r.outcome == FetchOutcome::ok);
  CHECK(r.body == fixture("feed.xml"));
  const std::string accepted = server.requests(path).at(0).header("Accept-Encoding");
  CHECK(accepted.find("gzip") != std::string::npos);
  CHECK(accepted.find("deflate") != std::string::npos);
  CHECK(accepted.find("br") != std::string::npos);
}

TEST_CASE("a gzip bomb stops at the body cap as too_large") {
  HttpTestServer server;
  FetchOptions options = test_options();
  options.max_body = 1u << 20;
  Client client(options);
  const FetchResult r = client.get(server.url("/bomb.xml"));
  INFO(describe(r));
  CHECK(r.outcome == FetchOutcome::too_large);
  CHECK(r.body.empty());
  CHECK(r.error.find("1048576") != std::string::npos);
}

TEST_CASE("a brotli bomb stops at the body cap as too_large") {
  // CURLOPT_MAXFILESIZE would not stop it on libcurl 7.88: the cap counts decoded bytes.
  HttpTestServer server;
  FetchOptions options = test_options();
  options.max_body = 1u << 20;
  Client client(options);
  const FetchResult r = client.get(server.url("/br-bomb.xml"));
  INFO(describe(r));
  CHECK(r.outcome == FetchOutcome::too_large);
  CHECK(r.body.empty());
}

TEST_CASE("the body cap counts bytes: over it is too_large, exactly at it is accepted") {
  HttpTestServer server;
  FetchOptions options = test_options();
  SUBCASE("one byte under the body") {
    options.max_body = HttpTestServer::kBigBytes - 1;
    Client client(options);
    CHECK(client.get(server.url("/big.xml")).outcome == FetchOutcome::too_large);
  }
  SUBCASE("exactly the body") {
    options.max_body = HttpTestServer::kBigBytes;
    Client client(options);
    const FetchResult r = client.get(server.url("/big.xml"));
    CHECK(r.outcome == FetchOutcome::ok);
    CHECK(r.body.size() == HttpTestServer::kBigBytes);
  }
}

TEST_CASE("a chain of temporary redirects is followed and is not a permanent move") {
  HttpTestServer server;
  Client client;
  const FetchResult r = client.get(server.url("/chain/3"));
  INFO(describe(r));
  CHECK(r.outcome == FetchOutcome::ok);
  CHECK(r.redirects == 3);
  CHECK(r.final_url == server.url("/feed.xml"));
  CHECK(r.permanent_redirect.empty());
  CHECK(r.body == fixture("feed.xml"));
  CHECK(server.count("/chain/1") == 1);
}

TEST_CASE("a redirect chain longer than max_redirects is bad_redirect") {
  HttpTestServer server;
  FetchOptions options = test_options();
  options.max_redirects = 2;
  Client client(options);
  const FetchResult r = client.get(server.url("/chain/3"));
  INFO(describe(r));
  CHECK(r.outcome == FetchOutcome::bad_redirect);
  CHECK(r.status == 302);
  CHECK(server.count("/chain/1") == 1);   // two hops followed ...
  CHECK(server.count("/feed.xml") == 0);  // ... and not the third
}

TEST_CASE("a first-hop permanent redirect reports where it led") {
  HttpTestServer server;
  Client client;
  SUBCASE("301 with a relative Location") {
    const FetchResult r = client.get(server.url("/moved"));
    INFO(describe(r));
    CHECK(r.outcome == FetchOutcome::ok);
    CHECK(r.permanent_redirect == server.url("/feed.xml"));
    CHECK(r.final_url == server.url("/feed.xml"));
    CHECK(r.redirects == 1);
  }
  SUBCASE("308 whose target redirects again: the first hop's target is reported") {
    const FetchResult r = client.get(server.url("/moved308"));
    INFO(describe(r));
    CHECK(r.outcome == FetchOutcome::ok);
    CHECK(r.permanent_redirect == server.url("/chain/1"));
    CHECK(r.final_url == server.url("/feed.xml"));
    CHECK(r.redirects == 2);
  }
}

TEST_CASE("an endless redirect loop ends as bad_redirect after max_redirects hops") {
  HttpTestServer server;
  FetchOptions options = test_options();
  options.max_redirects = 4;
  Client client(options);
  const FetchResult r = client.get(server.url("/loop"));
  INFO(describe(r));
  CHECK(r.outcome == FetchOutcome::bad_redirect);
  CHECK(r.redirects == 4);
  CHECK(server.count("/loop") == 5);
}

TEST_CASE("a redirect to file:// is refused and never followed") {
  HttpTestServer server;
  Client client;
  const FetchResult r = client.get(server.url("/to-file"));
  INFO(describe(r));
  CHECK(r.outcome == FetchOutcome::bad_redirect);
  CHECK(r.error.find("file:///etc/passwd") != std::string::npos);
  CHECK(r.body.empty());
  CHECK(r.permanent_redirect.empty());
  CHECK(r.redirects == 0);
}

TEST_CASE("410 Gone is an http_error carrying the status") {
  HttpTestServer server;
  Client client;
  const FetchResult r = client.get(server.url("/gone"));
  CHECK(r.outcome == FetchOutcome::http_error);
  CHECK(r.status == 410);
  CHECK(r.error == "HTTP 410");
  CHECK(r.body.empty());
}

TEST_CASE("429 and 503 report Retry-After as a duration") {
  HttpTestServer server;
  Client client;
  SUBCASE("delta-seconds") {
    const FetchResult r = client.get(server.url("/busy/seconds"));
    CHECK(r.outcome == FetchOutcome::http_error);
    CHECK(r.status == 429);
    CHECK(r.retry_after == seconds(120));
  }
  SUBCASE("an HTTP date, measured against the response's own Date") {
    const FetchResult r = client.get(server.url("/busy/date"));
    CHECK(r.outcome == FetchOutcome::http_error);
    CHECK(r.status == 503);
    CHECK(r.retry_after == seconds(3600));
  }
}

TEST_CASE("500 is an http_error without Retry-After") {
  HttpTestServer server;
  Client client;
  const FetchResult r = client.get(server.url("/error"));
  CHECK(r.outcome == FetchOutcome::http_error);
  CHECK(r.status == 500);
  CHECK(r.error == "HTTP 500");
  CHECK_FALSE(r.retry_after);
}

TEST_CASE("a slow-drip body is cut off by the low-speed limit") {
  HttpTestServer server;
  FetchOptions options = test_options();
  options.low_speed_bytes = 1000;
  options.low_speed_time = seconds(1);
  Client client(options);
  const FetchResult r = client.get(server.url("/drip.xml"));
  INFO(describe(r));
  CHECK(r.outcome == FetchOutcome::network_error);
  CHECK(r.status == 200);
  CHECK(r.body.empty());
  CHECK_FALSE(r.error.empty());
}

TEST_CASE("a connection reset is a network_error") {
  HttpTestServer server;
  Client client;
  const FetchResult r = client.get(server.url("/reset"));
  INFO(describe(r));
  CHECK(r.outcome == FetchOutcome::network_error);
  CHECK(r.status == 0);
  CHECK_FALSE(r.error.empty());
}

TEST_CASE("a refused connection is a network_error") {
  std::uint16_t closed_port = 0;
  {
    asio::io_context io;
    asio::ip::tcp::acceptor probe(io, {asio::ip::make_address("127.0.0.1"), 0});
    closed_port = probe.local_endpoint().port();
  }  // nothing listens there any more
  Client client;
  const FetchResult r = client.get("http://127.0.0.1:" + std::to_string(closed_port) + "/feed.xml");
  INFO(describe(r));
  CHECK(r.outcome == FetchOutcome::network_error);
}

TEST_CASE("a host name goes through the system resolver") {
  // localhost comes from /etc/hosts, resolved on curl's resolver thread: the socket curl
  // uses to learn that the thread finished is watched like any other.
  HttpTestServer server;
  Client client;
  const FetchResult r = client.get(server.url("localhost", "/feed.xml"));
  INFO(describe(r));
  CHECK(r.outcome == FetchOutcome::ok);
  CHECK(server.requests("/feed.xml").at(0).host == "localhost");
}

TEST_CASE("a wrong content type is reported, not judged") {
  HttpTestServer server;
  Client client;
  const FetchResult r = client.get(server.url("/wrong-type"));
  CHECK(r.outcome == FetchOutcome::ok);
  CHECK(r.content_type == "text/html; charset=utf-8");
  CHECK(r.body == fixture("page.html"));
}

TEST_CASE("invalid XML comes back untouched: parsing is the next stage's job") {
  HttpTestServer server;
  Client client;
  const FetchResult r = client.get(server.url("/invalid.xml"));
  CHECK(r.outcome == FetchOutcome::ok);
  CHECK(r.body == fixture("invalid.xml"));
}

TEST_CASE("a URL that is not http(s) with a host is bad_url and sends nothing") {
  Client client;
  for (const char* url : {"file:///etc/passwd", "ftp://127.0.0.1/feed.xml", "not a url", ""}) {
    const FetchResult r = client.get(url);
    INFO(url << ": " << describe(r));
    CHECK(r.outcome == FetchOutcome::bad_url);
  }
}

// The configured headers stop at the origin they were configured for too (issue 17): this
// test used to expect X-Feed-Client to follow the redirect to other.test.
TEST_CASE("credentials go to the original host only, not across a redirect") {
  HttpTestServer server;
  FetchOptions options = test_options();
  options.resolve = {server.resolve_entry("other.test")};
  Client client(options);
  const FetchResult r =
      client.get({.url = server.url("/other-host"),
                  .headers = {{"Authorization", "Bearer token"}, {"X-Feed-Client", "test"}},
                  .username = "user",
                  .password = "secret"});
  INFO(describe(r));
  CHECK(r.outcome == FetchOutcome::ok);
  CHECK(r.final_url == server.url("other.test", "/feed.xml"));
  const auto first = server.requests("/other-host").at(0);
  CHECK(first.header("Authorization").find("Bearer token") != std::string::npos);
  const auto moved = server.requests("/feed.xml").at(0);
  CHECK(moved.host == "other.test");
  CHECK(moved.header("Authorization").empty());
  CHECK(moved.header("X-Feed-Client").empty());
}

TEST_CASE("configured headers, Basic auth and cookies never reach another port of the same host") {
  HttpTestServer server;
  HttpTestServer other;  // another origin: 127.0.0.1, another port
  Client client;
  const FetchResult r =
      client.get({.url = server.url("/redir?code=302&to=" + other.url("/feed.xml")),
                  .headers = {{"X-Api-Key", "k3y"}, {"Cookie", "session=abc"}},
                  .username = "alice",
                  .password = "S3cretPa55"});
  INFO(describe(r));
  CHECK(r.outcome == FetchOutcome::ok);
  const auto first = server.requests("/redir").at(0);
  CHECK(first.header("X-Api-Key") == "k3y");
  CHECK(first.header("Cookie") == "session=abc");
  CHECK(first.header("Authorization").starts_with("Basic "));
  const auto moved = other.requests("/feed.xml").at(0);
  CHECK(moved.header("X-Api-Key").empty());
  CHECK(moved.header("Cookie").empty());
  CHECK(moved.header("Authorization").empty());
}

TEST_CASE("a redirect within the origin keeps the configured headers and Basic auth") {
  HttpTestServer server;
  Client client;
  const FetchResult r = client.get({.url = server.url("/moved"),
                                    .headers = {{"X-Api-Key", "k3y"}},
                                    .username = "alice",
                                    .password = "S3cretPa55"});
  INFO(describe(r));
  CHECK(r.outcome == FetchOutcome::ok);
  const auto moved = server.requests("/feed.xml").at(0);
  CHECK(moved.header("X-Api-Key") == "k3y");
  CHECK(moved.header("Authorization").starts_with("Basic "));
}

TEST_CASE("credentials configured for one URL are not sent to an adopted URL on another origin") {
  HttpTestServer server;
  HttpTestServer other;
  Client client;
  const FetchRequest credentials{.headers = {{"X-Api-Key", "k3y"}},
                                 .username = "alice",
                                 .password = "S3cretPa55",
                                 .credentials_url = server.url("/old.xml")};
  SUBCASE("another port") {
    FetchRequest request = credentials;
    request.url = other.url("/feed.xml");
    CHECK(client.get(request).outcome == FetchOutcome::ok);
    const auto seen = other.requests("/feed.xml").at(0);
    CHECK(seen.header("X-Api-Key").empty());
    CHECK(seen.header("Authorization").empty());
  }
  SUBCASE("https configured, plain http adopted: the same host and port, another scheme") {
    FetchRequest request = credentials;
    request.credentials_url = "https://127.0.0.1:" + std::to_string(server.port()) + "/old.xml";
    request.url = server.url("/feed.xml");
    CHECK(client.get(request).outcome == FetchOutcome::ok);
    const auto seen = server.requests("/feed.xml").at(0);
    CHECK(seen.header("X-Api-Key").empty());
    CHECK(seen.header("Authorization").empty());
  }
  SUBCASE("the configured origin, another path") {
    FetchRequest request = credentials;
    request.url = server.url("/feed.xml");
    CHECK(client.get(request).outcome == FetchOutcome::ok);
    const auto seen = server.requests("/feed.xml").at(0);
    CHECK(seen.header("X-Api-Key") == "k3y");
    CHECK(seen.header("Authorization").starts_with("Basic "));
  }
}

TEST_CASE("an origin is scheme, host and port: https to http is another origin") {
  using feedmerge::fetch::same_origin;
  CHECK_FALSE(same_origin("https://feeds.example/a", "http://feeds.example/a"));
  CHECK_FALSE(same_origin("https://feeds.example:443/a", "http://feeds.example:443/a"));
  CHECK_FALSE(same_origin("https://feeds.example/", "https://feeds.example:8443/"));
  CHECK_FALSE(same_origin("https://feeds.example/", "https://other.example/"));
  CHECK(same_origin("https://Feeds.Example/a", "https://feeds.example:443/b?c"));
  CHECK_FALSE(same_origin("file:///etc/passwd", "file:///etc/passwd"));
}

TEST_CASE("the proxy option sends requests through the proxy") {
  HttpTestServer server;
  FetchOptions options = test_options();
  options.proxy = server.url("");
  Client client(options);
  // No such host exists: only the proxy (the test server) is ever contacted.
  const FetchResult r = client.get("http://feeds.example.invalid/feed.xml");
  INFO(describe(r));
  CHECK(r.outcome == FetchOutcome::ok);
  const auto seen = server.requests("/feed.xml");
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].target == "http://feeds.example.invalid/feed.xml");
  CHECK(seen[0].host == "feeds.example.invalid");
}

TEST_CASE("a hung feed does not hold the others back") {
  HttpTestServer server;
  FetchOptions options = test_options();
  options.timeout = seconds(3);
  options.concurrency = 2;  // the hung feed takes one slot; five feeds share the other
  options.per_host = 1;
  const std::vector<std::string> hosts = {"a.test", "b.test", "c.test", "d.test", "e.test"};
  options.resolve.push_back(server.resolve_entry("hung.test"));
  for (const auto& host : hosts)
    options.resolve.push_back(server.resolve_entry(host));
  Client client(options);

  client.start("hung", {.url = server.url("hung.test", "/hold/forever")});
  for (const auto& host : hosts)
    client.start(host, {.url = server.url(host, "/feed.xml")});
  REQUIRE(client.wait_all());

  REQUIRE(client.completions.size() == 6);
  for (std::size_t i = 0; i < 5; ++i) {
    INFO(client.completions[i].tag << ": " << describe(client.completions[i].result));
    CHECK(client.completions[i].tag != "hung");
    CHECK(client.completions[i].result.outcome == FetchOutcome::ok);
  }
  CHECK(client.completions[5].tag == "hung");
  CHECK(client.completions[5].result.outcome == FetchOutcome::network_error);
  CHECK(server.held() == 1);  // the server never answered it
}

TEST_CASE("per_host and concurrency limits hold as the server sees them") {
  HttpTestServer server;
  FetchOptions options = test_options();
  options.concurrency = 3;
  options.per_host = 2;
  options.resolve = {server.resolve_entry("a.test"), server.resolve_entry("b.test")};
  Client client(options);
  for (int i = 0; i < 4; ++i)
    client.start("a", {.url = server.url("a.test", "/hold/a" + std::to_string(i))});
  for (int i = 0; i < 4; ++i)
    client.start("b", {.url = server.url("b.test", "/hold/b" + std::to_string(i))});

  // Oldest first: two for a.test (its limit), then one for b.test (the global limit).
  REQUIRE(run_until(client.io, [&] { return server.held() == 3; }));
  CHECK(server.count("/hold/a0") == 1);
  CHECK(server.count("/hold/a1") == 1);
  CHECK(server.count("/hold/a2") == 0);
  CHECK(server.count("/hold/b0") == 1);

  server.open_gate();
  REQUIRE(client.wait_all());
  for (const auto& c : client.completions)
    CHECK(c.result.outcome == FetchOutcome::ok);
  // Once the gate is open responses come at once, so b.test may never have two at a time.
  CHECK(server.max_in_flight("a.test") == 2);
  CHECK(server.max_in_flight("b.test") <= 2);
  CHECK(server.max_in_flight() == 3);
}

TEST_CASE("cancel_all completes running and queued requests with cancelled") {
  HttpTestServer server;
  FetchOptions options = test_options();
  options.concurrency = 1;
  Client client(options);
  client.start("running", {.url = server.url("/hold/running")});
  client.start("queued-1", {.url = server.url("/feed.xml")});
  client.start("queued-2", {.url = server.url("/feed.xml")});
  REQUIRE(run_until(client.io, [&] { return server.held() == 1; }));

  client.fetcher->cancel_all();
  REQUIRE(client.wait_all());
  for (const auto& c : client.completions) {
    INFO(c.tag);
    CHECK(c.result.outcome == FetchOutcome::cancelled);
  }
  CHECK(server.count("/feed.xml") == 0);

  SUBCASE("the fetcher still works afterwards") {
    CHECK(client.get(server.url("/feed.xml")).outcome == FetchOutcome::ok);
  }
}

TEST_CASE("destroying the fetcher completes pending requests with cancelled") {
  HttpTestServer server;
  FetchOptions options = test_options();
  options.concurrency = 1;
  Client client(options);
  client.start("running", {.url = server.url("/hold/running")});
  client.start("queued", {.url = server.url("/feed.xml")});
  REQUIRE(run_until(client.io, [&] { return server.held() == 1; }));

  client.fetcher.reset();
  REQUIRE(client.completions.size() == 2);
  for (const auto& c : client.completions)
    CHECK(c.result.outcome == FetchOutcome::cancelled);
  client.io.restart();
  client.io.run();  // leftover handlers find the fetcher gone and do nothing
}

TEST_CASE("many feeds on one connection-reusing host all complete") {
  HttpTestServer server;
  Client client;
  for (int i = 0; i < 40; ++i)
    client.start(std::to_string(i), {.url = server.url("/gzip.xml")});
  REQUIRE(client.wait_all());
  for (const auto& c : client.completions) {
    INFO(c.tag << ": " << describe(c.result));
    CHECK(c.result.outcome == FetchOutcome::ok);
    CHECK(c.result.body == fixture("feed.xml"));
  }
  CHECK(server.max_in_flight("127.0.0.1") <= 2);
}

TEST_CASE("fetches complete when several threads run the io_context") {
  HttpTestServer server;
  asio::io_context io;
  auto guard = asio::make_work_guard(io);
  HttpFetcher fetcher(io, test_options());
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<FetchResult> results;
  constexpr int kFeeds = 24;
  for (int i = 0; i < kFeeds; ++i) {
    const char* path = i % 3 == 0 ? "/gzip.xml" : i % 3 == 1 ? "/chain/2" : "/br.xml";
    fetcher.fetch({.url = server.url(path)}, [&](FetchResult result) {
      std::lock_guard lock(mutex);
      results.push_back(std::move(result));
      changed.notify_all();
    });
  }
  std::vector<std::thread> pool;
  for (int i = 0; i < 3; ++i)
    pool.emplace_back([&] { io.run(); });
  {
    std::unique_lock lock(mutex);
    // The limit only keeps a broken fetcher from hanging the suite.
    CHECK(changed.wait_for(lock, seconds(60), [&] { return results.size() == kFeeds; }));
  }
  guard.reset();
  io.stop();
  for (auto& thread : pool)
    thread.join();
  for (const auto& r : results) {
    INFO(describe(r));
    CHECK(r.outcome == FetchOutcome::ok);
    CHECK(r.body == fixture("feed.xml"));
  }
}
