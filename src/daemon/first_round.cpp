#include "daemon/first_round.h"

#include <cstdio>

#include "feedmerge/fetch/fetcher.h"

namespace feedmerge::daemon {

using fetch::NetworkFailure;

std::string with_commas(std::int64_t value) {
  std::string digits = std::to_string(value < 0 ? -value : value);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return value < 0 ? "-" + out : out;
}

void FirstRound::polled(bool ok, NetworkFailure failure) {
  ++done_;
  if (!ok) ++failing_;
  // One feed reached, or failing for another reason than the network, or two different
  // network failures: the network as a whole is not the problem.
  if (ok || failure == NetworkFailure::none || failure == NetworkFailure::other ||
      (failure_ >= 0 && failure_ != static_cast<int>(failure))) {
    uniform_ = false;
  }
  failure_ = static_cast<int>(failure);
}

std::string FirstRound::progress(std::int64_t items, std::int64_t stories) const {
  return "first poll: " + with_commas(done_) + "/" + with_commas(feeds_) + " feeds, " +
         with_commas(failing_) + " failing, " + with_commas(items) + " items, " +
         with_commas(stories) + " stories";
}

std::string FirstRound::summary(std::chrono::milliseconds elapsed, std::int64_t items,
                                std::int64_t stories) const {
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.1f", static_cast<double>(elapsed.count()) / 1000.0);
  return std::string("first poll done in ") + seconds + " s: " + with_commas(feeds_) + " feeds, " +
         with_commas(done_ - failing_) + " ok, " + with_commas(failing_) + " failing, " +
         with_commas(items) + " items, " + with_commas(stories) + " stories";
}

std::optional<std::string> FirstRound::diagnosis() {
  if (diagnosed_ || !uniform_ || done_ == 0) return std::nullopt;
  if (done_ < kDiagnoseAfter && !complete()) return std::nullopt;
  diagnosed_ = true;
  std::string what;
  std::string hint = "is the network up?";
  switch (static_cast<NetworkFailure>(failure_)) {
    case NetworkFailure::resolve:
      what = "every host name failed to resolve";
      break;
    case NetworkFailure::connect:
      what = "every connection was refused or found no route";
      break;
    case NetworkFailure::timeout:
      what = "every connection timed out";
      hint = "is the network up, or a firewall or proxy in the way?";
      break;
    case NetworkFailure::tls:
      what = "every TLS handshake failed";
      hint = "is the system clock right and a CA bundle installed?";
      break;
    default:
      return std::nullopt;
  }
  const std::string tried =
      complete() ? with_commas(feeds_) + (feeds_ == 1 ? " feed tried" : " feeds tried")
                 : with_commas(done_) + " of " + with_commas(feeds_) + " feeds tried so far";
  return "no feed could be reached: " + what + " (" + tried + "); " + hint;
}

}  // namespace feedmerge::daemon
