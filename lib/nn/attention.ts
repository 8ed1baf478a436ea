/**
 * Temporal attention pooling: the step of the network that turns the
 * BiLSTM's per-chunk outputs into one clip vector.
 *
 * For an input `x` of shape (batch, steps, features):
 *
 *   score[b, t]   = x[b, t, :] · kernel + bias          (a Dense features → 1, no activation)
 *   weight[b, :]  = softmax(score[b, :])                 (over the steps)
 *   context[b, :] = Σ_t weight[b, t] · x[b, t, :]        → (batch, features)
 *
 * No tanh on the score, as in the PyTorch reference (a plain linear score).
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerArgs } from '@tensorflow/tfjs-layers/dist/engine/topology';
import type { LayerVariable } from '@tensorflow/tfjs-layers';

/** Constructor arguments of {@link TemporalAttention}. */
export interface TemporalAttentionArgs extends LayerArgs {
  /**
   * When true the layer has two outputs, `[context (batch, features), weights (batch, steps)]`;
   * when false (the default) only the context. The weights are what an "explain" view shows.
   */
  returnAttention?: boolean;
  /**
   * Seed of the score kernel's Glorot-uniform initialiser, for reproducible initial weights.
   * Omitted: a random initialisation.
   */
  seed?: number;
}

/**
 * Attention pooling over time steps, as a serialisable tfjs-layers layer.
 *
 * Weights: `kernel` (features, 1), Glorot uniform, and `bias` (1), zeros: `features + 1`
 * trainable parameters (257 in the reference network).
 *
 * Registered with `tf.serialization.registerClass` under the class name
 * `'TemporalAttention'`, so `tf.loadLayersModel` (and {@link loadModel}) can rebuild models
 * that contain it once this module has been imported.
 */
export class TemporalAttention extends tfl.layers.Layer {
  /** The class name under which the layer is serialised (model.json `class_name`). */
  static className = 'TemporalAttention';

  /** Whether the layer also outputs the attention weights (see {@link TemporalAttentionArgs}). */
  readonly returnAttention: boolean;
  /** Seed of the kernel initialiser, or undefined for a random one. */
  readonly seed: number | undefined;
  private kernel: LayerVariable | null = null;
  private bias: LayerVariable | null = null;

  constructor(args: TemporalAttentionArgs = {}) {
    super(args);
    this.returnAttention = args.returnAttention === true;
    this.seed = args.seed ?? undefined;
    this.supportsMasking = false;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = singleShape(inputShape);
    if (shape.length !== 3) {
      throw new TypeError(`TemporalAttention expects an input of shape (batch, steps, features), got ${JSON.stringify(shape)}`);
    }
    const features = shape[2];
    if (features == null) throw new TypeError('TemporalAttention needs a known feature dimension');
    this.kernel = this.addWeight('kernel', [features, 1], 'float32', tfl.initializers.glorotUniform({ seed: this.seed }));
    this.bias = this.addWeight('bias', [1], 'float32', tfl.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape | tfl.Shape[] {
    const shape = singleShape(inputShape);
    const context: tfl.Shape = [shape[0], shape[2]];
    return this.returnAttention ? [context, [shape[0], shape[1]]] : context;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor | tf.Tensor[] {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor3D;
      if (this.kernel == null || this.bias == null) throw new Error('TemporalAttention used before build()');
      const { weights, context } = attend(x, this.kernel.read() as tf.Tensor2D, this.bias.read() as tf.Tensor1D);
      return this.returnAttention ? [context, weights] : context;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = { returnAttention: this.returnAttention };
    if (this.seed !== undefined) config.seed = this.seed;
    return { ...super.getConfig(), ...config };
  }
}

tf.serialization.registerClass(TemporalAttention);

/**
 * The attention computation on plain tensors, shared by the layer and usable for checks:
 * returns the softmax weights (batch, steps) and the weighted sum (batch, features).
 *
 * Written with a reshape + 2-D matMul for the scores and one batched matMul for the sum, so a
 * backend sees two MatMul-type kernels and a Softmax rather than broadcasts and reductions.
 */
export function attend(x: tf.Tensor3D, kernel: tf.Tensor2D, bias: tf.Tensor1D): { weights: tf.Tensor2D; context: tf.Tensor2D } {
  return tf.tidy(() => {
    const [batch, steps, features] = x.shape;
    const flat = tf.reshape(x, [batch * steps, features]);
    const scores = tf.reshape(tf.add(tf.matMul(flat, kernel), bias), [batch, steps]);
    const weights = tf.softmax(scores) as tf.Tensor2D; // softmax over the last axis: the steps
    const context = tf.reshape(tf.matMul(tf.reshape(weights, [batch, 1, steps]), x), [batch, features]) as tf.Tensor2D;
    return { weights, context };
  });
}

function singleShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
  // A list of shapes means several inputs; this layer takes exactly one.
  if (Array.isArray(inputShape[0])) {
    const list = inputShape as tfl.Shape[];
    if (list.length !== 1) throw new TypeError(`TemporalAttention takes one input, got ${list.length}`);
    return list[0];
  }
  return inputShape as tfl.Shape;
}
