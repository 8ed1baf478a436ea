'use strict';
// The CNN-BiLSTM-attention network in tfjs-layers (lib/nn). Runs on tfjs's pure-JS 'cpu'
// backend, where one forward pass at batch 1 takes about a second: full-model checks use
// batch 1-2, and the numerical checks (attention gradient, batch-norm folding) use small
// stand-alone layers.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const tfl = require('@tensorflow/tfjs-layers');
const nn = require('../dist/nn');

// Values of the scale of dB mel features; seeded so every run sees the same input.
const clips = (batch, seed) => tf.tidy(() => tf.add(tf.mul(tf.randomNormal([batch, 7, 128, 128, 1], 0, 1, 'float32', seed), 15), -40));

function rowSums(t) {
  const [rows, cols] = t.shape;
  const d = t.dataSync();
  return Array.from({ length: rows }, (_, r) => d.slice(r * cols, (r + 1) * cols).reduce((s, v) => s + v, 0));
}

function assertSameWeights(a, b, what) {
  assert.equal(a.length, b.length, `${what}: weight count`);
  a.forEach((w, i) => {
    assert.deepEqual(w.shape, b[i].shape, `${what}: shape of weight ${i}`);
    assert.deepEqual(w.dataSync(), b[i].dataSync(), `${what}: values of weight ${i}`);
  });
}

