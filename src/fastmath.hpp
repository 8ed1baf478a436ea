// Vectorisable elementwise math for the hot loops. Accuracy is far inside the
// 0.01 dB we promise: the series below is exact to ~1e-7 relative in float.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace emo {

// x[i] = 10 * log10(max(x[i], amin)), for amin a positive normal float.
// ln(x) = e*ln2 + ln(m) with m in [sqrt(1/2), sqrt(2)), and ln(m) = 2 atanh(s),
// s = (m-1)/(m+1), |s| < 0.172, summed to s^9 (next term < 4e-10). Written as a
// plain loop with selects so the compiler turns it into SIMD; glibc's log10f
// cannot be vectorised without -ffast-math, which would also drop our NaN checks.
inline void powerToDb(float* x, size_t n, float amin) {
  constexpr float kLn2 = 0.693147180559945f;
  constexpr float kDbPerNeper = 4.342944819032518f;  // 10 / ln(10)
  constexpr float kSqrt2 = 1.4142135623730951f;
  for (size_t i = 0; i < n; ++i) {
    const float v = x[i] > amin ? x[i] : amin;
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    const int32_t exponent = static_cast<int32_t>(bits >> 23) - 127;
    const uint32_t mantissaBits = (bits & 0x007FFFFFu) | 0x3F800000u;
    float m;
    std::memcpy(&m, &mantissaBits, 4);
    const bool high = m > kSqrt2;
    m = high ? m * 0.5f : m;
    const float e = static_cast<float>(exponent) + (high ? 1.0f : 0.0f);
    const float s = (m - 1.0f) / (m + 1.0f);
    const float s2 = s * s;
    const float series = s * (2.0f + s2 * (2.0f / 3.0f + s2 * (2.0f / 5.0f + s2 * (2.0f / 7.0f + s2 * (2.0f / 9.0f)))));
    x[i] = kDbPerNeper * (e * kLn2 + series);
  }
}

}  // namespace emo
