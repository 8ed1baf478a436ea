// The kernels of the emo-native backend that run in the addon. Each checks
// what its native implementation supports and otherwise hands the call to the
// cpu kernel through fallback(), which counts and logs it.
import * as tf from '@tensorflow/tfjs-core';
import { native } from '../../native';
import {
  allocFloats,
  allocWords,
  discard,
  EMO_ADAM,
  EMO_BATCH_NORM_TRAIN,
  EMO_BATCH_NORM_TRAIN_GRAD,
  EMO_DROPOUT,
  EMO_RELU_GRAD,
  EMO_SQUARE_GRAD,
  EmoNativeBackend,
  fallback,
  floatValues,
  output,
  sizeOf,
  type KernelArgs,
} from './core';

type Kernel = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];
type Shape4 = [number, number, number, number];

// Numbering shared with src/nn/activation.hpp.
const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, relu6: 2, leakyrelu: 3, elu: 4, sigmoid: 5 };

function activationCode(activation: string | null | undefined): number | null {
  if (activation == null) return 0;
  return ACTIVATIONS[activation] ?? null;
}

/** A kernel input tfjs always passes (tfjs-core checks them before calling). */
function required(args: KernelArgs, name: string): tf.TensorInfo {
  const t = args.inputs[name];
  if (t === undefined) throw new Error(`kernel input ${name} is missing`);
  return t;
}

function positive(values: number[]): boolean {
  return values.every((v) => Number.isInteger(v) && v > 0);
}

/**
 * The native dims of a 2-D convolution, or null when tfjs' geometry is not one
 * oneDNN computes the same way (empty tensors, padding that does not yield
 * the output size tfjs expects).
 */
function convDims(info: tf.backend_util.Conv2DInfo): number[] | null {
  const p = info.padInfo;
  const dims = [
    info.batchSize, info.inHeight, info.inWidth, info.inChannels,
    info.outHeight, info.outWidth, info.outChannels,
    info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth,
    info.dilationHeight, info.dilationWidth, p.top, p.left, p.bottom, p.right,
  ];
  if (!positive(dims.slice(0, 13)) || !dims.slice(13).every((v) => Number.isInteger(v) && v >= 0)) return null;
  const effH = (info.filterHeight - 1) * info.dilationHeight + 1;
  const effW = (info.filterWidth - 1) * info.dilationWidth + 1;
  if (Math.floor((info.inHeight + p.top + p.bottom - effH) / info.strideHeight) + 1 !== info.outHeight) return null;
  if (Math.floor((info.inWidth + p.left + p.right - effW) / info.strideWidth) + 1 !== info.outWidth) return null;
  return dims;
}

const NO_DIRECT_KERNEL = 'oneDNN has no direct kernel for this shape on this CPU';

