#include "mel.hpp"

#include <kiss_fftr.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "fastmath.hpp"

namespace emo {
namespace {

constexpr double kPi = 3.14159265358979323846;

double hzToMel(double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); }
double melToHz(double mel) { return 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0); }

// kiss_fftr keeps scratch space in its config, so every thread needs its own.
struct ThreadFft {
  int nFft = 0;
  kiss_fftr_cfg cfg = nullptr;
  std::vector<float> frame;
  std::vector<kiss_fft_cpx> spectrum;
  std::vector<float> power;
  ~ThreadFft() { kiss_fftr_free(cfg); }
  void ensure(int n) {
    if (n == nFft) return;
    kiss_fftr_free(cfg);
    cfg = kiss_fftr_alloc(n, 0, nullptr, nullptr);
    if (cfg == nullptr) throw std::bad_alloc();
    nFft = n;
    frame.assign(static_cast<size_t>(n), 0.0f);
    spectrum.resize(static_cast<size_t>(n / 2 + 1));
    power.resize(static_cast<size_t>(n / 2 + 1));
  }
};

ThreadFft& threadFft(int nFft) {
  thread_local ThreadFft fft;
  fft.ensure(nFft);
  return fft;
}

// Index into a signal of length n reflected at both ends (numpy/torch "reflect").
inline size_t reflectIndex(int64_t i, int64_t n) {
  if (n == 1) return 0;
  const int64_t period = 2 * (n - 1);
  i %= period;
  if (i < 0) i += period;
  return static_cast<size_t>(i < n ? i : period - i);
}

}  // namespace

Status validate(const MelConfig& c) {
  auto bad = [](const std::string& what) { return Status::error(Code::InvalidConfig, "invalid mel configuration: " + what); };
  if (c.sampleRate <= 0) return bad("sampleRate must be positive");
  if (c.nFft < 2 || c.nFft % 2 != 0 || c.nFft > (1 << 16)) return bad("nFft must be even and in [2, 65536]");
  if (c.winLength < 1 || c.winLength > c.nFft) return bad("winLength must be in [1, nFft]");
  if (c.hopLength < 1) return bad("hopLength must be positive");
  if (c.nMels < 1 || c.nMels > 4096) return bad("nMels must be in [1, 4096]");
  if (!(c.fMin >= 0.0) || !(c.fMax > c.fMin) || c.fMax > c.sampleRate / 2.0) return bad("need 0 <= fMin < fMax <= sampleRate / 2");
  // powerToDb's logarithm needs normal floats: amin below FLT_MIN would be mis-scaled.
  if (!(c.amin >= static_cast<double>(std::numeric_limits<float>::min()))) return bad("amin must be at least 1.1754943508222875e-38 (the smallest normal float)");
  if (c.useTopDb && !(c.topDb >= 0.0)) return bad("topDb must be non-negative");
  return Status::success();
}

size_t melFrames(const MelConfig& config, size_t samples) { return 1 + samples / static_cast<size_t>(config.hopLength); }

MelPlan::MelPlan(const MelConfig& config) : config_(config) {
  // torch.hamming_window(win_length, periodic=True)
  window_.resize(static_cast<size_t>(config.winLength));
  for (int i = 0; i < config.winLength; ++i)
    window_[static_cast<size_t>(i)] = static_cast<float>(0.54 - 0.46 * std::cos(2.0 * kPi * i / config.winLength));

  // torchaudio.functional.melscale_fbanks: bins at linspace(0, sr // 2, n_freqs),
  // triangles between mel-spaced points; computed in float64, stored as float32.
  const int nFreqs = config.nFft / 2 + 1;
  const double nyquist = static_cast<double>(config.sampleRate / 2);
  const double melMin = hzToMel(config.fMin);
  const double melMax = hzToMel(config.fMax);
  std::vector<double> points(static_cast<size_t>(config.nMels + 2));
  for (int i = 0; i < config.nMels + 2; ++i)
    points[static_cast<size_t>(i)] = melToHz(melMin + (melMax - melMin) * i / (config.nMels + 1));
  bands_.resize(static_cast<size_t>(config.nMels));
  for (int m = 0; m < config.nMels; ++m) {
    const double left = points[static_cast<size_t>(m)];
    const double centre = points[static_cast<size_t>(m + 1)];
    const double right = points[static_cast<size_t>(m + 2)];
    Band& band = bands_[static_cast<size_t>(m)];
    band.firstBin = 0;
    for (int k = 0; k < nFreqs; ++k) {
      const double f = nFreqs > 1 ? nyquist * k / (nFreqs - 1) : 0.0;
      const double up = (f - left) / (centre - left);
      const double down = (right - f) / (right - centre);
      const double w = std::max(0.0, std::min(up, down));
      if (w <= 0.0) continue;
      if (band.weights.empty()) band.firstBin = k;
      band.weights.resize(static_cast<size_t>(k - band.firstBin + 1), 0.0f);
      band.weights.back() = static_cast<float>(w);
    }
  }
}

