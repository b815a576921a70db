// What the poller trusts across polls (issue 17): a permanent redirect never widens the
// address guard's trust, and a feed's headers and credentials stay with the origin the config
// names, also once a move to another origin has been adopted. Two loopback servers stand for
// two hosts; an injected classifier says which of them is "metadata", "public" or "local" by
// port, so nothing here connects anywhere but 127.0.0.1.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>

#include <doctest/doctest.h>
#include <boost/asio/io_context.hpp>

#include "daemon/poller.h"
#include "daemon/test_config.h"
#include "feedmerge/daemon/daemon.h"
#include "feedmerge/report/feeds.h"
#include "feedmerge/store/store.h"
#include "store/temp_folder.h"
#include "support/http_test_server.h"

namespace feedmerge::daemon {
namespace {

// `feeds` as the CLI reads it: the config's database, read-only.
Result<std::vector<report::FeedReport>> feed_reports(const config::Config& config,
                                                     model::Time now) {
  return report::feed_reports(config, database_path(config), now);
}
using report::feeds_json;
using report::feeds_text;

using fetch::AddressClass;
using test::HttpTestServer;
using test::TempFolder;

std::uint16_t port_of(const sockaddr* address) {
  if (address->sa_family == AF_INET) {
    sockaddr_in v4{};
    std::memcpy(&v4, address, sizeof v4);
    return ntohs(v4.sin_port);
  }
  if (address->sa_family == AF_INET6) {
    sockaddr_in6 v6{};
    std::memcpy(&v6, address, sizeof v6);
    return ntohs(v6.sin6_port);
  }
  return 0;
}

using AdjustFetchOptions = std::function<void(fetch::FetchOptions&)>;

// One `once --all` through a Poller, so the test can adjust the fetcher's options.
void poll_all(const config::Config& config, const AdjustFetchOptions& adjust = {}) {
  boost::asio::io_context io;
  auto store = open_store(config);
  REQUIRE(store.has_value());
  fetch::FetchOptions fetching = fetch_options(config.poll);
  if (adjust) adjust(fetching);
  auto poller = Poller::create(
      io, config, std::move(*store),
      {.parse_threads = 1, .fetcher = std::make_shared<fetch::HttpFetcher>(io, fetching)});
  REQUIRE(poller.has_value());
  (*poller)->start_once(true, [&io] { io.stop(); });
  io.run();
  poller->reset();
}

store::FeedState feed_state(const config::Config& config, const std::string& url) {
  auto store = store::open_sqlite(config.storage.database, store::OpenMode::read_only);
  REQUIRE(store.has_value());
  auto found = (*store)->find_feed(url);
  REQUIRE(found.has_value());
  REQUIRE(found->has_value());
  return **found;
}

}  // namespace

TEST_CASE("a permanent redirect the address guard refuses is never adopted, however often seen") {
  HttpTestServer feed_host;
  HttpTestServer target;  // the metadata service, or the machine's own admin port
  TempFolder folder;
  AddressClass feed_class = AddressClass::loopback;
  AddressClass target_class = AddressClass::cloud_metadata;
  SUBCASE("a local feed redirected to cloud metadata") {
    feed_class = AddressClass::loopback;
    target_class = AddressClass::cloud_metadata;
  }
  SUBCASE("a public feed redirected to the machine itself") {
    feed_class = AddressClass::public_address;
    target_class = AddressClass::loopback;
  }
  const std::string url =
      feed_host.url("/redir?code=301&to=" + target.url("/latest/meta-data/iam/"));
  const config::Config config = make_test_config(folder, {url});
  const AdjustFetchOptions options = [port = target.port(), feed_class,
                                      target_class](fetch::FetchOptions& fetching) {
    fetching.classify_address = [=](const sockaddr* address) {
      return port_of(address) == port ? target_class : feed_class;
    };
  };
  for (int poll = 1; poll <= kRedirectPollsToAdopt + 2; ++poll) {
    poll_all(config, options);
    const store::FeedState state = feed_state(config, url);
    INFO("poll ", poll, ": ", state.last_error);
    CHECK(state.fetch_url.empty());
    CHECK(state.pending_redirect_polls == 0);
    CHECK(state.last_error.find("refused to connect") != std::string::npos);
  }
  CHECK(feed_host.count("/redir") == kRedirectPollsToAdopt + 2);
  CHECK(target.count("/latest/meta-data/iam/") == 0);
}

TEST_CASE("an adopted URL is checked like a redirect target, and dropped when it turns local") {
  HttpTestServer feed_host;
  HttpTestServer moved_host;  // another host name: moved.test, mapped to 127.0.0.1
  TempFolder folder;
  const std::string moved_url = moved_host.url("moved.test", "/feed.xml");
  const std::string url = feed_host.url("/redir?code=301&to=" + moved_url);
  const config::Config config = make_test_config(folder, {url});
  // Both hosts are public until the moved one's name starts to resolve to a local address.
  auto moved_is_local = std::make_shared<std::atomic<bool>>(false);
  const AdjustFetchOptions options =
      [moved_is_local, port = moved_host.port(),
       resolve = moved_host.resolve_entry("moved.test")](fetch::FetchOptions& fetching) {
        fetching.resolve = {resolve};
        fetching.classify_address = [=](const sockaddr* address) {
          return port_of(address) == port && *moved_is_local ? AddressClass::loopback
                                                             : AddressClass::public_address;
        };
      };
  for (int poll = 1; poll <= kRedirectPollsToAdopt; ++poll)
    poll_all(config, options);
  REQUIRE(feed_state(config, url).fetch_url == moved_url);
  REQUIRE(moved_host.count("/feed.xml") == kRedirectPollsToAdopt);

  *moved_is_local = true;
  poll_all(config, options);
  const store::FeedState state = feed_state(config, url);
  INFO(state.last_error);
  CHECK(state.last_error.find("127.0.0.1 (loopback)") != std::string::npos);
  CHECK(moved_host.count("/feed.xml") == kRedirectPollsToAdopt);  // refused before connecting
  CHECK(state.fetch_url.empty());  // the next poll asks the configured URL again
  poll_all(config, options);
  CHECK(feed_host.count("/redir") == kRedirectPollsToAdopt + 1);
}

TEST_CASE("a local feed's move within its own host is adopted and still polled") {
  HttpTestServer server;
  TempFolder folder;
  const std::string url = server.url("/redir?code=301&to=" + server.url("/feed.xml"));
  const config::Config config = make_test_config(folder, {url});
  for (int poll = 1; poll <= kRedirectPollsToAdopt + 1; ++poll)
    poll_all(config);
  const store::FeedState state = feed_state(config, url);
  INFO(state.last_error);
  CHECK(state.fetch_url == server.url("/feed.xml"));
  CHECK(state.consecutive_failures == 0);
  CHECK(server.count("/feed.xml") == kRedirectPollsToAdopt + 1);
}

TEST_CASE("headers and Basic auth stay with the configured origin after a move is adopted") {
  HttpTestServer feed_host;
  HttpTestServer moved_host;  // another origin: the same address, another port
  TempFolder folder;
  const std::string url = feed_host.url("/redir?code=301&to=" + moved_host.url("/feed.xml"));
  config::Config config = make_test_config(folder, {url});
  config.poll.allow_private_networks = true;  // both "hosts" are loopback
  config.feeds[0].headers = {{"X-Api-Key", "k3y"}};
  config.feeds[0].username = "alice";
  config.feeds[0].password_file = folder.file("password");
  std::ofstream(config.feeds[0].password_file) << "S3cretPa55\n";
  for (int poll = 1; poll <= kRedirectPollsToAdopt + 1; ++poll)
    poll_all(config);
  REQUIRE(feed_state(config, url).fetch_url == moved_host.url("/feed.xml"));

  const auto configured = feed_host.requests("/redir");
  REQUIRE(configured.size() == kRedirectPollsToAdopt);
  CHECK(configured[0].header("X-Api-Key") == "k3y");
  CHECK(configured[0].header("Authorization").starts_with("Basic "));
  const auto moved = moved_host.requests("/feed.xml");
  REQUIRE(moved.size() == kRedirectPollsToAdopt + 1);  // three redirect hops, one adopted poll
  for (const auto& request : moved) {
    CHECK(request.header("X-Api-Key").empty());
    CHECK(request.header("Authorization").empty());
  }

  auto reports = feed_reports(
      config, std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
  REQUIRE(reports.has_value());
  CHECK((*reports)[0].credentials_withheld);
  CHECK(feeds_text(*reports,
                   std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()))
            .find("credentials:  withheld") != std::string::npos);
  CHECK(feeds_json(*reports).find("\"credentials_withheld\":true") != std::string::npos);
}

}  // namespace feedmerge::daemon
