// IEEE 754 binary16 <-> binary32 conversion for the feature cache (halves its
// size; dB features need ~0.03 dB resolution, far finer than the model sees).
#pragma once

#include <cstddef>
#include <cstdint>

namespace emo {

// Round to nearest even; overflow -> +-inf, NaN stays NaN.
void floatToHalf(const float* in, size_t n, uint16_t* out);
void halfToFloat(const uint16_t* in, size_t n, float* out);

}  // namespace emo
