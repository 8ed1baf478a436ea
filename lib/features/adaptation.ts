/**
 * Speaker and channel statistics: per-mel-band mean and deviation of the speech frames of clips
 * that share a speaker and a recording chain, computed without labels. A model trained with
 * `adapt: 'speaker'` sees every clip as `(dB − speaker mean) / speaker deviation`, per band; at
 * inference an adapter's statistics put a new voice and microphone in that same frame.
 *
 * Only speech frames count: a frame within {@link SPEECH_RANGE_DB} of its clip's loudest and
 * {@link SPEECH_FLOOR_MARGIN_DB} above the dB floor (leading silence, pauses and zero padding
 * would otherwise pull the mean towards the room's noise), and not next to clipped samples.
 *
 * @packageDocumentation
 */

/**
 * Floor of a band's standard deviation, dB, wherever a deviation divides (training statistics,
 * speaker statistics). A band that hardly varies (the lowest mel band of the reference pipeline
 * has an empty filter and is always the dB floor; bands above the Nyquist frequency of upsampled
 * clips likewise) would otherwise turn any small deviation into inputs of millions.
 */
export const MIN_BAND_STD_DB = 1;

/**
 * Floor of a speaker's variance of one of the statistics network's statistics (in normalised
 * units squared, about (0.15 dB)²), in training and in adapters alike: a statistic that never
 * varies for a speaker (a band always at the dB floor) would otherwise be divided by little more
 * than the batch normalisation's epsilon.
 */
export const MIN_STATISTIC_VARIANCE = 1e-4;

/** A frame is speech when its band-average power is at most this far below its clip's loudest frame, dB. */
export const SPEECH_RANGE_DB = 30;

/** ... and at least this far above the dB floor (`10·log10(amin)`): zero padding and digital silence never count. */
export const SPEECH_FLOOR_MARGIN_DB = 20;

/**
 * How training adapts to each speaker and recording, from statistics of its clips without labels
 * (grouped per actor and training variant: each variant is another recording of the actor):
 * `'speaker'` normalises each mel band with the group's speech frames; `'speaker-statistics'`
 * (the statistics network only) standardises each of the network's per-clip statistics with the
 * group's mean and variance of them.
 */
export type TrainingAdaptation = 'none' | 'speaker' | 'speaker-statistics';

/** The training adaptations {@link TrainingAdaptation} knows. */
export const TRAINING_ADAPTATIONS: readonly TrainingAdaptation[] = ['none', 'speaker', 'speaker-statistics'];

/** Per-band statistics of a group of clips' speech frames. */
export interface SpeakerBands {
  /** Speech frames counted. */
  frames: number;
  /** Per band mean, dB. */
  mean: number[];
  /** Per band standard deviation (population), dB, not floored. */
  std: number[];
}

/**
 * The clip's frames in time order as (chunk, frame-in-chunk) pairs, each once: overlapping chunks
 * (stride below the chunk's length) repeat frames, which would count twice.
 */
function uniqueFrameCount(shape: readonly [number, number, number], stride: number): number {
  const [chunks, , frames] = shape;
  return (chunks - 1) * Math.min(stride, frames) + frames;
}

/** Index of frame `f` of a clip in its (chunks, mels, frames) data, band 0. */
function frameBase(f: number, shape: readonly [number, number, number], stride: number): number {
  const [chunks, mels, frames] = shape;
  const step = Math.min(stride, frames);
  const c = Math.min(Math.floor(f / step), chunks - 1);
  return c * mels * frames + (f - c * step);
}

/**
 * Which of a clip's frames are speech (1) and which are not (0), in time order (see the module's
 * rule). `excluded` marks frames to leave out whatever their level (clipping).
 *
 * @param data - one clip's (chunks, mels, frames) dB features, as `melChunks` gives them.
 * @param stride - frames between chunk starts (`chunkStride`).
 * @param amin - the pipeline's power floor (`10·log10(amin)` is its dB floor).
 */
