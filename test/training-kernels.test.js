'use strict';
// The fused training kernels of the emo-native backend and the layers and optimizer that use
// them (lib/nn/layers.ts, lib/nn/optimizer.ts): training-mode batch norm (+ ReLU), dropout with
// a counter-based mask, the per-input convolution gradient, and Adam in one pass. Expected
// values come from float64 re-computations in this file (batch norm, Adam), float64 central
// finite differences (every gradient), and tfjs-backend-cpu running tfjs' own layers.
const assert = require('node:assert/strict');
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const tfl = require('@tensorflow/tfjs-layers');
const nn = require('../dist/nn');
const core = require('../dist/nn/backend/core');
const { native } = require('../dist/native');
const { prng } = require('./helpers/wav');

const NATIVE = nn.EMO_NATIVE_BACKEND;

/** Seeded values: offset + scale * (uniform in [-1, 1)), as plain numbers. */
function values(n, seed, scale = 1, offset = 0) {
  const r = prng(seed);
  return Array.from({ length: n }, () => offset + scale * (2 * r() - 1));
}

/** Calls of the named native functions while f runs. */
function countNative(names, f) {
  const counts = Object.fromEntries(names.map((n) => [n, 0]));
  const originals = names.map((n) => native[n]);
  names.forEach((n, i) => {
    native[n] = (...args) => {
      counts[n]++;
      return originals[i](...args);
    };
  });
  try {
    return { result: f(), counts };
  } finally {
    names.forEach((n, i) => (native[n] = originals[i]));
  }
}

/** max |a - b| <= tol * max(1, max |b|). */
function assertNear(actual, expected, tol, what) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let scale = 1;
  for (const v of expected) scale = Math.max(scale, Math.abs(v));
  let worst = 0, at = -1;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= worst)) [worst, at] = [d, i];
  }
  assert.ok(worst <= tol * scale, `${what}: element ${at} is ${actual[at]}, expected ${expected[at]} (max |difference| ${worst} > ${tol} * ${scale})`);
}

// ---- float64 references ------------------------------------------------------------------

/** Training-mode batch norm over the last axis in float64: y, batch mean, biased variance. */
function batchNormRef(x, gamma, beta, channels, epsilon, relu) {
  const rows = x.length / channels;
  const mean = new Float64Array(channels), variance = new Float64Array(channels);
  for (let r = 0; r < rows; r++) for (let c = 0; c < channels; c++) mean[c] += x[r * channels + c];
  for (let c = 0; c < channels; c++) mean[c] /= rows;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < channels; c++) {
      const d = x[r * channels + c] - mean[c];
      variance[c] += d * d;
    }
  }
  for (let c = 0; c < channels; c++) variance[c] /= rows;
  const y = new Float64Array(x.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < channels; c++) {
      const i = r * channels + c;
      const v = gamma[c] * ((x[i] - mean[c]) / Math.sqrt(variance[c] + epsilon)) + beta[c];
      y[i] = relu ? Math.max(0, v) : v;
    }
  }
  return { y, mean, variance };
}

/** Central differences (float64) of loss() with respect to the entries `which` of `params`. */
function finiteDifferences(loss, params, which, h = 1e-6) {
  return which.map((i) => {
    const keep = params[i];
    params[i] = keep + h;
    const up = loss();
    params[i] = keep - h;
    const down = loss();
    params[i] = keep;
    return (up - down) / (2 * h);
  });
}

/** One Adam step in float64 (Kingma & Ba; epsilon added to the corrected root, as tfjs does). */
function adamRef(x, m, v, g, { learningRate, beta1, beta2, epsilon }, t) {
  for (let i = 0; i < x.length; i++) {
    m[i] = beta1 * m[i] + (1 - beta1) * g[i];
    v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
    const mHat = m[i] / (1 - beta1 ** t), vHat = v[i] / (1 - beta2 ** t);
    x[i] -= (learningRate * mHat) / (Math.sqrt(vHat) + epsilon);
  }
}

