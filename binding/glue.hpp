// Shared N-API glue: per-environment state, argument views and error translation.
// No DSP here: every computation is a call into src/.
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "../src/pipeline.hpp"
#include "../src/status.hpp"

namespace emo::binding {

// Per-environment state (the addon is context-aware: one per worker thread).
struct AddonData {
  Napi::FunctionReference errorClass;  // EmoError, registered by lib/native.ts
};

// An EmoError (or a plain Error with .code before registration) for a kernel status.
Napi::Error toError(Napi::Env env, const Status& status);

// What a typed array argument holds and where. `aligned` holds a copy when the
// view's data is not float-aligned (kernels may assume alignment).
struct InputView {
  enum class Kind { Wav, Samples } kind = Kind::Wav;
  const uint8_t* bytes = nullptr;
  size_t byteLength = 0;
  const float* samples = nullptr;
  size_t sampleCount = 0;
  std::vector<float> aligned;
};

// Reads a Uint8Array (WAV bytes, Buffer included) or a Float32Array (samples).
// Throws TypeError for anything else.
InputView viewInput(const Napi::Value& value, const char* what);

// Reads the complete, already validated configuration object built by lib/.
PipelineConfig readConfig(const Napi::Value& value);

// Throws the JS error for status when it is not ok.
void throwIfFailed(Napi::Env env, const Status& status);

// Every exported function goes through this: a C++ exception other than a Napi::Error becomes a JS
// error (std::bad_alloc an EmoError ERR_OUT_OF_MEMORY) instead of terminating the process.
[[noreturn]] void rethrowAsJs(Napi::Env env);

template <Napi::Value (*Fn)(const Napi::CallbackInfo&)>
Napi::Value Guarded(const Napi::CallbackInfo& info) {
  try {
    return Fn(info);
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    rethrowAsJs(info.Env());
  }
}

template <void (*Fn)(const Napi::CallbackInfo&)>
void Guarded(const Napi::CallbackInfo& info) {
  try {
    Fn(info);
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    rethrowAsJs(info.Env());
  }
}

// The bounds readConfig enforces, by native config field: [min, max]. Exported to JavaScript so
// that the options it validates can never pass there and fail here.
struct FieldLimit {
  const char* name;
  double min;
  double max;
};
extern const FieldLimit kConfigLimits[];
extern const size_t kConfigLimitCount;

}  // namespace emo::binding
