'use strict';
// The emo-native tfjs backend (lib/nn/backend): every native kernel against
// tfjs-backend-cpu (the reference: same tfjs semantics, independent code), the
// counted fallbacks, gradients, a full Adam step of a small version of the
// model, memory over many steps, and the process-level hazards (signals,
// prebuilds, worker threads).
const assert = require('node:assert/strict');
const { skipBecause } = require('./helpers/skips');
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
// tfjs-layers registers tfjs' gradients (the tfjs-core bundle alone has none).
const tfl = require('@tensorflow/tfjs-layers');
const nnBackend = require('../dist/nn/backend');
const { native } = require('../dist/native');

const NATIVE = nnBackend.EMO_NATIVE_BACKEND;
const TOLERANCE = 1e-4;

/** A small seeded PRNG for test cases (mulberry32, shared with the WAV helpers). */
const { prng: rng } = require('./helpers/wav');
const pick = (r, list) => list[Math.floor(r() * list.length)];

let seedCounter = 1;
/** Seeded normal values: the same numbers on every backend. */
const randn = (shape, seed = seedCounter++) => tf.randomNormal(shape, 0, 1, 'float32', seed);

/** Runs f under a backend inside tidy and returns plain copies of its outputs. */
function runOn(backendName, f) {
  const previous = tf.getBackend();
  tf.setBackend(backendName);
  try {
    return tf.tidy(() => {
      const result = f();
      const list = Array.isArray(result) ? result : [result];
      return list.map((t) => ({ shape: t.shape.slice(), dtype: t.dtype, values: Array.from(t.dataSync()) }));
    });
  } finally {
    tf.setBackend(previous);
  }
}

/** max |a - b| <= 1e-4 * max |b|, NaN where the reference has NaN, same shapes. */
function assertClose(actual, expected, what) {
  assert.equal(actual.length, expected.length, `${what}: number of outputs`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], b = expected[i];
    assert.deepEqual(a.shape, b.shape, `${what}: shape of output ${i}`);
    assert.equal(a.dtype, b.dtype, `${what}: dtype of output ${i}`);
    let maxRef = 0;
    for (const v of b.values) if (Number.isFinite(v)) maxRef = Math.max(maxRef, Math.abs(v));
    let worst = 0;
    for (let j = 0; j < b.values.length; j++) {
      const x = a.values[j], y = b.values[j];
      if (Number.isNaN(y) || !Number.isFinite(y)) {
        assert.ok(Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y)) || x === y, `${what}: element ${j} is ${x}, expected ${y}`);
        continue;
      }
      worst = Math.max(worst, Math.abs(x - y));
    }
    assert.ok(worst <= TOLERANCE * maxRef || worst === 0, `${what}: max |difference| ${worst} > ${TOLERANCE} * ${maxRef}`);
  }
}

/** Counts calls of native functions (by name) while f runs. */
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

function fallbackTotal() {
  let n = 0;
  for (const v of nnBackend.fallbackCounts().values()) n += v;
  return n;
}

/**
 * f on emo-native equals f on cpu, with the given native functions called and
 * no fallback taken.
 */
function matchesCpu(what, f, nativeFns = []) {
  const fallbacksBefore = fallbackTotal();
  const { result: actual, counts } = countNative(nativeFns, () => runOn(NATIVE, f));
  assert.equal(fallbackTotal(), fallbacksBefore, `${what}: no kernel may fall back (${JSON.stringify([...nnBackend.fallbackCounts()])})`);
  for (const name of nativeFns) assert.ok(counts[name] > 0, `${what}: ${name} was not called`);
  assertClose(actual, runOn('cpu', f), what);
}

before(async () => {
  assert.ok(nnBackend.registerEmoNativeBackend());
  await tf.setBackend(NATIVE);
  await tf.ready();
});

describe('emo-native backend: registration', () => {
  it('is registered on import, idempotently, with every cpu kernel and its own on top', () => {
    assert.equal(nnBackend.EMO_NATIVE_BACKEND, 'emo-native');
    assert.ok(nnBackend.registerEmoNativeBackend());
    assert.ok(nnBackend.registerEmoNativeBackend());
    const cpu = new Set(tf.getKernelsForBackend('cpu').map((k) => k.kernelName));
    const ours = new Set(tf.getKernelsForBackend(NATIVE).map((k) => k.kernelName));
    for (const name of cpu) assert.ok(ours.has(name), `kernel ${name} is registered for emo-native`);
    for (const name of nnBackend.nativeKernelNames()) assert.ok(ours.has(name), `native kernel ${name} is registered`);
    for (const name of ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'MaxPool', 'MaxPoolGrad', 'BatchMatMul', '_FusedMatMul', 'FusedBatchNorm'])
      assert.ok(nnBackend.nativeKernelNames().includes(name), `${name} is native`);
  });

  it('is a MathBackendCPU with a fallbackCounts map, and wins over cpu by priority', () => {
    const backend = tf.findBackend(NATIVE);
    assert.ok(backend instanceof nnBackend.EmoNativeBackend);
    assert.ok(backend.fallbackCounts instanceof Map);
    assert.equal(tf.engine().registryFactory[NATIVE].priority > tf.engine().registryFactory.cpu.priority, true);
  });

  it('uses one thread per CPU by default and can be told otherwise', () => {
    const defaultThreads = nnBackend.getNumThreads();
    assert.ok(defaultThreads >= 1 && defaultThreads <= os.availableParallelism());
    try {
      assert.equal(nnBackend.setNumThreads(1), 1);
      matchesCpu('conv on one thread', () => tf.conv2d(randn([2, 9, 9, 3], 5), randn([3, 3, 3, 4], 6), 1, 'same'), ['nnConv2d']);
    } finally {
      assert.equal(nnBackend.setNumThreads(0), defaultThreads);
    }
    assert.throws(() => nnBackend.setNumThreads(-1), RangeError);
    assert.throws(() => nnBackend.setNumThreads(1.5), RangeError);
  });
});

