// Single-precision matrix product for the backend's matmuls.
//
// Not oneDNN's sgemm: its JIT kernels (oneDNN 2.6, Debian's) point the stack
// pointer into heap memory while they run, so any signal delivered then (a
// profiler's SIGPROF, SIGCHLD from a child process, Ctrl-C) writes its frame
// over the heap (oneDNN issue #4845). The matmuls of the model are small
// (under 0.2 GFLOP each), where this plain kernel is within 2x of oneDNN.
#pragma once

namespace emo::nn {

// C[m, n] = op(A) x op(B), row-major; A is [m, k] ([k, m] when transposeA), B
// is [k, n] ([n, k] when transposeB). Runs on the calling thread.
void gemm(bool transposeA, bool transposeB, int m, int n, int k, const float* A, const float* B, float* C);

}  // namespace emo::nn
