#include "layout.hpp"

#include <algorithm>
#include <cstring>

#include "parallel.hpp"

namespace emo::nn {
namespace {

using Word = uint32_t;  // 4-byte elements moved bit for bit (NaN payloads and int32 intact)

void copyParallel(Word* dst, const Word* src, size_t n) {
  parallelFor(static_cast<std::ptrdiff_t>(n), 1 << 18, [&](std::ptrdiff_t b, std::ptrdiff_t e) {
    std::memcpy(dst + b, src + b, static_cast<size_t>(e - b) * sizeof(Word));
  });
}

// Writes the tile of dims [d, rank) at out from in; returns nothing, the block
// it writes has outer[d] words.
void tileDim(const Word* in, Word* out, const Dims& shape, const Dims& reps, const Dims& inBlock, const Dims& outBlock,
             size_t d) {
  const size_t rank = shape.size();
  if (d + 1 == rank) {
    const size_t n = static_cast<size_t>(shape[d]);
    for (int64_t r = 0; r < reps[d]; ++r) std::memcpy(out + r * n, in, n * sizeof(Word));
    return;
  }
  // One copy of this dim's input, then replicate it reps[d] - 1 times.
  const size_t inner = static_cast<size_t>(outBlock[d + 1]);
  for (int64_t i = 0; i < shape[d]; ++i) tileDim(in + i * inBlock[d + 1], out + i * inner, shape, reps, inBlock, outBlock, d + 1);
  const size_t once = static_cast<size_t>(shape[d]) * inner;
  for (int64_t r = 1; r < reps[d]; ++r) {
    if (once * sizeof(Word) >= (size_t{1} << 20)) copyParallel(out + r * once, out, once);
    else std::memcpy(out + r * once, out, once * sizeof(Word));
  }
}

}  // namespace

Status transpose(const void* xv, const Dims& shape, const std::vector<int>& perm, void* outv) {
  const size_t rank = shape.size();
  if (perm.size() != rank) return Status::error(Code::InvalidConfig, "transpose: perm must have one entry per dimension");
  std::vector<bool> seen(rank, false);
  for (int p : perm) {
    if (p < 0 || static_cast<size_t>(p) >= rank || seen[p]) return Status::error(Code::InvalidConfig, "transpose: perm must be a permutation");
    seen[p] = true;
  }
  const size_t total = sizeOf(shape);
  if (total == 0) return Status::success();
  applyThreads();
  const Word* x = static_cast<const Word*>(xv);
  Word* out = static_cast<Word*>(outv);
  // Input strides, then merge output dims that are adjacent and in order in
  // the input too (dims of size 1 dropped).
  Dims inStride(rank);
  int64_t s = 1;
  for (size_t i = rank; i-- > 0;) {
    inStride[i] = s;
    s *= shape[i];
  }
  Dims dims, strides;  // output dims and the input stride of each
  for (size_t i = 0; i < rank; ++i) {
    const int64_t d = shape[perm[i]];
    if (d == 1) continue;
    const int64_t st = inStride[perm[i]];
    if (!dims.empty() && strides.back() == st * d) {
      dims.back() *= d;
      strides.back() = st;
      continue;
    }
    dims.push_back(d);
    strides.push_back(st);
  }
  if (dims.empty() || (dims.size() == 1 && strides[0] == 1)) {
    copyParallel(out, x, total);
    return Status::success();
  }
  const size_t r = dims.size();
  const int64_t inner = dims.back();
  const bool contiguousRows = strides.back() == 1;
  const int64_t rows = static_cast<int64_t>(total) / inner;
  parallelFor(rows, std::max<int64_t>(1, (1 << 14) / inner), [&](std::ptrdiff_t begin, std::ptrdiff_t end) {
    Dims idx(r - 1);
    int64_t rest = begin, off = 0;
    for (size_t i = r - 1; i-- > 0;) {
      idx[i] = rest % dims[i];
      rest /= dims[i];
      off += idx[i] * strides[i];
    }
    const int64_t step = strides.back();
    for (std::ptrdiff_t row = begin; row < end; ++row) {
      Word* o = out + row * inner;
      if (contiguousRows) std::memcpy(o, x + off, static_cast<size_t>(inner) * sizeof(Word));
      else for (int64_t j = 0; j < inner; ++j) o[j] = x[off + j * step];
      for (size_t i = r - 1; i-- > 0;) {
        off += strides[i];
        if (++idx[i] < dims[i]) break;
        off -= strides[i] * dims[i];
        idx[i] = 0;
      }
    }
  });
  return Status::success();
}

Status unstack(const void* xv, int64_t outer, int64_t count, int64_t inner, void* const* outs) {
  if (outer < 0 || count < 0 || inner < 0) return Status::error(Code::InvalidConfig, "unstack: sizes must not be negative");
  if (outer == 0 || count == 0 || inner == 0) return Status::success();
  applyThreads();
  const Word* x = static_cast<const Word*>(xv);
  // One task per (output, outer row) pair: each is a contiguous copy.
  const int64_t tasks = count * outer;
  parallelFor(tasks, std::max<int64_t>(1, (1 << 16) / inner), [&](std::ptrdiff_t begin, std::ptrdiff_t end) {
    for (std::ptrdiff_t t = begin; t < end; ++t) {
      const int64_t k = t / outer, o = t % outer;
      std::memcpy(static_cast<Word*>(outs[k]) + o * inner, x + (o * count + k) * inner, static_cast<size_t>(inner) * sizeof(Word));
    }
  });
  return Status::success();
}

Status stack(const void* const* ins, int64_t outer, int64_t count, int64_t inner, void* outv) {
  if (outer < 0 || count < 0 || inner < 0) return Status::error(Code::InvalidConfig, "stack: sizes must not be negative");
  if (outer == 0 || count == 0 || inner == 0) return Status::success();
  applyThreads();
  Word* out = static_cast<Word*>(outv);
  const int64_t tasks = count * outer;
  parallelFor(tasks, std::max<int64_t>(1, (1 << 16) / inner), [&](std::ptrdiff_t begin, std::ptrdiff_t end) {
    for (std::ptrdiff_t t = begin; t < end; ++t) {
      const int64_t o = t / count, k = t % count;
      std::memcpy(out + (o * count + k) * inner, static_cast<const Word*>(ins[k]) + o * inner, static_cast<size_t>(inner) * sizeof(Word));
    }
  });
  return Status::success();
}

Status split(const void* xv, int64_t outer, int64_t total, int64_t inner, const Dims& sizes, void* const* outs) {
  int64_t sum = 0;
  for (int64_t k : sizes) {
    if (k < 0) return Status::error(Code::InvalidConfig, "split: sizes must not be negative");
    sum += k;
  }
  if (outer < 0 || inner < 0 || sum != total) return Status::error(Code::InvalidConfig, "split: sizes must add up to the dimension");
  if (outer == 0 || inner == 0) return Status::success();
  applyThreads();
  const Word* x = static_cast<const Word*>(xv);
  Dims offsets(sizes.size());
  for (size_t k = 1; k < sizes.size(); ++k) offsets[k] = offsets[k - 1] + sizes[k - 1];
  const int64_t pieces = static_cast<int64_t>(sizes.size());
  parallelFor(outer * pieces, std::max<int64_t>(1, (1 << 16) / std::max<int64_t>(1, total * inner / pieces)),
              [&](std::ptrdiff_t begin, std::ptrdiff_t end) {
    for (std::ptrdiff_t t = begin; t < end; ++t) {
      const int64_t o = t / pieces, k = t % pieces;
      const int64_t run = sizes[k] * inner;
      std::memcpy(static_cast<Word*>(outs[k]) + o * run, x + (o * total + offsets[k]) * inner, static_cast<size_t>(run) * sizeof(Word));
    }
  });
  return Status::success();
}

Status reverse(const void* xv, const Dims& shape, const std::vector<int>& axes, void* outv) {
  const size_t rank = shape.size();
  std::vector<bool> flip(rank, false);
  for (int a : axes) {
    if (a < 0 || static_cast<size_t>(a) >= rank) return Status::error(Code::InvalidConfig, "reverse: axis out of range");
    flip[a] = true;
  }
  const size_t total = sizeOf(shape);
  if (total == 0) return Status::success();
  applyThreads();
  // Merge neighbouring dims that are both flipped or both kept (size-1 dims
  // merge with anything): reversing [a, b] whole equals reversing a and b.
  Dims dims;
  std::vector<bool> flipped;
  for (size_t i = 0; i < rank; ++i) {
    if (shape[i] == 1) continue;
    if (!dims.empty() && flipped.back() == flip[i]) {
      dims.back() *= shape[i];
      continue;
    }
    dims.push_back(shape[i]);
    flipped.push_back(flip[i]);
  }
  const Word* x = static_cast<const Word*>(xv);
  Word* out = static_cast<Word*>(outv);
  if (dims.empty()) {
    out[0] = x[0];
    return Status::success();
  }
  const size_t r = dims.size();
  Dims stride(r);
  int64_t s = 1;
  for (size_t i = r; i-- > 0;) {
    stride[i] = s;
    s *= dims[i];
  }
  const int64_t inner = dims.back();
  const bool innerFlipped = flipped.back();
  const int64_t rows = static_cast<int64_t>(total) / inner;
  parallelFor(rows, std::max<int64_t>(1, (1 << 14) / inner), [&](std::ptrdiff_t begin, std::ptrdiff_t end) {
    for (std::ptrdiff_t row = begin; row < end; ++row) {
      // Source row: each outer index mirrored where its dim is flipped.
      int64_t rest = row, src = 0;
      for (size_t i = r - 1; i-- > 0;) {
        const int64_t idx = rest % dims[i];
        rest /= dims[i];
        src += (flipped[i] ? dims[i] - 1 - idx : idx) * stride[i];
      }
      Word* o = out + row * inner;
      const Word* in = x + src;
      if (innerFlipped) for (int64_t j = 0; j < inner; ++j) o[j] = in[inner - 1 - j];
      else std::memcpy(o, in, static_cast<size_t>(inner) * sizeof(Word));
    }
  });
  return Status::success();
}

Status tile(const void* xv, const Dims& shape, const Dims& reps, void* outv) {
  const size_t rank = shape.size();
  if (reps.size() != rank) return Status::error(Code::InvalidConfig, "tile: reps must have one entry per dimension");
  for (size_t i = 0; i < rank; ++i)
    if (shape[i] < 0 || reps[i] < 0) return Status::error(Code::InvalidConfig, "tile: sizes must not be negative");
  if (rank == 0) {
    std::memcpy(outv, xv, sizeof(Word));
    return Status::success();
  }
  Dims outShape(rank);
  for (size_t i = 0; i < rank; ++i) outShape[i] = shape[i] * reps[i];
  if (sizeOf(outShape) == 0) return Status::success();
  applyThreads();
  Dims inBlock(rank + 1, 1), outBlock(rank + 1, 1);
  for (size_t i = rank; i-- > 0;) {
    inBlock[i] = inBlock[i + 1] * shape[i];
    outBlock[i] = outBlock[i + 1] * outShape[i];
  }
  tileDim(static_cast<const Word*>(xv), static_cast<Word*>(outv), shape, reps, inBlock, outBlock, 0);
  return Status::success();
}

}  // namespace emo::nn
