#include "gemm.hpp"

#include <cstddef>
#include <cstring>
#include <vector>

namespace emo::nn {
namespace {

// Machine-specific versions picked at load time (GCC function multiversioning):
// AVX-512, AVX2 + FMA, or the x86-64 baseline. The loops are written for the
// compiler to keep a 4 x 32 block of C in vector registers.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define EMO_NN_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define EMO_NN_CLONES
#endif

// C[m, n] = A[m, k] x B[k, n], all contiguous.
EMO_NN_CLONES
void packedProduct(int m, int n, int k, const float* __restrict A, const float* __restrict B, float* __restrict C) {
  constexpr int MR = 4, NR = 32;
  int j0 = 0;
  for (; j0 + NR <= n; j0 += NR) {
    int i0 = 0;
    for (; i0 + MR <= m; i0 += MR) {
      float acc[MR][NR] = {};
      for (int p = 0; p < k; ++p) {
        const float* b = B + static_cast<size_t>(p) * n + j0;
        for (int r = 0; r < MR; ++r) {
          const float a = A[static_cast<size_t>(i0 + r) * k + p];
          for (int j = 0; j < NR; ++j) acc[r][j] += a * b[j];
        }
      }
      for (int r = 0; r < MR; ++r) std::memcpy(C + static_cast<size_t>(i0 + r) * n + j0, acc[r], sizeof(acc[r]));
    }
    for (; i0 < m; ++i0) {
      float acc[NR] = {};
      for (int p = 0; p < k; ++p) {
        const float a = A[static_cast<size_t>(i0) * k + p];
        const float* b = B + static_cast<size_t>(p) * n + j0;
        for (int j = 0; j < NR; ++j) acc[j] += a * b[j];
      }
      std::memcpy(C + static_cast<size_t>(i0) * n + j0, acc, sizeof(acc));
    }
  }
  if (j0 < n) {
    const int w = n - j0;
    for (int i = 0; i < m; ++i) {
      float acc[NR] = {};
      for (int p = 0; p < k; ++p) {
        const float a = A[static_cast<size_t>(i) * k + p];
        const float* b = B + static_cast<size_t>(p) * n + j0;
        for (int j = 0; j < w; ++j) acc[j] += a * b[j];
      }
      std::memcpy(C + static_cast<size_t>(i) * n + j0, acc, sizeof(float) * static_cast<size_t>(w));
    }
  }
}

// out[c, r] = in[r, c] for an rows x cols matrix, in tiles for the caches.
void transposeInto(const float* in, int rows, int cols, float* out) {
  constexpr int T = 32;
  for (int r0 = 0; r0 < rows; r0 += T)
    for (int c0 = 0; c0 < cols; c0 += T)
      for (int r = r0; r < rows && r < r0 + T; ++r)
        for (int c = c0; c < cols && c < c0 + T; ++c) out[static_cast<size_t>(c) * rows + r] = in[static_cast<size_t>(r) * cols + c];
}

}  // namespace

void gemm(bool transposeA, bool transposeB, int m, int n, int k, const float* A, const float* B, float* C) {
  std::vector<float> packedA, packedB;
  if (transposeA) {
    packedA.resize(static_cast<size_t>(m) * k);
    transposeInto(A, k, m, packedA.data());
    A = packedA.data();
  }
  if (transposeB) {
    packedB.resize(static_cast<size_t>(k) * n);
    transposeInto(B, n, k, packedB.data());
    B = packedB.data();
  }
  packedProduct(m, n, k, A, B, C);
}

}  // namespace emo::nn
