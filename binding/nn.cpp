#include "nn.hpp"

#include <cmath>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "../src/nn/activation.hpp"
#include "../src/nn/batchnorm.hpp"
#include "../src/nn/conv.hpp"
#include "../src/nn/dropout.hpp"
#include "../src/nn/eltwise.hpp"
#include "../src/nn/layout.hpp"
#include "../src/nn/matmul.hpp"
#include "../src/nn/optimizer.hpp"
#include "../src/nn/memory.hpp"
#include "../src/nn/parallel.hpp"
#include "../src/nn/pool2d.hpp"
#include "../src/nn/reduce.hpp"
#include "glue.hpp"

namespace emo::binding {
namespace {

using nn::Dims;

constexpr double kMaxDim = 2147483647.0;

[[noreturn]] void typeError(Napi::Env env, const std::string& message) { throw Napi::TypeError::New(env, message); }
[[noreturn]] void rangeError(Napi::Env env, const std::string& message) { throw Napi::RangeError::New(env, message); }

double numberArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsNumber()) typeError(info.Env(), std::string("Expected a number for ") + name);
  return info[i].As<Napi::Number>().DoubleValue();
}

int intArg(const Napi::CallbackInfo& info, size_t i, const char* name, double lo, double hi) {
  const double d = numberArg(info, i, name);
  if (!(d >= lo && d <= hi) || std::floor(d) != d) rangeError(info.Env(), std::string(name) + " is out of range");
  return static_cast<int>(d);
}

// A JS array of integers in [lo, kMaxDim].
Dims intList(const Napi::CallbackInfo& info, size_t i, const char* name, double lo = 0) {
  if (!info[i].IsArray()) typeError(info.Env(), std::string("Expected an array of integers for ") + name);
  Napi::Array array = info[i].As<Napi::Array>();
  const uint32_t n = array.Length();
  if (n > 32) rangeError(info.Env(), std::string(name) + " has too many entries");
  Dims out(n);
  for (uint32_t k = 0; k < n; ++k) {
    Napi::Value v = array.Get(k);
    if (!v.IsNumber()) typeError(info.Env(), std::string("Expected an array of integers for ") + name);
    const double d = v.As<Napi::Number>().DoubleValue();
    if (!(d >= lo && d <= kMaxDim) || std::floor(d) != d) rangeError(info.Env(), std::string(name) + " has an entry out of range");
    out[k] = static_cast<int64_t>(d);
  }
  return out;
}

// Product of sizes, refusing anything a typed array could not hold.
size_t product(Napi::Env env, const Dims& dims) {
  double p = 1;
  for (int64_t d : dims) p *= static_cast<double>(d);
  if (p > 9007199254740991.0) rangeError(env, "tensor size out of range");
  return static_cast<size_t>(p);
}

struct Words {
  void* data = nullptr;
  size_t length = 0;
  napi_typedarray_type type = napi_float32_array;
};

// A Float32Array (or, when allowInt, an Int32Array) of exactly `expected`
// elements, or null when nullable. Float32Array and Int32Array offsets are
// multiples of 4 by construction, so the data is aligned.
Words view(const Napi::CallbackInfo& info, size_t i, const char* name, size_t expected, bool nullable = false,
           bool allowInt = false) {
  Napi::Env env = info.Env();
  if (nullable && (info[i].IsNull() || info[i].IsUndefined())) return {};
  if (!info[i].IsTypedArray()) typeError(env, std::string("Expected a Float32Array for ") + name);
  Napi::TypedArray array = info[i].As<Napi::TypedArray>();
  const napi_typedarray_type type = array.TypedArrayType();
  if (type != napi_float32_array && !(allowInt && type == napi_int32_array))
    typeError(env, std::string("Expected a Float32Array for ") + name);
  if (array.ElementLength() != expected)
    rangeError(env, std::string(name) + " has " + std::to_string(array.ElementLength()) + " elements, expected " +
                        std::to_string(expected));
  Words w;
  w.data = static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
  w.length = expected;
  w.type = type;
  return w;
}

float* floats(const Napi::CallbackInfo& info, size_t i, const char* name, size_t expected, bool nullable = false) {
  return static_cast<float*>(view(info, i, name, expected, nullable).data);
}

// Pooled tensor memory. A block handed to JS has one of three fates:
// - lib/nn/backend disposes its tensor and nothing else can see the array:
//   nnRecycle returns the block to the pool at once and detaches the
//   ArrayBuffer, so a reference that escaped the bookkeeping reads an empty
//   array rather than another tensor's numbers;
// - the array escapes (dataSync, a view made by a cpu kernel): nnExpose hands
//   it to the garbage collector, and reports its size so V8 knows to collect;
// - neither happens before the ArrayBuffer is collected: the finalizer
//   returns the block.
struct Block {
  void* data;
  size_t bytes;
  bool recycled = false;
  bool exposed = false;
};

