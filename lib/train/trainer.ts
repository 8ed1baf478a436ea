import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { CENTRINGS, centreUtterance, normaliseChunks, type BandNormalisation, type Centring } from '../features/normalise';
import { BandAccumulator, MIN_BAND_STD_DB, MIN_STATISTIC_VARIANCE, speechFrames, TRAINING_ADAPTATIONS, type TrainingAdaptation } from '../features/adaptation';
import { EMOTIONS, ensureFeatureCache, VARIANTS, type FeatureCache, type SplitName, type SplitOptions, type Variant } from '../data';
import { EmoError } from '../errors';
import { configureNativeMemory, createModel, EMO_NATIVE_BACKEND, loadModel, NETWORKS, saveModel, setStatisticsStandardisation, statisticsModel, useBestBackend, type Network } from '../nn';
import { isDropoutLayer } from '../nn/layers';
import { checkInteger, checkKnownKeys, checkNumber, checkPlainObject, invalidRange } from '../validate';
import { mixBatch } from './mixup';
import { maskChunks, resolveMaskOptions, type MaskOptions } from './masking';
import { classificationMetrics, type ClassificationMetrics } from './metrics';
import { resolveWarpOptions, warpMelChunks, type WarpOptions } from './warp';
import { Mulberry32 } from '../random';
import { recoverSwappedDir, swapDirAtomic, writeJsonAtomicSync } from '../atomic';

/** Options of {@link trainModel}. */
export interface TrainOptions {
  /** Output folder for models, metrics and pictures. */
  out: string;
  /** Maximum epochs. Default 30. */
  epochs?: number;
  /** Batch size. Default 32. */
  batch?: number;
  /** Learning rate. Default 1e-3 for Adam, 0.01 for SGD. */
  learningRate?: number;
  /** `'adam'` (default) or `'sgd'` with momentum, as in the reference recipe. */
  optimizer?: 'adam' | 'sgd';
  /** SGD's momentum. Default 0.8 (the reference lineage's). */
  momentum?: number;
  /** PyTorch's `weight_decay`: L2 added to every weight's gradient (the reference lineage's is 1e-3). Default 0. */
  weightDecay?: number;
  /** Seed of initial weights, augmentation, shuffling and dropout. Default 1. */
  seed?: number;
  /** Actor split (default: test 21–24, validation 19–20, training 1–18). */
  split?: SplitOptions;
  /** Epochs without a better validation macro-F1 before stopping. Default 6. */
  patience?: number;
  /**
   * Epochs without a better validation macro-F1 before the learning rate is halved (reduce on
   * plateau; never below 1/64 of the initial rate). Default 2.
   */
  lrPatience?: number;
  /**
   * How the learning rate moves: `'plateau'` (default) halves it after `lrPatience` epochs without a
   * better validation macro-F1; `'cosine'` lowers it after every batch along half a cosine, from
   * `learningRate` at the first step to 1/64 of it at the last step of `epochs`, whatever
   * validation says (120 validation clips are a noisy guide for when to slow down).
   */
  lrSchedule?: LrSchedule;
  /** SpecAugment-style masks on training batches ({@link MaskOptions}); `false` turns them off. */
  masking?: MaskOptions | false;
  /** Vocal tract length perturbation of training batches ({@link WarpOptions}); `false` turns it off. */
  warp?: WarpOptions | false;
  /** mixup of training batches: the alpha of its Beta(alpha, alpha) blend weights; 0 turns it off. Default 0.4. */
  mixup?: number;
  /**
   * Oversample the smaller classes so that every class has as many training records per epoch as
   * the largest ({@link balancedRecords}; on RAVDESS, neutral has half as many clips). Default false.
   */
  balanceClasses?: boolean;
  /**
   * Start from the weights of an earlier model instead of fresh ones (fine-tuning, e.g. after
   * pre-training on the synthetic corpus): a run folder (its `best/`) or a tfjs model folder of
   * the same network. The optimizer starts fresh. Default: none.
   */
  initFrom?: string;
  /**
   * Adds a fifth training variant of every clip: the clip through a recording chain drawn for it
   * (reverberation, telephone band, band limit, microphone colour, background noise, gain: the
   * synthetic corpus's chain). Needs sox. Default false.
   */
  recordingChain?: boolean;
  /**
   * The training variants to train on (and to take the normalisation statistics from), in any
   * order: a subset of `'original'`, `'noise'`, `'tempo'`, `'preemphasis'` and, with
   * `recordingChain`, `'chain'` ({@link VARIANTS}). Default: all of them. Why leave one out: with
   * `centre: 'utterance'` the preemphasis variant is a fixed filter, a per-band offset in dB that
   * the centring takes away again, so it is close to a second copy of the original (on RAVDESS,
   * 1.4 dB apart on average where the noise variant is 10 dB away) and costs a fifth of an epoch.
   */
  variants?: readonly Variant[];
  /**
   * How each clip is centred before the training split's per-band normalisation ({@link Centring}):
   * `'utterance'` subtracts the clip's own mean of each mel band, in training and inside the
   * exported graph alike. Default `'none'`.
   */
  centre?: Centring;
  /**
   * `'speaker'`: every clip is normalised per mel band with the statistics of its speaker's and
   * recording's speech frames, computed without labels (per actor and training variant: each
   * variant is another recording of the actor; validation and test actors from their own clips),
   * instead of the training split's — the input the adapters of `classify` give a model trained so
   * (see `createAdapter`). The exported model records it. Replaces `centre: 'utterance'`, which
   * would take away the clip's own level and colour that the speaker's statistics keep.
   * `'speaker-statistics'` (with `network: 'statistics'`): the clips keep the training split's
   * normalisation, and the network's per-clip statistics are standardised with their speaker's and
   * recording's mean and variance of them instead: every training batch is drawn from one actor
   * and variant (the batch normalisation's batch statistics are then that group's; a `batch` of at
   * least the group's size makes them exactly its), and validation and test actors are scored with
   * their own clips' statistics. The saved model holds the training groups' average, and the
   * exported graph takes a speaker's in their place (`createAdapter`). Default `'none'`.
   */
  adapt?: TrainingAdaptation;
  /**
   * The network to train ({@link NETWORKS}): `'reference'` (default), the CNN-BiLSTM-attention
   * network, or `'statistics'`, per-band statistics of the speech frames and one softmax layer
   * (4 064 weights; an epoch costs little more than reading the features).
   */
  network?: Network;
  /**
   * `false`: the test actors are not scored (no test metrics anywhere in the run), for choosing a
   * recipe on validation actors without seeing the test score; a later `resume` of the finished
   * run with the default scores them without training further. Default true.
   */
  scoreTest?: boolean;
  /** Feature cache file. Default `<out>/features.cache`. */
  cache?: string;
  /** Continue from `<out>/checkpoint` (the last complete epoch). */
  resume?: boolean;
  /** Called after every batch and at the end of every epoch. */
  onProgress?: (event: TrainProgress) => void;
}

