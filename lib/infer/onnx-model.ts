/**
 * Opening an exported emo-native ONNX file: its structure and metadata are read with the ONNX
 * schema package and checked before onnxruntime sees it, so a wrong or damaged file is a clear
 * `EmoError` rather than a runtime failure half-way through a job.
 *
 * @packageDocumentation
 */
import * as fs from 'node:fs';
import type { onnx } from 'onnx-proto';
import type * as Ort from 'onnxruntime-node';
import { EMOTIONS } from '../data/ravdess';
import { EmoError } from '../errors';
import { describeFeatures, featureDifferences, resolveFeatureOptions, type FeatureDescriptor } from '../features/options';
import { checkInteger } from '../validate';
import { createSession, ONNX_ATTENTION, ONNX_INPUT, ONNX_PROBABILITIES, ONNX_STATISTICS, runSession, type OnnxRunOutput, type SessionSettings } from './session';
export { onnxRuntime, type SessionSettings } from './session';

export { ONNX_ATTENTION, ONNX_INPUT, ONNX_PROBABILITIES, ONNX_STATISTICS, type OnnxRunOutput } from './session';

/** Metadata keys an emo-native model carries (`metadata_props`). */
export const METADATA_KEYS = {
  labels: 'emo.labels',
  features: 'emo.features',
  version: 'emo.version',
  training: 'emo.training',
  parity: 'emo.parity',
  adaptation: 'emo.adaptation',
} as const;

/**
 * What a model trained with speaker adaptation expects (metadata `emo.adaptation`). `'speaker'`
 * (`adapt: 'speaker'`): clips moved from their speaker's statistics onto `reference` (the training
 * speakers' average, the statistics the graph normalises with) by an adapter.
 */
export type ModelAdaptation = SpeakerBandsAdaptation | SpeakerStatisticsAdaptation;

/** `adapt: 'speaker'`: see {@link ModelAdaptation}. */
export interface SpeakerBandsAdaptation {
  mode: 'speaker';
  /** Per mel band, dB. */
  reference: { mean: number[]; std: number[] };
}

/**
 * A statistics network (unless trained with `adapt: 'speaker'`) whose graph also gives each clip's
 * `statistics` (batch, n), so that they can be standardised per speaker: whether it was trained so
 * (`adapt: 'speaker-statistics'`, {@link SpeakerStatisticsAdaptation.trainedPerSpeaker}) or with the
 * training set's standardisation, which also works adapted (docs/ravdess-experiments.md §7). Its last two steps, `softmax(((s − mean) / √(variance + epsilon) · gamma
 * + beta) · weights + bias)`, run in the graph with the training speakers' `reference` mean and
 * variance; with a speaker's, learnt by an adapter from the statistics output, the classifier
 * runs them on that output. (onnxruntime-node feeds a graph's declared inputs only, so a speaker's
 * mean and variance cannot replace the graph's own at run time, and a second required input would
 * break the contract of one input, `mel`.)
 */
export interface SpeakerStatisticsAdaptation {
  mode: 'speaker-statistics';
  /**
   * Whether the network was trained with its statistics standardised per speaker (`adapt:
   * 'speaker-statistics'`); false: with the training set's (absent in models exported before
   * 2026-12-08, which were all trained per speaker). Then `reference` is the training set's.
   */
  trainedPerSpeaker?: boolean;
  /** How many statistics a clip has (n). */
  statistics: number;
  /** The training speakers' average mean and variance of each statistic, or the training set's (what the graph uses). */
  reference: { mean: number[]; variance: number[] };
  /** The batch normalisation's epsilon, scale and offset (n each), and the output layer: weights (n × labels, row-major) and bias. */
  head: { epsilon: number; gamma: number[]; beta: number[]; weights: number[]; bias: number[] };
}

/** A speaker's mean and variance of a statistics network's statistics. */
export interface StatisticsStandardisation {
  mean: ArrayLike<number>;
  variance: ArrayLike<number>;
}

/**
 * The probabilities of clips from their `statistics` (clips × n, row-major) standardised with
 * `standardisation`: the last steps of a statistics network ({@link SpeakerStatisticsAdaptation}).
 */
