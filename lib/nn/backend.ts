/**
 * The `emo-native` TensorFlow.js backend.
 *
 * tfjs-backend-cpu runs one training step of the model in minutes; this backend
 * is the cpu backend with the kernels that dominate training (convolutions and
 * their gradients, pooling, matrix products, batch normalisation, element-wise
 * arithmetic, reductions, transposes) running in C++ from the addon, on oneDNN
 * and an OpenMP thread per CPU. Every other kernel is the cpu backend's own.
 *
 * Importing this module registers the backend (priority 2: above `cpu`, below
 * `tensorflow` from tfjs-node when that is installed).
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { native } from '../native';
import { EmoNativeBackend, watchAliasing, type KernelArgs } from './backend/core';
import { ensureGradients, installGradients, NATIVE_GRADIENTS } from './backend/gradients';
import { NATIVE_KERNELS } from './backend/kernels';

export { EmoNativeBackend } from './backend/core';

/** The name the backend is registered under: `tf.setBackend(EMO_NATIVE_BACKEND)`. */
export const EMO_NATIVE_BACKEND = 'emo-native';

const PRIORITY = 2;

type Kernel = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];

/**
 * The forward kernels whose gradients ./backend/gradients replaces make sure
 * the replacement is in place: tfjs-layers registers tfjs' gradients when it
 * loads, which may be after this module.
 */
function withGradients(kernelName: string, kernel: Kernel): tf.KernelFunc {
  if (!NATIVE_GRADIENTS.has(kernelName)) return kernel as tf.KernelFunc;
  return ((args: KernelArgs) => {
    ensureGradients(kernelName);
    return kernel(args);
  }) as tf.KernelFunc;
}

/**
 * Registers the backend and its kernels with tfjs-core. Safe to call more than
 * once; returns true when the backend is registered afterwards.
 */
export function registerEmoNativeBackend(): boolean {
  if (tf.findBackendFactory(EMO_NATIVE_BACKEND) == null) {
    tf.registerBackend(EMO_NATIVE_BACKEND, () => new EmoNativeBackend(), PRIORITY);
  }
  // Every cpu kernel, so any op works; ours replace the hot ones.
  for (const config of tf.getKernelsForBackend('cpu')) {
    if (tf.getKernel(config.kernelName, EMO_NATIVE_BACKEND) !== undefined) continue;
    const kernel = NATIVE_KERNELS.get(config.kernelName) ?? watchAliasing(config.kernelFunc as Kernel);
    tf.registerKernel({ ...config, backendName: EMO_NATIVE_BACKEND, kernelFunc: withGradients(config.kernelName, kernel) });
  }
  // Kernels only this backend has (the fused gradients).
  for (const [kernelName, kernel] of NATIVE_KERNELS) {
    if (tf.getKernel(kernelName, EMO_NATIVE_BACKEND) !== undefined) continue;
    tf.registerKernel({ kernelName, backendName: EMO_NATIVE_BACKEND, kernelFunc: kernel as tf.KernelFunc });
  }
  installGradients();
  return tf.findBackendFactory(EMO_NATIVE_BACKEND) != null;
}

/** Names of the kernels that run natively on this backend. */
export function nativeKernelNames(): string[] {
  return [...NATIVE_KERNELS.keys()].sort();
}

/**
 * The threads the native kernels use. `setNumThreads(0)` restores the default:
 * OMP_NUM_THREADS when set, else one per CPU this process may use.
 */
export function setNumThreads(threads: number): number {
  if (!Number.isInteger(threads) || threads < 0) {
    throw new RangeError(`Expected a non-negative integer for threads but received ${String(threads)}`);
  }
  return native.nnSetThreads(threads);
}

export function getNumThreads(): number {
  return native.nnThreads();
}

/** Statistics of the native memory pool that recycles large kernel outputs. */
export interface NativeMemoryStats {
  /** Bytes held by live tensors (released when the garbage collector frees them). */
  liveBytes: number;
  /** Bytes cached for reuse. */
  cachedBytes: number;
  /** Most bytes the cache keeps. */
  limitBytes: number;
  hits: number;
  misses: number;
}

export function nativeMemoryStats(): NativeMemoryStats {
  return native.nnConfigurePool(-1, false);
}

/**
 * Sets the most bytes the pool caches (default: half the machine's memory;
 * a training step reuses about as much as it allocated in the step before)
 * and, with `trim`, returns every cached block to the OS (after training, say).
 */
export function configureNativeMemory(options: { limitBytes?: number; trim?: boolean }): NativeMemoryStats {
  const { limitBytes, trim = false } = options;
  if (limitBytes !== undefined && !(Number.isSafeInteger(limitBytes) && limitBytes >= 0)) {
    throw new RangeError(`Expected a non-negative integer for limitBytes but received ${String(limitBytes)}`);
  }
  return native.nnConfigurePool(limitBytes ?? -1, trim);
}

/** Total fallbacks to cpu kernels of the emo-native backend, by kernel name (empty before first use). */
export function fallbackCounts(): ReadonlyMap<string, number> {
  const backend = tf.findBackend(EMO_NATIVE_BACKEND);
  return backend instanceof EmoNativeBackend ? backend.fallbackCounts : new Map();
}

registerEmoNativeBackend();
