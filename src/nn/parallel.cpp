#include "parallel.hpp"

#include <atomic>

namespace emo::nn {
namespace {

int defaultThreads() {
  // omp_get_max_threads honours OMP_NUM_THREADS and otherwise counts the CPUs in
  // this process's affinity mask (a container's cpuset, taskset).
  static const int n = std::max(1, omp_get_max_threads());
  return n;
}

std::atomic<int> configured{0};

}  // namespace

void setThreads(int n) { configured.store(n > 0 ? n : 0); }

int threads() {
  const int n = configured.load();
  return n > 0 ? n : defaultThreads();
}

void applyThreads() {
  thread_local int applied = -1;
  const int n = threads();
  if (n != applied) {
    omp_set_num_threads(n);
    applied = n;
  }
}

}  // namespace emo::nn
