// The one place that loads the addon and declares its shape. Everything else
// imports `native` from here; nothing else calls require() on a .node file.
import * as path from 'node:path';
import { EmoError } from './errors';

/** The fully resolved pipeline configuration the addon reads (all fields set, validated). */
export interface NativeConfig {
  sampleRate: number;
  offset: number;
  length: number;
  lowpassFilterWidth: number;
  rolloff: number;
  nFft: number;
  winLength: number;
  hopLength: number;
  nMels: number;
  fMin: number;
  fMax: number;
  amin: number;
  /** NaN: no top-dB floor. */
  topDb: number;
  chunkFrames: number;
  chunkStride: number;
}

export interface NativeDecodedWav {
  sampleRate: number;
  formatTag: number;
  bitsPerSample: number;
  channels: Float32Array[];
}

/** Native memory pool statistics (see lib/nn/backend). */
export interface NativePoolStats {
  liveBytes: number;
  cachedBytes: number;
  limitBytes: number;
  hits: number;
  misses: number;
}

/**
 * Training kernels behind lib/nn/backend. Shapes are plain arrays of integers;
 * outputs are preallocated by the caller and written completely. dims layouts:
 * conv [batch, inH, inW, inC, outH, outW, outC, filterH, filterW, strideH,
 * strideW, dilationH, dilationW, padTop, padLeft, padBottom, padRight];
 * pool [batch, inH, inW, channels, outH, outW, filterH, filterW, strideH,
 * strideW, padTop, padLeft]; matmul [batchA, batchB, m, n, k, transposeA, transposeB].
 */
export interface NativeNnBinding {
  /** A Float32Array over recycled native memory, contents undefined. */
  nnAlloc(length: number): Float32Array;
  /**
   * Returns an nnAlloc array's memory to the pool now and detaches its buffer.
   * Only for arrays nothing can read again. False for other arrays.
   */
  nnRecycle(array: Float32Array | Int32Array): boolean;
  /** Leaves an nnAlloc array's memory to the garbage collector (it escaped). */
  nnExpose(array: Float32Array | Int32Array): boolean;
  /** The convolutions return false, writing nothing, where the CPU has no oneDNN direct kernel for the shape. */
  nnConv2d(x: Float32Array, filter: Float32Array, bias: Float32Array | null, y: Float32Array, dims: number[],
    activation: number, alpha: number): boolean;
  nnConv2dBackpropInput(dy: Float32Array, filter: Float32Array, dx: Float32Array, dims: number[]): boolean;
  nnConv2dBackpropFilter(x: Float32Array, dy: Float32Array, dfilter: Float32Array, dims: number[]): boolean;
  nnMaxPool(x: Float32Array, y: Float32Array, dims: number[]): void;
  nnMaxPoolGrad(dy: Float32Array, x: Float32Array, dx: Float32Array, dims: number[]): void;
  nnMatMul(a: Float32Array, b: Float32Array, bias: Float32Array | null, out: Float32Array, dims: number[],
    activation: number, alpha: number): void;
  nnUnary(op: number, x: Float32Array, y: Float32Array, alpha: number): void;
  nnBinary(op: number, a: Float32Array, aShape: number[], b: Float32Array, bShape: number[], out: Float32Array): void;
  nnReduce(op: number, x: Float32Array, shape: number[], axes: number[], out: Float32Array): void;
  nnTranspose(x: Float32Array | Int32Array, shape: number[], perm: number[], out: Float32Array | Int32Array): void;
  nnTile(x: Float32Array | Int32Array, shape: number[], reps: number[], out: Float32Array | Int32Array): void;
  /** x viewed as [outer, count, inner] -> count arrays of [outer, inner]. */
  nnUnpack(x: Float32Array | Int32Array, dims: number[], outs: Array<Float32Array | Int32Array>): void;
  /** count arrays of [outer, inner] -> out viewed as [outer, count, inner]. */
  nnPack(ins: Array<Float32Array | Int32Array>, dims: number[], out: Float32Array | Int32Array): void;
  /** x viewed as [outer, total, inner] -> pieces [outer, sizes[k], inner]. */
  nnSplit(x: Float32Array | Int32Array, dims: number[], sizes: number[], outs: Array<Float32Array | Int32Array>): void;
  nnReverse(x: Float32Array | Int32Array, shape: number[], axes: number[], out: Float32Array | Int32Array): void;
  /** Channels-last x and dy: [sum(dy) per channel, then sum(dy * (x - mean)) per channel]. */
  nnBatchNormGradSums(x: Float32Array, dy: Float32Array, mean: Float32Array): Float64Array;
  nnBatchNorm(x: Float32Array, mean: Float32Array, variance: Float32Array, offset: Float32Array | null,
    scale: Float32Array | null, epsilon: number, out: Float32Array): void;
  /**
   * Training-mode batch norm of channels-last x ([rows, channels] in dims): y, the batch's mean and
   * (biased) variance, and the moving averages updated with them (moving - (moving - batch) * (1 - momentum)).
   */
  nnBatchNormTrain(x: Float32Array, gamma: Float32Array, beta: Float32Array, movingMean: Float32Array, movingVariance: Float32Array,
    dims: number[], epsilon: number, relu: boolean, momentum: number, y: Float32Array, mean: Float32Array, variance: Float32Array,
    movingMeanOut: Float32Array, movingVarianceOut: Float32Array): void;
  /** Its gradients, both backward passes in one call: dx, dgamma, dbeta. */
  nnBatchNormTrainGrad(x: Float32Array, dy: Float32Array, gamma: Float32Array, beta: Float32Array, mean: Float32Array,
    variance: Float32Array, dims: number[], epsilon: number, relu: boolean, dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array): void;
  /** Inverted dropout with a counter-based mask (seed an unsigned 32-bit integer); also its own gradient. */
  nnDropout(x: Float32Array, rate: number, seed: number, y: Float32Array): void;
  /** One Adam step in one pass: hyper = [learningRate, beta1, beta2, epsilon, 1 - beta1^t, 1 - beta2^t]. */
  nnAdam(x: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, hyper: number[], xOut: Float32Array,
    mOut: Float32Array, vOut: Float32Array): void;
  /** Sets the kernels' thread count (0: default) and returns the count in effect. */
  nnSetThreads(threads: number): number;
  nnThreads(): number;
  /** limitBytes < 0 keeps the limit; trim returns cached blocks to the OS. */
  nnConfigurePool(limitBytes: number, trim: boolean): NativePoolStats;
  /** One line per tuned convolution shape and pass: the oneDNN kernels timed and the choice. */
  nnConvReport(): string;
}