/** The fused kernel with moving statistics 0 and 1 (they do not affect y or the gradients). */
const bnTrain = (x, scale, offset, epsilon, relu, moving = { movingMean: tf.zerosLike(scale), movingVariance: tf.onesLike(scale), momentum: 0.9 }) =>
  tf.engine().runKernel(core.EMO_BATCH_NORM_TRAIN, { x, scale, offset, movingMean: moving.movingMean, movingVariance: moving.movingVariance },
    { epsilon, relu, momentum: moving.momentum });
const dropoutKernel = (x, rate, seed) => tf.engine().runKernel(core.EMO_DROPOUT, { x }, { rate, seed });

before(async () => {
  assert.ok(await tf.setBackend(NATIVE));
  await tf.ready();
});

afterEach(async () => {
  nn.setNumThreads(0);
  await tf.setBackend(NATIVE);
});

describe('fused training batch norm (EmoBatchNormTrain)', function () {
  this.timeout(60_000);

  for (const channels of [3, 16, 32, 64]) {
    for (const relu of [false, true]) {
      it(`forward with ${channels} channels${relu ? ' and ReLU' : ''}: output and batch statistics equal a float64 re-computation`, () => {
        // Rows not a multiple of any thread split or vector width; values far from zero mean,
        // where one-pass sums of squares lose precision.
        const rows = 2 * 3 * 683 + 1;
        const x = values(rows * channels, channels + 7, 2, 50);
        const gamma = values(channels, 3, 0.5, 1), beta = values(channels, 4, 0.5);
        const eps = 1e-3;
        const ref = batchNormRef(x, gamma, beta, channels, eps, relu);
        const movingMean = values(channels, 5, 2, 49), movingVariance = values(channels, 6, 0.5, 1), momentum = 0.9;
        const moving = () => ({ movingMean: tf.tensor1d(movingMean), movingVariance: tf.tensor1d(movingVariance), momentum });
        const out = tf.tidy(() => bnTrain(tf.tensor2d(x, [rows, channels]), tf.tensor1d(gamma), tf.tensor1d(beta), eps, relu, moving()).map((t) => t.dataSync()));
        assertNear(out[0], ref.y, 2e-5, 'y');
        assertNear(out[1], ref.mean, 1e-6, 'mean');
        assertNear(out[2], ref.variance, 1e-5, 'variance');
        // The moving averages, in tfjs-layers' float32 arithmetic: moving - (moving - batch) * (1 - momentum).
        const f = Math.fround;
        const update = (m, batch) => m.map((v, c) => f(f(v) - f(f(f(v) - batch[c]) * f(1 - momentum))));
        assert.deepEqual(Array.from(out[3]), update(movingMean, out[1]), 'moving mean');
        assert.deepEqual(Array.from(out[4]), update(movingVariance, out[2]), 'moving variance');
        if (relu) assert.ok(out[0].some((v) => v === 0) && out[0].every((v) => v >= 0), 'ReLU applied');
      });
    }
  }

  for (const relu of [false, true]) {
    it(`gradients for x, gamma and beta${relu ? ' (with ReLU)' : ''} equal float64 finite differences`, () => {
      const shape = [2, 3, 5, 3], channels = 3, n = 90, eps = 1e-3;
      const x = values(n, 11, 1.5, 0.3), gamma = values(channels, 12, 0.5, 1), beta = values(channels, 13, 0.5);
      const w = values(n, 14); // loss = sum(w * y): every output gets its own weight
      const loss = () => batchNormRef(x, gamma, beta, channels, eps, relu).y.reduce((s, y, i) => s + w[i] * y, 0);
      const all = (k) => Array.from({ length: k }, (_, i) => i);
      const expected = [finiteDifferences(loss, x, all(n)), finiteDifferences(loss, gamma, all(channels)), finiteDifferences(loss, beta, all(channels))];
      const f = (xt, g, b) => tf.sum(tf.mul(tf.tensor(w, shape), bnTrain(xt, g, b, eps, relu)[0]));
      const { result: grads, counts } = countNative(['nnBatchNormTrainGrad'], () =>
        tf.tidy(() => tf.grads(f)([tf.tensor(x, shape), tf.tensor1d(gamma), tf.tensor1d(beta)]).map((t) => Array.from(t.dataSync()))));
      assert.deepEqual(counts, { nnBatchNormTrainGrad: 1 }, 'one kernel for all three gradients');
      ['x', 'gamma', 'beta'].forEach((name, i) => assertNear(grads[i], expected[i], 1e-4, `d loss / d ${name}`));
    });
  }

  it('input gradient on a large batch equals float64 finite differences at sampled entries', () => {
    const channels = 16, rows = 4099, n = rows * channels, eps = 1e-5;
    const x = values(n, 21, 3, -1), gamma = values(channels, 22, 0.5, 1), beta = values(channels, 23, 0.5);
    const w = values(n, 24);
    const loss = () => batchNormRef(x, gamma, beta, channels, eps, true).y.reduce((s, y, i) => s + w[i] * y, 0);
    const r = prng(25);
    const sample = Array.from({ length: 40 }, () => Math.floor(r() * n));
    const expected = finiteDifferences(loss, x, sample, 1e-4);
    const dx = tf.tidy(() => tf.grad((xt) => tf.sum(tf.mul(tf.tensor2d(w, [rows, channels]), bnTrain(xt, tf.tensor1d(gamma), tf.tensor1d(beta), eps, true)[0])))(tf.tensor2d(x, [rows, channels])).dataSync());
    assertNear(sample.map((i) => dx[i]), expected, 1e-4, 'sampled d loss / d x');
  });

  it('gives the same results on 1 and 2 threads, bit for bit', () => {
    const rows = 5001, channels = 32;
    const run = (threads) => {
      nn.setNumThreads(threads);
      return tf.tidy(() => {
        const x = tf.tensor2d(values(rows * channels, 31, 1, 2), [rows, channels]);
        const g = tf.tensor1d(values(channels, 32, 0.5, 1)), b = tf.tensor1d(values(channels, 33));
        const dy = tf.tensor2d(values(rows * channels, 34), [rows, channels]);
        const [y] = bnTrain(x, g, b, 1e-5, true);
        const grads = tf.grads((xt, gt, bt) => tf.sum(tf.mul(dy, bnTrain(xt, gt, bt, 1e-5, true)[0])))([x, g, b]);
        return [y, ...grads].map((t) => Array.from(t.dataSync()));
      });
    };
    assert.deepEqual(run(1), run(2));
  });

  it('refuses inputs that do not fit', () => {
    const x = new Float32Array(12), c = new Float32Array(3), y = new Float32Array(12), c4 = new Float32Array(4);
    assert.throws(() => native.nnBatchNormTrain(x, c, c, c, c, [4, 4], 1e-3, false, 0.9, y, c, c, c, c), RangeError);
    assert.throws(() => native.nnBatchNormTrain(x, c, c, c, c, [4, 3, 1], 1e-3, false, 0.9, y, c, c, c, c), RangeError);
    assert.throws(() => native.nnBatchNormTrain(x, c, c, c4, c, [4, 3], 1e-3, false, 0.9, y, c, c, c, c), RangeError, 'moving mean of another length');
    assert.throws(() => native.nnBatchNormTrain(x, c, c, c, c, [4, 3], 1e-3, false, NaN, y, c, c, c, c), /momentum/);
    assert.throws(() => native.nnBatchNormTrainGrad(x, x, c, c, c, c, [4, 3], 1e-3, false, y, c, c4), RangeError);
    assert.throws(() => tf.tidy(() => bnTrain(tf.tensor1d([1, 2, 3], 'int32'), tf.ones([1]), tf.zeros([1]), 1e-3, false)), /float32/);
  });
});