function conv2d(name: string, fused: boolean): Kernel {
  return (args) => {
    const backend = args.backend as EmoNativeBackend;
    const x = required(args, 'x'), filter = required(args, 'filter');
    const { bias, preluActivationWeights } = args.inputs;
    const attrs = args.attrs as unknown as tf.FusedConv2DAttrs;
    if (attrs.dataFormat === 'NCHW') return fallback(name, 'NCHW data format', args);
    const xv = floatValues(backend, x), wv = floatValues(backend, filter);
    if (xv === null || wv === null) return fallback(name, 'input is not float32', args);
    const activation = fused ? activationCode(attrs.activation) : 0;
    if (activation === null || preluActivationWeights !== undefined) return fallback(name, `activation ${attrs.activation}`, args);
    const info = tf.backend_util.computeConv2DInfo(x.shape as Shape4, filter.shape as Shape4, attrs.strides,
      attrs.dilations, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
    const dims = convDims(info);
    if (dims === null) return fallback(name, 'empty tensor or padding oneDNN cannot express', args);
    let biasValues: Float32Array | null = null;
    if (bias !== undefined) {
      const bv = floatValues(backend, bias);
      const n = sizeOf(bias.shape);
      if (bv === null || (n !== 1 && (n !== info.outChannels || bias.shape[bias.shape.length - 1] !== n)))
        return fallback(name, `bias of shape [${bias.shape}]`, args);
      biasValues = n === info.outChannels ? bv : new Float32Array(info.outChannels).fill(bv[0]);
    }
    const out = allocFloats(sizeOf(info.outShape));
    if (!native.nnConv2d(xv, wv, biasValues, out, dims, activation, attrs.leakyreluAlpha ?? 0.2)) {
      discard(out);
      return fallback(name, NO_DIRECT_KERNEL, args);
    }
    return output(backend, info.outShape, out);
  };
}

const conv2dBackpropInput: Kernel = (args) => {
  const name = tf.Conv2DBackpropInput;
  const backend = args.backend as EmoNativeBackend;
  const dy = required(args, 'dy'), filter = required(args, 'filter');
  const attrs = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
  if (attrs.dataFormat === 'NCHW') return fallback(name, 'NCHW data format', args);
  const dyv = floatValues(backend, dy), wv = floatValues(backend, filter);
  if (dyv === null || wv === null) return fallback(name, 'input is not float32', args);
  const info = tf.backend_util.computeConv2DInfo(attrs.inputShape, filter.shape as Shape4, attrs.strides, 1, attrs.pad,
    attrs.dimRoundingMode, false, 'channelsLast');
  const dims = convDims(info);
  if (dims === null || !tf.util.arraysEqual(info.outShape, dy.shape)) return fallback(name, 'empty tensor or padding oneDNN cannot express', args);
  const out = allocFloats(sizeOf(info.inShape));
  if (!native.nnConv2dBackpropInput(dyv, wv, out, dims)) {
    discard(out);
    return fallback(name, NO_DIRECT_KERNEL, args);
  }
  return output(backend, info.inShape.slice(), out);
};

const conv2dBackpropFilter: Kernel = (args) => {
  const name = tf.Conv2DBackpropFilter;
  const backend = args.backend as EmoNativeBackend;
  const x = required(args, 'x'), dy = required(args, 'dy');
  const attrs = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  if (attrs.dataFormat === 'NCHW') return fallback(name, 'NCHW data format', args);
  const xv = floatValues(backend, x), dyv = floatValues(backend, dy);
  if (xv === null || dyv === null) return fallback(name, 'input is not float32', args);
  const info = tf.backend_util.computeConv2DInfo(x.shape as Shape4, attrs.filterShape, attrs.strides, 1, attrs.pad,
    attrs.dimRoundingMode, false, 'channelsLast');
  const dims = convDims(info);
  if (dims === null || !tf.util.arraysEqual(info.outShape, dy.shape)) return fallback(name, 'empty tensor or padding oneDNN cannot express', args);
  const out = allocFloats(sizeOf(info.filterShape));
  if (!native.nnConv2dBackpropFilter(xv, dyv, out, dims)) {
    discard(out);
    return fallback(name, NO_DIRECT_KERNEL, args);
  }
  return output(backend, info.filterShape.slice(), out);
};

function poolDims(info: tf.backend_util.Conv2DInfo): number[] | null {
  const dims = [
    info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth,
    info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left,
  ];
  if (!positive(dims.slice(0, 10)) || dims[10] < 0 || dims[11] < 0) return null;
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) return null;
  return dims;
}

const maxPool: Kernel = (args) => {
  const name = tf.MaxPool;
  const backend = args.backend as EmoNativeBackend;
  const x = required(args, 'x');
  const attrs = args.attrs as unknown as tf.MaxPoolAttrs;
  const xv = floatValues(backend, x);
  if (xv === null) return fallback(name, 'input is not float32', args);
  const info = tf.backend_util.computePool2DInfo(x.shape as Shape4, attrs.filterSize, attrs.strides, 1, attrs.pad,
    attrs.dimRoundingMode);
  const dims = poolDims(info);
  if (dims === null) return fallback(name, 'empty tensor', args);
  const out = allocFloats(sizeOf(info.outShape));
  native.nnMaxPool(xv, out, dims);
  return output(backend, info.outShape, out);
};