export interface NativeBinding extends NativeNnBinding {
  setErrorClass(errorClass: typeof EmoError): void;
  decodeWav(bytes: Uint8Array): NativeDecodedWav;
  prepareClip(input: Uint8Array | Float32Array[], sampleRate: number, config: NativeConfig): Float32Array;
  melSpectrogram(samples: Float32Array, config: NativeConfig): Float32Array;
  melChunks(input: Uint8Array | Float32Array, config: NativeConfig): Float32Array;
  melChunksBatch(
    inputs: ReadonlyArray<Uint8Array | Float32Array>,
    config: NativeConfig,
    threads: number,
    collectErrors: boolean,
  ): Promise<Array<Float32Array | EmoError>>;
  /** The bounds the native side enforces on each config field: `{ field: [min, max] }`. */
  configLimits(): Record<string, [number, number]>;
  /** Test hook: throws a C++ exception ('bad_alloc', 'runtime', anything else) inside a guarded entry point. */
  __throwForTest(kind: string): never;
  /** Sizes the process-wide pool before its first use; throws once it runs with another size. */
  setThreads(threads: number): number;
  /** The pool's threads take nice value `niceness` (0–19) before their next task; false where the platform does not apply it. */
  setThreadNiceness(niceness: number): boolean;
  /** The pool's size (what it will be, before its first use). */
  getThreads(): number;
  floatToHalf(values: Float32Array): Uint16Array;
  halfToFloat(bits: Uint16Array, out: Float32Array): Float32Array;
  addNoise(samples: Float32Array, snrDb: number, seed: number): Float32Array;
  timeStretch(samples: Float32Array, rate: number, sampleRate: number): Float32Array;
  preemphasis(samples: Float32Array, coef: number): Float32Array;
  expand(
    samples: Float32Array,
    seed: number,
    snrLo: number,
    snrHi: number,
    rateLo: number,
    rateHi: number,
    coef: number,
    sampleRate: number,
  ): { variants: [Float32Array, Float32Array, Float32Array, Float32Array]; snrDb: number; rate: number };
}

function load(): NativeBinding {
  const root = path.join(__dirname, '..');
  try {
    // node-gyp-build picks build/Release when present, else prebuilds/<platform>-<arch>.
    const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown;
    return nodeGypBuild(root) as NativeBinding;
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw new EmoError(
      [
        `Could not load the emo-native addon for ${process.platform}-${process.arch} (Node ${process.version}).`,
        `Reason: ${detail}`,
        'Possible remedies:',
        '- Reinstall so the prebuilt binary for this platform is fetched from the package: npm install emo-native',
        '- Build from source: apt-get install -y cmake g++ pkg-config libkissfft-dev libdnnl-dev && npm rebuild emo-native',
        '- A source build needs libkissfft (pkg-config kissfft-float) and oneDNN (libdnnl-dev); prebuilds carry their own copies.',
      ].join('\n'),
      'ERR_NATIVE_LOAD',
    );
  }
}

/** The loaded addon, with EmoError registered so native errors carry their `.code`. */
export const native: NativeBinding = load();
native.setErrorClass(EmoError);
