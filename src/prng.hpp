// The documented, seeded PRNG of emo-native (README "Augmentation"):
// SplitMix64 expands a 64-bit seed into the state of xoshiro256**; doubles in
// [0, 1) take the top 53 bits; normal deviates come from Marsaglia's polar
// method in float32 with a deterministic log. Same seed, same numbers, on every
// machine.
#pragma once

#include <cmath>
#include <cstdint>

#include "detmath.hpp"

namespace emo {

class Prng {
 public:
  explicit Prng(uint64_t seed) {
    for (uint64_t& word : state_) word = splitMix64(seed);
  }

  uint64_t nextU64() {
    const uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  // Uniform in [0, 1).
  double uniform() { return static_cast<double>(nextU64() >> 11) * 0x1.0p-53; }

  // Uniform in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

  // n standard normal deviates (polar method). Candidates are made in blocks of
  // 256: each 64-bit output gives one pair (u from the top 24 bits of its high
  // half, v likewise from its low half, both in [-1, 1)); pairs with s = u² + v²
  // outside (0, 1) are skipped; accepted pairs give u·f, v·f with
  // f = sqrt(-2 ln(s) / s), in order. The block loop has no branches, so it runs
  // as SIMD, and only +, -, *, /, sqrt (correctly rounded) touch the values.
  void fillNormal(float* out, size_t n) {
    constexpr size_t kBlock = 256;
    float u[kBlock], v[kBlock], f[kBlock];
    size_t written = 0;
    while (written < n) {
      for (size_t i = 0; i < kBlock; ++i) {
        const uint64_t r = nextU64();
        u[i] = static_cast<float>(static_cast<int32_t>((r >> 40) & 0xFFFFFF) - 0x800000) * 0x1.0p-23f;
        v[i] = static_cast<float>(static_cast<int32_t>((r >> 8) & 0xFFFFFF) - 0x800000) * 0x1.0p-23f;
      }
      for (size_t i = 0; i < kBlock; ++i) {
        const float s = u[i] * u[i] + v[i] * v[i];
        const bool accepted = s < 1.0f && s > 0.0f;
        const float safe = accepted ? s : 0.5f;
        f[i] = accepted ? std::sqrt(-2.0f * det::logf(safe) / safe) : 0.0f;
      }
      for (size_t i = 0; i < kBlock && written < n; ++i) {
        if (f[i] == 0.0f) continue;
        out[written++] = u[i] * f[i];
        if (written < n) out[written++] = v[i] * f[i];
      }
    }
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static uint64_t splitMix64(uint64_t& x) {
    uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t state_[4];
};

}  // namespace emo
