/**
 * The statistics network: per-band statistics of a clip's speech frames and one linear layer.
 *
 * A probe on RAVDESS's validation actors (docs/ravdess-experiments.md §2b) found that a linear
 * model on a few statistics of each mel band, taken over the clip's speech frames, matches or beats
 * the 0.7 M-parameter CNN-BiLSTM there, and gains most from per-speaker normalisation. This network
 * computes those statistics inside the model, so it keeps the reference network's contract (input
 * (batch, 7, 128, 128, 1) normalised mel chunks; outputs probabilities and attention over the 7
 * chunks) and exports to ONNX with standard operators, and it trains in minutes.
 *
 * For a (normalised) input x of shape (batch, 7, mels, frames, 1):
 *
 *   s[b, m, t]  = chunks 0, 2, 4, 6 side by side     (with the stride of half a chunk, these
 *                                                      four cover the window once, 4·frames frames)
 *   level[b, t] = mean over m of s[b, m, t]
 *   speech[b,t] = level[b, t] > max_t level[b, t] − threshold       (1 or 0)
 *   r[b, k, t]  = s[b, m, t] for the mels bands, then (with `cepstra` K > 0) the first K
 *                 coefficients of each frame's orthonormal DCT-II over the bands (cepstra):
 *                 Σ_m D[k, m]·s[b, m, t],  D[k, m] = √(2/mels)·cos(π·k·(m + ½)/mels), D[0, m] = √(1/mels)
 *   mean[b, k]  = Σ_t speech·r / Σ_t speech
 *   sd[b, k]    = √(Σ_t speech·(r − mean)² / Σ_t speech)
 *   change[b,k] = Σ_t pair·|r[t+1] − r[t]| / max(Σ_t pair, 1),  pair[t] = speech[t]·speech[t+1]
 *   contour[b]  = (with `contour`) Σ_t speech / steps, max_t level, Σ_t speech[t+1]·(1 − speech[t]):
 *                 the share of speech frames, the loudest frame's level, the number of speech onsets
 *   statistics  = mean ‖ sd ‖ change ‖ contour         (batch, 3·(mels + K) + 3·contour)
 *   attention   = each of the 7 chunks' share of the speech frames (same threshold)
 *
 * The cepstra and the contour were chosen on validation actors only (a probe with a linear model,
 * docs/ravdess-experiments.md §7): per speaker standardised, the bands' three statistics gave
 * 61.7 % validation UAR, with 40 cepstra and the contour 66.4 %. The cepstra's spread and change are
 * not linear in the bands' statistics; the contour carries speaking rate and loudness.
 *
 * The threshold is in the units of the normalised input: the per-band standard deviation of the
 * training features is about 15 dB, so the default 2 keeps frames within about 30 dB of the
 * clip's loudest, as the probe did on dB.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerArgs } from '@tensorflow/tfjs-layers/dist/engine/topology';

/** Constructor arguments of {@link SpeechStatistics}. */
export interface SpeechStatisticsArgs extends LayerArgs {
  /** The chunks whose frames the statistics are taken over. Default [0, 2, 4, 6]. */
  chunks?: number[];
  /** Speech frames: those whose mean over the bands is within this of the clip's loudest. Default 2. */
  threshold?: number;
  /** How many cepstra (DCT-II coefficients over the bands) get the three statistics too. Default 0. */
  cepstra?: number;
  /** Whether the three contour statistics (speech share, loudest level, onsets) follow. Default false. */
  contour?: boolean;
}

/** The chunks of the reference features (stride half a chunk) that tile the window once. */
export const STATISTICS_CHUNKS: readonly number[] = [0, 2, 4, 6];
/** Default speech threshold in normalised units (about 30 dB, see the file comment). */
export const STATISTICS_THRESHOLD = 2;
/** Statistics per mel band: mean, standard deviation, mean change between consecutive speech frames. */
export const STATISTICS_PER_BAND = 3;
/** Cepstra of the statistics network that {@link createModel} builds (see the file comment). */
export const STATISTICS_CEPSTRA = 40;
/** The contour's statistics: the share of speech frames, the loudest frame's level, the speech onsets. */
export const CONTOUR_STATISTICS = 3;

/** The orthonormal DCT-II over `mels` bands, its first `count` rows, row-major (count × mels). */
export function dctMatrix(count: number, mels: number): Float32Array {
  const d = new Float32Array(count * mels);
  for (let k = 0; k < count; k++) {
    const scale = Math.sqrt((k === 0 ? 1 : 2) / mels);
    for (let m = 0; m < mels; m++) d[k * mels + m] = scale * Math.cos((Math.PI * k * (m + 0.5)) / mels);
  }
  return d;
}

