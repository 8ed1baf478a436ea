#include "matmul.hpp"

#include <algorithm>
#include <vector>

#include "gemm.hpp"
#include "parallel.hpp"

namespace emo::nn {

Status matMul(const MatMulShape& s, const float* a, const float* b, const float* bias, int biasLength,
              Activation activation, float alpha, float* out) {
  if (s.batchA <= 0 || s.batchB <= 0 || s.m <= 0 || s.n <= 0 || s.k <= 0)
    return Status::error(Code::InvalidConfig, "matmul sizes must be positive");
  if (s.batchA != s.batchB && s.batchA != 1 && s.batchB != 1)
    return Status::error(Code::InvalidConfig, "matmul batches must be equal or one of them 1");
  if (bias != nullptr && biasLength != 1 && biasLength != s.n)
    return Status::error(Code::InvalidConfig, "matmul bias must have 1 or n values");
  applyThreads();
  const int batch = std::max(s.batchA, s.batchB);
  const size_t aSize = static_cast<size_t>(s.m) * s.k, bSize = static_cast<size_t>(s.k) * s.n,
               cSize = static_cast<size_t>(s.m) * s.n;
  // A stack of untransposed a's against one b is a single taller product.
  const bool fold = batch > 1 && s.batchB == 1 && !s.transposeA;
  const int products = fold ? 1 : batch;
  const int rows = fold ? s.m * batch : s.m;
  // Work items: (product, block of rows). Rows of one product are
  // independent, so even a single product splits across the threads.
  const double flops = 2.0 * rows * s.n * s.k;
  const int rowBlocks = s.transposeA ? 1 : std::max(1, std::min(rows / 16, static_cast<int>(flops / 2e6)));
  parallelFor(static_cast<std::ptrdiff_t>(products) * rowBlocks, 1, [&](std::ptrdiff_t begin, std::ptrdiff_t end) {
    for (std::ptrdiff_t t = begin; t < end; ++t) {
      const int i = static_cast<int>(t / rowBlocks), block = static_cast<int>(t % rowBlocks);
      const int r0 = static_cast<int>(static_cast<long>(rows) * block / rowBlocks);
      const int r1 = static_cast<int>(static_cast<long>(rows) * (block + 1) / rowBlocks);
      const float* ai = a + (s.batchA == 1 ? 0 : i * aSize);
      const float* bi = b + (s.batchB == 1 ? 0 : i * bSize);
      float* ci = out + i * cSize;
      // Row blocks only for untransposed a, where rows are contiguous.
      gemm(s.transposeA, s.transposeB, r1 - r0, s.n, s.k, ai + static_cast<size_t>(r0) * s.k, bi,
           ci + static_cast<size_t>(r0) * s.n);
    }
  });
  if (bias != nullptr || activation != Activation::Linear) {
    const std::ptrdiff_t outRows = static_cast<std::ptrdiff_t>(batch) * s.m;
    parallelFor(outRows, std::max(1, (1 << 15) / s.n), [&](std::ptrdiff_t begin, std::ptrdiff_t end) {
      for (std::ptrdiff_t r = begin; r < end; ++r) {
        float* row = out + r * s.n;
        if (bias != nullptr) {
          if (biasLength == 1) {
            for (int j = 0; j < s.n; ++j) row[j] += bias[0];
          } else {
            for (int j = 0; j < s.n; ++j) row[j] += bias[j];
          }
        }
        activateInPlace(activation, alpha, row, s.n);
      }
    });
  }
  return Status::success();
}

}  // namespace emo::nn
