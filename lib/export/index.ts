/**
 * ONNX export of a trained network: one self-contained file that any ONNX runtime can run on the
 * raw output of `melChunks`, with the training normalisation inside the graph.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { onnx } from 'onnx-proto';
import { EMOTIONS } from '../data/ravdess';
import { Rng } from '../random';
import { EmoError } from '../errors';
import { melChunks, normaliseChunks, type MelChunks } from '../features';
import { describeFeatures, resolveFeatureOptions, type FeatureOptions } from '../features/options';
import { METADATA_KEYS, onnxRuntime, type OnnxParity, type SpeakerStatisticsAdaptation } from '../infer/onnx-model';
import { STATISTICS_STANDARDISATION_LAYER } from '../nn/statistics';
import { createExplainModel, networkOf } from '../nn/model';
import { checkKnownKeys, checkNumber, checkPlainObject, invalidRange } from '../validate';
import { PACKAGE_VERSION } from '../version';
import { buildOnnxGraph, DEFAULT_OPSET, ONNX_IR_VERSION, SUPPORTED_OPSETS, type BandNormalisation } from './graph';

export { DEFAULT_OPSET, ONNX_BATCH_DIM, ONNX_IR_VERSION, SUPPORTED_OPSETS, buildOnnxGraph, type BandNormalisation } from './graph';

/** Options of {@link exportOnnx}. */
export interface ExportOptions {
  /** Opset of the default ONNX domain, 13–17. Default 17 (with IR version 8). */
  opset?: number;
  /** The feature pipeline the model was trained on (metadata `emo.features`). Default: the reference pipeline. */
  features?: FeatureOptions;
  /** What is known of the training (metadata `emo.training`, JSON): corpus, split, epochs, scores. Default `{}`. */
  training?: Record<string, unknown>;
  /**
   * Clips (raw `melChunks` features) on which the graph is checked against TensorFlow.js before
   * the bytes are returned. Default: 8 generated voice-like clips.
   */
  verifyClips?: readonly MelChunks[];
  /** Where `verifyClips` come from, recorded with the parity (e.g. `'validation'`). Default `'given'`, or `'generated'`. */
  verifySource?: string;
  /** Largest absolute difference of a probability or attention weight accepted. Default 1e-4. */
  tolerance?: number;
  /** `false` skips the check (and records no parity). Default true. */
  verify?: boolean;
}

const EXPORT_KEYS = ['opset', 'features', 'training', 'verifyClips', 'verifySource', 'tolerance', 'verify'];

/** Probabilities and attention of `count` clips, row-major. */
interface Outputs {
  probabilities: Float32Array;
  attention: Float32Array;
}

function encodeModel(graph: onnx.IGraphProto, opset: number, metadata: Record<string, string>): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: opset }],
    producerName: 'emo-native',
    producerVersion: PACKAGE_VERSION,
    docString: 'Speech emotion recognition: CNN-BiLSTM-attention over 7 mel-spectrogram chunks. Input: melChunks dB features; outputs: class probabilities and attention over the chunks.',
    graph,
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  });
  return onnx.ModelProto.encode(model).finish();
}

/**
 * Deterministic voice-like clips for the export check when no recordings are at hand: a harmonic
 * source with a wandering pitch, syllable-like loudness and a little noise, through `melChunks`.
 */
export function generatedClips(count: number, seed = 1): MelChunks[] {
  const rate = 48000;
  const length = Math.round(3.6 * rate);
  return Array.from({ length: count }, (_, k) => {
    const rng = new Rng(seed, `export-check:${k}`);
    const f0 = rng.uniform(90, 320);
    const drift = rng.uniform(-0.3, 0.3);
    const syllables = rng.uniform(2, 6);
    const noise = rng.uniform(0.001, 0.05);
    const harmonics = rng.int(4, 14);
    const samples = new Float32Array(length);
    let phase = 0;
    for (let i = 0; i < length; i++) {
      const t = i / rate;
      phase += (2 * Math.PI * f0 * (1 + drift * Math.sin(2 * Math.PI * 0.4 * t))) / rate;
      let v = 0;
      for (let h = 1; h <= harmonics; h++) v += Math.sin(h * phase) / h;
      const envelope = Math.max(0, Math.sin(Math.PI * syllables * t)) ** 2;
      samples[i] = 0.2 * envelope * v + noise * rng.gauss();
    }
    return melChunks(samples);
  });
}

