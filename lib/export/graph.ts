/**
 * The reference network as an ONNX graph, built from a trained tfjs-layers model's weights.
 *
 * The graph is written for inference, channels-first (ONNX's Conv and MaxPool layout):
 *
 *   mel (batch, 7, 128, 128) dB, exactly as melChunks returns it
 *   → [ReduceMean over chunks and frames, Sub: each clip centred per mel band, when trained so]
 *   → Sub mean, Mul 1/std per mel band (the training split's normalisation)
 *   → Reshape (batch·7, 1, 128, 128)                 one image per chunk: H = mel, W = frame
 *   → 3 × [Conv 3×3 pad 1 (batch norm folded in) → Relu → MaxPool 2/4/4]
 *   → Reshape (batch·7, 1024) → MatMul + Add → Relu  chunk_dense, rows permuted (see below)
 *   → Reshape (batch, 7, 256) → Transpose (7, batch, 256)
 *   → LSTM bidirectional, 128 units                  → (7, 2, batch, 128)
 *   → Transpose (batch, 7, 2, 128) → Reshape (batch, 7, 256)   forward ‖ backward, like tfjs's concat
 *   → attention: MatMul score + Add → Reshape (batch, 7) → Softmax → `attention`
 *                MatMul (batch, 1, 7) × (batch, 7, 256) → Reshape (batch, 256)
 *   → MatMul + Add → Softmax → `probabilities` (batch, 8)
 *
 * The statistics network (`createModel({ network: 'statistics' })`) shares the normalisation and
 * the classifier; between them its per-band statistics of the speech frames are computed from the
 * normalised chunks with Gather, ReduceMean/Max/Sum, Greater, Cast, Slice, Abs, Sqrt and Div, as
 * {@link statisticsGraph} lists, and `attention` is each chunk's share of the speech frames.
 *
 * Dropout is the identity at inference and is left out. Weight layouts differ from tfjs in three
 * places, each converted here in float64 before rounding to float32 once:
 * - Conv kernels: tfjs (kh, kw, in, out) → ONNX (out, in, kh, kw); batch norm folds in as
 *   w·γ/√(σ²+ε) and (b − μ)·γ/√(σ²+ε) + β.
 * - chunk_dense: tfjs flattens each chunk's (4, 4, 64) channels-last, ONNX's tensor is (64, 4, 4):
 *   the kernel's rows are reordered so that the channels-first flatten meets the same weights,
 *   which saves a Transpose per chunk.
 * - LSTM: Keras stores each direction as kernel (in, 4·units), recurrent (units, 4·units), bias
 *   (4·units) with gates in the order i, f, c, o; ONNX wants W (dirs, 4·units, in),
 *   R (dirs, 4·units, units), B (dirs, 8·units) with gates i, o, f, c and the bias split into Wb
 *   and Rb (Keras has one bias per gate: it goes to Wb, Rb is zero).
 *
 * @packageDocumentation
 */
import { onnx } from 'onnx-proto';
import type * as tfl from '@tensorflow/tfjs-layers';
import { EMOTIONS } from '../data/ravdess';
import { checkNormalisation, type BandNormalisation } from '../features/normalise';
import { ONNX_ATTENTION, ONNX_INPUT, ONNX_PROBABILITIES, ONNX_STATISTICS } from '../infer/onnx-model';
import { CONTOUR_STATISTICS, dctMatrix, STATISTICS_PER_BAND } from '../nn/statistics';

export type { BandNormalisation } from '../features/normalise';

/** Name of the dynamic batch dimension. */
export const ONNX_BATCH_DIM = 'batch';
/** The IR version written: IR 8 goes with opsets up to 17 and is read by onnx ≥ 1.12 and onnxruntime ≥ 1.13. */
export const ONNX_IR_VERSION = 8;
/** Opsets the graph can be written in: every operator it uses has had its current semantics since 13. */
export const SUPPORTED_OPSETS = [13, 14, 15, 16, 17] as const;
export const DEFAULT_OPSET = 17;

