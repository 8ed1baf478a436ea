#include "batchnorm.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>
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

namespace {

// Per-channel pairs of sums over the rows of a channels-last tensor. The rows
// are cut into fixed chunks (their size depends on the channel count only);
// each chunk adds in float within blocks of 16 rows (vector adds in the hot
// loop, bounded rounding) and in double across blocks, and the chunks' sums
// are added in chunk order. Threads take whole chunks, so the result is the
// same bit for bit whatever the thread count. `add(begin, end, a, b)` adds the
// terms of rows [begin, end) to the float accumulators a[channels] and
// b[channels].
template <class AddRow>
void channelSumPairs(size_t rows, size_t channels, double* out, AddRow&& add) {
  applyThreads();
  const size_t C = channels;
  constexpr size_t kBlock = 16;
  const size_t chunkRows = std::max<size_t>(kBlock, ((size_t{1} << 14) / C) / kBlock * kBlock);
  const size_t chunks = (rows + chunkRows - 1) / chunkRows;
  std::vector<double> partial(chunks * 2 * C, 0.0);
  auto work = [&](size_t chunk) {
    const size_t begin = chunk * chunkRows, end = std::min(rows, begin + chunkRows);
    double* acc = partial.data() + chunk * 2 * C;
    std::vector<float> sums(2 * C);
    float* __restrict a = sums.data();
    float* __restrict b = sums.data() + C;
    for (size_t r = begin; r < end; r += kBlock) {
      const size_t stop = std::min(end, r + kBlock);
      std::fill(sums.begin(), sums.end(), 0.f);
      add(r, stop, a, b);
      for (size_t c = 0; c < C; ++c) {
        acc[c] += a[c];
        acc[C + c] += b[c];
      }
    }
  };
  parallelFor(static_cast<std::ptrdiff_t>(chunks), 1, [&](std::ptrdiff_t begin, std::ptrdiff_t end) {
    for (std::ptrdiff_t chunk = begin; chunk < end; ++chunk) work(static_cast<size_t>(chunk));
  });
  for (size_t k = 0; k < 2 * C; ++k) {
    double t = 0;
    for (size_t chunk = 0; chunk < chunks; ++chunk) t += partial[chunk * 2 * C + k];
    out[k] = t;
  }
}

// The per-channel affine map of the normalisation, y = x * scale + shift,
// with scale = gamma / sqrt(variance + epsilon): computed once in double, used
// identically by the forward pass and both backward passes (so the ReLU mask
// the backward passes recompute is the forward pass's, bit for bit).
struct Affine {
  std::vector<float> scale, shift, mean, invStd;
};

Affine affineOf(const BatchNormTrainShape& s, const float* gamma, const float* beta, const float* mean, const float* variance) {
  Affine f;
  const size_t C = s.channels;
  f.scale.resize(C);
  f.shift.resize(C);
  f.mean.assign(mean, mean + C);
  f.invStd.resize(C);
  for (size_t c = 0; c < C; ++c) {
    const double inv = 1.0 / std::sqrt(static_cast<double>(variance[c]) + static_cast<double>(s.epsilon));
    const double scale = static_cast<double>(gamma[c]) * inv;
    f.invStd[c] = static_cast<float>(inv);
    f.scale[c] = static_cast<float>(scale);
    f.shift[c] = static_cast<float>(static_cast<double>(beta[c]) - static_cast<double>(mean[c]) * scale);
  }
  return f;
}

Status checkTrainShape(const BatchNormTrainShape& s, const char* what) {
  if (s.rows == 0 || s.channels == 0) return Status::error(Code::InvalidConfig, std::string(what) + ": empty tensor");
  if (!(s.epsilon > 0.f) || !std::isfinite(s.epsilon)) return Status::error(Code::InvalidConfig, std::string(what) + ": epsilon must be positive");
  return Status::success();
}

// Rows per thread below which a pass stays on one thread.
std::ptrdiff_t minRows(size_t channels) { return std::max<std::ptrdiff_t>(1, (1 << 15) / static_cast<std::ptrdiff_t>(channels)); }

// The hot loops, one row of C channels at a time, with the ReLU decided at
// compile time and every pointer restrict-qualified so that they vectorise.
// The mask is a select on the recomputed pre-activation (x * scale + shift > 0,
// the forward pass's exact float expression; NaN counts as inactive, like
// tfjs' step(x)).
template <bool Relu>
void normaliseRows(size_t begin, size_t end, size_t C, const float* __restrict x, const float* __restrict scale,
                   const float* __restrict shift, float* __restrict y) {
  for (size_t r = begin; r < end; ++r) {
    const float* __restrict xr = x + r * C;
    float* __restrict yr = y + r * C;
    for (size_t c = 0; c < C; ++c) {
      const float v = xr[c] * scale[c] + shift[c];
      yr[c] = Relu ? (v < 0.f ? 0.f : v) : v;
    }
  }
}

// The channel count as a compile-time constant for the model's 16, 32 and 64
// (the accumulators then live in registers), 0 for any other count.
template <class F>
void withChannels(size_t C, F&& f) {
  switch (C) {
    case 16: f(std::integral_constant<size_t, 16>{}); break;
    case 32: f(std::integral_constant<size_t, 32>{}); break;
    case 64: f(std::integral_constant<size_t, 64>{}); break;
    default: f(std::integral_constant<size_t, 0>{}); break;
  }
}

// Sums of d = x - k and d * d over rows [begin, end); K = C when known at compile time.
template <size_t K>
void momentRows(size_t begin, size_t end, size_t C, const float* __restrict x, const float* __restrict k,
                float* __restrict a, float* __restrict b) {
  const size_t n = K != 0 ? K : C;
  for (size_t r = begin; r < end; ++r) {
    const float* __restrict xr = x + r * n;
    for (size_t c = 0; c < n; ++c) {
      const float d = xr[c] - k[c];
      a[c] += d;
      b[c] += d * d;
    }
  }
}

template <bool Relu, size_t K>
void gradSumRows(size_t begin, size_t end, size_t C, const float* __restrict x, const float* __restrict dy,
                 const float* __restrict scale, const float* __restrict shift, const float* __restrict mean,
                 float* __restrict a, float* __restrict b) {
  const size_t n = K != 0 ? K : C;
  for (size_t r = begin; r < end; ++r) {
    const float* __restrict xr = x + r * n;
    const float* __restrict gr = dy + r * n;
    for (size_t c = 0; c < n; ++c) {
      const float d = gr[c];  // loaded unconditionally, so the select below needs no branch
      const float g = Relu ? (xr[c] * scale[c] + shift[c] > 0.f ? d : 0.f) : d;
      a[c] += g;
      b[c] += g * (xr[c] - mean[c]);
    }
  }
}

template <bool Relu>
void gradInputRows(size_t begin, size_t end, size_t C, const float* __restrict x, const float* __restrict dy,
                   const float* __restrict scale, const float* __restrict shift, const float* __restrict k1,
                   const float* __restrict k0, float* __restrict dx) {
  for (size_t r = begin; r < end; ++r) {
    const float* __restrict xr = x + r * C;
    const float* __restrict gr = dy + r * C;
    float* __restrict o = dx + r * C;
    for (size_t c = 0; c < C; ++c) {
      const float d = gr[c];  // loaded unconditionally, so the select below needs no branch
      const float g = Relu ? (xr[c] * scale[c] + shift[c] > 0.f ? d : 0.f) : d;
      o[c] = scale[c] * g + (xr[c] * k1[c] + k0[c]);
    }
  }
}

}  // namespace