export function probabilitiesFromStatistics(statistics: Float32Array, standardisation: StatisticsStandardisation, adaptation: SpeakerStatisticsAdaptation): Float32Array {
  const n = adaptation.statistics;
  const { epsilon, gamma, beta, weights, bias } = adaptation.head;
  const labels = bias.length;
  const clips = statistics.length / n;
  const scale = Float64Array.from({ length: n }, (_, k) => (gamma[k] as number) / Math.sqrt((standardisation.variance[k] as number) + epsilon));
  const out = new Float32Array(clips * labels);
  const logits = new Float64Array(labels);
  for (let i = 0; i < clips; i++) {
    logits.set(bias);
    for (let k = 0; k < n; k++) {
      const z = ((statistics[i * n + k] as number) - (standardisation.mean[k] as number)) * (scale[k] as number) + (beta[k] as number);
      for (let c = 0; c < labels; c++) logits[c] = (logits[c] as number) + z * (weights[k * labels + c] as number);
    }
    const top = Math.max(...logits);
    let sum = 0;
    for (let c = 0; c < labels; c++) sum += (logits[c] = Math.exp((logits[c] as number) - top));
    for (let c = 0; c < labels; c++) out[i * labels + c] = (logits[c] as number) / sum;
  }
  return out;
}

/** A graph input or output: its name and dimensions (a string for a named dynamic one). */
export interface OnnxValueInfo {
  name: string;
  dims: Array<number | string>;
}

/** What the file says about itself, read without running it. */
export interface OnnxModelInfo {
  irVersion: number;
  /** Version of the default-domain opset. */
  opset: number;
  producerName: string;
  producerVersion: string;
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  /** Every `metadata_props` entry, verbatim. */
  metadata: Record<string, string>;
}

/** Parity an export measured between the ONNX graph and TensorFlow.js (metadata `emo.parity`). */
export interface OnnxParity {
  /** Largest absolute difference of any class probability. */
  probabilities: number;
  /** Largest absolute difference of any attention weight. */
  attention: number;
  /** Clips compared. */
  clips: number;
  /** Where the clips came from: `'validation'` (the run's validation split) or `'generated'`. */
  source: string;
}

/** The emo-native metadata of a model file, parsed. */
export interface EmoModelMetadata {
  /** Class labels in output order. */
  labels: string[];
  /** The feature pipeline the model expects its input from. */
  features: FeatureDescriptor;
  /** emo-native version that wrote the file. */
  version: string;
  /** How the model was trained: corpus, split, epochs, scores (whatever the exporter knew). */
  training: Record<string, unknown>;
  /** The parity the export measured, when it verified itself. */
  parity: OnnxParity | null;
  /** Present when the model was trained on speaker-normalised clips and wants an adapter. */
  adaptation: ModelAdaptation | null;
}

const toNumber = (v: number | { toNumber(): number } | null | undefined): number => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());

function valueInfos(list: onnx.IValueInfoProto[] | null | undefined): OnnxValueInfo[] {
  return (list ?? []).map((v) => ({
    name: v.name ?? '',
    dims: (v.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : toNumber(d.dimValue as number | null))),
  }));
}

function invalid(message: string, source: string): EmoError {
  const error = new EmoError(`${source}: ${message}`, 'ERR_MODEL_INVALID');
  return error;
}

/**
 * Reads an ONNX file's structure and metadata.
 *
 * @throws {@link EmoError} `ERR_MODEL_INVALID` when the bytes are not an ONNX model (a text
 *   file, a truncated download).
 */
