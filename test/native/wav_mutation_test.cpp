// Deterministic, seeded mutation fuzzer for the WAV decode path. Needs only a
// C++17 compiler; meant to run under AddressSanitizer + UBSan in CI.
//
//   1. builds valid WAV files in memory (every supported encoding, plain and
//      WAVE_FORMAT_EXTENSIBLE, 1-6 channels, odd-sized LIST/JUNK chunks with pad
//      bytes, fact chunks, data before fmt, data shorter than declared) and checks
//      that they decode to exactly the values that were written;
//   2. feeds edge-case inputs (empty, tiny, bare headers);
//   3. feeds every prefix of the small files (truncation at every length);
//   4. applies stacked random mutations (bit flips, interesting bytes and words,
//      chunk size fields set to 0/odd/huge, duplicated/removed/swapped chunks,
//      header fields, random bytes, insertions, deletions, splices) and checks
//      each mutant with checkWavInput (see wav_check.hpp).
//
// Every input is copied into an exactly sized heap buffer, at an odd address
// for half of them, so ASan reports any over-read and unaligned loads are hit.
//
// Usage: wav_mutation_test [--iterations N] [--seed S] [--slow-ms MS]
//          [--hang-s S] [--max-failures N] [--artifacts DIR] [--corpus DIR]
//          [--write-corpus DIR] [--verbose] [FILE...]
// Environment overrides: EMO_FUZZ_ITERATIONS, EMO_FUZZ_SEED, EMO_FUZZ_SLOW_MS.
// FILE arguments (and --corpus) are replayed through the same checks, e.g. to
// reproduce a crash file written by wav_fuzzer.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#define EMO_HAVE_POSIX 1
#endif

#include "pipeline.hpp"
#include "wav.hpp"
#include "wav_builder.hpp"
#include "wav_check.hpp"

using emotest::BuiltWav;
using emotest::Encoding;
using emotest::Rng;
using emotest::WavSpec;
using Bytes = std::vector<uint8_t>;

namespace {

// ------------------------------------------------------------------ options

struct Options {
  uint64_t iterations = 10000;
  uint64_t seed = 0x454D4F2D574156ull;  // "EMO-WAV"
  unsigned slowMs = 2000;               // one input taking longer than this is a failure (0: off)
  unsigned hangSeconds = 60;            // watchdog: abort the run (0: off)
  size_t maxFailures = 5;               // stop after this many failures
  std::string artifacts = ".";
  std::string corpus;
  std::string writeCorpus;
  bool verbose = false;
  std::vector<std::string> files;
};

uint64_t parseNumber(const char* s, const char* what) {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s, &end, 0);
  if (end == s || *end != '\0') {
    std::fprintf(stderr, "invalid %s: %s\n", what, s);
    std::exit(2);
  }
  return v;
}

Options parseOptions(int argc, char** argv) {
  Options o;
  if (const char* e = std::getenv("EMO_FUZZ_ITERATIONS")) o.iterations = parseNumber(e, "EMO_FUZZ_ITERATIONS");
  if (const char* e = std::getenv("EMO_FUZZ_SEED")) o.seed = parseNumber(e, "EMO_FUZZ_SEED");
  if (const char* e = std::getenv("EMO_FUZZ_SLOW_MS")) o.slowMs = static_cast<unsigned>(parseNumber(e, "EMO_FUZZ_SLOW_MS"));
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](const char* what) -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", what);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--iterations") o.iterations = parseNumber(value("--iterations"), "--iterations");
    else if (a == "--seed") o.seed = parseNumber(value("--seed"), "--seed");
    else if (a == "--slow-ms") o.slowMs = static_cast<unsigned>(parseNumber(value("--slow-ms"), "--slow-ms"));
    else if (a == "--hang-s") o.hangSeconds = static_cast<unsigned>(parseNumber(value("--hang-s"), "--hang-s"));
    else if (a == "--max-failures") o.maxFailures = parseNumber(value("--max-failures"), "--max-failures");
    else if (a == "--artifacts") o.artifacts = value("--artifacts");
    else if (a == "--corpus") o.corpus = value("--corpus");
    else if (a == "--write-corpus") o.writeCorpus = value("--write-corpus");
    else if (a == "--verbose" || a == "-v") o.verbose = true;
    else if (a == "--help" || a == "-h") {
      std::printf(
          "usage: wav_mutation_test [--iterations N] [--seed S] [--slow-ms MS] [--hang-s S]\n"
          "                         [--max-failures N] [--artifacts DIR] [--corpus DIR]\n"
          "                         [--write-corpus DIR] [--verbose] [FILE...]\n");
      std::exit(0);
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "unknown option %s (try --help)\n", a.c_str());
      std::exit(2);
    } else {
      o.files.push_back(a);
    }
  }
  return o;
}

// ------------------------------------------------------------------ watchdog