struct LiveBlocks {
  std::mutex mutex;
  std::unordered_map<void*, Block*> byData;  // blocks JS holds that have not been recycled or exposed
};
LiveBlocks& liveBlocks() {
  static LiveBlocks* l = new LiveBlocks();
  return *l;
}

void finalizeBlock(napi_env env, void*, void* hint) {
  Block* block = static_cast<Block*>(hint);
  {
    LiveBlocks& l = liveBlocks();
    std::lock_guard<std::mutex> lock(l.mutex);
    auto it = l.byData.find(block->data);
    if (it != l.byData.end() && it->second == block) l.byData.erase(it);
  }
  if (!block->recycled) nn::release(block->data, block->bytes);
  if (block->exposed) {
    int64_t adjusted = 0;
    napi_adjust_external_memory(env, -static_cast<int64_t>(block->bytes), &adjusted);
  }
  delete block;
}

// nnAlloc(length) -> Float32Array over pooled memory, contents undefined. Where
// external buffers are refused (Electron) it is an ordinary zeroed array.
Napi::Value Alloc(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const double d = numberArg(info, 0, "length");
  if (!(d >= 0 && d <= 1073741824.0) || std::floor(d) != d) rangeError(env, "length is out of range");
  const size_t length = static_cast<size_t>(d);
  const size_t bytes = std::max<size_t>(length, 1) * sizeof(float);
  void* data = nn::acquire(bytes);
  if (data == nullptr) throw Napi::Error::New(env, "out of memory allocating a tensor of " + std::to_string(bytes) + " bytes");
  Block* block = new Block{data, bytes};
  napi_value buffer;
  if (napi_create_external_arraybuffer(env, data, length * sizeof(float), finalizeBlock, block, &buffer) != napi_ok) {
    nn::release(data, bytes);
    delete block;
    if (env.IsExceptionPending()) env.GetAndClearPendingException();
    return Napi::Float32Array::New(env, length);
  }
  {
    LiveBlocks& l = liveBlocks();
    std::lock_guard<std::mutex> lock(l.mutex);
    l.byData[data] = block;
  }
  return Napi::Float32Array::New(env, length, Napi::ArrayBuffer(env, buffer), 0);
}

// The live block a typed array from nnAlloc views, or null for any other array.
Block* takeBlock(const Napi::CallbackInfo& info) {
  if (!info[0].IsTypedArray()) typeError(info.Env(), "Expected a typed array");
  Napi::TypedArray array = info[0].As<Napi::TypedArray>();
  if (array.ByteOffset() != 0) return nullptr;
  void* data = array.ArrayBuffer().Data();
  LiveBlocks& l = liveBlocks();
  std::lock_guard<std::mutex> lock(l.mutex);
  auto it = l.byData.find(data);
  if (it == l.byData.end()) return nullptr;
  Block* block = it->second;
  l.byData.erase(it);
  return block;
}

// nnRecycle(array): the caller guarantees nothing reads the array again.
Napi::Value Recycle(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Block* block = takeBlock(info);
  if (block == nullptr) return Napi::Boolean::New(env, false);
  Napi::ArrayBuffer buffer = info[0].As<Napi::TypedArray>().ArrayBuffer();
  block->recycled = true;
  nn::release(block->data, block->bytes);
  // Detaching frees the backing store, which may run finalizeBlock (and
  // delete `block`) before it returns: nothing touches `block` after it. From
  // here on every view of the buffer has length 0.
  napi_detach_arraybuffer(env, buffer);
  return Napi::Boolean::New(env, true);
}

// nnExpose(array): the array may be referenced from anywhere now; only the
// garbage collector can tell when it is free.
Napi::Value Expose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Block* block = takeBlock(info);
  if (block == nullptr) return Napi::Boolean::New(env, false);
  block->exposed = true;
  Napi::MemoryManagement::AdjustExternalMemory(env, static_cast<int64_t>(block->bytes));
  return Napi::Boolean::New(env, true);
}

// nnConv2d*(…, dims) share one dims layout:
// [batch, inH, inW, inC, outH, outW, outC, filterH, filterW, strideH, strideW, dilationH, dilationW, padTop, padLeft, padBottom, padRight]
nn::Conv2dShape convShape(const Napi::CallbackInfo& info, size_t i) {
  const Dims d = intList(info, i, "conv dims");
  if (d.size() != 17) rangeError(info.Env(), "conv dims must have 17 entries");
  nn::Conv2dShape s;
  int* fields[] = {&s.batch, &s.inHeight, &s.inWidth, &s.inChannels, &s.outHeight, &s.outWidth,
                   &s.outChannels, &s.filterHeight, &s.filterWidth, &s.strideHeight, &s.strideWidth,
                   &s.dilationHeight, &s.dilationWidth, &s.padTop, &s.padLeft, &s.padBottom, &s.padRight};
  for (size_t k = 0; k < 17; ++k) *fields[k] = static_cast<int>(d[k]);
  throwIfFailed(info.Env(), nn::validateConv2d(s));
  return s;
}