/**
 * Statistics pooling over speech frames as a serialisable tfjs-layers layer without weights: two
 * outputs, `[statistics (batch, width(mels)), attention (batch, chunks)]` (see the file comment).
 * Registered as `'SpeechStatistics'`.
 */
export class SpeechStatistics extends tfl.layers.Layer {
  static className = 'SpeechStatistics';

  /** Chunks the statistics are taken over. */
  readonly chunks: number[];
  /** Speech threshold below the loudest frame, in input units. */
  readonly threshold: number;
  /** Cepstra whose statistics follow the bands' (0: none). */
  readonly cepstra: number;
  /** Whether the contour's statistics come last. */
  readonly contour: boolean;
  /** Always true: the attention output is what an "explain" view shows (see createExplainModel). */
  readonly returnAttention = true;

  constructor(args: SpeechStatisticsArgs = {}) {
    super(args);
    this.chunks = [...(args.chunks ?? STATISTICS_CHUNKS)];
    this.threshold = args.threshold ?? STATISTICS_THRESHOLD;
    // Absent from the configuration of models saved before they existed: those had neither.
    this.cepstra = args.cepstra ?? 0;
    this.contour = args.contour ?? false;
    if (!(Number.isInteger(this.cepstra) && this.cepstra >= 0)) throw new RangeError(`SpeechStatistics: cepstra must be an integer >= 0, got ${args.cepstra}`);
    if (typeof this.contour !== 'boolean') throw new TypeError(`SpeechStatistics: contour must be a boolean, got ${String(args.contour)}`);
    if (this.chunks.length === 0 || !this.chunks.every((c) => Number.isInteger(c) && c >= 0)) {
      throw new TypeError(`SpeechStatistics: chunks must be chunk indices, got ${JSON.stringify(args.chunks)}`);
    }
    if (!(Number.isFinite(this.threshold) && this.threshold > 0)) throw new RangeError(`SpeechStatistics: threshold must be a positive number, got ${args.threshold}`);
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape[] {
    const shape = (Array.isArray(inputShape[0]) ? (inputShape as tfl.Shape[])[0] : inputShape) as tfl.Shape;
    if (shape.length !== 5 || shape[4] !== 1 || shape[1] == null || shape[2] == null) {
      throw new TypeError(`SpeechStatistics expects (batch, chunks, mels, frames, 1), got ${JSON.stringify(shape)}`);
    }
    if (this.chunks.some((c) => c >= (shape[1] as number))) throw new TypeError(`SpeechStatistics: chunk ${Math.max(...this.chunks)} is outside the input's ${shape[1]} chunks`);
    if (this.cepstra > (shape[2] as number)) throw new TypeError(`SpeechStatistics: ${this.cepstra} cepstra from ${shape[2]} bands`);
    return [
      [shape[0], this.width(shape[2] as number)],
      [shape[0], shape[1]],
    ];
  }

  /** How many statistics a clip of `mels` bands gets. */
  width(mels: number): number {
    return STATISTICS_PER_BAND * (mels + this.cepstra) + (this.contour ? CONTOUR_STATISTICS : 0);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor[] {
    // Every sum over bands or frames is a (batched) matrix product, and every part of a tensor is
    // taken with split: tfjs reduces a non-last axis by transposing first, and its slice of a
    // strided block is 50 times slower than split here; with them the layer was slower than the
    // whole reference network.
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor5D;
      const [batch, chunks, mels, frames] = x.shape;
      const all = tf.reshape(x, [batch, chunks, mels, frames]);
      const steps = this.chunks.length * frames;
      // (batch, mels, steps): the chosen chunks one after another in time.
      const perChunk = tf.split(all, chunks, 1);
      const s = tf.concat(
        this.chunks.map((c) => tf.reshape(perChunk[c] as tf.Tensor, [batch, mels, frames])),
        2,
      ) as tf.Tensor3D;
      // t + 1 and t for t < steps - 1.
      const later = (t: tf.Tensor3D) => tf.split(t, [1, steps - 1], 2)[1] as tf.Tensor3D;
      const earlier = (t: tf.Tensor3D) => tf.split(t, [steps - 1, 1], 2)[0] as tf.Tensor3D;
      const bandMean = (t: tf.Tensor3D) => tf.matMul(tf.fill([t.shape[0], 1, mels], 1 / mels), t); // (n, 1, frames)
      // Every chunk's frame levels once: the picked chunks' make the speech mask, all of them the attention.
      const chunkLevel = tf.reshape(bandMean(tf.reshape(all, [batch * chunks, mels, frames]) as tf.Tensor3D), [batch, chunks, frames]);
      const levelPerChunk = tf.split(chunkLevel, chunks, 1);
      const level = tf.concat(this.chunks.map((c) => levelPerChunk[c] as tf.Tensor), 2) as tf.Tensor3D; // (batch, 1, steps)
      const loudest = tf.max(level, 2, true); // (batch, 1, 1)
      const floor = tf.sub(loudest, this.threshold);
      const speech = tf.cast(tf.greater(level, floor), 'float32') as tf.Tensor3D; // (batch, 1, steps)
      const count = tf.sum(speech, 2, true);
      // (batch, rows, steps): the bands, then their cepstra.
      const rows =
        this.cepstra === 0
          ? s
          : (tf.concat([s, tf.matMul(tf.tile(tf.tensor3d(dctMatrix(this.cepstra, mels), [1, this.cepstra, mels]), [batch, 1, 1]), s)], 1) as tf.Tensor3D);
      const width = mels + this.cepstra;
      const overSpeech = (t: tf.Tensor3D, weights: tf.Tensor3D) => tf.matMul(t, weights, false, true); // (batch, rows, 1)
      const mean = tf.div(overSpeech(rows, speech), count);
      const centred = tf.sub(rows, mean) as tf.Tensor3D;
      const sd = tf.sqrt(tf.div(overSpeech(tf.mul(centred, centred) as tf.Tensor3D, speech), count));
      const pair = tf.mul(later(speech), earlier(speech)) as tf.Tensor3D;
      const step = tf.abs(tf.sub(later(rows), earlier(rows))) as tf.Tensor3D;
      const change = tf.div(overSpeech(step, pair), tf.maximum(tf.sum(pair, 2, true), 1));
      const perRow = tf.reshape(tf.concat([mean, sd, change], 1), [batch, STATISTICS_PER_BAND * width]);
      const onsets = () => tf.sum(tf.mul(later(speech), tf.sub(1, earlier(speech))), 2, true);
      const statistics = this.contour
        ? tf.concat([perRow, tf.reshape(tf.concat([tf.div(count, steps), loudest, onsets()], 1), [batch, CONTOUR_STATISTICS])], 1)
        : perRow;
      // Attention: every chunk's speech frames against the same floor, as shares of their sum.
      const counts = tf.sum(tf.cast(tf.greater(chunkLevel, floor), 'float32'), 2);
      const attention = tf.div(counts, tf.sum(counts, 1, true));
      return [statistics, attention];
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), chunks: [...this.chunks], threshold: this.threshold, cepstra: this.cepstra, contour: this.contour };
  }
}

