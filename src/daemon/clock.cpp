#include "daemon/clock.h"

#include <boost/asio/steady_timer.hpp>

namespace feedmerge::daemon {

namespace {

class SteadyTimer final : public Timer {
 public:
  explicit SteadyTimer(boost::asio::any_io_executor executor) : timer_(std::move(executor)) {}

  void wait(std::chrono::steady_clock::duration delay, std::function<void(bool)> done) override {
    timer_.expires_after(delay);
    timer_.async_wait([done = std::move(done)](boost::system::error_code error) { done(!error); });
  }
  void cancel() override { timer_.cancel(); }

 private:
  boost::asio::steady_timer timer_;
};

}  // namespace

std::chrono::system_clock::time_point SystemClock::now() const {
  return std::chrono::system_clock::now();
}

std::chrono::steady_clock::time_point SystemClock::steady_now() const {
  return std::chrono::steady_clock::now();
}

std::unique_ptr<Timer> SystemClock::make_timer(boost::asio::any_io_executor executor) {
  return std::make_unique<SteadyTimer>(std::move(executor));
}

}  // namespace feedmerge::daemon