size_t inSize(Napi::Env env, const nn::Conv2dShape& s) { return product(env, {s.batch, s.inHeight, s.inWidth, s.inChannels}); }
size_t outSize(Napi::Env env, const nn::Conv2dShape& s) { return product(env, {s.batch, s.outHeight, s.outWidth, s.outChannels}); }
size_t filterSize(Napi::Env env, const nn::Conv2dShape& s) {
  return product(env, {s.filterHeight, s.filterWidth, s.inChannels, s.outChannels});
}

nn::Activation activationArg(const Napi::CallbackInfo& info, size_t i) {
  const int a = intArg(info, i, "activation", 0, 16);
  if (!nn::validActivation(a)) rangeError(info.Env(), "unknown activation");
  return static_cast<nn::Activation>(a);
}

// nnConv2d(x, filter, bias | null, y, dims, activation, alpha) -> false when the
// CPU has no oneDNN direct kernel for the shape (y untouched); likewise below.
Napi::Value Conv2d(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const nn::Conv2dShape s = convShape(info, 4);
  const float* x = floats(info, 0, "x", inSize(env, s));
  const float* w = floats(info, 1, "filter", filterSize(env, s));
  const float* bias = floats(info, 2, "bias", static_cast<size_t>(s.outChannels), true);
  float* y = floats(info, 3, "y", outSize(env, s));
  const nn::Activation act = activationArg(info, 5);
  const float alpha = static_cast<float>(numberArg(info, 6, "alpha"));
  bool unsupported = false;
  throwIfFailed(env, nn::conv2dForward(s, x, w, bias, act, alpha, y, &unsupported));
  return Napi::Boolean::New(env, !unsupported);
}

// nnConv2dBackpropInput(dy, filter, dx, dims)
Napi::Value Conv2dBackpropInput(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const nn::Conv2dShape s = convShape(info, 3);
  const float* dy = floats(info, 0, "dy", outSize(env, s));
  const float* w = floats(info, 1, "filter", filterSize(env, s));
  float* dx = floats(info, 2, "dx", inSize(env, s));
  bool unsupported = false;
  throwIfFailed(env, nn::conv2dBackwardData(s, dy, w, dx, &unsupported));
  return Napi::Boolean::New(env, !unsupported);
}

// nnConv2dBackpropFilter(x, dy, dfilter, dims)
Napi::Value Conv2dBackpropFilter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const nn::Conv2dShape s = convShape(info, 3);
  const float* x = floats(info, 0, "x", inSize(env, s));
  const float* dy = floats(info, 1, "dy", outSize(env, s));
  float* dw = floats(info, 2, "dfilter", filterSize(env, s));
  bool unsupported = false;
  throwIfFailed(env, nn::conv2dBackwardFilter(s, x, dy, dw, &unsupported));
  return Napi::Boolean::New(env, !unsupported);
}

// Pool dims: [batch, inH, inW, channels, outH, outW, filterH, filterW, strideH, strideW, padTop, padLeft]
nn::Pool2dShape poolShape(const Napi::CallbackInfo& info, size_t i) {
  const Dims d = intList(info, i, "pool dims");
  if (d.size() != 12) rangeError(info.Env(), "pool dims must have 12 entries");
  nn::Pool2dShape s;
  int* fields[] = {&s.batch, &s.inHeight, &s.inWidth, &s.channels, &s.outHeight, &s.outWidth,
                   &s.filterHeight, &s.filterWidth, &s.strideHeight, &s.strideWidth, &s.padTop, &s.padLeft};
  for (size_t k = 0; k < 12; ++k) *fields[k] = static_cast<int>(d[k]);
  throwIfFailed(info.Env(), nn::validatePool2d(s));
  return s;
}

// nnMaxPool(x, y, dims)
Napi::Value MaxPool(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const nn::Pool2dShape s = poolShape(info, 2);
  const float* x = floats(info, 0, "x", product(env, {s.batch, s.inHeight, s.inWidth, s.channels}));
  float* y = floats(info, 1, "y", product(env, {s.batch, s.outHeight, s.outWidth, s.channels}));
  throwIfFailed(env, nn::maxPool2d(s, x, y));
  return env.Undefined();
}

// nnMaxPoolGrad(dy, x, dx, dims)
Napi::Value MaxPoolGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const nn::Pool2dShape s = poolShape(info, 3);
  const size_t in = product(env, {s.batch, s.inHeight, s.inWidth, s.channels});
  const float* dy = floats(info, 0, "dy", product(env, {s.batch, s.outHeight, s.outWidth, s.channels}));
  const float* x = floats(info, 1, "x", in);
  float* dx = floats(info, 2, "dx", in);
  throwIfFailed(env, nn::maxPool2dBackward(s, dy, x, dx));
  return env.Undefined();
}

