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

// Batch normalisation in training mode, fused: what tfjs-layers builds from
// moments (Mean, Sub, Square, Mean) and FusedBatchNorm, and differentiates
// through a dozen more full-size kernels, in two passes forward and two back.
// x is `rows` x `channels`, channels last. `relu` applies max(0, .) to the
// output in the same pass; its gradient mask is recomputed from x in the
// backward passes, so the forward output need not be read again.
struct BatchNormTrainShape {
  size_t rows = 0;
  size_t channels = 0;
  float epsilon = 0.001f;
  bool relu = false;
};

// y = [relu](gamma * (x - mean) / sqrt(variance + epsilon) + beta), with the
// batch's own per-channel mean and (biased, as tf.moments) variance, which are
// written to `mean` and `variance` for the caller's moving averages.
Status batchNormTrainForward(const BatchNormTrainShape& s, const float* x, const float* gamma, const float* beta, float* y,
                             float* mean, float* variance);

// First backward pass: sums[c] = sum(g), sums[channels + c] = sum(g * xhat),
// where g is dy masked by the ReLU (when fused) and xhat = (x - mean) / sqrt(variance + epsilon).
// They are the gradients of beta and gamma.
Status batchNormTrainGradSums(const BatchNormTrainShape& s, const float* x, const float* dy, const float* gamma,
                              const float* beta, const float* mean, const float* variance, double* sums);

// Second backward pass, the gradient with respect to x (through the batch
// statistics): dx = gamma / sqrt(variance + epsilon) * (g - (sum(g) + xhat * sum(g * xhat)) / rows).
Status batchNormTrainGradInput(const BatchNormTrainShape& s, const float* x, const float* dy, const float* gamma,
                               const float* beta, const float* mean, const float* variance, const double* sums, float* dx);

// Both backward passes in one call: the sums, then dx; dgamma and dbeta are the sums as float.
Status batchNormTrainBackward(const BatchNormTrainShape& s, const float* x, const float* dy, const float* gamma,
                              const float* beta, const float* mean, const float* variance, float* dx, float* dgamma,
                              float* dbeta);

// The moving-average update of tfjs-layers' BatchNormalization, in its float32 order of
// operations: out = moving - (moving - batch) * float32(1 - momentum), for n channels.
// `out` may alias `moving`.
void batchNormMovingAverage(size_t n, double momentum, const float* moving, const float* batch, float* out);

}  // namespace emo::nn
