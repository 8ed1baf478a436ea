#pragma once

#include <napi.h>

#include "../src/pipeline.hpp"
#include "glue.hpp"

namespace emo::binding {

// Runs the pipeline for one input view (either kind).
Status computeChunks(const InputView& input, const PipelineConfig& config, float* out);

// melChunksBatch(inputs, config, threads, collectErrors) -> Promise<(Float32Array | EmoError)[]>
Napi::Value MelChunksBatch(const Napi::CallbackInfo& info);

// setThreads(n) -> n: the size of the process-wide pool, before its first use.
Napi::Value SetThreads(const Napi::CallbackInfo& info);
Napi::Value SetThreadNiceness(const Napi::CallbackInfo& info);
// getThreads() -> the pool's size (what it will be, before its first use).
Napi::Value GetThreads(const Napi::CallbackInfo& info);

}  // namespace emo::binding