export function inspectOnnx(bytes: Uint8Array, source = 'model'): OnnxModelInfo {
  if (bytes.length === 0) throw invalid('the file is empty', source);
  let model: onnx.ModelProto;
  try {
    // Loaded on first use: `require('emo-native')` for features alone never pays for protobufjs.
    const schema = (require('onnx-proto') as typeof import('onnx-proto')).onnx;
    model = schema.ModelProto.decode(bytes);
  } catch (error) {
    throw invalid(`not an ONNX model, or a truncated one (${(error as Error).message})`, source);
  }
  if (!model.graph || toNumber(model.irVersion as number) <= 0) throw invalid('not an ONNX model (no graph or IR version)', source);
  const opset = model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx');
  return {
    irVersion: toNumber(model.irVersion as number),
    opset: toNumber(opset?.version as number),
    producerName: model.producerName ?? '',
    producerVersion: model.producerVersion ?? '',
    inputs: valueInfos(model.graph.input),
    outputs: valueInfos(model.graph.output),
    metadata: Object.fromEntries(model.metadataProps.map((p) => [p.key ?? '', p.value ?? ''])),
  };
}

function parseJson(info: OnnxModelInfo, key: string, source: string): unknown {
  const text = info.metadata[key];
  if (text === undefined) throw invalid(`not an emo-native model: no '${key}' metadata (export it with 'emo export')`, source);
  try {
    return JSON.parse(text);
  } catch {
    throw invalid(`the '${key}' metadata is not valid JSON`, source);
  }
}

/**
 * Parses and checks the emo-native metadata and the graph's interface: input `mel`
 * (batch, chunks, mels, frames) and outputs `probabilities` (batch, labels) and
 * `attention` (batch, chunks), consistent with the recorded feature shape.
 *
 * @throws {@link EmoError} `ERR_MODEL_INVALID`.
 */
export function readEmoMetadata(info: OnnxModelInfo, source = 'model'): EmoModelMetadata {
  const labels = parseJson(info, METADATA_KEYS.labels, source);
  if (!Array.isArray(labels) || labels.length === 0 || !labels.every((l) => typeof l === 'string')) throw invalid(`'${METADATA_KEYS.labels}' is not a list of labels`, source);
  const features = parseJson(info, METADATA_KEYS.features, source) as FeatureDescriptor;
  if (features === null || typeof features !== 'object' || !Array.isArray(features.shape)) throw invalid(`'${METADATA_KEYS.features}' does not describe a feature pipeline`, source);
  const training = info.metadata[METADATA_KEYS.training] === undefined ? {} : parseJson(info, METADATA_KEYS.training, source);
  const parity = info.metadata[METADATA_KEYS.parity] === undefined ? null : (parseJson(info, METADATA_KEYS.parity, source) as OnnxParity);
  const adaptation = info.metadata[METADATA_KEYS.adaptation] === undefined ? null : (parseJson(info, METADATA_KEYS.adaptation, source) as ModelAdaptation);

  const [chunks, mels, frames] = features.shape;
  if (adaptation?.mode === 'speaker-statistics') {
    const n = adaptation.statistics;
    const numbers = (v: unknown, length: number) => Array.isArray(v) && v.length === length && v.every((x) => Number.isFinite(x));
    const head = adaptation.head;
    const output = info.outputs.find((v) => v.name === ONNX_STATISTICS);
    const ok = Number.isInteger(n) && n > 0 && output?.dims.length === 2 && output.dims[1] === n
      && (adaptation.trainedPerSpeaker === undefined || typeof adaptation.trainedPerSpeaker === 'boolean')
      && numbers(adaptation.reference?.mean, n) && numbers(adaptation.reference?.variance, n) && adaptation.reference.variance.every((v) => v >= 0)
      && head !== null && typeof head === 'object' && Number.isFinite(head.epsilon) && head.epsilon >= 0
      && numbers(head.gamma, n) && numbers(head.beta, n) && numbers(head.weights, n * labels.length) && numbers(head.bias, labels.length);
    if (!ok) throw invalid(`'${METADATA_KEYS.adaptation}' is not a speaker adaptation of the statistics with their reference and the network's last layers, for the graph's output '${ONNX_STATISTICS}'`, source);
  } else if (adaptation !== null) {
    const bands = (v: unknown) => Array.isArray(v) && v.length === mels && v.every((x) => Number.isFinite(x));
    if (adaptation.mode !== 'speaker' || !bands(adaptation.reference?.mean) || !bands(adaptation.reference?.std) || !adaptation.reference.std.every((x) => x > 0)) {
      throw invalid(`'${METADATA_KEYS.adaptation}' is not a speaker adaptation with ${mels} reference means and deviations`, source);
    }
  }
  const expect = (list: OnnxValueInfo[], name: string, dims: number[], what: string) => {
    const v = list.find((x) => x.name === name);
    const ok = v && v.dims.length === dims.length + 1 && typeof v.dims[0] === 'string' && dims.every((d, i) => v.dims[i + 1] === d);
    if (!ok) throw invalid(`the graph needs ${what} '${name}' of shape [batch, ${dims.join(', ')}]${v ? `, it has [${v.dims.join(', ')}]` : ', it has none'}`, source);
  };
  expect(info.inputs, ONNX_INPUT, [chunks, mels, frames], 'an input');
  expect(info.outputs, ONNX_PROBABILITIES, [labels.length], 'an output');
  expect(info.outputs, ONNX_ATTENTION, [chunks], 'an output');
  return {
    labels: labels as string[],
    features,
    version: info.metadata[METADATA_KEYS.version] ?? '',
    training: (training ?? {}) as Record<string, unknown>,
    parity,
    adaptation,
  };
}