describe('network (tfjs-layers model)', function () {
  this.timeout(60_000);
  let model;
  let x2;

  before(async () => {
    assert.ok(await tf.setBackend('cpu'));
    model = nn.createModel({ seed: 7 });
    x2 = clips(2, 1);
  });

  after(() => {
    tf.dispose(x2);
    model.dispose();
  });

  it('labels its 8 outputs in RAVDESS order', () => {
    assert.deepEqual(nn.EMOTIONS, ['neutral', 'calm', 'happy', 'sad', 'angry', 'fearful', 'disgust', 'surprised']);
  });

  it('takes (batch, 7, 128, 128, 1) and gives one probability row per clip that sums to 1', () => {
    assert.deepEqual(model.inputs[0].shape, [null, 7, 128, 128, 1]);
    const p = model.predict(x2);
    try {
      assert.deepEqual(p.shape, [2, 8]);
      for (const v of p.dataSync()) assert.ok(v > 0 && v < 1, `probability ${v} outside (0, 1)`);
      for (const s of rowSums(p)) assert.ok(Math.abs(s - 1) < 1e-5, `row sum ${s}`);
    } finally {
      p.dispose();
    }
  });

  it('has exactly 682 473 trainable parameters and 682 697 in countParams()', () => {
    const count = (ws) => ws.reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1), 0);
    assert.equal(count(model.trainableWeights), 682_473);
    assert.equal(count(model.nonTrainableWeights), 224); // batch-norm moving mean + variance
    assert.equal(model.countParams(), 682_697);
    assert.equal(nn.TRAINABLE_PARAMS, 682_473);
    assert.equal(nn.TOTAL_PARAMS, 682_697);
  });

  it('gives every layer the output shape and parameter count of the architecture', () => {
    // [name, output shape, parameters incl. BN moving statistics], from docs/architecture.md's
    // description worked out by hand: conv k·k·cin·cout + cout, BN 4·c, LSTM 4·(in·u + u·u + u).
    const expected = [
      ['mel_chunks', [null, 7, 128, 128, 1], 0],
      ['block1_conv', [null, 7, 128, 128, 16], 9 * 1 * 16 + 16],
      ['block1_bn', [null, 7, 128, 128, 16], 4 * 16],
      ['block1_pool', [null, 7, 64, 64, 16], 0],
      ['block1_dropout', [null, 7, 64, 64, 16], 0],
      ['block2_conv', [null, 7, 64, 64, 32], 9 * 16 * 32 + 32],
      ['block2_bn', [null, 7, 64, 64, 32], 4 * 32],
      ['block2_pool', [null, 7, 16, 16, 32], 0],
      ['block2_dropout', [null, 7, 16, 16, 32], 0],
      ['block3_conv', [null, 7, 16, 16, 64], 9 * 32 * 64 + 64],
      ['block3_bn', [null, 7, 16, 16, 64], 4 * 64],
      ['block3_pool', [null, 7, 4, 4, 64], 0],
      ['block3_dropout', [null, 7, 4, 4, 64], 0],
      ['flatten', [null, 7, 1024], 0],
      ['chunk_dense', [null, 7, 256], 1024 * 256 + 256],
      ['bilstm', [null, 7, 256], 2 * 4 * (256 * 128 + 128 * 128 + 128)],
      ['lstm_dropout', [null, 7, 256], 0],
      ['attention', [[null, 256], [null, 7]], 256 + 1],
      ['output', [null, 8], 256 * 8 + 8],
    ];
    assert.deepEqual(
      model.layers.map((l) => l.name),
      expected.map((e) => e[0]),
    );
    for (const [name, shape, params] of expected) {
      const layer = model.getLayer(name);
      assert.deepEqual(layer.outputShape, shape, `${name} output shape`);
      assert.equal(layer.countParams(), params, `${name} parameters`);
    }
    assert.equal(
      expected.reduce((s, e) => s + e[2], 0),
      682_697,
    );
  });

  it('exposes attention weights that sum to 1 over the 7 chunks, alongside the same probabilities', () => {
    const explain = nn.createExplainModel(model);
    const [p, a] = explain.predict(x2);
    const direct = model.predict(x2);
    try {
      assert.deepEqual(a.shape, [2, 7]);
      for (const v of a.dataSync()) assert.ok(v > 0 && v < 1);
      for (const s of rowSums(a)) assert.ok(Math.abs(s - 1) < 1e-5, `attention row sum ${s}`);
      assert.deepEqual(p.dataSync(), direct.dataSync());
    } finally {
      tf.dispose([p, a, direct]);
    }
  });

  it('starts from identical weights for the same seed, and different ones otherwise', () => {
    const a = nn.createModel({ seed: 11 });
    const b = nn.createModel({ seed: 11 });
    const c = nn.createModel({ seed: 12 });
    const d = nn.createModel();
    try {
      assertSameWeights(a.getWeights(), b.getWeights(), 'seed 11 twice');
      const kernel = (m) => m.getLayer('block2_conv').getWeights()[0].dataSync();
      assert.notDeepEqual(kernel(a), kernel(c));
      assert.notDeepEqual(kernel(a), kernel(d));
      // Bidirectional clones one LSTM config for both directions; their initial weights must still differ.
      const lstm = a.getLayer('bilstm').getWeights(); // forward kernel, recurrent, bias, then backward
      assert.notDeepEqual(lstm[0].dataSync(), lstm[3].dataSync());
      assert.notDeepEqual(lstm[1].dataSync(), lstm[4].dataSync());
      assert.deepEqual(lstm[2].dataSync(), lstm[5].dataSync()); // biases: zeros with forget gate 1
    } finally {
      [a, b, c, d].forEach((m) => m.dispose());
    }
  });

  it('saves to a directory and loads back to identical predictions, custom layers included', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emo-model-'));
    try {
      nn.compileModel(model, { learningRate: 5e-4 });
      const x1 = clips(1, 2);
      const before = model.predict(x1);
      await nn.saveModel(model, dir);
      assert.deepEqual(fs.readdirSync(dir).sort(), ['model.json', 'weights.bin']); // no temporary files left
      const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
      assert.equal(json.format, 'layers-model');
      assert.deepEqual(json.weightsManifest[0].paths, ['./weights.bin']);
      assert.equal(fs.statSync(path.join(dir, 'weights.bin')).size, 4 * 682_697);

      const loaded = await nn.loadModel(dir);
      const after = loaded.predict(x1);
      try {
        assert.ok(loaded.getLayer('attention') instanceof nn.TemporalAttention);
        assert.ok(loaded.getLayer('block1_bn') instanceof nn.FoldedTimeDistributed);
        assert.equal(loaded.getLayer('attention').returnAttention, true);
        assertSameWeights(loaded.getWeights(), model.getWeights(), 'after load');
        assert.deepEqual(after.dataSync(), before.dataSync());
        assert.equal(loaded.optimizer, undefined); // weights only by default
        // file:// URLs and the model.json path name the same model.
        const viaUrl = await nn.loadModel(pathToFileURL(path.join(dir, 'model.json')).href);
        assertSameWeights(viaUrl.getWeights(), model.getWeights(), 'loaded from a file:// URL');
        viaUrl.dispose();
        // The explain view works on a loaded model too.
        const [, weights] = nn.createExplainModel(loaded).predict(x1);
        assert.ok(Math.abs(rowSums(weights)[0] - 1) < 1e-5);
        weights.dispose();
        // With the optimizer: a compiled model comes back, Adam's settings included.
        await nn.saveModel(model, dir, { includeOptimizer: true });
        const resumed = await nn.loadModel(dir);
        assert.equal(resumed.loss, 'categoricalCrossentropy');
        assert.ok(resumed.optimizer instanceof nn.EmoAdamOptimizer); // one fused kernel per weight and step
        assert.equal(resumed.optimizer.getClassName(), 'EmoAdam');
        assert.equal(resumed.optimizer.learningRate, 5e-4);
        resumed.dispose();
      } finally {
        tf.dispose([x1, before, after]);
        loaded.dispose();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says which directory has no model', async () => {
    const dir = path.join(os.tmpdir(), `emo-no-model-${process.pid}`);
    await assert.rejects(nn.loadModel(dir), (e) => e.message.includes(dir) && e.message.includes('model.json'));
  });

  it('refuses a non-positive learning rate', () => {
    assert.throws(() => nn.compileModel(model, { learningRate: 0 }), RangeError);
  });
});

