// Optimizer updates as one pass over a weight tensor, instead of the dozen
// elementwise tensors TensorFlow.js's Adam creates per weight and step.
#pragma once

#include <cstddef>

#include "../status.hpp"

namespace emo::nn {

// One Adam step (Kingma & Ba) in float32, in TensorFlow.js's order of operations:
//   m' = m * beta1 + g * (1 - beta1)
//   v' = v * beta2 + g^2 * (1 - beta2)
//   x' = x + (m' / correction1) / (sqrt(v' / correction2) + epsilon) * -learningRate
// where correctionK = 1 - betaK^t for step t (1-based). Outputs may alias inputs.
struct AdamStep {
  float learningRate, beta1, beta2, epsilon, correction1, correction2;
};

Status adamUpdate(const AdamStep& step, size_t n, const float* x, const float* m, const float* v, const float* g,
                  float* xOut, float* mOut, float* vOut);

}  // namespace emo::nn
