#include "support/fake_fetcher.h"

#include <algorithm>
#include <utility>

#include <boost/asio/post.hpp>

namespace feedmerge::test {

void FakeFetcher::respond(const std::string& url, fetch::FetchResult result) {
  respond(url, [result = std::move(result)](const fetch::FetchRequest&) { return result; });
}

void FakeFetcher::respond(const std::string& url, Responder responder) {
  std::lock_guard lock(mutex_);
  responders_[url] = std::move(responder);
}

void FakeFetcher::hold(const std::string& url) {
  std::lock_guard lock(mutex_);
  holding_[url] = true;
}

void FakeFetcher::release(const std::string& url) {
  std::vector<Held> released;
  {
    std::lock_guard lock(mutex_);
    holding_.erase(url);
    for (auto it = held_.begin(); it != held_.end();) {
      if (it->request.url == url) {
        released.push_back(std::move(*it));
        it = held_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (Held& held : released)
    complete(std::move(held.done), answer(held.request));
}

fetch::FetchResult FakeFetcher::answer(const fetch::FetchRequest& request) const {
  Responder responder;
  {
    std::lock_guard lock(mutex_);
    auto it = responders_.find(request.url);
    if (it != responders_.end()) responder = it->second;
  }
  fetch::FetchResult result;
  if (responder) {
    result = responder(request);
  } else {
    result.outcome = fetch::FetchOutcome::http_error;
    result.status = 404;
    result.error = "HTTP 404";
  }
  if (result.final_url.empty()) result.final_url = request.url;
  return result;
}

void FakeFetcher::complete(std::function<void(fetch::FetchResult)> done,
                           fetch::FetchResult result) {
  boost::asio::post(io_, [done = std::move(done), result = std::move(result)]() mutable {
    done(std::move(result));
  });
}

void FakeFetcher::fetch(fetch::FetchRequest request, std::function<void(fetch::FetchResult)> done) {
  {
    std::lock_guard lock(mutex_);
    requests_.push_back(request);
    if (holding_.contains(request.url)) {
      held_.push_back({std::move(request), std::move(done)});
      return;
    }
  }
  fetch::FetchResult result = answer(request);
  complete(std::move(done), std::move(result));
}

void FakeFetcher::cancel_all() {
  std::deque<Held> cancelled;
  {
    std::lock_guard lock(mutex_);
    cancelled.swap(held_);
  }
  for (Held& held : cancelled) {
    fetch::FetchResult result;
    result.outcome = fetch::FetchOutcome::cancelled;
    result.error = "cancelled";
    result.final_url = held.request.url;
    complete(std::move(held.done), std::move(result));
  }
}

std::vector<fetch::FetchRequest> FakeFetcher::requests(const std::string& url) const {
  std::lock_guard lock(mutex_);
  std::vector<fetch::FetchRequest> found;
  std::copy_if(requests_.begin(), requests_.end(), std::back_inserter(found),
               [&](const fetch::FetchRequest& request) { return request.url == url; });
  return found;
}

int FakeFetcher::count(const std::string& url) const {
  return static_cast<int>(requests(url).size());
}

int FakeFetcher::count() const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(requests_.size());
}

int FakeFetcher::held() const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(held_.size());
}

fetch::FetchResult FakeFetcher::ok(std::string body, std::string content_type) {
  fetch::FetchResult result;
  result.outcome = fetch::FetchOutcome::ok;
  result.status = 200;
  result.body = std::move(body);
  result.content_type = std::move(content_type);
  return result;
}

}  // namespace feedmerge::test