describe('native dropout (EmoDropout)', function () {
  this.timeout(60_000);
  const n = (1 << 20) + 7;

  it('keeps each element with probability 1 - rate, in every part of the tensor, scaled by 1 / (1 - rate)', () => {
    const x = Float32Array.from(values(n, 41, 1, 2)); // all > 0, so a zero output means dropped
    for (const rate of [0.1, 0.3, 0.5]) {
      const y = tf.tidy(() => dropoutKernel(tf.tensor1d(x), rate, 12345).dataSync());
      const scale = Math.fround(1 / (1 - Math.fround(rate)));
      const blocks = 8, size = Math.ceil(n / blocks);
      for (let b = 0; b < blocks; b++) {
        let kept = 0, count = 0;
        for (let i = b * size; i < Math.min(n, (b + 1) * size); i++, count++) {
          if (y[i] === 0) continue;
          kept++;
          if (y[i] !== Math.fround(x[i] * scale)) assert.fail(`rate ${rate}: element ${i} is ${y[i]}, expected ${Math.fround(x[i] * scale)}`);
        }
        const p = 1 - rate, sd = Math.sqrt(count * p * (1 - p));
        assert.ok(Math.abs(kept - count * p) < 6 * sd, `rate ${rate}, block ${b}: kept ${kept} of ${count}`);
      }
      // Neighbours are independent: the chance that both of two adjacent elements are kept is p^2.
      let both = 0;
      for (let i = 1; i < n; i++) if (y[i] !== 0 && y[i - 1] !== 0) both++;
      const p2 = (1 - rate) ** 2;
      assert.ok(Math.abs(both - (n - 1) * p2) < 6 * Math.sqrt((n - 1) * p2 * (1 - p2)), `rate ${rate}: adjacent pairs kept ${both}`);
    }
  });

  it('draws the same mask for the same seed on any thread count, and another for another seed', () => {
    const mask = (seed, threads) => {
      nn.setNumThreads(threads);
      return tf.tidy(() => Array.from(dropoutKernel(tf.ones([n]), 0.3, seed).dataSync()));
    };
    const a = mask(7, 2);
    assert.deepEqual(mask(7, 1), a);
    const b = mask(8, 2);
    let same = 0;
    for (let i = 0; i < n; i++) if ((a[i] === 0) === (b[i] === 0)) same++;
    // Independent masks agree where both keep or both drop: 0.7^2 + 0.3^2 = 58 % of elements.
    assert.ok(Math.abs(same / n - 0.58) < 0.01, `seeds 7 and 8 agree on ${(100 * same / n).toFixed(1)} % of elements`);
  });

  it('passes the gradient through the kept elements only, scaled, as float64 finite differences of its output say', () => {
    const shape = [3, 5, 7], size = 105, rate = 0.4, seed = 99;
    const x = values(size, 51, 1, 3), w = values(size, 52);
    const y = tf.tidy(() => dropoutKernel(tf.tensor(x, shape), rate, seed).dataSync());
    // dropout is linear with a fixed mask: d y_i / d x_i = y_i / x_i (0 or the scale), the finite
    // difference of loss = sum(w * (y / x) * x).
    const factor = Array.from(y, (v, i) => v / Math.fround(x[i]));
    const loss = () => x.reduce((s, xi, i) => s + w[i] * factor[i] * xi, 0);
    const expected = finiteDifferences(loss, x, Array.from({ length: size }, (_, i) => i));
    const dx = tf.tidy(() => tf.grad((t) => tf.sum(tf.mul(tf.tensor(w, shape), dropoutKernel(t, rate, seed))))(tf.tensor(x, shape)).dataSync());
    assertNear(Array.from(dx), expected, 1e-5, 'd loss / d x');
    assert.ok(factor.some((f) => f === 0) && factor.some((f) => f > 1), 'some elements dropped, some kept');
  });

  it('refuses a rate outside [0, 1) and a seed that is not a 32-bit unsigned integer', () => {
    const x = new Float32Array(4), y = new Float32Array(4);
    assert.throws(() => native.nnDropout(x, 1, 1, y), RangeError);
    assert.throws(() => native.nnDropout(x, -0.1, 1, y), RangeError);
    assert.throws(() => native.nnDropout(x, 0.5, 1.5, y), RangeError);
    assert.throws(() => native.nnDropout(x, 0.5, 2 ** 32, y), RangeError);
    assert.throws(() => native.nnDropout(x, 0.5, 1, new Float32Array(3)), RangeError);
  });

  it('maps the trainer\'s seeds in [0, 1) and integer seeds to distinct 32-bit keys', () => {
    const keys = [0, 0.25, 0.5, 0.999, 1, 2, 12345].map(nn.dropoutSeed);
    assert.equal(new Set(keys).size, keys.length);
    for (const k of keys) assert.ok(Number.isInteger(k) && k >= 0 && k < 2 ** 32);
    assert.equal(nn.dropoutSeed(0.25), nn.dropoutSeed(0.25));
  });
});

