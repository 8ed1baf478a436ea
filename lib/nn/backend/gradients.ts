// Gradients that tfjs builds out of many full-size kernels, computed in a
// few passes when the emo-native backend is active. They replace tfjs' entries
// in its (global) gradient registry with a wrapper that checks the active
// backend and otherwise calls the original, so other backends see no change.
import * as tf from '@tensorflow/tfjs-core';
import { native } from '../../native';
import {
  EMO_BATCH_NORM_TRAIN,
  EMO_BATCH_NORM_TRAIN_GRAD,
  EMO_DROPOUT,
  EMO_RELU_GRAD,
  EMO_SQUARE_GRAD,
  EmoNativeBackend,
  floatValues,
} from './core';

type GradMap = Record<string, () => tf.Tensor>;
/** A faster gradient, or null to use tfjs' own for these arguments. */
type NativeGrad = (dy: tf.Tensor, saved: tf.Tensor[], attrs: tf.NamedAttrMap, backend: EmoNativeBackend) => GradMap | null;

function activeBackend(): EmoNativeBackend | null {
  const backend = tf.engine().backend;
  return backend instanceof EmoNativeBackend ? backend : null;
}

function isFloat(...tensors: Array<tf.Tensor | undefined>): boolean {
  return tensors.every((t) => t === undefined || t.dtype === 'float32');
}

/** reps that broadcast a reduced tensor (keepDims shape) back to `shape`. */
function repsFor(shape: number[], axes: number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? d : 1));
}

const reluGrad: NativeGrad = (dy, [x]) =>
  isFloat(dy, x) && tf.util.arraysEqual(dy.shape, x.shape)
    ? { x: () => tf.engine().runKernel(EMO_RELU_GRAD, { dy, x }) as tf.Tensor }
    : null;

const squareGrad: NativeGrad = (dy, [x]) =>
  isFloat(dy, x) && tf.util.arraysEqual(dy.shape, x.shape)
    ? { x: () => tf.engine().runKernel(EMO_SQUARE_GRAD, { dy, x }) as tf.Tensor }
    : null;

// tfjs: dy * ones(x.shape) / n, which fills a full-size array of ones in
// JavaScript. Dividing the small dy first and tiling gives the same values.
const meanGrad: NativeGrad = (dy, [x], attrs) => {
  if (!isFloat(dy)) return null;
  const axes = tf.util.parseAxisParam((attrs as unknown as tf.MeanAttrs).axis, x.shape);
  const expanded = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const count = axes.reduce((n, a) => n * x.shape[a], 1);
  return { x: () => tf.tile(tf.div(tf.reshape(dy, expanded), count), repsFor(x.shape, axes)) };
};

const sumGrad: NativeGrad = (dy, [x], attrs) => {
  if (!isFloat(dy)) return null;
  const axes = tf.util.parseAxisParam((attrs as unknown as tf.SumAttrs).axis, x.shape);
  const expanded = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  return { x: () => tf.tile(tf.reshape(dy, expanded), repsFor(x.shape, axes)) };
};

// tfjs computes each of the five gradients with its own chain of full-size
// products and sums (about fourteen passes over x-sized tensors). All five
// follow from two per-channel sums, taken in one native pass:
//   k = scale / sqrt(variance + eps)
//   dx = dy * k,  dmean = -k * sum(dy),  dvariance = -k / (2 (variance + eps)) * sum(dy (x - mean)),
//   dscale = sum(dy (x - mean)) / sqrt(variance + eps),  doffset = sum(dy)
const batchNormGrad: NativeGrad = (dy, saved, attrs, backend) => {
  const [x, mean, variance, scale] = saved;
  if (!isFloat(dy, x, mean, variance, scale) || mean.rank !== 1 || x.rank !== 4) return null;
  const channels = mean.shape[0];
  if (x.shape[3] !== channels || !tf.util.arraysEqual(variance.shape, mean.shape) ||
      (scale !== undefined && !tf.util.arraysEqual(scale.shape, mean.shape)) || !tf.util.arraysEqual(dy.shape, x.shape)) {
    return null;
  }
  const xv = floatValues(backend, x), dyv = floatValues(backend, dy), mv = floatValues(backend, mean);
  const vv = floatValues(backend, variance), sv = scale === undefined ? null : floatValues(backend, scale);
  if (xv === null || dyv === null || mv === null || vv === null || (scale !== undefined && sv === null)) return null;
  const epsilon = (attrs as unknown as tf.FusedBatchNormAttrs).varianceEpsilon ?? 0.001;
  const inv = Float64Array.from(vv, (v) => 1 / Math.sqrt(v + epsilon));
  const k = Float32Array.from(inv, (r, c) => r * (sv === null ? 1 : sv[c]));
  let sums: Float64Array | null = null;
  const perChannel = (f: (sumDy: number, sumDyXmu: number, c: number) => number) => () => {
    sums ??= native.nnBatchNormGradSums(xv, dyv, mv);
    const s = sums;
    return tf.tensor1d(Float32Array.from({ length: channels }, (_, c) => f(s[c], s[channels + c], c)));
  };
  return {
    x: () => tf.mul(dy, tf.tensor1d(k)),
    mean: perChannel((sumDy, _, c) => -k[c] * sumDy),
    variance: perChannel((_, sumDyXmu, c) => -0.5 * inv[c] * inv[c] * k[c] * sumDyXmu),
    scale: perChannel((_, sumDyXmu, c) => inv[c] * sumDyXmu),
    offset: perChannel((sumDy) => sumDy),
  };
};

