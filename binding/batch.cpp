// Batch feature extraction off the event loop, on one process-wide native pool.
//
// - The call copies every input into native memory before it returns: the caller may transfer,
//   detach, rewrite or drop its buffers at once (a reference keeps an ArrayBuffer from being
//   collected, not from being transferred or rewritten while pool threads read it).
// - The work runs on the package's own threads, never on libuv's pool, whose four threads serve
//   fs, dns and zlib for the whole process. Concurrent calls queue on the pool; each call has at
//   most `threads` clips in flight.
// - Completion comes back to the calling environment (main thread or worker_thread) through a
//   thread-safe function; results are copied into fresh Float32Arrays there, so no JS memory is
//   touched off its thread and nothing is left pointing into an environment that has gone.
#include "batch.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#ifdef __linux__
#include <sys/resource.h>
#endif

namespace emo::binding {

Status computeChunks(const InputView& input, const PipelineConfig& config, float* out) {
  if (input.kind == InputView::Kind::Wav) return melChunksFromWav(input.bytes, input.byteLength, config, out);
  return melChunksFromSamples(input.samples, input.sampleCount, config, out);
}

namespace {

// The process-wide pool: created on first use with `size` threads, never destroyed (its threads
// are detached; the process ends them), shared by every environment.
class NativePool {
 public:
  static NativePool& instance() {
    static NativePool* pool = new NativePool(initialSize());
    return *pool;
  }

  unsigned size() const { return static_cast<unsigned>(threads_.size()); }

  void submit(std::function<void()> task) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      tasks_.push_back(std::move(task));
    }
    ready_.notify_one();
  }

 private:
  explicit NativePool(unsigned size) {
    for (unsigned i = 0; i < size; ++i) {
      try {
        threads_.emplace_back([this] { loop(); });
      } catch (const std::exception&) {
        break;  // fewer threads than asked: the ones that started do the work
      }
    }
    for (std::thread& t : threads_) t.detach();
  }

  static unsigned initialSize() {
    unsigned n = requestedSize().load();
    if (n == 0) n = std::max(1u, std::thread::hardware_concurrency());
    return n;
  }

  void loop() {
    int applied = 0;  // threads start at their creator's nice value, 0 for a server's main thread
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [this] { return !tasks_.empty(); });
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      applyNiceness(applied);
      task();
    }
  }

  // On Linux a nice value belongs to a thread (setpriority with who = 0 is the calling thread), so
  // the pool can yield to the event loop without lowering the whole process. An unprivileged
  // process cannot lower a nice value again: a refused change is simply not applied.
  static void applyNiceness(int& applied) {
#ifdef __linux__
    const int wanted = niceness().load();
    if (wanted != applied && setpriority(PRIO_PROCESS, 0, wanted) == 0) applied = wanted;
#else
    (void)applied;
#endif
  }

 public:
  // 0 until setThreads or the first batch fixes the size.
  static std::atomic<unsigned>& requestedSize() {
    static std::atomic<unsigned> n{0};
    return n;
  }
  // The nice value the pool's threads take before their next task (see applyNiceness).
  static std::atomic<int>& niceness() {
    static std::atomic<int> n{0};
    return n;
  }
  static std::atomic<bool>& started() {
    static std::atomic<bool> s{false};
    return s;
  }

 private:
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> tasks_;
};

NativePool& pool() {
  NativePool::started() = true;
  return NativePool::instance();
}

// Recycled memory for input copies and outputs. Fresh large allocations are mapped anew by
// malloc and fault in page by page (measured: 82 faults, about 1 ms, per 336-KB clip copy on the
// JS thread); recycled blocks are already resident. Blocks come in 64-KiB size classes; at most
// kCacheBytes of idle blocks are kept, the rest is freed. 256 MiB holds the outputs of a
// 512-clip batch: with 64 MiB, batches of that size ran 28 % slower, their output memory faulted
// in anew on the pool threads each time.
class BlockCache {
 public:
  static constexpr size_t kClass = 64 * 1024;
  static constexpr size_t kCacheBytes = 256u << 20;

