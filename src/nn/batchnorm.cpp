#include "batchnorm.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "parallel.hpp"

namespace emo::nn {

Status batchNorm(const float* x, size_t n, const BatchNormParams& p, float* out) {
  if (p.mean == nullptr || p.variance == nullptr || p.meanLength == 0 || p.varianceLength == 0 ||
      (p.offset != nullptr && p.offsetLength == 0) || (p.scale != nullptr && p.scaleLength == 0))
    return Status::error(Code::InvalidConfig, "batchNorm: mean and variance are required and no parameter may be empty");
  applyThreads();
  const size_t L = p.meanLength;
  const bool uniform = p.varianceLength == L && (p.offset == nullptr || p.offsetLength == L) &&
                       (p.scale == nullptr || p.scaleLength == L) && n % L == 0;
  if (uniform) {
    // One multiplier per channel: out = offset + (x - mean) * (scale / sqrt(var + eps)).
    std::vector<float> mul(L), add(L), mean(p.mean, p.mean + L);
    for (size_t c = 0; c < L; ++c) {
      const double s = p.scale != nullptr ? p.scale[c] : 1.0;
      mul[c] = static_cast<float>(s / std::sqrt(static_cast<double>(p.variance[c]) + p.epsilon));
      add[c] = p.offset != nullptr ? p.offset[c] : 0.f;
    }
    const std::ptrdiff_t rows = static_cast<std::ptrdiff_t>(n / L);
    parallelFor(rows, std::max<std::ptrdiff_t>(1, (1 << 15) / static_cast<std::ptrdiff_t>(L)), [&](std::ptrdiff_t begin, std::ptrdiff_t end) {
      for (std::ptrdiff_t r = begin; r < end; ++r) {
        const float* xr = x + r * L;
        float* o = out + r * L;
        for (size_t c = 0; c < L; ++c) o[c] = add[c] + (xr[c] - mean[c]) * mul[c];
      }
    });
    return Status::success();
  }
  // Mixed lengths: the element-by-element formula with each parameter cycling on its own.
  const size_t lo = p.offset != nullptr ? p.offsetLength : 1, ls = p.scale != nullptr ? p.scaleLength : 1;
  parallelFor(static_cast<std::ptrdiff_t>(n), 1 << 15, [&](std::ptrdiff_t begin, std::ptrdiff_t end) {
    for (std::ptrdiff_t i = begin; i < end; ++i) {
      const size_t u = static_cast<size_t>(i);
      const double off = p.offset != nullptr ? p.offset[u % lo] : 0.0;
      const double sc = p.scale != nullptr ? p.scale[u % ls] : 1.0;
      out[i] = static_cast<float>(off + (x[i] - static_cast<double>(p.mean[u % L])) * sc /
                                            std::sqrt(static_cast<double>(p.variance[u % p.varianceLength]) + p.epsilon));
    }
  });
  return Status::success();
}

Status batchNormGradSums(const float* x, const float* dy, const float* mean, size_t rows, size_t channels, double* out) {
  if (channels == 0) return Status::error(Code::InvalidConfig, "batchNormGradSums: no channels");
  applyThreads();
  const size_t C = channels;
  const int teams = std::max(1, std::min<int>(threads(), static_cast<int>(rows * C / (1 << 15))));
  std::vector<std::vector<double>> partial(teams, std::vector<double>(2 * C, 0.0));
  parallelFor(static_cast<std::ptrdiff_t>(rows), std::max<std::ptrdiff_t>(1, static_cast<std::ptrdiff_t>(rows) / teams),
              [&](std::ptrdiff_t begin, std::ptrdiff_t end) {
    std::vector<double>& acc = partial[static_cast<size_t>(omp_get_thread_num()) % partial.size()];
    // Float sums over blocks of rows, folded into double per block: vector
    // adds in the hot loop, bounded float error.
    std::vector<float> s1(C), s2(C);
    constexpr std::ptrdiff_t kBlock = 16;
    for (std::ptrdiff_t r = begin; r < end; r += kBlock) {
      const std::ptrdiff_t stop = std::min<std::ptrdiff_t>(end, r + kBlock);
      std::fill(s1.begin(), s1.end(), 0.f);
      std::fill(s2.begin(), s2.end(), 0.f);
      for (std::ptrdiff_t q = r; q < stop; ++q) {
        const float* xr = x + q * C;
        const float* gr = dy + q * C;
        for (size_t c = 0; c < C; ++c) {
          s1[c] += gr[c];
          s2[c] += gr[c] * (xr[c] - mean[c]);
        }
      }
      for (size_t c = 0; c < C; ++c) {
        acc[c] += s1[c];
        acc[C + c] += s2[c];
      }
    }
  });
  for (size_t k = 0; k < 2 * C; ++k) {
    double t = 0;
    for (const auto& p : partial) t += p[k];
    out[k] = t;
  }
  return Status::success();
}

}  // namespace emo::nn
