#include "wav_check.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "pipeline.hpp"
#include "wav.hpp"

namespace emotest {
namespace {

std::string describe(const emo::Status& s) { return std::string(emo::codeName(s.code)) + " \"" + s.message + "\""; }

// A non-Ok status must carry a known code and a message.
std::string statusProblem(const emo::Status& s, const char* what) {
  if (s.ok()) return "";
  if (s.message.empty()) return std::string(what) + " returned " + emo::codeName(s.code) + " with an empty message";
  if (std::strcmp(emo::codeName(s.code), "ERR_UNKNOWN") == 0)
    return std::string(what) + " returned an unknown code " + std::to_string(static_cast<int>(s.code));
  return "";
}

bool sameStatus(const emo::Status& a, const emo::Status& b) { return a.code == b.code && a.message == b.message; }

unsigned bytesFor(emo::SampleType t) {
  switch (t) {
    case emo::SampleType::U8: return 1;
    case emo::SampleType::S16: return 2;
    case emo::SampleType::S24: return 3;
    case emo::SampleType::S32: return 4;
    case emo::SampleType::F32: return 4;
    case emo::SampleType::F64: return 8;
  }
  return 0;
}

bool sameFloat(float a, float b) { return a == b || (std::isnan(a) && std::isnan(b)); }

const emo::PipelineConfig& defaultConfig() {
  static const emo::PipelineConfig config{};
  return config;
}

// Heap buffer of exactly n floats (n may be 0): ASan flags any access past it.
std::unique_ptr<float[]> exactFloats(size_t n) { return std::unique_ptr<float[]>(new float[n > 0 ? n : 1]); }

}  // namespace

std::string checkWavInput(const uint8_t* bytes, size_t size, CheckStats* stats, bool runPipeline) {
  CheckStats local;
  CheckStats& st = stats ? *stats : local;
  ++st.inputs;

  emo::WavInfo info;
  const emo::Status parsed = emo::parseWav(bytes, size, info);
  const size_t codeIndex = static_cast<size_t>(parsed.code);
  if (codeIndex < sizeof st.byCode / sizeof st.byCode[0]) ++st.byCode[codeIndex];
  if (std::string p = statusProblem(parsed, "parseWav"); !p.empty()) return p;

  const emo::PipelineConfig& config = defaultConfig();
  const emo::ChunkShape shape = emo::chunkShape(config);

  if (!parsed.ok()) {
    if (!runPipeline) return "";
    // The pipeline must fail the same way, without touching the output.
    auto clip = exactFloats(config.clip.length);
    const emo::Status prepared = emo::prepareWav(bytes, size, config.clip, clip.get());
    if (!sameStatus(prepared, parsed)) return "prepareWav returned " + describe(prepared) + " but parseWav returned " + describe(parsed);
    auto out = exactFloats(shape.size());
    const emo::Status full = emo::melChunksFromWav(bytes, size, config, out.get());
    if (!sameStatus(full, parsed)) return "melChunksFromWav returned " + describe(full) + " but parseWav returned " + describe(parsed);
    return "";
  }
  ++st.parsedOk;

  // Header invariants of a successful parse.
  if (info.channels == 0) return "parseWav succeeded with 0 channels";
  if (info.sampleRate < emo::kMinSampleRate || info.sampleRate > emo::kMaxSampleRate)
    return "parseWav succeeded with sample rate " + std::to_string(info.sampleRate);
  if (info.formatTag != 0x0001 && info.formatTag != 0x0003 && info.formatTag != 0xFFFE)
    return "parseWav succeeded with format tag " + std::to_string(info.formatTag);
  if (info.blockAlign == 0 || info.blockAlign % info.channels != 0)
    return "parseWav succeeded with block align " + std::to_string(info.blockAlign) + " for " + std::to_string(info.channels) + " channels";
  if (info.blockAlign / info.channels != bytesFor(info.type))
    return "parseWav succeeded with " + std::to_string(info.blockAlign / info.channels) + "-byte samples for sample type " +
           std::to_string(static_cast<int>(info.type));
  if (info.data == nullptr || info.data < bytes || info.data > bytes + size) return "parseWav succeeded with data outside the input";
  const size_t remaining = static_cast<size_t>(bytes + size - info.data);
  if (info.frames == 0) return "parseWav succeeded with 0 frames";
  if (info.frames > remaining / info.blockAlign)
    return "parseWav reports " + std::to_string(info.frames) + " frames but only " + std::to_string(remaining) + " bytes follow the data start";

  // decodeChannels over every frame, into exactly sized channel buffers.
  const size_t channels = info.channels;
  const size_t frames = info.frames;
  std::vector<std::unique_ptr<float[]>> planes;
  std::vector<float*> planePtrs;
  planes.reserve(channels);
  for (size_t c = 0; c < channels; ++c) {
    planes.push_back(exactFloats(frames));
    planePtrs.push_back(planes.back().get());
  }
  const emo::Status decoded = emo::decodeChannels(info, 0, frames, planePtrs.data());
  if (std::string p = statusProblem(decoded, "decodeChannels"); !p.empty()) return p;
  const bool isFloat = info.type == emo::SampleType::F32 || info.type == emo::SampleType::F64;
  if (!decoded.ok() && !(isFloat && decoded.code == emo::Code::NonFiniteSamples))
    return "decodeChannels failed on a parsed " + std::string(isFloat ? "float" : "integer") + " file: " + describe(decoded);
  if (decoded.ok()) {
    ++st.decodedOk;
    for (size_t c = 0; c < channels; ++c)
      for (size_t i = 0; i < frames; ++i)
        if (!std::isfinite(planes[c][i])) return "decodeChannels succeeded but returned a non-finite sample";
    if (!isFloat) {
      for (size_t c = 0; c < channels; ++c)
        for (size_t i = 0; i < frames; ++i)
          if (!(planes[c][i] >= -1.0f && planes[c][i] <= 1.0f)) return "integer sample decoded outside [-1, 1]: " + std::to_string(planes[c][i]);
    }
    // A sub-range decodes to the same values as the matching slice.
    if (frames >= 3) {
      const size_t first = frames / 3;
      const size_t count = frames - first - frames / 4;
      std::vector<std::unique_ptr<float[]>> sub;
      std::vector<float*> subPtrs;
      for (size_t c = 0; c < channels; ++c) {
        sub.push_back(exactFloats(count));
        subPtrs.push_back(sub.back().get());
      }
      const emo::Status s = emo::decodeChannels(info, first, count, subPtrs.data());
      if (!s.ok()) return "decodeChannels of frames [" + std::to_string(first) + ", +" + std::to_string(count) + ") failed: " + describe(s);
      for (size_t c = 0; c < channels; ++c)
        for (size_t i = 0; i < count; ++i)
          if (!sameFloat(sub[c][i], planes[c][first + i])) return "decodeChannels of a sub-range differs from the full decode";
    }
  }

  // decodeMono: same verdict as decodeChannels, and the channel mean.
  auto mono = exactFloats(frames);
  const emo::Status mixed = emo::decodeMono(info, 0, frames, mono.get());
  if (std::string p = statusProblem(mixed, "decodeMono"); !p.empty()) return p;
  if (!sameStatus(mixed, decoded)) return "decodeMono returned " + describe(mixed) + " but decodeChannels returned " + describe(decoded);
  if (mixed.ok()) {
    const float scale = 1.0f / static_cast<float>(channels);
    for (size_t i = 0; i < frames; ++i) {
      float sum = 0.0f;
      for (size_t c = 0; c < channels; ++c) sum += planes[c][i];
      const float want = channels == 1 ? sum : sum * scale;
      const float got = mono[i];
      if (sameFloat(got, want)) continue;
      const double tol = 1e-6 * std::max(1.0, std::fabs(static_cast<double>(want)));
      if (!(std::fabs(static_cast<double>(got) - want) <= tol))
        return "decodeMono frame " + std::to_string(i) + " is " + std::to_string(got) + ", the channel mean is " + std::to_string(want);
    }
  }

  if (!runPipeline) return "";

  // prepareWav (decode what the clip needs, mono, resample, offset/length).
  auto clip = exactFloats(config.clip.length);
  const emo::Status prepared = emo::prepareWav(bytes, size, config.clip, clip.get());
  if (std::string p = statusProblem(prepared, "prepareWav"); !p.empty()) return p;
  if (!prepared.ok()) {
    // Only a NaN/Inf among the decoded frames can fail a parsed file, and then the full decode fails too.
    if (prepared.code != emo::Code::NonFiniteSamples || decoded.ok())
      return "prepareWav failed on a parsed file: " + describe(prepared) + " (full decode: " + describe(decoded) + ")";
  } else if (decoded.ok()) {
    // Decoding planar channels and formatting them gives the same clip.
    std::vector<const float*> constPlanes(planePtrs.begin(), planePtrs.end());
    auto clip2 = exactFloats(config.clip.length);
    const emo::Status s = emo::prepareChannels(constPlanes.data(), channels, frames, info.sampleRate, config.clip, clip2.get());
    if (!s.ok()) return "prepareChannels failed where prepareWav succeeded: " + describe(s);
    for (size_t i = 0; i < config.clip.length; ++i)
      if (!sameFloat(clip[i], clip2[i]))
        return "prepareWav and prepareChannels differ at clip sample " + std::to_string(i) + ": " + std::to_string(clip[i]) + " vs " + std::to_string(clip2[i]);
  }

  auto out = exactFloats(shape.size());
  const emo::Status full = emo::melChunksFromWav(bytes, size, config, out.get());
  if (std::string p = statusProblem(full, "melChunksFromWav"); !p.empty()) return p;
  if (!sameStatus(full, prepared)) return "melChunksFromWav returned " + describe(full) + " but prepareWav returned " + describe(prepared);
  if (full.ok()) {
    ++st.pipelineOk;
    for (size_t i = 0; i < shape.size(); ++i)
      if (std::isnan(out[i])) return "melChunksFromWav succeeded with NaN at output " + std::to_string(i);
  }
  return "";
}

}  // namespace emotest