/** What {@link buildOnnxGraph} needs besides the weights. */
export interface GraphOptions {
  opset: number;
  /** Graph name. */
  name: string;
}

// One layer's weights as float64 copies with their shapes, looked up by the names createModel gives.
interface Weight {
  values: Float64Array;
  shape: number[];
}

function getLayer(model: tfl.LayersModel, layerName: string): tfl.layers.Layer {
  try {
    return model.getLayer(layerName);
  } catch {
    throw new TypeError(`exportOnnx: the model has no layer '${layerName}'; only the reference network built by createModel can be exported`);
  }
}

function layerWeights(model: tfl.LayersModel, layerName: string, expected: Record<string, number[]>): Record<string, Weight> {
  const layer = getLayer(model, layerName);
  const found: Record<string, Weight> = {};
  for (const variable of layer.weights) {
    // 'bilstm/forward_lstm/kernel' → 'forward_lstm/kernel'; 'block1_conv/kernel' → 'kernel'
    const key = variable.originalName.slice(layerName.length + 1);
    const tensor = variable.read();
    found[key] = { values: Float64Array.from(tensor.dataSync()), shape: tensor.shape };
  }
  for (const [key, shape] of Object.entries(expected)) {
    const w = found[key];
    if (!w || w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i])) {
      throw new TypeError(`exportOnnx: layer '${layerName}' weight '${key}' should have shape [${shape}] but has ${w ? `[${w.shape}]` : 'none'}`);
    }
  }
  return found;
}

/** A float32 initializer. */
function floatTensor(name: string, dims: number[], values: ArrayLike<number>): onnx.ITensorProto {
  const data = Float32Array.from(values as ArrayLike<number>);
  return { name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(data.buffer) };
}

/** An int64 initializer (Reshape shapes, Unsqueeze axes). ONNX raw data is little-endian, as is every platform Node ships for. */
function int64Tensor(name: string, values: number[]): onnx.ITensorProto {
  const data = BigInt64Array.from(values, (v) => BigInt(v));
  return { name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, rawData: new Uint8Array(data.buffer) };
}

function attribute(name: string, value: number | number[] | string): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: T.INTS, ints: value };
  return Number.isInteger(value) ? { name, type: T.INT, i: value } : { name, type: T.FLOAT, f: value };
}

function node(opType: string, inputs: string[], outputs: string[], attributes: Record<string, number | number[] | string> = {}): onnx.INodeProto {
  return {
    opType,
    input: inputs,
    output: outputs,
    name: outputs[0],
    attribute: Object.entries(attributes).map(([k, v]) => attribute(k, v)),
  };
}

function valueInfo(name: string, dims: Array<number | string>): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

/** Conv kernel (kh, kw, in, out) with batch norm folded in → ONNX (out, in, kh, kw) and bias. */
function foldConv(conv: Record<string, Weight>, bn: Record<string, Weight>, epsilon: number): { w: Float64Array; b: Float64Array; dims: number[] } {
  const kernel = conv.kernel as Weight;
  const [kh, kw, cin, cout] = kernel.shape as [number, number, number, number];
  const gamma = (bn.gamma as Weight).values;
  const beta = (bn.beta as Weight).values;
  const mean = (bn.moving_mean as Weight).values;
  const variance = (bn.moving_variance as Weight).values;
  const bias = (conv.bias as Weight).values;
  const w = new Float64Array(cout * cin * kh * kw);
  const b = new Float64Array(cout);
  for (let o = 0; o < cout; o++) {
    const scale = (gamma[o] as number) / Math.sqrt((variance[o] as number) + epsilon);
    b[o] = ((bias[o] as number) - (mean[o] as number)) * scale + (beta[o] as number);
    for (let i = 0; i < cin; i++)
      for (let y = 0; y < kh; y++)
        for (let x = 0; x < kw; x++) w[((o * cin + i) * kh + y) * kw + x] = (kernel.values[((y * kw + x) * cin + i) * cout + o] as number) * scale;
  }
  return { w, b, dims: [cout, cin, kh, kw] };
}