/** Progress reports of {@link trainModel}. */
export type TrainProgress =
  | { kind: 'cache'; done: number; total: number }
  | { kind: 'batch'; epoch: number; batch: number; batches: number; samples: number; loss: number; samplesPerSecond: number }
  | { kind: 'epoch'; record: EpochRecord; best: boolean };

/** One epoch of the training curves. */
export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  valLoss: number;
  valAccuracy: number;
  valMacroF1: number;
  /** The optimizer's learning rate during this epoch (under the cosine schedule: at its first batch). */
  learningRate: number;
  seconds: number;
  samplesPerSecond: number;
}

/** What {@link trainModel} returns (also written to `<out>/metrics.json`). */
export interface TrainResult {
  bestEpoch: number;
  history: EpochRecord[];
  /** The best epoch's model on each split's original clips (no `test` when `scoreTest` was false). */
  metrics: { train: ClassificationMetrics; val: ClassificationMetrics; test?: ClassificationMetrics };
  failedFiles: number;
  backend: string;
  seconds: number;
}

/** Per-mel-band statistics of the training split (`normalization.json`): see {@link BandNormalisation}. */
export type Normalisation = BandNormalisation;

interface CheckpointState {
  epoch: number;
  history: EpochRecord[];
  bestEpoch: number;
  bestMacroF1: number;
  rngState: number;
  /** What the run was made with; a resumed run must match (epochs and patience may grow). */
  recipe?: Record<string, unknown>;
}

/**
 * Why a checkpoint cannot continue this run: the differences between the recipe it recorded and
 * this one, as `name: was → now`. Empty when they agree.
 */
function recipeDifferences(recorded: Record<string, unknown> | undefined, current: Record<string, unknown>): string[] {
  if (recorded === undefined) return ['the checkpoint records no options (it was made by an older version)'];
  const keys = new Set([...Object.keys(recorded), ...Object.keys(current)]);
  const differences: string[] = [];
  for (const key of keys) {
    const was = JSON.stringify(recorded[key]);
    const now = JSON.stringify(current[key]);
    if (was !== now) differences.push(`${key}: ${was ?? 'unset'} → ${now ?? 'unset'}`);
  }
  return differences;
}

/**
 * Record indices for one epoch with every class as large as the largest: each smaller class's
 * records in order, then repeated from its start until it has as many. Deterministic; the epoch's
 * shuffle comes after.
 */
export function balancedRecords(records: ReadonlyArray<{ index: number; label: number }>): number[] {
  const byClass = new Map<number, number[]>();
  for (const r of records) byClass.set(r.label, [...(byClass.get(r.label) ?? []), r.index]);
  const largest = Math.max(0, ...[...byClass.values()].map((list) => list.length));
  const order = records.map((r) => r.index);
  for (const list of byClass.values()) for (let k = list.length; k < largest; k++) order.push(list[k % list.length] as number);
  return order;
}

// Halving (and cosine decay) stops here, relative to the initial rate: by then Adam's steps are too small to matter.
const MIN_LR_FRACTION = 1 / 64;

/** The learning-rate schedules of {@link TrainOptions.lrSchedule}. */
export const LR_SCHEDULES = ['plateau', 'cosine'] as const;
export type LrSchedule = (typeof LR_SCHEDULES)[number];

/**
 * Cosine decay: the learning rate at `step` of `steps` (0-based), from `initial` at step 0 down to
 * 1/64 of it at the last step.
 */
