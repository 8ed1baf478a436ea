/**
 * The reference network in tfjs-layers: per-chunk CNN → Dense → BiLSTM → attention → softmax.
 *
 * Input (batch, 7, 128, 128, 1), channels-last: 7 chunks of 128 mel bands × 128 frames.
 *
 * Where the activations go (docs/architecture.md fixes the shapes, these choices are ours):
 * - Conv2D is linear with a bias, then BatchNormalization with the ReLU fused into it (one layer,
 *   {@link EmoBatchNormalization}; models saved before 0.2 have a separate ReLU layer and still
 *   load), then MaxPool, then Dropout 0.3. Convolution, batch norm and dropout are the ./layers
 *   subclasses of tfjs' layers that train on fused native kernels. The conv bias is redundant before a batch norm (the batch mean
 *   cancels it, so its gradient is zero in training) but the reference has it and the parameter
 *   count below depends on it.
 * - BatchNormalization uses PyTorch's defaults (momentum 0.1, i.e. tfjs momentum 0.9, epsilon
 *   1e-5) so statistics evolve like the reference's and the ONNX export carries the same epsilon.
 * - The per-chunk Dense 1024 → 256 has a ReLU: a non-linear projection before the LSTM.
 * - The BiLSTM uses tanh and logistic-sigmoid gates (set explicitly: tfjs defaults to hard
 *   sigmoid), and concatenates the two directions.
 * - Dropout 0.4 on the BiLSTM output, then attention (linear score, no tanh), then
 *   Dense 256 → 8 with softmax (so the loss is categorical cross-entropy on probabilities).
 *
 * Parameters (trainable; BN moving statistics counted separately):
 *
 *   block 1  Conv2D 3·3·1·16 + 16            =     160   BN γ,β 2·16 =  32  (moving μ,σ² 32)
 *   block 2  Conv2D 3·3·16·32 + 32           =   4 640   BN γ,β 2·32 =  64  (moving 64)
 *   block 3  Conv2D 3·3·32·64 + 64           =  18 496   BN γ,β 2·64 = 128  (moving 128)
 *   chunk    Dense 1024·256 + 256            = 262 400
 *   BiLSTM   2 · 4·(256·128 + 128·128 + 128) = 394 240   (Keras LSTM: one bias per gate)
 *   attention Dense 256·1 + 1                =     257
 *   output   Dense 256·8 + 8                 =   2 056
 *   -------------------------------------------------
 *   trainable                                = 682 473   (160+32+4640+64+18496+128+262400+394240+257+2056)
 *   + BN moving statistics 32+64+128         =     224
 *   countParams()                            = 682 697
 *
 * PyTorch's LSTM has two bias vectors per gate (b_ih and b_hh): +2·4·128 = 1 024 → 683 497
 * parameters there, with the BN running statistics as buffers rather than parameters.
 *
 * Spatial sizes per chunk: 128×128 → pool 2 → 64×64 → pool 4 → 16×16 → pool 4 → 4×4; 4·4·64 = 1024.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types';
import type { TimeDistributed } from '@tensorflow/tfjs-layers/dist/layers/wrappers';
import { TemporalAttention } from './attention';
import { SpeechStatistics, STATISTICS_CEPSTRA, STATISTICS_STANDARDISATION_LAYER } from './statistics';
import { directoryIO } from './io';
import { EmoBatchNormalization, EmoConv2D, EmoDropout } from './layers';
import { EmoAdamOptimizer, EmoSgdOptimizer } from './optimizer';

// Labels in RAVDESS order (one list for the whole package): output i is the probability of EMOTIONS[i].
import { EMOTIONS } from '../data/ravdess';

export { EMOTIONS, type Emotion } from '../data/ravdess';

/** Number of mel chunks per clip (the time steps of the BiLSTM). */
export const CHUNKS = 7;
/** Mel bands per chunk (rows of each chunk image). */
export const MEL_BANDS = 128;
/** Frames per chunk (columns of each chunk image). */
export const CHUNK_FRAMES = 128;
/** The model's input shape without the batch dimension: (chunks, mel bands, frames, channels). */
export const INPUT_SHAPE: readonly [number, number, number, number] = [CHUNKS, MEL_BANDS, CHUNK_FRAMES, 1];

