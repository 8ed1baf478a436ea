// The decode path every fuzz input goes through, with the properties that must
// hold for any input. Shared by wav_mutation_test and the libFuzzer target.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace emotest {

struct CheckStats {
  size_t inputs = 0;
  size_t parsedOk = 0;
  size_t decodedOk = 0;
  size_t pipelineOk = 0;
  size_t byCode[32] = {};  // parseWav result codes
};

// Runs emo::parseWav on bytes[0, size) and, when it succeeds, emo::decodeChannels,
// emo::decodeMono, emo::prepareWav and emo::melChunksFromWav with a default
// PipelineConfig. Every buffer handed to the kernels is exactly sized on the heap
// so AddressSanitizer sees any overrun. Returns "" when every property holds,
// else a description of the first violation. runPipeline = false skips the
// (comparatively slow) mel pipeline.
std::string checkWavInput(const uint8_t* bytes, size_t size, CheckStats* stats = nullptr, bool runPipeline = true);

}  // namespace emotest
