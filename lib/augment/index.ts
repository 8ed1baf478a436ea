/**
 * Training-data augmentation, in C++: additive white Gaussian noise at an exact
 * SNR, tempo change that keeps pitch (WSOLA), preemphasis, and the seeded
 * four-way expansion of the reference training set.
 *
 * Apply augmentation to training clips only — never to validation or test
 * clips, and only after splitting: augmenting before the split leaks near-copies
 * of test clips into training and inflates accuracy.
 *
 * Reproducibility: every random choice comes from one documented PRNG —
 * SplitMix64 expands the seed into xoshiro256** state, uniform numbers take the
 * top 53 bits, normal deviates use Marsaglia's polar method with a log built
 * from basic arithmetic — so the same seed gives bit-identical output on every
 * run and machine.
 * @packageDocumentation
 */
import { randomInt } from 'node:crypto';
import { native } from '../native';
import { checkInteger, checkKnownKeys, checkNumber, checkPlainObject, invalidRange, invalidType } from '../validate';

/** Seeds are integers in [0, 2^53). */
const MAX_SEED = Number.MAX_SAFE_INTEGER;

function checkSamples(x: unknown): Float32Array {
  if (!(x instanceof Float32Array)) throw invalidType('x', 'a Float32Array of samples', x);
  if (x.length === 0) throw invalidRange('x', 'a non-empty Float32Array', x);
  return x;
}

function checkSeed(name: string, seed: unknown): number {
  if (seed === undefined) return randomInt(2 ** 47) * 64 + randomInt(64); // 53 random bits
  return checkInteger(name, seed, 0, MAX_SEED);
}

function checkRange(name: string, value: unknown, min: number, max: number): [number, number] {
  if (!Array.isArray(value) || value.length !== 2) throw invalidType(name, `a [low, high] pair of numbers between ${min} and ${max}`, value);
  const lo = checkNumber(`${name}[0]`, value[0], min, max);
  const hi = checkNumber(`${name}[1]`, value[1], min, max);
  if (lo > hi) throw invalidRange(name, 'low <= high', value);
  return [lo, hi];
}

/**
 * Adds white Gaussian noise scaled so that the realised SNR over the clip,
 * 10·log10(Σx² / Σnoise²), equals `snrDb` (not just on average). Silent input
 * is returned as a copy.
 *
 * @param x - mono samples (not modified).
 * @param snrDb - signal-to-noise ratio in dB (any finite number; the reference draws U(15, 30)).
 * @param seed - integer in [0, 2^53); omitted: a random seed.
 * @throws {@link EmoError} `ERR_NON_FINITE_SAMPLES`; TypeError/RangeError for bad arguments.
 */
export function addNoise(x: Float32Array, snrDb: number, seed?: number): Float32Array {
  checkSamples(x);
  if (typeof snrDb !== 'number') throw invalidType('snrDb', 'a finite number', snrDb);
  if (!Number.isFinite(snrDb)) throw invalidRange('snrDb', 'a finite number', snrDb);
  return native.addNoise(x, snrDb, checkSeed('seed', seed));
}

/** Options of {@link timeStretch}. */
export interface TimeStretchOptions {
  /** Sample rate of `x`; sets the WSOLA frame (26.7 ms) and search range (±6.7 ms). Default 48000. */
  sampleRate?: number;
}

/**
 * Changes tempo and keeps pitch (WSOLA: Hann frames at 50% overlap, each shifted
 * within ±6.7 ms to continue the previous frame's waveform). `rate` > 1 is faster
 * and shorter: the output has round(x.length / rate) samples.
 *
 * @param rate - tempo factor in [0.1, 10] (the reference draws U(0.9, 1.1)).
 */
export function timeStretch(x: Float32Array, rate: number, options?: TimeStretchOptions): Float32Array {
  checkSamples(x);
  if (typeof rate !== 'number') throw invalidType('rate', 'a number between 0.1 and 10', rate);
  checkNumber('rate', rate, 0.1, 10);
  const o = checkPlainObject('options', options);
  checkKnownKeys('options', o, ['sampleRate']);
  const sampleRate = o.sampleRate === undefined ? 48000 : checkInteger('options.sampleRate', o.sampleRate, 1000, 768000);
  return native.timeStretch(x, rate, sampleRate);
}

/**
 * First-order preemphasis: y[0] = x[0], y[n] = x[n] − coef·x[n−1] (in float32, like the kernel).
 * @param coef - default 0.97.
 */
export function preemphasis(x: Float32Array, coef = 0.97): Float32Array {
  checkSamples(x);
  checkNumber('coef', coef, -1, 1);
  return native.preemphasis(x, coef);
}

/** Options of {@link expand}. */
export interface ExpandOptions {
  /** Integer in [0, 2^53) that fixes every draw; omitted: a random seed. */
  seed?: number;
  /** SNR range in dB for the noise variant. Default [15, 30]. */
  snrRange?: [number, number];
  /** Tempo range for the stretch variant. Default [0.9, 1.1]. */
  rateRange?: [number, number];
  /** Preemphasis coefficient. Default 0.97. */
  coef?: number;
  /** Sample rate of `x`, for the stretch frames. Default 48000. */
  sampleRate?: number;
}

/** The four training variants of a clip: original (a copy), noisy, tempo-changed, preemphasised. */
export type ExpandedClip = [original: Float32Array, noisy: Float32Array, stretched: Float32Array, preemphasised: Float32Array];

/** What {@link expand} drew for a seed. */
export interface ExpandDraws {
  snrDb: number;
  rate: number;
}

const EXPAND_KEYS = ['seed', 'snrRange', 'rateRange', 'coef', 'sampleRate'];

function resolveExpand(options: unknown) {
  const o = checkPlainObject('options', options);
  checkKnownKeys('options', o, EXPAND_KEYS);
  return {
    seed: checkSeed('options.seed', o.seed),
    snr: o.snrRange === undefined ? [15, 30] : checkRange('options.snrRange', o.snrRange, -100, 200),
    rate: o.rateRange === undefined ? [0.9, 1.1] : checkRange('options.rateRange', o.rateRange, 0.1, 10),
    coef: o.coef === undefined ? 0.97 : checkNumber('options.coef', o.coef, -1, 1),
    sampleRate: o.sampleRate === undefined ? 48000 : checkInteger('options.sampleRate', o.sampleRate, 1000, 768000),
  };
}

/**
 * Expands one training clip into the reference's four variants. From the seed,
 * in this order: the SNR (uniform in `snrRange`), the tempo rate (uniform in
 * `rateRange`), and the noise's own seed. Same seed, bit-identical output.
 *
 * @example
 * const [original, noisy, faster, emphasised] = augment.expand(clip, { seed: 7 });
 */
export function expand(x: Float32Array, options?: ExpandOptions): ExpandedClip {
  checkSamples(x);
  const r = resolveExpand(options);
  const { variants } = native.expand(x, r.seed, r.snr[0], r.snr[1], r.rate[0], r.rate[1], r.coef, r.sampleRate);
  return variants;
}

/** The SNR and rate {@link expand} draws for these options (a given seed), without computing the audio. */
export function expandDraws(options: ExpandOptions & { seed: number }): ExpandDraws {
  const r = resolveExpand(options);
  const { snrDb, rate } = native.expand(new Float32Array(1), r.seed, r.snr[0], r.snr[1], r.rate[0], r.rate[1], r.coef, r.sampleRate);
  return { snrDb, rate };
}