/** Trainable parameters of the network (see the breakdown at the top of this file). */
export const TRAINABLE_PARAMS = 682_473;
/** `model.countParams()`: trainable parameters plus the 224 batch-norm moving statistics. */
export const TOTAL_PARAMS = 682_697;

/**
 * The networks {@link createModel} builds: `'reference'`, the CNN-BiLSTM-attention network (the
 * default), or `'statistics'`, per-band statistics of the speech frames and one softmax layer
 * ({@link SpeechStatistics}; 4 064 trainable parameters). Both take and give the same tensors.
 */
export const NETWORKS = ['reference', 'statistics'] as const;
export type Network = (typeof NETWORKS)[number];

/** Options of {@link createModel}. */
export interface ModelOptions {
  /**
   * Seed for every kernel initialiser, so two models built with the same seed start from
   * identical weights. Each initialiser gets its own seed derived from this one. Omitted:
   * random initial weights. (Dropout is never seeded: a seeded tfjs dropout draws the same mask
   * on every call, which would defeat it.)
   */
  seed?: number;
  /** When given, the model is compiled with {@link compileModel} at this learning rate. */
  learningRate?: number;
  /** Passed on to {@link compileModel} with `learningRate`. */
  optimizer?: CompileOptions['optimizer'];
  momentum?: number;
  weightDecay?: number;
  /** The model's name (default `'emo_cnn_bilstm_attention'`, or `'emo_speech_statistics'`). */
  name?: string;
  /** Which network ({@link NETWORKS}). Default `'reference'`. */
  network?: Network;
}

/** Options of {@link compileModel}. */
export interface CompileOptions {
  /** Learning rate (default 1e-3, as in the reference, for Adam; 0.01 for SGD). */
  learningRate?: number;
  /** `'adam'` ({@link EmoAdamOptimizer}, the default) or `'sgd'` with momentum ({@link EmoSgdOptimizer}). */
  optimizer?: 'adam' | 'sgd';
  /** SGD's momentum (default 0.8, the reference lineage's); ignored by Adam. */
  momentum?: number;
  /** PyTorch's `weight_decay` (L2 added to the gradients) for either optimizer. Default 0. */
  weightDecay?: number;
}

// The built-in TimeDistributed class, taken from tfjs's serialisation registry because
// tfjs-layers exports only its factory function; subclassing it keeps its build, config,
// weights and fromConfig, so only `call` differs.
const registeredTimeDistributed = tf.serialization.SerializationMap.getMap().classNameMap['TimeDistributed'];
if (registeredTimeDistributed == null) {
  throw new Error('tfjs-layers did not register TimeDistributed: @tensorflow/tfjs-core and @tensorflow/tfjs-layers must share one tfjs-core installation');
}
const TimeDistributedBase = registeredTimeDistributed[0] as unknown as typeof TimeDistributed;

/**
 * TimeDistributed with the time axis folded into the batch: (batch, T, ...) is reshaped to
 * (batch·T, ...), the wrapped layer runs once, and the result is reshaped back.
 *
 * tfjs-layers' own TimeDistributed loops over the T steps (it runs the layer T times on
 * (batch, ...) slices, then stacks), unlike Keras 2 and the PyTorch reference, which fold. That
 * matters for two reasons: BatchNormalization inside it would compute its statistics per chunk
 * over `batch` samples instead of over all batch·7 chunk images, and update its moving averages 7
 * times per step; and 7 small kernel launches per layer (plus unstack/stack and their gradients)
 * cost more than one large one on any backend. Configuration and weights are exactly those of
 * TimeDistributed, so a converter can treat the class as TimeDistributed.
 */
export class FoldedTimeDistributed extends TimeDistributedBase {
  /** Serialised class name (model.json `class_name`). */
  static override className = 'FoldedTimeDistributed';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const [batch, steps, ...inner] = x.shape;
      const out = this.layer.call(tf.reshape(x, [batch * steps, ...inner]), kwargs);
      const y = Array.isArray(out) ? out[0] : out;
      return tf.reshape(y, [batch, steps, ...y.shape.slice(1)]);
    });
  }
}

