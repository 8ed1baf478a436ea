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

}  // namespace emo::binding