// Keras gate blocks i, f, c, o → ONNX i, o, f, c: ONNX block g takes Keras block KERAS_GATE[g].
const KERAS_GATE = [0, 3, 1, 2];

/** One LSTM direction's (rows, 4·units) Keras matrix → ONNX (4·units, rows) with reordered gates. */
function lstmMatrix(m: Weight, units: number): Float64Array {
  const [rows] = m.shape as [number, number];
  const out = new Float64Array(4 * units * rows);
  for (let g = 0; g < 4; g++)
    for (let u = 0; u < units; u++) {
      const col = (KERAS_GATE[g] as number) * units + u;
      for (let r = 0; r < rows; r++) out[(g * units + u) * rows + r] = m.values[r * 4 * units + col] as number;
    }
  return out;
}

function lstmBias(bias: Weight, units: number): Float64Array {
  const out = new Float64Array(8 * units); // Wb (reordered Keras bias), then Rb = 0
  for (let g = 0; g < 4; g++) for (let u = 0; u < units; u++) out[g * units + u] = bias.values[(KERAS_GATE[g] as number) * units + u] as number;
  return out;
}

function concat(parts: Float64Array[]): Float64Array {
  const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Builds the ONNX graph of a network made by `createModel` (either network; trained or not) with the
 * normalisation folded in front. Pure: reads the weights, touches no file.
 *
 * @throws TypeError when the model is not the reference network (missing layer, other shapes).
 */
export function buildOnnxGraph(model: tfl.LayersModel, normalisation: BandNormalisation, options: GraphOptions): onnx.IGraphProto {
  const inputShape = model.inputs[0]?.shape ?? [];
  const [, chunks, mels, frames, channels] = inputShape as number[];
  if (inputShape.length !== 5 || channels !== 1 || !chunks || !mels || !frames) {
    throw new TypeError(`exportOnnx: expected a model with input (batch, chunks, mels, frames, 1), got [${inputShape}]`);
  }
  checkNormalisation(`exportOnnx: the normalisation of a model with ${mels} mel bands`, normalisation, mels);

  const initializers: onnx.ITensorProto[] = [];
  const nodes: onnx.INodeProto[] = [];
  const constant = (t: onnx.ITensorProto) => {
    initializers.push(t);
    return t.name as string;
  };

  // Normalisation, broadcast over (batch, chunk, ·, frame); with utterance centring, each clip's
  // own band means (over its chunks and frames) come off first.
  let input = ONNX_INPUT;
  if (normalisation.centre === 'utterance') {
    nodes.push(node('ReduceMean', [ONNX_INPUT], ['utterance_mean'], { axes: [1, 3], keepdims: 1 }));
    nodes.push(node('Sub', [ONNX_INPUT, 'utterance_mean'], ['utterance_centred']));
    input = 'utterance_centred';
  }
  const mean = constant(floatTensor('norm_mean', [1, 1, mels, 1], normalisation.mean));
  const invStd = constant(floatTensor('norm_inv_std', [1, 1, mels, 1], normalisation.std.map((s) => 1 / s)));
  nodes.push(node('Sub', [input, mean], ['centred']));
  nodes.push(node('Mul', ['centred', invStd], ['normalised']));
  const classes = EMOTIONS.length;
  const graph = (extraOutputs: onnx.IValueInfoProto[] = []): onnx.IGraphProto => ({
    name: options.name,
    node: nodes,
    initializer: initializers,
    input: [valueInfo(ONNX_INPUT, [ONNX_BATCH_DIM, chunks, mels, frames])],
    output: [valueInfo(ONNX_PROBABILITIES, [ONNX_BATCH_DIM, classes]), valueInfo(ONNX_ATTENTION, [ONNX_BATCH_DIM, chunks]), ...extraOutputs],
  });
  if (model.layers.some((l) => l.getClassName() === 'SpeechStatistics')) {
    const width = statisticsGraph(model, { nodes, constant, mels, frames });
    // The clips' statistics are an output too, for an adapter to standardise per speaker (whether
    // or not the network was trained so, unless it adapts its mel bands): see SpeakerStatisticsAdaptation.
    return normalisation.adapt === 'speaker' ? graph() : graph([valueInfo(ONNX_STATISTICS, [ONNX_BATCH_DIM, width])]);
  }
  nodes.push(node('Reshape', ['normalised', constant(int64Tensor('shape_chunk_images', [-1, 1, mels, frames]))], ['chunk_images']));

  // Convolution blocks; the batch-norm epsilon is the layer's own.
  let x = 'chunk_images';
  let cin = 1;
  let height = mels;
  let width = frames;
  for (const [i, pool] of [2, 4, 4].entries()) {
    const n = `block${i + 1}`;
    const convLayer = getLayer(model, `${n}_conv`) as unknown as { layer: { getConfig(): { filters: number } } };
    const cout = convLayer.layer?.getConfig().filters;
    if (!Number.isInteger(cout)) throw new TypeError(`exportOnnx: layer '${n}_conv' is not a wrapped Conv2D`);
    const conv = layerWeights(model, `${n}_conv`, { kernel: [3, 3, cin, cout], bias: [cout] });
    const bn = layerWeights(model, `${n}_bn`, { gamma: [cout], beta: [cout], moving_mean: [cout], moving_variance: [cout] });
    const bnLayer = getLayer(model, `${n}_bn`) as unknown as { layer: { getConfig(): { epsilon: number } } };
    const folded = foldConv(conv, bn, bnLayer.layer.getConfig().epsilon);
    const w = constant(floatTensor(`${n}_conv_weight`, folded.dims, folded.w));
    const b = constant(floatTensor(`${n}_conv_bias`, [cout], folded.b));
    nodes.push(node('Conv', [x, w, b], [`${n}_conv`], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1], dilations: [1, 1], group: 1 }));
    nodes.push(node('Relu', [`${n}_conv`], [`${n}_relu`]));
    nodes.push(node('MaxPool', [`${n}_relu`], [`${n}_pool`], { kernel_shape: [pool, pool], strides: [pool, pool] }));
    x = `${n}_pool`;
    cin = cout;
    height = Math.floor(height / pool);
    width = Math.floor(width / pool);
  }

  // chunk_dense: permute the kernel rows from channels-last flatten order to channels-first.
  const flat = cin * height * width;
  const dense = layerWeights(model, 'chunk_dense', { kernel: [flat, 256], bias: [256] });
  const denseUnits = 256;
  const denseKernel = new Float64Array(flat * denseUnits);
  for (let c = 0; c < cin; c++)
    for (let h = 0; h < height; h++)
      for (let w = 0; w < width; w++) {
        const onnxRow = (c * height + h) * width + w;
        const tfjsRow = (h * width + w) * cin + c;
        denseKernel.set((dense.kernel as Weight).values.subarray(tfjsRow * denseUnits, (tfjsRow + 1) * denseUnits), onnxRow * denseUnits);
      }
  nodes.push(node('Reshape', [x, constant(int64Tensor('shape_chunk_flat', [-1, flat]))], ['chunk_flat']));
  nodes.push(node('MatMul', ['chunk_flat', constant(floatTensor('chunk_dense_weight', [flat, denseUnits], denseKernel))], ['chunk_dense_matmul']));
  nodes.push(node('Add', ['chunk_dense_matmul', constant(floatTensor('chunk_dense_bias', [denseUnits], (dense.bias as Weight).values))], ['chunk_dense_linear']));
  nodes.push(node('Relu', ['chunk_dense_linear'], ['chunk_features']));

  // Bidirectional LSTM on (steps, batch, features).
  const units = 128;
  const lstm = layerWeights(model, 'bilstm', {
    'forward_lstm/kernel': [denseUnits, 4 * units],
    'forward_lstm/recurrent_kernel': [units, 4 * units],
    'forward_lstm/bias': [4 * units],
    'backward_lstm/kernel': [denseUnits, 4 * units],
    'backward_lstm/recurrent_kernel': [units, 4 * units],
    'backward_lstm/bias': [4 * units],
  });
  const forwardConfig = (getLayer(model, 'bilstm') as unknown as { forwardLayer?: tfl.layers.Layer }).forwardLayer?.getConfig() ?? {};
  if (forwardConfig.activation !== 'tanh' || forwardConfig.recurrentActivation !== 'sigmoid') {
    // ONNX's LSTM defaults are the logistic sigmoid and tanh; anything else would compute another function.
    throw new TypeError(`exportOnnx: the LSTM must use tanh and sigmoid (it has ${String(forwardConfig.activation)} and ${String(forwardConfig.recurrentActivation)})`);
  }
  const dir = (d: string, k: string) => lstm[`${d}_lstm/${k}`] as Weight;
  const lstmW = concat(['forward', 'backward'].map((d) => lstmMatrix(dir(d, 'kernel'), units)));
  const lstmR = concat(['forward', 'backward'].map((d) => lstmMatrix(dir(d, 'recurrent_kernel'), units)));
  const lstmB = concat(['forward', 'backward'].map((d) => lstmBias(dir(d, 'bias'), units)));
  nodes.push(node('Reshape', ['chunk_features', constant(int64Tensor('shape_sequence', [-1, chunks, denseUnits]))], ['sequence']));
  nodes.push(node('Transpose', ['sequence'], ['sequence_time_major'], { perm: [1, 0, 2] }));
  nodes.push(
    node(
      'LSTM',
      [
        'sequence_time_major',
        constant(floatTensor('bilstm_W', [2, 4 * units, denseUnits], lstmW)),
        constant(floatTensor('bilstm_R', [2, 4 * units, units], lstmR)),
        constant(floatTensor('bilstm_B', [2, 8 * units], lstmB)),
      ],
      ['bilstm_Y'],
      { direction: 'bidirectional', hidden_size: units },
    ),
  );
  nodes.push(node('Transpose', ['bilstm_Y'], ['bilstm_batch_major'], { perm: [2, 0, 1, 3] }));
  nodes.push(node('Reshape', ['bilstm_batch_major', constant(int64Tensor('shape_bilstm_out', [-1, chunks, 2 * units]))], ['bilstm_out']));

  // Attention pooling.
  const att = layerWeights(model, 'attention', { kernel: [2 * units, 1], bias: [1] });
  nodes.push(node('MatMul', ['bilstm_out', constant(floatTensor('attention_weight', [2 * units, 1], (att.kernel as Weight).values))], ['attention_matmul']));
  nodes.push(node('Add', ['attention_matmul', constant(floatTensor('attention_bias', [1], (att.bias as Weight).values))], ['attention_score3']));
  nodes.push(node('Reshape', ['attention_score3', constant(int64Tensor('shape_scores', [-1, chunks]))], ['attention_scores']));
  nodes.push(node('Softmax', ['attention_scores'], [ONNX_ATTENTION], { axis: -1 }));
  nodes.push(node('Reshape', [ONNX_ATTENTION, constant(int64Tensor('shape_weights_row', [-1, 1, chunks]))], ['attention_row']));
  nodes.push(node('MatMul', ['attention_row', 'bilstm_out'], ['context3']));
  nodes.push(node('Reshape', ['context3', constant(int64Tensor('shape_context', [-1, 2 * units]))], ['context']));

  classifier(model, nodes, constant, 'context', 2 * units);
  return graph();
}