  static BlockCache& instance() {
    static BlockCache* cache = new BlockCache();
    return *cache;
  }

  static size_t roundUp(size_t bytes) { return (std::max<size_t>(bytes, 1) + kClass - 1) / kClass * kClass; }

  // A block of at least `bytes`; throws std::bad_alloc.
  void* acquire(size_t bytes) {
    const size_t size = roundUp(bytes);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = free_.find(size);
      if (it != free_.end() && !it->second.empty()) {
        void* block = it->second.back();
        it->second.pop_back();
        idleBytes_ -= size;
        return block;
      }
    }
    void* block = std::malloc(size);
    if (block == nullptr) throw std::bad_alloc();
    return block;
  }

  void release(void* block, size_t bytes) {
    if (block == nullptr) return;
    const size_t size = roundUp(bytes);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (idleBytes_ + size <= kCacheBytes) {
        free_[size].push_back(block);
        idleBytes_ += size;
        return;
      }
    }
    std::free(block);
  }

 private:
  std::mutex mutex_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  size_t idleBytes_ = 0;
};

// A block from the cache, returned to it when dropped.
struct Block {
  void* data = nullptr;
  size_t bytes = 0;
  Block() = default;
  explicit Block(size_t n) : data(BlockCache::instance().acquire(n)), bytes(n) {}
  Block(Block&& o) noexcept : data(o.data), bytes(o.bytes) { o.data = nullptr; o.bytes = 0; }
  Block& operator=(Block&& o) noexcept {
    if (this != &o) {
      reset();
      data = o.data;
      bytes = o.bytes;
      o.data = nullptr;
      o.bytes = 0;
    }
    return *this;
  }
  Block(const Block&) = delete;
  Block& operator=(const Block&) = delete;
  ~Block() { reset(); }
  void reset() {
    BlockCache::instance().release(data, bytes);
    data = nullptr;
    bytes = 0;
  }
  // Hands the memory over (to an external ArrayBuffer, which gives it back when collected).
  void* release() {
    void* d = data;
    data = nullptr;
    bytes = 0;
    return d;
  }
};

// One input, owned.
struct OwnedInput {
  InputView::Kind kind = InputView::Kind::Wav;
  Block memory;
  size_t length = 0;  // bytes (WAV) or samples

  InputView view() const {
    InputView v;
    v.kind = kind;
    if (kind == InputView::Kind::Wav) {
      v.bytes = static_cast<const uint8_t*>(memory.data);
      v.byteLength = length;
    } else {
      v.samples = static_cast<const float*>(memory.data);
      v.sampleCount = length;
    }
    return v;
  }
};

struct Job;
void completeOnJsThread(Napi::Env env, Napi::Function, std::nullptr_t*, Job* job);
void onEnvironmentTeardown(void* job);
void completeJob(Napi::Env env, Job* job);
using Completion = Napi::TypedThreadSafeFunction<std::nullptr_t, Job, completeOnJsThread>;

struct Job {
  PipelineConfig config;
  size_t outputSize = 0;
  bool collectErrors = false;
  std::vector<OwnedInput> inputs;
  std::vector<Block> outputs;
  std::vector<Status> statuses;
  std::atomic<size_t> next{0};
  std::atomic<unsigned> runnersLeft{0};
  Napi::Promise::Deferred deferred;
  Completion completion;
  // The hand-back against the environment's teardown. When a worker thread is terminated with
  // batches in flight, Node (20) deletes their thread-safe functions with the environment whatever
  // their thread count, and a runner calling one after that aborts the whole process. So each job
  // has a cleanup hook of its own, added after its thread-safe function and therefore run before
  // that function's (hooks run newest first): it marks the environment gone under this lock, and
  // the last runner hands the job back under it only while the environment is there.
  std::mutex handBack;
  bool environmentGone = false;

  explicit Job(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) {}

