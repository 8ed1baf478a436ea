#include "pipeline.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "wav.hpp"

namespace emo {
namespace {

// Per-thread scratch so a batch worker allocates nothing per clip.
struct Scratch {
  std::vector<float> mono;
  std::vector<float> clip;
  std::vector<float> spec;
};

Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

float* sized(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

// Scratch above this many floats (16 MiB) is given back after the clip that needed it: one
// unusually long or high-rate clip must not pin its memory in every pool thread for good.
constexpr size_t kKeepScratchFloats = size_t{4} << 20;

struct ShrinkScratchAfterUse {
  ~ShrinkScratchAfterUse() {
    Scratch& s = scratch();
    for (std::vector<float>* v : {&s.mono, &s.clip, &s.spec})
      if (v->capacity() > kKeepScratchFloats) std::vector<float>().swap(*v);
  }
};

Status chunksFromClip(const float* clip, const PipelineConfig& config, float* out) {
  const auto plan = MelPlan::get(config.mel);
  const size_t frames = melFrames(config.mel, config.clip.length);
  float* spec = sized(scratch().spec, frames * static_cast<size_t>(config.mel.nMels));
  Status s = plan->compute(clip, config.clip.length, spec);
  if (!s.ok()) return s;
  extractChunks(spec, static_cast<size_t>(config.mel.nMels), frames, config.chunks, out);
  return Status::success();
}

// Input samples needed for the whole clip: [0, end).
size_t inputNeeded(uint32_t inputRate, const ClipConfig& config) {
  const size_t outputEnd = config.offset + config.length;
  if (inputRate == config.sampleRate) return outputEnd;
  return resampleInputEnd(inputRate, config.sampleRate, config.resample, outputEnd);
}

}  // namespace

Status validate(const PipelineConfig& config) {
  Status s = validate(config.mel);
  if (!s.ok()) return s;
  auto bad = [](const std::string& what) { return Status::error(Code::InvalidConfig, "invalid pipeline configuration: " + what); };
  if (config.clip.sampleRate < kMinSampleRate || config.clip.sampleRate > kMaxSampleRate) return bad("clip sample rate out of range");
  if (static_cast<int64_t>(config.clip.sampleRate) != config.mel.sampleRate) return bad("the mel sample rate must equal the clip sample rate");
  if (config.clip.length <= static_cast<size_t>(config.mel.nFft / 2)) return bad("the clip must be longer than nFft / 2 samples");
  if (config.clip.resample.lowpassFilterWidth < 1 || !(config.clip.resample.rolloff > 0.0) || config.clip.resample.rolloff > 1.0)
    return bad("invalid resampling parameters");
  if (config.chunks.frames < 1 || config.chunks.stride < 1) return bad("chunk frames and stride must be positive");
  if (chunkCount(config.chunks, melFrames(config.mel, config.clip.length)) == 0) return bad("no chunk fits in the clip's frames");
  return Status::success();
}

ChunkShape chunkShape(const PipelineConfig& config) {
  ChunkShape shape;
  shape.chunks = chunkCount(config.chunks, melFrames(config.mel, config.clip.length));
  shape.bands = static_cast<size_t>(config.mel.nMels);
  shape.frames = static_cast<size_t>(config.chunks.frames);
  return shape;
}

size_t firstNonFinite(const float* x, size_t n) {
  // Branch-free scan first (vectorises); locate the index only on failure.
  bool allFinite = true;
  for (size_t i = 0; i < n; ++i) allFinite &= std::isfinite(x[i]);
  if (allFinite) return n;
  for (size_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i])) return i;
  return n;
}

Status formatClip(const float* mono, size_t available, size_t length, uint32_t inputRate, const ClipConfig& config, float* out) {
  if (inputRate < kMinSampleRate || inputRate > kMaxSampleRate)
    return Status::error(Code::WavBadSampleRate, "sample rate " + std::to_string(inputRate) + " Hz is outside the supported range " +
                                                     std::to_string(kMinSampleRate) + "-" + std::to_string(kMaxSampleRate) + " Hz");
  return resampleRange(mono, available, length, inputRate, config.sampleRate, config.resample, config.offset, config.length, out);
}

Status prepareWavInScratch(const uint8_t* bytes, size_t size, const ClipConfig& config, float* out) {
  WavInfo info;
  Status s = parseWav(bytes, size, info);
  if (!s.ok()) return s;
  const size_t needed = std::min(info.frames, inputNeeded(info.sampleRate, config));
  float* mono = sized(scratch().mono, needed);
  s = decodeMono(info, 0, needed, mono);
  if (!s.ok()) return s;
  return formatClip(mono, needed, info.frames, info.sampleRate, config, out);
}

Status prepareChannelsInScratch(const float* const* channels, size_t channelCount, size_t frames, uint32_t sampleRate, const ClipConfig& config, float* out) {
  if (channelCount == 0) return Status::error(Code::WavZeroChannels, "audio has no channels");
  if (frames == 0) return Status::error(Code::WavNoSamples, "audio has no samples");
  const size_t needed = std::min(frames, inputNeeded(sampleRate, config));
  for (size_t c = 0; c < channelCount; ++c) {
    const size_t bad = firstNonFinite(channels[c], needed);
    if (bad < needed)
      return Status::error(Code::NonFiniteSamples, "channel " + std::to_string(c) + " has a NaN or infinite sample at index " + std::to_string(bad));
  }
  const float* mono = channels[0];
  if (channelCount > 1) {
    float* mix = sized(scratch().mono, needed);
    const float scale = 1.0f / static_cast<float>(channelCount);
    std::copy(channels[0], channels[0] + needed, mix);
    for (size_t c = 1; c < channelCount; ++c)
      for (size_t i = 0; i < needed; ++i) mix[i] += channels[c][i];
    for (size_t i = 0; i < needed; ++i) mix[i] *= scale;
    mono = mix;
  }
  return formatClip(mono, needed, frames, sampleRate, config, out);
}

Status prepareWav(const uint8_t* bytes, size_t size, const ClipConfig& config, float* out) {
  ShrinkScratchAfterUse shrink;
  return prepareWavInScratch(bytes, size, config, out);
}

Status prepareChannels(const float* const* channels, size_t channelCount, size_t frames, uint32_t sampleRate, const ClipConfig& config, float* out) {
  ShrinkScratchAfterUse shrink;
  return prepareChannelsInScratch(channels, channelCount, frames, sampleRate, config, out);
}

Status melChunksFromWav(const uint8_t* bytes, size_t size, const PipelineConfig& config, float* out) {
  ShrinkScratchAfterUse shrink;
  float* clip = sized(scratch().clip, config.clip.length);
  Status s = prepareWavInScratch(bytes, size, config.clip, clip);
  if (!s.ok()) return s;
  return chunksFromClip(clip, config, out);
}

Status melChunksFromSamples(const float* samples, size_t n, const PipelineConfig& config, float* out) {
  ShrinkScratchAfterUse shrink;
  float* clip = sized(scratch().clip, config.clip.length);
  const float* channels[1] = {samples};
  Status s = prepareChannelsInScratch(channels, 1, n, config.clip.sampleRate, config.clip, clip);
  if (!s.ok()) return s;
  return chunksFromClip(clip, config, out);
}

}  // namespace emo
