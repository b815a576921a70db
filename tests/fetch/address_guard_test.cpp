#include "feedmerge/fetch/address_guard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <doctest/doctest.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "fetch/http_fetcher.h"
#include "support/http_test_server.h"

namespace {

namespace asio = boost::asio;
using feedmerge::fetch::AddressClass;
using feedmerge::fetch::classify_address;
using feedmerge::fetch::FetchOptions;
using feedmerge::fetch::FetchOutcome;
using feedmerge::fetch::FetchRequest;
using feedmerge::fetch::FetchResult;
using feedmerge::fetch::HttpFetcher;
using feedmerge::test::HttpTestServer;

AddressClass classify(const std::string& text) {
  sockaddr_storage storage{};
  if (text.find(':') == std::string::npos) {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
    v4->sin_family = AF_INET;
    REQUIRE(inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1);
  } else {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
    v6->sin6_family = AF_INET6;
    REQUIRE(inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1);
  }
  return classify_address(reinterpret_cast<const sockaddr*>(&storage));
}

// One fetch, run to completion; the limit only turns a hang into a failure.
FetchResult fetch(FetchOptions options, FetchRequest request) {
  asio::io_context io;
  HttpFetcher fetcher(io, std::move(options));
  std::optional<FetchResult> result;
  fetcher.fetch(std::move(request), [&](FetchResult r) { result = std::move(r); });
  auto guard = asio::make_work_guard(io);
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!result && std::chrono::steady_clock::now() < give_up)
    io.run_one_for(std::chrono::milliseconds(20));
  REQUIRE(result);
  return *result;
}

// The test server listens on 127.0.0.1 only, so the classifier is injected: 127.0.0.1 counts as
// a public address and any other address as `other`. A host mapped to 127.0.0.2 is then a
// "local" target that nothing ever connects to when the guard works.
std::function<AddressClass(const sockaddr*)> public_is_127_0_0_1(AddressClass other) {
  return [other](const sockaddr* address) {
    return feedmerge::fetch::address_text(address) == "127.0.0.1" ? AddressClass::public_address
                                                                  : other;
  };
}

// public.test is 127.0.0.1; other.test is 127.0.0.1 too, or 127.0.0.2 with `other_elsewhere`.
FetchOptions guarded(const HttpTestServer& server, bool other_elsewhere = false) {
  FetchOptions options;
  options.timeout = std::chrono::seconds(20);
  options.resolve = {server.resolve_entry("public.test"), server.resolve_entry("other.test")};
  if (other_elsewhere)
    options.resolve[1] = "other.test:" + std::to_string(server.port()) + ":127.0.0.2";
  return options;
}

}  // namespace

TEST_CASE("the address classifier knows loopback, private, link-local and metadata ranges") {
  CHECK(classify("93.184.216.34") == AddressClass::public_address);
  CHECK(classify("2606:2800:220:1:248:1893:25c8:1946") == AddressClass::public_address);
  CHECK(classify("127.0.0.1") == AddressClass::loopback);
  CHECK(classify("127.200.0.9") == AddressClass::loopback);
  CHECK(classify("::1") == AddressClass::loopback);
  CHECK(classify("10.1.2.3") == AddressClass::private_network);
  CHECK(classify("172.16.0.1") == AddressClass::private_network);
  CHECK(classify("172.31.255.255") == AddressClass::private_network);
  CHECK(classify("172.32.0.1") == AddressClass::public_address);
  CHECK(classify("192.168.1.1") == AddressClass::private_network);
  CHECK(classify("100.64.0.1") == AddressClass::private_network);
  CHECK(classify("0.0.0.0") == AddressClass::private_network);
  CHECK(classify("::") == AddressClass::private_network);
  CHECK(classify("fd12:3456::1") == AddressClass::private_network);
  CHECK(classify("169.254.1.1") == AddressClass::link_local);
  CHECK(classify("fe80::1") == AddressClass::link_local);
  CHECK(classify("169.254.169.254") == AddressClass::cloud_metadata);
  CHECK(classify("fd00:ec2::254") == AddressClass::cloud_metadata);
  CHECK(classify("100.100.100.200") == AddressClass::cloud_metadata);
  CHECK(classify("224.0.0.1") == AddressClass::other_special);
  CHECK(classify("255.255.255.255") == AddressClass::other_special);
}

TEST_CASE("IPv4-mapped and NAT64 IPv6 addresses are judged as the IPv4 address they carry") {
  CHECK(classify("::ffff:127.0.0.1") == AddressClass::loopback);
  CHECK(classify("::ffff:10.0.0.1") == AddressClass::private_network);
  CHECK(classify("::ffff:169.254.169.254") == AddressClass::cloud_metadata);
  CHECK(classify("::ffff:93.184.216.34") == AddressClass::public_address);
  CHECK(classify("64:ff9b::a9fe:a9fe") == AddressClass::cloud_metadata);
}