export function speechFrames(data: Float32Array, shape: readonly [number, number, number], stride: number, amin: number, excluded?: Uint8Array): Uint8Array {
  const mels = shape[1];
  const frames = shape[2];
  const count = uniqueFrameCount(shape, stride);
  const energy = new Float64Array(count);
  let loudest = -Infinity;
  for (let f = 0; f < count; f++) {
    const base = frameBase(f, shape, stride);
    let power = 0;
    for (let m = 0; m < mels; m++) power += 10 ** ((data[base + m * frames] as number) / 10);
    const db = 10 * Math.log10(power / mels);
    energy[f] = db;
    if (db > loudest) loudest = db;
  }
  const floor = 10 * Math.log10(amin) + SPEECH_FLOOR_MARGIN_DB;
  const mask = new Uint8Array(count);
  for (let f = 0; f < count; f++) {
    const e = energy[f] as number;
    mask[f] = e >= loudest - SPEECH_RANGE_DB && e >= floor && !(excluded && excluded[f]) ? 1 : 0;
  }
  return mask;
}

/**
 * Running per-band statistics of speech frames (float64, merged with Chan's formula, so clips can
 * arrive in any order and any number).
 */
export class BandAccumulator {
  /** Frames counted. */
  frames = 0;
  readonly mean: Float64Array;
  /** Sum of squared deviations from the mean, per band. */
  readonly m2: Float64Array;

  constructor(readonly mels: number) {
    this.mean = new Float64Array(mels);
    this.m2 = new Float64Array(mels);
  }

  /** Adds the frames of one clip that `mask` marks (from {@link speechFrames}). */
  addClip(data: Float32Array, shape: readonly [number, number, number], stride: number, mask: Uint8Array): void {
    const [, mels, frames] = shape;
    const bases: number[] = [];
    mask.forEach((keep, f) => {
      if (keep) bases.push(frameBase(f, shape, stride));
    });
    const n = bases.length;
    if (n === 0) return;
    const mean = new Float64Array(mels);
    const m2 = new Float64Array(mels);
    for (let m = 0; m < mels; m++) {
      let sum = 0;
      for (const b of bases) sum += data[b + m * frames] as number;
      const mu = sum / n;
      let sq = 0;
      for (const b of bases) sq += ((data[b + m * frames] as number) - mu) ** 2;
      mean[m] = mu;
      m2[m] = sq;
    }
    this.merge(n, mean, m2);
  }

  /** Adds another group's statistics: `frames` frames of per-band `mean` and squared-deviation sums `m2`. */
  merge(frames: number, mean: ArrayLike<number>, m2: ArrayLike<number>): void {
    if (frames === 0) return;
    if (this.frames === 0) {
      // Exactly what was given (saved statistics load unchanged).
      this.mean.set(Array.from(mean));
      this.m2.set(Array.from(m2));
      this.frames = frames;
      return;
    }
    const total = this.frames + frames;
    for (let m = 0; m < this.mels; m++) {
      const delta = (mean[m] as number) - (this.mean[m] as number);
      this.mean[m] = (this.mean[m] as number) + (delta * frames) / total;
      this.m2[m] = (this.m2[m] as number) + (m2[m] as number) + (delta * delta * this.frames * frames) / total;
    }
    this.frames = total;
  }

  /** The statistics so far (zeros when no frame has been counted). */
  bands(): SpeakerBands {
    const n = this.frames;
    return {
      frames: n,
      mean: Array.from(this.mean),
      std: Array.from(this.m2, (s) => (n > 0 ? Math.sqrt(s / n) : 0)),
    };
  }
}

/**
 * In place: one clip's (chunks, mels, frames) dB features moved from a speaker's statistics into a
 * reference's: `reference.mean + reference.std · (x − speaker.mean) / max(speaker.std, 1 dB)` per band.
 * A model trained with `adapt: 'speaker'` normalises its input with the reference (the training
 * speakers' average), so what reaches its first layer is the speaker-normalised clip it trained on.
 */
export function adaptChunks(data: Float32Array, shape: readonly [number, number, number], speaker: Pick<SpeakerBands, 'mean' | 'std'>, reference: { mean: readonly number[]; std: readonly number[] }): void {
  const [chunks, mels, frames] = shape;
  for (let m = 0; m < mels; m++) {
    const scale = (reference.std[m] as number) / Math.max(speaker.std[m] as number, MIN_BAND_STD_DB);
    const shift = (reference.mean[m] as number) - (speaker.mean[m] as number) * scale;
    for (let c = 0; c < chunks; c++) {
      const base = (c * mels + m) * frames;
      for (let t = 0; t < frames; t++) data[base + t] = (data[base + t] as number) * scale + shift;
    }
  }
}