// nnMatMul(a, b, bias | null, out, [batchA, batchB, m, n, k, transposeA, transposeB], activation, alpha)
Napi::Value MatMul(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Dims d = intList(info, 4, "matmul dims");
  if (d.size() != 7 || d[5] > 1 || d[6] > 1) rangeError(env, "matmul dims must be [batchA, batchB, m, n, k, 0|1, 0|1]");
  nn::MatMulShape s;
  s.batchA = static_cast<int>(d[0]);
  s.batchB = static_cast<int>(d[1]);
  s.m = static_cast<int>(d[2]);
  s.n = static_cast<int>(d[3]);
  s.k = static_cast<int>(d[4]);
  s.transposeA = d[5] == 1;
  s.transposeB = d[6] == 1;
  if (s.batchA != s.batchB && s.batchA != 1 && s.batchB != 1) rangeError(env, "matmul batches must be equal or 1");
  const float* a = floats(info, 0, "a", product(env, {s.batchA, s.m, s.k}));
  const float* b = floats(info, 1, "b", product(env, {s.batchB, s.k, s.n}));
  const float* bias = nullptr;
  int biasLength = 0;
  if (!info[2].IsNull() && !info[2].IsUndefined()) {
    if (!info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      typeError(env, "Expected a Float32Array for bias");
    const size_t n = info[2].As<Napi::TypedArray>().ElementLength();
    if (n != 1 && n != static_cast<size_t>(s.n)) rangeError(env, "bias must have 1 or n elements");
    bias = floats(info, 2, "bias", n);
    biasLength = static_cast<int>(n);
  }
  float* out = floats(info, 3, "out", product(env, {std::max(s.batchA, s.batchB), s.m, s.n}));
  const nn::Activation act = activationArg(info, 5);
  const float alpha = static_cast<float>(numberArg(info, 6, "alpha"));
  throwIfFailed(env, nn::matMul(s, a, b, bias, biasLength, act, alpha, out));
  return env.Undefined();
}

// nnUnary(op, x, y, alpha)
Napi::Value Unary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int op = intArg(info, 0, "op", 0, 64);
  if (!nn::validUnaryOp(op)) rangeError(env, "unknown unary op");
  if (!info[1].IsTypedArray()) typeError(env, "Expected a Float32Array for x");
  const size_t n = info[1].As<Napi::TypedArray>().ElementLength();
  const float* x = floats(info, 1, "x", n);
  float* y = floats(info, 2, "y", n);
  const float alpha = static_cast<float>(numberArg(info, 3, "alpha"));
  throwIfFailed(env, nn::unary(static_cast<nn::UnaryOp>(op), x, n, alpha, y));
  return env.Undefined();
}

// nnBinary(op, a, aShape, b, bShape, out)
Napi::Value Binary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int op = intArg(info, 0, "op", 0, 64);
  if (!nn::validBinaryOp(op)) rangeError(env, "unknown binary op");
  const Dims aShape = intList(info, 2, "aShape"), bShape = intList(info, 4, "bShape");
  Dims outShape;
  const Status s = nn::broadcastShape(aShape, bShape, outShape);
  if (!s.ok()) rangeError(env, s.message);
  const float* a = floats(info, 1, "a", product(env, aShape));
  const float* b = floats(info, 3, "b", product(env, bShape));
  float* out = floats(info, 5, "out", product(env, outShape));
  throwIfFailed(env, nn::binary(static_cast<nn::BinaryOp>(op), a, aShape, b, bShape, out));
  return env.Undefined();
}

std::vector<int> axesArg(const Napi::CallbackInfo& info, size_t i, const char* name, size_t rank) {
  const Dims d = intList(info, i, name);
  std::vector<int> out;
  for (int64_t a : d) {
    if (static_cast<size_t>(a) >= rank) rangeError(info.Env(), std::string(name) + " refers to a missing dimension");
    out.push_back(static_cast<int>(a));
  }
  return out;
}

// nnReduce(op, x, shape, axes, out)
Napi::Value Reduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int op = intArg(info, 0, "op", 0, 1);
  const Dims shape = intList(info, 2, "shape");
  const std::vector<int> axes = axesArg(info, 3, "axes", shape.size());
  std::vector<bool> reduced(shape.size(), false);
  for (int a : axes) {
    if (reduced[a]) rangeError(env, "axes must be distinct");
    reduced[a] = true;
  }
  Dims kept;
  for (size_t k = 0; k < shape.size(); ++k)
    if (!reduced[k]) kept.push_back(shape[k]);
  const float* x = floats(info, 1, "x", product(env, shape));
  float* out = floats(info, 4, "out", product(env, kept));
  throwIfFailed(env, nn::reduce(static_cast<nn::ReduceOp>(op), x, shape, axes, out));
  return env.Undefined();
}

