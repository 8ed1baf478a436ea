// Test helpers: a portable seeded RNG and an in-memory WAV writer that also
// records what a correct decoder must return for the file it wrote.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace emotest {

// SplitMix64: tiny, fast, and identical on every platform and standard library
// (std::uniform_*_distribution is not), so a seed reproduces the same run anywhere.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n); n > 0.
  uint64_t below(uint64_t n) { return n == 0 ? 0 : next() % n; }
  // Uniform in [lo, hi].
  int64_t range(int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo) + 1)); }
  double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
  bool chance(double p) { return uniform() < p; }
  template <typename T>
  const T& pick(const std::vector<T>& v) { return v[static_cast<size_t>(below(v.size()))]; }

 private:
  uint64_t state_;
};

enum class Encoding { U8, S16, S24, S32, F32, F64 };

inline const char* encodingName(Encoding e) {
  switch (e) {
    case Encoding::U8: return "u8";
    case Encoding::S16: return "s16";
    case Encoding::S24: return "s24";
    case Encoding::S32: return "s32";
    case Encoding::F32: return "f32";
    case Encoding::F64: return "f64";
  }
  return "?";
}
inline unsigned encodingBytes(Encoding e) {
  switch (e) {
    case Encoding::U8: return 1;
    case Encoding::S16: return 2;
    case Encoding::S24: return 3;
    case Encoding::S32: return 4;
    case Encoding::F32: return 4;
    case Encoding::F64: return 8;
  }
  return 0;
}
inline bool encodingIsFloat(Encoding e) { return e == Encoding::F32 || e == Encoding::F64; }

struct WavSpec {
  Encoding encoding = Encoding::S16;
  bool extensible = false;    // WAVE_FORMAT_EXTENSIBLE fmt (40 bytes, subformat GUID)
  uint16_t validBits = 0;     // extensible integer only: fewer valid bits than the container (0 = all)
  bool fmt18 = false;         // plain fmt written with a cbSize field (18 bytes), as many float writers do
  uint16_t channels = 1;
  uint32_t sampleRate = 48000;
  size_t frames = 64;         // frames declared in the data chunk
  bool junkFirst = false;     // a JUNK chunk (odd size, pad byte) before fmt
  bool fact = false;          // a fact chunk (sample count) between fmt and data
  bool list = false;          // a LIST/INFO chunk of odd size (with pad byte) before data
  bool dataBeforeFmt = false; // data chunk ahead of fmt (legal RIFF, unusual)
  bool trailer = false;       // an odd-sized chunk after data (data then needs its pad byte when odd)
  size_t cutBytes = 0;        // the file ends this many bytes before the declared end of data
  bool badRiffSize = false;   // RIFF size field says something else than the file size
  uint64_t sampleSeed = 1;    // seeds the sample values

  std::string describe() const {
    std::string s = std::string(encodingName(encoding)) + (extensible ? " extensible" : "") + (fmt18 ? " fmt18" : "");
    if (validBits) s += " valid=" + std::to_string(validBits);
    s += " ch=" + std::to_string(channels) + " rate=" + std::to_string(sampleRate) + " frames=" + std::to_string(frames);
    if (junkFirst) s += " junk";
    if (fact) s += " fact";
    if (list) s += " list";
    if (dataBeforeFmt) s += " data-before-fmt";
    if (trailer) s += " trailer";
    if (cutBytes) s += " cut=" + std::to_string(cutBytes);
    if (badRiffSize) s += " bad-riff-size";
    return s;
  }
};

struct BuiltWav {
  WavSpec spec;
  std::vector<uint8_t> bytes;
  size_t framesPresent = 0;              // whole frames actually in the file
  std::vector<std::vector<float>> want;  // [channel][frame] what decodeChannels must return
  std::vector<double> tolerance;         // per channel: |got - want| allowed (0 = exact)
};