describe('emo-native backend: kernels equal tfjs-backend-cpu', function () {
  this.timeout(120000);
  const r = rng(20240611);

  it('Conv2D and FusedConv2D (bias, activations) on random shapes, same/valid, strides, dilations, batch 1', () => {
    for (let i = 0; i < 24; i++) {
      const batch = pick(r, [1, 1, 2, 3]);
      const fh = pick(r, [1, 2, 3, 5]), fw = pick(r, [1, 3, 4]);
      const dilation = i % 5 === 0 ? 2 : 1;
      const stride = dilation > 1 ? 1 : pick(r, [1, 2, 3]);
      const pad = pick(r, ['same', 'valid']);
      const h = (fh - 1) * dilation + 1 + Math.floor(r() * 9), w = (fw - 1) * dilation + 1 + Math.floor(r() * 9);
      const inC = pick(r, [1, 3, 5, 16]), outC = pick(r, [1, 4, 7, 16]);
      const what = `conv [${batch},${h},${w},${inC}] * [${fh},${fw},${inC},${outC}] s${stride} d${dilation} ${pad}`;
      const seed = 100 + i;
      matchesCpu(what, () => tf.conv2d(randn([batch, h, w, inC], seed), randn([fh, fw, inC, outC], seed + 1), stride, pad, 'NHWC', dilation), ['nnConv2d']);
      const activation = pick(r, ['relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu', 'linear']);
      matchesCpu(`${what} fused ${activation}`, () => tf.fused.conv2d({
        x: randn([batch, h, w, inC], seed), filter: randn([fh, fw, inC, outC], seed + 1), strides: stride, pad, dilations: dilation,
        bias: randn([outC], seed + 2), activation, leakyreluAlpha: 0.3,
      }), ['nnConv2d']);
    }
  });

  it('Conv2DBackpropInput and Conv2DBackpropFilter (through tf.grads) on random shapes', () => {
    for (let i = 0; i < 16; i++) {
      const batch = pick(r, [1, 2, 3]);
      const f = pick(r, [1, 2, 3, 5]);
      const stride = pick(r, [1, 2, 3]);
      const pad = pick(r, ['same', 'valid']);
      const h = f + Math.floor(r() * 10), w = f + Math.floor(r() * 10);
      const inC = pick(r, [1, 2, 5, 16]), outC = pick(r, [1, 3, 8, 32]);
      const seed = 300 + 3 * i;
      const what = `conv grads [${batch},${h},${w},${inC}] * [${f},${f},${inC},${outC}] s${stride} ${pad}`;
      matchesCpu(what, () => {
        const x = randn([batch, h, w, inC], seed), filter = randn([f, f, inC, outC], seed + 1);
        const outShape = tf.conv2d(x, filter, stride, pad).shape;
        const dy = randn(outShape, seed + 2);
        return tf.grads((a, b) => tf.sum(tf.mul(tf.conv2d(a, b, stride, pad), dy)))([x, filter]);
      }, ['nnConv2dBackpropInput', 'nnConv2dBackpropFilter']);
    }
  });

  it('the model\'s convolution shapes, forward and backward', () => {
    for (const [h, inC, outC] of [[32, 1, 16], [16, 16, 32], [8, 32, 64]]) {
      matchesCpu(`model conv ${h}x${h}x${inC}->${outC}`, () => {
        const x = randn([3, h, h, inC], h), filter = randn([3, 3, inC, outC], h + 1), bias = randn([outC], h + 2);
        const dy = randn([3, h, h, outC], h + 3);
        const f = (a, b, c) => tf.sum(tf.mul(tf.fused.conv2d({ x: a, filter: b, bias: c, pad: 'same', strides: 1 }), dy));
        return [tf.fused.conv2d({ x, filter, bias, pad: 'same', strides: 1 }), ...tf.grads(f)([x, filter, bias])];
      }, ['nnConv2d', 'nnConv2dBackpropInput', 'nnConv2dBackpropFilter']);
    }
  });

  it('MaxPool and MaxPoolGrad, including the tie rule on ReLU zeros', () => {
    for (let i = 0; i < 20; i++) {
      const batch = pick(r, [1, 2, 3]);
      const f = pick(r, [1, 2, 3, 4]);
      const stride = pick(r, [1, 2, 3, 4]);
      const pad = pick(r, ['same', 'valid']);
      const h = f + Math.floor(r() * 12), w = f + Math.floor(r() * 12);
      const c = pick(r, [1, 3, 16]);
      const seed = 500 + 2 * i;
      matchesCpu(`maxPool [${batch},${h},${w},${c}] f${f} s${stride} ${pad}`, () => {
        // ReLU first: whole windows of zeros, where only the first may take the gradient.
        const x = tf.relu(randn([batch, h, w, c], seed));
        const y = tf.maxPool(x, f, stride, pad);
        const dy = randn(y.shape, seed + 1);
        return [y, tf.grad((a) => tf.sum(tf.mul(tf.maxPool(a, f, stride, pad), dy)))(x)];
      }, ['nnMaxPool', 'nnMaxPoolGrad']);
    }
    matchesCpu('maxPool over -Infinity and NaN windows', () => {
      const x = tf.tensor4d([-Infinity, -Infinity, NaN, 1, NaN, NaN, -Infinity, 2], [1, 2, 4, 1]);
      const dy = tf.tensor4d([1, 2], [1, 1, 2, 1]);
      return [tf.maxPool(x, 2, 2, 'valid'), tf.grad((a) => tf.sum(tf.mul(tf.maxPool(a, 2, 2, 'valid'), dy)))(x)];
    });
  });

  it('BatchMatMul and _FusedMatMul: transposes, batch broadcasting, bias, activations', () => {
    for (let i = 0; i < 24; i++) {
      const m = 1 + Math.floor(r() * 40), n = 1 + Math.floor(r() * 70), k = 1 + Math.floor(r() * 50);
      const batchA = pick(r, [1, 3]), batchB = pick(r, [1, 3]);
      const ta = r() < 0.5, tb = r() < 0.5;
      const rank3 = batchA > 1 || batchB > 1 || r() < 0.5;
      const shapeOf = (batch, rows, cols) => (rank3 ? [batch, rows, cols] : [rows, cols]);
      const aShape = shapeOf(batchA, ta ? k : m, ta ? m : k), bShape = shapeOf(batchB, tb ? n : k, tb ? k : n);
      const seed = 700 + 3 * i;
      const what = `matMul [${aShape}]${ta ? 'T' : ''} x [${bShape}]${tb ? 'T' : ''}`;
      matchesCpu(what, () => tf.matMul(randn(aShape, seed), randn(bShape, seed + 1), ta, tb), ['nnMatMul']);
      const activation = pick(r, ['relu', 'sigmoid', 'elu', 'relu6', 'leakyrelu', 'linear']);
      const bias = pick(r, [[n], [1], []]);
      matchesCpu(`${what} fused ${activation} bias [${bias}]`, () => tf.fused.matMul({
        a: randn(aShape, seed), b: randn(bShape, seed + 1), transposeA: ta, transposeB: tb, bias: randn(bias, seed + 2),
        activation, leakyreluAlpha: 0.2,
      }), ['nnMatMul']);
    }
  });

  it('the model\'s dense and LSTM products, with gradients', () => {
    for (const [m, k, n] of [[14, 1024, 256], [32, 128, 512], [32, 256, 512], [7, 256, 1], [32, 256, 8]]) {
      matchesCpu(`dense ${m}x${k} -> ${n}`, () => {
        const a = randn([m, k], m + k), b = randn([k, n], n), bias = randn([n], n + 1), dy = randn([m, n], n + 2);
        const f = (x, w, c) => tf.sum(tf.mul(tf.fused.matMul({ a: x, b: w, bias: c }), dy));
        return tf.grads(f)([a, b, bias]);
      }, ['nnMatMul']);
    }
  });

  it('FusedBatchNorm with per-channel and mixed-length parameters', () => {
    matchesCpu('batchNorm per channel', () => {
      const c = 16;
      return tf.batchNorm(randn([3, 5, 7, c], 1), randn([c], 2), tf.abs(randn([c], 3)), randn([c], 4), randn([c], 5), 1e-3);
    }, ['nnBatchNorm']);
    matchesCpu('batchNorm without offset and scale', () => tf.batchNorm(randn([2, 3, 4], 6), randn([4], 7), tf.abs(randn([4], 8))), ['nnBatchNorm']);
    // Each parameter repeats with its own length (tfjs' element-by-element rule).
    matchesCpu('batchNorm mixed lengths', () => tf.batchNorm(randn([2, 5, 3, 4], 9), randn([1, 4], 10), tf.abs(randn([3, 4], 11)), randn([3, 4], 12), randn([1, 4], 13), 0.01), ['nnBatchNorm']);
  });

  it('unary kernels, including NaN, infinities and signed zeros', () => {
    const special = () => tf.tensor1d([NaN, -Infinity, -3.5, -1, -0, 0, 0.25, 1, 2.5, 1e30, Infinity]);
    const ops = {
      relu: tf.relu, relu6: tf.relu6, elu: tf.elu, sigmoid: tf.sigmoid, step: (x) => tf.step(x, 0.3), square: tf.square,
      neg: tf.neg, exp: tf.exp, abs: tf.abs, floor: tf.floor, tanh: tf.tanh, leakyRelu: (x) => tf.leakyRelu(x, 0.1),
      sqrt: (x) => tf.sqrt(tf.abs(x)), rsqrt: (x) => tf.rsqrt(tf.abs(x)), log: (x) => tf.log(tf.abs(x)), reciprocal: tf.reciprocal,
    };
    for (const [name, op] of Object.entries(ops)) {
      matchesCpu(`${name} on random values`, () => op(tf.mul(randn([3, 7, 5, 11], 900), 3)), ['nnUnary']);
      matchesCpu(`${name} on special values`, () => op(special()), ['nnUnary']);
    }
    matchesCpu('floor on large and fractional values', () => tf.floor(tf.tensor1d([-1.5, -0.5, 0.5, 1.5, 8388607.5, -8388607.5, 16777217, -2.000001])));
  });

  it('binary kernels with every broadcast pattern', () => {
    const shapes = [
      [[2, 3, 4, 5], [2, 3, 4, 5]], [[2, 3, 4, 5], [5]], [[5], [2, 3, 4, 5]], [[2, 3, 4, 5], []], [[], [3, 4]],
      [[2, 1, 4, 1], [1, 3, 1, 5]], [[1, 1, 1, 16], [3, 8, 8, 16]], [[3, 1], [1, 7]], [[4, 1, 6], [4, 5, 1]], [[1], [9]],
    ];
    const ops = { add: tf.add, sub: tf.sub, mul: tf.mul, div: tf.div, maximum: tf.maximum, minimum: tf.minimum, squaredDifference: tf.squaredDifference };
    for (const [name, op] of Object.entries(ops)) {
      for (const [a, b] of shapes) matchesCpu(`${name} [${a}] [${b}]`, () => op(randn(a, 31), randn(b, 32)), ['nnBinary']);
    }
    matchesCpu('maximum and minimum propagate NaN', () => {
      const a = tf.tensor1d([NaN, 1, 2, -Infinity]), b = tf.tensor1d([0, NaN, 3, 4]);
      return [tf.maximum(a, b), tf.minimum(a, b)];
    });
  });

  it('Sum and Mean over any axes, with and without keepDims', () => {
    const cases = [
      [[7], null], [[7], 0], [[4, 5], 0], [[4, 5], 1], [[4, 5], [0, 1]], [[3, 4, 5, 6], [0, 1, 2]], [[3, 4, 5, 6], [1, 3]],
      [[3, 4, 5, 6], [0, 2]], [[3, 4, 5, 6], -1], [[3, 4, 5, 6], [1, 2]], [[2, 3, 4, 5, 6], [0, 2, 4]], [[3, 1, 5], [1]],
      [[6, 5], []], [[1, 300000], 1], [[2, 70000], [0, 1]],
    ];
    for (const [shape, axis] of cases) {
      for (const keepDims of [false, true]) {
        matchesCpu(`sum/mean [${shape}] axis ${JSON.stringify(axis)} keepDims ${keepDims}`, () => {
          const x = randn(shape, 41);
          return [tf.sum(x, axis, keepDims), tf.mean(x, axis, keepDims)];
        }, ['nnReduce']);
      }
    }
  });

  it('Transpose, Tile, Pack, Unpack, SplitV and Reverse, float32 and int32', () => {
    for (let i = 0; i < 12; i++) {
      const rank = 2 + (i % 4);
      const shape = Array.from({ length: rank }, () => 1 + Math.floor(r() * 5));
      const perm = [...Array(rank).keys()].sort(() => r() - 0.5);
      const reps = shape.map(() => pick(r, [1, 2, 3]));
      const axis = Math.floor(r() * rank);
      const what = `layout [${shape}] perm [${perm}] reps [${reps}] axis ${axis}`;
      matchesCpu(what, () => {
        const x = randn(shape, 60 + i);
        const sizes = shape[axis] > 1 ? [1, -1] : [1];
        return [
          tf.transpose(x, perm), tf.tile(x, reps), tf.stack([x, tf.neg(x), x], axis), ...tf.unstack(x, axis),
          ...tf.split(x, sizes, axis), tf.reverse(x, axis), tf.reverse(x, perm.slice(0, 2)),
        ];
      }, ['nnTranspose', 'nnTile', 'nnPack', 'nnUnpack', 'nnSplit', 'nnReverse']);
      matchesCpu(`${what} int32`, () => {
        const x = tf.cast(tf.mul(randn(shape, 80 + i), 100), 'int32');
        return [tf.transpose(x, perm), tf.tile(x, reps), tf.stack([x, x], axis), ...tf.unstack(x, axis), tf.reverse(x, axis)];
      }, ['nnTranspose', 'nnTile', 'nnPack', 'nnUnpack', 'nnReverse']);
    }
  });

  it('float32 tensors cast from int32 and bool (which keep their integer storage on the cpu backend)', () => {
    matchesCpu('cast inputs', () => {
      const ints = tf.cast(tf.tensor2d([[1, -2, 3], [4, 5, -6]], [2, 3], 'int32'), 'float32');
      const bools = tf.cast(tf.greater(ints, 0), 'float32');
      return [tf.mean(bools), tf.sum(ints, 1), tf.mul(ints, bools), tf.relu(ints)];
    }, ['nnReduce', 'nnBinary', 'nnUnary']);
  });

  it('large tensors that come from the native memory pool', () => {
    matchesCpu('pooled element-wise chain', () => {
      const x = randn([8, 64, 64, 16], 71), y = randn([16], 72);
      return [tf.sum(tf.relu(tf.add(tf.mul(x, y), tf.square(x))), [0, 1, 2]), tf.mean(tf.transpose(x, [3, 1, 2, 0]), 3)];
    }, ['nnBinary', 'nnUnary', 'nnReduce', 'nnTranspose']);
  });
});