// nnTranspose(x, shape, perm, out): Float32Array or Int32Array, both the same type.
Napi::Value Transpose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Dims shape = intList(info, 1, "shape");
  const std::vector<int> perm = axesArg(info, 2, "perm", shape.size());
  const size_t n = product(env, shape);
  const Words x = view(info, 0, "x", n, false, true);
  const Words out = view(info, 3, "out", n, false, true);
  if (x.type != out.type) typeError(env, "x and out must have the same type");
  throwIfFailed(env, nn::transpose(x.data, shape, perm, out.data));
  return env.Undefined();
}

// nnTile(x, shape, reps, out): Float32Array or Int32Array, both the same type.
Napi::Value Tile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Dims shape = intList(info, 1, "shape");
  const Dims reps = intList(info, 2, "reps");
  if (reps.size() != shape.size()) rangeError(env, "reps must have one entry per dimension");
  Dims outShape(shape.size());
  for (size_t k = 0; k < shape.size(); ++k) outShape[k] = shape[k] * reps[k];
  const Words x = view(info, 0, "x", product(env, shape), false, true);
  const Words out = view(info, 3, "out", product(env, outShape), false, true);
  if (x.type != out.type) typeError(env, "x and out must have the same type");
  throwIfFailed(env, nn::tile(x.data, shape, reps, out.data));
  return env.Undefined();
}

// nnUnpack(x, [outer, count, inner], outs): Float32Array or Int32Array, all the same type.
Napi::Value Unpack(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Dims d = intList(info, 1, "unpack dims");
  if (d.size() != 3) rangeError(env, "unpack dims must be [outer, count, inner]");
  const Words x = view(info, 0, "x", product(env, d), false, true);
  if (!info[2].IsArray() || info[2].As<Napi::Array>().Length() != static_cast<uint32_t>(d[1]))
    typeError(env, "Expected an array of count outputs");
  Napi::Array outs = info[2].As<Napi::Array>();
  std::vector<void*> pointers(static_cast<size_t>(d[1]));
  const size_t each = product(env, {d[0], d[2]});
  for (uint32_t k = 0; k < outs.Length(); ++k) {
    Napi::Value v = outs.Get(k);
    if (!v.IsTypedArray()) typeError(env, "Expected typed arrays for outs");
    Napi::TypedArray a = v.As<Napi::TypedArray>();
    if (a.TypedArrayType() != x.type) typeError(env, "outs must have the type of x");
    if (a.ElementLength() != each) rangeError(env, "an output has the wrong length");
    pointers[k] = static_cast<uint8_t*>(a.ArrayBuffer().Data()) + a.ByteOffset();
  }
  throwIfFailed(env, nn::unstack(x.data, d[0], d[1], d[2], pointers.data()));
  return env.Undefined();
}

// nnPack(ins, [outer, count, inner], out): Float32Array or Int32Array, all the same type.
Napi::Value Pack(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Dims d = intList(info, 1, "pack dims");
  if (d.size() != 3) rangeError(env, "pack dims must be [outer, count, inner]");
  const Words out = view(info, 2, "out", product(env, d), false, true);
  if (!info[0].IsArray() || info[0].As<Napi::Array>().Length() != static_cast<uint32_t>(d[1]))
    typeError(env, "Expected an array of count inputs");
  Napi::Array ins = info[0].As<Napi::Array>();
  std::vector<const void*> pointers(static_cast<size_t>(d[1]));
  const size_t each = product(env, {d[0], d[2]});
  for (uint32_t k = 0; k < ins.Length(); ++k) {
    Napi::Value v = ins.Get(k);
    if (!v.IsTypedArray()) typeError(env, "Expected typed arrays for ins");
    Napi::TypedArray a = v.As<Napi::TypedArray>();
    if (a.TypedArrayType() != out.type) typeError(env, "ins must have the type of out");
    if (a.ElementLength() != each) rangeError(env, "an input has the wrong length");
    pointers[k] = static_cast<const uint8_t*>(a.ArrayBuffer().Data()) + a.ByteOffset();
  }
  throwIfFailed(env, nn::stack(pointers.data(), d[0], d[1], d[2], out.data));
  return env.Undefined();
}

