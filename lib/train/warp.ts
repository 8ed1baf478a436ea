/**
 * Vocal tract length perturbation (VTLP; Jaitly & Hinton, 2013) on mel features: the frequency
 * axis of a clip is scaled by a random factor near 1, as if a speaker with a longer or shorter
 * vocal tract (lower or higher formants and pitch) had said it. Voices are what separates the
 * training actors from the held-out ones, so this is the augmentation that targets speaker
 * independence. It works on the dB features of the cache (before normalisation), training
 * batches only.
 * @packageDocumentation
 */
import { hzToMel, melBandCentres } from '../features/mel-scale';
import { checkKnownKeys, checkNumber, checkPlainObject, invalidRange } from '../validate';

/** Range of the warp factor (see {@link warpMelChunks}). `false` turns warping off. */
export interface WarpOptions {
  /** Smallest factor (formants moved down). Default 0.85. */
  minFactor?: number;
  /** Largest factor (formants moved up). Default 1.15. */
  maxFactor?: number;
}

/** The warp range that {@link trainModel} uses unless told otherwise. */
export const DEFAULT_WARP: Readonly<Required<WarpOptions>> = Object.freeze({ minFactor: 0.85, maxFactor: 1.15 });

/** Validates warp options and fills in the defaults (`false` → factor 1, no warping). */
export function resolveWarpOptions(name: string, value: unknown): Required<WarpOptions> {
  if (value === false) return { minFactor: 1, maxFactor: 1 };
  const o = checkPlainObject(name, value);
  checkKnownKeys(name, o, Object.keys(DEFAULT_WARP));
  const minFactor = o.minFactor === undefined ? DEFAULT_WARP.minFactor : checkNumber(`${name}.minFactor`, o.minFactor, 0.5, 2);
  const maxFactor = o.maxFactor === undefined ? DEFAULT_WARP.maxFactor : checkNumber(`${name}.maxFactor`, o.maxFactor, 0.5, 2);
  if (maxFactor < minFactor) throw invalidRange(`${name}.maxFactor`, `a number of at least minFactor (${minFactor})`, maxFactor);
  return { minFactor, maxFactor };
}

/** The frequency range of the pipeline's mel filterbank (HTK scale; the band count is the features' own). */
export interface MelScale {
  fMin: number;
  fMax: number;
}

/**
 * In place: warps the frequency axis of one clip's (chunks, mels, frames) mel features by
 * `factor`. Output band m, centred at f, takes the value the input has at f / factor (so a
 * factor above 1 moves formants and harmonics up), read by linear interpolation between the
 * two input bands whose centres surround it; beyond the outermost centres the edge band is
 * repeated. A factor of 1 leaves the features unchanged.
 */
export function warpMelChunks(data: Float32Array, shape: readonly [number, number, number], factor: number, scale: MelScale): void {
  const [chunks, mels, frames] = shape;
  if (factor === 1 || mels < 2) return;
  const centres = melBandCentres(mels, scale.fMin, scale.fMax);
  const melMin = hzToMel(scale.fMin);
  const step = (hzToMel(scale.fMax) - melMin) / (mels + 1);
  const lower = new Int32Array(mels);
  const weight = new Float32Array(mels);
  for (let m = 0; m < mels; m++) {
    // Fractional index of the band whose centre lies at centre / factor (band m sits at m + 1 steps).
    const source = (hzToMel((centres[m] as number) / factor) - melMin) / step - 1;
    const s = Math.min(Math.max(source, 0), mels - 1);
    lower[m] = Math.min(Math.floor(s), mels - 2);
    weight[m] = s - (lower[m] as number);
  }
  const chunk = new Float32Array(mels * frames);
  for (let c = 0; c < chunks; c++) {
    const base = c * mels * frames;
    chunk.set(data.subarray(base, base + mels * frames));
    for (let m = 0; m < mels; m++) {
      const w = weight[m] as number;
      const a = (lower[m] as number) * frames;
      const out = base + m * frames;
      for (let t = 0; t < frames; t++) data[out + t] = (1 - w) * (chunk[a + t] as number) + w * (chunk[a + frames + t] as number);
    }
  }
}
