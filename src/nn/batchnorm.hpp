// Batch normalisation as tfjs' FusedBatchNorm kernel computes it:
// out = offset + (x - mean) * scale / sqrt(variance + epsilon), where each
// parameter of length L repeats every L elements of x (for a channels-last
// tensor, L = channels).
#pragma once

#include <cstddef>

#include "../status.hpp"

namespace emo::nn {

struct BatchNormParams {
  const float* mean = nullptr;
  size_t meanLength = 0;
  const float* variance = nullptr;
  size_t varianceLength = 0;
  const float* offset = nullptr;  // null: 0
  size_t offsetLength = 0;
  const float* scale = nullptr;  // null: 1
  size_t scaleLength = 0;
  float epsilon = 0.001f;
};

Status batchNorm(const float* x, size_t n, const BatchNormParams& p, float* out);

// The two per-channel sums every batch-norm gradient is made of, over x and
// dy of `rows` x `channels` (channels last): out[c] = sum(dy),
// out[channels + c] = sum(dy * (x - mean[c])). One pass instead of tfjs' ten.
Status batchNormGradSums(const float* x, const float* dy, const float* mean, size_t rows, size_t channels, double* out);

}  // namespace emo::nn
