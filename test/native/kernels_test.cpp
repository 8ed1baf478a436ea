// Unit tests for the DSP kernels: resampling, STFT/mel/dB, chunks, pipeline
// indices. Plain C++17, no framework: CHECK counts failures and the last line
// is "N passed, N failed"; the exit status is non-zero when anything failed.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <complex>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "chunks.hpp"
#include "mel.hpp"
#include "pipeline.hpp"
#include "resample.hpp"
#include "status.hpp"
#include "wav_builder.hpp"

namespace {

int gPassed = 0;
int gFailed = 0;

#define CHECK(cond, ...)                                                  \
  do {                                                                    \
    if (cond) {                                                           \
      ++gPassed;                                                          \
    } else {                                                              \
      ++gFailed;                                                          \
      std::printf("FAIL %s:%d: %s\n    ", __FILE__, __LINE__, #cond);     \
      std::printf(__VA_ARGS__);                                           \
      std::printf("\n");                                                  \
    }                                                                     \
  } while (0)

constexpr double kPi = 3.14159265358979323846;

std::vector<float> sine(size_t n, double freq, double rate, double amplitude = 1.0, double phase = 0.0) {
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i) x[i] = static_cast<float>(amplitude * std::sin(2.0 * kPi * freq * static_cast<double>(i) / rate + phase));
  return x;
}

std::vector<float> noise(size_t n, uint64_t seed, double amplitude = 0.5) {
  emotest::Rng rng(seed);
  std::vector<float> x(n);
  for (auto& v : x) v = static_cast<float>(amplitude * (2.0 * rng.uniform() - 1.0));
  return x;
}

size_t ceilDiv(size_t a, size_t b) { return (a + b - 1) / b; }

// ------------------------------------------------------------------ resampling

// Resamples one second of a sine and checks the interior is the same sine:
// same frequency, no phase shift, amplitude within 1%.
void testResampleSine(uint32_t from, uint32_t to, double freq) {
  const emo::ResampleConfig cfg;
  const size_t len = from;  // one second
  const std::vector<float> x = sine(len, freq, from);
  const size_t target = ceilDiv(static_cast<size_t>(to) * len, from);
  std::vector<float> y(target + 100, -1.0f);
  const emo::Status s = emo::resampleRange(x.data(), len, len, from, to, cfg, 0, y.size(), y.data());
  CHECK(s.ok(), "%u -> %u: %s", from, to, s.message.c_str());

  // Least-squares fit y ~ a sin(wn) + b cos(wn) over the interior (50 ms margins).
  const size_t margin = to / 20;
  const double w = 2.0 * kPi * freq / to;
  double ss = 0, sc = 0, cc = 0, ys = 0, yc = 0;
  for (size_t n = margin; n < target - margin; ++n) {
    const double sn = std::sin(w * n), cn = std::cos(w * n);
    ss += sn * sn;
    sc += sn * cn;
    cc += cn * cn;
    ys += y[n] * sn;
    yc += y[n] * cn;
  }
  const double det = ss * cc - sc * sc;
  const double a = (ys * cc - yc * sc) / det;
  const double b = (yc * ss - ys * sc) / det;
  const double amplitude = std::hypot(a, b);
  double residual = 0, direct = 0;
  for (size_t n = margin; n < target - margin; ++n) {
    residual = std::max(residual, std::fabs(y[n] - (a * std::sin(w * n) + b * std::cos(w * n))));
    direct = std::max(direct, std::fabs(y[n] - std::sin(w * n)));
  }
  CHECK(std::fabs(amplitude - 1.0) < 0.01, "%u -> %u: amplitude %.6f", from, to, amplitude);
  CHECK(std::fabs(std::atan2(b, a)) < 0.01, "%u -> %u: phase %.6f rad", from, to, std::atan2(b, a));
  CHECK(residual < 0.01, "%u -> %u: max residual from the fitted %.0f Hz sine %.6f", from, to, freq, residual);
  CHECK(direct < 0.01, "%u -> %u: max |y - sin| %.6f", from, to, direct);
  bool tailZero = true;
  for (size_t n = target; n < y.size(); ++n) tailZero &= y[n] == 0.0f;
  CHECK(tailZero, "%u -> %u: outputs at or past %zu must be zero", from, to, target);
}

// torchaudio's kernel evaluated directly in float64 from the original rates:
// t = (m / from - n / to) * min(from, to) * rolloff, weight = sinc(pi t) *
// cos^2(pi t / (2 width)) * min(from, to) * rolloff / from, for |t| < width.
double referenceResample(const std::vector<float>& x, uint32_t from, uint32_t to, const emo::ResampleConfig& cfg, size_t n, double* magnitude) {
  const double base = std::min(from, to) * cfg.rolloff;
  const double lw = cfg.lowpassFilterWidth;
  double sum = 0, mag = 0;
  for (size_t m = 0; m < x.size(); ++m) {
    const double t = (static_cast<double>(m) / from - static_cast<double>(n) / to) * base;
    if (!(std::fabs(t) < lw)) continue;
    const double window = std::cos(t * kPi / lw / 2.0);
    const double sinc = t == 0.0 ? 1.0 : std::sin(t * kPi) / (t * kPi);
    const double weight = sinc * window * window * base / from;
    sum += weight * x[m];
    mag += std::fabs(weight * x[m]);
  }
  *magnitude = mag;
  return sum;
}

void testResampleReference(uint32_t from, uint32_t to) {
  const emo::ResampleConfig cfg;
  const std::vector<float> x = noise(3000, from * 31 + to);
  const size_t target = ceilDiv(static_cast<size_t>(to) * x.size(), from);
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t n : {size_t{0}, size_t{1}, size_t{2}, size_t{5}, size_t{777}, size_t{1500}, target / 2 + 3, target - 2, target - 1}) {
    float got = -1.0f;
    const emo::Status s = emo::resampleRange(x.data(), x.size(), x.size(), from, to, cfg, n, 1, &got);
    double magnitude = 0;
    const double want = referenceResample(x, from, to, cfg, n, &magnitude);
    CHECK(s.ok(), "%u -> %u: %s", from, to, s.message.c_str());
    CHECK(std::fabs(got - want) <= 1e-6 * magnitude + 1e-7, "%u -> %u output %zu: %.9g, float64 reference %.9g", from, to, n, got, want);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("  resample %u -> %u reference check took %.3f s\n", from, to, seconds);
}

void testResample() {
  std::printf("resampling\n");
  testResampleSine(44100, 48000, 1000.0);
  testResampleSine(16000, 48000, 1000.0);
  testResampleSine(48000, 16000, 1000.0);  // downsampling too

  const emo::ResampleConfig cfg;
  {  // Passthrough when the rates match: a copy, zeros past the available samples.
    const std::vector<float> x = noise(1000, 7);
    std::vector<float> y(1100, -1.0f);
    const emo::Status s = emo::resampleRange(x.data(), x.size(), x.size(), 48000, 48000, cfg, 0, y.size(), y.data());
    CHECK(s.ok(), "%s", s.message.c_str());
    bool same = true, zeros = true;
    for (size_t i = 0; i < x.size(); ++i) same &= y[i] == x[i];
    for (size_t i = x.size(); i < y.size(); ++i) zeros &= y[i] == 0.0f;
    CHECK(same, "passthrough must copy the input exactly");
    CHECK(zeros, "passthrough must zero outputs past the input");
    std::vector<float> z(50, -1.0f);
    emo::resampleRange(x.data(), x.size(), x.size(), 48000, 48000, cfg, 975, z.size(), z.data());
    CHECK(z[0] == x[975] && z[24] == x[999] && z[25] == 0.0f, "passthrough with an offset: %g %g %g", z[0], z[24], z[25]);
  }
  {  // Outputs past ceil(to * len / from) are zero; the one before is not.
    const std::vector<float> ones(1000, 1.0f);
    for (auto [from, to] : {std::pair{44100u, 48000u}, {16000u, 48000u}, {48000u, 44100u}, {22050u, 16000u}}) {
      const size_t target = ceilDiv(static_cast<size_t>(to) * ones.size(), from);
      std::vector<float> y(40, -1.0f);
      const emo::Status s = emo::resampleRange(ones.data(), ones.size(), ones.size(), from, to, cfg, target - 20, y.size(), y.data());
      CHECK(s.ok(), "%s", s.message.c_str());
      bool zeros = true;
      for (size_t i = 20; i < y.size(); ++i) zeros &= y[i] == 0.0f;
      CHECK(zeros, "%u -> %u: outputs from %zu on must be zero", from, to, target);
      CHECK(y[19] > 0.2f, "%u -> %u: output %zu (the last one) is %g", from, to, target - 1, y[19]);
    }
  }
  {  // A range equals the matching slice of the whole; resampleInputEnd samples suffice.
    const std::vector<float> x = noise(20000, 11);
    for (auto [from, to] : {std::pair{44100u, 48000u}, {16000u, 48000u}, {96000u, 48000u}, {11025u, 48000u}}) {
      const size_t target = ceilDiv(static_cast<size_t>(to) * x.size(), from);
      std::vector<float> whole(target);
      emo::resampleRange(x.data(), x.size(), x.size(), from, to, cfg, 0, target, whole.data());
      const size_t first = target / 3 + 1, count = target / 4;
      const size_t needed = std::min(x.size(), emo::resampleInputEnd(from, to, cfg, first + count));
      std::vector<float> part(count, -1.0f);
      const emo::Status s = emo::resampleRange(x.data(), needed, x.size(), from, to, cfg, first, count, part.data());
      CHECK(s.ok(), "%s", s.message.c_str());
      bool same = true;
      for (size_t i = 0; i < count; ++i) same &= part[i] == whole[first + i];
      CHECK(same, "%u -> %u: outputs [%zu, +%zu) from %zu available samples differ from the full computation", from, to, first, count, needed);
      CHECK(needed < x.size(), "%u -> %u: resampleInputEnd should not need the whole input (%zu)", from, to, needed);
    }
  }
  // Direct float64 evaluation of the windowed sinc, for usual pairs and for
  // rate pairs whose gcd is 1 (huge polyphase period).
  testResampleReference(44100, 48000);
  testResampleReference(48000, 16000);
  testResampleReference(44099, 48000);
  testResampleReference(48000, 44099);

  {  // Invalid configurations.
    float x = 0, y = 0;
    emo::ResampleConfig bad;
    CHECK(emo::resampleRange(&x, 1, 1, 0, 48000, cfg, 0, 1, &y).code == emo::Code::InvalidConfig, "fromRate 0");
    CHECK(emo::resampleRange(&x, 1, 1, 48000, 0, cfg, 0, 1, &y).code == emo::Code::InvalidConfig, "toRate 0");
    bad.lowpassFilterWidth = 0;
    CHECK(emo::resampleRange(&x, 1, 1, 44100, 48000, bad, 0, 1, &y).code == emo::Code::InvalidConfig, "lowpassFilterWidth 0");
    bad = {};
    bad.rolloff = 0.0;
    CHECK(emo::resampleRange(&x, 1, 1, 44100, 48000, bad, 0, 1, &y).code == emo::Code::InvalidConfig, "rolloff 0");
    bad.rolloff = 1.5;
    CHECK(emo::resampleRange(&x, 1, 1, 44100, 48000, bad, 0, 1, &y).code == emo::Code::InvalidConfig, "rolloff 1.5");
  }
}

// ------------------------------------------------------------------ mel

double hzToMel(double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); }
double melToHz(double mel) { return 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0); }

