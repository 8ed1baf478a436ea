// Activations the fused tfjs kernels (FusedConv2D, _FusedMatMul) may ask for.
// The numbering is shared with lib/nn/backend: never renumber.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace emo::nn {

enum class Activation : int { Linear = 0, Relu = 1, Relu6 = 2, LeakyRelu = 3, Elu = 4, Sigmoid = 5 };

inline bool validActivation(int a) { return a >= 0 && a <= 5; }

// Same formulas as tfjs-backend-cpu, evaluated in float.
inline float activate(Activation a, float x, float alpha) {
  switch (a) {
    case Activation::Linear: return x;
    case Activation::Relu: return x < 0.f ? 0.f : x;  // NaN stays NaN, like Math.max(0, NaN)
    case Activation::Relu6: return x < 0.f ? 0.f : (x > 6.f ? 6.f : x);
    case Activation::LeakyRelu: return x < 0.f ? alpha * x : x;
    case Activation::Elu: return x >= 0.f ? x : std::expm1(x);
    case Activation::Sigmoid: return 1.f / (1.f + std::exp(-x));
  }
  return x;
}

// Applies a in place to n values (vectorised for the common cases).
void activateInPlace(Activation a, float alpha, float* x, size_t n);

}  // namespace emo::nn