/**
 * Clips laid end to end in one (n · chunks · mels · frames) array, each normalised per band when
 * `normalisation` is given (the tfjs model's input; the ONNX graph takes them raw).
 */
export function stackClips(clips: readonly MelChunks[], normalisation?: BandNormalisation): Float32Array {
  const [c, m, f] = clips[0]?.shape ?? [0, 0, 0];
  const size = c * m * f;
  const stacked = new Float32Array(clips.length * size);
  clips.forEach((clip, i) => {
    const view = stacked.subarray(i * size, (i + 1) * size);
    view.set(clip.data);
    if (normalisation) normaliseChunks(view, clip.shape, normalisation);
  });
  return stacked;
}

async function tfjsOutputs(model: tfl.LayersModel, clips: readonly MelChunks[], normalisation: BandNormalisation): Promise<Outputs> {
  const explain = createExplainModel(model);
  const [c, m, f] = clips[0]?.shape as [number, number, number];
  const input = stackClips(clips, normalisation);
  const [probabilities, attention] = tf.tidy(() => explain.predict(tf.tensor(input, [clips.length, c, m, f, 1])) as tf.Tensor[]) as [tf.Tensor, tf.Tensor];
  const result = { probabilities: (await probabilities.data()) as Float32Array, attention: (await attention.data()) as Float32Array };
  tf.dispose([probabilities, attention]);
  return result;
}

/**
 * Runs ONNX bytes in onnxruntime-node on raw features; `clips` go through as one batch.
 */
export async function runOnnxBytes(bytes: Uint8Array, clips: readonly MelChunks[]): Promise<Outputs> {
  const ort = onnxRuntime();
  const [c, m, f] = clips[0]?.shape as [number, number, number];
  const input = stackClips(clips);
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], graphOptimizationLevel: 'all' });
  try {
    const out = await session.run({ mel: new ort.Tensor('float32', input, [clips.length, c, m, f]) });
    return { probabilities: out.probabilities?.data as Float32Array, attention: out.attention?.data as Float32Array };
  } finally {
    await session.release();
  }
}

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] as number) - (b[i] as number));
    if (!(d <= max)) max = Number.isNaN(d) ? Infinity : d;
  }
  return max;
}

/**
 * What an exported statistics network records (metadata `emo.adaptation`) so that an adapter can
 * standardise its statistics per speaker: its reference standardisation and last layers, read from
 * the model, and whether it was trained per speaker.
 *
 * @throws TypeError when the model is not a statistics network.
 */
export function speakerStatisticsAdaptation(model: tfl.LayersModel, trainedPerSpeaker = true): SpeakerStatisticsAdaptation {
  const bn = model.layers.find((l) => l.name === STATISTICS_STANDARDISATION_LAYER);
  const output = model.layers.find((l) => l.name === 'output');
  if (bn === undefined || output === undefined) throw new TypeError("exportOnnx: adapt 'speaker-statistics' needs a statistics network (createModel({ network: 'statistics' }))");
  const [gamma, beta, mean, variance] = bn.getWeights().map((w) => Array.from(w.dataSync()));
  const [weights, bias] = output.getWeights().map((w) => Array.from(w.dataSync()));
  return {
    mode: 'speaker-statistics',
    trainedPerSpeaker,
    statistics: (mean as number[]).length,
    reference: { mean: mean as number[], variance: variance as number[] },
    head: { epsilon: (bn.getConfig() as { epsilon: number }).epsilon, gamma: gamma as number[], beta: beta as number[], weights: weights as number[], bias: bias as number[] },
  };
}

/**
 * Exports a network built by `createModel` (trained) to ONNX: opset 17, IR 8; input `mel`
 * float32 (batch, 7, 128, 128) — the dB values exactly as `melChunks` returns them, the
 * per-band normalisation being inside the graph; outputs `probabilities` (batch, 8) in RAVDESS
 * label order and `attention` (batch, 7); metadata `emo.labels`, `emo.features`, `emo.version`,
 * `emo.training`, when verified `emo.parity`, and for a model trained with `adapt: 'speaker'`
 * `emo.adaptation` (the reference statistics an adapter maps a speaker onto). A statistics network
 * (not trained with `adapt: 'speaker'`) also has the output `statistics`, and its `emo.adaptation`
 * holds what an adapter needs to standardise them per speaker ({@link speakerStatisticsAdaptation}),
 * whether it was trained per speaker (`adapt: 'speaker-statistics'`) or not.
 *
 * Before returning, the graph is run in onnxruntime-node on `verifyClips` (default: generated
 * clips) and compared with the model in TensorFlow.js (on its current backend); the measured
 * largest differences are recorded in `emo.parity`.
 *
 * @param model - the trained network (`loadModel(dir)`).
 * @param normalisation - the training split's per-band `mean` and `std` (`normalization.json`).
 * @returns the `.onnx` file's bytes.
 * @throws {@link EmoError} `ERR_EXPORT_PARITY` when the graph differs from TensorFlow.js by more
 *   than `tolerance`; TypeError when the model is not the reference network.
 * @example
 * const bytes = await exportOnnx(await loadModel('runs/synth-1/best'), JSON.parse(fs.readFileSync('runs/synth-1/normalization.json', 'utf8')));
 * fs.writeFileSync('model.onnx', bytes);
 */
