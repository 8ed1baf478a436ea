import { native, type NativeConfig } from '../native';
import { checkInteger, checkKnownKeys, checkNumber, checkPlainObject, invalidRange, invalidType } from '../validate';

/**
 * Options of the feature pipeline. Every field defaults to the reference
 * pipeline's value (docs/architecture.md), so `{}` gives the model's input features.
 */
export interface FeatureOptions {
  /** Rate of the formatted clip and of the STFT, Hz. Default 48000. */
  sampleRate?: number;
  /** Audio skipped at the start, seconds. Default 0.5. */
  offsetSeconds?: number;
  /** Length of the formatted clip (trimmed or zero-padded), seconds. Default 3. */
  durationSeconds?: number;
  /** FFT size. Default 1024. */
  nFft?: number;
  /** Length of the periodic Hamming window, centred in the FFT frame. Default 512. */
  winLength?: number;
  /** Samples between frames. Default 256. */
  hopLength?: number;
  /** Mel bands (HTK scale, no normalisation). Default 128. */
  nMels?: number;
  /** Lowest filterbank frequency, Hz. Default 0. */
  fMin?: number;
  /** Highest filterbank frequency, Hz. Default sampleRate / 2. */
  fMax?: number;
  /** Power floor before log10. Default 1e-10 (-100 dB). */
  amin?: number;
  /** When set, dB values below (maximum - topDb) are raised to it. Default null (off). */
  topDb?: number | null;
  /** Frames per chunk. Default 128. */
  chunkFrames?: number;
  /** Frames between chunk starts. Default 64. */
  chunkStride?: number;
  /** Zero crossings of the resampling sinc on each side (torchaudio's lowpass_filter_width). Default 6. */
  resampleLowpassFilterWidth?: number;
  /** Resampling cut-off as a fraction of the lower Nyquist frequency. Default 0.99. */
  resampleRolloff?: number;
}

/** The reference pipeline's numbers. */
export const DEFAULT_FEATURE_OPTIONS = Object.freeze({
  sampleRate: 48000,
  offsetSeconds: 0.5,
  durationSeconds: 3,
  nFft: 1024,
  winLength: 512,
  hopLength: 256,
  nMels: 128,
  fMin: 0,
  fMax: 24000,
  amin: 1e-10,
  topDb: null as number | null,
  chunkFrames: 128,
  chunkStride: 64,
  resampleLowpassFilterWidth: 6,
  resampleRolloff: 0.99,
});

const FEATURE_KEYS = Object.keys(DEFAULT_FEATURE_OPTIONS);

// Native config fields that are not named like the option they come from.
const NATIVE_FIELD_OPTION: Record<string, string> = { offset: 'offsetSeconds', length: 'durationSeconds', lowpassFilterWidth: 'resampleLowpassFilterWidth' };

let limits: Record<string, [number, number]> | undefined;
function nativeLimits(): Record<string, [number, number]> {
  limits ??= native.configLimits();
  return limits;
}

/** A validated pipeline configuration: the native struct plus derived shapes. */
export interface ResolvedFeatures {
  native: NativeConfig;
  /** Frames of the formatted clip's spectrogram. */
  frames: number;
  /** [chunks, nMels, chunkFrames]. */
  chunkShape: [number, number, number];
}

/** Keys of FeatureOptions, for option objects that extend it. */
export const featureOptionKeys: readonly string[] = FEATURE_KEYS;

/**
 * Validates options (TypeError for a wrong type, RangeError for a bad value) and
 * fills in defaults. `extraKeys` are accepted and left for the caller.
 */