// nnSplit(x, [outer, total, inner], sizes, outs): Float32Array or Int32Array, all the same type.
Napi::Value Split(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Dims d = intList(info, 1, "split dims");
  if (d.size() != 3) rangeError(env, "split dims must be [outer, total, inner]");
  const Dims sizes = intList(info, 2, "sizes");
  int64_t sum = 0;
  for (int64_t k : sizes) sum += k;
  if (sum != d[1]) rangeError(env, "sizes must add up to total");
  const Words x = view(info, 0, "x", product(env, d), false, true);
  if (!info[3].IsArray() || info[3].As<Napi::Array>().Length() != sizes.size()) typeError(env, "Expected one output per size");
  Napi::Array outs = info[3].As<Napi::Array>();
  std::vector<void*> pointers(sizes.size());
  for (uint32_t k = 0; k < outs.Length(); ++k) {
    Napi::Value v = outs.Get(k);
    if (!v.IsTypedArray()) typeError(env, "Expected typed arrays for outs");
    Napi::TypedArray a = v.As<Napi::TypedArray>();
    if (a.TypedArrayType() != x.type) typeError(env, "outs must have the type of x");
    if (a.ElementLength() != product(env, {d[0], sizes[k], d[2]})) rangeError(env, "an output has the wrong length");
    pointers[k] = static_cast<uint8_t*>(a.ArrayBuffer().Data()) + a.ByteOffset();
  }
  throwIfFailed(env, nn::split(x.data, d[0], d[1], d[2], sizes, pointers.data()));
  return env.Undefined();
}

// nnReverse(x, shape, axes, out): Float32Array or Int32Array, both the same type.
Napi::Value Reverse(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Dims shape = intList(info, 1, "shape");
  const std::vector<int> axes = axesArg(info, 2, "axes", shape.size());
  const size_t n = product(env, shape);
  const Words x = view(info, 0, "x", n, false, true);
  const Words out = view(info, 3, "out", n, false, true);
  if (x.type != out.type) typeError(env, "x and out must have the same type");
  throwIfFailed(env, nn::reverse(x.data, shape, axes, out.data));
  return env.Undefined();
}

// nnBatchNormGradSums(x, dy, mean) -> Float64Array [sum(dy) per channel..., sum(dy * (x - mean)) per channel...]
Napi::Value BatchNormGradSums(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[2].IsTypedArray()) typeError(env, "Expected a Float32Array for mean");
  const size_t channels = info[2].As<Napi::TypedArray>().ElementLength();
  if (channels == 0) rangeError(env, "mean must not be empty");
  const float* mean = floats(info, 2, "mean", channels);
  if (!info[0].IsTypedArray()) typeError(env, "Expected a Float32Array for x");
  const size_t n = info[0].As<Napi::TypedArray>().ElementLength();
  if (n % channels != 0) rangeError(env, "x must hold whole rows of channels");
  const float* x = floats(info, 0, "x", n);
  const float* dy = floats(info, 1, "dy", n);
  Napi::Float64Array out = Napi::Float64Array::New(env, 2 * channels);
  throwIfFailed(env, nn::batchNormGradSums(x, dy, mean, n / channels, channels, out.Data()));
  return out;
}

const float* paramArg(const Napi::CallbackInfo& info, size_t i, const char* name, size_t& length, bool nullable) {
  if (nullable && (info[i].IsNull() || info[i].IsUndefined())) {
    length = 0;
    return nullptr;
  }
  if (!info[i].IsTypedArray()) typeError(info.Env(), std::string("Expected a Float32Array for ") + name);
  length = info[i].As<Napi::TypedArray>().ElementLength();
  if (length == 0) rangeError(info.Env(), std::string(name) + " must not be empty");
  return floats(info, i, name, length);
}

// nnBatchNorm(x, mean, variance, offset | null, scale | null, epsilon, out)
Napi::Value BatchNorm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray()) typeError(env, "Expected a Float32Array for x");
  const size_t n = info[0].As<Napi::TypedArray>().ElementLength();
  const float* x = floats(info, 0, "x", n);
  nn::BatchNormParams p;
  p.mean = paramArg(info, 1, "mean", p.meanLength, false);
  p.variance = paramArg(info, 2, "variance", p.varianceLength, false);
  p.offset = paramArg(info, 3, "offset", p.offsetLength, true);
  p.scale = paramArg(info, 4, "scale", p.scaleLength, true);
  p.epsilon = static_cast<float>(numberArg(info, 5, "epsilon"));
  float* out = floats(info, 6, "out", n);
  throwIfFailed(env, nn::batchNorm(x, n, p, out));
  return env.Undefined();
}

// The [rows, channels] of a training batch norm, its epsilon and ReLU flag:
// arguments dims, epsilon, relu at positions i, i + 1, i + 2.
nn::BatchNormTrainShape trainShapeArg(const Napi::CallbackInfo& info, size_t i) {
  const Dims dims = intList(info, i, "dims", 1);
  if (dims.size() != 2) rangeError(info.Env(), "dims must be [rows, channels]");
  nn::BatchNormTrainShape s;
  s.rows = static_cast<size_t>(dims[0]);
  s.channels = static_cast<size_t>(dims[1]);
  product(info.Env(), dims);
  s.epsilon = static_cast<float>(numberArg(info, i + 1, "epsilon"));
  s.relu = info[i + 2].ToBoolean().Value();
  return s;
}

