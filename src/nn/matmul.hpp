// Batched matrix product with tfjs' BatchMatMul / _FusedMatMul semantics:
// out[i] = activation(op(a[i]) x op(b[i]) + bias), row-major, where a batch of
// one broadcasts against the other operand's batch.
#pragma once

#include "../status.hpp"
#include "activation.hpp"

namespace emo::nn {

struct MatMulShape {
  int batchA = 1, batchB = 1;
  int m = 0, n = 0, k = 0;  // out is m x n per batch; a is m x k (k x m transposed), b is k x n (n x k transposed)
  bool transposeA = false, transposeB = false;
};

// bias: null, one value, or n values added to every row.
Status matMul(const MatMulShape& s, const float* a, const float* b, const float* bias, int biasLength,
              Activation activation, float alpha, float* out);

}  // namespace emo::nn
