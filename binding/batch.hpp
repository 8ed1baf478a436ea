#pragma once

#include <napi.h>

#include "../src/pipeline.hpp"
#include "glue.hpp"

namespace emo::binding {

// Runs the pipeline for one input view (either kind).
Status computeChunks(const InputView& input, const PipelineConfig& config, float* out);

// melChunksBatch(inputs, config, threads, collectErrors) -> Promise<(Float32Array | EmoError)[]>
Napi::Value MelChunksBatch(const Napi::CallbackInfo& info);

}  // namespace emo::binding