// nnBatchNormTrain(x, gamma, beta, movingMean, movingVariance, dims, epsilon, relu, momentum,
//                  y, mean, variance, movingMeanOut, movingVarianceOut): the forward pass and the
// moving averages' update in one call.
Napi::Value BatchNormTrain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const nn::BatchNormTrainShape s = trainShapeArg(info, 5);
  const size_t n = s.rows * s.channels, C = s.channels;
  const double momentum = numberArg(info, 8, "momentum");
  if (!(momentum >= 0 && momentum <= 1)) rangeError(env, "momentum must be in [0, 1]");
  // Every argument is checked before anything is written.
  const float *x = floats(info, 0, "x", n), *gamma = floats(info, 1, "gamma", C), *beta = floats(info, 2, "beta", C);
  const float *movingMean = floats(info, 3, "movingMean", C), *movingVariance = floats(info, 4, "movingVariance", C);
  float *y = floats(info, 9, "y", n), *mean = floats(info, 10, "mean", C), *variance = floats(info, 11, "variance", C);
  float *movingMeanOut = floats(info, 12, "movingMeanOut", C), *movingVarianceOut = floats(info, 13, "movingVarianceOut", C);
  throwIfFailed(env, nn::batchNormTrainForward(s, x, gamma, beta, y, mean, variance));
  nn::batchNormMovingAverage(C, momentum, movingMean, mean, movingMeanOut);
  nn::batchNormMovingAverage(C, momentum, movingVariance, variance, movingVarianceOut);
  return env.Undefined();
}

// nnBatchNormTrainGrad(x, dy, gamma, beta, mean, variance, dims, epsilon, relu, dx, dgamma, dbeta):
// both backward passes in one call.
Napi::Value BatchNormTrainGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const nn::BatchNormTrainShape s = trainShapeArg(info, 6);
  const size_t n = s.rows * s.channels, C = s.channels;
  const float *x = floats(info, 0, "x", n), *dy = floats(info, 1, "dy", n), *gamma = floats(info, 2, "gamma", C);
  const float *beta = floats(info, 3, "beta", C), *mean = floats(info, 4, "mean", C), *variance = floats(info, 5, "variance", C);
  float *dx = floats(info, 9, "dx", n), *dgamma = floats(info, 10, "dgamma", C), *dbeta = floats(info, 11, "dbeta", C);
  throwIfFailed(env, nn::batchNormTrainBackward(s, x, dy, gamma, beta, mean, variance, dx, dgamma, dbeta));
  return env.Undefined();
}

// nnDropout(x, rate, seed, y): seed an unsigned 32-bit integer.
Napi::Value Dropout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray()) typeError(env, "Expected a Float32Array for x");
  const size_t n = info[0].As<Napi::TypedArray>().ElementLength();
  const double rate = numberArg(info, 1, "rate");
  if (!(rate >= 0 && rate < 1)) rangeError(env, "rate must be in [0, 1)");
  const double seed = numberArg(info, 2, "seed");
  if (!(seed >= 0 && seed <= 4294967295.0) || std::floor(seed) != seed) rangeError(env, "seed must be an unsigned 32-bit integer");
  throwIfFailed(env, nn::dropout(floats(info, 0, "x", n), n, static_cast<float>(rate), static_cast<uint32_t>(seed), floats(info, 3, "y", n)));
  return env.Undefined();
}

// nnAdam(x, m, v, g, [learningRate, beta1, beta2, epsilon, correction1, correction2], xOut, mOut, vOut)
Napi::Value Adam(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray()) typeError(env, "Expected a Float32Array for x");
  const size_t n = info[0].As<Napi::TypedArray>().ElementLength();
  if (!info[4].IsArray()) typeError(env, "Expected an array of 6 numbers for the Adam hyperparameters");
  Napi::Array h = info[4].As<Napi::Array>();
  if (h.Length() != 6) rangeError(env, "Expected 6 Adam hyperparameters");
  float p[6];
  for (uint32_t k = 0; k < 6; ++k) {
    Napi::Value e = h.Get(k);
    if (!e.IsNumber()) typeError(env, "Expected numbers for the Adam hyperparameters");
    p[k] = static_cast<float>(e.As<Napi::Number>().DoubleValue());
  }
  const nn::AdamStep step{p[0], p[1], p[2], p[3], p[4], p[5]};
  throwIfFailed(env, nn::adamUpdate(step, n, floats(info, 0, "x", n), floats(info, 1, "m", n), floats(info, 2, "v", n),
                                    floats(info, 3, "g", n), floats(info, 5, "xOut", n), floats(info, 6, "mOut", n),
                                    floats(info, 7, "vOut", n)));
  return env.Undefined();
}

// nnSetThreads(n): n <= 0 restores the default.
Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  nn::setThreads(intArg(info, 0, "threads", -1, 4096));
  return Napi::Number::New(info.Env(), nn::threads());
}

Napi::Value Threads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), nn::threads()); }

