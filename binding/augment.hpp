#pragma once

#include <napi.h>

#include "glue.hpp"

namespace emo::binding {

Napi::Value AddNoise(const Napi::CallbackInfo& info);
Napi::Value TimeStretch(const Napi::CallbackInfo& info);
Napi::Value Preemphasis(const Napi::CallbackInfo& info);
Napi::Value Expand(const Napi::CallbackInfo& info);

}  // namespace emo::binding
