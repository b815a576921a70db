#include "support/manual_clock.h"

#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include <boost/asio/post.hpp>

namespace feedmerge::test {

struct ManualClock::State {
  struct Wait {
    std::uint64_t timer = 0;
    boost::asio::any_io_executor executor;
    std::function<void(bool)> done;
  };

  mutable std::mutex mutex;
  std::chrono::system_clock::time_point wall_start;
  std::chrono::steady_clock::duration elapsed{};
  std::multimap<std::chrono::steady_clock::duration, Wait> waits;  // by deadline
  std::uint64_t next_timer = 1;

  // Removes the timer's wait, if any; returns it (done empty when none). Under the lock.
  Wait take(std::uint64_t timer) {
    for (auto it = waits.begin(); it != waits.end(); ++it) {
      if (it->second.timer == timer) {
        Wait wait = std::move(it->second);
        waits.erase(it);
        return wait;
      }
    }
    return {};
  }
};

namespace {

void fire(ManualClock::State::Wait wait, bool fired) {
  if (!wait.done) return;
  boost::asio::post(wait.executor, [done = std::move(wait.done), fired] { done(fired); });
}

class ManualTimer final : public daemon::Timer {
 public:
  ManualTimer(std::shared_ptr<ManualClock::State> state, boost::asio::any_io_executor executor)
      : state_(std::move(state)), executor_(std::move(executor)) {
    std::lock_guard lock(state_->mutex);
    id_ = state_->next_timer++;
  }
  ~ManualTimer() override {
    std::lock_guard lock(state_->mutex);
    state_->take(id_);  // dropped without a call, as with no thread running the io_context
  }

  void wait(std::chrono::steady_clock::duration delay, std::function<void(bool)> done) override {
    ManualClock::State::Wait replaced;
    ManualClock::State::Wait due;
    {
      std::lock_guard lock(state_->mutex);
      replaced = state_->take(id_);
      ManualClock::State::Wait wait{id_, executor_, std::move(done)};
      if (delay <= std::chrono::steady_clock::duration::zero()) {
        due = std::move(wait);
      } else {
        state_->waits.emplace(state_->elapsed + delay, std::move(wait));
      }
    }
    fire(std::move(replaced), false);
    fire(std::move(due), true);
  }

  void cancel() override {
    ManualClock::State::Wait cancelled;
    {
      std::lock_guard lock(state_->mutex);
      cancelled = state_->take(id_);
    }
    fire(std::move(cancelled), false);
  }

 private:
  std::shared_ptr<ManualClock::State> state_;
  boost::asio::any_io_executor executor_;
  std::uint64_t id_ = 0;
};

}  // namespace

ManualClock::ManualClock()
    : ManualClock(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now())) {}

ManualClock::ManualClock(std::chrono::system_clock::time_point start)
    : state_(std::make_shared<State>()) {
  state_->wall_start = start;
}

std::chrono::system_clock::time_point ManualClock::now() const {
  std::lock_guard lock(state_->mutex);
  return state_->wall_start +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(state_->elapsed);
}

std::chrono::steady_clock::time_point ManualClock::steady_now() const {
  std::lock_guard lock(state_->mutex);
  return std::chrono::steady_clock::time_point{} + std::chrono::hours{24} + state_->elapsed;
}

std::unique_ptr<daemon::Timer> ManualClock::make_timer(boost::asio::any_io_executor executor) {
  return std::make_unique<ManualTimer>(state_, std::move(executor));
}

void ManualClock::advance(std::chrono::steady_clock::duration by) {
  std::vector<State::Wait> due;
  {
    std::lock_guard lock(state_->mutex);
    state_->elapsed += by;
    while (!state_->waits.empty() && state_->waits.begin()->first <= state_->elapsed) {
      due.push_back(std::move(state_->waits.begin()->second));
      state_->waits.erase(state_->waits.begin());
    }
  }
  for (State::Wait& wait : due)
    fire(std::move(wait), true);
}

int ManualClock::waiting() const {
  std::lock_guard lock(state_->mutex);
  return static_cast<int>(state_->waits.size());
}

}  // namespace feedmerge::test
