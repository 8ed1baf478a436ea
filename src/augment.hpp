// Training-data augmentation kernels: additive white Gaussian noise at an exact
// SNR, tempo change that keeps pitch (WSOLA), preemphasis, and the seeded
// four-way expansion the reference applies to its training set. Deterministic:
// the same arguments give bit-identical output on every machine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "status.hpp"

namespace emo {

// out = x + g * n with n ~ N(0, 1) from Prng(seed) and g chosen so that
// 10 log10(sum x^2 / sum (g n)^2) = snrDb. Silent input is copied unchanged.
Status addNoise(const float* x, size_t n, double snrDb, uint64_t seed, float* out);

struct StretchConfig {
  int frameLength = 1280;  // 26.7 ms at 48 kHz: several pitch periods of speech
  int tolerance = 320;     // +-6.7 ms search: covers half a period down to 75 Hz
};

// The stretch config for a sample rate (the defaults above scaled from 48 kHz).
StretchConfig stretchConfigFor(double sampleRate);

// Output length of timeStretch: round(n / rate).
size_t stretchedLength(size_t n, double rate);

// Waveform-similarity overlap-add (WSOLA): Hann frames of frameLength at a
// synthesis hop of frameLength/2, taken from the input at rate times that hop,
// each shifted within +-tolerance to best continue the previous frame, so
// periods line up and pitch is kept. rate > 1 is faster (shorter).
// out must hold stretchedLength(n, rate) samples.
Status timeStretch(const float* x, size_t n, double rate, const StretchConfig& config, float* out);

// y[0] = x[0], y[i] = x[i] - coef * x[i - 1]. In-place safe only if out != x.
void preemphasis(const float* x, size_t n, float coef, float* out);

struct ExpandConfig {
  uint64_t seed = 0;
  double snrLo = 15.0, snrHi = 30.0;
  double rateLo = 0.9, rateHi = 1.1;
  float coef = 0.97f;
};

// The random choices of one expansion, drawn from Prng(seed) in this order:
// SNR, rate, then the noise's own seed.
struct ExpandDraws {
  double snrDb = 0;
  double rate = 1;
  uint64_t noiseSeed = 0;
};

ExpandDraws drawExpand(const ExpandConfig& config);

}  // namespace emo
