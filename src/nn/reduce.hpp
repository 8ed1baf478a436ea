// Sum and mean over any set of axes, accumulated in double so a reduction over
// half a million activations loses no more than tfjs' own float64 sums do.
#pragma once

#include "../status.hpp"
#include "eltwise.hpp"

namespace emo::nn {

enum class ReduceOp : int { Sum = 0, Mean = 1 };

// out holds x's shape without `axes` (in order); axes need not be sorted.
Status reduce(ReduceOp op, const float* x, const Dims& shape, const std::vector<int>& axes, float* out);

}  // namespace emo::nn
