#include "augment.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "detmath.hpp"
#include "prng.hpp"

namespace emo {
namespace {

// Dot product with 8 independent accumulators: the compiler can keep them in
// SIMD registers, and the summation order is fixed by this code, not by flags.
inline double dot(const float* a, const float* b, size_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (size_t k = 0; k < 8; ++k) acc[k] += a[i + k] * b[i + k];
  double sum = 0.0;
  for (size_t k = 0; k < 8; ++k) sum += acc[k];
  for (; i < n; ++i) sum += static_cast<double>(a[i]) * b[i];
  return sum;
}

}  // namespace

Status addNoise(const float* x, size_t n, double snrDb, uint64_t seed, float* out) {
  if (!std::isfinite(snrDb)) return Status::error(Code::InvalidConfig, "snrDb must be finite");
  double signal = 0.0;
  for (size_t i = 0; i < n; ++i) signal += static_cast<double>(x[i]) * x[i];
  if (signal == 0.0) {
    std::copy(x, x + n, out);
    return Status::success();
  }
  std::vector<float> noise(n);
  Prng(seed).fillNormal(noise.data(), n);
  double power = 0.0;
  for (size_t i = 0; i < n; ++i) power += static_cast<double>(noise[i]) * noise[i];
  // Scale the noise actually drawn, so the realised SNR is exact rather than expected.
  const double gain = std::sqrt(signal / (power * det::dbToPowerRatio(snrDb)));
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(x[i] + gain * noise[i]);
  return Status::success();
}

StretchConfig stretchConfigFor(double sampleRate) {
  StretchConfig config;
  const double scale = sampleRate / 48000.0;
  config.frameLength = std::max(16, 2 * static_cast<int>(std::lround(640 * scale)));
  config.tolerance = std::max(4, static_cast<int>(std::lround(320 * scale)));
  return config;
}

size_t stretchedLength(size_t n, double rate) { return static_cast<size_t>(std::llround(static_cast<double>(n) / rate)); }

Status timeStretch(const float* x, size_t n, double rate, const StretchConfig& config, float* out) {
  if (!(rate > 0.0) || !std::isfinite(rate)) return Status::error(Code::InvalidConfig, "rate must be a positive number");
  if (config.frameLength < 16 || config.frameLength % 2 != 0 || config.tolerance < 4)
    return Status::error(Code::InvalidConfig, "invalid time-stretch frame configuration");
  const size_t outLength = stretchedLength(n, rate);
  if (outLength == 0) return Status::success();
  const int64_t frame = config.frameLength;
  const int64_t hop = frame / 2;  // synthesis hop: Hann frames at 50% overlap sum to 1
  const int64_t tol = config.tolerance;
  constexpr int64_t kDecimation = 4;

  // Zero-padded copy so every candidate frame is in range: pad on both sides.
  const int64_t pad = frame + tol + 2 * kDecimation;
  const int64_t framesOut = static_cast<int64_t>(outLength) / hop + 2;
  const int64_t lastNominal = static_cast<int64_t>(std::llround(static_cast<double>(framesOut) * hop * rate));
  const int64_t paddedLength = pad + std::max<int64_t>(static_cast<int64_t>(n), lastNominal) + pad + frame;
  std::vector<float> xp(static_cast<size_t>(paddedLength), 0.0f);
  std::copy(x, x + n, xp.begin() + pad);

  // Coarse search on a 4x decimated copy (block sums), refined at full rate.
  const int64_t decimatedLength = paddedLength / kDecimation;
  std::vector<float> xd(static_cast<size_t>(decimatedLength));
  std::vector<double> energyPrefix(static_cast<size_t>(decimatedLength) + 1, 0.0);
  for (int64_t j = 0; j < decimatedLength; ++j) {
    const float* p = xp.data() + j * kDecimation;
    xd[static_cast<size_t>(j)] = p[0] + p[1] + p[2] + p[3];
    energyPrefix[static_cast<size_t>(j + 1)] = energyPrefix[static_cast<size_t>(j)] + static_cast<double>(xd[static_cast<size_t>(j)]) * xd[static_cast<size_t>(j)];
  }
  const int64_t hopDecimated = hop / kDecimation;

  std::vector<float> window(static_cast<size_t>(frame));
  for (int64_t i = 0; i < frame; ++i) window[static_cast<size_t>(i)] = static_cast<float>(0.5 - 0.5 * std::cos(2.0 * M_PI * i / frame));
  std::vector<float> acc(static_cast<size_t>(framesOut * hop + frame), 0.0f);
  std::vector<float> weight(acc.size(), 0.0f);

  int64_t previous = pad;  // padded input position of the previous frame
  for (int64_t k = 0; k < framesOut; ++k) {
    const int64_t nominal = pad + static_cast<int64_t>(std::llround(static_cast<double>(k) * hop * rate));
    int64_t start = nominal;
    if (k > 0) {
      // The frame should continue where the previous one's second half leads.
      const int64_t target = previous + hop;
      const int64_t lo = std::max<int64_t>(0, nominal - tol);
      const int64_t hi = std::min<int64_t>(paddedLength - frame, nominal + tol);
      const float* targetDecimated = xd.data() + target / kDecimation;
      double bestScore = -INFINITY;
      int64_t best = nominal;
      for (int64_t c = lo / kDecimation; c * kDecimation <= hi; ++c) {
        if (c + hopDecimated > decimatedLength) break;
        const double energy = energyPrefix[static_cast<size_t>(c + hopDecimated)] - energyPrefix[static_cast<size_t>(c)];
        const double score = dot(xd.data() + c, targetDecimated, static_cast<size_t>(hopDecimated)) / std::sqrt(energy + 1e-12);
        if (score > bestScore) {
          bestScore = score;
          best = c * kDecimation;
        }
      }
      // Refine around the coarse optimum at full resolution.
      bestScore = -INFINITY;
      const int64_t refineLo = std::max(lo, best - 2 * kDecimation);
      const int64_t refineHi = std::min(hi, best + 2 * kDecimation);
      start = best;
      for (int64_t c = refineLo; c <= refineHi; ++c) {
        const float* candidate = xp.data() + c;
        const double energy = dot(candidate, candidate, static_cast<size_t>(hop));
        const double score = dot(candidate, xp.data() + target, static_cast<size_t>(hop)) / std::sqrt(energy + 1e-12);
        if (score > bestScore) {
          bestScore = score;
          start = c;
        }
      }
    }
    float* dst = acc.data() + k * hop;
    float* wdst = weight.data() + k * hop;
    const float* src = xp.data() + start;
    for (int64_t i = 0; i < frame; ++i) {
      dst[i] += window[static_cast<size_t>(i)] * src[i];
      wdst[i] += window[static_cast<size_t>(i)];
    }
    previous = start;
  }
  // Divide by the window sum: exactly 1 in the steady state, and it undoes the
  // first frame's fade-in so the output starts at full level.
  for (size_t i = 0; i < outLength; ++i) out[i] = weight[i] > 1e-3f ? acc[i] / weight[i] : acc[i];
  return Status::success();
}

void preemphasis(const float* x, size_t n, float coef, float* out) {
  if (n == 0) return;
  out[0] = x[0];
  for (size_t i = 1; i < n; ++i) out[i] = x[i] - coef * x[i - 1];
}

ExpandDraws drawExpand(const ExpandConfig& config) {
  Prng prng(config.seed);
  ExpandDraws draws;
  draws.snrDb = prng.uniform(config.snrLo, config.snrHi);
  draws.rate = prng.uniform(config.rateLo, config.rateHi);
  draws.noiseSeed = prng.nextU64();
  return draws;
}

}  // namespace emo
