#include "memory.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <vector>

namespace emo::nn {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;
constexpr size_t kSmall = size_t{256} << 10;

// Size classes: small blocks come from malloc, whose own free lists already
// recycle them; large ones are rounded so that nearby sizes share a class.
size_t roundBytes(size_t bytes) {
  if (bytes < kSmall) return (bytes + 63) & ~size_t{63};
  if (bytes < kHugePage) return (bytes + 0xFFFF) & ~size_t{0xFFFF};
  return (bytes + kHugePage - 1) & ~(kHugePage - 1);
}

// The memory limit of this process's cgroup (v2 memory.max, else v1 memory.limit_in_bytes), or
// 0 when there is none ("max", or a v1 limit of "unlimited" near 2^63).
size_t cgroupMemoryLimit() {
  // EMO_CGROUP_MEMORY_FILE: read this file instead (for tests of the limit on machines without one).
  const char* override = std::getenv("EMO_CGROUP_MEMORY_FILE");
  const std::vector<const char*> files = override != nullptr ? std::vector<const char*>{override}
                                                             : std::vector<const char*>{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"};
  for (const char* file : files) {
    std::FILE* f = std::fopen(file, "r");
    if (f == nullptr) continue;
    char text[64] = {0};
    const bool read = std::fgets(text, sizeof text, f) != nullptr;
    std::fclose(f);
    if (!read) continue;
    char* end = nullptr;
    const unsigned long long value = std::strtoull(text, &end, 10);
    if (end == text) return 0;  // "max"
    if (value >= (1ULL << 62)) return 0;
    return static_cast<size_t>(value);
  }
  return 0;
}

size_t defaultLimit() {
  // Half the machine's memory. A training step frees everything it allocated
  // and the next step allocates the same sizes again, so the cache must hold
  // a whole step's worth (for the model at batch 32 with tfjs-layers'
  // TimeDistributed, about 9 GiB): a smaller cache drops blocks the next step
  // needs and pays page faults for them again, which measured slower than
  // the kernels themselves.
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long pageSize = sysconf(_SC_PAGE_SIZE);
  size_t total = pages > 0 && pageSize > 0 ? static_cast<size_t>(pages) * static_cast<size_t>(pageSize) : (size_t{8} << 30);
  // In a container the memory that counts is the cgroup's limit, not the machine's.
  const size_t cgroup = cgroupMemoryLimit();
  if (cgroup > 0 && cgroup < total) total = cgroup;
  return total / 2;
}

struct Pool {
  std::mutex mutex;
  std::multimap<size_t, void*> cached;
  PoolStats stats;
  Pool() { stats.limitBytes = defaultLimit(); }
};

Pool& pool() {
  // Never destroyed: finalizers may release blocks while the process exits.
  static Pool* p = new Pool();
  return *p;
}

void* mapFresh(size_t size) {
  if (size < kSmall) {
    void* p = nullptr;
    return posix_memalign(&p, 64, size) == 0 ? p : nullptr;
  }
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
#ifdef MADV_HUGEPAGE
  // With transparent huge pages in "madvise" mode (Debian's default) this turns
  // 512 page faults per 2 MiB into one.
  if (size >= kHugePage) madvise(p, size, MADV_HUGEPAGE);
#endif
  return p;
}

void unmap(void* p, size_t size) {
  if (size < kSmall) std::free(p);
  else munmap(p, size);
}

}  // namespace

void* acquire(size_t bytes) {
  const size_t size = roundBytes(std::max<size_t>(bytes, 1));
  Pool& p = pool();
  {
    std::lock_guard<std::mutex> lock(p.mutex);
    auto it = p.cached.find(size);
    if (it != p.cached.end()) {
      void* block = it->second;
      p.cached.erase(it);
      p.stats.cachedBytes -= size;
      p.stats.liveBytes += size;
      ++p.stats.hits;
      return block;
    }
    ++p.stats.misses;
  }
  void* block = mapFresh(size);
  if (block == nullptr) {
    // Out of memory with blocks of other sizes cached: give them back and retry.
    trimPool();
    block = mapFresh(size);
    if (block == nullptr) return nullptr;
  }
  std::lock_guard<std::mutex> lock(p.mutex);
  p.stats.liveBytes += size;
  return block;
}

void release(void* block, size_t bytes) {
  if (block == nullptr) return;
  const size_t size = roundBytes(std::max<size_t>(bytes, 1));
  Pool& p = pool();
  {
    std::lock_guard<std::mutex> lock(p.mutex);
    p.stats.liveBytes -= std::min(p.stats.liveBytes, size);
    if (size >= kSmall && p.stats.cachedBytes + size <= p.stats.limitBytes) {
      p.cached.emplace(size, block);
      p.stats.cachedBytes += size;
      return;
    }
  }
  unmap(block, size);
}

PoolStats poolStats() {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  return p.stats;
}

void setPoolLimit(size_t bytes) {
  Pool& p = pool();
  std::multimap<size_t, void*> evicted;
  {
    std::lock_guard<std::mutex> lock(p.mutex);
    p.stats.limitBytes = bytes;
    // Largest first: fewest blocks to unmap.
    while (p.stats.cachedBytes > bytes && !p.cached.empty()) {
      auto last = std::prev(p.cached.end());
      p.stats.cachedBytes -= last->first;
      evicted.insert(*last);
      p.cached.erase(last);
    }
  }
  for (auto& [size, block] : evicted) unmap(block, size);
}

void trimPool() {
  Pool& p = pool();
  std::multimap<size_t, void*> evicted;
  {
    std::lock_guard<std::mutex> lock(p.mutex);
    evicted.swap(p.cached);
    p.stats.cachedBytes = 0;
  }
  for (auto& [size, block] : evicted) unmap(block, size);
}

Scratch::~Scratch() { release(data_, bytes_); }

bool Scratch::resize(size_t bytes) {
  if (bytes <= bytes_ && data_ != nullptr) return true;
  release(data_, bytes_);
  data_ = nullptr;
  bytes_ = 0;
  if (bytes == 0) return true;
  data_ = acquire(bytes);
  if (data_ == nullptr) return false;
  bytes_ = bytes;
  return true;
}

}  // namespace emo::nn
