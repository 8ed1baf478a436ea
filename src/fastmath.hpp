// Vectorisable elementwise math for the hot loops. Accuracy is far inside the
// 0.01 dB we promise: det::logf is exact to ~2e-7 relative.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "detmath.hpp"

namespace emo {

// x[i] = 10 * log10(max(x[i], amin)), for amin a positive normal float: the
// series logarithm of detmath.hpp in a plain loop with selects, which the
// compiler turns into SIMD; glibc's log10f cannot be vectorised without
// -ffast-math, which would also drop our NaN checks.
inline void powerToDb(float* x, size_t n, float amin) {
  constexpr float kDbPerNeper = 4.342944819032518f;  // 10 / ln(10)
  for (size_t i = 0; i < n; ++i) x[i] = kDbPerNeper * det::logf(x[i] > amin ? x[i] : amin);
}

}  // namespace emo
