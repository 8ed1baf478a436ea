#include "wav.hpp"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

namespace emo {
namespace {

uint16_t readU16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t readU32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
bool tagIs(const uint8_t* p, const char* tag) { return std::memcmp(p, tag, 4) == 0; }

constexpr uint16_t kFormatPcm = 0x0001;
constexpr uint16_t kFormatFloat = 0x0003;
constexpr uint16_t kFormatExtensible = 0xFFFE;
// Bytes 2..15 of KSDATAFORMAT_SUBTYPE_PCM / _IEEE_FLOAT; bytes 0..1 hold the format tag.
constexpr uint8_t kSubformatTail[14] = {0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80,
                                        0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71};

std::string formatName(uint16_t tag) {
  switch (tag) {
    case 0x0002: return "Microsoft ADPCM";
    case 0x0006: return "A-law";
    case 0x0007: return "mu-law";
    case 0x0011: return "IMA ADPCM";
    case 0x0031: return "GSM 6.10";
    case 0x0055: return "MPEG layer 3";
    default: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "format tag 0x%04X", tag);
      return buf;
    }
  }
}

Status parseFmt(const uint8_t* p, size_t size, WavInfo& info) {
  if (size < 16) return Status::error(Code::WavTruncated, "WAV fmt chunk is " + std::to_string(size) + " bytes, expected at least 16");
  info.formatTag = readU16(p);
  info.channels = readU16(p + 2);
  info.sampleRate = readU32(p + 4);
  info.blockAlign = readU16(p + 12);
  const uint16_t containerBits = readU16(p + 14);
  info.bitsPerSample = containerBits;

  uint16_t format = info.formatTag;
  if (format == kFormatExtensible) {
    if (size < 40) return Status::error(Code::WavTruncated, "WAVE_FORMAT_EXTENSIBLE fmt chunk is " + std::to_string(size) + " bytes, expected 40");
    const uint16_t validBits = readU16(p + 18);
    const uint8_t* guid = p + 24;
    if (std::memcmp(guid + 2, kSubformatTail, sizeof kSubformatTail) != 0)
      return Status::error(Code::WavUnsupportedFormat, "unsupported WAVE_FORMAT_EXTENSIBLE subformat (only PCM and IEEE float are supported)");
    format = readU16(guid);
    if (validBits != 0 && validBits <= containerBits) info.bitsPerSample = validBits;
  }
  if (format != kFormatPcm && format != kFormatFloat)
    return Status::error(Code::WavUnsupportedFormat, "unsupported WAV encoding: " + formatName(format) + " (only PCM and IEEE float are supported)");
  if (info.channels == 0) return Status::error(Code::WavZeroChannels, "WAV header declares 0 channels");
  if (info.sampleRate < kMinSampleRate || info.sampleRate > kMaxSampleRate)
    return Status::error(Code::WavBadSampleRate, "WAV sample rate " + std::to_string(info.sampleRate) + " Hz is outside the supported range " +
                                                     std::to_string(kMinSampleRate) + "-" + std::to_string(kMaxSampleRate) + " Hz");
  if (info.blockAlign == 0 || info.blockAlign % info.channels != 0)
    return Status::error(Code::WavBadBlockAlign, "WAV block align " + std::to_string(info.blockAlign) + " does not fit " + std::to_string(info.channels) + " channels");

  // The container size decides the decoding; valid bits below it are left-justified
  // in the container, so scaling by the container range is what torchaudio does too.
  const unsigned containerBytes = info.blockAlign / info.channels;
  if (containerBits == 0 || static_cast<unsigned>((containerBits + 7) / 8) != containerBytes)
    return Status::error(Code::WavBadBlockAlign, "WAV block align " + std::to_string(info.blockAlign) + " does not match " + std::to_string(containerBits) +
                                                     "-bit samples in " + std::to_string(info.channels) + " channels");
  if (format == kFormatFloat) {
    if (containerBytes == 4) info.type = SampleType::F32;
    else if (containerBytes == 8) info.type = SampleType::F64;
    else return Status::error(Code::WavUnsupportedBitDepth, "unsupported float WAV bit depth " + std::to_string(containerBits) + " (32 and 64 are supported)");
  } else {
    switch (containerBytes) {
      case 1: info.type = SampleType::U8; break;
      case 2: info.type = SampleType::S16; break;
      case 3: info.type = SampleType::S24; break;
      case 4: info.type = SampleType::S32; break;
      default:
        return Status::error(Code::WavUnsupportedBitDepth, "unsupported PCM WAV bit depth " + std::to_string(containerBits) + " (8, 16, 24 and 32 are supported)");
    }
  }
  return Status::success();
}

// Decodes one sample at p. memcpy keeps unaligned reads defined behaviour.
inline float sampleAt(const uint8_t* p, SampleType type) {
  switch (type) {
    case SampleType::U8: return (static_cast<float>(p[0]) - 128.0f) * (1.0f / 128.0f);
    case SampleType::S16: {
      int16_t v;
      std::memcpy(&v, p, 2);
      return static_cast<float>(v) * (1.0f / 32768.0f);
    }
    case SampleType::S24: {
      const int32_t v = static_cast<int32_t>(static_cast<uint32_t>(p[0]) << 8 | static_cast<uint32_t>(p[1]) << 16 | static_cast<uint32_t>(p[2]) << 24) >> 8;
      return static_cast<float>(v) * (1.0f / 8388608.0f);
    }
    case SampleType::S32: {
      int32_t v;
      std::memcpy(&v, p, 4);
      return static_cast<float>(static_cast<double>(v) * (1.0 / 2147483648.0));
    }
    case SampleType::F32: {
      float v;
      std::memcpy(&v, p, 4);
      return v;
    }
    case SampleType::F64: {
      double v;
      std::memcpy(&v, p, 8);
      return static_cast<float>(v);
    }
  }
  return 0.0f;
}