namespace detail {

inline void put16(std::vector<uint8_t>& b, uint32_t v) {
  b.push_back(static_cast<uint8_t>(v));
  b.push_back(static_cast<uint8_t>(v >> 8));
}
inline void put32(std::vector<uint8_t>& b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
inline void putTag(std::vector<uint8_t>& b, const char* tag) { b.insert(b.end(), tag, tag + 4); }
inline void set32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + static_cast<size_t>(i)] = static_cast<uint8_t>(v >> (8 * i));
}
inline void chunk(std::vector<uint8_t>& b, const char* tag, const std::vector<uint8_t>& body) {
  putTag(b, tag);
  put32(b, static_cast<uint32_t>(body.size()));
  b.insert(b.end(), body.begin(), body.end());
  if (body.size() & 1) b.push_back(0);  // RIFF pad byte
}

}  // namespace detail

// Writes the file described by spec and the values a correct decoder returns.
inline BuiltWav buildWav(const WavSpec& spec) {
  using namespace detail;
  BuiltWav out;
  out.spec = spec;
  const unsigned bytesPer = encodingBytes(spec.encoding);
  const unsigned containerBits = 8 * bytesPer;
  const bool isFloat = encodingIsFloat(spec.encoding);
  const size_t channels = spec.channels;
  const uint32_t blockAlign = static_cast<uint32_t>(channels * bytesPer);

  // fmt chunk body.
  std::vector<uint8_t> fmt;
  const uint16_t baseTag = isFloat ? 0x0003 : 0x0001;
  put16(fmt, spec.extensible ? 0xFFFE : baseTag);
  put16(fmt, spec.channels);
  put32(fmt, spec.sampleRate);
  put32(fmt, spec.sampleRate * blockAlign);
  put16(fmt, blockAlign);
  put16(fmt, containerBits);
  if (spec.extensible) {
    put16(fmt, 22);  // cbSize
    put16(fmt, spec.validBits ? spec.validBits : containerBits);
    put32(fmt, channels >= 32 ? 0u : (1u << channels) - 1u);  // channel mask
    put16(fmt, baseTag);                                     // subformat GUID
    static const uint8_t tail[14] = {0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71};
    fmt.insert(fmt.end(), tail, tail + 14);
  } else if (spec.fmt18) {
    put16(fmt, 0);
  }

  // Samples, and what the decoder must make of them.
  Rng rng(spec.sampleSeed);
  const unsigned validBits = (!isFloat && spec.extensible && spec.validBits && spec.validBits < containerBits) ? spec.validBits : containerBits;
  std::vector<uint8_t> data;
  data.reserve(spec.frames * blockAlign);
  std::vector<std::vector<float>> want(channels, std::vector<float>(spec.frames));
  const double lsb = std::ldexp(1.0, -static_cast<int>(containerBits - 1));
  for (size_t f = 0; f < spec.frames; ++f) {
    for (size_t c = 0; c < channels; ++c) {
      const uint64_t r = rng.next();
      const unsigned pickExtreme = static_cast<unsigned>(r & 15);  // every 16th-ish sample is an edge value
      if (spec.encoding == Encoding::U8) {
        uint8_t v = static_cast<uint8_t>(r >> 8);
        if (pickExtreme == 0) v = 0;
        if (pickExtreme == 1) v = 255;
        if (pickExtreme == 2) v = 128;
        data.push_back(v);
        want[c][f] = static_cast<float>((static_cast<double>(v) - 128.0) / 128.0);
      } else if (!isFloat) {
        // A random value of validBits bits, left-justified in the container.
        const int64_t lo = -(int64_t{1} << (validBits - 1));
        const int64_t hi = (int64_t{1} << (validBits - 1)) - 1;
        int64_t v = lo + static_cast<int64_t>((r >> 8) % static_cast<uint64_t>(hi - lo + 1));
        if (pickExtreme == 0) v = lo;
        if (pickExtreme == 1) v = hi;
        if (pickExtreme == 2) v = 0;
        if (pickExtreme == 3) v = -1;
        const int64_t stored = v * (int64_t{1} << (containerBits - validBits));
        const uint64_t u = static_cast<uint64_t>(stored);
        for (unsigned i = 0; i < bytesPer; ++i) data.push_back(static_cast<uint8_t>(u >> (8 * i)));
        want[c][f] = static_cast<float>(static_cast<double>(stored) * lsb);
      } else {
        double v = static_cast<double>(static_cast<int64_t>(r >> 11) - (int64_t{1} << 52)) / static_cast<double>(int64_t{1} << 52);  // [-1, 1)
        if (pickExtreme == 0) v = 1.0;
        if (pickExtreme == 1) v = -1.0;
        if (pickExtreme == 2) v = 0.0;
        if (pickExtreme == 3) v = -0.0;
        if (pickExtreme == 4) v = 1e-40;  // float32 denormal
        if (pickExtreme == 5) v = 3.5;    // out of [-1, 1] but finite: passed through
        if (spec.encoding == Encoding::F32) {
          const float fv = static_cast<float>(v);
          uint32_t bits;
          std::memcpy(&bits, &fv, 4);
          put32(data, bits);
          want[c][f] = fv;
        } else {
          uint64_t bits;
          std::memcpy(&bits, &v, 8);
          for (int i = 0; i < 8; ++i) data.push_back(static_cast<uint8_t>(bits >> (8 * i)));
          want[c][f] = static_cast<float>(v);
        }
      }
    }
  }
  out.tolerance.assign(channels, 0.0);
  if (spec.encoding == Encoding::S32) {
    // v / 2^31 has up to 31 significant bits: float rounds it. Allow 1 LSB of the
    // container plus the float rounding of the largest value.
    for (auto& t : out.tolerance) t = lsb + std::ldexp(1.0, -24);
  }

  std::vector<uint8_t>& b = out.bytes;
  putTag(b, "RIFF");
  put32(b, 0);  // patched below
  putTag(b, "WAVE");
  if (spec.junkFirst) chunk(b, "JUNK", std::vector<uint8_t>(7, 0x20));
  const bool cut = spec.cutBytes > 0;
  const bool dataFirst = spec.dataBeforeFmt && !cut;  // a cut data chunk must be the last one
  auto writeData = [&] {
    putTag(b, "data");
    put32(b, static_cast<uint32_t>(data.size()));
    b.insert(b.end(), data.begin(), data.end());
    if ((data.size() & 1) && (!cut)) b.push_back(0);
  };
  if (dataFirst) writeData();
  chunk(b, "fmt ", fmt);
  if (spec.fact) {
    std::vector<uint8_t> fact;
    put32(fact, static_cast<uint32_t>(spec.frames));
    chunk(b, "fact", fact);
  }
  if (spec.list) {
    std::vector<uint8_t> list;
    putTag(list, "INFO");
    putTag(list, "ISFT");
    const char name[] = "emo-test";  // 9 bytes with its NUL: odd sub-chunk and odd LIST
    put32(list, sizeof name);
    list.insert(list.end(), name, name + sizeof name);
    chunk(b, "LIST", list);
  }
  if (!dataFirst) writeData();
  if (spec.trailer && !cut) {
    std::vector<uint8_t> t(3, 0xAB);
    chunk(b, "id3 ", t);
  }
  if (cut) {
    const size_t keep = spec.cutBytes >= data.size() ? 0 : data.size() - spec.cutBytes;
    b.resize(b.size() - (data.size() - keep));
  }
  set32(b, 4, spec.badRiffSize ? 0xFFFFFFFFu : static_cast<uint32_t>(b.size() - 8));

  const size_t present = cut ? (spec.cutBytes >= data.size() ? 0 : (data.size() - spec.cutBytes) / blockAlign) : spec.frames;
  out.framesPresent = present;
  for (auto& ch : want) ch.resize(present);
  out.want = std::move(want);
  return out;
}

}  // namespace emotest
