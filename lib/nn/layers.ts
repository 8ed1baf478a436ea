/**
 * The layers of the reference network that train on fused kernels of the
 * emo-native backend: subclasses of tfjs-layers' Conv2D, BatchNormalization
 * and Dropout with the same weights, configuration and results, whose
 * training-mode `call` launches one native kernel where tfjs launches many.
 * On any other backend (or a configuration the kernels do not cover) each
 * calls its tfjs parent unchanged.
 *
 * - {@link EmoConv2D}: the convolution and its bias as one FusedConv2D kernel
 *   with a gradient per input, so the model's input features get no backward
 *   pass (tfjs' fused conv2d computes the input gradient and throws it away).
 * - {@link EmoBatchNormalization}: batch statistics, normalisation, an
 *   optional ReLU and the moving averages' update in one kernel forward, one
 *   kernel (two passes) back (tfjs: about a dozen full-size kernels each way);
 *   moving averages updated exactly as tfjs does.
 * - {@link EmoDropout}: the mask drawn natively from a counter-based hash of
 *   the seed instead of a JavaScript random-number loop over every element,
 *   and recomputed rather than stored for the backward pass.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types';
import type { BatchNormalization, BatchNormalizationLayerArgs } from '@tensorflow/tfjs-layers/dist/layers/normalization';
import type { Conv2D } from '@tensorflow/tfjs-layers/dist/layers/convolutional';
import type { Dropout } from '@tensorflow/tfjs-layers/dist/layers/core';
import { EMO_BATCH_NORM_TRAIN, EMO_DROPOUT, EmoNativeBackend } from './backend/core';

/** A tfjs-layers class taken from its serialisation registry (tfjs-layers exports only factories). */
function registeredClass<T>(className: string): T {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[className];
  if (entry == null) {
    throw new Error(`tfjs-layers did not register ${className}: @tensorflow/tfjs-core and @tensorflow/tfjs-layers must share one tfjs-core installation`);
  }
  return entry[0] as unknown as T;
}

const Conv2DBase = registeredClass<typeof Conv2D>('Conv2D');
const BatchNormalizationBase = registeredClass<typeof BatchNormalization>('BatchNormalization');
const DropoutBase = registeredClass<typeof Dropout>('Dropout');

function onNativeBackend(): boolean {
  return tf.engine().backend instanceof EmoNativeBackend;
}

function single(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  return Array.isArray(inputs) ? (inputs[0] as tf.Tensor) : inputs;
}

interface LayerVariable {
  read(): tf.Tensor;
  write(value: tf.Tensor): void;
}

// Fields tfjs-layers declares private or protected in its typings.
interface ConvFields {
  rank: number;
  strides: number[];
  padding: string;
  dataFormat: string;
  dilationRate: number[];
  activation: { apply(x: tf.Tensor): tf.Tensor; getClassName(): string };
  useBias: boolean;
  kernel: LayerVariable;
  bias: LayerVariable | null;
}

/** Conv2D whose forward pass is one FusedConv2D kernel with per-input gradients on the emo-native backend. */
export class EmoConv2D extends Conv2DBase {
  /** Serialised class name (model.json `class_name`). */
  static override className = 'EmoConv2D';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    const f = this as unknown as ConvFields;
    const covered = f.rank === 2 && f.dataFormat === 'channelsLast' && (f.padding === 'same' || f.padding === 'valid');
    if (!covered || !onNativeBackend()) return super.call(inputs, kwargs);
    return tf.tidy(() => {
      const x = single(inputs);
      const kernelInputs: tf.NamedTensorMap = { x, filter: f.kernel.read() };
      if (f.useBias && f.bias !== null) kernelInputs['bias'] = f.bias.read();
      const attrs = { strides: f.strides, pad: f.padding, dataFormat: 'NHWC', dilations: f.dilationRate, activation: 'linear' };
      const y = tf.engine().runKernel(tf.FusedConv2D, kernelInputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
      return f.activation.getClassName() === 'linear' ? y : f.activation.apply(y);
    });
  }
}

/** Arguments of {@link EmoBatchNormalization}: tfjs' plus a fused activation. */
export interface EmoBatchNormalizationArgs extends BatchNormalizationLayerArgs {
  /** 'relu' applies max(0, ·) to the normalised output in the same pass. Default 'linear'. */
  activation?: 'linear' | 'relu';
}