/** The descriptor of the package's own feature pipeline with its default options (what `melChunks` computes). */
export const PIPELINE_FEATURES: FeatureDescriptor = describeFeatures(resolveFeatureOptions({}));

/**
 * Refuses a model trained on other features than the pipeline that will feed it.
 *
 * @throws {@link EmoError} `ERR_MODEL_FEATURES_MISMATCH` naming every differing option.
 */
export function checkModelFeatures(metadata: EmoModelMetadata, pipeline: FeatureDescriptor = PIPELINE_FEATURES, source = 'model'): void {
  const differences = featureDifferences(pipeline, metadata.features as unknown as Record<string, unknown>);
  if (differences.length > 0) {
    throw new EmoError(`${source} was trained on other features than this pipeline computes: ${differences.join('; ')}`, 'ERR_MODEL_FEATURES_MISMATCH');
  }
  if (metadata.labels.length !== EMOTIONS.length || metadata.labels.some((l, i) => l !== EMOTIONS[i])) {
    throw new EmoError(`${source} has the labels ${JSON.stringify(metadata.labels)}, this package ${JSON.stringify(EMOTIONS)}`, 'ERR_MODEL_FEATURES_MISMATCH');
  }
}

/** Options of {@link openOnnxModel}. */
export interface OpenModelOptions {
  /** Threads onnxruntime uses inside one run. Default: onnxruntime's own choice (one per core). */
  threads?: number;
  /** Execution provider: `'cpu'` (default) or `'cuda'` (onnxruntime-node's CUDA provider, installed separately). */
  provider?: 'cpu' | 'cuda';
  /**
   * The pipeline that will compute the model's input; a model trained on other features is
   * refused. Default: the package's reference pipeline. `false`: no check (for tools that only
   * inspect a file).
   */
  pipeline?: FeatureDescriptor | false;
  /**
   * Worker threads to run the model in, each with its own session of `threads` threads (0, the
   * default: the calling thread, whose event loop each run then blocks).
   */
  workers?: number;
}

/** What runs a model's graph: a session in this thread, or a pool of worker threads with one each. */
export interface ModelRunner {
  run(mel: Float32Array, shape: number[]): Promise<OnnxRunOutput>;
  close(): Promise<void>;
}

/** A session in the calling thread: a run blocks its event loop while the graph computes. */
class SessionRunner implements ModelRunner {
  constructor(private readonly session: Ort.InferenceSession) {}

  run(mel: Float32Array, shape: number[]): Promise<OnnxRunOutput> {
    return runSession(this.session, mel, shape);
  }

  close(): Promise<void> {
    return this.session.release();
  }
}

/** An exported emo-native model opened in onnxruntime. */
export class OnnxEmotionModel {
  private runner: ModelRunner | null;

  /** @internal use {@link openOnnxModel}. */
  constructor(
    runner: ModelRunner,
    /** The file's structure and raw metadata. */
    readonly info: OnnxModelInfo,
    /** Its emo-native metadata. */
    readonly metadata: EmoModelMetadata,
    /** Worker threads running it (0: the calling thread). */
    readonly workers: number,
  ) {
    this.runner = runner;
  }