const maxPoolGrad: Kernel = (args) => {
  const name = tf.MaxPoolGrad;
  const backend = args.backend as EmoNativeBackend;
  const dy = required(args, 'dy'), input = required(args, 'input');
  const attrs = args.attrs as unknown as tf.MaxPoolGradAttrs;
  const dyv = floatValues(backend, dy), xv = floatValues(backend, input);
  if (dyv === null || xv === null) return fallback(name, 'input is not float32', args);
  const info = tf.backend_util.computePool2DInfo(input.shape as Shape4, attrs.filterSize, attrs.strides, 1, attrs.pad,
    attrs.dimRoundingMode);
  const dims = poolDims(info);
  if (dims === null || !tf.util.arraysEqual(info.outShape, dy.shape)) return fallback(name, 'empty tensor', args);
  const out = allocFloats(sizeOf(input.shape));
  native.nnMaxPoolGrad(dyv, xv, out, dims);
  return output(backend, input.shape.slice(), out);
};

function matMul(name: string, fused: boolean): Kernel {
  return (args) => {
    const backend = args.backend as EmoNativeBackend;
    const a = required(args, 'a'), b = required(args, 'b');
    const { bias, preluActivationWeights } = args.inputs;
    const attrs = args.attrs as unknown as tf._FusedMatMulAttrs;
    const av = floatValues(backend, a), bv = floatValues(backend, b);
    if (av === null || bv === null) return fallback(name, 'input is not float32', args);
    const activation = fused ? activationCode(attrs.activation) : 0;
    if (activation === null || preluActivationWeights !== undefined) return fallback(name, `activation ${attrs.activation}`, args);
    const aRank = a.shape.length, bRank = b.shape.length;
    if (aRank < 2 || bRank < 2) return fallback(name, 'rank below 2', args);
    const { transposeA, transposeB } = attrs;
    const m = transposeA ? a.shape[aRank - 1] : a.shape[aRank - 2];
    const k = transposeA ? a.shape[aRank - 2] : a.shape[aRank - 1];
    const kb = transposeB ? b.shape[bRank - 1] : b.shape[bRank - 2];
    const n = transposeB ? b.shape[bRank - 2] : b.shape[bRank - 1];
    if (k !== kb) return fallback(name, 'inner dimensions differ', args);
    const batchA = sizeOf(a.shape.slice(0, -2)), batchB = sizeOf(b.shape.slice(0, -2));
    const outerShape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
    const batch = sizeOf(outerShape);
    if (batch !== Math.max(batchA, batchB) || (batchA !== batchB && batchA !== 1 && batchB !== 1))
      return fallback(name, 'batch broadcasting beyond one operand of batch 1', args);
    if (!positive([batch, m, n, k])) return fallback(name, 'empty tensor', args);
    const outShape = [...outerShape, m, n];
    let biasValues: Float32Array | null = null;
    if (bias !== undefined) {
      const biasSize = sizeOf(bias.shape);
      const rowVector = biasSize === n && bias.shape[bias.shape.length - 1] === n && bias.shape.length <= outShape.length;
      biasValues = floatValues(backend, bias);
      if (biasValues === null || !(biasSize === 1 || rowVector)) return fallback(name, `bias of shape [${bias.shape}]`, args);
    }
    const out = allocFloats(batch * m * n);
    native.nnMatMul(av, bv, biasValues, out, [batchA, batchB, m, n, k, transposeA ? 1 : 0, transposeB ? 1 : 0],
      activation, attrs.leakyreluAlpha ?? 0.2);
    return output(backend, outShape, out);
  };
}