// The input being checked, for the watchdog to save when a check never returns.
const uint8_t* gCurrent = nullptr;
size_t gCurrentSize = 0;
char gHangPath[4096] = "wav_mutation_test-hang.wav";

#ifdef EMO_HAVE_POSIX
extern "C" void onAlarm(int) {
  // Only async-signal-safe calls here.
  static const char msg[] = "\nwav_mutation_test: HANG: an input did not finish within the watchdog limit; saved to ";
  ssize_t ignored = write(2, msg, sizeof msg - 1);
  ignored = write(2, gHangPath, std::strlen(gHangPath));
  ignored = write(2, "\n", 1);
  const int fd = open(gHangPath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) {
    if (gCurrent != nullptr && gCurrentSize > 0) ignored = write(fd, gCurrent, gCurrentSize);
    close(fd);
  }
  (void)ignored;
  _exit(3);
}
#endif

// ------------------------------------------------------------------ running one input

struct Runner {
  Options opt;
  emotest::CheckStats stats;
  size_t failures = 0;
  size_t slowest = 0;  // ms
  std::string slowestWhat;

  static std::string hexHead(const Bytes& b, size_t n = 64) {
    std::string s;
    char buf[4];
    for (size_t i = 0; i < b.size() && i < n; ++i) {
      std::snprintf(buf, sizeof buf, "%02x", b[i]);
      s += buf;
      if (i % 4 == 3) s += ' ';
    }
    if (b.size() > n) s += "...";
    return s;
  }

  void fail(const std::string& what, const Bytes& input, const std::string& context) {
    ++failures;
    const std::string path = opt.artifacts + "/wav_mutation_test-failure-" + std::to_string(failures) + ".wav";
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(input.data()), static_cast<std::streamsize>(input.size()));
    std::printf("FAIL: %s\n  input: %s\n  %zu bytes: %s\n  saved to %s (replay: wav_mutation_test %s)\n", what.c_str(), context.c_str(), input.size(),
                hexHead(input).c_str(), path.c_str(), path.c_str());
    std::fflush(stdout);
  }

  bool stop() const { return failures >= opt.maxFailures; }

  // Copies input into an exactly sized heap buffer (at offset 1 of a size+1
  // allocation when odd is set) and runs the checks on it.
  void check(const Bytes& input, bool odd, const std::string& context, bool runPipeline = true) {
    const size_t n = input.size();
    std::unique_ptr<uint8_t[]> storage(new uint8_t[n + (odd ? 1 : 0) + (n == 0 && !odd ? 1 : 0)]);
    uint8_t* p = storage.get() + (odd ? 1 : 0);
    if (n) std::memcpy(p, input.data(), n);
    gCurrent = p;
    gCurrentSize = n;
#ifdef EMO_HAVE_POSIX
    if (opt.hangSeconds) alarm(opt.hangSeconds);
#endif
    const auto t0 = std::chrono::steady_clock::now();
    const std::string problem = emotest::checkWavInput(p, n, &stats, runPipeline);
    const auto ms = static_cast<size_t>(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count());
#ifdef EMO_HAVE_POSIX
    if (opt.hangSeconds) alarm(0);
#endif
    gCurrent = nullptr;
    gCurrentSize = 0;
    if (!problem.empty()) {
      fail(problem, input, context);
      return;
    }
    if (ms > slowest) {
      slowest = ms;
      slowestWhat = context;
    }
    if (opt.slowMs && ms > opt.slowMs) {
      emo::WavInfo info;
      const bool parsed = emo::parseWav(input.data(), input.size(), info).ok();
      fail("SLOW: one input took " + std::to_string(ms) + " ms (limit " + std::to_string(opt.slowMs) + " ms" +
               (parsed ? ", header rate " + std::to_string(info.sampleRate) + " Hz, " + std::to_string(info.frames) + " frames" : std::string()) + ")",
           input, context);
    }
  }
};

// ------------------------------------------------------------------ valid files