  // One runner: takes clips until none is left; the last runner to finish hands the job back.
  void run() {
    for (size_t i = next++; i < inputs.size(); i = next++) {
      try {
        outputs[i] = Block(outputSize * sizeof(float));
        statuses[i] = computeChunks(inputs[i].view(), config, static_cast<float*>(outputs[i].data));
      } catch (const std::bad_alloc&) {
        outputs[i].reset();
        statuses[i] = Status::error(Code::OutOfMemory, "not enough memory for this clip's features");
      } catch (const std::exception& e) {
        outputs[i].reset();
        statuses[i] = Status::error(Code::OutOfMemory, std::string("the feature pipeline failed: ") + e.what());
      }
      // Input memory goes back as soon as its clip is done, not when the batch is.
      inputs[i].memory.reset();
    }
    if (--runnersLeft == 0) {
      std::unique_lock<std::mutex> lock(handBack);
      if (environmentGone) {
        // Nobody is left to answer, and the thread-safe function is gone or going: not touched.
        lock.unlock();
        delete this;
        return;
      }
      // Not queued (it cannot be while the hook has not run): the job is left to leak rather than
      // freed under a cleanup hook that still points at it.
      completion.NonBlockingCall(this);
      completion.Release();
    }
  }
};

// The output as a Float32Array over the native block (zero copy; the block goes back to the
// cache when the array is collected), or a copy where external buffers are refused (Electron).
Napi::Float32Array outputArray(Napi::Env env, Block& block, size_t length) {
  const size_t bytes = length * sizeof(float);
  void* data = block.data;
  napi_value buffer;
  napi_status status = napi_create_external_arraybuffer(
      env, data, bytes, [](napi_env, void* finalizeData, void* hint) { BlockCache::instance().release(finalizeData, reinterpret_cast<size_t>(hint)); },
      reinterpret_cast<void*>(bytes), &buffer);
  if (status == napi_ok) {
    block.release();
    return Napi::Float32Array::New(env, length, Napi::ArrayBuffer(env, buffer), 0);
  }
  Napi::Float32Array copy = Napi::Float32Array::New(env, length);
  std::memcpy(copy.Data(), data, bytes);
  block.reset();
  return copy;
}

void onEnvironmentTeardown(void* arg) {
  Job* job = static_cast<Job*>(arg);
  std::lock_guard<std::mutex> lock(job->handBack);
  job->environmentGone = true;
}

void completeOnJsThread(Napi::Env env, Napi::Function, std::nullptr_t*, Job* job) {
  // The last runner may still be inside the hand-back (its Release): wait for it to leave.
  { std::lock_guard<std::mutex> wait(job->handBack); }
  std::unique_ptr<Job> owned(job);
  if (env == nullptr) return;  // environment torn down: drop the results
  napi_remove_env_cleanup_hook(env, onEnvironmentTeardown, job);
  // Called from the event loop with no C++ frame above to catch anything: nothing may escape. An
  // environment being torn down refuses every call, and node-addon-api throws for each refusal.
  try {
    completeJob(env, job);
  } catch (...) {
    // The environment is going away (a worker thread terminated): nobody is left to answer.
  }
}

// Settles the job's promise with its features (or its first error).
void completeJob(Napi::Env env, Job* job) {
  Napi::HandleScope scope(env);
  try {
    Napi::Array results = Napi::Array::New(env, job->inputs.size());
    for (size_t i = 0; i < job->inputs.size(); ++i) {
      if (!job->statuses[i].ok()) {
        Napi::Error error = toError(env, job->statuses[i]);
        error.Set("index", Napi::Number::New(env, static_cast<double>(i)));
        if (!job->collectErrors) {
          job->deferred.Reject(error.Value());
          return;
        }
        results.Set(static_cast<uint32_t>(i), error.Value());
        continue;
      }
      results.Set(static_cast<uint32_t>(i), outputArray(env, job->outputs[i], job->outputSize));
    }
    job->deferred.Resolve(results);
  } catch (const Napi::Error& e) {
    job->deferred.Reject(e.Value());
  }
}

OwnedInput copyInput(const Napi::Value& value, const char* what) {
  const InputView view = viewInput(value, what);
  OwnedInput owned;
  owned.kind = view.kind;
  const bool wav = view.kind == InputView::Kind::Wav;
  const size_t bytes = wav ? view.byteLength : view.sampleCount * sizeof(float);
  owned.length = wav ? view.byteLength : view.sampleCount;
  owned.memory = Block(bytes);
  if (bytes > 0) std::memcpy(owned.memory.data, wav ? static_cast<const void*>(view.bytes) : static_cast<const void*>(view.samples), bytes);
  return owned;
}

}  // namespace

