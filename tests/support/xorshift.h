// A seeded xorshift64 generator for randomised tests: the same inputs on every run and every
// machine (std's distributions are not specified bit for bit), so a failure reproduces.
#pragma once

#include <cstdint>

namespace feedmerge::test {

class XorShift64 {
 public:
  explicit XorShift64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t operator()() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return state_;
  }

 private:
  std::uint64_t state_;
};

}  // namespace feedmerge::test
