// The clock seam: the manual clock tests drive the scheduler with fires its waits only when
// advanced past them, on their executor, and reports a replaced or cancelled wait as such.
#include "daemon/clock.h"

#include <chrono>
#include <vector>

#include <doctest/doctest.h>
#include <boost/asio/io_context.hpp>

#include "support/manual_clock.h"

namespace feedmerge::daemon {
namespace {

using namespace std::chrono_literals;

TEST_CASE("a manual clock fires a wait once advanced past it, and only then") {
  boost::asio::io_context io;
  test::ManualClock clock;
  const auto start = clock.now();
  auto timer = clock.make_timer(io.get_executor());
  std::vector<bool> fired;
  timer->wait(10s, [&](bool f) { fired.push_back(f); });
  clock.advance(9s);
  io.run();
  CHECK(fired.empty());
  clock.advance(1s);
  io.restart();
  io.run();
  CHECK(fired == std::vector<bool>{true});
  CHECK(clock.now() - start == 10s);
  CHECK(clock.waiting() == 0);
}

TEST_CASE("a manual clock's replaced or cancelled wait completes as not fired") {
  boost::asio::io_context io;
  test::ManualClock clock;
  auto timer = clock.make_timer(io.get_executor());
  std::vector<int> order;
  timer->wait(10s, [&](bool f) { order.push_back(f ? 1 : -1); });
  timer->wait(0s, [&](bool f) { order.push_back(f ? 2 : -2); });  // due at once
  timer->wait(5s, [&](bool f) { order.push_back(f ? 3 : -3); });
  timer->cancel();
  io.run();
  CHECK(order == std::vector<int>{-1, 2, -3});
}

TEST_CASE("the system clock's timer fires after its delay and reports a cancel") {
  boost::asio::io_context io;
  SystemClock clock;
  auto timer = clock.make_timer(io.get_executor());
  std::vector<bool> fired;
  timer->wait(1ms, [&](bool f) { fired.push_back(f); });
  io.run();
  io.restart();
  timer->wait(std::chrono::hours{1}, [&](bool f) { fired.push_back(f); });
  timer->cancel();
  io.run();
  CHECK(fired == std::vector<bool>{true, false});
}

}  // namespace
}  // namespace feedmerge::daemon
