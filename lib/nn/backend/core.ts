// The backend class and what every native kernel shares: reading inputs,
// allocating outputs, and the counted, logged fallback to tfjs-backend-cpu.
import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { native } from '../../native';

/**
 * Kernels of this backend only, behind the gradients in ./gradients: what
 * tfjs computes as dy * step(x) and dy * (2 * x), in one pass each.
 */
export const EMO_RELU_GRAD = 'EmoReluGrad';
export const EMO_SQUARE_GRAD = 'EmoSquareGrad';

/**
 * Training-mode batch normalisation over the last axis in one kernel, used by
 * EmoBatchNormalization: inputs x, scale (gamma), offset (beta), movingMean,
 * movingVariance; attrs epsilon, relu (apply max(0, .) in the same pass) and
 * momentum; outputs y, the batch's mean and (biased) variance, and the moving
 * mean and variance updated with them as tfjs-layers updates them.
 */
export const EMO_BATCH_NORM_TRAIN = 'EmoBatchNormTrain';
/** Its gradient in one kernel (two passes over the data): inputs x, dy, scale, offset, mean, variance; outputs dx, dscale, doffset. */
export const EMO_BATCH_NORM_TRAIN_GRAD = 'EmoBatchNormTrainGrad';
/** Inverted dropout with a counter-based mask (attrs rate, seed); its gradient is itself applied to dy. */
export const EMO_DROPOUT = 'EmoDropout';
/**
 * One Adam step for one weight in one pass: inputs x, m, v (the weight and its moments) and g
 * (its gradient); attrs learningRate, beta1, beta2, epsilon, correction1, correction2; outputs
 * the new x, m and v.
 */
export const EMO_ADAM = 'EmoAdam';

type Words = Float32Array | Int32Array;

/**
 * Kernel outputs in native pooled memory that nothing but tfjs' bookkeeping
 * references yet. When tfjs disposes such a tensor its memory goes straight
 * back to the pool (a training step frees gigabytes; waiting for the garbage
 * collector, or paying page faults for fresh memory, measured slower than the
 * kernels). An array leaves the set the moment anything else could see it.
 */
const pooled = new WeakSet<Words>();

/** Hands a pooled array to the garbage collector: something may still read it. */
function expose(values: unknown): void {
  if ((values instanceof Float32Array || values instanceof Int32Array) && pooled.delete(values)) native.nnExpose(values);
}

/**
 * tfjs-backend-cpu with the hot training kernels in C++. Tensors live in the
 * same place as the cpu backend's (typed arrays in `data`), so every cpu kernel
 * runs unchanged on them.
 */
export class EmoNativeBackend extends MathBackendCPU {
  /**
   * Calls of a native kernel that went to the cpu implementation instead, by
   * kernel name (an unsupported dtype, dilations, NCHW, …). Set EMO_DEBUG=1 to
   * log the reason the first time each happens.
   */
  readonly fallbackCounts = new Map<string, number>();

  constructor() {
    super();
    // The cpu backend prints "looks like you are running TensorFlow.js in
    // Node.js, install tfjs-node" on first use; here that advice is wrong.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }

  /** Values read out of tfjs (dataSync, data, moving to another backend) may be kept by anyone. */
  override readSync(dataId: tf.DataId): tf.backend_util.BackendValues {
    if (this.data.has(dataId)) expose(this.data.get(dataId).values);
    return super.readSync(dataId);
  }

  /** Kernels use bufferSync for reading inputs: no escape (aliases are caught by watchAliasing). */
  override bufferSync<R extends tf.Rank, D extends tf.DataType>(t: tf.TensorInfo): tf.TensorBuffer<R, D> {
    const values = this.data.has(t.dataId) ? this.data.get(t.dataId).values : undefined;
    if ((t.dtype === 'float32' && values instanceof Float32Array) || (t.dtype === 'int32' && values instanceof Int32Array)) {
      return tf.buffer(t.shape, t.dtype, values) as unknown as tf.TensorBuffer<R, D>;
    }
    return super.bufferSync<R, D>(t);
  }

  override disposeData(dataId: tf.DataId, force = false): boolean {
    const values = this.data.has(dataId) ? this.data.get(dataId).values : undefined;
    const released = super.disposeData(dataId, force);
    if (values !== undefined && !this.data.has(dataId) && (values instanceof Float32Array || values instanceof Int32Array) &&
        pooled.delete(values)) {
      native.nnRecycle(values);
    }
    return released;
  }
}

/**
 * Wraps a kernel that does not allocate from the pool (a cpu kernel) so that
 * an output viewing a pooled input's memory (Slice returns subarrays) takes
 * that input out of the pool's hands.
 */
export function watchAliasing<K extends (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[]>(kernel: K): K {
  return ((args: KernelArgs) => {
    const result = kernel(args);
    const backend = args.backend as EmoNativeBackend;
    const outputs = Array.isArray(result) ? result : [result];
    for (const name of Object.keys(args.inputs)) {
      const input = args.inputs[name];
      if (input === undefined || !backend.data.has(input.dataId)) continue;
      const values = backend.data.get(input.dataId).values;
      if (!(values instanceof Float32Array || values instanceof Int32Array) || !pooled.has(values)) continue;
      for (const out of outputs) {
        if (out.dataId === input.dataId || !backend.data.has(out.dataId)) continue;
        const outValues = backend.data.get(out.dataId).values as { buffer?: unknown } | undefined;
        if (outValues !== undefined && outValues.buffer === values.buffer) {
          expose(values);
          break;
        }
      }
    }
    return result;
  }) as K;
}

export interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: {};
  attrs?: tf.NamedAttrMap;
}

type CpuKernel = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];
const cpuKernels = new Map<string, CpuKernel>();

