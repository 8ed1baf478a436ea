'use strict';
// The optimizers' weight decay and SGD with momentum (lib/nn/optimizer.ts), against float64
// re-computations of PyTorch's definitions written here: torch.optim.SGD (momentum, no dampening)
// and Adam, each with weight_decay added to the gradient.
const assert = require('node:assert/strict');
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const nn = require('../dist/nn');
const { prng } = require('./helpers/wav');

function values(n, seed, scale = 1) {
  const r = prng(seed);
  return Array.from({ length: n }, () => scale * (2 * r() - 1));
}

/** Gradients of sum(w * c) are c: fixed per step, so the reference needs no autodiff. */
function run(optimizer, steps, w0, coefficients) {
  const w = tf.variable(tf.tensor1d(w0));
  for (let s = 0; s < steps; s++) {
    const c = tf.tensor1d(coefficients[s]);
    optimizer.minimize(() => tf.sum(tf.mul(w, c)), false, [w]);
    c.dispose();
  }
  const out = Array.from(w.dataSync());
  w.dispose();
  optimizer.dispose();
  return out;
}

function assertNear(actual, expected, tol, what) {
  expected.forEach((e, i) => assert.ok(Math.abs(actual[i] - e) <= tol * Math.max(1, Math.abs(e)), `${what}[${i}]: ${actual[i]} vs ${e}`));
}

const n = 257, steps = 4;
const w0 = values(n, 1);
const grads = Array.from({ length: steps }, (_, s) => values(n, 10 + s, 0.5));

for (const backend of [nn.EMO_NATIVE_BACKEND, 'cpu']) {
  describe(`optimizers with PyTorch's weight decay (${backend} backend)`, () => {
    before(() => tf.setBackend(backend));

    it('EmoSgdOptimizer is torch.optim.SGD with momentum and weight_decay', () => {
      const lr = 0.01, momentum = 0.8, decay = 1e-3;
      const got = run(new nn.EmoSgdOptimizer(lr, momentum, decay), steps, w0, grads);
      const w = [...w0], v = new Array(n).fill(0);
      for (let s = 0; s < steps; s++)
        for (let i = 0; i < n; i++) {
          const g = grads[s][i] + decay * w[i];
          v[i] = momentum * v[i] + g;
          w[i] -= lr * v[i];
        }
      assertNear(got, w, 1e-6, 'w');
      assert.ok(got.some((x, i) => Math.abs(x - w0[i]) > 1e-3), 'the weights moved');
    });

    it('EmoAdamOptimizer with weight decay is Adam on g + weight_decay * w', () => {
      const lr = 0.01, decay = 0.05, b1 = 0.9, b2 = 0.999, eps = 1e-7;
      const got = run(new nn.EmoAdamOptimizer(lr, b1, b2, eps, decay), steps, w0, grads);
      const w = [...w0], m = new Array(n).fill(0), v = new Array(n).fill(0);
      for (let s = 0; s < steps; s++)
        for (let i = 0; i < n; i++) {
          const g = grads[s][i] + decay * w[i];
          m[i] = b1 * m[i] + (1 - b1) * g;
          v[i] = b2 * v[i] + (1 - b2) * g * g;
          w[i] -= (lr * (m[i] / (1 - b1 ** (s + 1)))) / (Math.sqrt(v[i] / (1 - b2 ** (s + 1))) + eps);
        }
      assertNear(got, w, 1e-5, 'w');
    });
  });
}

describe('optimizer configuration', () => {
  it('round-trips weight decay and momentum through its configuration, and refuses bad values', () => {
    const sgd = new nn.EmoSgdOptimizer(0.02, 0.7, 1e-3);
    const again = nn.EmoSgdOptimizer.fromConfig(nn.EmoSgdOptimizer, sgd.getConfig());
    assert.deepEqual([again.getClassName(), again.learningRate, again.momentum, again.weightDecay], ['EmoSgd', 0.02, 0.7, 1e-3]);
    const adam = new nn.EmoAdamOptimizer(0.003, 0.9, 0.999, null, 0.01);
    assert.equal(nn.EmoAdamOptimizer.fromConfig(nn.EmoAdamOptimizer, adam.getConfig()).weightDecay, 0.01);
    // An EmoAdam configuration from before weight decay existed has none.
    const old = { ...adam.getConfig() };
    delete old.weightDecay;
    assert.equal(nn.EmoAdamOptimizer.fromConfig(nn.EmoAdamOptimizer, old).weightDecay, 0);
    assert.throws(() => new nn.EmoSgdOptimizer(0.01, 1), RangeError);
    assert.throws(() => new nn.EmoSgdOptimizer(0.01, 0.8, -1), RangeError);
    assert.throws(() => new nn.EmoAdamOptimizer(0.01, 0.9, 0.999, null, NaN), RangeError);
    [sgd, adam].forEach((o) => o.dispose());
  });

  it('compileModel picks the optimizer, with SGD\'s own default learning rate', () => {
    const tfl = require('@tensorflow/tfjs-layers');
    const model = () => tfl.sequential({ layers: [tfl.layers.dense({ units: 8, inputShape: [4], activation: 'softmax' })] });
    const sgd = nn.compileModel(model(), { optimizer: 'sgd', weightDecay: 1e-3 }).optimizer;
    assert.deepEqual([sgd.getClassName(), sgd.learningRate, sgd.momentum, sgd.weightDecay], ['EmoSgd', 0.01, 0.8, 1e-3]);
    const adam = nn.compileModel(model()).optimizer;
    assert.deepEqual([adam.getClassName(), adam.learningRate, adam.weightDecay], ['EmoAdam', 1e-3, 0]);
    assert.throws(() => nn.compileModel(model(), { optimizer: 'rmsprop' }), TypeError);
  });
});
