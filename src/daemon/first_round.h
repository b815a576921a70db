// The first round of `run`: the feeds due when the daemon starts (never polled, or overdue
// after a restart), followed until each has been polled once. It words the progress lines,
// the closing summary and, once, the plain diagnosis when no feed could be reached at all.
// Pure: no clock, no I/O; the poller owns one on its scheduler strand and logs what it says.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace feedmerge::fetch {
enum class NetworkFailure;
}

namespace feedmerge::daemon {

// Polls that must have failed the same way before the diagnosis speaks while the round is
// still running (a whole round of timeouts can take many minutes).
inline constexpr int kDiagnoseAfter = 5;

class FirstRound {
 public:
  explicit FirstRound(int feeds) : feeds_(feeds) {}

  // One feed of the round was polled. `failure` says why a failed poll failed on the network
  // (fetch::NetworkFailure::none when it failed otherwise: HTTP status, parse error, file).
  void polled(bool ok, fetch::NetworkFailure failure);

  // A feed of the round left the config (a reload) before its poll.
  void drop() { --feeds_; }

  int feeds() const { return feeds_; }
  int done() const { return done_; }
  int failing() const { return failing_; }
  bool complete() const { return done_ >= feeds_; }

  // "first poll: 212/1,000 feeds, 3 failing, 4,812 items, 1,904 stories"
  std::string progress(std::int64_t items, std::int64_t stories) const;
  // "first poll done in 3.2 s: 1,000 feeds, 997 ok, 3 failing, 48,120 items, 1,904 stories"
  std::string summary(std::chrono::milliseconds elapsed, std::int64_t items,
                      std::int64_t stories) const;
  // "no feed could be reached: every host name failed to resolve (5 of 37 feeds tried); is the
  // network up?" once every poll so far (at least kDiagnoseAfter, or the whole round) failed
  // with the same network failure. Says it once: nullopt after that, or when it does not hold.
  std::optional<std::string> diagnosis();

 private:
  int feeds_ = 0;
  int done_ = 0;
  int failing_ = 0;
  bool uniform_ = true;  // every poll so far failed with the network failure `failure_`
  int failure_ = -1;     // the last poll's NetworkFailure; -1 before the first
  bool diagnosed_ = false;
};

// 1234567 -> "1,234,567": counts in log lines are read by people.
std::string with_commas(std::int64_t value);

}  // namespace feedmerge::daemon