export function resolveFeatureOptions(options: unknown, name = 'options', extraKeys: readonly string[] = []): ResolvedFeatures {
  const o = checkPlainObject(name, options);
  checkKnownKeys(name, o, [...FEATURE_KEYS, ...extraKeys]);
  const pick = <K extends keyof typeof DEFAULT_FEATURE_OPTIONS>(key: K): unknown => (o[key] === undefined ? DEFAULT_FEATURE_OPTIONS[key] : o[key]);

  const sampleRate = checkInteger(`${name}.sampleRate`, pick('sampleRate'), 1000, 768000);
  const offsetSeconds = checkNumber(`${name}.offsetSeconds`, pick('offsetSeconds'), 0, 86400);
  const durationSeconds = checkNumber(`${name}.durationSeconds`, pick('durationSeconds'), 0, 3600);
  const nFft = checkInteger(`${name}.nFft`, pick('nFft'), 2, 65536);
  if (nFft % 2 !== 0) throw invalidRange(`${name}.nFft`, 'an even integer', nFft);
  const winLength = checkInteger(`${name}.winLength`, pick('winLength'), 1, nFft);
  const hopLength = checkInteger(`${name}.hopLength`, pick('hopLength'), 1, 1 << 20);
  const nMels = checkInteger(`${name}.nMels`, pick('nMels'), 1, 4096);
  const fMin = checkNumber(`${name}.fMin`, pick('fMin'), 0, sampleRate / 2);
  const fMax = checkNumber(`${name}.fMax`, o.fMax === undefined ? sampleRate / 2 : o.fMax, 0, sampleRate / 2);
  if (!(fMax > fMin)) throw invalidRange(`${name}.fMax`, `a frequency above fMin (${fMin} Hz)`, fMax);
  // The smallest normal float32: the native dB kernel's logarithm needs normal numbers.
  const amin = checkNumber(`${name}.amin`, pick('amin'), 1.1754943508222875e-38, 1);
  const topDbValue = pick('topDb');
  if (topDbValue !== null && typeof topDbValue !== 'number') throw invalidType(`${name}.topDb`, 'a non-negative number or null', topDbValue);
  const topDb = topDbValue === null ? NaN : checkNumber(`${name}.topDb`, topDbValue, 0, 1000);
  const chunkFrames = checkInteger(`${name}.chunkFrames`, pick('chunkFrames'), 1, 1 << 20);
  const chunkStride = checkInteger(`${name}.chunkStride`, pick('chunkStride'), 1, 1 << 20);
  const lowpassFilterWidth = checkInteger(`${name}.resampleLowpassFilterWidth`, pick('resampleLowpassFilterWidth'), 1, 64);
  const rolloff = checkNumber(`${name}.resampleRolloff`, pick('resampleRolloff'), 0.01, 1);

  const offset = Math.round(offsetSeconds * sampleRate);
  const length = Math.round(durationSeconds * sampleRate);
  if (length <= nFft / 2) throw invalidRange(`${name}.durationSeconds`, `a clip longer than nFft / 2 = ${nFft / 2} samples`, durationSeconds);
  const frames = 1 + Math.floor(length / hopLength);
  if (chunkFrames > frames) throw invalidRange(`${name}.chunkFrames`, `at most the clip's ${frames} frames`, chunkFrames);
  const chunks = Math.floor((frames - chunkFrames) / chunkStride) + 1;

  const nativeConfig = { sampleRate, offset, length, lowpassFilterWidth, rolloff, nFft, winLength, hopLength, nMels, fMin, fMax, amin, topDb, chunkFrames, chunkStride };
  // The native side's own bounds (one table, in binding/glue.cpp): whatever passes here passes there.
  for (const [field, [min, max]] of Object.entries(nativeLimits())) {
    const value = nativeConfig[field as keyof typeof nativeConfig];
    if (typeof value === 'number' && !(value >= min && value <= max)) {
      const option = NATIVE_FIELD_OPTION[field] ?? field;
      throw invalidRange(`${name}.${option}`, `a value giving ${field} from ${min} to ${max} (got ${value})`, o[option] ?? pick(option as keyof typeof DEFAULT_FEATURE_OPTIONS));
    }
  }
  return {
    native: nativeConfig,
    frames,
    chunkShape: [chunks, nMels, chunkFrames],
  };
}

const defaults = resolveFeatureOptions({});

/** resolveFeatureOptions with the all-defaults case precomputed. */
export function resolveCached(options: FeatureOptions | undefined, name = 'options', extraKeys: readonly string[] = []): ResolvedFeatures {
  return options === undefined ? defaults : resolveFeatureOptions(options, name, extraKeys);
}

/**
 * The feature options a native configuration was resolved from (every field explicit). Run
 * records (`run.json`, the feature cache) store the native form; this turns it back into options.
 */
export function featureOptionsFromNative(config: NativeConfig): Required<FeatureOptions> {
  return {
    sampleRate: config.sampleRate,
    offsetSeconds: config.offset / config.sampleRate,
    durationSeconds: config.length / config.sampleRate,
    nFft: config.nFft,
    winLength: config.winLength,
    hopLength: config.hopLength,
    nMels: config.nMels,
    fMin: config.fMin,
    fMax: config.fMax,
    amin: config.amin,
    // NaN in the native struct; null once it has been through JSON.
    topDb: config.topDb === null || Number.isNaN(config.topDb) ? null : config.topDb,
    chunkFrames: config.chunkFrames,
    chunkStride: config.chunkStride,
    resampleLowpassFilterWidth: config.lowpassFilterWidth,
    resampleRolloff: config.rolloff,
  };
}

/**
 * A self-describing record of a feature pipeline, as stored in a model file (ONNX metadata
 * `emo.features`): every option, the fixed choices a reader in another language needs (window,
 * mel scale, dB formula) and the resulting input shape.
 */
export interface FeatureDescriptor extends Required<FeatureOptions> {
  window: 'hamming-periodic-centred';
  melScale: 'htk';
  melNorm: 'none';
  db: '10*log10(max(power, amin))';
  /** [chunks, nMels, chunkFrames] */
  shape: [number, number, number];
}

/** The {@link FeatureDescriptor} of a resolved pipeline. */
export function describeFeatures(resolved: ResolvedFeatures): FeatureDescriptor {
  return {
    ...featureOptionsFromNative(resolved.native),
    window: 'hamming-periodic-centred',
    melScale: 'htk',
    melNorm: 'none',
    db: '10*log10(max(power, amin))',
    shape: [...resolved.chunkShape],
  };
}

/**
 * The fields in which two feature descriptors differ, as readable `name: a ≠ b` strings (empty
 * when they describe the same pipeline). Keys missing on either side count as differences.
 */
export function featureDifferences(expected: FeatureDescriptor, actual: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]);
  const differences: string[] = [];
  for (const key of keys) {
    const a = JSON.stringify((expected as unknown as Record<string, unknown>)[key]);
    const b = JSON.stringify(actual[key]);
    if (a !== b) differences.push(`${key}: ${b ?? 'missing'} (this pipeline: ${a ?? 'none'})`);
  }
  return differences;
}