Status batchNormTrainForward(const BatchNormTrainShape& s, const float* x, const float* gamma, const float* beta, float* y,
                             float* mean, float* variance) {
  if (Status st = checkTrainShape(s, "batchNormTrainForward"); !st.ok()) return st;
  const size_t C = s.channels;
  // Sums of (x - first row): a shift close to the data keeps sum of squares
  // minus squared sum from cancelling when the mean is large against the spread.
  std::vector<float> shiftBy(x, x + C);
  const float* __restrict k = shiftBy.data();
  std::vector<double> sums(2 * C);
  channelSumPairs(s.rows, C, sums.data(), [&](size_t begin, size_t end, float* a, float* b) {
    withChannels(C, [&](auto channels) { momentRows<decltype(channels)::value>(begin, end, C, x, k, a, b); });
  });
  const double n = static_cast<double>(s.rows);
  for (size_t c = 0; c < C; ++c) {
    const double m = sums[c] / n;
    mean[c] = static_cast<float>(shiftBy[c] + m);
    variance[c] = static_cast<float>(std::max(0.0, sums[C + c] / n - m * m));
  }
  const Affine f = affineOf(s, gamma, beta, mean, variance);
  parallelFor(static_cast<std::ptrdiff_t>(s.rows), minRows(C), [&](std::ptrdiff_t begin, std::ptrdiff_t end) {
    if (s.relu)
      normaliseRows<true>(static_cast<size_t>(begin), static_cast<size_t>(end), C, x, f.scale.data(), f.shift.data(), y);
    else
      normaliseRows<false>(static_cast<size_t>(begin), static_cast<size_t>(end), C, x, f.scale.data(), f.shift.data(), y);
  });
  return Status::success();
}