bool isFloat(SampleType type) { return type == SampleType::F32 || type == SampleType::F64; }

Status nonFinite(size_t frame) {
  return Status::error(Code::NonFiniteSamples, "WAV contains a NaN or infinite sample at frame " + std::to_string(frame));
}

}  // namespace

Status parseWav(const uint8_t* bytes, size_t size, WavInfo& info) {
  info = WavInfo{};
  if (bytes == nullptr || size == 0) return Status::error(Code::WavEmpty, "input is empty (0 bytes)");
  if (size < 12) {
    if (std::memcmp(bytes, "RIFF", size < 4 ? size : 4) == 0)
      return Status::error(Code::WavTruncated, "WAV is truncated: " + std::to_string(size) + " bytes, the RIFF header alone needs 12");
    return Status::error(Code::WavNotRiff, "input is not a WAV file (no RIFF/WAVE header)");
  }
  if (!tagIs(bytes, "RIFF") || !tagIs(bytes + 8, "WAVE"))
    return Status::error(Code::WavNotRiff, "input is not a WAV file (no RIFF/WAVE header)");

  bool haveFmt = false;
  const uint8_t* dataStart = nullptr;
  size_t dataBytes = 0;
  size_t pos = 12;
  bool ranOut = false;  // the last chunk header or body ran past the end of the input
  while (pos < size) {
    if (pos + 8 > size) {
      ranOut = true;
      break;
    }
    const uint8_t* chunk = bytes + pos;
    const size_t declared = readU32(chunk + 4);
    const size_t available = size - pos - 8;
    if (tagIs(chunk, "fmt ")) {
      if (declared > available)
        return Status::error(Code::WavTruncated, "WAV is truncated inside the fmt chunk");
      Status s = parseFmt(chunk + 8, declared, info);
      if (!s.ok()) return s;
      haveFmt = true;
    } else if (tagIs(chunk, "data")) {
      dataStart = chunk + 8;
      dataBytes = declared < available ? declared : available;
      if (haveFmt) break;  // everything needed is known; trailing chunks don't matter
    }
    if (declared > available) {
      ranOut = true;
      break;
    }
    pos += 8 + declared + (declared & 1);
  }
  if (!haveFmt) {
    if (ranOut) return Status::error(Code::WavTruncated, "WAV is truncated before its fmt chunk");
    return Status::error(Code::WavNoFmt, "WAV has no fmt chunk");
  }
  if (dataStart == nullptr) return Status::error(Code::WavNoData, "WAV has no data chunk");
  info.data = dataStart;
  info.frames = dataBytes / info.blockAlign;
  if (info.frames == 0) return Status::error(Code::WavNoSamples, "WAV data chunk holds no complete sample frame");
  return Status::success();
}

Status decodeChannels(const WavInfo& info, size_t first, size_t count, float* const* channels) {
  const size_t channelCount = info.channels;
  const size_t bytesPerSample = info.blockAlign / channelCount;
  const bool checkFinite = isFloat(info.type);
  for (size_t i = 0; i < count; ++i) {
    const uint8_t* frame = info.data + (first + i) * info.blockAlign;
    for (size_t c = 0; c < channelCount; ++c) {
      const float v = sampleAt(frame + c * bytesPerSample, info.type);
      if (checkFinite && !std::isfinite(v)) return nonFinite(first + i);
      channels[c][i] = v;
    }
  }
  return Status::success();
}

Status decodeMono(const WavInfo& info, size_t first, size_t count, float* mono) {
  const size_t channelCount = info.channels;
  const uint8_t* base = info.data + first * info.blockAlign;
  if (channelCount == 1 && info.type == SampleType::S16) {
    // The common case (RAVDESS is 16-bit mono): a tight loop the compiler vectorises.
    for (size_t i = 0; i < count; ++i) {
      int16_t v;
      std::memcpy(&v, base + 2 * i, 2);
      mono[i] = static_cast<float>(v) * (1.0f / 32768.0f);
    }
    return Status::success();
  }
  const size_t bytesPerSample = info.blockAlign / channelCount;
  const bool checkFinite = isFloat(info.type);
  const float scale = 1.0f / static_cast<float>(channelCount);
  for (size_t i = 0; i < count; ++i) {
    const uint8_t* frame = base + i * info.blockAlign;
    float sum = 0.0f;
    for (size_t c = 0; c < channelCount; ++c) sum += sampleAt(frame + c * bytesPerSample, info.type);
    // A NaN or infinite sample makes the sum non-finite, and so do huge but finite float samples
    // that overflow when mixed: that is no audio either.
    if (checkFinite && !std::isfinite(sum)) return nonFinite(first + i);
    mono[i] = channelCount == 1 ? sum : sum * scale;
  }
  return Status::success();
}

}  // namespace emo