tf.serialization.registerClass(FoldedTimeDistributed);

/** Filters and pool size of the three convolution blocks. */
const BLOCKS = [
  { filters: 16, pool: 2 },
  { filters: 32, pool: 4 },
  { filters: 64, pool: 4 },
] as const;

const CONV_DROPOUT = 0.3;
const LSTM_DROPOUT = 0.4;
const CHUNK_FEATURES = 256;
const LSTM_UNITS = 128;
// PyTorch BatchNorm2d defaults (see the header comment).
const BN_MOMENTUM = 0.9;
const BN_EPSILON = 1e-5;

/**
 * Builds the reference network, or the one `options.network` names (uncompiled unless
 * `options.learningRate` is given).
 *
 * Layer names are stable (`block1_conv`, `block1_bn`, …, `chunk_dense`, `bilstm`, `attention`,
 * `output`) so checkpoints, the ONNX exporter and tests can address layers by name.
 *
 * Initialisers: Glorot uniform kernels (the LSTM's recurrent kernel included), zero biases, the
 * LSTM forget-gate bias at 1 (Keras' unitForgetBias). Keras would use an orthogonal recurrent
 * kernel, but tfjs-layers' Orthogonal calls chained tensor methods (`t.flatten()`) that only the
 * `@tensorflow/tfjs` umbrella package registers, so it throws with tfjs-core + tfjs-layers alone;
 * for 7 time steps Glorot uniform (±0.097) is close to PyTorch's U(±1/√128 = ±0.088) anyway.
 */
export function createModel(options: ModelOptions = {}): tfl.LayersModel {
  const { seed, learningRate, optimizer, momentum, weightDecay, network = 'reference' } = options;
  if (seed !== undefined && !Number.isFinite(seed)) throw new TypeError(`Expected a finite number for seed but received ${seed}`);
  if (!(NETWORKS as readonly string[]).includes(network)) throw new TypeError(`Expected ${NETWORKS.map((n) => `'${n}'`).join(' or ')} for network but received ${String(network)}`);
  if (network === 'statistics') return createStatisticsModel(options);
  const name = options.name ?? 'emo_cnn_bilstm_attention';
  // A distinct seed per initialiser: the same seed everywhere would make e.g. every conv
  // kernel of one shape identical.
  let seedIndex = 0;
  const glorot = () => tfl.initializers.glorotUniform({ seed: seed === undefined ? undefined : seed + 1009 * ++seedIndex });

  const input = tfl.input({ shape: [...INPUT_SHAPE], name: 'mel_chunks' });
  let x = input;
  const perChunk = (layer: tfl.layers.Layer) => {
    x = new FoldedTimeDistributed({ layer, name: layer.name.replace(/_chunk$/, '') }).apply(x) as tfl.SymbolicTensor;
  };
  BLOCKS.forEach(({ filters, pool }, i) => {
    const n = `block${i + 1}`;
    perChunk(new EmoConv2D({ name: `${n}_conv_chunk`, filters, kernelSize: 3, padding: 'same', useBias: true, kernelInitializer: glorot() }));
    // The ReLU runs inside the batch norm's kernels (one pass less each way, no extra tensor).
    perChunk(new EmoBatchNormalization({ name: `${n}_bn_chunk`, axis: -1, momentum: BN_MOMENTUM, epsilon: BN_EPSILON, activation: 'relu' }));
    perChunk(tfl.layers.maxPooling2d({ name: `${n}_pool_chunk`, poolSize: pool, strides: pool }));
    perChunk(new EmoDropout({ name: `${n}_dropout_chunk`, rate: CONV_DROPOUT }));
  });
  perChunk(tfl.layers.flatten({ name: 'flatten_chunk' }));
  perChunk(tfl.layers.dense({ name: 'chunk_dense_chunk', units: CHUNK_FEATURES, activation: 'relu', kernelInitializer: glorot() }));

  const lstm = tfl.layers.lstm({
    name: 'lstm',
    units: LSTM_UNITS,
    returnSequences: true,
    // tfjs defaults the gates to hard sigmoid (Keras 1); PyTorch, Keras 2 and ONNX's LSTM use
    // the logistic sigmoid, and the exported model must compute what this one computes.
    activation: 'tanh',
    recurrentActivation: 'sigmoid',
    kernelInitializer: glorot(),
    recurrentInitializer: glorot(),
    unitForgetBias: true,
  });
  const bilstm = tfl.layers.bidirectional({ name: 'bilstm', layer: lstm, mergeMode: 'concat' });
  x = bilstm.apply(x) as tfl.SymbolicTensor;
  x = new EmoDropout({ name: 'lstm_dropout', rate: LSTM_DROPOUT }).apply(x) as tfl.SymbolicTensor;
  // Two outputs: the context goes on to the classifier; the weights are only read by
  // createExplainModel, which shares this very layer.
  const attention = new TemporalAttention({ name: 'attention', returnAttention: true, seed: seed === undefined ? undefined : seed + 1009 * ++seedIndex });
  const [context] = attention.apply(x) as tfl.SymbolicTensor[];
  const probabilities = tfl.layers
    .dense({ name: 'output', units: EMOTIONS.length, activation: 'softmax', kernelInitializer: glorot() })
    .apply(context) as tfl.SymbolicTensor;

  const model = tfl.model({ inputs: input, outputs: probabilities, name });

  if (seed !== undefined) {
    // Bidirectional builds its backward LSTM from the forward one's config, seeds included, so
    // both directions would start identical; give the backward one its own seeded draw.
    const backward = (bilstm as unknown as { backwardLayer: tfl.layers.Layer }).backwardLayer;
    const redrawn = backward.getWeights().map((w, i) => {
      if (i === 2) return w.clone(); // the bias (unit forget bias), not random
      return tfl.initializers.glorotUniform({ seed: seed + 1009 * ++seedIndex }).apply(w.shape, 'float32');
    });
    backward.setWeights(redrawn);
    tf.dispose(redrawn);
  }

  if (learningRate !== undefined) compileModel(model, { learningRate, optimizer, momentum, weightDecay });
  return model;
}