describe('emo-native backend: fallbacks are counted, logged once and correct', () => {
  const cases = [
    ['Conv2D', 'NCHW data format', () => tf.conv2d(randn([2, 3, 7, 6], 1), randn([3, 3, 3, 4], 2), 1, 'same', 'NCHW')],
    ['FusedConv2D', 'activation prelu', () => tf.fused.conv2d({ x: randn([1, 6, 6, 2], 3), filter: randn([3, 3, 2, 3], 4), strides: 1, pad: 'valid', activation: 'prelu', preluActivationWeights: tf.fill([3], 0.1) })],
    ['Add', 'dtypes int32, int32', () => tf.add(tf.tensor1d([1, 2, 3], 'int32'), tf.tensor1d([4, 5, 6], 'int32'))],
    ['Sum', 'dtype int32', () => tf.sum(tf.tensor2d([[1, 2], [3, 4]], [2, 2], 'int32'), 0)],
    ['_FusedMatMul', 'activation prelu', () => tf.fused.matMul({ a: randn([3, 4], 5), b: randn([4, 2], 6), activation: 'prelu', preluActivationWeights: tf.fill([2], 0.2) })],
  ];
  for (const [kernel, reason, f] of cases) {
    it(`${kernel} with ${reason} runs the cpu kernel and counts it`, () => {
      const before = nnBackend.fallbackCounts().get(kernel) ?? 0;
      const logged = [];
      const debug = console.debug;
      const saved = process.env.EMO_DEBUG;
      process.env.EMO_DEBUG = '1';
      console.debug = (...args) => logged.push(args.join(' '));
      let actual;
      try {
        actual = runOn(NATIVE, f);
        runOn(NATIVE, f);
      } finally {
        console.debug = debug;
        if (saved === undefined) delete process.env.EMO_DEBUG;
        else process.env.EMO_DEBUG = saved;
      }
      assert.equal(nnBackend.fallbackCounts().get(kernel), before + 2);
      assert.ok(logged.filter((l) => l.includes(kernel) && l.includes(reason)).length <= 1, `logged at most once: ${logged}`);
      assertClose(actual, runOn('cpu', f), kernel);
    });
  }
});

