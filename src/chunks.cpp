#include "chunks.hpp"

#include <cstring>

namespace emo {

size_t chunkCount(const ChunkConfig& config, size_t frames) {
  const size_t width = static_cast<size_t>(config.frames);
  if (frames < width) return 0;
  return (frames - width) / static_cast<size_t>(config.stride) + 1;
}

void extractChunks(const float* spec, size_t bands, size_t frames, const ChunkConfig& config, float* out) {
  const size_t width = static_cast<size_t>(config.frames);
  const size_t count = chunkCount(config, frames);
  for (size_t c = 0; c < count; ++c) {
    const size_t start = c * static_cast<size_t>(config.stride);
    for (size_t b = 0; b < bands; ++b) std::memcpy(out + (c * bands + b) * width, spec + b * frames + start, width * sizeof(float));
  }
}

}  // namespace emo