const fusedBatchNorm: Kernel = (args) => {
  const name = tf.FusedBatchNorm;
  const backend = args.backend as EmoNativeBackend;
  const x = required(args, 'x'), mean = required(args, 'mean'), variance = required(args, 'variance');
  const { offset, scale } = args.inputs;
  const attrs = args.attrs as unknown as tf.FusedBatchNormAttrs;
  const xv = floatValues(backend, x), mv = floatValues(backend, mean), vv = floatValues(backend, variance);
  const ov = offset === undefined ? null : floatValues(backend, offset);
  const sv = scale === undefined ? null : floatValues(backend, scale);
  if (xv === null || mv === null || vv === null || (offset !== undefined && ov === null) || (scale !== undefined && sv === null))
    return fallback(name, 'input is not float32', args);
  if (xv.length === 0 || mv.length === 0 || vv.length === 0 || ov?.length === 0 || sv?.length === 0)
    return fallback(name, 'empty tensor', args);
  const out = allocFloats(xv.length);
  native.nnBatchNorm(xv, mv, vv, ov, sv, attrs.varianceEpsilon ?? 0.001, out);
  return output(backend, x.shape.slice(), out);
};

// Numbering shared with src/nn/eltwise.hpp.
const UNARY: Record<string, number> = {
  [tf.Relu]: 0, [tf.Relu6]: 1, [tf.LeakyRelu]: 2, [tf.Elu]: 3, [tf.Sigmoid]: 4, [tf.Step]: 5, [tf.Square]: 6,
  [tf.Sqrt]: 7, [tf.Rsqrt]: 8, [tf.Neg]: 9, [tf.Exp]: 10, [tf.Log]: 11, [tf.Abs]: 12, [tf.Floor]: 13, [tf.Tanh]: 14,
  [tf.Reciprocal]: 15,
};
const BINARY: Record<string, number> = {
  [tf.Add]: 0, [tf.Sub]: 1, [tf.Multiply]: 2, [tf.RealDiv]: 3, [tf.Maximum]: 4, [tf.Minimum]: 5,
  [tf.SquaredDifference]: 6,
};

function unary(name: string): Kernel {
  const op = UNARY[name];
  return (args) => {
    const backend = args.backend as EmoNativeBackend;
    const x = required(args, 'x');
    const xv = floatValues(backend, x);
    if (xv === null) return fallback(name, `dtype ${x.dtype}`, args);
    const alpha = (args.attrs as { alpha?: number } | undefined)?.alpha ?? 0;
    const out = allocFloats(xv.length);
    native.nnUnary(op, xv, out, alpha);
    return output(backend, x.shape.slice(), out);
  };
}

function binary(name: string): Kernel {
  const op = BINARY[name];
  return (args) => {
    const backend = args.backend as EmoNativeBackend;
    const a = required(args, 'a'), b = required(args, 'b');
    const av = floatValues(backend, a), bv = floatValues(backend, b);
    if (av === null || bv === null) return fallback(name, `dtypes ${a.dtype}, ${b.dtype}`, args);
    const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const out = allocFloats(sizeOf(outShape));
    native.nnBinary(op, av, a.shape, bv, b.shape, out);
    return output(backend, outShape, out);
  };
}

function reduce(name: string, op: number): Kernel {
  return (args) => {
    const backend = args.backend as EmoNativeBackend;
    const x = required(args, 'x');
    const attrs = args.attrs as unknown as tf.SumAttrs;
    const xv = floatValues(backend, x);
    if (xv === null) return fallback(name, `dtype ${x.dtype}`, args);
    const axes = tf.util.parseAxisParam(attrs.axis, x.shape);
    const [kept] = tf.backend_util.computeOutAndReduceShapes(x.shape, axes);
    const out = allocFloats(sizeOf(kept));
    native.nnReduce(op, xv, x.shape, axes, out);
    const shape = attrs.keepDims ? tf.backend_util.expandShapeToKeepDim(kept, axes) : kept;
    return output(backend, shape, out);
  };
}

/** float32 or int32 values, the two dtypes the layout kernels move. */
function wordValues(backend: EmoNativeBackend, t: tf.TensorInfo): Float32Array | Int32Array | null {
  const values = backend.data.get(t.dataId).values;
  if (t.dtype === 'float32' && values instanceof Float32Array) return values;
  if (t.dtype === 'int32' && values instanceof Int32Array) return values;
  return null;
}

function allocLike(values: Float32Array | Int32Array, length: number): Float32Array | Int32Array {
  return allocWords(values instanceof Float32Array ? 'float32' : 'int32', length);
}

