/**
 * The training optimizers. Adam as one native pass per weight on the emo-native backend:
 * TensorFlow.js's Adam builds about a dozen elementwise tensors per weight and step (moments,
 * bias corrections, square root, quotient, update); {@link EmoAdamOptimizer} computes the same
 * float32 arithmetic in one kernel ({@link EMO_ADAM}) that returns the new weight and moments.
 * Its state (moments, step count) is saved as tfjs' Adam saves it, under the class name
 * `EmoAdam`. {@link EmoSgdOptimizer} is SGD with momentum as PyTorch defines it, for the
 * reference recipe. Both take PyTorch's `weight_decay`.
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

  /** PyTorch's `weight_decay` (L2): `weightDecay * weight` is added to each gradient. */
  readonly weightDecay: number;

  constructor(learningRate = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon: number | null = null, weightDecay = 0) {
    super(learningRate, beta1, beta2, epsilon ?? undefined);
    this.weightDecay = checkWeightDecay(weightDecay);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), weightDecay: this.weightDecay };
  }

  static override fromConfig<T extends tf.serialization.Serializable>(cls: tf.serialization.SerializableConstructor<T>, config: tf.serialization.ConfigDict): T {
    const c = config as Record<string, number>;
    return new (cls as unknown as typeof EmoAdamOptimizer)(c['learningRate'], c['beta1'], c['beta2'], c['epsilon'], c['weightDecay'] ?? 0) as unknown as T;
  }

  override applyGradients(variableGradients: NamedVariableMap | NamedTensor[]): void {
    if (this.weightDecay > 0) {
      tf.tidy(() => this.applyDecayed(withWeightDecay(variableGradients, this.weightDecay)));
      return;
    }
    this.applyDecayed(variableGradients);
  }

  private applyDecayed(variableGradients: NamedVariableMap | NamedTensor[]): void {
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

function checkWeightDecay(weightDecay: number): number {
  if (!(Number.isFinite(weightDecay) && weightDecay >= 0)) throw new RangeError(`Expected a finite number >= 0 for weightDecay but received ${weightDecay}`);
  return weightDecay;
}

/** The gradients with `weightDecay * weight` added, as PyTorch's optimizers apply `weight_decay` (call inside a tidy). */
function withWeightDecay(variableGradients: NamedVariableMap | NamedTensor[], weightDecay: number): NamedVariableMap {
  const list = Array.isArray(variableGradients) ? variableGradients : Object.entries(variableGradients).map(([name, tensor]) => ({ name, tensor }));
  const decayed: NamedVariableMap = {};
  for (const { name, tensor } of list) {
    // A weight without a gradient stays in the map, so the optimizers' per-position state lines up.
    if (tensor == null) {
      decayed[name] = tensor;
      continue;
    }
    const value = tf.engine().registeredVariables[name] as tf.Variable;
    decayed[name] = tf.add(tensor, tf.mul(value, weightDecay));
  }
  return decayed;
}

/**
 * SGD with momentum as PyTorch's `torch.optim.SGD` defines it (no dampening, not Nesterov):
 * `v = momentum * v + (g + weightDecay * w)`, `w = w - lr * v`. tfjs' Momentum optimizer with
 * PyTorch's `weight_decay` added; its state saves and resumes as tfjs' Momentum's does, under the
 * class name `EmoSgd`.
 */
export class EmoSgdOptimizer extends tf.MomentumOptimizer {
  /** Serialised class name (the training configuration's optimizer). */
  static override get className(): string {
    return 'EmoSgd';
  }

  /** PyTorch's `weight_decay` (L2): `weightDecay * weight` is added to each gradient. */
  readonly weightDecay: number;

  constructor(learningRate = 0.01, momentum = 0.9, weightDecay = 0) {
    super(learningRate, momentum, false);
    if (!(Number.isFinite(momentum) && momentum >= 0 && momentum < 1)) throw new RangeError(`Expected a number in [0, 1) for momentum but received ${momentum}`);
    this.weightDecay = checkWeightDecay(weightDecay);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), weightDecay: this.weightDecay };
  }

  static override fromConfig<T extends tf.serialization.Serializable>(cls: tf.serialization.SerializableConstructor<T>, config: tf.serialization.ConfigDict): T {
    const c = config as Record<string, number>;
    return new (cls as unknown as typeof EmoSgdOptimizer)(c['learningRate'], c['momentum'], c['weightDecay'] ?? 0) as unknown as T;
  }

  override applyGradients(variableGradients: NamedVariableMap | NamedTensor[]): void {
    if (this.weightDecay > 0) tf.tidy(() => super.applyGradients(withWeightDecay(variableGradients, this.weightDecay)));
    else super.applyGradients(variableGradients);
  }
}

tf.serialization.registerClass(EmoAdamOptimizer);
tf.serialization.registerClass(EmoSgdOptimizer);
