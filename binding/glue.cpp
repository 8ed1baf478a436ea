#include "glue.hpp"

#include <cmath>
#include <cstring>
#include <string>

namespace emo::binding {

Napi::Error toError(Napi::Env env, const Status& status) {
  auto* data = env.GetInstanceData<AddonData>();
  if (data != nullptr && !data->errorClass.IsEmpty()) {
    Napi::Object error = data->errorClass.New({Napi::String::New(env, status.message), Napi::String::New(env, codeName(status.code))});
    return Napi::Error(env, error);
  }
  Napi::Error error = Napi::Error::New(env, status.message);
  error.Set("code", Napi::String::New(env, codeName(status.code)));
  return error;
}

void throwIfFailed(Napi::Env env, const Status& status) {
  if (!status.ok()) throw toError(env, status);
}

void rethrowAsJs(Napi::Env env) {
  try {
    throw;
  } catch (const std::bad_alloc&) {
    throw toError(env, Status::error(Code::OutOfMemory, "not enough memory for this request"));
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, std::string("emo-native internal error: ") + e.what());
  } catch (...) {
    throw Napi::Error::New(env, "emo-native internal error: an unknown native exception");
  }
}

const FieldLimit kConfigLimits[] = {
    {"sampleRate", 1, 1e7},        {"offset", 0, 2e9},         {"length", 1, 2e9},      {"lowpassFilterWidth", 1, 1024},
    {"nFft", 2, 65536},            {"winLength", 1, 65536},    {"hopLength", 1, 1e9},   {"nMels", 1, 4096},
    {"chunkFrames", 1, 1e9},       {"chunkStride", 1, 1e9},
};
const size_t kConfigLimitCount = sizeof(kConfigLimits) / sizeof(kConfigLimits[0]);

InputView viewInput(const Napi::Value& value, const char* what) {
  Napi::Env env = value.Env();
  if (!value.IsTypedArray()) throw Napi::TypeError::New(env, std::string("Expected a Uint8Array, Buffer or Float32Array for ") + what);
  Napi::TypedArray array = value.As<Napi::TypedArray>();
  InputView view;
  auto* base = static_cast<const uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
  switch (array.TypedArrayType()) {
    case napi_uint8_array:
      view.kind = InputView::Kind::Wav;
      view.bytes = base;
      view.byteLength = array.ByteLength();
      break;
    case napi_float32_array:
      view.kind = InputView::Kind::Samples;
      view.sampleCount = array.ElementLength();
      if (reinterpret_cast<uintptr_t>(base) % alignof(float) != 0) {
        view.aligned.resize(view.sampleCount);
        std::memcpy(view.aligned.data(), base, view.sampleCount * sizeof(float));
        view.samples = view.aligned.data();
      } else {
        view.samples = reinterpret_cast<const float*>(base);
      }
      break;
    default:
      throw Napi::TypeError::New(env, std::string("Expected a Uint8Array, Buffer or Float32Array for ") + what);
  }
  return view;
}

namespace {

double number(const Napi::Object& object, const char* key) {
  Napi::Value v = object.Get(key);
  if (!v.IsNumber()) throw Napi::TypeError::New(object.Env(), std::string("native config field ") + key + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  return d;
}

int integer(const Napi::Object& object, const char* key) {
  double lo = 0;
  double hi = 0;
  for (size_t i = 0; i < kConfigLimitCount; ++i)
    if (std::strcmp(kConfigLimits[i].name, key) == 0) {
      lo = kConfigLimits[i].min;
      hi = kConfigLimits[i].max;
    }
  const double d = number(object, key);
  if (!(d >= lo && d <= hi) || std::floor(d) != d)
    throw Napi::RangeError::New(object.Env(), std::string("native config field ") + key + " is out of range");
  return static_cast<int>(d);
}

}  // namespace

PipelineConfig readConfig(const Napi::Value& value) {
  if (!value.IsObject()) throw Napi::TypeError::New(value.Env(), "native config must be an object");
  const Napi::Object o = value.As<Napi::Object>();
  PipelineConfig c;
  c.clip.sampleRate = static_cast<uint32_t>(integer(o, "sampleRate"));
  c.clip.offset = static_cast<size_t>(integer(o, "offset"));
  c.clip.length = static_cast<size_t>(integer(o, "length"));
  c.clip.resample.lowpassFilterWidth = integer(o, "lowpassFilterWidth");
  c.clip.resample.rolloff = number(o, "rolloff");
  c.mel.sampleRate = static_cast<int>(c.clip.sampleRate);
  c.mel.nFft = integer(o, "nFft");
  c.mel.winLength = integer(o, "winLength");
  c.mel.hopLength = integer(o, "hopLength");
  c.mel.nMels = integer(o, "nMels");
  c.mel.fMin = number(o, "fMin");
  c.mel.fMax = number(o, "fMax");
  c.mel.amin = number(o, "amin");
  const double topDb = number(o, "topDb");  // NaN: no floor
  c.mel.useTopDb = !std::isnan(topDb);
  c.mel.topDb = c.mel.useTopDb ? topDb : 0.0;
  c.chunks.frames = integer(o, "chunkFrames");
  c.chunks.stride = integer(o, "chunkStride");
  Status s = validate(c);
  if (!s.ok()) throw Napi::RangeError::New(value.Env(), s.message);
  return c;
}

}  // namespace emo::binding