/**
 * The statistics network (see ./statistics): {@link SpeechStatistics} → standardisation of each
 * statistic (a batch normalisation: batch statistics in training, the moving averages at
 * inference) → Dense 507 → 8 with softmax. Layer names: `statistics`, `statistics_bn`, `output`.
 * 4 064 trainable parameters. The statistics: each of the 128 bands' and 40 cepstra's mean, spread
 * and change over the speech frames, and the contour's three (504 + 3).
 *
 * The standardisation is not trained: its scale stays 1 and its offset 0. They would be redundant
 * before the dense layer, and a trained scale defeats weight decay, which then shrinks the scale
 * (or the kernel grows it back) instead of regularising the linear model on standardised
 * statistics that the probe of docs/ravdess-experiments.md §2b fitted. (tfjs' batch normalisation
 * reads its scale and offset even with `scale: false`, so they stay as constant weights.)
 */
function createStatisticsModel(options: ModelOptions): tfl.LayersModel {
  const { seed, learningRate, optimizer, momentum, weightDecay, name = 'emo_speech_statistics' } = options;
  const input = tfl.input({ shape: [...INPUT_SHAPE], name: 'mel_chunks' });
  const [statistics] = new SpeechStatistics({ name: 'statistics', cepstra: STATISTICS_CEPSTRA, contour: true }).apply(input) as tfl.SymbolicTensor[];
  const standardised = tfl.layers
    .batchNormalization({ name: STATISTICS_STANDARDISATION_LAYER, axis: -1, momentum: BN_MOMENTUM, epsilon: BN_EPSILON, trainable: false })
    .apply(statistics as tfl.SymbolicTensor) as tfl.SymbolicTensor;
  const probabilities = tfl.layers
    .dense({ name: 'output', units: EMOTIONS.length, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: seed === undefined ? undefined : seed + 1009 }) })
    .apply(standardised) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: probabilities, name });
  if (learningRate !== undefined) compileModel(model, { learningRate, optimizer, momentum, weightDecay });
  return model;
}