std::vector<WavSpec> baseSpecs(Rng& rng) {
  std::vector<WavSpec> specs;
  const Encoding encodings[] = {Encoding::U8, Encoding::S16, Encoding::S24, Encoding::S32, Encoding::F32, Encoding::F64};
  const uint16_t channelCounts[] = {1, 2, 3, 6};
  const uint32_t rates[] = {48000, 44100, 16000, 8000, 22050, 96000, 11025, 32000};
  const size_t frameCounts[] = {1, 2, 7, 64, 301};
  unsigned k = 0;
  for (Encoding e : encodings) {
    for (int ext = 0; ext < 2; ++ext) {
      for (uint16_t ch : channelCounts) {
        WavSpec s;
        s.encoding = e;
        s.extensible = ext == 1;
        s.channels = ch;
        s.sampleRate = rates[k % 8];
        s.frames = frameCounts[k % 5];
        s.junkFirst = (k & 1) != 0;
        s.fact = (k & 2) != 0 || emotest::encodingIsFloat(e);
        s.list = (k & 4) != 0;
        s.trailer = (k % 3) == 0;
        s.fmt18 = !s.extensible && emotest::encodingIsFloat(e) && (k & 8) != 0;
        s.badRiffSize = (k % 7) == 3;
        s.sampleSeed = 1000 + k;
        specs.push_back(s);
        ++k;
      }
    }
  }
  // Extensible integers with fewer valid bits than the container.
  for (auto [e, bits] : {std::pair{Encoding::S16, uint16_t{12}}, {Encoding::S24, uint16_t{20}}, {Encoding::S32, uint16_t{24}}, {Encoding::S24, uint16_t{24}}}) {
    WavSpec s;
    s.encoding = e;
    s.extensible = true;
    s.validBits = bits;
    s.channels = 2;
    s.frames = 33;
    s.list = true;
    s.sampleSeed = 2000 + bits;
    specs.push_back(s);
  }
  // Odd-sized data chunks (pad byte before the next chunk), data ahead of fmt.
  for (uint16_t ch : {1, 3, 5}) {
    WavSpec s;
    s.encoding = Encoding::U8;
    s.channels = ch;
    s.frames = 13;
    s.trailer = true;
    s.list = true;
    s.sampleSeed = 3000 + ch;
    specs.push_back(s);
    s.dataBeforeFmt = true;
    s.sampleSeed += 10;
    specs.push_back(s);
  }
  {
    WavSpec s;
    s.encoding = Encoding::S24;
    s.channels = 1;
    s.frames = 5;  // 15 data bytes: odd
    s.dataBeforeFmt = true;
    s.fact = true;
    specs.push_back(s);
  }
  // Data shorter than declared: cut inside a frame, at a frame boundary, all of it.
  for (auto [e, ch, cut] : {std::tuple{Encoding::S16, uint16_t{1}, size_t{1}}, {Encoding::S16, uint16_t{2}, size_t{4}}, {Encoding::S24, uint16_t{2}, size_t{7}},
                            {Encoding::F32, uint16_t{1}, size_t{3}}, {Encoding::F64, uint16_t{2}, size_t{17}}, {Encoding::S32, uint16_t{6}, size_t{100}},
                            {Encoding::U8, uint16_t{1}, size_t{60}}, {Encoding::S16, uint16_t{4}, size_t{8 * 50}}}) {
    WavSpec s;
    s.encoding = e;
    s.channels = ch;
    s.frames = 50;
    s.cutBytes = cut;
    s.extensible = ch > 2;
    s.fact = true;
    s.list = true;
    s.sampleSeed = 4000 + cut;
    specs.push_back(s);
  }
  // Random specs.
  for (int i = 0; i < 40; ++i) {
    WavSpec s;
    s.encoding = encodings[rng.below(6)];
    s.extensible = rng.chance(0.4);
    if (s.extensible && !emotest::encodingIsFloat(s.encoding) && s.encoding != Encoding::U8 && rng.chance(0.3))
      s.validBits = static_cast<uint16_t>(rng.range(8 * (emotest::encodingBytes(s.encoding) - 1) + 1, 8 * emotest::encodingBytes(s.encoding)));
    s.fmt18 = !s.extensible && rng.chance(0.3);
    s.channels = static_cast<uint16_t>(rng.range(1, 6));
    s.sampleRate = rates[rng.below(8)];
    s.frames = static_cast<size_t>(rng.range(1, 200));
    s.junkFirst = rng.chance(0.3);
    s.fact = rng.chance(0.4);
    s.list = rng.chance(0.4);
    s.dataBeforeFmt = rng.chance(0.15);
    s.trailer = rng.chance(0.3);
    s.cutBytes = rng.chance(0.2) ? static_cast<size_t>(rng.range(1, 40)) : 0;
    s.badRiffSize = rng.chance(0.1);
    s.sampleSeed = rng.next();
    specs.push_back(s);
  }
  return specs;
}

emo::SampleType expectedType(Encoding e) {
  switch (e) {
    case Encoding::U8: return emo::SampleType::U8;
    case Encoding::S16: return emo::SampleType::S16;
    case Encoding::S24: return emo::SampleType::S24;
    case Encoding::S32: return emo::SampleType::S32;
    case Encoding::F32: return emo::SampleType::F32;
    case Encoding::F64: return emo::SampleType::F64;
  }
  return emo::SampleType::S16;
}

