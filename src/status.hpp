// Status codes shared by every kernel. Kernels never throw for bad data: they
// return a Status whose code maps 1:1 to a stable EmoError code in JavaScript.
#pragma once

#include <string>
#include <utility>

namespace emo {

enum class Code {
  Ok = 0,
  WavEmpty,
  WavNotRiff,
  WavTruncated,
  WavNoFmt,
  WavNoData,
  WavNoSamples,
  WavUnsupportedFormat,
  WavUnsupportedBitDepth,
  WavZeroChannels,
  WavBadSampleRate,
  WavBadBlockAlign,
  NonFiniteSamples,
  InvalidConfig,
  TooShort,
  OutOfMemory,
};

// The string JavaScript sees as `error.code`. Never rename one: users match on them.
const char* codeName(Code code);

struct Status {
  Code code = Code::Ok;
  std::string message;

  bool ok() const { return code == Code::Ok; }
  static Status success() { return {}; }
  static Status error(Code code, std::string message) { return {code, std::move(message)}; }
};

}  // namespace emo
