// Sliding windows over the frames of a (bands x frames) spectrogram.
#pragma once

#include <cstddef>

namespace emo {

struct ChunkConfig {
  int frames = 128;  // frames per chunk
  int stride = 64;   // frames between chunk starts
};

// Number of whole chunks that fit in `frames` frames (0 when none does).
size_t chunkCount(const ChunkConfig& config, size_t frames);

// out: chunks x bands x config.frames, copied from spec (bands x frames).
void extractChunks(const float* spec, size_t bands, size_t frames, const ChunkConfig& config, float* out);

}  // namespace emo
