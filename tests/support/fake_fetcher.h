// A scripted fetch::Fetcher for daemon tests: responses per URL, no network. Each completion is
// posted to the io_context as a handler of its own, as the HttpFetcher's are; every request is
// recorded. Every public member may be called from any thread.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "feedmerge/fetch/fetcher.h"

namespace feedmerge::test {

class FakeFetcher final : public fetch::Fetcher {
 public:
  // Answers a request; called on the fetching thread, under no lock of the fetcher's.
  using Responder = std::function<fetch::FetchResult(const fetch::FetchRequest&)>;

  explicit FakeFetcher(boost::asio::io_context& io) : io_(io) {}

  // Every request for `url` gets `result` (final_url defaults to the URL).
  void respond(const std::string& url, fetch::FetchResult result);
  // Every request for `url` is answered by `responder`.
  void respond(const std::string& url, Responder responder);
  // Requests for `url` wait until release(url) or cancel_all().
  void hold(const std::string& url);
  void release(const std::string& url);

  void fetch(fetch::FetchRequest request, std::function<void(fetch::FetchResult)> done) override;
  void cancel_all() override;

  // Requests made for `url`, in order; and how many were made for any URL.
  std::vector<fetch::FetchRequest> requests(const std::string& url) const;
  int count(const std::string& url) const;
  int count() const;
  int held() const;

  // A 200 with `body` as HttpFetcher reports one (the content type, no validators).
  static fetch::FetchResult ok(std::string body, std::string content_type = "application/xml");

 private:
  struct Held {
    fetch::FetchRequest request;
    std::function<void(fetch::FetchResult)> done;
  };
  fetch::FetchResult answer(const fetch::FetchRequest& request) const;
  void complete(std::function<void(fetch::FetchResult)> done, fetch::FetchResult result);

  boost::asio::io_context& io_;
  mutable std::mutex mutex_;
  std::map<std::string, Responder> responders_;
  std::map<std::string, bool> holding_;
  std::deque<Held> held_;
  std::vector<fetch::FetchRequest> requests_;
};

}  // namespace feedmerge::test
