/**
 * Stable error codes. They are part of the public API: match on `error.code`,
 * never on the message.
 */
export type EmoErrorCode =
  | 'ERR_WAV_EMPTY'
  | 'ERR_WAV_NOT_RIFF'
  | 'ERR_WAV_TRUNCATED'
  | 'ERR_WAV_NO_FMT'
  | 'ERR_WAV_NO_DATA'
  | 'ERR_WAV_NO_SAMPLES'
  | 'ERR_WAV_UNSUPPORTED_FORMAT'
  | 'ERR_WAV_UNSUPPORTED_BIT_DEPTH'
  | 'ERR_WAV_ZERO_CHANNELS'
  | 'ERR_WAV_BAD_SAMPLE_RATE'
  | 'ERR_WAV_BAD_BLOCK_ALIGN'
  | 'ERR_NON_FINITE_SAMPLES'
  | 'ERR_TOO_SHORT'
  | 'ERR_INVALID_CONFIG'
  | 'ERR_NATIVE_LOAD'
  | 'ERR_FILE_READ'
  | 'ERR_DATASET_NOT_FOUND'
  | 'ERR_DATASET_EMPTY'
  | 'ERR_CACHE_CORRUPT'
  | 'ERR_CACHE_STALE'
  | 'ERR_MISSING_TOOL'
  | 'ERR_MODEL_INVALID'
  | 'ERR_MODEL_FEATURES_MISMATCH'
  | 'ERR_EXPORT_PARITY'
  | 'ERR_MODEL_NOT_BUNDLED'
  | 'ERR_PROVIDER_UNAVAILABLE'
  | 'ERR_SILENT'
  | 'ERR_AUDIO_DECODE'
  | 'ERR_OUT_OF_MEMORY'
  | 'ERR_RESUME_MISMATCH'
  | 'ERR_FILE_WRITE'
  | 'ERR_QUEUE_UNAVAILABLE'
  | 'ERR_QUEUE_JOB_FAILED'
  | 'ERR_AUDIO_TOO_LARGE'
  | 'ERR_MANIFEST_INVALID'
  | 'ERR_ADAPTATION_INVALID'
  | 'ERR_ADAPTATION_UNSUPPORTED';

/**
 * A problem with the data (a corrupt or unsupported WAV, NaN samples, ...).
 * Misuse of the API (wrong types, out-of-range options) throws TypeError or
 * RangeError instead.
 */
export class EmoError extends Error {
  /** Stable, machine-readable reason, e.g. `'ERR_WAV_TRUNCATED'`. */
  readonly code: EmoErrorCode;
  /** Position of the failing input in a batch call, when there is one. */
  index?: number;
  /** File the error is about, when the caller knows it. */
  path?: string;

  constructor(message: string, code: EmoErrorCode) {
    super(message);
    this.name = 'EmoError';
    this.code = code;
  }
}

/** True when `value` is an {@link EmoError}, optionally with the given code. */
export function isEmoError(value: unknown, code?: EmoErrorCode): value is EmoError {
  return value instanceof EmoError && (code === undefined || value.code === code);
}