  /** Values per clip of the input: chunks · mels · frames. */
  get clipSize(): number {
    const [c, m, f] = this.metadata.features.shape;
    return c * m * f;
  }

  /**
   * Runs the graph on `batch` clips of raw dB features laid end to end (`melChunks(...).data`
   * of each clip, concatenated); a model with `adaptation.mode` `'speaker-statistics'` gives
   * every clip's statistics, and takes a speaker's mean and variance of them in `standardisation`
   * ({@link probabilitiesFromStatistics}).
   */
  async run(mel: Float32Array, batch: number, standardisation?: StatisticsStandardisation): Promise<OnnxRunOutput> {
    if (this.runner === null) throw new Error('the model has been closed');
    if (mel.length !== batch * this.clipSize) throw new RangeError(`Expected ${batch} clips of ${this.clipSize} values but received ${mel.length} values`);
    const adaptation = this.metadata.adaptation;
    if (standardisation !== undefined) {
      if (adaptation?.mode !== 'speaker-statistics') throw new TypeError('run: this model takes no standardisation of its statistics');
      if (standardisation.mean.length !== adaptation.statistics || standardisation.variance.length !== adaptation.statistics) throw new RangeError(`Expected ${adaptation.statistics} means and variances for the standardisation`);
    }
    const out = await this.runner.run(mel, [batch, ...this.metadata.features.shape]);
    if (standardisation === undefined || adaptation?.mode !== 'speaker-statistics') return out;
    return { ...out, probabilities: probabilitiesFromStatistics(out.statistics as Float32Array, standardisation, adaptation) };
  }

  /** Releases the onnxruntime session(s) (and worker threads). Further runs throw. */
  async close(): Promise<void> {
    const runner = this.runner;
    this.runner = null;
    await runner?.close();
  }
}

/**
 * Opens an exported model: reads the file, checks its structure, metadata and feature
 * pipeline, and creates an onnxruntime session on the CPU.
 *
 * @param source - path of an `.onnx` file, or its bytes.
 * @throws {@link EmoError} `ERR_FILE_READ` (unreadable path), `ERR_MODEL_INVALID` (not an
 *   emo-native ONNX model, or truncated), `ERR_MODEL_FEATURES_MISMATCH` (trained on other features).
 */
export async function openOnnxModel(source: string | Uint8Array, options: OpenModelOptions = {}): Promise<OnnxEmotionModel> {
  const name = typeof source === 'string' ? source : 'model';
  let bytes: Uint8Array;
  if (typeof source === 'string') {
    try {
      bytes = await fs.promises.readFile(source);
    } catch (error) {
      throw new EmoError(`${source}: cannot read the model (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, 'ERR_FILE_READ');
    }
  } else if (source instanceof Uint8Array) {
    bytes = source;
  } else {
    throw new TypeError(`Expected a path or a Uint8Array for model but received ${source === null ? 'null' : typeof source}`);
  }
  const threads = options.threads === undefined ? 0 : checkInteger('options.threads', options.threads, 1, 1024);
  const info = inspectOnnx(bytes, name);
  const metadata = readEmoMetadata(info, name);
  if (options.pipeline !== false) checkModelFeatures(metadata, options.pipeline ?? PIPELINE_FEATURES, name);
  const workers = options.workers === undefined ? 0 : checkInteger('options.workers', options.workers, 0, 256);
  const settings: SessionSettings = { provider: options.provider === 'cuda' ? 'cuda' : 'cpu', threads };
  let runner: ModelRunner;
  try {
    runner = workers === 0 ? new SessionRunner(await createSession(bytes, settings)) : await (await import('./session-pool')).SessionPool.start(bytes, settings, workers);
  } catch (error) {
    if (options.provider === 'cuda') {
      throw new EmoError(`onnxruntime's CUDA provider did not start: ${(error as Error).message}`, 'ERR_PROVIDER_UNAVAILABLE');
    }
    throw invalid(`onnxruntime cannot load it: ${(error as Error).message}`, name);
  }
  return new OnnxEmotionModel(runner, info, metadata, workers);
}