const transpose: Kernel = (args) => {
  const name = tf.Transpose;
  const backend = args.backend as EmoNativeBackend;
  const x = required(args, 'x');
  const { perm } = args.attrs as unknown as tf.TransposeAttrs;
  const xv = wordValues(backend, x);
  if (xv === null) return fallback(name, `dtype ${x.dtype}`, args);
  const out = allocLike(xv, xv.length);
  native.nnTranspose(xv, x.shape, perm, out);
  return backend.makeTensorInfo(perm.map((p) => x.shape[p]), x.dtype, out);
};

const tile: Kernel = (args) => {
  const name = tf.Tile;
  const backend = args.backend as EmoNativeBackend;
  const x = required(args, 'x');
  const { reps } = args.attrs as unknown as tf.TileAttrs;
  const xv = wordValues(backend, x);
  if (xv === null) return fallback(name, `dtype ${x.dtype}`, args);
  const shape = x.shape.map((d, i) => d * reps[i]);
  const out = allocLike(xv, sizeOf(shape));
  native.nnTile(xv, x.shape, reps, out);
  return backend.makeTensorInfo(shape, x.dtype, out);
};

/** Unstack copies: a slice that viewed the input would pin the input's memory until garbage collection. */
const unpack: Kernel = (args) => {
  const name = tf.Unpack;
  const backend = args.backend as EmoNativeBackend;
  const value = required(args, 'value');
  const { axis } = args.attrs as unknown as tf.UnpackAttrs;
  const xv = wordValues(backend, value);
  if (xv === null) return fallback(name, `dtype ${value.dtype}`, args);
  const rank = value.shape.length;
  const ax = axis < 0 ? axis + rank : axis;
  const outer = sizeOf(value.shape.slice(0, ax)), count = value.shape[ax], inner = sizeOf(value.shape.slice(ax + 1));
  const outShape = value.shape.filter((_, i) => i !== ax);
  const outs = Array.from({ length: count }, () => allocLike(xv, outer * inner));
  native.nnUnpack(xv, [outer, count, inner], outs);
  return outs.map((o) => backend.makeTensorInfo(outShape.slice(), value.dtype, o));
};

const pack: Kernel = (args) => {
  const name = tf.Pack;
  const backend = args.backend as EmoNativeBackend;
  const { axis } = args.attrs as unknown as tf.PackAttrs;
  const inputs = Object.keys(args.inputs).map((k) => required(args, k));
  if (inputs.length === 0) return fallback(name, 'no inputs', args);
  const first = inputs[0];
  const values = inputs.map((t) => wordValues(backend, t));
  if (values.some((v) => v === null) || inputs.some((t) => t.dtype !== first.dtype || !tf.util.arraysEqual(t.shape, first.shape)))
    return fallback(name, 'inputs that are not all float32 or int32 of one shape', args);
  const rank = first.shape.length;
  const ax = axis < 0 ? axis + rank + 1 : axis;
  const outer = sizeOf(first.shape.slice(0, ax)), inner = sizeOf(first.shape.slice(ax));
  const outShape = [...first.shape.slice(0, ax), inputs.length, ...first.shape.slice(ax)];
  const words = values as Array<Float32Array | Int32Array>;
  const out = allocLike(words[0], outer * inputs.length * inner);
  native.nnPack(words, [outer, inputs.length, inner], out);
  return backend.makeTensorInfo(outShape, first.dtype, out);
};

const splitV: Kernel = (args) => {
  const name = tf.SplitV;
  const backend = args.backend as EmoNativeBackend;
  const x = required(args, 'x');
  const { numOrSizeSplits, axis } = args.attrs as unknown as tf.SplitVAttrs;
  const xv = wordValues(backend, x);
  if (xv === null) return fallback(name, `dtype ${x.dtype}`, args);
  const ax = tf.util.parseAxisParam(axis, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x, numOrSizeSplits, ax);
  const outer = sizeOf(x.shape.slice(0, ax)), inner = sizeOf(x.shape.slice(ax + 1));
  const outs = sizes.map((size) => allocLike(xv, outer * size * inner));
  native.nnSplit(xv, [outer, x.shape[ax], inner], sizes, outs);
  return outs.map((o, k) => {
    const shape = x.shape.slice();
    shape[ax] = sizes[k];
    return backend.makeTensorInfo(shape, x.dtype, o);
  });
};

