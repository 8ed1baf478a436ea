// 2-D convolution in tfjs layouts: input NHWC, filter HWIO ([fh, fw, in, out]),
// output NHWC. Forward (with tfjs' fused bias and activation), gradient with
// respect to the input and gradient with respect to the filter, all on oneDNN.
#pragma once

#include <string>

#include "../status.hpp"
#include "activation.hpp"

namespace emo::nn {

struct Conv2dShape {
  int batch = 0, inHeight = 0, inWidth = 0, inChannels = 0;
  int outHeight = 0, outWidth = 0, outChannels = 0;
  int filterHeight = 0, filterWidth = 0;
  int strideHeight = 1, strideWidth = 1;
  int dilationHeight = 1, dilationWidth = 1;
  int padTop = 0, padLeft = 0, padBottom = 0, padRight = 0;
};

// Positive sizes and an output size that follows from input, filter, stride
// and padding.
Status validateConv2d(const Conv2dShape& s);

// oneDNN's direct kernels compute in blocked layouts (channels in groups of
// 8 or 16); tensors arrive channels-last, so each call reorders in and out.
// Which kernel is fastest (AVX-512, AVX2, SSE4.1) depends on the shape and
// pass: the first call of each shape and pass times the candidates and keeps
// the fastest. When the CPU has no direct kernel for a shape (oneDNN would
// offer only its GEMM-based or reference code), the functions set *unsupported
// and compute nothing: the caller uses another implementation.

// y = activation(conv(x, filter) + bias). bias is null or outChannels values.
Status conv2dForward(const Conv2dShape& s, const float* x, const float* filter, const float* bias, Activation activation,
                     float alpha, float* y, bool* unsupported);
// dx = gradient of conv(x, filter) with respect to x, given dy.
Status conv2dBackwardData(const Conv2dShape& s, const float* dy, const float* filter, float* dx, bool* unsupported);
// dfilter = gradient of conv(x, filter) with respect to filter, given dy.
Status conv2dBackwardFilter(const Conv2dShape& s, const float* x, const float* dy, float* dfilter, bool* unsupported);

// The candidates timed for each tuned pass and shape and the choice, one
// line each, for benchmarks.
std::string convReport();

}  // namespace emo::nn
