#include "pool2d.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "parallel.hpp"

namespace emo::nn {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

struct Window {
  int y0, y1, x0, x1;  // clipped to the input, end exclusive
  int wy0, wx0;        // window coordinates of (y0, x0)
};

Window window(const Pool2dShape& s, int oy, int ox) {
  const int cy = oy * s.strideHeight - s.padTop, cx = ox * s.strideWidth - s.padLeft;
  Window w;
  w.y0 = std::max(0, cy);
  w.y1 = std::min(s.inHeight, cy + s.filterHeight);
  w.x0 = std::max(0, cx);
  w.x1 = std::min(s.inWidth, cx + s.filterWidth);
  w.wy0 = w.y0 - cy;
  w.wx0 = w.x0 - cx;
  return w;
}

// best/pos for one window, all channels at once (channels are contiguous).
void argmaxWindow(const Pool2dShape& s, const float* image, const Window& w, float* best, int* pos) {
  const int C = s.channels;
  std::fill(best, best + C, kNegInf);
  std::fill(pos, pos + C, -1);
  for (int y = w.y0; y < w.y1; ++y) {
    for (int x = w.x0; x < w.x1; ++x) {
      const float* px = image + (static_cast<size_t>(y) * s.inWidth + x) * C;
      const int p = (y - w.y0 + w.wy0) * s.filterWidth + (x - w.x0 + w.wx0);
      for (int c = 0; c < C; ++c) {
        const bool greater = px[c] > best[c];
        best[c] = greater ? px[c] : best[c];
        pos[c] = greater ? p : pos[c];
      }
    }
  }
}

}  // namespace

Status validatePool2d(const Pool2dShape& s) {
  const int all[] = {s.batch, s.inHeight, s.inWidth, s.channels, s.outHeight, s.outWidth,
                     s.filterHeight, s.filterWidth, s.strideHeight, s.strideWidth};
  for (int v : all)
    if (v <= 0) return Status::error(Code::InvalidConfig, "pooling sizes and strides must be positive");
  if (s.padTop < 0 || s.padLeft < 0) return Status::error(Code::InvalidConfig, "pooling padding must not be negative");
  return Status::success();
}

Status maxPool2d(const Pool2dShape& s, const float* x, float* y) {
  Status v = validatePool2d(s);
  if (!v.ok()) return v;
  applyThreads();
  const int C = s.channels;
  const size_t inImage = static_cast<size_t>(s.inHeight) * s.inWidth * C;
  const size_t outImage = static_cast<size_t>(s.outHeight) * s.outWidth * C;
  const std::ptrdiff_t rows = static_cast<std::ptrdiff_t>(s.batch) * s.outHeight;
  parallelFor(rows, 4, [&](std::ptrdiff_t begin, std::ptrdiff_t end) {
    for (std::ptrdiff_t r = begin; r < end; ++r) {
      const int b = static_cast<int>(r / s.outHeight), oy = static_cast<int>(r % s.outHeight);
      const float* image = x + b * inImage;
      float* out = y + b * outImage + static_cast<size_t>(oy) * s.outWidth * C;
      for (int ox = 0; ox < s.outWidth; ++ox, out += C) {
        const Window w = window(s, oy, ox);
        std::fill(out, out + C, kNegInf);
        for (int yy = w.y0; yy < w.y1; ++yy)
          for (int xx = w.x0; xx < w.x1; ++xx) {
            const float* px = image + (static_cast<size_t>(yy) * s.inWidth + xx) * C;
            for (int c = 0; c < C; ++c) out[c] = px[c] > out[c] ? px[c] : out[c];
          }
      }
    }
  });
  return Status::success();
}