Napi::Value PoolStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const nn::PoolStats s = nn::poolStats();
  Napi::Object o = Napi::Object::New(env);
  o.Set("liveBytes", Napi::Number::New(env, static_cast<double>(s.liveBytes)));
  o.Set("cachedBytes", Napi::Number::New(env, static_cast<double>(s.cachedBytes)));
  o.Set("limitBytes", Napi::Number::New(env, static_cast<double>(s.limitBytes)));
  o.Set("hits", Napi::Number::New(env, static_cast<double>(s.hits)));
  o.Set("misses", Napi::Number::New(env, static_cast<double>(s.misses)));
  return o;
}

// nnConfigurePool(limitBytes | -1, trim)
Napi::Value ConfigurePool(const Napi::CallbackInfo& info) {
  const double limit = numberArg(info, 0, "limitBytes");
  if (limit >= 0) {
    if (!(limit <= 9007199254740991.0)) rangeError(info.Env(), "limitBytes is out of range");
    nn::setPoolLimit(static_cast<size_t>(limit));
  }
  if (info[1].ToBoolean().Value()) nn::trimPool();
  return PoolStats(info);
}

Napi::Value ConvReport(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), nn::convReport()); }

}  // namespace

void registerNn(Napi::Env env, Napi::Object exports) {
  exports.Set("nnAlloc", Napi::Function::New<Guarded<Alloc>>(env, "nnAlloc"));
  exports.Set("nnRecycle", Napi::Function::New<Guarded<Recycle>>(env, "nnRecycle"));
  exports.Set("nnExpose", Napi::Function::New<Guarded<Expose>>(env, "nnExpose"));
  exports.Set("nnConv2d", Napi::Function::New<Guarded<Conv2d>>(env, "nnConv2d"));
  exports.Set("nnConv2dBackpropInput", Napi::Function::New<Guarded<Conv2dBackpropInput>>(env, "nnConv2dBackpropInput"));
  exports.Set("nnConv2dBackpropFilter", Napi::Function::New<Guarded<Conv2dBackpropFilter>>(env, "nnConv2dBackpropFilter"));
  exports.Set("nnMaxPool", Napi::Function::New<Guarded<MaxPool>>(env, "nnMaxPool"));
  exports.Set("nnMaxPoolGrad", Napi::Function::New<Guarded<MaxPoolGrad>>(env, "nnMaxPoolGrad"));
  exports.Set("nnMatMul", Napi::Function::New<Guarded<MatMul>>(env, "nnMatMul"));
  exports.Set("nnUnary", Napi::Function::New<Guarded<Unary>>(env, "nnUnary"));
  exports.Set("nnBinary", Napi::Function::New<Guarded<Binary>>(env, "nnBinary"));
  exports.Set("nnReduce", Napi::Function::New<Guarded<Reduce>>(env, "nnReduce"));
  exports.Set("nnTranspose", Napi::Function::New<Guarded<Transpose>>(env, "nnTranspose"));
  exports.Set("nnTile", Napi::Function::New<Guarded<Tile>>(env, "nnTile"));
  exports.Set("nnUnpack", Napi::Function::New<Guarded<Unpack>>(env, "nnUnpack"));
  exports.Set("nnPack", Napi::Function::New<Guarded<Pack>>(env, "nnPack"));
  exports.Set("nnSplit", Napi::Function::New<Guarded<Split>>(env, "nnSplit"));
  exports.Set("nnReverse", Napi::Function::New<Guarded<Reverse>>(env, "nnReverse"));
  exports.Set("nnBatchNormGradSums", Napi::Function::New<Guarded<BatchNormGradSums>>(env, "nnBatchNormGradSums"));
  exports.Set("nnBatchNorm", Napi::Function::New<Guarded<BatchNorm>>(env, "nnBatchNorm"));
  exports.Set("nnBatchNormTrain", Napi::Function::New<Guarded<BatchNormTrain>>(env, "nnBatchNormTrain"));
  exports.Set("nnBatchNormTrainGrad", Napi::Function::New<Guarded<BatchNormTrainGrad>>(env, "nnBatchNormTrainGrad"));
  exports.Set("nnDropout", Napi::Function::New<Guarded<Dropout>>(env, "nnDropout"));
  exports.Set("nnAdam", Napi::Function::New<Guarded<Adam>>(env, "nnAdam"));
  exports.Set("nnSetThreads", Napi::Function::New<Guarded<SetThreads>>(env, "nnSetThreads"));
  exports.Set("nnThreads", Napi::Function::New<Guarded<Threads>>(env, "nnThreads"));
  exports.Set("nnConfigurePool", Napi::Function::New<Guarded<ConfigurePool>>(env, "nnConfigurePool"));
  exports.Set("nnConvReport", Napi::Function::New<Guarded<ConvReport>>(env, "nnConvReport"));
}

}  // namespace emo::binding
