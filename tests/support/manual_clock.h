// A daemon::Clock for tests: time stands still until advance(), which moves both the wall and
// the monotonic time and fires, on their executors, the timer waits that are then due. A test
// drives hours of schedule in microseconds, without a sleep. Thread-safe.
#pragma once

#include <chrono>
#include <memory>

#include "daemon/clock.h"

namespace feedmerge::test {

class ManualClock final : public daemon::Clock {
 public:
  // Starts at `start` (default: now, whole seconds).
  ManualClock();
  explicit ManualClock(std::chrono::system_clock::time_point start);

  std::chrono::system_clock::time_point now() const override;
  std::chrono::steady_clock::time_point steady_now() const override;
  std::unique_ptr<daemon::Timer> make_timer(boost::asio::any_io_executor executor) override;

  void advance(std::chrono::steady_clock::duration by);
  int waiting() const;  // timer waits not yet due

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace feedmerge::test
