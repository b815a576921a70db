#include "daemon/first_round.h"

#include <doctest/doctest.h>

#include "fetch/http_fetcher.h"

namespace feedmerge::daemon {
namespace {

using fetch::NetworkFailure;
using namespace std::chrono_literals;

TEST_CASE("counts in log lines are grouped by thousands") {
  CHECK(with_commas(0) == "0");
  CHECK(with_commas(999) == "999");
  CHECK(with_commas(1000) == "1,000");
  CHECK(with_commas(4812) == "4,812");
  CHECK(with_commas(1234567) == "1,234,567");
  CHECK(with_commas(-1234) == "-1,234");
}

TEST_CASE("the first round's progress and summary lines") {
  FirstRound round(1000);
  for (int i = 0; i < 209; ++i)
    round.polled(true, NetworkFailure::none);
  round.polled(false, NetworkFailure::resolve);
  round.polled(false, NetworkFailure::none);
  round.polled(false, NetworkFailure::timeout);
  CHECK(round.progress(4812, 1904) ==
        "first poll: 212/1,000 feeds, 3 failing, 4,812 items, 1,904 stories");
  CHECK_FALSE(round.complete());
  CHECK_FALSE(round.diagnosis().has_value());  // most feeds were reached
  for (int i = 212; i < 1000; ++i)
    round.polled(true, NetworkFailure::none);
  CHECK(round.complete());
  CHECK(round.summary(3240ms, 48120, 19040) ==
        "first poll done in 3.2 s: 1,000 feeds, 997 ok, 3 failing, 48,120 items, 19,040 stories");
}

TEST_CASE("a round in which every host name failed to resolve is diagnosed once, plainly") {
  FirstRound round(3);
  round.polled(false, NetworkFailure::resolve);
  round.polled(false, NetworkFailure::resolve);
  CHECK_FALSE(round.diagnosis().has_value());  // two feeds prove nothing yet
  round.polled(false, NetworkFailure::resolve);
  CHECK(round.diagnosis() ==
        "no feed could be reached: every host name failed to resolve (3 feeds tried); is the "
        "network up?");
  CHECK_FALSE(round.diagnosis().has_value());  // said once
}

TEST_CASE("a long round of the same failure is diagnosed before it ends") {
  FirstRound round(1000);
  for (int i = 0; i < kDiagnoseAfter; ++i)
    round.polled(false, NetworkFailure::connect);
  CHECK(round.diagnosis() ==
        "no feed could be reached: every connection was refused or found no route (5 of 1,000 "
        "feeds tried so far); is the network up?");
  for (int i = kDiagnoseAfter; i < 1000; ++i)
    round.polled(false, NetworkFailure::connect);
  CHECK_FALSE(round.diagnosis().has_value());
}

TEST_CASE("no diagnosis when one feed was reached, failures differ, or are not the network's") {
  SUBCASE("one success") {
    FirstRound round(6);
    round.polled(true, NetworkFailure::none);
    for (int i = 0; i < 5; ++i)
      round.polled(false, NetworkFailure::resolve);
    CHECK_FALSE(round.diagnosis().has_value());
  }
  SUBCASE("different failures") {
    FirstRound round(2);
    round.polled(false, NetworkFailure::resolve);
    round.polled(false, NetworkFailure::timeout);
    CHECK_FALSE(round.diagnosis().has_value());
  }
  SUBCASE("HTTP errors and unreadable files") {
    FirstRound round(2);
    round.polled(false, NetworkFailure::none);
    round.polled(false, NetworkFailure::none);
    CHECK_FALSE(round.diagnosis().has_value());
  }
  SUBCASE("a round of one feed that timed out") {
    FirstRound round(1);
    round.polled(false, NetworkFailure::timeout);
    CHECK(round.diagnosis() ==
          "no feed could be reached: every connection timed out (1 feed tried); is the network "
          "up, or a firewall or proxy in the way?");
  }
}

}  // namespace
}  // namespace feedmerge::daemon