// Checks a valid file against what was written into it. Returns "" when all holds.
std::string checkBuilt(const BuiltWav& w) {
  const WavSpec& s = w.spec;
  emo::WavInfo info;
  const emo::Status st = emo::parseWav(w.bytes.data(), w.bytes.size(), info);
  if (w.framesPresent == 0) {
    if (st.code != emo::Code::WavNoSamples) return std::string("expected ERR_WAV_NO_SAMPLES, got ") + emo::codeName(st.code) + " " + st.message;
    return "";
  }
  if (!st.ok()) return std::string("parseWav failed on a valid file: ") + emo::codeName(st.code) + " " + st.message;
  const unsigned container = 8 * emotest::encodingBytes(s.encoding);
  const uint16_t wantBits = (s.extensible && s.validBits && s.validBits <= container) ? s.validBits : static_cast<uint16_t>(container);
  const uint16_t wantTag = s.extensible ? 0xFFFE : (emotest::encodingIsFloat(s.encoding) ? 3 : 1);
  if (info.channels != s.channels) return "channels " + std::to_string(info.channels);
  if (info.sampleRate != s.sampleRate) return "sample rate " + std::to_string(info.sampleRate);
  if (info.formatTag != wantTag) return "format tag " + std::to_string(info.formatTag);
  if (info.bitsPerSample != wantBits) return "bits per sample " + std::to_string(info.bitsPerSample) + ", want " + std::to_string(wantBits);
  if (info.blockAlign != s.channels * emotest::encodingBytes(s.encoding)) return "block align " + std::to_string(info.blockAlign);
  if (info.type != expectedType(s.encoding)) return "sample type " + std::to_string(static_cast<int>(info.type));
  if (info.frames != w.framesPresent)
    return "frames " + std::to_string(info.frames) + ", want " + std::to_string(w.framesPresent) + " (declared " + std::to_string(s.frames) + ")";

  const size_t frames = info.frames;
  std::vector<std::vector<float>> planes(s.channels, std::vector<float>(frames));
  std::vector<float*> ptrs;
  for (auto& p : planes) ptrs.push_back(p.data());
  emo::Status d = emo::decodeChannels(info, 0, frames, ptrs.data());
  if (!d.ok()) return "decodeChannels failed: " + d.message;
  for (size_t c = 0; c < s.channels; ++c) {
    for (size_t i = 0; i < frames; ++i) {
      const float got = planes[c][i];
      const float want = w.want[c][i];
      const double tol = w.tolerance[c];
      const bool good = tol == 0.0 ? (got == want && std::signbit(got) == std::signbit(want)) : std::fabs(static_cast<double>(got) - want) <= tol;
      if (!good) {
        char buf[160];
        std::snprintf(buf, sizeof buf, "channel %zu frame %zu decoded as %.9g, wrote %.9g (tolerance %.3g)", c, i, got, want, tol);
        return buf;
      }
    }
  }
  std::vector<float> mono(frames);
  d = emo::decodeMono(info, 0, frames, mono.data());
  if (!d.ok()) return "decodeMono failed: " + d.message;
  for (size_t i = 0; i < frames; ++i) {
    double mean = 0;
    for (size_t c = 0; c < s.channels; ++c) mean += w.want[c][i];
    mean /= s.channels;
    if (std::fabs(mono[i] - mean) > 1e-6 + 4 * w.tolerance[0]) return "decodeMono frame " + std::to_string(i) + " is not the channel mean";
  }

  // At the clip rate, the WAV path and the samples path give identical chunks.
  const emo::PipelineConfig config{};
  if (s.sampleRate == config.clip.sampleRate) {
    const size_t n = emo::chunkShape(config).size();
    std::vector<float> a(n), b(n);
    emo::Status sa = emo::melChunksFromWav(w.bytes.data(), w.bytes.size(), config, a.data());
    emo::Status sb = emo::melChunksFromSamples(mono.data(), frames, config, b.data());
    if (!sa.ok() || !sb.ok()) return "pipeline failed on a valid file: " + sa.message + sb.message;
    for (size_t i = 0; i < n; ++i)
      if (a[i] != b[i]) return "melChunksFromWav differs from melChunksFromSamples at " + std::to_string(i);
  }
  return "";
}

// ------------------------------------------------------------------ mutations

struct ChunkRef {
  size_t offset;  // of the 8-byte header
  size_t total;   // header + body + pad, clamped to the input
};

std::vector<ChunkRef> walkChunks(const Bytes& b) {
  std::vector<ChunkRef> out;
  size_t pos = 12;
  while (pos + 8 <= b.size() && out.size() < 64) {
    const uint64_t declared = static_cast<uint64_t>(b[pos + 4]) | static_cast<uint64_t>(b[pos + 5]) << 8 | static_cast<uint64_t>(b[pos + 6]) << 16 |
                              static_cast<uint64_t>(b[pos + 7]) << 24;
    const uint64_t total = 8 + declared + (declared & 1);
    const size_t clamped = static_cast<size_t>(std::min<uint64_t>(total, b.size() - pos));
    out.push_back({pos, clamped});
    pos += clamped;
  }
  return out;
}