/** The kernels whose gradients this module provides. */
export const NATIVE_GRADIENTS: ReadonlyMap<string, NativeGrad> = new Map([
  [tf.Relu, reluGrad],
  [tf.Square, squareGrad],
  [tf.Mean, meanGrad],
  [tf.Sum, sumGrad],
  [tf.FusedBatchNorm, batchNormGrad],
]);

// Gradients of the kernels that only the emo-native layers (../layers) launch.
// Each input's gradient is a separate function, and tfjs calls only those of
// inputs that lead to a trained weight: the model's input features get no
// backward pass, which tfjs' own fused conv2d (a customGrad computing every
// gradient at once) cannot skip.
const OWN_GRADIENTS: tf.GradConfig[] = [
  {
    // Only ever launched linear, without PReLU weights (see EmoConv2D).
    kernelName: tf.FusedConv2D,
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy, saved, attrs) => {
      const [x, filter] = saved;
      const a = attrs as unknown as tf.FusedConv2DAttrs;
      if (Array.isArray(dy) || (a.activation !== undefined && a.activation !== 'linear'))
        throw new Error('the emo-native FusedConv2D gradient covers linear convolutions only');
      const common = { strides: a.strides, pad: a.pad, dataFormat: a.dataFormat, dimRoundingMode: a.dimRoundingMode };
      return {
        x: () => tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter }, { ...common, inputShape: x.shape } as unknown as tf.NamedAttrMap) as tf.Tensor,
        filter: () => tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, { ...common, filterShape: filter.shape } as unknown as tf.NamedAttrMap) as tf.Tensor,
        bias: () => tf.sum(dy, Array.from({ length: dy.rank - 1 }, (_, i) => i)),
      };
    },
  },
  {
    kernelName: EMO_BATCH_NORM_TRAIN,
    inputsToSave: ['x', 'scale', 'offset'],
    outputsToSave: [false, true, true, false, false],
    gradFunc: (dys, saved, attrs) => {
      // Only y carries a gradient: the batch mean and variance feed the moving averages, which
      // are not trained. One kernel computes all three gradients (they share the first pass).
      const dy = Array.isArray(dys) ? dys[0] : dys;
      const [x, scale, offset, mean, variance] = saved;
      const [dx, dscale, doffset] = tf.engine().runKernel(EMO_BATCH_NORM_TRAIN_GRAD, { x, dy, scale, offset, mean, variance }, attrs) as tf.Tensor[];
      return {
        x: () => dx as tf.Tensor,
        scale: () => dscale as tf.Tensor,
        offset: () => doffset as tf.Tensor,
        // The moving statistics only receive the batch's: no gradient flows back into them.
        movingMean: () => tf.zerosLike(dscale as tf.Tensor),
        movingVariance: () => tf.zerosLike(dscale as tf.Tensor),
      };
    },
  },
  {
    kernelName: EMO_DROPOUT,
    gradFunc: (dy, _saved, attrs) => ({ x: () => tf.engine().runKernel(EMO_DROPOUT, { x: dy as tf.Tensor }, attrs) as tf.Tensor }),
  },
];

const installed = new Map<string, tf.GradConfig>();

/**
 * Wraps tfjs' gradients for the kernels above, once each, and registers those
 * of this backend's own kernels. Gradients are
 * registered by whichever tfjs package loads them (tfjs-layers bundles its own
 * copy of the registrations), so this runs again whenever one of those
 * kernels runs forward and finds the entry replaced.
 */
export function installGradients(): void {
  for (const config of OWN_GRADIENTS) if (tf.getGradient(config.kernelName) !== config) tf.registerGradient(config);
  for (const [kernelName, nativeGrad] of NATIVE_GRADIENTS) {
    const current = tf.getGradient(kernelName);
    if (current === undefined || current === installed.get(kernelName)) continue;
    const original = current;
    const wrapped: tf.GradConfig = {
      ...original,
      gradFunc: (dy, saved, attrs) => {
        const backend = activeBackend();
        const grads = backend !== null && !Array.isArray(dy) ? nativeGrad(dy, saved, attrs, backend) : null;
        return grads ?? original.gradFunc(dy, saved, attrs);
      },
    };
    installed.set(kernelName, wrapped);
    tf.registerGradient(wrapped);
  }
}

/** Cheap check for the forward kernels: reinstalls when an entry was replaced. */
export function ensureGradients(kernelName: string): void {
  const mine = installed.get(kernelName);
  if (mine === undefined || tf.getGradient(kernelName) !== mine) installGradients();
}
