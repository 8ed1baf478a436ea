#include "dropout.hpp"

#include <cmath>

#include "parallel.hpp"

namespace emo::nn {
namespace {

// A 32-bit integer hash with good avalanche (Wellons' "lowbias32" constants):
// cheap enough to vectorise with SSE2 multiplies.
inline uint32_t mix32(uint32_t v) {
  v ^= v >> 16;
  v *= 0x7feb352dU;
  v ^= v >> 15;
  v *= 0x846ca68bU;
  v ^= v >> 16;
  return v;
}

// Two rounds keyed by two words derived from the seed, so different seeds do
// not give shifted copies of one sequence. The top 24 bits are the uniform draw.
struct MaskKey {
  uint32_t a, b, threshold;
};

MaskKey keyOf(uint32_t seed, float rate) {
  // keep iff draw >= rate * 2^24, i.e. with probability 1 - rate (to 2^-24).
  const double t = std::ceil(static_cast<double>(rate) * 16777216.0);
  return {mix32(seed ^ 0x9e3779b9U), mix32(seed + 0x7f4a7c15U), static_cast<uint32_t>(t)};
}

inline bool keeps(const MaskKey& k, uint32_t index) { return (mix32(mix32(index ^ k.a) + k.b) >> 8) >= k.threshold; }

}  // namespace

bool dropoutKeeps(uint32_t seed, uint64_t index, float rate) { return keeps(keyOf(seed, rate), static_cast<uint32_t>(index)); }

Status dropout(const float* x, size_t n, float rate, uint32_t seed, float* y) {
  if (!(rate >= 0.f && rate < 1.f)) return Status::error(Code::InvalidConfig, "dropout: rate must be in [0, 1)");
  // The counter is 32 bits: beyond 2^32 elements masks would repeat.
  if (n > 0xffffffffULL) return Status::error(Code::InvalidConfig, "dropout: more than 2^32 elements");
  applyThreads();
  const MaskKey key = keyOf(seed, rate);
  const float scale = static_cast<float>(1.0 / (1.0 - static_cast<double>(rate)));
  parallelFor(static_cast<std::ptrdiff_t>(n), 1 << 15, [&](std::ptrdiff_t begin, std::ptrdiff_t end) {
    for (std::ptrdiff_t i = begin; i < end; ++i) {
      const float v = x[i] * scale;  // read unconditionally, so the select needs no branch
      y[i] = keeps(key, static_cast<uint32_t>(i)) ? v : 0.f;
    }
  });
  return Status::success();
}

}  // namespace emo::nn
