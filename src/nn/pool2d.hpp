// Max pooling over NHWC tensors with tfjs semantics: the first strictly
// greatest value of each window wins (NaN never does), and the gradient goes
// to that one position. After ReLU whole windows tie at zero, so the tie rule
// decides real gradients.
#pragma once

#include "../status.hpp"

namespace emo::nn {

struct Pool2dShape {
  int batch = 0, inHeight = 0, inWidth = 0, channels = 0;
  int outHeight = 0, outWidth = 0;
  int filterHeight = 0, filterWidth = 0;
  int strideHeight = 1, strideWidth = 1;
  int padTop = 0, padLeft = 0;
};

Status validatePool2d(const Pool2dShape& s);
Status maxPool2d(const Pool2dShape& s, const float* x, float* y);
// dx for y = maxPool2d(x), given dy; x is the forward input.
Status maxPool2dBackward(const Pool2dShape& s, const float* dy, const float* x, float* dx);

}  // namespace emo::nn