/** The softmax layer `output` on `features` (batch, width) → `probabilities`. */
function classifier(model: tfl.LayersModel, nodes: onnx.INodeProto[], constant: (t: onnx.ITensorProto) => string, features: string, width: number): void {
  const classes = EMOTIONS.length;
  const output = layerWeights(model, 'output', { kernel: [width, classes], bias: [classes] });
  nodes.push(node('MatMul', [features, constant(floatTensor('output_weight', [width, classes], (output.kernel as Weight).values))], ['logits_matmul']));
  nodes.push(node('Add', ['logits_matmul', constant(floatTensor('output_bias', [classes], (output.bias as Weight).values))], ['logits']));
  nodes.push(node('Softmax', ['logits'], [ONNX_PROBABILITIES], { axis: -1 }));
}

interface GraphParts {
  nodes: onnx.INodeProto[];
  constant: (t: onnx.ITensorProto) => string;
  mels: number;
  frames: number;
}

/**
 * The statistics network (lib/nn/statistics.ts) on `normalised` (batch, chunks, mels, frames), step
 * for step as SpeechStatistics computes it; the batch normalisation becomes Sub, Mul and Add. The
 * statistics are the tensor {@link ONNX_STATISTICS}.
 *
 * @returns the number of statistics.
 */
function statisticsGraph(model: tfl.LayersModel, { nodes, constant, mels, frames }: GraphParts): number {
  const layer = getLayer(model, 'statistics').getConfig() as { chunks: number[]; threshold: number; cepstra?: number; contour?: boolean };
  const cepstra = layer.cepstra ?? 0;
  const picked = layer.chunks;
  const steps = picked.length * frames;
  const add = (opType: string, inputs: string[], output: string, attributes: Record<string, number | number[] | string> = {}) => {
    nodes.push(node(opType, inputs, [output], attributes));
    return output;
  };
  const ints = (name: string, values: number[]) => constant(int64Tensor(name, values));
  const float = (name: string, value: number) => constant(floatTensor(name, [], [value]));
  const axis2 = ints('stat_axis_time', [2]);
  // (batch, mels, steps): the picked chunks one after another in time.
  add('Gather', ['normalised', ints('stat_chunks', picked)], 'stat_picked', { axis: 1 });
  add('Transpose', ['stat_picked'], 'stat_bands_first', { perm: [0, 2, 1, 3] });
  const bands = add('Reshape', ['stat_bands_first', ints('shape_stat_frames', [-1, mels, steps])], 'stat_frames');
  add('ReduceMean', [bands], 'stat_level', { axes: [1], keepdims: 1 });
  // (batch, mels + cepstra, steps): the bands, then their cepstra (MatMul broadcasts over the batch).
  const s =
    cepstra === 0
      ? bands
      : (add('MatMul', [constant(floatTensor('stat_dct', [cepstra, mels], dctMatrix(cepstra, mels))), bands], 'stat_cepstra'),
        add('Concat', [bands, 'stat_cepstra'], 'stat_rows', { axis: 1 }));
  add('ReduceMax', ['stat_level'], 'stat_loudest', { axes: [2], keepdims: 1 });
  const floor = add('Sub', ['stat_loudest', float('stat_threshold', layer.threshold)], 'stat_floor');
  add('Greater', ['stat_level', floor], 'stat_speech_bool');
  const speech = add('Cast', ['stat_speech_bool'], 'stat_speech', { to: onnx.TensorProto.DataType.FLOAT });
  const count = add('ReduceSum', [speech, axis2], 'stat_count', { keepdims: 1 });
  add('Mul', [s, speech], 'stat_masked');
  add('ReduceSum', ['stat_masked', axis2], 'stat_sum', { keepdims: 1 });
  const mean = add('Div', ['stat_sum', count], 'stat_mean');
  add('Sub', [s, mean], 'stat_centred');
  add('Mul', ['stat_centred', 'stat_centred'], 'stat_squared');
  add('Mul', ['stat_squared', speech], 'stat_squared_masked');
  add('ReduceSum', ['stat_squared_masked', axis2], 'stat_sum_squares', { keepdims: 1 });
  add('Div', ['stat_sum_squares', count], 'stat_variance');
  const sd = add('Sqrt', ['stat_variance'], 'stat_sd');
  const slice = (input: string, from: number, to: number, output: string) =>
    add('Slice', [input, ints(`${output}_starts`, [from]), ints(`${output}_ends`, [to]), axis2], output);
  slice(speech, 1, steps, 'stat_speech_next');
  slice(speech, 0, steps - 1, 'stat_speech_this');
  add('Mul', ['stat_speech_next', 'stat_speech_this'], 'stat_pair');
  slice(s, 1, steps, 'stat_next');
  slice(s, 0, steps - 1, 'stat_this');
  add('Sub', ['stat_next', 'stat_this'], 'stat_step');
  add('Abs', ['stat_step'], 'stat_step_size');
  add('Mul', ['stat_step_size', 'stat_pair'], 'stat_step_masked');
  add('ReduceSum', ['stat_step_masked', axis2], 'stat_step_sum', { keepdims: 1 });
  add('ReduceSum', ['stat_pair', axis2], 'stat_pairs', { keepdims: 1 });
  add('Max', ['stat_pairs', float('stat_one', 1)], 'stat_pairs_at_least_one');
  const change = add('Div', ['stat_step_sum', 'stat_pairs_at_least_one'], 'stat_change');
  add('Concat', [mean, sd, change], 'stat_concat', { axis: 1 });
  const perRow = STATISTICS_PER_BAND * (mels + cepstra);
  const width = perRow + (layer.contour === true ? CONTOUR_STATISTICS : 0);
  if (layer.contour === true) {
    // The share of speech frames, the loudest frame's level, the speech onsets: (batch, 3).
    add('Reshape', ['stat_concat', ints('shape_stat_per_row', [-1, perRow])], 'stat_per_row');
    add('Div', [count, float('stat_steps', steps)], 'stat_speech_share');
    add('Sub', [float('stat_one_minus', 1), 'stat_speech_this'], 'stat_not_speech_this');
    add('Mul', ['stat_speech_next', 'stat_not_speech_this'], 'stat_onset');
    add('ReduceSum', ['stat_onset', axis2], 'stat_onsets', { keepdims: 1 });
    add('Concat', ['stat_speech_share', 'stat_loudest', 'stat_onsets'], 'stat_contour_3d', { axis: 1 });
    add('Reshape', ['stat_contour_3d', ints('shape_stat_contour', [-1, CONTOUR_STATISTICS])], 'stat_contour');
    add('Concat', ['stat_per_row', 'stat_contour'], ONNX_STATISTICS, { axis: 1 });
  } else add('Reshape', ['stat_concat', ints('shape_statistics', [-1, width])], ONNX_STATISTICS);

  // The batch normalisation at inference: (x − moving mean) · γ/√(moving variance + ε) + β.
  const bn = layerWeights(model, 'statistics_bn', { gamma: [width], beta: [width], moving_mean: [width], moving_variance: [width] });
  const epsilon = (getLayer(model, 'statistics_bn').getConfig() as { epsilon: number }).epsilon;
  const gamma = (bn.gamma as Weight).values;
  const scale = Float64Array.from((bn.moving_variance as Weight).values, (v, i) => (gamma[i] as number) / Math.sqrt(v + epsilon));
  add('Sub', [ONNX_STATISTICS, constant(floatTensor('statistics_bn_mean', [width], (bn.moving_mean as Weight).values))], 'statistics_centred');
  add('Mul', ['statistics_centred', constant(floatTensor('statistics_bn_scale', [width], scale))], 'statistics_scaled');
  add('Add', ['statistics_scaled', constant(floatTensor('statistics_bn_beta', [width], (bn.beta as Weight).values))], 'statistics_standardised');
  classifier(model, nodes, constant, 'statistics_standardised', width);

  // Attention: every chunk's share of the speech frames, against the same floor.
  add('ReduceMean', ['normalised'], 'stat_chunk_level', { axes: [2], keepdims: 0 }); // (batch, chunks, frames)
  add('Greater', ['stat_chunk_level', floor], 'stat_chunk_speech_bool');
  add('Cast', ['stat_chunk_speech_bool'], 'stat_chunk_speech', { to: onnx.TensorProto.DataType.FLOAT });
  add('ReduceSum', ['stat_chunk_speech', axis2], 'stat_chunk_counts', { keepdims: 0 });
  add('ReduceSum', ['stat_chunk_counts', ints('stat_axis_chunks', [1])], 'stat_all_counts', { keepdims: 1 });
  add('Div', ['stat_chunk_counts', 'stat_all_counts'], ONNX_ATTENTION);
  return width;
}
