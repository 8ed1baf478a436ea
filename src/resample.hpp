// Band-limited resampling identical in algorithm to torchaudio.functional.resample
// (0.13, "sinc_interpolation"): a Hann-windowed sinc, lowpass_filter_width zero
// crossings, cut-off rolloff * the lower Nyquist. The kernel is only evaluated
// where it is non-zero, and only the requested output range is computed.
#pragma once

#include <cstddef>
#include <cstdint>

#include "status.hpp"

namespace emo {

struct ResampleConfig {
  int lowpassFilterWidth = 6;
  double rolloff = 0.99;
};

// Writes outputs [first, first + count) of resample(x, fromRate, toRate) into out.
// x holds the first `available` samples of a signal `length` samples long; the
// caller must provide every sample the range reads (see resampleInputEnd).
// Outputs at or past ceil(toRate * length / fromRate) are zero, as torchaudio
// truncates there.
Status resampleRange(const float* x, size_t available, size_t length, uint32_t fromRate, uint32_t toRate,
                     const ResampleConfig& config, size_t first, size_t count, float* out);

// One past the last input sample read by outputs [0, outputEnd).
size_t resampleInputEnd(uint32_t fromRate, uint32_t toRate, const ResampleConfig& config, size_t outputEnd);

}  // namespace emo