describe('convolution gradients per input (FusedConv2D)', function () {
  this.timeout(60_000);

  it('computes no input gradient unless asked, and the asked ones equal tfjs-backend-cpu\'s', () => {
    const make = () => [tf.tensor4d(values(2 * 9 * 7 * 3, 61), [2, 9, 7, 3]), tf.tensor4d(values(3 * 3 * 3 * 5, 62), [3, 3, 3, 5]), tf.tensor1d(values(5, 63))];
    const w = values(2 * 9 * 7 * 5, 64);
    const viaKernel = (x, filter, bias) => tf.engine().runKernel(tf.FusedConv2D, { x, filter, bias }, { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dilations: [1, 1], activation: 'linear' });
    const reference = (x, filter, bias) => tf.add(tf.conv2d(x, filter, 1, 'same'), bias);
    const lossOf = (conv) => (x, filter, bias) => tf.sum(tf.mul(tf.tensor4d(w, [2, 9, 7, 5]), conv(x, filter, bias)));
    const names = ['nnConv2dBackpropInput', 'nnConv2dBackpropFilter'];
    // The weights only: the input gets no backward pass.
    const { result: weightsOnly, counts } = countNative(names, () =>
      tf.tidy(() => {
        const [x, filter, bias] = make();
        return tf.grads((f, b) => lossOf(viaKernel)(x, f, b))([filter, bias]).map((t) => Array.from(t.dataSync()));
      }));
    assert.deepEqual(counts, { nnConv2dBackpropInput: 0, nnConv2dBackpropFilter: 1 });
    const { result: everything, counts: countsAll } = countNative(names, () => tf.tidy(() => tf.grads(lossOf(viaKernel))(make()).map((t) => Array.from(t.dataSync()))));
    assert.deepEqual(countsAll, { nnConv2dBackpropInput: 1, nnConv2dBackpropFilter: 1 });
    tf.setBackend('cpu');
    const expected = tf.tidy(() => tf.grads(lossOf(reference))(make()).map((t) => Array.from(t.dataSync())));
    tf.setBackend(NATIVE);
    ['x', 'filter', 'bias'].forEach((name, i) => assertNear(everything[i], expected[i], 1e-4, `d loss / d ${name}`));
    assertNear(weightsOnly[0], expected[1], 1e-4, 'd loss / d filter (weights only)');
    assertNear(weightsOnly[1], expected[2], 1e-4, 'd loss / d bias (weights only)');
  });
});

