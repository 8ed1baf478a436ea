#include "status.hpp"

namespace emo {

const char* codeName(Code code) {
  switch (code) {
    case Code::Ok: return "OK";
    case Code::WavEmpty: return "ERR_WAV_EMPTY";
    case Code::WavNotRiff: return "ERR_WAV_NOT_RIFF";
    case Code::WavTruncated: return "ERR_WAV_TRUNCATED";
    case Code::WavNoFmt: return "ERR_WAV_NO_FMT";
    case Code::WavNoData: return "ERR_WAV_NO_DATA";
    case Code::WavNoSamples: return "ERR_WAV_NO_SAMPLES";
    case Code::WavUnsupportedFormat: return "ERR_WAV_UNSUPPORTED_FORMAT";
    case Code::WavUnsupportedBitDepth: return "ERR_WAV_UNSUPPORTED_BIT_DEPTH";
    case Code::WavZeroChannels: return "ERR_WAV_ZERO_CHANNELS";
    case Code::WavBadSampleRate: return "ERR_WAV_BAD_SAMPLE_RATE";
    case Code::WavBadBlockAlign: return "ERR_WAV_BAD_BLOCK_ALIGN";
    case Code::NonFiniteSamples: return "ERR_NON_FINITE_SAMPLES";
    case Code::InvalidConfig: return "ERR_INVALID_CONFIG";
    case Code::TooShort: return "ERR_TOO_SHORT";
    case Code::OutOfMemory: return "ERR_OUT_OF_MEMORY";
  }
  return "ERR_UNKNOWN";
}

}  // namespace emo