Napi::Value MelChunksBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray()) throw Napi::TypeError::New(env, "Expected an array of inputs");
  const PipelineConfig config = readConfig(info[1]);
  if (!info[2].IsNumber()) throw Napi::TypeError::New(env, "Expected a number for threads");
  const double threads = info[2].As<Napi::Number>().DoubleValue();
  if (!(threads >= 1 && threads <= 256)) throw Napi::RangeError::New(env, "threads must be in [1, 256]");
  Napi::Array inputs = info[0].As<Napi::Array>();

  auto job = std::make_unique<Job>(env);
  job->config = config;
  job->outputSize = chunkShape(config).size();
  job->collectErrors = info[3].ToBoolean();
  const size_t count = inputs.Length();
  try {
    job->inputs.reserve(count);
    for (uint32_t i = 0; i < count; ++i) job->inputs.push_back(copyInput(inputs.Get(i), ("inputs[" + std::to_string(i) + "]").c_str()));
    job->outputs.resize(count);
    job->statuses.resize(count);
  } catch (const std::bad_alloc&) {
    throw toError(env, Status::error(Code::OutOfMemory, "not enough memory to copy the batch's inputs"));
  }
  Napi::Promise promise = job->deferred.Promise();
  if (count == 0) {
    job->deferred.Resolve(Napi::Array::New(env, 0));
    return promise;
  }
  NativePool& p = pool();
  const unsigned runners = static_cast<unsigned>(std::min<size_t>({static_cast<size_t>(threads), count, static_cast<size_t>(p.size())}));
  job->runnersLeft = runners;
  job->completion = Completion::New(env, "emo-native:melChunksBatch", 0, 1);
  if (napi_add_env_cleanup_hook(env, onEnvironmentTeardown, job.get()) != napi_ok) {
    job->completion.Release();
    throw Napi::Error::New(env, "could not watch the environment for the batch");
  }
  Job* raw = job.release();
  for (unsigned r = 0; r < runners; ++r) p.submit([raw] { raw->run(); });
  return promise;
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "Expected a number for threads");
  const double n = info[0].As<Napi::Number>().DoubleValue();
  if (!(n >= 1 && n <= 1024) || static_cast<double>(static_cast<unsigned>(n)) != n) throw Napi::RangeError::New(env, "threads must be an integer in [1, 1024]");
  if (NativePool::started()) {
    const unsigned size = NativePool::instance().size();
    if (size != static_cast<unsigned>(n))
      throw Napi::Error::New(env, "the native thread pool has already started with " + std::to_string(size) + " threads; call setThreads before the first batch");
    return Napi::Number::New(env, size);
  }
  NativePool::requestedSize() = static_cast<unsigned>(n);
  return Napi::Number::New(env, n);
}

// setThreadNiceness(n): the pool's threads run at nice value n (0–19) from their next task on.
// Returns whether this platform applies it (Linux only).
Napi::Value SetThreadNiceness(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "Expected a number for niceness");
  const double n = info[0].As<Napi::Number>().DoubleValue();
  if (!(n >= 0 && n <= 19) || static_cast<double>(static_cast<int>(n)) != n) throw Napi::RangeError::New(env, "niceness must be an integer in [0, 19]");
  NativePool::niceness() = static_cast<int>(n);
#ifdef __linux__
  return Napi::Boolean::New(env, true);
#else
  return Napi::Boolean::New(env, false);
#endif
}

Napi::Value GetThreads(const Napi::CallbackInfo& info) {
  const unsigned requested = NativePool::requestedSize().load();
  const unsigned n = NativePool::started() ? NativePool::instance().size() : (requested != 0 ? requested : std::max(1u, std::thread::hardware_concurrency()));
  return Napi::Number::New(info.Env(), n);
}

}  // namespace emo::binding
