/**
 * SpecAugment-style masking of training batches (Park et al., 2019: frequency and time
 * masking, without time warping). It hides random mel bands and frames so the network cannot
 * lean on one speaker's formant positions or on a few frames; it runs on normalised features,
 * so a masked value is 0, the training mean of its band. Training batches only: validation,
 * test and inference never see it.
 * @packageDocumentation
 */
import { checkInteger, checkKnownKeys, checkPlainObject } from '../validate';

/** Masks per clip (see {@link maskChunks}). `false` turns masking off. */
export interface MaskOptions {
  /** Frequency masks per clip, the same bands in every chunk. Default 2. */
  freqMasks?: number;
  /** Widest frequency mask in mel bands; each width is drawn uniformly from 0 to this. Default 12. */
  maxFreqWidth?: number;
  /** Time masks per chunk. Default 2. */
  timeMasks?: number;
  /** Widest time mask in frames; each width is drawn uniformly from 0 to this. Default 12. */
  maxTimeWidth?: number;
}

/** The masking that {@link trainModel} applies unless told otherwise. */
export const DEFAULT_MASKING: Readonly<Required<MaskOptions>> = Object.freeze({ freqMasks: 2, maxFreqWidth: 12, timeMasks: 2, maxTimeWidth: 12 });

/** Validates mask options and fills in the defaults (`false` → no masks). */
export function resolveMaskOptions(name: string, value: unknown): Required<MaskOptions> {
  if (value === false) return { freqMasks: 0, maxFreqWidth: 0, timeMasks: 0, maxTimeWidth: 0 };
  const o = checkPlainObject(name, value);
  checkKnownKeys(name, o, Object.keys(DEFAULT_MASKING));
  const get = (key: keyof MaskOptions, max: number) => (o[key] === undefined ? DEFAULT_MASKING[key] : checkInteger(`${name}.${key}`, o[key], 0, max));
  return { freqMasks: get('freqMasks', 64), maxFreqWidth: get('maxFreqWidth', 4096), timeMasks: get('timeMasks', 64), maxTimeWidth: get('maxTimeWidth', 4096) };
}

/**
 * In place: masks one clip's normalised (chunks, mels, frames) features. Widths are drawn
 * uniformly from 0..max and start positions uniformly where the mask fits, all from `random`
 * (a function returning numbers in [0, 1)), in a fixed order (frequency masks, then each
 * chunk's time masks), so a seeded generator gives the same masks every time.
 */
export function maskChunks(data: Float32Array, shape: readonly [number, number, number], options: Required<MaskOptions>, random: () => number): void {
  const [chunks, mels, frames] = shape;
  const draw = (n: number) => Math.floor(random() * n);
  for (let k = 0; k < options.freqMasks; k++) {
    const width = draw(Math.min(options.maxFreqWidth, mels) + 1);
    const start = draw(mels - width + 1);
    for (let c = 0; c < chunks; c++) data.fill(0, (c * mels + start) * frames, (c * mels + start + width) * frames);
  }
  for (let c = 0; c < chunks; c++)
    for (let k = 0; k < options.timeMasks; k++) {
      const width = draw(Math.min(options.maxTimeWidth, frames) + 1);
      const start = draw(frames - width + 1);
      for (let m = 0; m < mels; m++) {
        const row = (c * mels + m) * frames;
        data.fill(0, row + start, row + start + width);
      }
    }
}
