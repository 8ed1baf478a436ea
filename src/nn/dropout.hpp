// Inverted dropout with a counter-based mask: element i of a call with seed s
// is kept when a hash of (s, i) says so, with probability 1 - rate, and kept
// elements are scaled by 1 / (1 - rate). The mask is a pure function of the
// seed and the index, so the backward pass recomputes it instead of storing
// it, any thread count gives the same mask, and the same seed gives the same
// mask on every machine.
#pragma once

#include <cstddef>
#include <cstdint>

#include "../status.hpp"

namespace emo::nn {

// y[i] = keep(seed, i) ? x[i] * (1 / (1 - rate)) : 0, for 0 <= rate < 1. The
// gradient of dropout is dropout of dy with the same seed and rate.
Status dropout(const float* x, size_t n, float rate, uint32_t seed, float* y);

// Whether element `index` is kept (exposed for tests and the float64 reference).
bool dropoutKeeps(uint32_t seed, uint64_t index, float rate);

}  // namespace emo::nn