Status batchNormTrainGradSums(const BatchNormTrainShape& s, const float* x, const float* dy, const float* gamma,
                              const float* beta, const float* mean, const float* variance, double* sums) {
  if (Status st = checkTrainShape(s, "batchNormTrainGradSums"); !st.ok()) return st;
  const size_t C = s.channels;
  const Affine f = affineOf(s, gamma, beta, mean, variance);
  const float *scale = f.scale.data(), *shift = f.shift.data(), *mu = f.mean.data();
  channelSumPairs(s.rows, C, sums, [&](size_t begin, size_t end, float* a, float* b) {
    withChannels(C, [&](auto channels) {
      constexpr size_t K = decltype(channels)::value;
      if (s.relu)
        gradSumRows<true, K>(begin, end, C, x, dy, scale, shift, mu, a, b);
      else
        gradSumRows<false, K>(begin, end, C, x, dy, scale, shift, mu, a, b);
    });
  });
  // The second sum was taken over (x - mean); xhat = (x - mean) * invStd.
  for (size_t c = 0; c < C; ++c) sums[C + c] *= static_cast<double>(f.invStd[c]);
  return Status::success();
}

Status batchNormTrainGradInput(const BatchNormTrainShape& s, const float* x, const float* dy, const float* gamma,
                               const float* beta, const float* mean, const float* variance, const double* sums, float* dx) {
  if (Status st = checkTrainShape(s, "batchNormTrainGradInput"); !st.ok()) return st;
  const size_t C = s.channels;
  const Affine f = affineOf(s, gamma, beta, mean, variance);
  // dx = scale * g + (x * k1 + k0), with k1 = -scale * invStd * sum(g xhat) / n
  // and k0 = -scale * sum(g) / n - mean * k1.
  std::vector<float> k1(C), k0(C);
  const double n = static_cast<double>(s.rows);
  for (size_t c = 0; c < C; ++c) {
    const double scale = f.scale[c];
    const double slope = -scale * f.invStd[c] * sums[C + c] / n;
    k1[c] = static_cast<float>(slope);
    k0[c] = static_cast<float>(-scale * sums[c] / n - static_cast<double>(f.mean[c]) * slope);
  }
  parallelFor(static_cast<std::ptrdiff_t>(s.rows), minRows(C), [&](std::ptrdiff_t begin, std::ptrdiff_t end) {
    const size_t b = static_cast<size_t>(begin), e = static_cast<size_t>(end);
    if (s.relu)
      gradInputRows<true>(b, e, C, x, dy, f.scale.data(), f.shift.data(), k1.data(), k0.data(), dx);
    else
      gradInputRows<false>(b, e, C, x, dy, f.scale.data(), f.shift.data(), k1.data(), k0.data(), dx);
  });
  return Status::success();
}

Status batchNormTrainBackward(const BatchNormTrainShape& s, const float* x, const float* dy, const float* gamma,
                              const float* beta, const float* mean, const float* variance, float* dx, float* dgamma,
                              float* dbeta) {
  std::vector<double> sums(2 * s.channels);
  if (Status st = batchNormTrainGradSums(s, x, dy, gamma, beta, mean, variance, sums.data()); !st.ok()) return st;
  if (Status st = batchNormTrainGradInput(s, x, dy, gamma, beta, mean, variance, sums.data(), dx); !st.ok()) return st;
  for (size_t c = 0; c < s.channels; ++c) {
    dbeta[c] = static_cast<float>(sums[c]);
    dgamma[c] = static_cast<float>(sums[s.channels + c]);
  }
  return Status::success();
}

void batchNormMovingAverage(size_t n, double momentum, const float* moving, const float* batch, float* out) {
  const float keep = static_cast<float>(1.0 - momentum);
  for (size_t c = 0; c < n; ++c) {
    const float difference = moving[c] - batch[c];
    const float step = difference * keep;
    out[c] = moving[c] - step;
  }
}

}  // namespace emo::nn
