// Recycled memory for large kernel outputs.
//
// A training step allocates hundreds of tensors of tens of megabytes and frees
// them again. Fresh memory from the OS costs a page fault per 4 KiB page on
// first touch, which measured slower than the kernels writing it; so blocks
// freed by the garbage collector go back to a cache here, keyed by size, and
// the next step's tensors of the same shape reuse them with their pages mapped.
#pragma once

#include <cstddef>

namespace emo::nn {

struct PoolStats {
  size_t liveBytes = 0;    // handed out and not yet released
  size_t cachedBytes = 0;  // released, kept for reuse
  size_t limitBytes = 0;   // most cachedBytes may reach
  size_t hits = 0;         // acquisitions served from the cache
  size_t misses = 0;       // acquisitions that mapped new memory
};

// Memory for at least `bytes` bytes, 64-byte aligned, contents undefined.
// Returns nullptr when the system is out of memory.
void* acquire(size_t bytes);
// Returns a block from acquire(bytes) (the same `bytes`).
void release(void* block, size_t bytes);

PoolStats poolStats();
// Most bytes the cache keeps; releases beyond it go back to the OS.
void setPoolLimit(size_t bytes);
// Returns every cached block to the OS.
void trimPool();

// Scratch buffers a kernel needs for the duration of one call (reordered
// tensors, oneDNN scratchpads). Backed by the pool, so repeated calls of the
// same shape reuse warm memory.
class Scratch {
 public:
  Scratch() = default;
  explicit Scratch(size_t bytes) { resize(bytes); }
  ~Scratch();
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  // Contents are not preserved. False when out of memory.
  bool resize(size_t bytes);
  void* data() const { return data_; }
  template <class T>
  T* as() const { return static_cast<T*>(data_); }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace emo::nn