// Centre frequencies (Hz) of the HTK triangles, as torchaudio.functional.melscale_fbanks.
std::vector<double> melPoints(const emo::MelConfig& c) {
  std::vector<double> pts(static_cast<size_t>(c.nMels + 2));
  const double lo = hzToMel(c.fMin), hi = hzToMel(c.fMax);
  for (int i = 0; i < c.nMels + 2; ++i) pts[static_cast<size_t>(i)] = melToHz(lo + (hi - lo) * i / (c.nMels + 1));
  return pts;
}

// Reference power -> mel -> dB for frame t of a centred, reflect-padded STFT, all in float64.
std::vector<double> referenceMelFrame(const std::vector<float>& x, const emo::MelConfig& c, size_t t, std::vector<double>* melPower) {
  const int nFft = c.nFft;
  const int64_t n = static_cast<int64_t>(x.size());
  const int winOffset = (c.nFft - c.winLength) / 2;
  std::vector<double> frame(static_cast<size_t>(nFft), 0.0);
  for (int i = winOffset; i < winOffset + c.winLength; ++i) {
    int64_t j = static_cast<int64_t>(t) * c.hopLength + i - nFft / 2;
    if (j < 0) j = -j;                  // reflect (the sample at 0 is not repeated)
    if (j >= n) j = 2 * (n - 1) - j;
    const double w = 0.54 - 0.46 * std::cos(2.0 * kPi * (i - winOffset) / c.winLength);  // periodic Hamming
    frame[static_cast<size_t>(i)] = x[static_cast<size_t>(j)] * w;
  }
  const int nFreqs = nFft / 2 + 1;
  std::vector<double> power(static_cast<size_t>(nFreqs));
  for (int k = 0; k < nFreqs; ++k) {
    double re = 0, im = 0;
    for (int i = 0; i < nFft; ++i) {
      const int phase = static_cast<int>((static_cast<int64_t>(k) * i) % nFft);  // exact argument reduction
      re += frame[static_cast<size_t>(i)] * std::cos(2.0 * kPi * phase / nFft);
      im -= frame[static_cast<size_t>(i)] * std::sin(2.0 * kPi * phase / nFft);
    }
    power[static_cast<size_t>(k)] = re * re + im * im;
  }
  const std::vector<double> pts = melPoints(c);
  const double nyquist = static_cast<double>(c.sampleRate / 2);
  std::vector<double> db(static_cast<size_t>(c.nMels));
  melPower->assign(static_cast<size_t>(c.nMels), 0.0);
  for (int m = 0; m < c.nMels; ++m) {
    double sum = 0;
    for (int k = 0; k < nFreqs; ++k) {
      const double f = nyquist * k / (nFreqs - 1);
      const double up = (f - pts[static_cast<size_t>(m)]) / (pts[static_cast<size_t>(m + 1)] - pts[static_cast<size_t>(m)]);
      const double down = (pts[static_cast<size_t>(m + 2)] - f) / (pts[static_cast<size_t>(m + 2)] - pts[static_cast<size_t>(m + 1)]);
      sum += std::max(0.0, std::min(up, down)) * power[static_cast<size_t>(k)];
    }
    (*melPower)[static_cast<size_t>(m)] = sum;
    db[static_cast<size_t>(m)] = 10.0 * std::log10(std::max(sum, c.amin));
  }
  return db;
}