const ChunkRef* findChunk(const std::vector<ChunkRef>& chunks, const Bytes& b, const char* tag) {
  for (const auto& c : chunks)
    if (std::memcmp(b.data() + c.offset, tag, 4) == 0) return &c;
  return nullptr;
}

void put(Bytes& b, size_t at, uint64_t v, unsigned width) {
  for (unsigned i = 0; i < width && at + i < b.size(); ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}

const std::vector<uint8_t> kInterestingBytes = {0x00, 0x01, 0x7F, 0x80, 0xFF, 0xFE, 0x10, 0x20};
const std::vector<uint64_t> kInteresting16 = {0, 1, 2, 3, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0xFFFE, 8, 16, 24, 32, 64};
const std::vector<uint64_t> kInteresting32 = {0,          1,          3,          7,          0x7F,       0x80,       0xFF,      0x100,
                                              0x7FFF,     0x8000,     0xFFFF,     0x10000,    0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFFE,
                                              0xFFFFFFF8, 0x3FFFFFFF, 999,        1000,       768000,     768001,     44100,     48000};
const char* const kTags[] = {"fmt ", "data", "LIST", "fact", "JUNK", "RIFF", "WAVE", "id3 ", "PEAK", "\0\0\0\0"};

// Applies one random mutation; appends a short description to log.
void mutateOnce(Bytes& b, Rng& rng, const std::vector<BuiltWav>& pool, std::string& log) {
  auto at = [&](size_t width) -> size_t { return b.size() > width ? static_cast<size_t>(rng.below(b.size() - width + 1)) : 0; };
  const unsigned kind = static_cast<unsigned>(rng.below(20));
  const std::vector<ChunkRef> chunks = walkChunks(b);
  switch (kind) {
    case 0:
    case 1: {  // bit flips
      const int flips = static_cast<int>(rng.range(1, 8));
      for (int i = 0; i < flips && !b.empty(); ++i) b[rng.below(b.size())] ^= static_cast<uint8_t>(1u << rng.below(8));
      log += " flip" + std::to_string(flips);
      break;
    }
    case 2: {  // interesting byte (biased toward the first 80 bytes: the headers)
      if (b.empty()) break;
      const size_t p = rng.chance(0.6) ? static_cast<size_t>(rng.below(std::min<size_t>(80, b.size()))) : static_cast<size_t>(rng.below(b.size()));
      b[p] = rng.pick(kInterestingBytes);
      log += " byte@" + std::to_string(p);
      break;
    }
    case 3: {  // interesting 16/32-bit word at any (unaligned) offset
      const bool wide = rng.chance(0.5);
      const size_t p = at(wide ? 4 : 2);
      put(b, p, wide ? rng.pick(kInteresting32) : rng.pick(kInteresting16), wide ? 4 : 2);
      log += std::string(wide ? " word32@" : " word16@") + std::to_string(p);
      break;
    }
    case 4:
    case 5:
    case 6: {  // a chunk size field: zero, odd, off by one, huge, exactly to the end, one past the end
      if (chunks.empty()) break;
      const ChunkRef& c = chunks[rng.below(chunks.size())];
      const uint64_t declared = b[c.offset + 4] | b[c.offset + 5] << 8 | b[c.offset + 6] << 16 | static_cast<uint64_t>(b[c.offset + 7]) << 24;
      const uint64_t toEnd = b.size() - c.offset - 8;
      const uint64_t choices[] = {0, 1, declared ^ 1, declared + 1, declared - 1, toEnd, toEnd + 1, toEnd - 1, 0xFFFFFFFF, 0xFFFFFFF7, 0x7FFFFFFF, 0x80000000,
                                  rng.below(0x100000000ull), declared * 2, declared / 2};
      const uint64_t v = choices[rng.below(std::size(choices))];
      put(b, c.offset + 4, v, 4);
      log += " size@" + std::to_string(c.offset) + "=" + std::to_string(v & 0xFFFFFFFF);
      break;
    }
    case 7: {  // the RIFF size field
      if (b.size() >= 8) put(b, 4, rng.pick(kInteresting32), 4);
      log += " riffsize";
      break;
    }
    case 8:
    case 9: {  // a fmt field: tag, channels, rate, byte rate, block align, bits, cbSize, valid bits, mask, subformat
      const ChunkRef* fmt = findChunk(chunks, b, "fmt ");
      if (!fmt) break;
      static const struct { size_t off; unsigned width; } fields[] = {{0, 2}, {2, 2}, {4, 4}, {8, 4}, {12, 2}, {14, 2}, {16, 2}, {18, 2}, {20, 4}, {24, 2}, {26, 4}};
      const auto& f = fields[rng.below(std::size(fields))];
      uint64_t v = f.width == 2 ? rng.pick(kInteresting16) : rng.pick(kInteresting32);
      if (f.off == 0 || f.off == 24) {
        static const uint64_t tags[] = {0x0001, 0x0003, 0xFFFE, 0x0002, 0x0006, 0x0007, 0x0011, 0x0055, 0x0000, 0xFFFF};
        v = tags[rng.below(std::size(tags))];
      } else if (f.off == 2 && rng.chance(0.5)) {
        v = static_cast<uint64_t>(rng.range(0, 9));
      } else if (f.off == 4 && rng.chance(0.6)) {
        static const uint64_t rates[] = {999, 1000, 1001, 768000, 768001, 8000, 44100, 48000, 96000, 192000, 0, 22050, 11025};
        v = rates[rng.below(std::size(rates))];
      } else if ((f.off == 12 || f.off == 14 || f.off == 18) && rng.chance(0.6)) {
        v = static_cast<uint64_t>(rng.range(0, 66));
      }
      put(b, fmt->offset + 8 + f.off, v, f.width);
      log += " fmt+" + std::to_string(f.off) + "=" + std::to_string(v);
      break;
    }
    case 10: {  // duplicate a chunk somewhere at a chunk boundary
      if (chunks.empty()) break;
      const ChunkRef c = chunks[rng.below(chunks.size())];
      const Bytes copy(b.begin() + static_cast<std::ptrdiff_t>(c.offset), b.begin() + static_cast<std::ptrdiff_t>(c.offset + c.total));
      const size_t dest = rng.chance(0.5) ? chunks[rng.below(chunks.size())].offset : b.size();
      b.insert(b.begin() + static_cast<std::ptrdiff_t>(dest), copy.begin(), copy.end());
      log += " dup@" + std::to_string(c.offset);
      break;
    }
    case 11: {  // remove a chunk
      if (chunks.empty()) break;
      const ChunkRef c = chunks[rng.below(chunks.size())];
      b.erase(b.begin() + static_cast<std::ptrdiff_t>(c.offset), b.begin() + static_cast<std::ptrdiff_t>(c.offset + c.total));
      log += " del@" + std::to_string(c.offset);
      break;
    }
    case 12: {  // swap two adjacent chunks
      if (chunks.size() < 2) break;
      const size_t i = static_cast<size_t>(rng.below(chunks.size() - 1));
      const ChunkRef a = chunks[i], c = chunks[i + 1];
      Bytes first(b.begin() + static_cast<std::ptrdiff_t>(a.offset), b.begin() + static_cast<std::ptrdiff_t>(a.offset + a.total));
      b.erase(b.begin() + static_cast<std::ptrdiff_t>(a.offset), b.begin() + static_cast<std::ptrdiff_t>(a.offset + a.total));
      const size_t insertAt = c.offset - a.total + c.total;
      b.insert(b.begin() + static_cast<std::ptrdiff_t>(insertAt), first.begin(), first.end());
      log += " swap" + std::to_string(i);
      break;
    }
    case 13: {  // rename a chunk
      if (chunks.empty()) break;
      const ChunkRef& c = chunks[rng.below(chunks.size())];
      std::memcpy(b.data() + c.offset, kTags[rng.below(std::size(kTags))], 4);
      log += " tag@" + std::to_string(c.offset);
      break;
    }
    case 14: {  // truncate
      const size_t n = static_cast<size_t>(rng.below(b.size() + 1));
      b.resize(n);
      log += " cut" + std::to_string(n);
      break;
    }
    case 15: {  // random bytes
      if (b.empty()) break;
      const size_t len = static_cast<size_t>(rng.range(1, 16));
      const size_t p = at(len);
      for (size_t i = 0; i < len && p + i < b.size(); ++i) b[p + i] = static_cast<uint8_t>(rng.next());
      log += " rand@" + std::to_string(p);
      break;
    }
    case 16: {  // insert bytes
      const size_t len = static_cast<size_t>(rng.range(1, 9));
      const size_t p = static_cast<size_t>(rng.below(b.size() + 1));
      Bytes ins(len);
      for (auto& x : ins) x = rng.chance(0.5) ? static_cast<uint8_t>(rng.next()) : 0;
      b.insert(b.begin() + static_cast<std::ptrdiff_t>(p), ins.begin(), ins.end());
      log += " ins@" + std::to_string(p);
      break;
    }
    case 17: {  // delete bytes
      if (b.empty()) break;
      const size_t p = static_cast<size_t>(rng.below(b.size()));
      const size_t len = std::min<size_t>(static_cast<size_t>(rng.range(1, 9)), b.size() - p);
      b.erase(b.begin() + static_cast<std::ptrdiff_t>(p), b.begin() + static_cast<std::ptrdiff_t>(p + len));
      log += " erase@" + std::to_string(p);
      break;
    }
    case 18: {  // splice a chunk from another file
      const BuiltWav& other = pool[rng.below(pool.size())];
      const auto theirs = walkChunks(other.bytes);
      if (theirs.empty()) break;
      const ChunkRef c = theirs[rng.below(theirs.size())];
      const size_t dest = chunks.empty() ? b.size() : (rng.chance(0.5) ? chunks[rng.below(chunks.size())].offset : b.size());
      b.insert(b.begin() + static_cast<std::ptrdiff_t>(std::min(dest, b.size())), other.bytes.begin() + static_cast<std::ptrdiff_t>(c.offset),
               other.bytes.begin() + static_cast<std::ptrdiff_t>(c.offset + c.total));
      log += " splice";
      break;
    }
    default: {  // append a chunk with an odd (or lying) size
      const size_t len = static_cast<size_t>(rng.range(0, 9));
      Bytes c(8 + len);
      std::memcpy(c.data(), kTags[rng.below(std::size(kTags))], 4);
      put(c, 4, rng.chance(0.7) ? len : rng.pick(kInteresting32), 4);
      for (size_t i = 8; i < c.size(); ++i) c[i] = static_cast<uint8_t>(rng.next());
      b.insert(b.end(), c.begin(), c.end());
      log += " append";
      break;
    }
  }
}

// ------------------------------------------------------------------ files

bool readFile(const std::string& path, Bytes& out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  out.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  return true;
}

std::vector<std::string> listDir(const std::string& dir) {
  std::vector<std::string> names;
#ifdef EMO_HAVE_POSIX
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') names.push_back(dir + "/" + e->d_name);
    closedir(d);
  }
#endif
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // keep the log when a sanitizer aborts
  Runner run;
  run.opt = parseOptions(argc, argv);
  const Options& opt = run.opt;
  std::snprintf(gHangPath, sizeof gHangPath, "%s/wav_mutation_test-hang.wav", opt.artifacts.c_str());
#ifdef EMO_HAVE_POSIX
  signal(SIGALRM, onAlarm);
#endif
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };

  {
    const emo::PipelineConfig config{};
    const emo::Status s = emo::validate(config);
    if (!s.ok()) {
      std::printf("FAIL: the default PipelineConfig does not validate: %s\n", s.message.c_str());
      return 1;
    }
  }

  auto replay = [&](const std::vector<std::string>& paths, bool print) {
    for (const auto& path : paths) {
      Bytes b;
      if (!readFile(path, b)) {
        std::printf("FAIL: cannot read %s\n", path.c_str());
        ++run.failures;
        continue;
      }
      run.check(b, false, path);
      run.check(b, true, path + " (odd address)");
      if (print) std::printf("%s: %zu bytes checked\n", path.c_str(), b.size());
    }
  };
  // Replay mode: only the given files.
  if (!opt.files.empty()) {
    replay(opt.files, true);
    std::printf("%s: %zu failures\n", run.failures ? "FAILED" : "PASSED", run.failures);
    return run.failures ? 1 : 0;
  }

  Rng rng(opt.seed);
  std::printf("wav_mutation_test: seed 0x%llx, %llu mutation iterations\n", static_cast<unsigned long long>(opt.seed),
              static_cast<unsigned long long>(opt.iterations));

  // 1. Valid files decode to what was written.
  std::vector<BuiltWav> pool;
  size_t validChecked = 0;
  for (const WavSpec& spec : baseSpecs(rng)) {
    BuiltWav w = emotest::buildWav(spec);
    const std::string problem = checkBuilt(w);
    if (!problem.empty()) run.fail("valid file: " + problem, w.bytes, spec.describe());
    run.check(w.bytes, validChecked % 2 == 1, "valid " + spec.describe());
    ++validChecked;
    if (w.bytes.size() <= 4096) pool.push_back(std::move(w));
  }
  std::printf("[%6.1fs] %zu valid files decoded and checked\n", elapsed(), validChecked);

  if (!opt.writeCorpus.empty()) {
    // A few small, varied files: one per encoding/layout family.
    size_t written = 0;
    std::vector<std::string> seen, layouts;
    for (const BuiltWav& w : pool) {
      if (w.bytes.size() > 4000 || w.framesPresent == 0) continue;
      const WavSpec& s = w.spec;
      // One plain and one extensible file per encoding, plus one of each unusual layout.
      std::string family;
      if (s.cutBytes) family = "cut";
      else if (s.dataBeforeFmt) family = "datafirst";
      else if (s.validBits) family = "validbits";
      else if (s.junkFirst && s.list && s.trailer) family = "oddchunks";
      else if (!s.junkFirst && !s.list && !s.trailer && !s.badRiffSize) family = s.extensible ? "ext" : "plain";
      else continue;
      if (family == "ext" || family == "plain") {
        family = std::string(emotest::encodingName(s.encoding)) + "_" + family;
      } else {
        if (std::count(layouts.begin(), layouts.end(), family) >= 2) continue;  // two of each layout is plenty
        layouts.push_back(family);
        family += std::string("_") + emotest::encodingName(s.encoding);
      }
      if (std::find(seen.begin(), seen.end(), family) != seen.end()) continue;
      seen.push_back(family);
      const std::string path = opt.writeCorpus + "/gen_" + family + "_" + std::to_string(s.channels) + "ch_" + std::to_string(s.sampleRate) + ".wav";
      std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(w.bytes.data()), static_cast<std::streamsize>(w.bytes.size()));
      ++written;
    }
    std::printf("wrote %zu corpus files to %s\n", written, opt.writeCorpus.c_str());
    return run.failures ? 1 : 0;
  }

  // 2. Edge cases.
  {
    emo::WavInfo info;
    const emo::Status s = emo::parseWav(nullptr, 0, info);
    if (s.ok() || s.message.empty()) run.fail("parseWav(nullptr, 0) must fail with a message", {}, "nullptr");
    const Bytes header = {'R', 'I', 'F', 'F', 4, 0, 0, 0, 'W', 'A', 'V', 'E', 'f', 'm', 't', ' ', 16, 0, 0, 0};
    for (size_t n = 0; n <= header.size(); ++n) {
      run.check(Bytes(header.begin(), header.begin() + static_cast<std::ptrdiff_t>(n)), false, "header prefix " + std::to_string(n));
      run.check(Bytes(header.begin(), header.begin() + static_cast<std::ptrdiff_t>(n)), true, "header prefix " + std::to_string(n));
    }
    run.check(Bytes(12, 0), false, "zeros");
    run.check(Bytes(64, 0xFF), true, "0xFF");
    run.check(Bytes{'R', 'I', 'F'}, false, "RIF");
    run.check(Bytes{'R', 'I', 'F', 'X'}, false, "RIFX");
  }
  std::printf("[%6.1fs] edge cases checked\n", elapsed());

  // The seed corpus of the libFuzzer target, when given.
  if (!opt.corpus.empty()) {
    const auto names = listDir(opt.corpus);
    if (names.empty()) run.fail("corpus directory " + opt.corpus + " is empty or unreadable", {}, opt.corpus);
    replay(names, false);
    std::printf("[%6.1fs] %zu corpus files replayed\n", elapsed(), names.size());
  }

  // 3. Every prefix of the small files. The headers are where truncation matters;
  // inside the samples every 3rd length (and the last 8) is enough, and the mel
  // pipeline, which sees the same zero-padded clip for most prefixes, runs on
  // every 11th prefix and on the longest ones.
  size_t prefixes = 0;
  for (size_t f = 0; f < pool.size() && !run.stop(); ++f) {
    const Bytes& full = pool[f].bytes;
    if (full.size() > 1200) continue;
    for (size_t n = 0; n <= full.size() && !run.stop(); ++n) {
      const bool header = n < 120 || n + 8 >= full.size();
      const bool pipeline = n % 11 == 0 || n + 3 >= full.size();
      if (!header && n % 3 != 0) continue;
      run.check(Bytes(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n)), (n + f) % 2 == 1,
                "prefix " + std::to_string(n) + " of " + pool[f].spec.describe(), pipeline);
      ++prefixes;
    }
  }
  std::printf("[%6.1fs] %zu truncated prefixes checked\n", elapsed(), prefixes);

  // 4. Stacked random mutations.
  for (uint64_t it = 0; it < opt.iterations && !run.stop(); ++it) {
    const BuiltWav& base = pool[rng.below(pool.size())];
    Bytes b = base.bytes;
    std::string log;
    const int count = 1 + static_cast<int>(rng.below(rng.chance(0.7) ? 2 : 5));
    for (int m = 0; m < count; ++m) mutateOnce(b, rng, pool, log);
    const std::string context = "iteration " + std::to_string(it) + " of " + base.spec.describe() + ", mutations:" + log;
    if (opt.verbose) std::printf("%s\n", context.c_str());
    run.check(b, rng.chance(0.5), context);
    if ((it + 1) % 2000 == 0) std::printf("[%6.1fs] %llu mutants\n", elapsed(), static_cast<unsigned long long>(it + 1));
  }

  const auto& st = run.stats;
  std::printf("[%6.1fs] %zu inputs: %zu parsed, %zu decoded, %zu through the pipeline; slowest %zu ms (%s)\n", elapsed(), st.inputs, st.parsedOk,
              st.decodedOk, st.pipelineOk, run.slowest, run.slowestWhat.substr(0, 160).c_str());
  std::printf("parseWav results:");
  for (int c = 0; c <= static_cast<int>(emo::Code::TooShort); ++c)
    if (st.byCode[c]) std::printf(" %s=%zu", emo::codeName(static_cast<emo::Code>(c)), st.byCode[c]);
  std::printf("\n");
  if (run.stop()) std::printf("stopped after %zu failures\n", run.failures);
  std::printf("%s: %zu failures\n", run.failures ? "FAILED" : "PASSED", run.failures);
  return run.failures ? 1 : 0;
}
