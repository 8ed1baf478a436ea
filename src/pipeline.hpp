// The feature pipeline of docs/architecture.md end to end: WAV bytes or 48 kHz mono
// samples -> formatted clip -> dB mel spectrogram -> overlapping chunks.
#pragma once

#include <cstddef>
#include <cstdint>

#include "chunks.hpp"
#include "mel.hpp"
#include "resample.hpp"
#include "status.hpp"

namespace emo {

struct ClipConfig {
  uint32_t sampleRate = 48000;  // rate of the formatted clip
  size_t offset = 24000;        // samples skipped at the start (0.5 s)
  size_t length = 144000;       // samples kept, zero-padded at the end (3 s)
  ResampleConfig resample;
};

struct PipelineConfig {
  ClipConfig clip;
  MelConfig mel;
  ChunkConfig chunks;
};

struct ChunkShape {
  size_t chunks = 0;
  size_t bands = 0;
  size_t frames = 0;
  size_t size() const { return chunks * bands * frames; }
};

Status validate(const PipelineConfig& config);
ChunkShape chunkShape(const PipelineConfig& config);

// Formats mono audio at inputRate: resample to clip.sampleRate, skip clip.offset
// samples, keep clip.length samples (zero-padded). `available` samples of a
// signal `length` long are present (the tail the clip never reads may be absent).
Status formatClip(const float* mono, size_t available, size_t length, uint32_t inputRate, const ClipConfig& config, float* out);

// Decodes only the frames the clip needs, mixes to mono and formats.
Status prepareWav(const uint8_t* bytes, size_t size, const ClipConfig& config, float* out);

// Same for already decoded planar channels.
Status prepareChannels(const float* const* channels, size_t channelCount, size_t frames, uint32_t sampleRate, const ClipConfig& config, float* out);

// Index of the first NaN/Inf in x[0, n), or n when all are finite.
size_t firstNonFinite(const float* x, size_t n);

// Full pipeline into out (chunkShape(config).size() floats).
Status melChunksFromWav(const uint8_t* bytes, size_t size, const PipelineConfig& config, float* out);
Status melChunksFromSamples(const float* samples, size_t n, const PipelineConfig& config, float* out);

}  // namespace emo
