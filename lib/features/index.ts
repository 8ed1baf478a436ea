import * as os from 'node:os';
import { checkClipInput } from '../audio';
import { EmoError } from '../errors';
import { native } from '../native';
import { checkInteger, checkKnownKeys, checkPlainObject, invalidRange, invalidType } from '../validate';
import { featureOptionKeys, resolveCached, type FeatureOptions } from './options';
export { CENTRINGS, centreUtterance, checkNormalisation, normaliseChunks, type BandNormalisation, type Centring } from './normalise';

export {
  DEFAULT_FEATURE_OPTIONS,
  describeFeatures,
  featureDifferences,
  featureOptionsFromNative,
  resolveFeatureOptions,
  type FeatureDescriptor,
  type FeatureOptions,
  type ResolvedFeatures,
} from './options';

/** A dB mel spectrogram, mel-major: `data[m * frames + t]`. */
export interface MelSpectrogram {
  data: Float32Array;
  /** [nMels, frames] */
  shape: [number, number];
}

/** The model's input for one clip: chunk-major, `data[(c * nMels + m) * chunkFrames + t]`. */
export interface MelChunks {
  data: Float32Array;
  /** [chunks, nMels, chunkFrames], [7, 128, 128] with the defaults. */
  shape: [number, number, number];
}

/** Options of {@link melChunksBatch}. */
export interface BatchOptions extends FeatureOptions {
  /**
   * The most clips of this call computed at once on the process-wide pool (see
   * {@link setThreads}). Default: all of the pool's threads.
   */
  threads?: number;
  /**
   * `'reject'` (default): the promise rejects with the first failing input's EmoError
   * (its `index` says which). `'return'`: failures are returned in place as EmoError values.
   */
  errors?: 'reject' | 'return';
}

/**
 * The dB mel spectrogram of samples as given (no resampling, offset or padding).
 *
 * @param samples - mono samples at `options.sampleRate` (default 48 kHz), longer than nFft / 2.
 * @throws {@link EmoError} `ERR_NON_FINITE_SAMPLES` or `ERR_TOO_SHORT`.
 */
export function melSpectrogram(samples: Float32Array, options?: FeatureOptions): MelSpectrogram {
  if (!(samples instanceof Float32Array)) throw invalidType('samples', 'a Float32Array', samples);
  const resolved = resolveCached(options);
  const data = native.melSpectrogram(samples, resolved.native);
  const nMels = resolved.native.nMels;
  return { data, shape: [nMels, data.length / nMels] };
}

/**
 * Turns one clip into the model's input: decode, resample to 48 kHz, mono, skip
 * 0.5 s, trim/pad to 3 s, dB mel spectrogram (563 frames), 7 chunks of 128 frames.
 *
 * @param input - WAV bytes (Buffer/Uint8Array), or a Float32Array of mono samples at
 *   `options.sampleRate`; the same offset and trim/pad apply to both.
 * @returns `{ data, shape: [7, 128, 128] }` with the defaults.
 * @throws {@link EmoError} for bad WAV data or NaN/Inf samples; TypeError/RangeError for misuse.
 * @example
 * const { data, shape } = melChunks(fs.readFileSync('03-01-05-02-01-01-01.wav'));
 */
export function melChunks(input: Uint8Array | Float32Array, options?: FeatureOptions): MelChunks {
  const resolved = resolveCached(options);
  const data = native.melChunks(checkClipInput('input', input), resolved.native);
  return { data, shape: [...resolved.chunkShape] };
}

const BATCH_KEYS = ['threads', 'errors'] as const;

/**
 * {@link melChunks} for many clips, off the event loop, on the process-wide native thread pool
 * (not libuv's, which stays free for fs, dns and zlib; concurrent calls queue on it). The inputs
 * are copied before the call returns, so they may be reused, rewritten or transferred at once.
 *
 * @example
 * const batch = await melChunksBatch(buffers, { threads: 2 });
 */
// Overloads: the most specific first, so `{ errors: 'return' }` types the failures in.
export async function melChunksBatch(
  inputs: ReadonlyArray<Uint8Array | Float32Array>,
  options: BatchOptions & { errors: 'return' },
): Promise<Array<MelChunks | EmoError>>;
export async function melChunksBatch(inputs: ReadonlyArray<Uint8Array | Float32Array>, options?: BatchOptions & { errors?: 'reject' }): Promise<MelChunks[]>;
export async function melChunksBatch(
  inputs: ReadonlyArray<Uint8Array | Float32Array>,
  options?: BatchOptions,
): Promise<Array<MelChunks | EmoError>> {
  if (!Array.isArray(inputs)) throw invalidType('inputs', 'an array of WAV buffers or Float32Arrays', inputs);
  const o = checkPlainObject('options', options);
  checkKnownKeys('options', o, [...featureOptionKeys, ...BATCH_KEYS]);
  const { threads: threadsOption, errors = 'reject', ...featureOptions } = o as BatchOptions;
  const resolved = resolveCached(featureOptions);
  const threads = threadsOption === undefined ? native.getThreads() : checkInteger('options.threads', threadsOption, 1, 256);
  if (errors !== 'reject' && errors !== 'return') throw invalidRange('options.errors', "'reject' or 'return'", errors);
  inputs.forEach((input, i) => checkClipInput(`inputs[${i}]`, input));
  if (inputs.length === 0) return [];
  const results = await native.melChunksBatch(inputs, resolved.native, Math.min(threads, inputs.length, 256), errors === 'return');
  return results.map((r) => (r instanceof EmoError ? r : { data: r, shape: [...resolved.chunkShape] }));
}

/**
 * Sizes the process-wide native thread pool that runs {@link melChunksBatch} (and the inference
 * API's feature work). Default: one thread per CPU (`os.availableParallelism()`), or the
 * `EMO_THREADS` environment variable. The pool starts with the first batch; after that its size
 * is fixed, and asking for another size throws.
 *
 * @returns the pool's size.
 */
export function setThreads(threads: number): number {
  return native.setThreads(checkInteger('threads', threads, 1, 1024));
}

/**
 * Lowers the priority of the native pool's threads to nice value `niceness` (0–19, from their next
 * task on), so that under full load the calling process's event loop is scheduled before the
 * feature work: `emo serve` does this (nice 10) to answer health checks and live windows promptly.
 * Linux only, where a nice value belongs to a thread; elsewhere nothing changes and it returns
 * false. An unprivileged process cannot lower a nice value again once raised.
 *
 * @returns whether the platform applies it.
 */
export function setThreadNiceness(niceness: number): boolean {
  return native.setThreadNiceness(checkInteger('niceness', niceness, 0, 19));
}

/** The size of the process-wide native thread pool (see {@link setThreads}). */
export function getThreads(): number {
  return native.getThreads();
}

// The pool's default size: EMO_THREADS, else the CPUs this process may use (which, unlike the
// C++ standard library's count, respects CPU affinity and container limits).
{
  const fromEnv = process.env.EMO_THREADS;
  const n = fromEnv === undefined || fromEnv === '' ? Math.max(1, os.availableParallelism()) : Number(fromEnv);
  if (!(Number.isInteger(n) && n >= 1 && n <= 1024)) throw new RangeError(`Expected an integer from 1 to 1024 for EMO_THREADS but received '${fromEnv}'`);
  try {
    native.setThreads(n);
  } catch {
    // another environment of this process (a worker_thread) started the pool first: it is shared
  }
}