describe('emo-native backend: the native functions check their arguments', () => {
  const dims = [1, 4, 4, 1, 4, 4, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1];
  it('refuses wrong types, lengths and geometry with TypeError / RangeError', () => {
    const x = new Float32Array(16), w = new Float32Array(18), y = new Float32Array(32);
    assert.equal(native.nnConv2d(x, w, null, y, dims, 0, 0), true);
    assert.throws(() => native.nnConv2d(new Float64Array(16), w, null, y, dims, 0, 0), TypeError);
    assert.throws(() => native.nnConv2d(x, w, null, new Float32Array(31), dims, 0, 0), RangeError);
    assert.throws(() => native.nnConv2d(x, w, new Float32Array(3), y, dims, 0, 0), RangeError);
    assert.throws(() => native.nnConv2d(x, w, null, y, dims.slice(1), 0, 0), RangeError);
    assert.throws(() => native.nnConv2d(x, w, null, y, [...dims.slice(0, 4), 5, ...dims.slice(5)], 0, 0), /output size/);
    assert.throws(() => native.nnConv2d(x, w, null, y, dims, 9, 0), RangeError);
    assert.throws(() => native.nnConv2d(x, w, null, y, [...dims.slice(0, 9), -1, ...dims.slice(10)], 0, 0), RangeError);
    assert.throws(() => native.nnBinary(0, x, [4, 4], new Float32Array(3), [3], new Float32Array(16)), /broadcast/);
    assert.throws(() => native.nnUnary(99, x, x, 0), RangeError);
    assert.throws(() => native.nnReduce(0, x, [4, 4], [2], new Float32Array(4)), RangeError);
    assert.throws(() => native.nnTranspose(x, [4, 4], [0, 0], new Float32Array(16)), /permutation/);
    assert.throws(() => native.nnTranspose(x, [4, 4], [1, 0], new Int32Array(16)), TypeError);
    assert.throws(() => native.nnMatMul(x, x, null, new Float32Array(16), [1, 1, 4, 4, 4, 2, 0], 0, 0), RangeError);
    assert.throws(() => native.nnAlloc(-1), RangeError);
  });
});