std::shared_ptr<const MelPlan> MelPlan::get(const MelConfig& c) {
  using Key = std::tuple<int, int, int, int, int, double, double>;
  static std::mutex mutex;
  static std::map<Key, std::shared_ptr<const MelPlan>> cache;
  const Key key{c.sampleRate, c.nFft, c.winLength, c.hopLength, c.nMels, c.fMin, c.fMax};
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(key);
  if (it != cache.end()) {
    if (it->second->config().amin == c.amin && it->second->config().useTopDb == c.useTopDb && it->second->config().topDb == c.topDb)
      return it->second;
  }
  if (cache.size() >= 16) cache.clear();
  auto plan = std::make_shared<const MelPlan>(c);
  cache[key] = plan;
  return plan;
}

Status MelPlan::compute(const float* samples, size_t n, float* out) const {
  const MelConfig& c = config_;
  const size_t half = static_cast<size_t>(c.nFft / 2);
  if (n <= half)
    return Status::error(Code::TooShort, "signal of " + std::to_string(n) + " samples is too short for reflect padding (needs more than nFft / 2 = " + std::to_string(half) + ")");
  const size_t frames = melFrames(c, n);
  const size_t winOffset = static_cast<size_t>((c.nFft - c.winLength) / 2);  // torch.stft centres a short window
  const size_t winLength = static_cast<size_t>(c.winLength);
  const size_t nBins = half + 1;
  ThreadFft& fft = threadFft(c.nFft);
  float* frame = fft.frame.data();
  std::fill(fft.frame.begin(), fft.frame.end(), 0.0f);  // the taps outside the window stay zero
  float* power = fft.power.data();
  const kiss_fft_cpx* spectrum = fft.spectrum.data();
  const float* window = window_.data();
  const int64_t length = static_cast<int64_t>(n);

  for (size_t t = 0; t < frames; ++t) {
    // Frame t covers padded samples [t*hop, t*hop + nFft), i.e. signal samples shifted by -nFft/2.
    const int64_t start = static_cast<int64_t>(t * static_cast<size_t>(c.hopLength) + winOffset) - static_cast<int64_t>(half);
    float* dst = frame + winOffset;
    if (start >= 0 && start + static_cast<int64_t>(winLength) <= length) {
      const float* src = samples + start;
      for (size_t i = 0; i < winLength; ++i) dst[i] = src[i] * window[i];
    } else {
      for (size_t i = 0; i < winLength; ++i) dst[i] = samples[reflectIndex(start + static_cast<int64_t>(i), length)] * window[i];
    }
    kiss_fftr(fft.cfg, frame, fft.spectrum.data());
    for (size_t k = 0; k < nBins; ++k) power[k] = spectrum[k].r * spectrum[k].r + spectrum[k].i * spectrum[k].i;
    for (size_t m = 0; m < bands_.size(); ++m) {
      const Band& band = bands_[m];
      const float* p = power + band.firstBin;
      const float* w = band.weights.data();
      float sum = 0.0f;
      for (size_t k = 0; k < band.weights.size(); ++k) sum += w[k] * p[k];
      out[m * frames + t] = sum;
    }
  }

  // 10 * log10(max(p, amin)) with ref = 1; then the optional top_db floor
  // relative to the maximum of the whole spectrogram (torchaudio's per-tensor max).
  const size_t total = frames * bands_.size();
  const float amin = static_cast<float>(c.amin);
  powerToDb(out, total, amin);
  if (c.useTopDb) {
    float peak = out[0];
    for (size_t i = 1; i < total; ++i) peak = std::max(peak, out[i]);
    const float floor = peak - static_cast<float>(c.topDb);
    for (size_t i = 0; i < total; ++i) out[i] = std::max(out[i], floor);
  }
  return Status::success();
}

}  // namespace emo
