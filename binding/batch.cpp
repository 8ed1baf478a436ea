// Batch feature extraction off the event loop: one AsyncWorker whose Execute
// fans the clips out to `threads` native threads. Inputs stay referenced and
// outputs are allocated on the JS thread up front, so Execute touches no JS value.
#include "batch.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <exception>
#include <string>
#include <thread>
#include <vector>

namespace emo::binding {

Status computeChunks(const InputView& input, const PipelineConfig& config, float* out) {
  if (input.kind == InputView::Kind::Wav) return melChunksFromWav(input.bytes, input.byteLength, config, out);
  return melChunksFromSamples(input.samples, input.sampleCount, config, out);
}

namespace {

class BatchWorker : public Napi::AsyncWorker {
 public:
  BatchWorker(Napi::Env env, Napi::Array inputs, PipelineConfig config, unsigned threads, bool collectErrors)
      : Napi::AsyncWorker(env, "emo-native:melChunksBatch"),
        deferred_(Napi::Promise::Deferred::New(env)),
        config_(config),
        threads_(threads),
        collectErrors_(collectErrors) {
    const size_t count = inputs.Length();
    const size_t outputSize = chunkShape(config).size();
    Napi::Array outputs = Napi::Array::New(env, count);
    views_.reserve(count);
    outPointers_.reserve(count);
    for (uint32_t i = 0; i < count; ++i) {
      views_.push_back(viewInput(inputs.Get(i), ("inputs[" + std::to_string(i) + "]").c_str()));
      Napi::Float32Array out = Napi::Float32Array::New(env, outputSize);
      outPointers_.push_back(out.Data());
      outputs.Set(i, out);
    }
    statuses_.resize(count);
    inputsRef_ = Napi::Persistent(inputs.As<Napi::Object>());  // keeps the input buffers alive while threads read them
    outputsRef_ = Napi::Persistent(outputs.As<Napi::Object>());
  }

  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    std::atomic<size_t> next{0};
    std::atomic<bool> failed{false};
    std::string failure;
    std::mutex failureMutex;
    auto work = [&]() {
      try {
        for (size_t i = next++; i < views_.size(); i = next++) statuses_[i] = computeChunks(views_[i], config_, outPointers_[i]);
      } catch (const std::exception& e) {  // bad_alloc: report, never terminate the process
        std::lock_guard<std::mutex> lock(failureMutex);
        failed = true;
        failure = e.what();
      }
    };
    const unsigned extra = threads_ > 1 ? static_cast<unsigned>(std::min<size_t>(threads_ - 1, views_.size())) : 0;
    std::vector<std::thread> pool;
    pool.reserve(extra);
    try {
      for (unsigned t = 0; t < extra; ++t) pool.emplace_back(work);
    } catch (const std::exception&) {
      // Could not start a thread: the threads that did start and this one finish the work.
    }
    work();
    for (std::thread& t : pool) t.join();
    if (failed) SetError("melChunksBatch failed: " + failure);
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Object outputs = outputsRef_.Value();
    for (size_t i = 0; i < statuses_.size(); ++i) {
      if (statuses_[i].ok()) continue;
      Napi::Error error = toError(env, statuses_[i]);
      error.Set("index", Napi::Number::New(env, static_cast<double>(i)));
      if (!collectErrors_) {
        deferred_.Reject(error.Value());
        return;
      }
      outputs.Set(static_cast<uint32_t>(i), error.Value());
    }
    deferred_.Resolve(outputs);
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  PipelineConfig config_;
  unsigned threads_;
  bool collectErrors_;
  std::vector<InputView> views_;
  std::vector<float*> outPointers_;
  std::vector<Status> statuses_;
  Napi::ObjectReference inputsRef_;
  Napi::ObjectReference outputsRef_;
};

}  // namespace

Napi::Value MelChunksBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray()) throw Napi::TypeError::New(env, "Expected an array of inputs");
  const PipelineConfig config = readConfig(info[1]);
  if (!info[2].IsNumber()) throw Napi::TypeError::New(env, "Expected a number for threads");
  const double threads = info[2].As<Napi::Number>().DoubleValue();
  if (!(threads >= 1 && threads <= 256)) throw Napi::RangeError::New(env, "threads must be in [1, 256]");
  auto* worker = new BatchWorker(env, info[0].As<Napi::Array>(), config, static_cast<unsigned>(threads), info[3].ToBoolean());
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace emo::binding
