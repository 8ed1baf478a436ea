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
 *   mean[b, m]  = Σ_t speech·s / Σ_t speech
 *   sd[b, m]    = √(Σ_t speech·(s − mean)² / Σ_t speech)
 *   change[b,m] = Σ_t pair·|s[t+1] − s[t]| / max(Σ_t pair, 1),  pair[t] = speech[t]·speech[t+1]
 *   statistics  = mean ‖ sd ‖ change                  (batch, 3·mels)
 *   attention   = each of the 7 chunks' share of the speech frames (same threshold)
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
}

/** The chunks of the reference features (stride half a chunk) that tile the window once. */
export const STATISTICS_CHUNKS: readonly number[] = [0, 2, 4, 6];
/** Default speech threshold in normalised units (about 30 dB, see the file comment). */
export const STATISTICS_THRESHOLD = 2;
/** Statistics per mel band: mean, standard deviation, mean change between consecutive speech frames. */
export const STATISTICS_PER_BAND = 3;

/**
 * Statistics pooling over speech frames as a serialisable tfjs-layers layer without weights: two
 * outputs, `[statistics (batch, 3·mels), attention (batch, chunks)]` (see the file comment).
 * Registered as `'SpeechStatistics'`.
 */
export class SpeechStatistics extends tfl.layers.Layer {
  static className = 'SpeechStatistics';

  /** Chunks the statistics are taken over. */
  readonly chunks: number[];
  /** Speech threshold below the loudest frame, in input units. */
  readonly threshold: number;
  /** Always true: the attention output is what an "explain" view shows (see createExplainModel). */
  readonly returnAttention = true;

  constructor(args: SpeechStatisticsArgs = {}) {
    super(args);
    this.chunks = [...(args.chunks ?? STATISTICS_CHUNKS)];
    this.threshold = args.threshold ?? STATISTICS_THRESHOLD;
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
    return [
      [shape[0], STATISTICS_PER_BAND * (shape[2] as number)],
      [shape[0], shape[1]],
    ];
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
      const floor = tf.sub(tf.max(level, 2, true), this.threshold); // (batch, 1, 1)
      const speech = tf.cast(tf.greater(level, floor), 'float32') as tf.Tensor3D; // (batch, 1, steps)
      const count = tf.sum(speech, 2, true);
      const overSpeech = (t: tf.Tensor3D, weights: tf.Tensor3D) => tf.matMul(t, weights, false, true); // (batch, mels, 1)
      const mean = tf.div(overSpeech(s, speech), count);
      const centred = tf.sub(s, mean) as tf.Tensor3D;
      const sd = tf.sqrt(tf.div(overSpeech(tf.mul(centred, centred) as tf.Tensor3D, speech), count));
      const pair = tf.mul(later(speech), earlier(speech)) as tf.Tensor3D;
      const step = tf.abs(tf.sub(later(s), earlier(s))) as tf.Tensor3D;
      const change = tf.div(overSpeech(step, pair), tf.maximum(tf.sum(pair, 2, true), 1));
      const statistics = tf.reshape(tf.concat([mean, sd, change], 1), [batch, STATISTICS_PER_BAND * mels]);
      // Attention: every chunk's speech frames against the same floor, as shares of their sum.
      const counts = tf.sum(tf.cast(tf.greater(chunkLevel, floor), 'float32'), 2);
      const attention = tf.div(counts, tf.sum(counts, 1, true));
      return [statistics, attention];
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), chunks: [...this.chunks], threshold: this.threshold };
  }
}

tf.serialization.registerClass(SpeechStatistics);

/** The statistics network's layer that standardises the statistics (a batch normalisation). */
export const STATISTICS_STANDARDISATION_LAYER = 'statistics_bn';

/**
 * The per-clip statistics of a statistics network (`createModel({ network: 'statistics' })`): a
 * model that shares its layers and stops at {@link SpeechStatistics}' first output, (batch, 3·mels).
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
 * (its batch normalisation's moving averages), e.g. a speaker's own: what the exported graph's
 * overridable `statistics_mean` and `statistics_variance` inputs do.
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