export function cosineLearningRate(initial: number, step: number, steps: number): number {
  const progress = steps > 1 ? step / (steps - 1) : 0;
  return initial * (MIN_LR_FRACTION + (1 - MIN_LR_FRACTION) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}

/**
 * Reduce on plateau: the learning rate for the epoch after `history`. Starting from `initial`,
 * the rate halves whenever `patience` epochs in a row have neither beaten the best validation
 * macro-F1 so far nor followed the previous halving; it never goes below 1/64 of `initial`.
 * A function of the history alone, so a resumed run continues with the same rates.
 */
export function plateauLearningRate(history: readonly Pick<EpochRecord, 'valMacroF1'>[], initial: number, patience: number): number {
  let rate = initial;
  let best = -Infinity;
  let stale = 0;
  for (const { valMacroF1 } of history) {
    if (valMacroF1 > best) {
      best = valMacroF1;
      stale = 0;
    } else if (++stale >= patience && rate > initial * MIN_LR_FRACTION) {
      rate = Math.max(rate / 2, initial * MIN_LR_FRACTION);
      stale = 0;
    }
  }
  return rate;
}

/** The options of {@link TrainOptions} that make a training recipe (what a cross-validation fold shares). */
export const RECIPE_KEYS = ['epochs', 'batch', 'learningRate', 'optimizer', 'momentum', 'weightDecay', 'seed', 'patience', 'lrPatience', 'lrSchedule', 'masking', 'warp', 'mixup', 'balanceClasses', 'initFrom', 'centre', 'adapt', 'recordingChain', 'variants', 'network'] as const;

const TRAIN_KEYS = ['out', 'split', 'cache', 'resume', 'scoreTest', 'onProgress', ...RECIPE_KEYS];


/**
 * Per-mel-band mean and standard deviation (at least {@link MIN_BAND_STD_DB}) over the training
 * records (the variants trained on), each clip centred first when `centre` is `'utterance'`.
 */
function trainingStatistics(cache: FeatureCache, records: number[], centre: 'none' | 'utterance'): Normalisation {
  const [chunks, mels, frames] = cache.header.shape;
  const sum = new Float64Array(mels);
  const sumSq = new Float64Array(mels);
  const buffer = new Float32Array(chunks * mels * frames);
  for (const r of records) {
    cache.read(r, buffer);
    if (centre === 'utterance') centreUtterance(buffer, cache.header.shape);
    for (let c = 0; c < chunks; c++)
      for (let m = 0; m < mels; m++) {
        const base = (c * mels + m) * frames;
        let s = 0;
        let s2 = 0;
        for (let t = 0; t < frames; t++) {
          const v = buffer[base + t] as number;
          s += v;
          s2 += v * v;
        }
        sum[m] = (sum[m] as number) + s;
        sumSq[m] = (sumSq[m] as number) + s2;
      }
  }
  const n = records.length * chunks * frames;
  const mean = Array.from(sum, (s) => s / n);
  const std = Array.from(sumSq, (s2, m) => Math.max(Math.sqrt(Math.max(s2 / n - (mean[m] as number) ** 2, 0)), MIN_BAND_STD_DB));
  return centre === 'none' ? { mean, std } : { mean, std, centre };
}

/** The normalisation of each record: the same for all, or its speaker's ({@link speakerStatistics}). */
type RecordNormalisation = (record: number) => Normalisation;

/**
 * Speaker statistics for `adapt: 'speaker'`: per (actor, variant) group of `records`, the per-band
 * mean and deviation (floored at {@link MIN_BAND_STD_DB}) of its clips' speech frames; and the
 * reference the exported graph normalises with, the training groups' frame-weighted average
 * (means averaged, variances averaged), so that an adapter maps a new speaker onto it.
 */
function speakerStatistics(cache: FeatureCache, records: ReadonlyArray<{ index: number; key: string; train: boolean }>): { normOf: RecordNormalisation; reference: Normalisation } {
  const shape = cache.header.shape;
  const stride = cache.header.pipeline.chunkStride as number;
  const amin = cache.header.pipeline.amin as number;
  const groups = new Map<string, BandAccumulator>();
  const buffer = new Float32Array(shape[0] * shape[1] * shape[2]);
  for (const r of records) {
    cache.read(r.index, buffer);
    let group = groups.get(r.key);
    if (group === undefined) groups.set(r.key, (group = new BandAccumulator(shape[1])));
    group.addClip(buffer, shape, stride, speechFrames(buffer, shape, stride, amin));
  }
  const byKey = new Map<string, Normalisation>();
  const mean = new Float64Array(shape[1]);
  const variance = new Float64Array(shape[1]);
  let frames = 0;
  const trainKeys = new Set(records.filter((r) => r.train).map((r) => r.key));
  for (const [key, group] of groups) {
    const bands = group.bands();
    if (bands.frames === 0) throw new EmoError(`speaker statistics: the clips of ${key} have no speech frame`, 'ERR_DATASET_EMPTY');
    byKey.set(key, { mean: bands.mean, std: bands.std.map((s) => Math.max(s, MIN_BAND_STD_DB)) });
    if (!trainKeys.has(key)) continue;
    frames += bands.frames;
    bands.mean.forEach((m, b) => (mean[b] = (mean[b] as number) + m * bands.frames));
    bands.std.forEach((s, b) => (variance[b] = (variance[b] as number) + Math.max(s, MIN_BAND_STD_DB) ** 2 * bands.frames));
  }
  const keyOf = new Map(records.map((r) => [r.index, r.key]));
  return {
    normOf: (record) => byKey.get(keyOf.get(record) as string) as Normalisation,
    reference: { mean: Array.from(mean, (m) => m / frames), std: Array.from(variance, (v) => Math.sqrt(v / frames)), adapt: 'speaker' },
  };
}

/** What a training batch gets on top of normalisation: a warp of the dB features, then masks of the normalised ones. */
interface BatchAugmentation {
  warp(clip: Float32Array, shape: [number, number, number]): void;
  mask(clip: Float32Array, shape: [number, number, number]): void;
}

/** Reads records into one normalised (n, 7, 128, 128) batch, augmented when `augmentation` is given (training). */
function readBatch(cache: FeatureCache, records: number[], normOf: RecordNormalisation, augmentation?: BatchAugmentation): Float32Array {
  const shape = cache.header.shape;
  const size = shape[0] * shape[1] * shape[2];
  const data = new Float32Array(records.length * size);
  records.forEach((r, i) => {
    const view = data.subarray(i * size, (i + 1) * size);
    cache.read(r, view);
    augmentation?.warp(view, shape);
    normaliseChunks(view, shape, normOf(r));
    augmentation?.mask(view, shape);
  });
  return data;
}

/** The model's (n, 7, 128, 128, 1) input tensor for n clips of features. */
function inputTensor(cache: FeatureCache, data: Float32Array): tf.Tensor {
  const [chunks, mels, frames] = cache.header.shape;
  return tf.tensor(data, [data.length / (chunks * mels * frames), chunks, mels, frames, 1]);
}

/**
 * With `adapt: 'speaker-statistics'`: the group (actor and variant) of every record used, each
 * group's mean and variance of the statistics network's per-clip statistics, and the reference
 * the saved model standardises with when no speaker is known, the training groups' average (clip-
 * weighted means of their means and of their variances).
 */
interface StatisticsGroups {
  keyOf: ReadonlyMap<number, string>;
  byKey: ReadonlyMap<string, { mean: Float64Array; variance: Float64Array }>;
  reference: { mean: number[]; variance: number[] };
}

/**
 * The per-group statistics of {@link StatisticsGroups}, from one pass of the statistics network's
 * first layer (it has no weights, so any model of the network gives the same) over `records`.
 */
function statisticsGroups(model: tfl.LayersModel, cache: FeatureCache, records: ReadonlyArray<{ index: number; key: string; train: boolean }>, normOf: RecordNormalisation, batch: number): StatisticsGroups {
  const extractor = statisticsModel(model);
  const sums = new Map<string, { n: number; sum: Float64Array; sumSq: Float64Array }>();
  for (let i = 0; i < records.length; i += batch) {
    const part = records.slice(i, i + batch);
    const output = tf.tidy(() => extractor.predict(inputTensor(cache, readBatch(cache, part.map((r) => r.index), normOf))) as tf.Tensor2D);
    const width = output.shape[1];
    const values = output.dataSync();
    output.dispose();
    part.forEach((r, j) => {
      let group = sums.get(r.key);
      if (group === undefined) sums.set(r.key, (group = { n: 0, sum: new Float64Array(width), sumSq: new Float64Array(width) }));
      group.n++;
      for (let k = 0; k < width; k++) {
        const v = values[j * width + k] as number;
        group.sum[k] = (group.sum[k] as number) + v;
        group.sumSq[k] = (group.sumSq[k] as number) + v * v;
      }
    });
  }
  const byKey = new Map<string, { mean: Float64Array; variance: Float64Array }>();
  const trainKeys = new Set(records.filter((r) => r.train).map((r) => r.key));
  let width = 0;
  for (const [key, { n, sum, sumSq }] of sums) {
    width = sum.length;
    const mean = sum.map((x) => x / n);
    byKey.set(key, { mean, variance: sumSq.map((x, k) => Math.max(x / n - (mean[k] as number) ** 2, MIN_STATISTIC_VARIANCE)) });
  }
  const referenceMean = new Float64Array(width);
  const referenceVariance = new Float64Array(width);
  let clips = 0;
  for (const key of trainKeys) {
    const n = (sums.get(key) as { n: number }).n;
    const { mean, variance } = byKey.get(key) as { mean: Float64Array; variance: Float64Array };
    clips += n;
    for (let k = 0; k < width; k++) {
      referenceMean[k] = (referenceMean[k] as number) + n * (mean[k] as number);
      referenceVariance[k] = (referenceVariance[k] as number) + n * (variance[k] as number);
    }
  }
  return {
    keyOf: new Map(records.map((r) => [r.index, r.key])),
    byKey,
    reference: { mean: Array.from(referenceMean, (x) => x / clips), variance: Array.from(referenceVariance, (x) => x / clips) },
  };
}

/**
 * Predicted classes and mean loss of records, in batches; with `groups`, each group's records
 * standardised with the group's own statistics (the model is left with the reference).
 */
function predict(model: tfl.LayersModel, cache: FeatureCache, records: number[], labels: number[], normOf: RecordNormalisation, batch: number, groups?: StatisticsGroups) {
  if (groups === undefined) return predictRecords(model, cache, records, labels, normOf, batch);
  const predicted = new Array<number>(records.length);
  let lossSum = 0;
  const positions = new Map<string, number[]>();
  records.forEach((r, i) => {
    const key = groups.keyOf.get(r) as string;
    positions.set(key, [...(positions.get(key) ?? []), i]);
  });
  try {
    for (const [key, at] of positions) {
      const { mean, variance } = groups.byKey.get(key) as { mean: Float64Array; variance: Float64Array };
      setStatisticsStandardisation(model, mean, variance);
      const part = predictRecords(model, cache, at.map((i) => records[i] as number), at.map((i) => labels[i] as number), normOf, batch);
      at.forEach((i, j) => (predicted[i] = part.predicted[j] as number));
      lossSum += part.loss * at.length;
    }
  } finally {
    setStatisticsStandardisation(model, groups.reference.mean, groups.reference.variance);
  }
  return { predicted, loss: records.length ? lossSum / records.length : NaN };
}

/** Predicted classes and mean loss of records, in batches. */
function predictRecords(model: tfl.LayersModel, cache: FeatureCache, records: number[], labels: number[], normOf: RecordNormalisation, batch: number) {
  const predicted: number[] = [];
  let lossSum = 0;
  for (let i = 0; i < records.length; i += batch) {
    const part = records.slice(i, i + batch);
    const probs = tf.tidy(() => model.predict(inputTensor(cache, readBatch(cache, part, normOf))) as tf.Tensor2D);
    const values = probs.dataSync();
    probs.dispose();
    part.forEach((_, j) => {
      let best = 0;
      for (let k = 1; k < EMOTIONS.length; k++) if ((values[j * EMOTIONS.length + k] as number) > (values[j * EMOTIONS.length + best] as number)) best = k;
      predicted.push(best);
      lossSum -= Math.log(Math.max(values[j * EMOTIONS.length + (labels[i + j] as number)] as number, 1e-7));
    });
  }
  return { predicted, loss: records.length ? lossSum / records.length : NaN };
}

/** A dropout layer's mutable seed (tfjs-layers reads it at every call; undefined draws from Math.random). */
interface SeededDropout {
  seed: number | undefined;
}

/** The model's dropout layers (wrapped ones included), in the order they run. */
function dropoutLayers(model: tfl.LayersModel): SeededDropout[] {
  const found: SeededDropout[] = [];
  for (const layer of model.layers) {
    const inner = (layer as unknown as { layer?: tfl.layers.Layer }).layer;
    for (const candidate of [layer, inner]) if (candidate !== undefined && isDropoutLayer(candidate)) found.push(candidate as unknown as SeededDropout);
  }
  return found;
}

/**
 * Sets the learning rate of a compiled model's optimizer: SGD keeps it as a tensor that its
 * `setLearningRate` replaces; Adam reads a plain field at every step. Told apart by that method,
 * not by `instanceof`: tfjs' optimizer classes answer `instanceof` by duck typing, and every
 * Adam optimizer passes for an `SGDOptimizer` (which once left Adam's rate unchanged for good).
 */
function setLearningRate(model: tfl.LayersModel, rate: number): void {
  const optimizer = model.optimizer as unknown as { learningRate: number; setLearningRate?: (rate: number) => void };
  if (typeof optimizer.setLearningRate === 'function') optimizer.setLearningRate(rate);
  else optimizer.learningRate = rate;
}


/**
 * One epoch's training batches: the records (every class as large as the largest with
 * `balanceClasses`) shuffled and cut into batches of `batch`. With `groupOf`, every batch holds
 * one group's records (the statistics network's batch normalisation then standardises with that
 * speaker's statistics): each group shuffled and cut on its own, then the batches shuffled.
 */
export function epochBatches(records: ReadonlyArray<{ index: number; label: number }>, batch: number, balanceClasses: boolean, rng: Mulberry32, groupOf?: ReadonlyMap<number, string>): number[][] {
  const shuffle = <T>(list: T[]): T[] => {
    for (let i = list.length - 1; i > 0; i--) {
      const j = Math.floor(rng.next() * (i + 1));
      [list[i], list[j]] = [list[j] as T, list[i] as T];
    }
    return list;
  };
  const cut = (order: number[]) => Array.from({ length: Math.ceil(order.length / batch) }, (_, b) => order.slice(b * batch, (b + 1) * batch));
  const ordered = (rs: ReadonlyArray<{ index: number; label: number }>) => shuffle(balanceClasses ? balancedRecords(rs) : rs.map((r) => r.index));
  if (groupOf === undefined) return cut(ordered(records));
  const byGroup = new Map<string, Array<{ index: number; label: number }>>();
  for (const r of records) {
    const key = groupOf.get(r.index) as string;
    byGroup.set(key, [...(byGroup.get(key) ?? []), r]);
  }
  return shuffle([...byGroup.values()].flatMap((rs) => cut(ordered(rs))));
}

/** The training variants of {@link TrainOptions.variants}, checked, in {@link VARIANTS} order. */
function resolveVariants(value: unknown, recordingChain: boolean): Variant[] {
  const available = VARIANTS.filter((v) => v !== 'chain' || recordingChain);
  if (value === undefined) return available;
  if (!Array.isArray(value) || value.length === 0) throw new TypeError(`Expected a non-empty array of training variants for options.variants but received ${String(value)}`);
  for (const v of value) {
    if (!available.includes(v as Variant)) {
      throw invalidRange('options.variants', `a list of ${available.map((a) => `'${a}'`).join(', ')}${recordingChain ? '' : " ('chain' needs recordingChain)"}`, v);
    }
  }
  return available.filter((v) => value.includes(v));
}

/**
 * Trains the reference network on a RAVDESS-style folder: builds or reuses the
 * feature cache (augmenting the training split only), normalises with
 * training-split statistics, trains with Adam, keeps the epoch with the best
 * validation macro-F1 (early stopping), and writes the models, `metrics.json`
 * and `run.json` into `options.out`. A checkpoint after every epoch lets
 * `resume` continue an interrupted run with the same result.
 */
export async function trainModel(dir: string, options: TrainOptions): Promise<TrainResult> {
  const o = checkPlainObject('options', options);
  checkKnownKeys('options', o, TRAIN_KEYS);
  if (typeof o.out !== 'string' || o.out === '') throw new TypeError('Expected a folder path for options.out');
  const out = o.out;
  const epochs = o.epochs === undefined ? 30 : checkInteger('options.epochs', o.epochs, 1, 10000);
  const batch = o.batch === undefined ? 32 : checkInteger('options.batch', o.batch, 1, 4096);
  if (o.optimizer !== undefined && o.optimizer !== 'adam' && o.optimizer !== 'sgd') throw new TypeError(`Expected 'adam' or 'sgd' for options.optimizer but received ${String(o.optimizer)}`);
  const optimizer = (o.optimizer ?? 'adam') as 'adam' | 'sgd';
  const learningRate = o.learningRate === undefined ? (optimizer === 'sgd' ? 0.01 : 1e-3) : checkNumber('options.learningRate', o.learningRate, 1e-8, 10);
  const momentum = o.momentum === undefined ? 0.8 : checkNumber('options.momentum', o.momentum, 0, 0.999);
  const weightDecay = o.weightDecay === undefined ? 0 : checkNumber('options.weightDecay', o.weightDecay, 0, 1);
  const seed = o.seed === undefined ? 1 : checkInteger('options.seed', o.seed, 0, 2 ** 31 - 1);
  const patience = o.patience === undefined ? 6 : checkInteger('options.patience', o.patience, 1, 10000);
  const lrPatience = o.lrPatience === undefined ? 2 : checkInteger('options.lrPatience', o.lrPatience, 1, 10000);
  if (o.lrSchedule !== undefined && !LR_SCHEDULES.includes(o.lrSchedule as LrSchedule)) throw invalidRange('options.lrSchedule', LR_SCHEDULES.map((c) => `'${c}'`).join(' or '), o.lrSchedule);
  const lrSchedule = (o.lrSchedule ?? 'plateau') as LrSchedule;
  const masking = resolveMaskOptions('options.masking', o.masking);
  const warp = resolveWarpOptions('options.warp', o.warp);
  const mixup = o.mixup === undefined ? 0.4 : checkNumber('options.mixup', o.mixup, 0, 100);
  if (o.balanceClasses !== undefined && typeof o.balanceClasses !== 'boolean') throw new TypeError(`Expected a boolean for options.balanceClasses but received ${String(o.balanceClasses)}`);
  const balanceClasses = o.balanceClasses === true;
  if (o.initFrom !== undefined && (typeof o.initFrom !== 'string' || o.initFrom === '')) throw new TypeError('Expected a folder path for options.initFrom');
  const initFrom = o.initFrom === undefined ? undefined : path.resolve(fs.existsSync(path.join(o.initFrom, 'best', 'model.json')) ? path.join(o.initFrom, 'best') : o.initFrom);
  if (initFrom !== undefined && !fs.existsSync(path.join(initFrom, 'model.json'))) {
    throw new EmoError(`options.initFrom: ${o.initFrom} is neither a run folder (best/model.json) nor a model folder (model.json)`, 'ERR_FILE_READ');
  }
  if (o.centre !== undefined && !CENTRINGS.includes(o.centre as Centring)) throw invalidRange('options.centre', CENTRINGS.map((c) => `'${c}'`).join(' or '), o.centre);
  const centre = (o.centre ?? 'none') as Centring;
  if (o.adapt !== undefined && !TRAINING_ADAPTATIONS.includes(o.adapt as TrainingAdaptation)) throw invalidRange('options.adapt', TRAINING_ADAPTATIONS.map((c) => `'${c}'`).join(' or '), o.adapt);
  const adapt = (o.adapt ?? 'none') as TrainingAdaptation;
  if (o.network !== undefined && !(NETWORKS as readonly string[]).includes(o.network as string)) throw invalidRange('options.network', NETWORKS.map((n) => `'${n}'`).join(' or '), o.network);
  const network = (o.network ?? 'reference') as Network;
  if (adapt === 'speaker-statistics' && network !== 'statistics') throw invalidRange('options.adapt', "'none' or 'speaker' for the reference network ('speaker-statistics' standardises the statistics network's statistics)", adapt);
  if (adapt !== 'none' && centre !== 'none') throw invalidRange('options.centre', `'none' with options.adapt '${adapt}' (the speaker's statistics replace the clip's own)`, centre);
  if (o.recordingChain !== undefined && typeof o.recordingChain !== 'boolean') throw new TypeError(`Expected a boolean for options.recordingChain but received ${String(o.recordingChain)}`);
  const recordingChain = o.recordingChain === true;
  const variants = resolveVariants(o.variants, recordingChain);
  if (o.scoreTest !== undefined && typeof o.scoreTest !== 'boolean') throw new TypeError(`Expected a boolean for options.scoreTest but received ${String(o.scoreTest)}`);
  const scoreTest = o.scoreTest !== false;
  const onProgress = options.onProgress;
  const started = process.hrtime.bigint();

  const backend = await useBestBackend();
  fs.mkdirSync(out, { recursive: true });
  const cacheFile = options.cache ?? path.join(out, 'features.cache');
  const { cache } = await ensureFeatureCache(dir, cacheFile, {
    split: options.split ?? {},
    augmentSeed: seed,
    recordingChain,
    onProgress: (done, total) => onProgress?.({ kind: 'cache', done, total }),
  });
  try {
    const all = cache.records().map((r, index) => ({ ...r, index }));
    const of = (split: SplitName, originalsOnly = false) => all.filter((r) => r.entry.split === split && (!originalsOnly || r.variant === 'original'));
    const trainRecords = of('train').filter((r) => variants.includes(r.variant));
    if (trainRecords.length === 0 || of('val').length === 0) {
      throw new EmoError(`nothing usable in ${dir}: ${trainRecords.length} training and ${of('val').length} validation clips after the split`, 'ERR_DATASET_EMPTY');
    }
    const labelsOf = (rs: typeof all) => rs.map((r) => r.entry.emotionId);
    let norm: Normalisation;
    let normOf: RecordNormalisation;
    let note: string;
    // Every record that is trained on or scored, and its speaker and recording (actor and variant):
    // the variants trained on, and every split's originals.
    const grouped = all
      .filter((r) => r.variant === 'original' || (r.entry.split === 'train' && variants.includes(r.variant)))
      .map((r) => ({ index: r.index, key: `actor ${r.entry.actor}, ${r.variant}`, train: r.entry.split === 'train' && variants.includes(r.variant) }));
    if (adapt === 'speaker') {
      ({ normOf, reference: norm } = speakerStatistics(cache, grouped));
      note = "per mel band, the training speakers' average of their speech frames' statistics (per actor and variant); input = (features - the speaker's band mean) / the speaker's band std, which an adapter gives as (features mapped onto this mean and std - mean) / std";
    } else if (adapt === 'speaker-statistics') {
      norm = { ...trainingStatistics(cache, trainRecords.map((r) => r.index), 'none'), adapt };
      normOf = () => norm;
      note = "per mel band, over the training split (the variants trained on); input = (features - mean) / std; the network's statistics are then standardised per speaker (per actor and variant in training), which an adapter gives as the speaker's mean and variance of them";
    } else {
      norm = trainingStatistics(cache, trainRecords.map((r) => r.index), centre);
      normOf = () => norm;
      note = centre === 'utterance'
        ? "per mel band, over the training split (the variants trained on), each clip centred first; input = (features - the clip's own band mean - mean) / std"
        : 'per mel band, over the training split (the variants trained on); input = (features - mean) / std';
    }
    writeJsonAtomicSync(path.join(out, 'normalization.json'), { ...norm, note });

    // One seeded generator drives shuffling, the warps, masks and mixup and the dropout masks' seeds;
    // its state is checkpointed.
    const checkpointDir = path.join(out, 'checkpoint');
    let state: CheckpointState = { epoch: 0, history: [], bestEpoch: 0, bestMacroF1: -1, rngState: seed >>> 0 };
    let model: tfl.LayersModel;
    // Everything that shapes the run except its length: a resumed run must have the same, on the same data.
    const recipe: Record<string, unknown> = { batch, learningRate, seed, lrPatience, masking, warp, mixup, split: options.split ?? {}, features: cache.header.fingerprint };
    // Recorded only when not the defaults, so checkpoints of earlier versions still resume.
    if (optimizer !== 'adam') Object.assign(recipe, { optimizer, momentum });
    if (weightDecay !== 0) recipe['weightDecay'] = weightDecay;
    if (balanceClasses) recipe['balanceClasses'] = true;
    if (initFrom !== undefined) recipe['initFrom'] = initFrom;
    if (centre !== 'none') recipe['centre'] = centre;
    if (adapt !== 'none') recipe['adapt'] = adapt;
    if (recordingChain) recipe['recordingChain'] = true;
    if (o.variants !== undefined) recipe['variants'] = variants;
    if (lrSchedule !== 'plateau') recipe['lrSchedule'] = lrSchedule;
    if (network !== 'reference') recipe['network'] = network;
    if (options.resume) {
      const found = recoverSwappedDir(checkpointDir);
      if (found === null || !fs.existsSync(path.join(found, 'state.json'))) {
        throw new EmoError(`cannot resume: there is no checkpoint in ${checkpointDir} (start without --resume)`, 'ERR_RESUME_MISMATCH');
      }
      state = JSON.parse(fs.readFileSync(path.join(found, 'state.json'), 'utf8')) as CheckpointState;
      const differences = recipeDifferences(state.recipe, recipe).map((d) => (d.startsWith('features:') ? 'the corpus or its features differ' : d));
      if (differences.length > 0) throw new EmoError(`cannot resume ${checkpointDir}: it was made differently (${differences.join('; ')})`, 'ERR_RESUME_MISMATCH');
      model = await loadModel(found);
    } else {
      model = createModel({ seed, learningRate, optimizer, momentum, weightDecay, network });
      if (initFrom !== undefined) {
        const init = await loadModel(initFrom);
        const weights = init.getWeights();
        const shapes = (ws: tf.Tensor[]) => ws.map((w) => w.shape.join('x')).join(',');
        if (shapes(weights) !== shapes(model.getWeights())) {
          init.dispose();
          model.dispose();
          throw new EmoError(`options.initFrom: ${initFrom} is another network (its weights have other shapes)`, 'ERR_MODEL_INVALID');
        }
        model.setWeights(weights);
        init.dispose();
      }
    }
    state.recipe = recipe;
    const groups = adapt === 'speaker-statistics' ? statisticsGroups(model, cache, grouped, normOf, batch) : undefined;
    const rng = new Mulberry32(state.rngState);
    const random = () => rng.next();
    const dropouts = dropoutLayers(model);
    const melScale = { fMin: cache.header.pipeline.fMin as number, fMax: cache.header.pipeline.fMax as number };
    const augmentation: BatchAugmentation = {
      warp: (clip, shape) => warpMelChunks(clip, shape, warp.minFactor + (warp.maxFactor - warp.minFactor) * random(), melScale),
      mask: (clip, shape) => maskChunks(clip, shape, masking, random),
    };

    const valRecords = of('val');
    for (let epoch = state.epoch + 1; epoch <= epochs; epoch++) {
      if (epoch - state.bestEpoch > patience && state.bestEpoch > 0) break;
      const epochStart = process.hrtime.bigint();
      const parts = epochBatches(trainRecords.map((r) => ({ index: r.index, label: r.entry.emotionId })), batch, balanceClasses, rng, groups?.keyOf);
      let lossSum = 0;
      let accSum = 0;
      let seen = 0;
      const batches = parts.length;
      // The plateau rule sets one rate per epoch; the cosine one a rate per batch, its steps counted
      // over the whole budget (every epoch has the same number of batches).
      const plateauRate = lrSchedule === 'plateau' ? plateauLearningRate(state.history, learningRate, lrPatience) : learningRate;
      const rateAt = (b: number) => (lrSchedule === 'cosine' ? cosineLearningRate(learningRate, (epoch - 1) * batches + b, epochs * batches) : plateauRate);
      const epochRate = rateAt(0);
      setLearningRate(model, epochRate);
      for (let b = 0; b < batches; b++) {
        if (lrSchedule === 'cosine' && b > 0) setLearningRate(model, rateAt(b));
        const part = parts[b] as number[];
        const features = readBatch(cache, part, normOf, augmentation);
        const labels = new Float32Array(part.length * EMOTIONS.length);
        part.forEach((r, i) => (labels[i * EMOTIONS.length + (all[r] as (typeof all)[number]).entry.emotionId] = 1));
        mixBatch(features, labels, EMOTIONS.length, mixup, random);
        const x = inputTensor(cache, features);
        const y = tf.tensor2d(labels, [part.length, EMOTIONS.length]);
        // Each dropout layer gets this step's seed from the run's generator, in the order the
        // layers run: the very numbers tfjs would otherwise draw from Math.random, so the masks
        // are reproducible without replacing Math.random for the whole process.
        for (const dropout of dropouts) dropout.seed = random();
        let result: number[];
        try {
          result = (await model.trainOnBatch(x, y)) as number[];
        } finally {
          for (const dropout of dropouts) dropout.seed = undefined; // saved models carry no stale seed
        }
        tf.dispose([x, y]);
        lossSum += (result[0] as number) * part.length;
        accSum += (result[1] as number) * part.length;
        seen += part.length;
        const seconds = Number(process.hrtime.bigint() - epochStart) / 1e9;
        onProgress?.({ kind: 'batch', epoch, batch: b + 1, batches, samples: seen, loss: lossSum / seen, samplesPerSecond: seen / seconds });
      }
      const seconds = Number(process.hrtime.bigint() - epochStart) / 1e9;
      const val = predict(model, cache, valRecords.map((r) => r.index), labelsOf(valRecords), normOf, batch, groups);
      const valMetrics = classificationMetrics(labelsOf(valRecords), val.predicted, EMOTIONS);
      const record: EpochRecord = {
        epoch,
        trainLoss: lossSum / seen,
        trainAccuracy: accSum / seen,
        valLoss: val.loss,
        valAccuracy: valMetrics.accuracy,
        valMacroF1: valMetrics.macroF1,
        learningRate: epochRate,
        seconds,
        samplesPerSecond: seen / seconds,
      };
      const best = valMetrics.macroF1 > state.bestMacroF1;
      state.history.push(record);
      if (best) {
        state.bestEpoch = epoch;
        state.bestMacroF1 = valMetrics.macroF1;
        await saveModel(model, path.join(out, 'best'));
      }
      await saveModel(model, path.join(out, 'last'));
      // The checkpoint (model, optimizer state, history, generator state) is written to a
      // new folder and swapped in whole: a crash at any point leaves one complete checkpoint.
      state.epoch = epoch;
      state.rngState = rng.state;
      const pending = `${checkpointDir}.partial`;
      fs.rmSync(pending, { recursive: true, force: true });
      await saveModel(model, pending, { includeOptimizer: true });
      writeJsonAtomicSync(path.join(pending, 'state.json'), state);
      swapDirAtomic(pending, checkpointDir);
      onProgress?.({ kind: 'epoch', record, best });
    }

    const bestModel = await loadModel(path.join(out, 'best'));
    const metrics = {} as TrainResult['metrics'];
    for (const split of scoreTest ? (['train', 'val', 'test'] as const) : (['train', 'val'] as const)) {
      const rs = of(split, true);
      const { predicted } = predict(bestModel, cache, rs.map((r) => r.index), labelsOf(rs), normOf, batch, groups);
      metrics[split] = classificationMetrics(labelsOf(rs), predicted, EMOTIONS);
    }
    bestModel.dispose();
    model.dispose();
    const result: TrainResult = {
      bestEpoch: state.bestEpoch,
      history: state.history,
      metrics,
      failedFiles: cache.header.failed.length,
      backend,
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
    };
    writeJsonAtomicSync(path.join(out, 'metrics.json'), { ...result, failed: cache.header.failed, labels: EMOTIONS });
    writeJsonAtomicSync(path.join(out, 'run.json'), {
      dir: path.resolve(dir),
      options: { epochs, batch, learningRate, optimizer, momentum: optimizer === 'sgd' ? momentum : undefined, weightDecay, seed, patience, lrPatience, lrSchedule, masking, warp, mixup, balanceClasses, initFrom, centre, adapt, recordingChain, variants, network, split: options.split ?? {}, cache: path.resolve(cacheFile), resume: Boolean(options.resume) },
      pipeline: cache.header.pipeline,
      augmentation: cache.header.augmentation,
      split: cache.header.split,
      backend,
      versions: { node: process.version, tfjs: tf.version_core },
      wallSeconds: result.seconds,
    });
    return result;
  } finally {
    cache.close();
    // The native pool caches a training step's worth of blocks (gigabytes at batch 32) for the
    // next step; once training is over they go back to the system.
    if (backend === EMO_NATIVE_BACKEND) configureNativeMemory({ trim: true });
  }
}