/** The cpu backend's implementation of a kernel. */
export function cpuKernel(name: string): CpuKernel {
  let k = cpuKernels.get(name);
  if (k === undefined) {
    const config = tf.getKernel(name, 'cpu');
    if (config === undefined) throw new Error(`tfjs-backend-cpu has no kernel ${name}`);
    k = config.kernelFunc as CpuKernel;
    cpuKernels.set(name, k);
  }
  return k;
}

const logged = new Set<string>();

/** Writes a debug line once per distinct message, when EMO_DEBUG is set. */
export function debugOnce(message: string): void {
  if (!process.env.EMO_DEBUG || logged.has(message)) return;
  logged.add(message);
  console.debug(`emo-native backend: ${message}`);
}

/**
 * Runs the cpu kernel for a case the native one does not handle, counting it
 * in the backend's fallbackCounts: nothing becomes slow without a trace.
 */
export function fallback(name: string, reason: string, args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  const backend = args.backend as EmoNativeBackend;
  if (backend.fallbackCounts instanceof Map) backend.fallbackCounts.set(name, (backend.fallbackCounts.get(name) ?? 0) + 1);
  debugOnce(`${name} runs on the cpu kernel: ${reason}`);
  return watchAliasing(cpuKernel(name))(args);
}

/** The float32 values of a tensor, or null when it holds anything else. */
export function floatValues(backend: EmoNativeBackend, t: tf.TensorInfo | undefined): Float32Array | null {
  if (t === undefined || t.dtype !== 'float32') return null;
  const values = backend.data.get(t.dataId).values;
  if (values instanceof Float32Array) return values;
  // The cpu backend casts int32 and bool to float32 without converting the
  // data (the tensor keeps its Int32Array / Uint8Array): same numbers.
  if (values instanceof Int32Array || values instanceof Uint8Array) return Float32Array.from(values);
  return null;
}

// Below this many floats a JS allocation is as cheap as the pool (V8 serves
// it from its own heap, already mapped).
const POOL_MIN_FLOATS = 64 * 1024;

/**
 * Memory for a kernel output, uninitialised when it comes from the native
 * pool: every native kernel writes all of its output.
 */
export function allocFloats(length: number): Float32Array {
  if (length < POOL_MIN_FLOATS) return new Float32Array(length);
  const values = native.nnAlloc(length);
  pooled.add(values);
  return values;
}

/** Returns an output a kernel allocated but will not use (it fell back after all). */
export function discard(values: Words): void {
  if (pooled.delete(values)) native.nnRecycle(values);
}

/** allocFloats for a float32 or int32 output. */
export function allocWords(dtype: 'float32' | 'int32', length: number): Words {
  if (dtype === 'float32') return allocFloats(length);
  if (length < POOL_MIN_FLOATS) return new Int32Array(length);
  const floats = native.nnAlloc(length);
  const values = new Int32Array(floats.buffer, 0, length);
  pooled.add(values);
  return values;
}

export function output(backend: EmoNativeBackend, shape: number[], values: Float32Array): tf.TensorInfo {
  return backend.makeTensorInfo(shape, 'float32', values);
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
