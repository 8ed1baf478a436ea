#include "eltwise.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "activation.hpp"
#include "parallel.hpp"

namespace emo::nn {
namespace {

constexpr std::ptrdiff_t kGrain = 1 << 15;  // elements per thread below which one thread is faster
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

template <class F>
void map1(const float* x, size_t n, float* y, F f) {
  parallelFor(static_cast<std::ptrdiff_t>(n), kGrain, [&](std::ptrdiff_t begin, std::ptrdiff_t end) {
    for (std::ptrdiff_t i = begin; i < end; ++i) y[i] = f(x[i]);
  });
}

struct AddF { float operator()(float a, float b) const { return a + b; } };
struct SubF { float operator()(float a, float b) const { return a - b; } };
struct MulF { float operator()(float a, float b) const { return a * b; } };
struct DivF { float operator()(float a, float b) const { return a / b; } };
// Math.max / Math.min: NaN wins.
struct MaxF { float operator()(float a, float b) const { return (a != a || b != b) ? kNaN : (a > b ? a : b); } };
struct MinF { float operator()(float a, float b) const { return (a != a || b != b) ? kNaN : (a < b ? a : b); } };
struct SqDiffF { float operator()(float a, float b) const { const float d = a - b; return d * d; } };
// dy * step(x): step is NaN for NaN, 1 above 0, else 0.
struct ReluGradF {
  float operator()(float dy, float x) const {
    const float s = x > 0.f ? 1.f : 0.f;
    return dy * (x == x ? s : x);
  }
};
// dy * (x * 2): scaling by 2 is exact, so the order does not change the result.
struct SquareGradF { float operator()(float dy, float x) const { return dy * (x * 2.f); } };

// tfjs step: NaN stays NaN, x > 0 gives 1, anything else alpha. Written with
// selects only so that it vectorises.
inline float stepOf(float v, float alpha) {
  const float s = v > 0.f ? 1.f : alpha;
  return v == v ? s : v;
}

// floor without libm: SSE2 has no rounding instruction, and floorf calls
// cost three times a memory-bound pass. Exact for every float: beyond 2^23
// every float is an integer already (and NaN and infinities pass through).
inline float floorOf(float v) {
  const bool small = std::fabs(v) < 8388608.f;
  const float c = small ? v : 0.f;
  float t = static_cast<float>(static_cast<int32_t>(c));
  t = t > c ? t - 1.f : t;
  return small ? t : v;  // (floor(-0) gives +0 here, -0 in Math.floor: equal values)
}

// The broadcast after merging dimensions: out has `dims`, a and b step through
// their data with `sa`, `sb` (0 where they broadcast). The innermost stride is 0 or 1.
struct Plan {
  Dims dims, sa, sb;
};

Plan plan(const Dims& aShape, const Dims& bShape, const Dims& out) {
  const size_t r = out.size();
  Dims ad(r, 1), bd(r, 1);
  std::copy(aShape.begin(), aShape.end(), ad.begin() + (r - aShape.size()));
  std::copy(bShape.begin(), bShape.end(), bd.begin() + (r - bShape.size()));
  Dims as(r), bs(r);
  int64_t sa = 1, sb = 1;
  for (size_t i = r; i-- > 0;) {
    as[i] = ad[i] == 1 ? 0 : sa;
    bs[i] = bd[i] == 1 ? 0 : sb;
    sa *= ad[i];
    sb *= bd[i];
  }
  Plan p;
  for (size_t i = 0; i < r; ++i) {
    if (out[i] == 1) continue;
    if (!p.dims.empty()) {
      const int64_t d = out[i];
      // The outer dim merges into this one when, for both inputs, stepping it
      // equals stepping this dim `d` times (contiguous) or both are broadcast.
      if (p.sa.back() == as[i] * d && p.sb.back() == bs[i] * d) {
        p.dims.back() *= d;
        p.sa.back() = as[i];
        p.sb.back() = bs[i];
        continue;
      }
    }
    p.dims.push_back(out[i]);
    p.sa.push_back(as[i]);
    p.sb.push_back(bs[i]);
  }
  if (p.dims.empty()) {
    p.dims.push_back(1);
    p.sa.push_back(0);
    p.sb.push_back(0);
  }
  return p;
}

template <class F, bool A, bool B>
inline void row(const float* a, const float* b, float* out, int64_t n, F f) {
  for (int64_t i = 0; i < n; ++i) out[i] = f(a[A ? i : 0], b[B ? i : 0]);
}

template <class F>
void run(const Plan& p, const float* a, const float* b, float* out, F f) {
  const size_t rank = p.dims.size();
  const int64_t inner = p.dims.back();
  const bool ia = p.sa.back() != 0, ib = p.sb.back() != 0;
  auto innerRow = [&](const float* ra, const float* rb, float* ro, int64_t n) {
    if (ia && ib) row<F, true, true>(ra, rb, ro, n, f);
    else if (ia) row<F, true, false>(ra, rb, ro, n, f);
    else if (ib) row<F, false, true>(ra, rb, ro, n, f);
    else row<F, false, false>(ra, rb, ro, n, f);
  };
  if (rank == 1) {
    parallelFor(inner, kGrain, [&](std::ptrdiff_t begin, std::ptrdiff_t end) {
      innerRow(a + (ia ? begin : 0), b + (ib ? begin : 0), out + begin, end - begin);
    });
    return;
  }
  int64_t rows = 1;
  for (size_t i = 0; i + 1 < rank; ++i) rows *= p.dims[i];
  parallelFor(rows, std::max<int64_t>(1, kGrain / inner), [&](std::ptrdiff_t begin, std::ptrdiff_t end) {
    // Multi-index of the first row, then an odometer over the outer dims.
    Dims idx(rank - 1);
    int64_t rest = begin, offA = 0, offB = 0;
    for (size_t i = rank - 1; i-- > 0;) {
      idx[i] = rest % p.dims[i];
      rest /= p.dims[i];
      offA += idx[i] * p.sa[i];
      offB += idx[i] * p.sb[i];
    }
    for (std::ptrdiff_t r = begin; r < end; ++r) {
      innerRow(a + offA, b + offB, out + r * inner, inner);
      for (size_t i = rank - 1; i-- > 0;) {
        offA += p.sa[i];
        offB += p.sb[i];
        if (++idx[i] < p.dims[i]) break;
        offA -= p.sa[i] * p.dims[i];
        offB -= p.sb[i] * p.dims[i];
        idx[i] = 0;
      }
    }
  });
}

}  // namespace

bool validUnaryOp(int op) { return op >= 0 && op <= 15; }
bool validBinaryOp(int op) { return op >= 0 && op <= 8; }

size_t sizeOf(const Dims& shape) {
  size_t n = 1;
  for (int64_t d : shape) n *= static_cast<size_t>(d);
  return n;
}

void activateInPlace(Activation a, float alpha, float* x, size_t n) {
  switch (a) {
    case Activation::Linear: return;
    case Activation::Relu: for (size_t i = 0; i < n; ++i) x[i] = x[i] < 0.f ? 0.f : x[i]; return;
    default: for (size_t i = 0; i < n; ++i) x[i] = activate(a, x[i], alpha); return;
  }
}

Status unary(UnaryOp op, const float* x, size_t n, float alpha, float* y) {
  applyThreads();
  switch (op) {
    case UnaryOp::Relu: map1(x, n, y, [](float v) { return v < 0.f ? 0.f : v; }); break;
    case UnaryOp::Relu6: map1(x, n, y, [](float v) { return activate(Activation::Relu6, v, 0.f); }); break;
    case UnaryOp::LeakyRelu: map1(x, n, y, [alpha](float v) { return v < 0.f ? alpha * v : v; }); break;
    case UnaryOp::Elu: map1(x, n, y, [](float v) { return v >= 0.f ? v : std::expm1(v); }); break;
    case UnaryOp::Sigmoid: map1(x, n, y, [](float v) { return 1.f / (1.f + std::exp(-v)); }); break;
    // tfjs: NaN stays NaN, x > 0 gives 1, anything else alpha.
    case UnaryOp::Step: map1(x, n, y, [alpha](float v) { return stepOf(v, alpha); }); break;
    case UnaryOp::Square: map1(x, n, y, [](float v) { return v * v; }); break;
    case UnaryOp::Sqrt: map1(x, n, y, [](float v) { return std::sqrt(v); }); break;
    case UnaryOp::Rsqrt: map1(x, n, y, [](float v) { return 1.f / std::sqrt(v); }); break;
    case UnaryOp::Neg: map1(x, n, y, [](float v) { return -v; }); break;
    case UnaryOp::Exp: map1(x, n, y, [](float v) { return std::exp(v); }); break;
    case UnaryOp::Log: map1(x, n, y, [](float v) { return std::log(v); }); break;
    case UnaryOp::Abs: map1(x, n, y, [](float v) { return std::fabs(v); }); break;
    case UnaryOp::Floor: map1(x, n, y, [](float v) { return floorOf(v); }); break;
    case UnaryOp::Tanh: map1(x, n, y, [](float v) { return std::tanh(v); }); break;
    case UnaryOp::Reciprocal: map1(x, n, y, [](float v) { return 1.f / v; }); break;
    default: return Status::error(Code::InvalidConfig, "unknown unary op");
  }
  return Status::success();
}

Status broadcastShape(const Dims& a, const Dims& b, Dims& out) {
  const size_t r = std::max(a.size(), b.size());
  out.assign(r, 1);
  for (size_t i = 0; i < r; ++i) {
    const int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    const int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da < 0 || db < 0) return Status::error(Code::InvalidConfig, "negative dimension");
    if (da != db && da != 1 && db != 1) return Status::error(Code::InvalidConfig, "shapes do not broadcast");
    out[i] = da == 1 ? db : da;
  }
  return Status::success();
}