interface BatchNormFields {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: LayerVariable;
  beta: LayerVariable;
  movingMean: LayerVariable;
  movingVariance: LayerVariable;
}

/**
 * BatchNormalization with an optional fused ReLU. In training on the emo-native backend the batch
 * statistics, the normalisation, the ReLU and the moving averages' update are one kernel forward
 * (the moving mean and variance follow the batch's mean and biased variance, as tfjs-layers has
 * them), and all three gradients one kernel back (two passes over the data).
 */
export class EmoBatchNormalization extends BatchNormalizationBase {
  /** Serialised class name (model.json `class_name`). */
  static override className = 'EmoBatchNormalization';
  /** The activation applied after the normalisation. */
  readonly fusedActivation: 'linear' | 'relu';

  constructor(args: EmoBatchNormalizationArgs = {}) {
    const { activation = 'linear', ...rest } = args;
    if (activation !== 'linear' && activation !== 'relu') throw new TypeError(`Expected 'linear' or 'relu' for activation but received ${String(activation)}`);
    super(rest);
    this.fusedActivation = activation;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    const f = this as unknown as BatchNormFields;
    const relu = this.fusedActivation === 'relu';
    return tf.tidy(() => {
      const x = single(inputs);
      const lastAxis = f.axis === -1 || f.axis === x.rank - 1;
      if (kwargs['training'] !== true || !lastAxis || !f.center || !f.scale || x.dtype !== 'float32' || x.size === 0 || !onNativeBackend()) {
        const y = super.call(inputs, kwargs) as tf.Tensor;
        return relu ? tf.relu(y) : y;
      }
      // The kernel also updates the moving averages, with tfjs-layers' arithmetic:
      // moving - (moving - batch) * (1 - momentum).
      const [y, , , movingMean, movingVariance] = tf.engine().runKernel(EMO_BATCH_NORM_TRAIN,
        { x, scale: f.gamma.read(), offset: f.beta.read(), movingMean: f.movingMean.read(), movingVariance: f.movingVariance.read() },
        { epsilon: f.epsilon, relu, momentum: f.momentum } as unknown as tf.NamedAttrMap) as tf.Tensor[];
      f.movingMean.write(movingMean as tf.Tensor);
      f.movingVariance.write(movingVariance as tf.Tensor);
      return y as tf.Tensor;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), activation: this.fusedActivation };
  }
}

interface DropoutFields {
  rate: number;
  noiseShape: number[] | null | undefined;
  seed: number | undefined;
}

/**
 * The 32-bit key of a native dropout mask: the layer's seed as tfjs-layers holds it (the trainer's
 * draws in [0, 1), or any integer), else a fresh random one.
 */
export function dropoutSeed(seed: number | undefined): number {
  if (seed === undefined || !Number.isFinite(seed)) return Math.floor(Math.random() * 2 ** 32);
  return Number.isInteger(seed) ? seed >>> 0 : Math.floor((seed - Math.floor(seed)) * 2 ** 32) >>> 0;
}

/**
 * Dropout whose mask, on the emo-native backend, is a counter-based hash of the seed computed in
 * the addon (and recomputed for the gradient). The same seed gives the same mask on every machine
 * and thread count; it is not the mask tfjs' own dropout would draw from that seed.
 */
export class EmoDropout extends DropoutBase {
  /** Serialised class name (model.json `class_name`). */
  static override className = 'EmoDropout';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    const f = this as unknown as DropoutFields;
    const x = single(inputs);
    if (kwargs['training'] !== true || !(f.rate > 0 && f.rate < 1) || f.noiseShape != null || x.dtype !== 'float32' || !onNativeBackend()) {
      return super.call(inputs, kwargs);
    }
    return tf.engine().runKernel(EMO_DROPOUT, { x }, { rate: f.rate, seed: dropoutSeed(f.seed) } as unknown as tf.NamedAttrMap) as tf.Tensor;
  }
}

for (const layerClass of [EmoConv2D, EmoBatchNormalization, EmoDropout]) tf.serialization.registerClass(layerClass);

/** Whether `layer` is a dropout layer (tfjs' or {@link EmoDropout}), whose `seed` the trainer sets per step. */
export function isDropoutLayer(layer: tfl.layers.Layer): boolean {
  return layer instanceof DropoutBase;
}
