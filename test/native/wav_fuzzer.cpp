// libFuzzer target for the WAV decode path (clang only; see README.md).
// Any property violation found by checkWavInput aborts, so libFuzzer saves the
// input as a crash file; replay it with wav_mutation_test FILE or wav_fuzzer FILE.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "wav_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // libFuzzer's buffer is already exactly sized; odd-length inputs also get a
  // copy at an odd address so unaligned sample reads are exercised.
  std::string problem = emotest::checkWavInput(data, size);
  if (problem.empty() && size > 0 && (size & 1)) {
    std::unique_ptr<uint8_t[]> copy(new uint8_t[size + 1]);
    std::memcpy(copy.get() + 1, data, size);
    problem = emotest::checkWavInput(copy.get() + 1, size);
  }
  if (!problem.empty()) {
    std::fprintf(stderr, "wav_fuzzer: property violated: %s\n", problem.c_str());
    std::abort();
  }
  return 0;
}