Status binary(BinaryOp op, const float* a, const Dims& aShape, const float* b, const Dims& bShape, float* out) {
  Dims outShape;
  Status s = broadcastShape(aShape, bShape, outShape);
  if (!s.ok()) return s;
  if (sizeOf(outShape) == 0) return Status::success();
  applyThreads();
  const Plan p = plan(aShape, bShape, outShape);
  switch (op) {
    case BinaryOp::Add: run(p, a, b, out, AddF{}); break;
    case BinaryOp::Sub: run(p, a, b, out, SubF{}); break;
    case BinaryOp::Mul: run(p, a, b, out, MulF{}); break;
    case BinaryOp::Div: run(p, a, b, out, DivF{}); break;
    case BinaryOp::Max: run(p, a, b, out, MaxF{}); break;
    case BinaryOp::Min: run(p, a, b, out, MinF{}); break;
    case BinaryOp::SquaredDifference: run(p, a, b, out, SqDiffF{}); break;
    case BinaryOp::ReluGrad: run(p, a, b, out, ReluGradF{}); break;
    case BinaryOp::SquareGrad: run(p, a, b, out, SquareGradF{}); break;
    default: return Status::error(Code::InvalidConfig, "unknown binary op");
  }
  return Status::success();
}

}  // namespace emo::nn
