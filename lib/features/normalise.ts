/**
 * The network's input normalisation: what turns `melChunks` dB values into the numbers the network
 * was trained on. Training, the tfjs predictor and the ONNX graph all compute exactly this.
 *
 * @packageDocumentation
 */

/** How each clip is centred before the per-band normalisation. */
export type Centring = 'none' | 'utterance';

/** The centrings {@link normaliseChunks} knows. */
export const CENTRINGS: readonly Centring[] = ['none', 'utterance'];

/**
 * Per-mel-band statistics of the training split: the network's input is `(dB − mean) / std`,
 * after the clip's own per-band mean is subtracted when `centre` is `'utterance'`.
 */
export interface BandNormalisation {
  mean: readonly number[];
  std: readonly number[];
  /**
   * `'utterance'`: each clip first loses its own mean of each mel band (over all its chunks and
   * frames, as a stack of chunks holds them), which removes a recording's level and the steady
   * colour of its microphone and room (a fixed gain or EQ is a per-band offset in dB). Default `'none'`.
   */
  centre?: Centring;
  /**
   * `'speaker'`: the model was trained on speaker-normalised clips (`adapt: 'speaker'`), and these
   * statistics are the training speakers' average: an adapter maps a clip onto them first (see
   * `adaptChunks`); without one, a clip is normalised as if its speaker were average.
   * `'speaker-statistics'`: these are the training split's statistics, as without adaptation, and
   * the statistics network standardises its per-clip statistics per speaker
   * (`adapt: 'speaker-statistics'`): an adapter gives a speaker's mean and variance of them; without
   * one, the training speakers' average.
   */
  adapt?: 'speaker' | 'speaker-statistics';
}

/**
 * Checks a {@link BandNormalisation} against a mel-band count: finite means, positive
 * deviations, a known centring.
 *
 * @throws TypeError on another band count or an unknown centring; RangeError on bad statistics.
 */
export function checkNormalisation(name: string, norm: BandNormalisation, mels: number): void {
  if (!Array.isArray(norm.mean) || !Array.isArray(norm.std) || norm.mean.length !== mels || norm.std.length !== mels) {
    throw new TypeError(`${name}: expected ${mels} means and ${mels} deviations, one per mel band`);
  }
  if (norm.std.some((s) => !(s > 0) || !Number.isFinite(s)) || norm.mean.some((m) => !Number.isFinite(m))) {
    throw new RangeError(`${name}: the normalisation needs finite means and positive deviations`);
  }
  if (norm.centre !== undefined && !CENTRINGS.includes(norm.centre)) {
    throw new TypeError(`${name}: unknown centring '${String(norm.centre)}' (${CENTRINGS.join(', ')})`);
  }
  if (norm.adapt !== undefined && norm.adapt !== 'speaker' && norm.adapt !== 'speaker-statistics') throw new TypeError(`${name}: unknown adaptation '${String(norm.adapt)}' (speaker, speaker-statistics)`);
}

/** Each mel band's mean over one clip's chunks and frames (float64 sums). */
function bandMeans(data: Float32Array, shape: readonly [number, number, number]): Float64Array {
  const [chunks, mels, frames] = shape;
  const means = new Float64Array(mels);
  for (let c = 0; c < chunks; c++)
    for (let m = 0; m < mels; m++) {
      const base = (c * mels + m) * frames;
      let sum = 0;
      for (let t = 0; t < frames; t++) sum += data[base + t] as number;
      means[m] = (means[m] as number) + sum;
    }
  for (let m = 0; m < mels; m++) means[m] = (means[m] as number) / (chunks * frames);
  return means;
}

/** In place: each mel band of one clip's (chunks, mels, frames) features loses its mean over the clip's chunks and frames. */
export function centreUtterance(data: Float32Array, shape: readonly [number, number, number]): void {
  normaliseChunks(data, shape, { mean: new Array<number>(shape[1]).fill(0), std: new Array<number>(shape[1]).fill(1), centre: 'utterance' });
}

/**
 * In place: one clip's (chunks, mels, frames) dB features become the network's input — centred
 * when `norm.centre` says so, then `(x − mean) / std` per mel band, in one pass over the data
 * (training reads every batch through here).
 */
export function normaliseChunks(data: Float32Array, shape: readonly [number, number, number], norm: BandNormalisation): void {
  const own = norm.centre === 'utterance' ? bandMeans(data, shape) : null;
  const [chunks, mels, frames] = shape;
  for (let c = 0; c < chunks; c++)
    for (let m = 0; m < mels; m++) {
      const mean = (norm.mean[m] as number) + (own === null ? 0 : (own[m] as number));
      const inv = 1 / (norm.std[m] as number);
      const base = (c * mels + m) * frames;
      for (let t = 0; t < frames; t++) data[base + t] = ((data[base + t] as number) - mean) * inv;
    }
}
