#include "reduce.hpp"

#include <algorithm>
#include <limits>
#include <numeric>

#include "layout.hpp"
#include "memory.hpp"
#include "parallel.hpp"

namespace emo::nn {
namespace {

// out[k] = sum over r of x[r * inner + k]: reduce the leading dim of [outer, inner].
void reduceLeading(const float* x, int64_t outer, int64_t inner, double scale, float* out) {
  const int teams = std::max(1, std::min<int>(threads(), static_cast<int>(outer * inner / (1 << 15))));
  std::vector<std::vector<double>> partial(teams, std::vector<double>(static_cast<size_t>(inner), 0.0));
  parallelFor(outer, std::max<int64_t>(1, outer / teams), [&](std::ptrdiff_t begin, std::ptrdiff_t end) {
    std::vector<double>& acc = partial[static_cast<size_t>(omp_get_thread_num()) % partial.size()];
    // Several rows per thread at a time in float, folded into double every
    // block: the double adds stay off the hot loop, the float error stays small.
    std::vector<float> block(static_cast<size_t>(inner));
    constexpr int64_t kBlock = 16;
    for (std::ptrdiff_t r = begin; r < end; r += kBlock) {
      const std::ptrdiff_t stop = std::min<std::ptrdiff_t>(end, r + kBlock);
      std::copy(x + r * inner, x + (r + 1) * inner, block.begin());
      for (std::ptrdiff_t q = r + 1; q < stop; ++q) {
        const float* row = x + q * inner;
        for (int64_t k = 0; k < inner; ++k) block[k] += row[k];
      }
      for (int64_t k = 0; k < inner; ++k) acc[k] += block[k];
    }
  });
  for (int64_t k = 0; k < inner; ++k) {
    double s = 0;
    for (const auto& p : partial) s += p[k];
    out[k] = static_cast<float>(s * scale);
  }
}

// out[k] = sum over r of x[k * inner + r]: reduce the trailing dim of [outer, inner].
void reduceTrailing(const float* x, int64_t outer, int64_t inner, double scale, float* out) {
  if (outer >= threads() || inner < (1 << 16)) {
    parallelFor(outer, std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(1, inner)), [&](std::ptrdiff_t begin, std::ptrdiff_t end) {
      for (std::ptrdiff_t k = begin; k < end; ++k) {
        const float* row = x + k * inner;
        double s = 0;
        int64_t j = 0;
        for (; j + 16 <= inner; j += 16) {
          float f = 0;
          for (int q = 0; q < 16; ++q) f += row[j + q];
          s += f;
        }
        for (; j < inner; ++j) s += row[j];
        out[k] = static_cast<float>(s * scale);
      }
    });
    return;
  }
  // Few long rows: split each row between the threads.
  for (int64_t k = 0; k < outer; ++k) {
    const float* row = x + k * inner;
    std::vector<double> partial(threads(), 0.0);
    parallelFor(inner, 1 << 15, [&](std::ptrdiff_t begin, std::ptrdiff_t end) {
      double s = 0;
      for (std::ptrdiff_t j = begin; j < end; ++j) s += row[j];
      partial[static_cast<size_t>(omp_get_thread_num()) % partial.size()] += s;
    });
    out[k] = static_cast<float>(std::accumulate(partial.begin(), partial.end(), 0.0) * scale);
  }
}

}  // namespace

Status reduce(ReduceOp op, const float* x, const Dims& shape, const std::vector<int>& axes, float* out) {
  const int rank = static_cast<int>(shape.size());
  std::vector<bool> reduced(rank, false);
  for (int a : axes) {
    if (a < 0 || a >= rank || reduced[a]) return Status::error(Code::InvalidConfig, "reduce: axes must be distinct dimensions");
    reduced[a] = true;
  }
  int64_t reduceCount = 1, keepCount = 1;
  for (int i = 0; i < rank; ++i) (reduced[i] ? reduceCount : keepCount) *= shape[i];
  if (keepCount == 0) return Status::success();
  const double scale = op == ReduceOp::Mean ? 1.0 / static_cast<double>(reduceCount) : 1.0;
  if (reduceCount == 0) {
    std::fill(out, out + keepCount, op == ReduceOp::Mean ? std::numeric_limits<float>::quiet_NaN() : 0.f);
    return Status::success();
  }
  applyThreads();
  // Merge runs of kept / reduced dims (size-1 dims belong to either).
  std::vector<std::pair<int64_t, bool>> groups;
  for (int i = 0; i < rank; ++i) {
    if (shape[i] == 1) continue;
    if (!groups.empty() && groups.back().second == reduced[i]) groups.back().first *= shape[i];
    else groups.emplace_back(shape[i], reduced[i]);
  }
  if (groups.empty() || (groups.size() == 1 && !groups[0].second)) {
    // Nothing to reduce: a copy (scaled by 1 for both ops).
    std::copy(x, x + keepCount, out);
    return Status::success();
  }
  if (groups.size() == 1) {
    reduceTrailing(x, 1, reduceCount, scale, out);
    return Status::success();
  }
  if (groups.size() == 2) {
    if (groups[0].second) reduceLeading(x, groups[0].first, groups[1].first, scale, out);
    else reduceTrailing(x, groups[0].first, groups[1].first, scale, out);
    return Status::success();
  }
  if (groups.size() == 3 && !groups[0].second) {
    // [keep, reduce, keep]: a leading reduction per outer slice.
    const int64_t outer = groups[0].first, mid = groups[1].first, inner = groups[2].first;
    for (int64_t o = 0; o < outer; ++o) reduceLeading(x + o * mid * inner, mid, inner, scale, out + o * inner);
    return Status::success();
  }
  // Anything else: move the reduced dims last, then reduce the trailing dim.
  std::vector<int> perm;
  for (int i = 0; i < rank; ++i)
    if (!reduced[i]) perm.push_back(i);
  for (int i = 0; i < rank; ++i)
    if (reduced[i]) perm.push_back(i);
  Scratch moved(sizeOf(shape) * sizeof(float));
  if (moved.data() == nullptr) return Status::error(Code::InvalidConfig, "reduce: out of memory");
  Status s = transpose(x, shape, perm, moved.data());
  if (!s.ok()) return s;
  reduceTrailing(moved.as<float>(), keepCount, reduceCount, scale, out);
  return Status::success();
}

}  // namespace emo::nn