describe('TemporalAttention layer', () => {
  const [B, T, F] = [2, 7, 5];
  let layer;
  let x;

  before(async () => {
    assert.ok(await tf.setBackend('cpu'));
    layer = new nn.TemporalAttention({ returnAttention: true, seed: 3 });
    x = tf.randomNormal([B, T, F], 0, 1, 'float32', 5);
    tf.dispose(layer.apply(x)); // builds the weights
    // A non-zero bias, so a wrong bias path would show.
    layer.setWeights([layer.getWeights()[0], tf.tensor1d([0.3])]);
  });

  it('computes softmax-weighted sums over the steps (float64 reference)', () => {
    const [context, weights] = layer.apply(x);
    const xs = x.dataSync();
    const [k, b] = layer.getWeights().map((w) => w.dataSync());
    for (let i = 0; i < B; i++) {
      const scores = Array.from({ length: T }, (_, t) => {
        let s = b[0];
        for (let f = 0; f < F; f++) s += xs[(i * T + t) * F + f] * k[f];
        return s;
      });
      const m = Math.max(...scores);
      const e = scores.map((s) => Math.exp(s - m));
      const z = e.reduce((s, v) => s + v, 0);
      const w = e.map((v) => v / z);
      for (let t = 0; t < T; t++) assert.ok(Math.abs(weights.dataSync()[i * T + t] - w[t]) < 1e-6);
      for (let f = 0; f < F; f++) {
        let c = 0;
        for (let t = 0; t < T; t++) c += w[t] * xs[(i * T + t) * F + f];
        assert.ok(Math.abs(context.dataSync()[i * F + f] - c) < 1e-5, `context[${i},${f}]`);
      }
    }
    tf.dispose([context, weights]);
  });

  it('has gradients that match central finite differences', () => {
    // A scalar that depends on both outputs through fixed random projections (the weights alone
    // always sum to 1, so their plain sum would have a zero gradient).
    const rc = tf.randomNormal([B, F], 0, 1, 'float32', 8);
    const rw = tf.randomNormal([B, T], 0, 1, 'float32', 9);
    const objective = (input) => {
      const [c, w] = layer.apply(input);
      return tf.add(tf.sum(tf.mul(c, rc)), tf.sum(tf.mul(w, rw)));
    };
    const value = (input) => tf.tidy(() => objective(input).dataSync()[0]);
    // float32 forward: with eps 1e-2 the rounding error of a difference quotient is ~1e-5
    // and the truncation error O(eps²); 1e-3 absolute + 1% relative leaves a wide margin
    // while a wrong formula (a missing term, a transposed index) is off by O(0.1).
    const eps = 1e-2;
    const close = (analytic, numeric, what) =>
      assert.ok(Math.abs(analytic - numeric) <= 1e-3 + 1e-2 * Math.abs(numeric), `${what}: analytic ${analytic} vs numeric ${numeric}`);

    // d/d input
    const gx = tf.grad(objective)(x).dataSync();
    const xData = x.dataSync();
    for (const idx of [0, 3, 11, 17, 36, 44, 52, 69]) {
      const bumped = (d) => {
        const v = Float32Array.from(xData);
        v[idx] += d;
        return tf.tensor(v, x.shape);
      };
      const [xp, xm] = [bumped(eps), bumped(-eps)];
      close(gx[idx], (value(xp) - value(xm)) / (2 * eps), `d/dx[${idx}]`);
      tf.dispose([xp, xm]);
    }

    // d/d kernel and d/d bias (the latter is exactly 0: softmax ignores a shift of all scores)
    const vars = layer.trainableWeights.map((w) => w.read());
    const { grads } = tf.variableGrads(() => objective(x), vars);
    const [kernel, bias] = layer.getWeights();
    const gk = grads[vars[0].name].dataSync();
    const gb = grads[vars[1].name].dataSync();
    const kData = kernel.dataSync();
    for (let f = 0; f < F; f++) {
      const at = (d) => {
        const v = Float32Array.from(kData);
        v[f] += d;
        layer.setWeights([tf.tensor(v, kernel.shape), bias]);
        return value(x);
      };
      close(gk[f], (at(eps) - at(-eps)) / (2 * eps), `d/dkernel[${f}]`);
    }
    layer.setWeights([kernel, bias]);
    const bData = bias.dataSync()[0];
    const atBias = (d) => {
      layer.setWeights([kernel, tf.tensor1d([bData + d])]);
      return value(x);
    };
    close(gb[0], (atBias(eps) - atBias(-eps)) / (2 * eps), 'd/dbias');
    assert.ok(Math.abs(gb[0]) < 1e-5);
    layer.setWeights([kernel, bias]);
    tf.dispose([rc, rw, ...Object.values(grads)]);
  });

  it('serialises its configuration', () => {
    const config = layer.getConfig();
    assert.equal(config.returnAttention, true);
    assert.equal(config.seed, 3);
    const copy = nn.TemporalAttention.fromConfig(nn.TemporalAttention, config);
    assert.equal(copy.returnAttention, true);
    assert.deepEqual(copy.computeOutputShape([null, 7, 256]), [
      [null, 256],
      [null, 7],
    ]);
    assert.deepEqual(new nn.TemporalAttention().computeOutputShape([null, 7, 256]), [null, 256]);
  });
});

