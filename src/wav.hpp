// RIFF/WAVE parsing and sample decoding. The parser only reads the bytes it is
// given (any alignment, any length) and never trusts a size field.
#pragma once

#include <cstddef>
#include <cstdint>

#include "status.hpp"

namespace emo {

// Rates outside this range are rejected as absurd: they are either corrupt
// headers or would need resampling tables larger than the audio itself.
constexpr uint32_t kMinSampleRate = 1000;
constexpr uint32_t kMaxSampleRate = 768000;

enum class SampleType { U8, S16, S24, S32, F32, F64 };

struct WavInfo {
  uint16_t formatTag = 0;      // as written in the fmt chunk (0xFFFE for extensible)
  uint16_t channels = 0;
  uint32_t sampleRate = 0;
  uint16_t bitsPerSample = 0;  // valid bits (extensible) or container bits
  uint16_t blockAlign = 0;     // bytes per frame
  SampleType type = SampleType::S16;
  const uint8_t* data = nullptr;  // first byte of the first frame
  size_t frames = 0;              // whole frames present (a short data chunk is accepted)
};

// Parses the header and locates the samples. Skips LIST/fact/unknown chunks,
// honours the pad byte of odd-sized chunks, and accepts a data chunk that is
// shorter than declared (truncated downloads are common).
Status parseWav(const uint8_t* bytes, size_t size, WavInfo& info);

// Decodes frames [first, first + count) into one float buffer per channel,
// scaled like torchaudio.load (s16 / 32768, u8 (x - 128) / 128, ...).
// Fails with NonFiniteSamples if a float sample is NaN or infinite.
Status decodeChannels(const WavInfo& info, size_t first, size_t count, float* const* channels);

// Same, averaged over channels into one buffer (the pipeline's mono step).
Status decodeMono(const WavInfo& info, size_t first, size_t count, float* mono);

}  // namespace emo
