// Power STFT -> HTK mel filterbank -> dB, matching torchaudio 0.13's
// MelSpectrogram(power=2, center=True, pad_mode="reflect", window=periodic Hamming
// of win_length centred in n_fft, norm=None, mel_scale="htk") + AmplitudeToDB("power").
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "status.hpp"

namespace emo {

struct MelConfig {
  int sampleRate = 48000;
  int nFft = 1024;
  int winLength = 512;
  int hopLength = 256;
  int nMels = 128;
  double fMin = 0.0;
  double fMax = 24000.0;
  double amin = 1e-10;
  bool useTopDb = false;  // clamp to (max over the spectrogram - topDb) when set
  double topDb = 80.0;
};

Status validate(const MelConfig& config);

// Frames produced for n samples: 1 + n / hop (centred STFT).
size_t melFrames(const MelConfig& config, size_t samples);

// Immutable, shareable between threads: window and the sparse filterbank.
class MelPlan {
 public:
  static std::shared_ptr<const MelPlan> get(const MelConfig& config);  // cached per config
  explicit MelPlan(const MelConfig& config);

  const MelConfig& config() const { return config_; }

  // out: nMels x frames (row-major, mel-major) in dB. samples must be longer
  // than nFft / 2 (reflect padding needs it).
  Status compute(const float* samples, size_t n, float* out) const;

 private:
  struct Band {
    int firstBin;
    std::vector<float> weights;
  };
  MelConfig config_;
  std::vector<float> window_;  // winLength periodic Hamming
  std::vector<Band> bands_;
};

}  // namespace emo