const reverse: Kernel = (args) => {
  const name = tf.Reverse;
  const backend = args.backend as EmoNativeBackend;
  const x = required(args, 'x');
  const { dims } = args.attrs as unknown as tf.ReverseAttrs;
  const xv = wordValues(backend, x);
  if (xv === null) return fallback(name, `dtype ${x.dtype}`, args);
  const axes = tf.util.parseAxisParam(dims, x.shape);
  const out = allocLike(xv, xv.length);
  native.nnReverse(xv, x.shape, axes, out);
  return backend.makeTensorInfo(x.shape.slice(), x.dtype, out);
};

function fusedGrad(name: string, op: number): Kernel {
  return (args) => {
    const backend = args.backend as EmoNativeBackend;
    const dy = required(args, 'dy'), x = required(args, 'x');
    const dyv = floatValues(backend, dy), xv = floatValues(backend, x);
    if (dyv === null || xv === null || !tf.util.arraysEqual(dy.shape, x.shape))
      throw new Error(`${name} expects float32 dy and x of one shape`);
    const out = allocFloats(xv.length);
    native.nnBinary(op, dyv, dy.shape, xv, x.shape, out);
    return output(backend, x.shape.slice(), out);
  };
}

/** Attributes of the fused training batch norm kernels. */
export interface BatchNormTrainAttrs {
  epsilon: number;
  relu: boolean;
  /** The moving averages' momentum (forward kernel only). */
  momentum?: number;
}

/**
 * The float32 values of the named inputs, and [rows, channels] of x viewed as
 * channels-last rows, or an Error: these kernels exist only on this backend
 * (no cpu kernel to fall back to), and their callers check what they pass.
 */
function batchNormInputs(name: string, args: KernelArgs, names: string[]): { values: Float32Array[]; dims: [number, number] } {
  const backend = args.backend as EmoNativeBackend;
  const tensors = names.map((n) => required(args, n));
  const x = tensors[names.indexOf('x')] as tf.TensorInfo;
  const channels = x.shape[x.shape.length - 1] ?? 0;
  const values = tensors.map((t) => floatValues(backend, t));
  if (values.some((v) => v === null) || channels === 0 || x.shape.length < 2)
    throw new Error(`${name} expects float32 inputs and an x of rank 2 or more`);
  return { values: values as Float32Array[], dims: [sizeOf(x.shape) / channels, channels] };
}

const batchNormTrain: Kernel = (args) => {
  const backend = args.backend as EmoNativeBackend;
  const { epsilon, relu, momentum } = args.attrs as unknown as BatchNormTrainAttrs;
  const { values: [x, scale, offset, movingMean, movingVariance], dims } =
    batchNormInputs(EMO_BATCH_NORM_TRAIN, args, ['x', 'scale', 'offset', 'movingMean', 'movingVariance']);
  const xInfo = required(args, 'x');
  const y = allocFloats(x.length);
  const C = dims[1];
  const [mean, variance, newMean, newVariance] = [0, 1, 2, 3].map(() => new Float32Array(C)) as [Float32Array, Float32Array, Float32Array, Float32Array];
  native.nnBatchNormTrain(x, scale, offset, movingMean, movingVariance, dims, epsilon, relu, momentum ?? NaN, y, mean, variance, newMean, newVariance);
  return [output(backend, xInfo.shape.slice(), y), ...[mean, variance, newMean, newVariance].map((v) => output(backend, [C], v))];
};

