// Deterministic transcendental functions: only +, -, *, / and exact bit
// manipulation, in a fixed order, so results are bit-identical on every
// machine and C library (libm's exp/log may differ in the last bit). The
// kernels that promise reproducible output (augmentation) use these and are
// compiled with -ffp-contract=off so no FMA changes the rounding.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace emo::det {

constexpr double kLn2 = 0.693147180559945309417232121458176568;

// ln(x) for finite x > 0: x = m * 2^e with m in [sqrt(1/2), sqrt(2)),
// ln(m) = 2 atanh(s), s = (m-1)/(m+1), |s| < 0.1716; the series to s^21 is
// exact to double rounding (next term < 1e-17).
inline double log(double x) {
  uint64_t bits;
  std::memcpy(&bits, &x, 8);
  int exponent = static_cast<int>((bits >> 52) & 0x7FF) - 1023;
  bits = (bits & 0x000FFFFFFFFFFFFFull) | 0x3FF0000000000000ull;
  double m;
  std::memcpy(&m, &bits, 8);
  if (m > 1.4142135623730951) {
    m *= 0.5;
    exponent += 1;
  }
  const double s = (m - 1.0) / (m + 1.0);
  const double s2 = s * s;
  // Horner form of 1 + s2/3 + s2^2/5 + ... + s2^10/21 (constants folded at compile time).
  const double series =
      1.0 + s2 * (1.0 / 3 + s2 * (1.0 / 5 + s2 * (1.0 / 7 + s2 * (1.0 / 9 + s2 * (1.0 / 11 + s2 * (1.0 / 13 + s2 * (1.0 / 15 + s2 * (1.0 / 17 + s2 * (1.0 / 19 + s2 * (1.0 / 21))))))))));
  return exponent * kLn2 + 2.0 * s * series;
}

// Natural log in float for normal x > 0, same method to s^9 (error < 2e-7 relative).
inline float logf(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  const int32_t exponent = static_cast<int32_t>(bits >> 23) - 127;
  const uint32_t mantissaBits = (bits & 0x007FFFFFu) | 0x3F800000u;
  float m;
  std::memcpy(&m, &mantissaBits, 4);
  const bool high = m > 1.41421356f;
  m = high ? m * 0.5f : m;
  const float e = static_cast<float>(exponent) + (high ? 1.0f : 0.0f);
  const float s = (m - 1.0f) / (m + 1.0f);
  const float s2 = s * s;
  const float series = 2.0f + s2 * (2.0f / 3.0f + s2 * (2.0f / 5.0f + s2 * (2.0f / 7.0f + s2 * (2.0f / 9.0f))));
  return e * 0.693147180559945f + s * series;
}

// e^x for |x| < 700: x = k ln2 + r, |r| <= ln2/2, Taylor series of e^r to r^17
// (remainder < 1e-18), then an exact scaling by 2^k.
inline double exp(double x) {
  const double k = std::floor(x / kLn2 + 0.5);
  const double r = x - k * kLn2;
  double term = 1.0;
  double sum = 1.0;
  for (int n = 1; n <= 17; ++n) {
    term = term * r / n;
    sum += term;
  }
  return std::ldexp(sum, static_cast<int>(k));
}

// 10^(x/10): the power ratio of x decibels.
inline double dbToPowerRatio(double db) { return det::exp(db * (2.302585092994045684017991454684364208 / 10.0)); }

}  // namespace emo::det