describe('emo-native backend: on CPUs without AVX2', () => {
  it('convolution gradients with no oneDNN direct kernel fall back, counted, with the right numbers', () => {
    // oneDNN has SSE4.1 direct kernels for the forward pass only; its other
    // implementations (GEMM-based, reference) are never used.
    const script = `
      const tf = require('@tensorflow/tfjs-core');
      require('@tensorflow/tfjs-backend-cpu');
      require('@tensorflow/tfjs-layers');
      const nn = require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'nn', 'backend'))});
      const run = (name) => {
        tf.setBackend(name);
        return tf.tidy(() => {
          const x = tf.randomNormal([2, 9, 9, 3], 0, 1, 'float32', 1), w = tf.randomNormal([3, 3, 3, 8], 0, 1, 'float32', 2);
          return [tf.conv2d(x, w, 1, 'same'), ...tf.grads((a, b) => tf.sum(tf.square(tf.conv2d(a, b, 1, 'same'))))([x, w])].map((t) => Array.from(t.dataSync()));
        });
      };
      const native = run('emo-native'), cpu = run('cpu');
      const close = native.every((v, i) => v.every((x, j) => Math.abs(x - cpu[i][j]) <= 1e-4 * Math.max(...cpu[i].map(Math.abs))));
      console.log(JSON.stringify({ close, fallbacks: Object.fromEntries(nn.fallbackCounts()) }));`;
    const out = execFileSync(process.execPath, ['-e', script], {
      cwd: path.join(__dirname, '..'), encoding: 'utf8', env: { ...process.env, ONEDNN_MAX_CPU_ISA: 'SSE41' },
    });
    const { close, fallbacks } = JSON.parse(out.trim().split('\n').pop());
    assert.ok(close);
    assert.deepEqual(fallbacks, { Conv2DBackpropInput: 1, Conv2DBackpropFilter: 1 });
  });
});