std::vector<float> computeMel(const emo::MelConfig& c, const std::vector<float>& x, emo::Status* status = nullptr) {
  const emo::MelPlan plan(c);
  std::vector<float> out(emo::melFrames(c, x.size()) * static_cast<size_t>(c.nMels), -1234.0f);
  const emo::Status s = plan.compute(x.data(), x.size(), out.data());
  if (status) *status = s;
  CHECK(s.ok(), "MelPlan::compute: %s", s.message.c_str());
  return out;
}

void testMel() {
  std::printf("mel spectrogram\n");
  const emo::MelConfig c;  // 48 kHz, nFft 1024, win 512, hop 256, 128 HTK bands to 24 kHz
  CHECK(emo::validate(c).ok(), "the default MelConfig must validate");
  CHECK(emo::melFrames(c, 144000) == 563 && emo::melFrames(c, 255) == 1 && emo::melFrames(c, 256) == 2, "melFrames is 1 + n / hop");

  {  // A 1 kHz tone peaks in the band whose HTK centre is nearest 1 kHz.
    const std::vector<double> pts = melPoints(c);
    int nearest = 0;
    for (int m = 1; m < c.nMels; ++m)
      if (std::fabs(pts[static_cast<size_t>(m + 1)] - 1000.0) < std::fabs(pts[static_cast<size_t>(nearest + 1)] - 1000.0)) nearest = m;
    const std::vector<float> x = sine(48000, 1000.0, 48000.0, 0.5);
    const std::vector<float> out = computeMel(c, x);
    const size_t frames = emo::melFrames(c, x.size());
    int worst = 0;
    for (size_t t = 4; t + 4 < frames; ++t) {
      int best = 0;
      for (int m = 1; m < c.nMels; ++m)
        if (out[static_cast<size_t>(m) * frames + t] > out[static_cast<size_t>(best) * frames + t]) best = m;
      if (best != nearest) {
        worst = best;
        break;
      }
    }
    CHECK(worst == 0, "1 kHz tone: a frame peaks in band %d (centre %.1f Hz), expected band %d (centre %.1f Hz)", worst, pts[static_cast<size_t>(worst + 1)],
          nearest, pts[static_cast<size_t>(nearest + 1)]);
    std::printf("  1 kHz peaks in band %d (centre %.1f Hz)\n", nearest, pts[static_cast<size_t>(nearest + 1)]);

    // Same through the whole pipeline (offset 0.5 s, 3 s clip, chunks).
    const std::vector<float> long1k = sine(48000 * 4, 1000.0, 48000.0, 0.5);
    const emo::PipelineConfig pc;
    const emo::ChunkShape shape = emo::chunkShape(pc);
    std::vector<float> chunks(shape.size());
    const emo::Status s = emo::melChunksFromSamples(long1k.data(), long1k.size(), pc, chunks.data());
    CHECK(s.ok(), "%s", s.message.c_str());
    bool allNearest = true;
    for (size_t ch = 0; ch < shape.chunks; ++ch)
      for (size_t t = 0; t < shape.frames; ++t) {
        if (ch == 0 && t == 0) continue;  // the clip's first frame is reflect-padded: the tone is not stationary there
        size_t best = 0;
        for (size_t m = 1; m < shape.bands; ++m)
          if (chunks[(ch * shape.bands + m) * shape.frames + t] > chunks[(ch * shape.bands + best) * shape.frames + t]) best = m;
        if (best != static_cast<size_t>(nearest)) {
          if (allNearest) std::printf("  chunk %zu frame %zu peaks in band %zu\n", ch, t, best);
          allNearest = false;
        }
      }
    CHECK(allNearest, "pipeline: every frame of a 1 kHz tone must peak in band %d", nearest);
  }

  {  // Silence is exactly -100 dB (10 log10(amin = 1e-10)) everywhere, with or without topDb.
    const std::vector<float> zeros(48000, 0.0f);
    std::vector<float> out = computeMel(c, zeros);
    bool all = true;
    for (float v : out) all &= v == -100.0f;
    CHECK(all, "silence must give exactly -100 dB (first value %.9g)", out[0]);
    emo::MelConfig top = c;
    top.useTopDb = true;
    out = computeMel(top, zeros);
    all = true;
    for (float v : out) all &= v == -100.0f;
    CHECK(all, "silence with topDb must give exactly -100 dB");
    const emo::PipelineConfig pc;
    std::vector<float> chunks(emo::chunkShape(pc).size(), 1.0f);
    const std::vector<float> longZeros(48000 * 4, 0.0f);
    const emo::Status s = emo::melChunksFromSamples(longZeros.data(), longZeros.size(), pc, chunks.data());
    CHECK(s.ok(), "%s", s.message.c_str());
    all = true;
    for (float v : chunks) all &= v == -100.0f;
    CHECK(all, "pipeline on silence must give exactly -100 dB");
  }

  {  // Any amin that validate() accepts is honoured: silence is 10 log10(amin) dB.
    const std::vector<float> zeros(4800, 0.0f);
    for (double amin : {1e-10, 1e-20, 1e-30, 1e-37, 1e-40, 1e-45, 5e-324}) {
      emo::MelConfig small = c;
      small.amin = amin;
      if (!emo::validate(small).ok()) continue;  // rejecting it is fine too
      const std::vector<float> out = computeMel(small, zeros);
      const double want = 10.0 * std::log10(amin);
      CHECK(std::fabs(out[0] - want) < 0.01, "amin %g is accepted but silence gives %.3f dB, not %.3f dB", amin, out[0], want);
    }
  }

  {  // topDb floors at (max over the whole spectrogram - topDb), and only there.
    std::vector<float> x = sine(24000, 3000.0, 48000.0, 0.8);
    const std::vector<float> quiet = noise(x.size(), 5, 1e-4);
    for (size_t i = 0; i < x.size(); ++i) x[i] = (i < 12000 ? x[i] : 0.0f) + quiet[i];
    const std::vector<float> raw = computeMel(c, x);
    for (double topDb : {0.0, 20.0, 45.5, 80.0}) {
      emo::MelConfig top = c;
      top.useTopDb = true;
      top.topDb = topDb;
      const std::vector<float> floored = computeMel(top, x);
      const float peak = *std::max_element(raw.begin(), raw.end());
      const float floor = peak - static_cast<float>(topDb);
      size_t clamped = 0, mismatches = 0;
      for (size_t i = 0; i < raw.size(); ++i) {
        const float want = std::max(raw[i], floor);
        if (floored[i] != want) ++mismatches;
        if (raw[i] < floor) ++clamped;
      }
      const float lowest = *std::min_element(floored.begin(), floored.end());
      CHECK(mismatches == 0, "topDb %.1f: %zu values differ from max(raw, peak - topDb)", topDb, mismatches);
      CHECK(clamped > 0 && lowest == floor, "topDb %.1f: nothing was floored (lowest %.3f, floor %.3f)", topDb, lowest, floor);
    }
  }

  {  // STFT parity with a float64 DFT: power -> mel -> dB within 0.01 dB.
    const size_t n = 6000;
    std::vector<float> x = noise(n, 99, 0.3);
    const std::vector<float> a = sine(n, 440.0, 48000.0, 0.5), b = sine(n, 7321.0, 48000.0, 0.2, 0.3);
    for (size_t i = 0; i < n; ++i) x[i] += a[i] + b[i];
    for (const auto& cfg : {c, [] {
                              emo::MelConfig d;
                              d.sampleRate = 16000;
                              d.nFft = 400;
                              d.winLength = 400;
                              d.hopLength = 160;
                              d.nMels = 40;
                              d.fMin = 20.0;
                              d.fMax = 7600.0;
                              return d;
                            }()}) {
      const std::vector<float> out = computeMel(cfg, x);
      const size_t frames = emo::melFrames(cfg, n);
      for (size_t t : {size_t{0}, size_t{1}, frames / 2, frames - 1}) {
        std::vector<double> power;
        const std::vector<double> want = referenceMelFrame(x, cfg, t, &power);
        const double peak = *std::max_element(power.begin(), power.end());
        double worst = 0;
        int compared = 0;
        for (int m = 0; m < cfg.nMels; ++m) {
          if (power[static_cast<size_t>(m)] < 1e-6 * peak) continue;
          ++compared;
          worst = std::max(worst, std::fabs(out[static_cast<size_t>(m) * frames + t] - want[static_cast<size_t>(m)]));
        }
        CHECK(compared > cfg.nMels / 2 && worst < 0.01, "nFft %d frame %zu of %zu: max |dB - float64 reference| = %.5f over %d bands", cfg.nFft, t,
              frames, worst, compared);
      }
    }
  }

  {  // Configuration errors and short inputs.
    auto invalid = [](void (*edit)(emo::MelConfig&)) {
      emo::MelConfig bad;
      edit(bad);
      const emo::Status s = emo::validate(bad);
      return s.code == emo::Code::InvalidConfig && !s.message.empty();
    };
    CHECK(invalid([](emo::MelConfig& m) { m.nFft = 1023; }), "odd nFft");
    CHECK(invalid([](emo::MelConfig& m) { m.winLength = 2048; }), "winLength > nFft");
    CHECK(invalid([](emo::MelConfig& m) { m.hopLength = 0; }), "hop 0");
    CHECK(invalid([](emo::MelConfig& m) { m.nMels = 0; }), "nMels 0");
    CHECK(invalid([](emo::MelConfig& m) { m.fMax = 30000; }), "fMax above Nyquist");
    CHECK(invalid([](emo::MelConfig& m) { m.fMin = 500; m.fMax = 500; }), "fMin == fMax");
    CHECK(invalid([](emo::MelConfig& m) { m.amin = 0; }), "amin 0");
    CHECK(invalid([](emo::MelConfig& m) { m.useTopDb = true; m.topDb = -1; }), "negative topDb");
    const emo::MelPlan plan(c);
    std::vector<float> x(513, 0.1f), out(emo::melFrames(c, 513) * 128);
    CHECK(plan.compute(x.data(), 512, out.data()).code == emo::Code::TooShort, "512 samples with nFft 1024 is too short for reflect padding");
    CHECK(plan.compute(x.data(), 513, out.data()).ok(), "513 samples suffice");
  }
}