describe('Adam in one pass (EmoAdam, EmoAdamOptimizer)', function () {
  this.timeout(60_000);
  const hyper = { learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };

  it('three steps of the kernel equal a float64 re-computation', () => {
    const n = 70_001; // more than one thread's share, not a multiple of a vector width
    const x = values(n, 71), g = [values(n, 72), values(n, 73, 1e-3), values(n, 74, 10)];
    const ref = { x: Float64Array.from(x), m: new Float64Array(n), v: new Float64Array(n) };
    let state = { x: Float32Array.from(x), m: new Float32Array(n), v: new Float32Array(n) };
    for (let t = 1; t <= 3; t++) {
      adamRef(ref.x, ref.m, ref.v, g[t - 1], hyper, t);
      const out = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
      native.nnAdam(state.x, state.m, state.v, Float32Array.from(g[t - 1]),
        [hyper.learningRate, hyper.beta1, hyper.beta2, hyper.epsilon, 1 - hyper.beta1 ** t, 1 - hyper.beta2 ** t], ...out);
      state = { x: out[0], m: out[1], v: out[2] };
    }
    assertNear(state.x, ref.x, 1e-6, 'weights');
    assertNear(state.m, ref.m, 1e-6, 'first moments');
    assertNear(state.v, ref.v, 1e-5, 'second moments');
  });

  it('the optimizer moves weights as tfjs\' Adam does on the cpu backend, one kernel per weight', () => {
    const train = (backend, optimizer) => {
      tf.setBackend(backend);
      const a = tf.variable(tf.tensor2d(values(40 * 30, 81), [40, 30])), b = tf.variable(tf.tensor1d(values(30, 82)));
      const input = tf.tensor2d(values(8 * 40, 83), [8, 40]);
      for (let s = 0; s < 4; s++) optimizer.minimize(() => tf.mean(tf.square(tf.sub(tf.add(tf.matMul(input, a), b), 0.5))));
      const out = [a, b].map((v) => Array.from(v.dataSync()));
      tf.dispose([a, b, input]);
      optimizer.dispose();
      return out;
    };
    const { result: fused, counts } = countNative(['nnAdam'], () => train(NATIVE, new nn.EmoAdamOptimizer(0.01)));
    assert.equal(counts.nnAdam, 8, 'one kernel per weight and step');
    const reference = train('cpu', tf.train.adam(0.01));
    assertNear(fused[0], reference[0], 1e-5, 'a');
    assertNear(fused[1], reference[1], 1e-5, 'b');
    const initial = values(40 * 30, 81);
    assert.ok(reference[0].some((v, i) => Math.abs(v - initial[i]) > 1e-3), 'the weights moved');
  });

  it('resumes from its saved state bit for bit, however the run is split', async () => {
    const run = async (splitAfter) => {
      const w = tf.variable(tf.tensor1d(values(500, 91)), true, 'resume_w');
      const target = tf.tensor1d(values(500, 92));
      const loss = () => tf.sum(tf.square(tf.sub(tf.mul(w, w), target)));
      let opt = new nn.EmoAdamOptimizer(0.01);
      for (let s = 0; s < 5; s++) {
        if (s === splitAfter) {
          const saved = await opt.getWeights();
          const copies = saved.map((s2) => ({ name: s2.name, tensor: tf.clone(s2.tensor) }));
          opt.dispose();
          opt = new nn.EmoAdamOptimizer(0.01);
          await opt.setWeights(copies);
        }
        opt.minimize(loss, false, [w]);
      }
      const out = Array.from(w.dataSync());
      tf.dispose([w, target]);
      opt.dispose();
      return out;
    };
    const whole = await run(-1);
    assert.deepEqual(await run(2), whole);
    assert.deepEqual(await run(4), whole);
  });

  it('refuses mismatched lengths and non-finite settings', () => {
    const a = new Float32Array(5), short = new Float32Array(4);
    const ok = [0.01, 0.9, 0.999, 1e-7, 0.1, 0.001];
    assert.throws(() => native.nnAdam(a, a, a, short, ok, a, a, a), RangeError);
    assert.throws(() => native.nnAdam(a, a, a, a, ok.slice(0, 5), a, a, a), RangeError);
    assert.throws(() => native.nnAdam(a, a, a, a, [NaN, 0.9, 0.999, 1e-7, 0.1, 0.001], a, a, a), /finite/);
    assert.throws(() => native.nnAdam(a, a, a, a, [0.01, 0.9, 0.999, 1e-7, 0, 0.001], a, a, a), /positive/);
  });
});

