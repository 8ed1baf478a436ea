// N-API glue for the augmentation kernels (src/augment.*). lib/augment validates
// the arguments; these re-check what the kernels rely on.
#include "augment.hpp"

#include <cmath>
#include <string>

#include "../src/augment.hpp"
#include "../src/pipeline.hpp"

namespace emo::binding {
namespace {

const float* samplesArg(const Napi::CallbackInfo& info, size_t index, InputView& view) {
  view = viewInput(info[index], "samples");
  if (view.kind != InputView::Kind::Samples) throw Napi::TypeError::New(info.Env(), "Expected a Float32Array for samples");
  const size_t bad = firstNonFinite(view.samples, view.sampleCount);
  if (bad < view.sampleCount)
    throwIfFailed(info.Env(), Status::error(Code::NonFiniteSamples, "samples contain a NaN or infinite value at index " + std::to_string(bad)));
  return view.samples;
}

double numberArg(const Napi::CallbackInfo& info, size_t index, const char* name) {
  if (!info[index].IsNumber()) throw Napi::TypeError::New(info.Env(), std::string("Expected a number for ") + name);
  return info[index].As<Napi::Number>().DoubleValue();
}

// Seeds travel as doubles holding integers in [0, 2^53).
uint64_t seedArg(const Napi::CallbackInfo& info, size_t index) {
  const double seed = numberArg(info, index, "seed");
  if (!(seed >= 0 && seed <= 9007199254740991.0) || std::floor(seed) != seed)
    throw Napi::RangeError::New(info.Env(), "seed must be an integer in [0, 2^53)");
  return static_cast<uint64_t>(seed);
}

Napi::Float32Array stretch(Napi::Env env, const float* x, size_t n, double rate, double sampleRate) {
  Napi::Float32Array out = Napi::Float32Array::New(env, stretchedLength(n, rate));
  throwIfFailed(env, timeStretch(x, n, rate, stretchConfigFor(sampleRate), out.Data()));
  return out;
}

}  // namespace

// addNoise(samples, snrDb, seed) -> Float32Array
Napi::Value AddNoise(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  InputView view;
  const float* x = samplesArg(info, 0, view);
  const double snr = numberArg(info, 1, "snrDb");
  Napi::Float32Array out = Napi::Float32Array::New(env, view.sampleCount);
  throwIfFailed(env, addNoise(x, view.sampleCount, snr, seedArg(info, 2), out.Data()));
  return out;
}

// timeStretch(samples, rate, sampleRate) -> Float32Array
Napi::Value TimeStretch(const Napi::CallbackInfo& info) {
  InputView view;
  const float* x = samplesArg(info, 0, view);
  const double rate = numberArg(info, 1, "rate");
  if (!(rate >= 0.1 && rate <= 10.0)) throw Napi::RangeError::New(info.Env(), "rate must be in [0.1, 10]");
  return stretch(info.Env(), x, view.sampleCount, rate, numberArg(info, 2, "sampleRate"));
}

// preemphasis(samples, coef) -> Float32Array
Napi::Value Preemphasis(const Napi::CallbackInfo& info) {
  InputView view;
  const float* x = samplesArg(info, 0, view);
  Napi::Float32Array out = Napi::Float32Array::New(info.Env(), view.sampleCount);
  preemphasis(x, view.sampleCount, static_cast<float>(numberArg(info, 1, "coef")), out.Data());
  return out;
}

// expand(samples, seed, snrLo, snrHi, rateLo, rateHi, coef, sampleRate)
//   -> { variants: [original, noisy, stretched, preemphasised], snrDb, rate }
Napi::Value Expand(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  InputView view;
  const float* x = samplesArg(info, 0, view);
  const size_t n = view.sampleCount;
  ExpandConfig config;
  config.seed = seedArg(info, 1);
  config.snrLo = numberArg(info, 2, "snrLo");
  config.snrHi = numberArg(info, 3, "snrHi");
  config.rateLo = numberArg(info, 4, "rateLo");
  config.rateHi = numberArg(info, 5, "rateHi");
  config.coef = static_cast<float>(numberArg(info, 6, "coef"));
  if (!(config.rateLo >= 0.1 && config.rateHi <= 10.0)) throw Napi::RangeError::New(env, "rates must be in [0.1, 10]");
  const ExpandDraws draws = drawExpand(config);

  Napi::Float32Array original = Napi::Float32Array::New(env, n);
  std::copy(x, x + n, original.Data());
  Napi::Float32Array noisy = Napi::Float32Array::New(env, n);
  throwIfFailed(env, addNoise(x, n, draws.snrDb, draws.noiseSeed, noisy.Data()));
  Napi::Float32Array stretched = stretch(env, x, n, draws.rate, numberArg(info, 7, "sampleRate"));
  Napi::Float32Array emphasised = Napi::Float32Array::New(env, n);
  preemphasis(x, n, config.coef, emphasised.Data());

  Napi::Array variants = Napi::Array::New(env, 4);
  variants.Set(0u, original);
  variants.Set(1u, noisy);
  variants.Set(2u, stretched);
  variants.Set(3u, emphasised);
  Napi::Object result = Napi::Object::New(env);
  result.Set("variants", variants);
  result.Set("snrDb", Napi::Number::New(env, draws.snrDb));
  result.Set("rate", Napi::Number::New(env, draws.rate));
  return result;
}

}  // namespace emo::binding