/** Which of {@link NETWORKS} `model` is (by its layers). */
export function networkOf(model: tfl.LayersModel): Network {
  return model.layers.some((l) => l instanceof SpeechStatistics) ? 'statistics' : 'reference';
}

/**
 * Compiles `model` for training as the reference does: Adam (default learning rate 1e-3),
 * categorical cross-entropy on the softmax output (labels one-hot, shape (batch, 8)), accuracy.
 * Returns the same model.
 */
export function compileModel(model: tfl.LayersModel, options: CompileOptions = {}): tfl.LayersModel {
  const { optimizer = 'adam', momentum = 0.8, weightDecay = 0 } = options;
  if (optimizer !== 'adam' && optimizer !== 'sgd') throw new TypeError(`Expected 'adam' or 'sgd' for optimizer but received ${String(optimizer)}`);
  const learningRate = options.learningRate ?? (optimizer === 'sgd' ? 0.01 : 1e-3);
  if (!(Number.isFinite(learningRate) && learningRate > 0)) {
    throw new RangeError(`Expected a positive number for learningRate but received ${learningRate}`);
  }
  const chosen = optimizer === 'sgd' ? new EmoSgdOptimizer(learningRate, momentum, weightDecay) : new EmoAdamOptimizer(learningRate, 0.9, 0.999, null, weightDecay);
  model.compile({ optimizer: chosen, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return model;
}

/**
 * A second view of a network built by {@link createModel} (or loaded with {@link loadModel})
 * with two outputs: the class probabilities (batch, 8) and the attention weights over the
 * 7 chunks (batch, 7), which sum to 1 per clip. It shares the layers, hence the weights, with
 * `model`: training one trains the other.
 */
export function createExplainModel(model: tfl.LayersModel): tfl.LayersModel {
  // The statistics network's attention is each chunk's share of the speech frames.
  const attention = model.layers.find((l) => l instanceof TemporalAttention || l instanceof SpeechStatistics) as TemporalAttention | SpeechStatistics | undefined;
  if (!attention) throw new TypeError('createExplainModel: the model has no TemporalAttention or SpeechStatistics layer');
  const outputs = attention.getOutputAt(0);
  if (!attention.returnAttention || !Array.isArray(outputs) || outputs.length !== 2) {
    throw new TypeError('createExplainModel: the attention layer was built without returnAttention, so its weights are not an output');
  }
  return tfl.model({ inputs: model.inputs, outputs: [model.outputs[0], outputs[1]], name: `${model.name}_explain` });
}

/** Options of {@link saveModel}. */
export interface SaveOptions {
  /**
   * Also save the training configuration (loss, metrics, optimizer settings) and the optimizer's
   * state (Adam's moment estimates and step count), so {@link loadModel} returns a compiled model
   * that resumes training where it stopped. Default false: weights only, for inference and export.
   */
  includeOptimizer?: boolean;
}

/**
 * Saves `model` in TensorFlow.js's layers format to the directory `dir` (a path or a `file://`
 * URL): `model.json` (topology and weight manifest) and `weights.bin`. The directory is created
 * if needed; each file is replaced atomically.
 */
export async function saveModel(model: tfl.LayersModel, dir: string, options: SaveOptions = {}): Promise<tf.io.SaveResult> {
  return model.save(directoryIO(dir), { includeOptimizer: options.includeOptimizer === true });
}

/**
 * Loads a model saved by {@link saveModel} (or by tfjs-node's `file://` handler) from the
 * directory `dir`, custom layers ({@link TemporalAttention}, {@link FoldedTimeDistributed})
 * included. A model saved with `includeOptimizer` comes back compiled, with its optimizer state.
 */
export async function loadModel(dir: string): Promise<tfl.LayersModel> {
  return tfl.loadLayersModel(directoryIO(dir));
}
