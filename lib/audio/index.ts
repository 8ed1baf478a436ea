import { native } from '../native';
import { resolveCached, type FeatureOptions } from '../features/options';
import { checkInteger, invalidRange, invalidType } from '../validate';

/** Decoded audio: one Float32Array per channel, scaled to [-1, 1) like torchaudio.load. */
export interface DecodedAudio {
  /** Sample rate in Hz. */
  sampleRate: number;
  /** Planar channels of equal length. */
  channels: Float32Array[];
  /** Bits per sample as stored (valid bits for WAVE_FORMAT_EXTENSIBLE). */
  bitsPerSample?: number;
}

/** What {@link prepareClip} and the feature functions accept as audio. */
export type AudioInput = Uint8Array | Float32Array | DecodedAudio;

/** @internal Throws TypeError unless bytes is a Uint8Array (Buffer included). */
export function checkBytes(name: string, bytes: unknown): Uint8Array {
  if (!(bytes instanceof Uint8Array)) throw invalidType(name, 'a Buffer or Uint8Array holding a WAV file', bytes);
  return bytes;
}

/** @internal Throws unless input is WAV bytes or a non-empty Float32Array. */
export function checkClipInput(name: string, input: unknown): Uint8Array | Float32Array {
  if (input instanceof Float32Array) {
    if (input.length === 0) throw invalidRange(name, 'a non-empty Float32Array of samples', input);
    return input;
  }
  if (input instanceof Uint8Array) return input;
  throw invalidType(name, 'a Buffer or Uint8Array holding a WAV file, or a Float32Array of mono samples', input);
}

/**
 * Decodes a WAV file: PCM u8/s16/s24/s32, IEEE float32/float64, WAVE_FORMAT_EXTENSIBLE,
 * any channel count. Unknown chunks are skipped; a data chunk shorter than declared is accepted.
 *
 * @param bytes - the whole file, e.g. from `fs.readFileSync` (any byte offset is fine).
 * @throws {@link EmoError} with a specific `code` for corrupt or unsupported files.
 * @example
 * const { sampleRate, channels } = decodeWav(fs.readFileSync('clip.wav'));
 */
export function decodeWav(bytes: Uint8Array): DecodedAudio {
  const { sampleRate, bitsPerSample, channels } = native.decodeWav(checkBytes('bytes', bytes));
  return { sampleRate, channels, bitsPerSample };
}

function checkDecoded(audio: DecodedAudio): void {
  checkInteger('audio.sampleRate', audio.sampleRate, 1, 2 ** 32 - 1);
  if (!Array.isArray(audio.channels) || audio.channels.length === 0) throw invalidType('audio.channels', 'a non-empty array of Float32Array', audio.channels);
  const length = audio.channels[0]?.length;
  audio.channels.forEach((channel, i) => {
    if (!(channel instanceof Float32Array)) throw invalidType(`audio.channels[${i}]`, 'a Float32Array', channel);
    if (channel.length !== length) throw invalidRange(`audio.channels[${i}]`, `${length} samples like channel 0`, channel);
  });
  if (length === 0) throw invalidRange('audio.channels', 'non-empty channels', audio.channels);
}

/**
 * Formats audio into the model's clip: resample to `sampleRate` (torchaudio's
 * sinc resampler), average the channels, skip `offsetSeconds`, then trim or
 * zero-pad to `durationSeconds`. Defaults give 144 000 samples at 48 kHz.
 *
 * @param audio - WAV bytes, decoded audio, or a Float32Array of mono samples at `options.sampleRate`.
 * @throws {@link EmoError} for bad WAV data or NaN/Inf samples; TypeError/RangeError for misuse.
 */
export function prepareClip(audio: AudioInput, options?: FeatureOptions): Float32Array {
  const { native: config } = resolveCached(options);
  if (audio instanceof Uint8Array) return native.prepareClip(audio, config.sampleRate, config);
  if (audio instanceof Float32Array) return native.prepareClip([checkClipInput('audio', audio) as Float32Array], config.sampleRate, config);
  if (typeof audio !== 'object' || audio === null) throw invalidType('audio', 'WAV bytes, decoded audio or a Float32Array', audio);
  checkDecoded(audio);
  return native.prepareClip(audio.channels, audio.sampleRate, config);
}