describe('emo-native backend: gradients', function () {
  this.timeout(60000);

  it('a conv / batch-norm / relu / pool / dense graph has the cpu gradients, through the fused native gradients', () => {
    // (No conv bias: ahead of batch norm its gradient is zero but for rounding,
    // and rounding noise cannot be compared relative to itself.)
    const graph = (x, filter, gamma, beta, w) => {
      const y = tf.conv2d(x, filter, 1, 'same');
      const { mean, variance } = tf.moments(y, [0, 1, 2]);
      const n = tf.relu(tf.batchNorm(y, mean, variance, beta, gamma, 1e-3));
      const p = tf.maxPool(n, 2, 2, 'valid');
      return tf.sum(tf.square(tf.matMul(tf.reshape(p, [p.shape[0], -1]), w)));
    };
    const inputs = () => [randn([3, 8, 8, 2], 11), randn([3, 3, 2, 4], 12), tf.add(randn([4], 14), 1), randn([4], 15), randn([64, 3], 16)];
    const names = ['nnBatchNormGradSums', 'nnMaxPoolGrad', 'nnConv2dBackpropFilter', 'nnConv2dBackpropInput', 'nnMatMul', 'nnTile'];
    matchesCpu('graph gradients', () => tf.grads(graph)(inputs()), names);
    // The fused gradients replace tfjs' chains: fewer kernels for the same numbers.
    const kernelsOn = (name) => {
      const engine = tf.engine();
      const original = engine.runKernelFunc;
      let count = 0;
      engine.runKernelFunc = function (...args) {
        count++;
        return original.apply(this, args);
      };
      try {
        runOn(name, () => tf.grads(graph)(inputs()));
      } finally {
        engine.runKernelFunc = original;
      }
      return count;
    };
    assert.ok(kernelsOn(NATIVE) < kernelsOn('cpu'), 'fewer kernel calls than tfjs-backend-cpu');
  });

  it('gradients of mean, sum, square and relu equal tfjs\' own', () => {
    matchesCpu('elementwise gradients', () => {
      const x = randn([4, 6, 5, 3], 21);
      return tf.grads((a) => tf.add(tf.sum(tf.mul(tf.mean(tf.square(a), [0, 2], true), 2)), tf.sum(tf.mul(tf.relu(a), tf.sum(a, 1, true)))))([x]);
    }, ['nnTile']);
  });

  it('tfjs\' own gradients still run on the cpu backend', () => {
    const { counts } = countNative(['nnBatchNormGradSums', 'nnTile'], () => runOn('cpu', () => {
      const x = randn([2, 3, 3, 2], 31);
      // (tfjs' batch-norm gradient needs a scale tensor: it fails without one on any backend.)
      return tf.grads((a) => tf.sum(tf.batchNorm(a, tf.mean(a, [0, 1, 2]), tf.ones([2]), tf.zeros([2]), tf.ones([2]))))([x]);
    }));
    assert.equal(counts.nnBatchNormGradSums, 0);
    assert.equal(counts.nnTile, 0);
  });
});

/**
 * A small version of the model (docs/architecture.md "The network"): 2 chunks of
 * 16x16, TimeDistributed Conv2D / BatchNorm / ReLU / MaxPool / Dropout,
 * Dense per chunk, a bidirectional LSTM, attention, Dense softmax. Dropout
 * rates are 0 so that both backends compute the same function. The LSTM's
 * recurrent kernel uses Glorot instead of tfjs' default orthogonal
 * initializer, which needs tensor chain methods the tfjs-core bundle lacks.
 */
function smallModel({ chunks = 2, size = 16, filters = [4, 8], pools = [2, 2], dense = 16, units = 4, classes = 3 } = {}) {
  let seed = 1;
  const init = () => tfl.initializers.glorotUniform({ seed: seed++ });
  const input = tfl.input({ shape: [chunks, size, size, 1] });
  let x = input;
  filters.forEach((f, i) => {
    x = tfl.layers.timeDistributed({ layer: tfl.layers.conv2d({ filters: f, kernelSize: 3, padding: 'same', kernelInitializer: init() }) }).apply(x);
    x = tfl.layers.timeDistributed({ layer: tfl.layers.batchNormalization() }).apply(x);
    x = tfl.layers.timeDistributed({ layer: tfl.layers.reLU() }).apply(x);
    x = tfl.layers.timeDistributed({ layer: tfl.layers.maxPooling2d({ poolSize: pools[i], strides: pools[i] }) }).apply(x);
    x = tfl.layers.timeDistributed({ layer: tfl.layers.dropout({ rate: 0 }) }).apply(x);
  });
  x = tfl.layers.timeDistributed({ layer: tfl.layers.flatten() }).apply(x);
  x = tfl.layers.timeDistributed({ layer: tfl.layers.dense({ units: dense, kernelInitializer: init() }) }).apply(x);
  x = tfl.layers.bidirectional({
    layer: tfl.layers.lstm({ units, returnSequences: true, kernelInitializer: init(), recurrentInitializer: init() }),
    mergeMode: 'concat',
  }).apply(x);
  const scores = tfl.layers.flatten().apply(tfl.layers.dense({ units: 1, kernelInitializer: init() }).apply(x));
  const weights = tfl.layers.reshape({ targetShape: [chunks, 1] }).apply(tfl.layers.softmax().apply(scores));
  const context = tfl.layers.flatten().apply(tfl.layers.dot({ axes: 1 }).apply([weights, x]));
  const output = tfl.layers.dense({ units: classes, activation: 'softmax', kernelInitializer: init() }).apply(context);
  return tfl.model({ inputs: input, outputs: output });
}

function batchFor(size, batch, chunks = 2, classes = 3) {
  const x = randn([batch, chunks, size, size, 1], 4242);
  const labels = tf.tensor1d(Array.from({ length: batch }, (_, i) => i % classes), 'int32');
  const y = tf.cast(tf.oneHot(labels, classes), 'float32');
  labels.dispose();
  return { x, y };
}

