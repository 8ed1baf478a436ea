/**
 * Adam as one native pass per weight on the emo-native backend. TensorFlow.js's Adam builds
 * about a dozen elementwise tensors per weight and step (moments, bias corrections, square
 * root, quotient, update); {@link EmoAdamOptimizer} computes the same float32 arithmetic in one
 * kernel ({@link EMO_ADAM}) that returns the new weight and moments. Its state (moments, step
 * count) is saved as tfjs' Adam saves it, under the class name `EmoAdam`.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NamedTensor, NamedVariableMap } from '@tensorflow/tfjs-core/dist/tensor_types';
import { EMO_ADAM, EmoNativeBackend } from './backend/core';

// Fields tfjs-core declares protected in its typings.
interface AdamFields {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  readonly iterations: number;
  accumulatedFirstMoment: Array<{ originalName: string; variable: tf.Variable } | undefined>;
  accumulatedSecondMoment: Array<{ originalName: string; variable: tf.Variable } | undefined>;
  incrementIterations(): void;
}

/**
 * Adam (Kingma & Ba 2015) with tfjs' defaults and state. On the emo-native backend each weight's
 * update is one kernel; elsewhere it is tfjs' AdamOptimizer unchanged. The bias corrections
 * 1 - beta^t are computed in float64 from the step count t, so a run resumed from a checkpoint
 * continues with exactly the values an uninterrupted run uses.
 */
export class EmoAdamOptimizer extends tf.AdamOptimizer {
  /** Serialised class name (the training configuration's optimizer). */
  static override get className(): string {
    return 'EmoAdam';
  }

  constructor(learningRate = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon: number | null = null) {
    super(learningRate, beta1, beta2, epsilon ?? undefined);
  }

  override applyGradients(variableGradients: NamedVariableMap | NamedTensor[]): void {
    if (!(tf.engine().backend instanceof EmoNativeBackend)) {
      super.applyGradients(variableGradients);
      return;
    }
    const f = this as unknown as AdamFields;
    const list = Array.isArray(variableGradients);
    const names = list ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
    const t = f.iterations + 1;
    const attrs = {
      learningRate: f.learningRate, beta1: f.beta1, beta2: f.beta2, epsilon: f.epsilon,
      correction1: 1 - Math.pow(f.beta1, t), correction2: 1 - Math.pow(f.beta2, t),
    };
    tf.tidy(() => {
      names.forEach((name, i) => {
        const value = tf.engine().registeredVariables[name] as tf.Variable;
        const moment = (slot: 'm' | 'v') => ({ originalName: `${name}/${slot}`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) });
        f.accumulatedFirstMoment[i] ??= moment('m');
        f.accumulatedSecondMoment[i] ??= moment('v');
        const gradient = list ? variableGradients[i]!.tensor : variableGradients[name];
        if (gradient == null) return;
        const m = f.accumulatedFirstMoment[i]!.variable, v = f.accumulatedSecondMoment[i]!.variable;
        const [x1, m1, v1] = tf.engine().runKernel(EMO_ADAM, { x: value, m, v, g: gradient },
          attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
        value.assign(x1!);
        m.assign(m1!);
        v.assign(v1!);
      });
    });
    f.incrementIterations();
  }
}

tf.serialization.registerClass(EmoAdamOptimizer);
