#include "optimizer.hpp"

#include <cmath>

#include "parallel.hpp"

namespace emo::nn {

Status adamUpdate(const AdamStep& s, size_t n, const float* x, const float* m, const float* v, const float* g,
                  float* xOut, float* mOut, float* vOut) {
  const float all[] = {s.learningRate, s.beta1, s.beta2, s.epsilon, s.correction1, s.correction2};
  for (float f : all)
    if (!std::isfinite(f)) return Status::error(Code::InvalidConfig, "adam: hyperparameters must be finite");
  if (!(s.correction1 > 0.f && s.correction2 > 0.f)) return Status::error(Code::InvalidConfig, "adam: bias corrections must be positive");
  applyThreads();
  // The scalars as TensorFlow.js forms them: (1 - beta) in double, then float32.
  const float keep1 = s.beta1, keep2 = s.beta2;
  const float new1 = static_cast<float>(1.0 - static_cast<double>(s.beta1));
  const float new2 = static_cast<float>(1.0 - static_cast<double>(s.beta2));
  const float step = -s.learningRate;
  parallelFor(static_cast<std::ptrdiff_t>(n), 1 << 15, [&](std::ptrdiff_t begin, std::ptrdiff_t end) {
    for (std::ptrdiff_t i = begin; i < end; ++i) {
      const float gi = g[i];
      const float mi = m[i] * keep1 + gi * new1;
      const float vi = v[i] * keep2 + (gi * gi) * new2;
      const float update = (mi / s.correction1) / (std::sqrt(vi / s.correction2) + s.epsilon);
      mOut[i] = mi;
      vOut[i] = vi;
      xOut[i] = update * step + x[i];
    }
  });
  return Status::success();
}

}  // namespace emo::nn