TEST_CASE("a redirect from a public address to a local one is refused before connecting") {
  HttpTestServer server;
  AddressClass target = AddressClass::private_network;
  SUBCASE("private") {
    target = AddressClass::private_network;
  }
  SUBCASE("loopback") {
    target = AddressClass::loopback;
  }
  SUBCASE("link-local") {
    target = AddressClass::link_local;
  }
  SUBCASE("cloud metadata") {
    target = AddressClass::cloud_metadata;
  }
  FetchOptions options = guarded(server, true);
  options.classify_address = public_is_127_0_0_1(target);
  const FetchResult r =
      fetch(options, {.url = server.url("public.test", "/other-host"), .config_named = true});
  INFO(r.error);
  CHECK(r.outcome == FetchOutcome::refused_address);
  CHECK(r.error.find(to_string(target)) != std::string::npos);
  CHECK(r.error.find("allow_private_networks") != std::string::npos);
  CHECK(r.error.find("other.test") != std::string::npos);
  CHECK(server.count("/other-host") == 1);
  CHECK(server.count("/feed.xml") == 0);  // refused on the address, before any byte was sent
}

TEST_CASE("allow_private_networks lets a redirect into a private network through") {
  HttpTestServer server;
  FetchOptions options = guarded(server);
  options.classify_address = [](const sockaddr*) { return AddressClass::private_network; };
  options.allow_private_networks = true;
  const FetchResult r = fetch(options, {.url = server.url("public.test", "/other-host")});
  INFO(r.error);
  CHECK(r.outcome == FetchOutcome::ok);
  CHECK(server.count("/feed.xml") == 1);
}

TEST_CASE("a DNS answer pointing a URL the config does not name at loopback is refused") {
  // The real classifier: public.test resolves (CURLOPT_RESOLVE) to 127.0.0.1.
  HttpTestServer server;
  const FetchResult r = fetch(
      guarded(server), {.url = server.url("public.test", "/feed.xml"), .config_named = false});
  INFO(r.error);
  CHECK(r.outcome == FetchOutcome::refused_address);
  CHECK(r.error.find("127.0.0.1 (loopback)") != std::string::npos);
  CHECK(server.count("/feed.xml") == 0);
}

TEST_CASE("a feed URL the config names may be local, and so may its local redirects") {
  HttpTestServer server;
  const FetchResult r =
      fetch(guarded(server), {.url = server.url("public.test", "/chain/2"), .config_named = true});
  INFO(r.error);
  CHECK(r.outcome == FetchOutcome::ok);
  CHECK(r.redirects == 2);
  CHECK(server.count("/feed.xml") == 1);
}

TEST_CASE("a local chain may still not redirect to a cloud metadata address") {
  HttpTestServer server;
  FetchOptions options = guarded(server, true);
  options.classify_address = [](const sockaddr* address) {
    return feedmerge::fetch::address_text(address) == "127.0.0.1" ? AddressClass::loopback
                                                                  : AddressClass::cloud_metadata;
  };
  const FetchResult r =
      fetch(options, {.url = server.url("public.test", "/other-host"), .config_named = true});
  INFO(r.error);
  CHECK(r.outcome == FetchOutcome::refused_address);
  CHECK(r.error.find("cloud metadata") != std::string::npos);
  CHECK(server.count("/feed.xml") == 0);
}

TEST_CASE("a redirect to file:// is refused whatever the address guard allows") {
  HttpTestServer server;
  FetchOptions options = guarded(server);
  options.allow_private_networks = true;
  const FetchResult r = fetch(options, {.url = server.url("public.test", "/to-file")});
  CHECK(r.outcome == FetchOutcome::bad_redirect);
  CHECK(r.error.find("not http(s)") != std::string::npos);
}

