// The thread pool every nn kernel shares: OpenMP, the same runtime oneDNN
// uses, so a kernel that mixes oneDNN primitives and our own loops never runs
// two pools that fight over the same cores.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstddef>

namespace emo::nn {

// Threads the kernels use. n <= 0 restores the default: OMP_NUM_THREADS when
// set, else the CPUs this process may run on.
void setThreads(int n);
int threads();

// OpenMP's thread count is per calling thread (each worker_thread has its own),
// so every kernel entry applies the process-wide setting to the thread it runs on.
void applyThreads();

// Runs fn(begin, end) over [0, n) in one contiguous range per thread. Work
// smaller than minPerThread items per thread stays on the calling thread:
// waking the pool costs a few microseconds.
template <class F>
void parallelFor(std::ptrdiff_t n, std::ptrdiff_t minPerThread, F&& fn) {
  if (n <= 0) return;
  const std::ptrdiff_t byWork = n / std::max<std::ptrdiff_t>(1, minPerThread);
  const int teams = static_cast<int>(std::min<std::ptrdiff_t>(threads(), byWork));
  if (teams <= 1 || omp_in_parallel()) {
    fn(std::ptrdiff_t{0}, n);
    return;
  }
#pragma omp parallel num_threads(teams)
  {
    const std::ptrdiff_t t = omp_get_thread_num();
    const std::ptrdiff_t count = omp_get_num_threads();
    fn(n * t / count, n * (t + 1) / count);
  }
}

}  // namespace emo::nn
