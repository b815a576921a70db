// The daemon's clock seam: wall time for what is stored and scheduled, monotonic time for
// durations, and timers. The daemon runs on SystemClock (Asio steady timers); tests pass a
// ManualClock (tests/support/manual_clock.h) whose advance() fires the due waits at once.
// Threading: a Clock is shared by every executor and is thread-safe; a Timer belongs to the
// executor it was made for, and its handlers run there.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include <boost/asio/any_io_executor.hpp>

#include "feedmerge/model/feed.h"

namespace feedmerge::daemon {

// One wait at a time, like asio::steady_timer: a new wait or cancel() ends the pending one.
class Timer {
 public:
  virtual ~Timer() = default;
  // `done(true)` once `delay` has passed on the clock, `done(false)` when the wait is cancelled
  // or replaced; either way as a handler of its own on the timer's executor.
  virtual void wait(std::chrono::steady_clock::duration delay, std::function<void(bool)> done) = 0;
  virtual void cancel() = 0;
};

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::system_clock::time_point now() const = 0;
  virtual std::chrono::steady_clock::time_point steady_now() const = 0;
  // Destroy it while no thread runs its executor's io_context (as for an Asio timer).
  virtual std::unique_ptr<Timer> make_timer(boost::asio::any_io_executor executor) = 0;

  // now(), in the whole seconds the store and the schedule use.
  model::Time now_seconds() const { return std::chrono::floor<std::chrono::seconds>(now()); }
};

// The real clocks, and asio::steady_timer.
class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point now() const override;
  std::chrono::steady_clock::time_point steady_now() const override;
  std::unique_ptr<Timer> make_timer(boost::asio::any_io_executor executor) override;
};

}  // namespace feedmerge::daemon
