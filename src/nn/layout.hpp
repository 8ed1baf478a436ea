// Data movement: transpose and tile, for any 4-byte element type (tfjs'
// float32 and int32 share them).
#pragma once

#include "../status.hpp"
#include "eltwise.hpp"

namespace emo::nn {

// out = x permuted: out dim i is x dim perm[i].
Status transpose(const void* x, const Dims& shape, const std::vector<int>& perm, void* out);
// Splits x, viewed as [outer, count, inner], into `count` arrays of
// [outer, inner] (tfjs Unpack / unstack along the middle dim).
Status unstack(const void* x, int64_t outer, int64_t count, int64_t inner, void* const* outs);
// The inverse: `count` arrays of [outer, inner] into out viewed as
// [outer, count, inner] (tfjs Pack / stack).
Status stack(const void* const* ins, int64_t outer, int64_t count, int64_t inner, void* out);
// Splits x, viewed as [outer, total, inner], along the middle dim into
// pieces of sizes[k] (summing to total): out k is [outer, sizes[k], inner].
Status split(const void* x, int64_t outer, int64_t total, int64_t inner, const Dims& sizes, void* const* outs);
// out = x with the dims in `axes` reversed.
Status reverse(const void* x, const Dims& shape, const std::vector<int>& axes, void* out);
// out = x repeated reps[i] times along dim i.
Status tile(const void* x, const Dims& shape, const Dims& reps, void* out);

}  // namespace emo::nn
