// N-API glue for the training kernels (src/nn/). lib/nn/backend decides what
// goes native and computes shapes; these functions re-check every size against
// the typed arrays they receive, because As<> checks nothing.
#pragma once

#include <napi.h>

namespace emo::binding {

// Registers the nn* functions on the addon's exports.
void registerNn(Napi::Env env, Napi::Object exports);

}  // namespace emo::binding