tf.serialization.registerClass(SpeechStatistics);

/** The statistics network's layer that standardises the statistics (a batch normalisation). */
export const STATISTICS_STANDARDISATION_LAYER = 'statistics_bn';

/**
 * The per-clip statistics of a statistics network (`createModel({ network: 'statistics' })`): a
 * model that shares its layers and stops at {@link SpeechStatistics}' first output, (batch, statistics).
 *
 * @throws TypeError when `model` has no SpeechStatistics layer.
 */
export function statisticsModel(model: tfl.LayersModel): tfl.LayersModel {
  const layer = model.layers.find((l) => l instanceof SpeechStatistics);
  if (layer === undefined) throw new TypeError('statisticsModel: the model is not a statistics network (it has no SpeechStatistics layer)');
  const [statistics] = layer.output as tfl.SymbolicTensor[];
  return tfl.model({ inputs: model.inputs, outputs: statistics as tfl.SymbolicTensor });
}

/**
 * Sets the mean and variance a statistics network standardises its statistics with at inference
 * (its batch normalisation's moving averages), e.g. a speaker's own: what an adapter does with the
 * exported graph's `statistics` output (`probabilitiesFromStatistics`).
 *
 * @throws TypeError when `model` is not a statistics network or the lengths differ from its statistics'.
 */
export function setStatisticsStandardisation(model: tfl.LayersModel, mean: ArrayLike<number>, variance: ArrayLike<number>): void {
  const layer = model.layers.find((l) => l.name === STATISTICS_STANDARDISATION_LAYER);
  if (layer === undefined) throw new TypeError(`setStatisticsStandardisation: the model has no '${STATISTICS_STANDARDISATION_LAYER}' layer`);
  const [gamma, beta, movingMean] = layer.getWeights();
  const width = movingMean?.shape[0];
  if (mean.length !== width || variance.length !== width) throw new TypeError(`setStatisticsStandardisation: expected ${width} means and variances, got ${mean.length} and ${variance.length}`);
  const values = [tf.tensor1d(Array.from(mean)), tf.tensor1d(Array.from(variance))];
  layer.setWeights([gamma as tf.Tensor, beta as tf.Tensor, ...values]);
  tf.dispose(values);
}
