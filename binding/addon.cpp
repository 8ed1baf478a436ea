// The private native surface. lib/native.ts declares its shape; lib/ validates
// every option before calling in, and these functions check again because As<> checks nothing.
#include <napi.h>

#include <string>
#include <vector>

#include "../src/half.hpp"
#include "../src/mel.hpp"
#include "../src/pipeline.hpp"
#include "../src/wav.hpp"
#include "augment.hpp"
#include "batch.hpp"

#include <new>
#include <stdexcept>
#include <string>
#include "glue.hpp"
#include "nn.hpp"

namespace emo::binding {
namespace {

Napi::Float32Array newFloat32Array(Napi::Env env, size_t length) { return Napi::Float32Array::New(env, length); }

void SetErrorClass(const Napi::CallbackInfo& info) {
  if (!info[0].IsFunction()) throw Napi::TypeError::New(info.Env(), "setErrorClass expects a constructor");
  info.Env().GetInstanceData<AddonData>()->errorClass = Napi::Persistent(info[0].As<Napi::Function>());
}

// decodeWav(bytes) -> { sampleRate, formatTag, bitsPerSample, channels: Float32Array[] }
Napi::Value DecodeWav(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  InputView input = viewInput(info[0], "bytes");
  if (input.kind != InputView::Kind::Wav) throw Napi::TypeError::New(env, "Expected a Uint8Array or Buffer for bytes");
  WavInfo wav;
  throwIfFailed(env, parseWav(input.bytes, input.byteLength, wav));
  Napi::Array channels = Napi::Array::New(env, wav.channels);
  std::vector<float*> pointers(wav.channels);
  for (uint32_t c = 0; c < wav.channels; ++c) {
    Napi::Float32Array channel = newFloat32Array(env, wav.frames);
    pointers[c] = channel.Data();
    channels.Set(c, channel);
  }
  throwIfFailed(env, decodeChannels(wav, 0, wav.frames, pointers.data()));
  Napi::Object result = Napi::Object::New(env);
  result.Set("sampleRate", Napi::Number::New(env, wav.sampleRate));
  result.Set("formatTag", Napi::Number::New(env, wav.formatTag));
  result.Set("bitsPerSample", Napi::Number::New(env, wav.bitsPerSample));
  result.Set("channels", channels);
  return result;
}

// prepareClip(input: Uint8Array | Float32Array[], sampleRate, config) -> Float32Array
Napi::Value PrepareClip(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const PipelineConfig config = readConfig(info[2]);
  Napi::Float32Array out = newFloat32Array(env, config.clip.length);
  if (info[0].IsArray()) {
    Napi::Array array = info[0].As<Napi::Array>();
    std::vector<InputView> views;
    std::vector<const float*> channels;
    size_t frames = 0;
    for (uint32_t c = 0; c < array.Length(); ++c) {
      views.push_back(viewInput(array.Get(c), "a channel"));
      if (views.back().kind != InputView::Kind::Samples) throw Napi::TypeError::New(env, "Expected Float32Array channels");
      if (c == 0) frames = views.back().sampleCount;
      if (views.back().sampleCount != frames) throw Napi::RangeError::New(env, "all channels must have the same length");
    }
    for (const InputView& v : views) channels.push_back(v.samples);
    if (!info[1].IsNumber()) throw Napi::TypeError::New(env, "Expected a number for sampleRate");
    const double rate = info[1].As<Napi::Number>().DoubleValue();
    if (!(rate >= 1 && rate <= 4294967295.0) || rate != static_cast<double>(static_cast<uint32_t>(rate)))
      throw Napi::RangeError::New(env, "sampleRate must be a positive integer");
    throwIfFailed(env, prepareChannels(channels.data(), channels.size(), frames, static_cast<uint32_t>(rate), config.clip, out.Data()));
    return out;
  }
  InputView input = viewInput(info[0], "input");
  if (input.kind != InputView::Kind::Wav) throw Napi::TypeError::New(env, "Expected WAV bytes or an array of channels");
  throwIfFailed(env, prepareWav(input.bytes, input.byteLength, config.clip, out.Data()));
  return out;
}

// melSpectrogram(samples: Float32Array, config) -> Float32Array (nMels x frames)
Napi::Value MelSpectrogram(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  InputView input = viewInput(info[0], "samples");
  if (input.kind != InputView::Kind::Samples) throw Napi::TypeError::New(env, "Expected a Float32Array for samples");
  const PipelineConfig config = readConfig(info[1]);
  const size_t bad = firstNonFinite(input.samples, input.sampleCount);
  if (bad < input.sampleCount)
    throwIfFailed(env, Status::error(Code::NonFiniteSamples, "samples contain a NaN or infinite value at index " + std::to_string(bad)));
  if (input.sampleCount <= static_cast<size_t>(config.mel.nFft / 2))
    throwIfFailed(env, Status::error(Code::TooShort, "samples must be longer than nFft / 2 = " + std::to_string(config.mel.nFft / 2)));
  const size_t frames = melFrames(config.mel, input.sampleCount);
  Napi::Float32Array out = newFloat32Array(env, frames * static_cast<size_t>(config.mel.nMels));
  throwIfFailed(env, MelPlan::get(config.mel)->compute(input.samples, input.sampleCount, out.Data()));
  return out;
}

// melChunks(input: Uint8Array | Float32Array, config) -> Float32Array (chunks x mels x frames)
Napi::Value MelChunks(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  InputView input = viewInput(info[0], "input");
  const PipelineConfig config = readConfig(info[1]);
  Napi::Float32Array out = newFloat32Array(env, chunkShape(config).size());
  throwIfFailed(env, computeChunks(input, config, out.Data()));
  return out;
}

// floatToHalf(values: Float32Array) -> Uint16Array of IEEE binary16 bits
Napi::Value FloatToHalf(const Napi::CallbackInfo& info) {
  InputView input = viewInput(info[0], "values");
  if (input.kind != InputView::Kind::Samples) throw Napi::TypeError::New(info.Env(), "Expected a Float32Array for values");
  Napi::Uint16Array out = Napi::Uint16Array::New(info.Env(), input.sampleCount);
  floatToHalf(input.samples, input.sampleCount, out.Data());
  return out;
}

// halfToFloat(bits: Uint16Array, out: Float32Array) -> out (same length)
Napi::Value HalfToFloat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint16_array)
    throw Napi::TypeError::New(env, "Expected a Uint16Array for bits");
  if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw Napi::TypeError::New(env, "Expected a Float32Array for out");
  Napi::Uint16Array bits = info[0].As<Napi::Uint16Array>();
  Napi::Float32Array out = info[1].As<Napi::Float32Array>();
  if (bits.ElementLength() != out.ElementLength()) throw Napi::RangeError::New(env, "bits and out must have the same length");
  halfToFloat(bits.Data(), bits.ElementLength(), out.Data());
  return out;
}