// ------------------------------------------------------------------ chunks and pipeline indices

void testChunks() {
  std::printf("chunks and pipeline indices\n");
  const emo::ChunkConfig cc;  // 128 frames, stride 64
  CHECK(emo::chunkCount(cc, 0) == 0 && emo::chunkCount(cc, 127) == 0, "no chunk below 128 frames");
  CHECK(emo::chunkCount(cc, 128) == 1 && emo::chunkCount(cc, 191) == 1 && emo::chunkCount(cc, 192) == 2, "chunk counts at the boundaries");
  CHECK(emo::chunkCount(cc, 563) == 7, "563 frames give 7 chunks, got %zu", emo::chunkCount(cc, 563));
  {
    const emo::ChunkConfig odd{5, 3};
    const size_t bands = 4, frames = 17;
    std::vector<float> spec(bands * frames);
    for (size_t b = 0; b < bands; ++b)
      for (size_t f = 0; f < frames; ++f) spec[b * frames + f] = static_cast<float>(b * 1000 + f);
    const size_t count = emo::chunkCount(odd, frames);
    CHECK(count == 5, "chunkCount({5, 3}, 17) = %zu", count);
    std::vector<float> out(count * bands * 5 + 1, -1.0f);
    emo::extractChunks(spec.data(), bands, frames, odd, out.data());
    size_t bad = 0;
    for (size_t c = 0; c < count; ++c)
      for (size_t b = 0; b < bands; ++b)
        for (size_t i = 0; i < 5; ++i)
          if (out[(c * bands + b) * 5 + i] != static_cast<float>(b * 1000 + c * 3 + i)) ++bad;
    CHECK(bad == 0, "%zu chunk values are not spec[band][chunk * stride + i]", bad);
    CHECK(out.back() == -1.0f, "extractChunks wrote past chunks x bands x frames");
  }

  const emo::PipelineConfig pc;
  CHECK(emo::validate(pc).ok(), "the default PipelineConfig must validate");
  const emo::ChunkShape shape = emo::chunkShape(pc);
  CHECK(shape.chunks == 7 && shape.bands == 128 && shape.frames == 128, "default shape %zu x %zu x %zu", shape.chunks, shape.bands, shape.frames);

  {  // formatClip at the clip rate: samples [offset, offset + length), zero-padded.
    const std::vector<float> x = noise(100000, 3);
    std::vector<float> clip(pc.clip.length, -1.0f);
    const emo::Status s = emo::formatClip(x.data(), x.size(), x.size(), 48000, pc.clip, clip.data());
    CHECK(s.ok(), "%s", s.message.c_str());
    size_t bad = 0;
    for (size_t i = 0; i < clip.size(); ++i) {
      const float want = pc.clip.offset + i < x.size() ? x[pc.clip.offset + i] : 0.0f;
      if (clip[i] != want) ++bad;
    }
    CHECK(bad == 0, "%zu clip samples are not x[offset + i] / zero padding", bad);
    CHECK(emo::formatClip(x.data(), x.size(), x.size(), 999, pc.clip, clip.data()).code == emo::Code::WavBadSampleRate, "999 Hz is rejected");
  }

  {  // Chunk c, band b, frame i of the pipeline is frame c * stride + i of the clip's spectrogram.
    const std::vector<float> x = noise(48000 * 4, 17, 0.2);
    std::vector<float> chunks(shape.size());
    const emo::Status s = emo::melChunksFromSamples(x.data(), x.size(), pc, chunks.data());
    CHECK(s.ok(), "%s", s.message.c_str());
    const std::vector<float> clip(x.begin() + static_cast<std::ptrdiff_t>(pc.clip.offset),
                                  x.begin() + static_cast<std::ptrdiff_t>(pc.clip.offset + pc.clip.length));
    const std::vector<float> spec = computeMel(pc.mel, clip);
    const size_t frames = emo::melFrames(pc.mel, clip.size());
    size_t bad = 0;
    for (size_t c = 0; c < shape.chunks; ++c)
      for (size_t b = 0; b < shape.bands; ++b)
        for (size_t i = 0; i < shape.frames; ++i)
          if (chunks[(c * shape.bands + b) * shape.frames + i] != spec[b * frames + c * static_cast<size_t>(pc.chunks.stride) + i]) ++bad;
    CHECK(bad == 0, "%zu chunk values differ from the clip spectrogram", bad);
  }

  {  // Errors: NaN inside the part the clip reads fails, past it is ignored; no samples.
    std::vector<float> x = noise(48000 * 4, 21);
    std::vector<float> chunks(shape.size());
    x[30000] = std::nanf("");
    emo::Status s = emo::melChunksFromSamples(x.data(), x.size(), pc, chunks.data());
    CHECK(s.code == emo::Code::NonFiniteSamples && !s.message.empty(), "NaN at 30000 must fail, got %s", emo::codeName(s.code));
    x[30000] = 0.0f;
    x[x.size() - 1] = INFINITY;  // past offset + length: never read
    s = emo::melChunksFromSamples(x.data(), x.size(), pc, chunks.data());
    CHECK(s.ok(), "Inf past the clip must be ignored: %s", s.message.c_str());
    s = emo::melChunksFromSamples(x.data(), 0, pc, chunks.data());
    CHECK(s.code == emo::Code::WavNoSamples, "0 samples: %s", emo::codeName(s.code));
    emo::PipelineConfig bad = pc;
    bad.clip.sampleRate = 44100;
    CHECK(emo::validate(bad).code == emo::Code::InvalidConfig, "clip rate must equal mel rate");
    bad = pc;
    bad.chunks.frames = 1000;
    CHECK(emo::validate(bad).code == emo::Code::InvalidConfig, "a chunk longer than the clip's frames");
    bad = pc;
    bad.clip.length = 512;
    CHECK(emo::validate(bad).code == emo::Code::InvalidConfig, "a clip no longer than nFft / 2");
  }
}

}  // namespace

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // keep the log when a sanitizer aborts
  const auto t0 = std::chrono::steady_clock::now();
  testResample();
  testMel();
  testChunks();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("kernels_test finished in %.1f s\n", seconds);
  std::printf("%d passed, %d failed\n", gPassed, gFailed);
  return gFailed == 0 ? 0 : 1;
}
