// Element-wise kernels over float32 tensors with tfjs-backend-cpu's formulas,
// multi-threaded. Binary ops broadcast numpy-style (shapes align on the right).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "../status.hpp"

namespace emo::nn {

// The numbering is shared with lib/nn/backend: never renumber.
enum class UnaryOp : int {
  Relu = 0, Relu6 = 1, LeakyRelu = 2, Elu = 3, Sigmoid = 4, Step = 5, Square = 6, Sqrt = 7, Rsqrt = 8, Neg = 9,
  Exp = 10, Log = 11, Abs = 12, Floor = 13, Tanh = 14, Reciprocal = 15,
};
// ReluGrad and SquareGrad are the gradients tfjs builds from two kernels
// (dy * step(x), dy * (2 * x)), fused into one pass with the same values.
enum class BinaryOp : int {
  Add = 0, Sub = 1, Mul = 2, Div = 3, Max = 4, Min = 5, SquaredDifference = 6, ReluGrad = 7, SquareGrad = 8,
};

bool validUnaryOp(int op);
bool validBinaryOp(int op);

// alpha: LeakyRelu's slope, Step's value for x <= 0.
Status unary(UnaryOp op, const float* x, size_t n, float alpha, float* y);

using Dims = std::vector<int64_t>;

// Broadcast shape of a and b, or an error when they do not broadcast.
Status broadcastShape(const Dims& a, const Dims& b, Dims& out);
Status binary(BinaryOp op, const float* a, const Dims& aShape, const float* b, const Dims& bShape, float* out);

// Number of elements of a shape.
size_t sizeOf(const Dims& shape);

}  // namespace emo::nn