Status maxPool2dBackward(const Pool2dShape& s, const float* dy, const float* x, float* dx) {
  Status v = validatePool2d(s);
  if (!v.ok()) return v;
  applyThreads();
  const int C = s.channels;
  const size_t inImage = static_cast<size_t>(s.inHeight) * s.inWidth * C;
  const size_t outImage = static_cast<size_t>(s.outHeight) * s.outWidth * C;
  // Windows that tile the input exactly (the model's 2x2/2 and 4x4/4 pools)
  // cover every input pixel once: each is written directly, no zeroing pass.
  const bool tiles = s.strideHeight == s.filterHeight && s.strideWidth == s.filterWidth && s.padTop == 0 &&
                     s.padLeft == 0 && s.outHeight * s.filterHeight == s.inHeight &&
                     s.outWidth * s.filterWidth == s.inWidth;
  const bool overlapping = s.strideHeight < s.filterHeight || s.strideWidth < s.filterWidth;
  if (!tiles) {
    parallelFor(static_cast<std::ptrdiff_t>(s.batch * inImage), 1 << 16, [&](std::ptrdiff_t begin, std::ptrdiff_t end) {
      std::memset(dx + begin, 0, static_cast<size_t>(end - begin) * sizeof(float));
    });
  }
  if (tiles) {
    // Per window: the max per channel, then the first position holding it
    // takes the gradient. Floats and selects only, so the channel loops
    // vectorise. A window whose max is -inf (all -inf or NaN) gets none, as in tfjs.
    parallelFor(static_cast<std::ptrdiff_t>(s.batch) * s.outHeight, 1, [&](std::ptrdiff_t begin, std::ptrdiff_t end) {
      std::vector<float> best(C), taken(C);
      for (std::ptrdiff_t r = begin; r < end; ++r) {
        const int b = static_cast<int>(r / s.outHeight), oy = static_cast<int>(r % s.outHeight);
        const float* image = x + b * inImage;
        float* dImage = dx + b * inImage;
        const float* g = dy + b * outImage + static_cast<size_t>(oy) * s.outWidth * C;
        for (int ox = 0; ox < s.outWidth; ++ox, g += C) {
          const int y0 = oy * s.filterHeight, x0 = ox * s.filterWidth;
          float* __restrict bst = best.data();
          float* __restrict tk = taken.data();
          for (int c = 0; c < C; ++c) bst[c] = kNegInf;
          for (int ky = 0; ky < s.filterHeight; ++ky)
            for (int kx = 0; kx < s.filterWidth; ++kx) {
              const float* px = image + (static_cast<size_t>(y0 + ky) * s.inWidth + x0 + kx) * C;
              for (int c = 0; c < C; ++c) bst[c] = px[c] > bst[c] ? px[c] : bst[c];
            }
          for (int c = 0; c < C; ++c) tk[c] = bst[c] > kNegInf ? 0.f : 1.f;
          for (int ky = 0; ky < s.filterHeight; ++ky)
            for (int kx = 0; kx < s.filterWidth; ++kx) {
              const size_t at = (static_cast<size_t>(y0 + ky) * s.inWidth + x0 + kx) * C;
              const float* __restrict px = image + at;
              float* __restrict d = dImage + at;
              for (int c = 0; c < C; ++c) {
                // Float flags and selects only: GCC turns boolean logic
                // into branches here, which stops vectorisation.
                const float grad = g[c], seen = tk[c];
                const float hit = px[c] == bst[c] ? 1.f : 0.f;
                const float first = hit > seen ? 1.f : 0.f;
                d[c] = first > 0.f ? grad : 0.f;
                tk[c] = seen + first;
              }
            }
        }
      }
    });
    return Status::success();
  }
  // Overlapping windows add into the same pixels: split by image only.
  const std::ptrdiff_t rows = overlapping ? s.batch : static_cast<std::ptrdiff_t>(s.batch) * s.outHeight;
  parallelFor(rows, 1, [&](std::ptrdiff_t begin, std::ptrdiff_t end) {
    std::vector<float> best(C);
    std::vector<int> pos(C);
    for (std::ptrdiff_t r = begin; r < end; ++r) {
      const int b = static_cast<int>(overlapping ? r : r / s.outHeight);
      const int oyBegin = overlapping ? 0 : static_cast<int>(r % s.outHeight);
      const int oyEnd = overlapping ? s.outHeight : oyBegin + 1;
      const float* image = x + b * inImage;
      float* dImage = dx + b * inImage;
      for (int oy = oyBegin; oy < oyEnd; ++oy) {
        const float* g = dy + b * outImage + static_cast<size_t>(oy) * s.outWidth * C;
        for (int ox = 0; ox < s.outWidth; ++ox, g += C) {
          const Window w = window(s, oy, ox);
          argmaxWindow(s, image, w, best.data(), pos.data());
          for (int yy = w.y0; yy < w.y1; ++yy)
            for (int xx = w.x0; xx < w.x1; ++xx) {
              float* d = dImage + (static_cast<size_t>(yy) * s.inWidth + xx) * C;
              const int p = (yy - w.y0 + w.wy0) * s.filterWidth + (xx - w.x0 + w.wx0);
              for (int c = 0; c < C; ++c) d[c] += pos[c] == p ? g[c] : 0.f;
            }
        }
      }
    }
  });
  return Status::success();
}

}  // namespace emo::nn