export async function exportOnnx(model: tfl.LayersModel, normalisation: BandNormalisation, options: ExportOptions = {}): Promise<Uint8Array> {
  const o = checkPlainObject('options', options);
  checkKnownKeys('options', o, EXPORT_KEYS);
  const opset = o.opset === undefined ? DEFAULT_OPSET : (o.opset as number);
  if (!(SUPPORTED_OPSETS as readonly number[]).includes(opset)) throw invalidRange('options.opset', `one of ${SUPPORTED_OPSETS.join(', ')}`, opset);
  const tolerance = o.tolerance === undefined ? 1e-4 : checkNumber('options.tolerance', o.tolerance, 0, 1);
  const resolved = resolveFeatureOptions(options.features ?? {}, 'options.features');
  const features = describeFeatures(resolved);
  const inputShape = model.inputs[0]?.shape ?? [];
  if (features.shape.some((d, i) => inputShape[i + 1] !== d)) {
    throw new TypeError(`exportOnnx: the features have shape [${features.shape}] but the model takes [${inputShape.slice(1, 4)}]`);
  }

  const graph = buildOnnxGraph(model, normalisation, { opset, name: model.name });
  const metadata: Record<string, string> = {
    [METADATA_KEYS.labels]: JSON.stringify(EMOTIONS),
    [METADATA_KEYS.features]: JSON.stringify(features),
    [METADATA_KEYS.version]: PACKAGE_VERSION,
    [METADATA_KEYS.training]: JSON.stringify(options.training ?? {}),
  };
  if (normalisation.adapt === 'speaker') {
    metadata[METADATA_KEYS.adaptation] = JSON.stringify({ mode: 'speaker', reference: { mean: [...normalisation.mean], std: [...normalisation.std] } });
  } else if (networkOf(model) === 'statistics') {
    metadata[METADATA_KEYS.adaptation] = JSON.stringify(speakerStatisticsAdaptation(model, normalisation.adapt === 'speaker-statistics'));
  }
  if (options.verify === false) return encodeModel(graph, opset, metadata);

  const given = options.verifyClips !== undefined && options.verifyClips.length > 0;
  const clips = given ? (options.verifyClips as readonly MelChunks[]) : generatedClips(8);
  for (const clip of clips) {
    if (clip.shape.some((d, i) => d !== features.shape[i])) throw new TypeError(`exportOnnx: a verification clip has shape [${clip.shape}], the features [${features.shape}]`);
  }
  const unverified = encodeModel(graph, opset, metadata);
  const [fromOnnx, fromTfjs] = [await runOnnxBytes(unverified, clips), await tfjsOutputs(model, clips, normalisation)];
  const parity: OnnxParity = {
    probabilities: maxAbsDifference(fromOnnx.probabilities, fromTfjs.probabilities),
    attention: maxAbsDifference(fromOnnx.attention, fromTfjs.attention),
    clips: clips.length,
    source: given ? (options.verifySource ?? 'given') : 'generated',
  };
  if (!(parity.probabilities <= tolerance && parity.attention <= tolerance)) {
    throw new EmoError(
      `the ONNX graph does not compute what the TensorFlow.js model computes: largest difference ${parity.probabilities.toExponential(2)} in probabilities and ${parity.attention.toExponential(2)} in attention over ${parity.clips} clips (tolerance ${tolerance})`,
      'ERR_EXPORT_PARITY',
    );
  }
  return encodeModel(graph, opset, { ...metadata, [METADATA_KEYS.parity]: JSON.stringify({ ...parity, tfjsBackend: tf.getBackend() }) });
}