const batchNormTrainGrad: Kernel = (args) => {
  const backend = args.backend as EmoNativeBackend;
  const { epsilon, relu } = args.attrs as unknown as BatchNormTrainAttrs;
  const { values: [x, dy, scale, offset, mean, variance], dims } =
    batchNormInputs(EMO_BATCH_NORM_TRAIN_GRAD, args, ['x', 'dy', 'scale', 'offset', 'mean', 'variance']);
  const dx = allocFloats(x.length);
  const dscale = new Float32Array(dims[1]), doffset = new Float32Array(dims[1]);
  native.nnBatchNormTrainGrad(x, dy, scale, offset, mean, variance, dims, epsilon, relu, dx, dscale, doffset);
  return [output(backend, required(args, 'x').shape.slice(), dx), output(backend, [dims[1]], dscale), output(backend, [dims[1]], doffset)];
};

/** Attributes of {@link EMO_DROPOUT}: the rate in [0, 1) and an unsigned 32-bit seed. */
export interface DropoutAttrs {
  rate: number;
  seed: number;
}

const dropout: Kernel = (args) => {
  const backend = args.backend as EmoNativeBackend;
  const x = required(args, 'x');
  const { rate, seed } = args.attrs as unknown as DropoutAttrs;
  const xv = floatValues(backend, x);
  if (xv === null) throw new Error(`${EMO_DROPOUT} expects a float32 x`);
  const y = allocFloats(xv.length);
  native.nnDropout(xv, rate, seed, y);
  return output(backend, x.shape.slice(), y);
};

/** Attributes of {@link EMO_ADAM}: correctionK is 1 - betaK^t at step t (1-based). */
export interface AdamAttrs {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  correction1: number;
  correction2: number;
}

const adam: Kernel = (args) => {
  const backend = args.backend as EmoNativeBackend;
  const names = ['x', 'm', 'v', 'g'];
  const tensors = names.map((n) => required(args, n));
  const values = tensors.map((t) => floatValues(backend, t));
  const n = sizeOf(tensors[0]!.shape);
  if (values.some((v) => v === null || v.length !== n)) throw new Error(`${EMO_ADAM} expects four float32 tensors of one size`);
  const a = args.attrs as unknown as AdamAttrs;
  const [x, m, v, g] = values as Float32Array[];
  const out = [allocFloats(n), allocFloats(n), allocFloats(n)] as const;
  native.nnAdam(x!, m!, v!, g!, [a.learningRate, a.beta1, a.beta2, a.epsilon, a.correction1, a.correction2], ...out);
  return out.map((o) => output(backend, tensors[0]!.shape.slice(), o));
};

/** Every kernel this backend runs natively, by tfjs kernel name. */
export const NATIVE_KERNELS: ReadonlyMap<string, Kernel> = new Map<string, Kernel>([
  [tf.Conv2D, conv2d(tf.Conv2D, false)],
  [tf.FusedConv2D, conv2d(tf.FusedConv2D, true)],
  [tf.Conv2DBackpropInput, conv2dBackpropInput],
  [tf.Conv2DBackpropFilter, conv2dBackpropFilter],
  [tf.MaxPool, maxPool],
  [tf.MaxPoolGrad, maxPoolGrad],
  [tf.BatchMatMul, matMul(tf.BatchMatMul, false)],
  [tf._FusedMatMul, matMul(tf._FusedMatMul, true)],
  [tf.FusedBatchNorm, fusedBatchNorm],
  ...Object.keys(UNARY).map((name): [string, Kernel] => [name, unary(name)]),
  ...Object.keys(BINARY).map((name): [string, Kernel] => [name, binary(name)]),
  [tf.Sum, reduce(tf.Sum, 0)],
  [tf.Mean, reduce(tf.Mean, 1)],
  [tf.Transpose, transpose],
  [tf.Tile, tile],
  [tf.Unpack, unpack],
  [tf.Pack, pack],
  [tf.SplitV, splitV],
  [tf.Reverse, reverse],
  [EMO_RELU_GRAD, fusedGrad(EMO_RELU_GRAD, 7)],
  [EMO_SQUARE_GRAD, fusedGrad(EMO_SQUARE_GRAD, 8)],
  [EMO_BATCH_NORM_TRAIN, batchNormTrain],
  [EMO_BATCH_NORM_TRAIN_GRAD, batchNormTrainGrad],
  [EMO_DROPOUT, dropout],
  [EMO_ADAM, adam],
]);