describe('the fused layers train as tfjs\' own layers do', function () {
  this.timeout(120_000);

  /** conv → batch norm → ReLU → pool → dropout (rate 0) → dense; tfjs' layers or emo-native's. */
  function tinyModel(fused) {
    let seed = 1;
    const init = () => tfl.initializers.glorotUniform({ seed: seed++ });
    const input = tfl.input({ shape: [12, 10, 1] });
    let x = input;
    for (const filters of [4, 6]) {
      // No bias: before batch normalisation its gradient is zero plus rounding noise, which Adam
      // scales up to a full step either way, so two correct implementations disagree on it (and on
      // the moving mean it feeds). The per-input convolution test checks bias gradients.
      const conv = { filters, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: init() };
      if (fused) {
        x = new nn.EmoConv2D(conv).apply(x);
        x = new nn.EmoBatchNormalization({ activation: 'relu', momentum: 0.9 }).apply(x);
      } else {
        x = tfl.layers.conv2d(conv).apply(x);
        x = tfl.layers.batchNormalization({ momentum: 0.9 }).apply(x);
        x = tfl.layers.reLU().apply(x);
      }
      x = tfl.layers.maxPooling2d({ poolSize: 2, strides: 2 }).apply(x);
      x = (fused ? new nn.EmoDropout({ rate: 0 }) : tfl.layers.dropout({ rate: 0 })).apply(x);
    }
    const output = tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init() }).apply(tfl.layers.flatten().apply(x));
    return tfl.model({ inputs: input, outputs: output });
  }

  it('weights, moving statistics and inference after 3 steps equal tfjs\' layers on the cpu backend; the input gets no gradient', async () => {
    const x = values(6 * 12 * 10, 101, 20, -40), labels = [0, 1, 2, 0, 1, 2];
    const train = async (backend, fused) => {
      await tf.setBackend(backend);
      const model = tinyModel(fused);
      model.compile({ optimizer: fused ? new nn.EmoAdamOptimizer(0.01) : tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
      const xs = tf.tensor4d(x, [6, 12, 10, 1]);
      const ys = tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), 3), 'float32');
      for (let s = 0; s < 3; s++) await model.trainOnBatch(xs, ys);
      const prediction = model.predict(xs);
      const out = { weights: model.getWeights().map((w) => Array.from(w.dataSync())), names: model.getWeights().map((w) => w.name), prediction: Array.from(prediction.dataSync()) };
      tf.dispose([xs, ys, prediction]);
      model.dispose();
      return out;
    };
    const names = ['nnConv2dBackpropInput', 'nnBatchNormTrain', 'nnDropout', 'nnAdam'];
    const originals = names.map((n) => native[n]);
    const counts = Object.fromEntries(names.map((n) => [n, 0]));
    names.forEach((n, i) => (native[n] = (...a) => (counts[n]++, originals[i](...a))));
    let fused;
    try {
      fused = await train(NATIVE, true);
    } finally {
      names.forEach((n, i) => (native[n] = originals[i]));
    }
    // Per step: 2 batch norms, 1 input gradient (the second conv's; the first one's input is the
    // features), 8 weights. Dropout at rate 0 is the identity.
    assert.deepEqual(counts, { nnConv2dBackpropInput: 3, nnBatchNormTrain: 6, nnDropout: 0, nnAdam: 24 });
    const reference = await train('cpu', false);
    assert.equal(fused.weights.length, reference.weights.length);
    for (let i = 0; i < reference.weights.length; i++) assertNear(fused.weights[i], reference.weights[i], 1e-4, `weight ${i} (${reference.names[i]})`);
    assertNear(fused.prediction, reference.prediction, 1e-4, 'inference after training');
    // The moving statistics moved (momentum 0.9, three steps): the comparison is not of initial values.
    const movingMean = reference.names.findIndex((n) => n.endsWith('moving_mean'));
    assert.ok(reference.weights[movingMean].some((v) => Math.abs(v) > 1e-2));
  });

  it('EmoBatchNormalization keeps its activation in its configuration; inference applies it', async () => {
    await tf.setBackend('cpu');
    const layer = new nn.EmoBatchNormalization({ activation: 'relu' });
    assert.equal(layer.getConfig().activation, 'relu');
    const restored = nn.EmoBatchNormalization.fromConfig(nn.EmoBatchNormalization, layer.getConfig());
    assert.equal(restored.fusedActivation, 'relu');
    const y = tf.tidy(() => Array.from(layer.apply(tf.tensor2d([-2, 1, 3, -4], [2, 2])).dataSync()));
    const s = Math.sqrt(1 + 1e-3); // initial moving statistics 0 and 1, epsilon 1e-3
    assertNear(y, [0, 1 / s, 3 / s, 0], 1e-6, 'relu((x - 0) / sqrt(1 + eps))');
    assert.throws(() => new nn.EmoBatchNormalization({ activation: 'tanh' }), TypeError);
  });
});