// configLimits() -> { field: [min, max] }: the bounds readConfig enforces (see kConfigLimits).
Napi::Value ConfigLimits(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object limits = Napi::Object::New(env);
  for (size_t i = 0; i < kConfigLimitCount; ++i) {
    Napi::Array pair = Napi::Array::New(env, 2);
    pair.Set(0u, Napi::Number::New(env, kConfigLimits[i].min));
    pair.Set(1u, Napi::Number::New(env, kConfigLimits[i].max));
    limits.Set(kConfigLimits[i].name, pair);
  }
  return limits;
}

// Test hook: throws a C++ exception of the given kind inside a guarded entry point, so tests can
// see that it arrives as a JS error instead of terminating the process.
Napi::Value ThrowForTest(const Napi::CallbackInfo& info) {
  const std::string kind = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  if (kind == "bad_alloc") throw std::bad_alloc();
  if (kind == "runtime") throw std::runtime_error("a test failure");
  throw 42;  // not even an exception object
}

}  // namespace

// Node-API addons are context-aware: Init runs once per environment (main
// thread and each worker_thread), each with its own AddonData.
Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new AddonData());
  exports.Set("setErrorClass", Napi::Function::New<Guarded<SetErrorClass>>(env, "setErrorClass"));
  exports.Set("decodeWav", Napi::Function::New<Guarded<DecodeWav>>(env, "decodeWav"));
  exports.Set("prepareClip", Napi::Function::New<Guarded<PrepareClip>>(env, "prepareClip"));
  exports.Set("melSpectrogram", Napi::Function::New<Guarded<MelSpectrogram>>(env, "melSpectrogram"));
  exports.Set("melChunks", Napi::Function::New<Guarded<MelChunks>>(env, "melChunks"));
  exports.Set("melChunksBatch", Napi::Function::New<Guarded<MelChunksBatch>>(env, "melChunksBatch"));
  exports.Set("setThreads", Napi::Function::New<Guarded<SetThreads>>(env, "setThreads"));
  exports.Set("setThreadNiceness", Napi::Function::New<Guarded<SetThreadNiceness>>(env, "setThreadNiceness"));
  exports.Set("getThreads", Napi::Function::New<Guarded<GetThreads>>(env, "getThreads"));
  exports.Set("addNoise", Napi::Function::New<Guarded<AddNoise>>(env, "addNoise"));
  exports.Set("timeStretch", Napi::Function::New<Guarded<TimeStretch>>(env, "timeStretch"));
  exports.Set("preemphasis", Napi::Function::New<Guarded<Preemphasis>>(env, "preemphasis"));
  exports.Set("expand", Napi::Function::New<Guarded<Expand>>(env, "expand"));
  registerNn(env, exports);
  exports.Set("configLimits", Napi::Function::New<Guarded<ConfigLimits>>(env, "configLimits"));
  exports.Set("__throwForTest", Napi::Function::New<Guarded<ThrowForTest>>(env, "__throwForTest"));
  exports.Set("floatToHalf", Napi::Function::New<Guarded<FloatToHalf>>(env, "floatToHalf"));
  exports.Set("halfToFloat", Napi::Function::New<Guarded<HalfToFloat>>(env, "halfToFloat"));
  return exports;
}

}  // namespace emo::binding

using emo::binding::Init;
NODE_API_MODULE(emo_native, Init)