TEST_CASE("a redirect cannot ride a kept-alive connection to a local feed's host") {
  // The first fetch (a config-named local feed) leaves a connection to other.test in curl's
  // pool; the second, from a public address, redirects to other.test. A reused connection
  // never passes CURLOPT_OPENSOCKETFUNCTION: the guard must still see it (CURLOPT_PREREQFUNCTION).
  HttpTestServer server;
  auto public_checks = std::make_shared<std::atomic<int>>(-1);  // < 0: everything is loopback
  FetchOptions options = guarded(server);
  options.classify_address = [public_checks](const sockaddr*) {
    // Phase two: the public hop is checked twice (at connect and before its request); what
    // follows is the redirect to other.test, over the pooled connection: local.
    if (*public_checks < 0) return AddressClass::loopback;
    return (*public_checks)++ < 2 ? AddressClass::public_address : AddressClass::loopback;
  };
  asio::io_context io;
  HttpFetcher fetcher(io, options);
  auto run = [&](FetchRequest request) {
    std::optional<FetchResult> result;
    fetcher.fetch(std::move(request), [&](FetchResult r) { result = std::move(r); });
    auto guard = asio::make_work_guard(io);
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!result && std::chrono::steady_clock::now() < give_up)
      io.run_one_for(std::chrono::milliseconds(20));
    REQUIRE(result);
    return *result;
  };
  const FetchResult local =
      run({.url = server.url("other.test", "/feed.xml"), .config_named = true});
  REQUIRE(local.outcome == FetchOutcome::ok);
  *public_checks = 0;
  const FetchResult r = run({.url = server.url("public.test", "/other-host")});
  INFO(r.error);
  CHECK(r.outcome == FetchOutcome::refused_address);
  CHECK(server.count("/feed.xml") == 1);  // only the local feed's own fetch
}

TEST_CASE("a cloud metadata or link-local address is refused even for a config-named URL") {
  HttpTestServer server;
  AddressClass target = AddressClass::cloud_metadata;
  bool allow_private = false;
  SUBCASE("cloud metadata") {
    target = AddressClass::cloud_metadata;
  }
  SUBCASE("link-local") {
    target = AddressClass::link_local;
  }
  SUBCASE("cloud metadata, allow_private_networks set") {
    target = AddressClass::cloud_metadata;
    allow_private = true;
  }
  SUBCASE("link-local, allow_private_networks set") {
    target = AddressClass::link_local;
    allow_private = true;
  }
  FetchOptions options = guarded(server);
  options.allow_private_networks = allow_private;
  options.classify_address = [target](const sockaddr*) { return target; };
  const FetchResult r =
      fetch(options, {.url = server.url("public.test", "/feed.xml"), .config_named = true});
  INFO(r.error);
  CHECK(r.outcome == FetchOutcome::refused_address);
  CHECK(r.error.find(to_string(target)) != std::string::npos);
  CHECK(r.error.find("never fetched") != std::string::npos);
  CHECK(server.count("/feed.xml") == 0);
}

TEST_CASE("through a proxy, a URL naming a metadata address is refused before anything is sent") {
  // The proxy is the test server: were the URL let through, the request would land there
  // (recorded) and nothing would ever leave loopback.
  HttpTestServer proxy;
  FetchOptions options;
  options.timeout = std::chrono::seconds(20);
  options.proxy = proxy.url("");
  std::string url;
  SUBCASE("IPv4") {
    url = "http://169.254.169.254/latest/meta-data/";
  }
  SUBCASE("IPv4 written as one number") {
    url = "http://2852039166/latest/meta-data/";
  }
  SUBCASE("Alibaba Cloud") {
    url = "http://100.100.100.200/latest/meta-data/";
  }
  SUBCASE("IPv6") {
    url = "http://[fd00:ec2::254]/latest/meta-data/";
  }
  SUBCASE("IPv6 link-local") {
    url = "http://[fe80::1]/latest/meta-data/";
  }
  SUBCASE("a metadata host name") {
    url = "http://metadata.google.internal./latest/meta-data/";
  }
  SUBCASE("reached by a redirect") {
    url = proxy.url("/redir?code=302&to=http://169.254.169.254/latest/meta-data/");
  }
  options.allow_private_networks = true;
  const FetchResult r = fetch(options, {.url = url, .config_named = true});
  INFO(r.error);
  CHECK(r.outcome == FetchOutcome::refused_address);
  CHECK(r.error.find("never fetched") != std::string::npos);
  CHECK(proxy.count("/latest/meta-data/") == 0);
}

TEST_CASE("a chain through a local address reports it, so the daemon does not adopt it") {
  HttpTestServer server;
  FetchOptions options = guarded(server);
  SUBCASE("local by redirect") {
    const FetchResult r =
        fetch(options, {.url = server.url("public.test", "/other-host"), .config_named = true});
    INFO(r.error);
    CHECK(r.outcome == FetchOutcome::ok);
    CHECK(r.local_by_redirect);
  }
  SUBCASE("public all along") {
    options.classify_address = [](const sockaddr*) { return AddressClass::public_address; };
    const FetchResult r =
        fetch(options, {.url = server.url("public.test", "/other-host"), .config_named = true});
    CHECK(r.outcome == FetchOutcome::ok);
    CHECK_FALSE(r.local_by_redirect);
  }
}