describe('FoldedTimeDistributed', () => {
  before(async () => {
    assert.ok(await tf.setBackend('cpu'));
  });

  it('applies the wrapped layer to each chunk independently', () => {
    const conv = tfl.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) });
    const wrapped = new nn.FoldedTimeDistributed({ layer: conv });
    const x = tf.randomNormal([2, 3, 6, 5, 1], 0, 1, 'float32', 4);
    const y = wrapped.apply(x);
    assert.deepEqual(y.shape, [2, 3, 6, 5, 3]);
    for (let t = 0; t < 3; t++) {
      const chunk = tf.squeeze(tf.slice(x, [0, t, 0, 0, 0], [2, 1, 6, 5, 1]), [1]);
      const expected = conv.apply(chunk);
      const got = tf.squeeze(tf.slice(y, [0, t, 0, 0, 0], [2, 1, 6, 5, 3]), [1]);
      assert.ok(tf.max(tf.abs(tf.sub(expected, got))).dataSync()[0] < 1e-6, `chunk ${t}`);
    }
  });

  it('trains batch norm on statistics over all chunks of the batch, one moving-average update per step', async () => {
    // Keras 2 and PyTorch fold the chunks into the batch; tfjs's own TimeDistributed would
    // normalise each chunk separately and update the moving averages once per chunk.
    const [B, T, H, W] = [2, 3, 4, 4];
    const input = tfl.input({ shape: [T, H, W, 1] });
    const bnLayer = tfl.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5 });
    const bn = new nn.FoldedTimeDistributed({ layer: bnLayer });
    const out = tfl.layers.dense({ units: 2, activation: 'softmax' }).apply(tfl.layers.flatten().apply(bn.apply(input)));
    const m = tfl.model({ inputs: input, outputs: out });
    m.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
    // Chunks with very different means, so per-chunk statistics would be visibly different.
    const x = tf.tidy(() => tf.add(tf.randomNormal([B, T, H, W, 1], 0, 1, 'float32', 6), tf.reshape(tf.tensor1d([0, 5, -3]), [1, T, 1, 1, 1])));
    const y = tf.tensor2d([
      [1, 0],
      [0, 1],
    ]);
    const values = Array.from(x.dataSync(), Number);
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length;
    await m.trainOnBatch(x, y);
    const [movingMean, movingVariance] = bnLayer.getWeights().slice(2).map((w) => w.dataSync()[0]);
    assert.ok(Math.abs(movingMean - 0.1 * mean) < 1e-5, `moving mean ${movingMean}, expected ${0.1 * mean}`);
    assert.ok(Math.abs(movingVariance - (0.9 + 0.1 * variance)) < 1e-4, `moving variance ${movingVariance}, expected ${0.9 + 0.1 * variance}`);
    tf.dispose([x, y]);
    m.dispose();
  });
});