/** Weights after `steps` Adam steps on a backend, every model built from the same initial weights. */
async function trainOn(backendName, initial, steps = 1) {
  await tf.setBackend(backendName);
  const model = smallModel();
  model.setWeights(initial.map((w) => tf.tensor(w.values, w.shape)));
  // Adam divides each gradient by its own magnitude: a gradient that is zero
  // but for rounding (the conv bias ahead of batch norm, ~1e-9) would move its
  // weight by a full learning-rate step of arbitrary sign with the default
  // epsilon of 1e-7. A larger epsilon keeps such steps at the size of the noise.
  model.compile({ optimizer: tf.train.adam(0.01, 0.9, 0.999, 1e-3), loss: 'categoricalCrossentropy' });
  const { x, y } = batchFor(16, 4);
  const losses = [];
  for (let s = 0; s < steps; s++) losses.push(await model.trainOnBatch(x, y));
  const weights = model.getWeights().map((w) => ({ shape: w.shape, dtype: w.dtype, values: Array.from(w.dataSync()) }));
  tf.dispose([x, y]);
  model.dispose();
  await tf.setBackend(NATIVE);
  return { weights, losses };
}

describe('emo-native backend: training the small model', function () {
  this.timeout(300000);

  it('one Adam step gives the weights (and batch-norm statistics) tfjs-backend-cpu gives', async () => {
    await tf.setBackend('cpu');
    const model = smallModel();
    const initial = model.getWeights().map((w) => ({ shape: w.shape, values: Array.from(w.dataSync()) }));
    model.dispose();
    const fallbacksBefore = fallbackTotal();
    const onNative = await trainOn(NATIVE, initial, 2);
    assert.equal(fallbackTotal(), fallbacksBefore, 'no fallbacks in a training step');
    const onCpu = await trainOn('cpu', initial, 2);
    // All weights within 1e-4 of the model's largest weight, and every weight
    // tensor that training moved past rounding level within 1e-4 of its own
    // largest value. (The conv biases ahead of batch norm have zero gradient but
    // for rounding: after training they hold rounding noise on either backend.)
    const all = (weights) => [{ shape: [-1], dtype: 'float32', values: weights.flatMap((w) => w.values) }];
    assertClose(all(onNative.weights), all(onCpu.weights), 'all weights');
    for (let i = 0; i < onCpu.weights.length; i++) {
      if (Math.max(...onCpu.weights[i].values.map(Math.abs)) > 1e-3)
        assertClose([onNative.weights[i]], [onCpu.weights[i]], `weight ${i} [${onCpu.weights[i].shape}]`);
    }
    for (let i = 0; i < onCpu.losses.length; i++) assert.ok(Math.abs(onNative.losses[i] - onCpu.losses[i]) <= 1e-4 * Math.abs(onCpu.losses[i]), `loss ${i}`);
    // Training moved the weights (the comparison is not of two untouched copies).
    assert.ok(onCpu.weights.some((w, i) => w.values.some((v, j) => v !== initial[i].values[j])));
  });

  it('100 steps hold the tensor count and the memory steady', async () => {
    await tf.setBackend(NATIVE);
    // Activations of 24 x 32 x 32 x 8 floats (786 KB) come from the native pool.
    const model = smallModel({ size: 32, filters: [8, 8] });
    model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
    const { x, y } = batchFor(32, 12);
    const hits = nnBackend.nativeMemoryStats().hits;
    for (let s = 0; s < 10; s++) await model.trainOnBatch(x, y);
    const tensors = tf.memory().numTensors;
    if (global.gc) global.gc();
    const rss = process.memoryUsage().rss;
    let peak = rss;
    for (let s = 0; s < 100; s++) {
      await model.trainOnBatch(x, y);
      assert.equal(tf.memory().numTensors, tensors, `tensor count after step ${s + 10}`);
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    if (global.gc) global.gc();
    const growth = (process.memoryUsage().rss - rss) / 2 ** 20;
    assert.ok(growth < 50, `RSS grew ${growth.toFixed(1)} MB over 100 steps (peak +${((peak - rss) / 2 ** 20).toFixed(1)} MB)`);
    assert.ok(nnBackend.nativeMemoryStats().hits > hits, 'pooled outputs were reused');
    tf.dispose([x, y]);
    model.dispose();
  });
});

describe('emo-native backend: pooled memory is never reused while visible', () => {
  const big = [64, 1024 + 7];  // over the pool threshold

  it('values read out with dataSync stay valid after the tensor is disposed and its size reused', () => {
    const a = tf.add(randn(big, 1), 1);
    const values = a.dataSync();
    const copy = Float32Array.from(values);
    a.dispose();
    for (let i = 0; i < 4; i++) tf.tidy(() => tf.mul(randn(big, 2 + i), 7).dataSync());
    assert.deepEqual(values, copy);
  });

  it('a slice that views a native output keeps its numbers after the output is disposed', () => {
    const a = tf.mul(randn(big, 10), 3);
    const expected = tf.tidy(() => Array.from(tf.slice(a, [0, 0], [2, big[1]]).dataSync()));
    const view = tf.slice(a, [0, 0], [2, big[1]]);  // tfjs-backend-cpu's Slice: a subarray of a's memory
    a.dispose();
    for (let i = 0; i < 4; i++) tf.tidy(() => tf.sub(randn(big, 20 + i), 5));
    assert.deepEqual(Array.from(view.dataSync()), expected);
    view.dispose();
  });

  it('recycled arrays are detached, so a stale reference reads nothing rather than another tensor', () => {
    const stale = native.nnAlloc(100000);
    assert.equal(native.nnRecycle(stale), true);
    assert.equal(stale.length, 0);
    assert.equal(native.nnRecycle(stale), false);
    assert.equal(native.nnRecycle(new Float32Array(100000)), false);
  });
});

describe('emo-native backend: process hazards', function () {
  this.timeout(120000);
  const root = path.join(__dirname, '..');

  it('survives profiler signals while convolutions and matrix products run (oneDNN issue #4845)', () => {
    // oneDNN's JIT GEMM points the stack pointer at heap memory; a signal then
    // corrupts the heap. The backend must never use those kernels.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emo-prof-'));
    try {
      const script = `
        const tf = require('@tensorflow/tfjs-core');
        require('@tensorflow/tfjs-layers');  // tfjs' gradients
        require(${JSON.stringify(path.join(root, 'dist/nn/backend'))});
        tf.setBackend('emo-native');
        const x = tf.randomNormal([16, 32, 32, 16]), w = tf.randomNormal([3, 3, 16, 32]);
        const a = tf.randomNormal([64, 256]), b = tf.randomNormal([256, 512]);
        const end = Date.now() + 3000;
        while (Date.now() < end) tf.tidy(() => {
          const g = tf.grads((p, q) => tf.sum(tf.conv2d(p, q, 1, 'same')))([x, w]);
          tf.matMul(a, b, false, false); tf.matMul(b, a, true, true);
          return g;
        });
        console.log('done');`;
      const run = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-interval', '100', '--cpu-prof-dir', dir, '-e', script],
        { cwd: root, encoding: 'utf8', timeout: 60000 });
      assert.equal(run.status, 0, `exit ${run.status} ${run.signal ?? ''}: ${run.stderr.slice(-2000)}`);
      assert.match(run.stdout, /done/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs in worker threads, with the main thread\'s results', () => {
    const file = path.join(os.tmpdir(), `emo-nn-worker-${process.pid}.js`);
    fs.writeFileSync(file, `
      const { Worker, isMainThread, parentPort } = require('node:worker_threads');
      const tf = require('@tensorflow/tfjs-core');
      require(${JSON.stringify(path.join(root, 'dist/nn/backend'))});
      tf.setBackend('emo-native');
      const x = tf.randomNormal([2, 40, 40, 8], 0, 1, 'float32', 1), w = tf.randomNormal([3, 3, 8, 16], 0, 1, 'float32', 2);
      const result = Array.from(tf.sum(tf.relu(tf.conv2d(x, w, 1, 'same')), [0, 1, 2]).dataSync());
      if (isMainThread) {
        const runs = [0, 1].map(() => new Promise((resolve, reject) => {
          const worker = new Worker(__filename);
          worker.on('message', resolve);
          worker.on('error', reject);
        }));
        Promise.all(runs).then((others) => console.log(JSON.stringify(others.map((o) => o.every((v, i) => v === result[i])))));
      } else {
        parentPort.postMessage(result);
      }`);
    try {
      const out = execFileSync(process.execPath, [file], { cwd: root, encoding: 'utf8', env: { ...process.env, NODE_PATH: path.join(root, 'node_modules') } });
      assert.deepEqual(JSON.parse(out), [true, true]);
    } finally {
      fs.rmSync(file, { force: true });
    }
  });

  it('a prebuild carries oneDNN and its runtime and trains from a package copy without build/', function () {
    const prebuildDir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
    if (process.platform !== 'linux' || !fs.existsSync(prebuildDir)) return skipBecause(this, process.platform !== 'linux' ? 'prebuilds with oneDNN are made on Linux only' : "no prebuild (run 'npm run prebuilds' first)");
    const pkg = fs.mkdtempSync(path.join(os.tmpdir(), 'emo-prebuild-nn-'));
    try {
      // Dependencies come from this checkout's node_modules (NODE_PATH); the
      // addon must come from the copy's prebuilds/.
      for (const item of ['package.json', 'dist', 'prebuilds']) fs.cpSync(path.join(root, item), path.join(pkg, item), { recursive: true });
      const dir = path.join(pkg, 'prebuilds', `${process.platform}-${process.arch}`);
      const addon = fs.readdirSync(dir).find((f) => f.endsWith('.node'));
      const ldd = execFileSync('ldd', [path.join(dir, addon)], { encoding: 'utf8' });
      for (const lib of ['libdnnl', 'libgomp', 'libOpenCL']) {
        const line = ldd.split('\n').find((l) => l.includes(lib));
        assert.ok(line && line.includes(dir), `${lib} resolves into the prebuild folder: ${line}`);
      }
      for (const notice of ['oneDNN.COPYRIGHT', 'libgomp.COPYRIGHT']) assert.ok(fs.existsSync(path.join(dir, notice)), notice);
      const script = `
        const tf = require('@tensorflow/tfjs-core');
        require('@tensorflow/tfjs-layers');
        require('./dist/nn/backend');
        tf.setBackend('emo-native');
        const g = tf.grad((x) => tf.sum(tf.conv2d(x, tf.ones([3, 3, 2, 4]), 1, 'same')))(tf.ones([1, 6, 6, 2]));
        const loaded = Object.keys(require.cache).find((f) => f.endsWith('.node'));
        process.stdout.write(JSON.stringify({ sum: tf.sum(g).dataSync()[0], loaded }));`;
      const out = JSON.parse(execFileSync(process.execPath, ['-e', script],
        { cwd: pkg, encoding: 'utf8', env: { ...process.env, NODE_PATH: path.join(root, 'node_modules') } }));
      assert.equal(out.loaded, path.join(dir, addon));
      // d/dx of the sum of a 'same' 3x3 conv with 4 filters of ones: each pixel counts 4 times the
      // windows covering it, 2 or 3 per axis on a 6-wide image (2+3+3+3+3+2 = 16), for 2 channels.
      assert.equal(out.sum, 4 * 2 * 16 * 16);
    } finally {
      fs.rmSync(pkg, { recursive: true, force: true });
    }
  });
});
