'use strict';
// The statistics network (lib/nn/statistics.ts and its ONNX graph). The reference for every number
// is a float64 re-computation in plain JavaScript of what the file comment defines: the speech
// frames, their per-band mean, spread and mean change, the batch normalisation and the softmax
// layer with the model's own weights, and each chunk's share of the speech frames.
const assert = require('node:assert/strict');
const tf = require('@tensorflow/tfjs-core');
const ort = require('onnxruntime-node');
const nn = require('../dist/nn');
const emo = require('../dist');
const { makeWav, testSignal } = require('./helpers/wav');

const C = 7;
const M = 128;
const F = 128;
const NORM = { mean: Array.from({ length: M }, (_, m) => -90 + (70 * m) / 127), std: Array.from({ length: M }, (_, m) => 8 + (m % 9)) };

// Speech-like clips: tones with pauses of different lengths (silent stretches far below the
// loudest frame, so that the speech frames are a real subset) at different levels.
function clips(count) {
  return clipWavs(count).map((wav) => emo.melChunks(wav));
}

// The same clips as WAV bytes.
function clipWavs(count) {
  return Array.from({ length: count }, (_, i) => {
    const sr = 16000;
    const x = testSignal(Math.round(sr * 3.7), sr, 7 + i);
    for (let k = 0; k < x.length; k++) {
      const t = k / sr;
      const pause = Math.sin(2 * Math.PI * (0.7 + 0.3 * i) * t) < -0.2 + 0.15 * i;
      x[k] = pause ? 1e-4 * x[k] : (0.05 + 0.15 * i) * (x[k] + 0.3 * Math.sin((2 * Math.PI * (150 + 60 * i) * k) / sr));
    }
    return makeWav([x], { sampleRate: sr });
  });
}

function normalised(clip) {
  const out = new Float64Array(C * M * F);
  for (let c = 0; c < C; c++) for (let m = 0; m < M; m++) for (let t = 0; t < F; t++) out[(c * M + m) * F + t] = (clip.data[(c * M + m) * F + t] - NORM.mean[m]) / NORM.std[m];
  return out;
}

// The statistics network's cepstra (K) and whether its contour statistics follow, as createModel builds it.
const K = 40;
const W = 3 * (M + K) + 3;

// Float64: statistics (3·(M + cepstra) + 3·contour) and attention (C) of one normalised clip, speech
// frames within `threshold` of the loudest. Row r < M is band r; row M + k the k-th coefficient of the
// frame's orthonormal DCT-II over the bands.
function reference(x, { threshold = 2, chunks = [0, 2, 4, 6], cepstra = K, contour = true } = {}) {
  const T = chunks.length * F;
  const band = (m, t) => x[(chunks[Math.floor(t / F)] * M + m) * F + (t % F)];
  const dct = (k, t) => {
    let sum = 0;
    for (let m = 0; m < M; m++) sum += band(m, t) * Math.cos((Math.PI * k * (m + 0.5)) / M);
    return sum * Math.sqrt((k === 0 ? 1 : 2) / M);
  };
  const rows = M + cepstra;
  const r = Array.from({ length: rows }, (_, i) => Float64Array.from({ length: T }, (_, t) => (i < M ? band(i, t) : dct(i - M, t))));
  const level = Array.from({ length: T }, (_, t) => {
    let sum = 0;
    for (let m = 0; m < M; m++) sum += band(m, t);
    return sum / M;
  });
  const loudest = Math.max(...level);
  const floor = loudest - threshold;
  const speech = level.map((l) => (l > floor ? 1 : 0));
  const n = speech.reduce((a, b) => a + b, 0);
  const stats = new Float64Array(3 * rows + (contour ? 3 : 0));
  for (let m = 0; m < rows; m++) {
    const row = r[m];
    let sum = 0;
    for (let t = 0; t < T; t++) sum += speech[t] * row[t];
    const mean = sum / n;
    let sq = 0;
    let change = 0;
    let pairs = 0;
    for (let t = 0; t < T; t++) {
      sq += speech[t] * (row[t] - mean) ** 2;
      if (t + 1 < T && speech[t] && speech[t + 1]) {
        change += Math.abs(row[t + 1] - row[t]);
        pairs++;
      }
    }
    stats[m] = mean;
    stats[rows + m] = Math.sqrt(sq / n);
    stats[2 * rows + m] = change / Math.max(pairs, 1);
  }
  if (contour) {
    let onsets = 0;
    for (let t = 0; t + 1 < T; t++) if (!speech[t] && speech[t + 1]) onsets++;
    stats.set([n / T, loudest, onsets], 3 * rows);
  }
  const counts = Array.from({ length: C }, (_, c) => {
    let k = 0;
    for (let t = 0; t < F; t++) {
      let sum = 0;
      for (let m = 0; m < M; m++) sum += x[(c * M + m) * F + t];
      if (sum / M > floor) k++;
    }
    return k;
  });
  const total = counts.reduce((a, b) => a + b, 0);
  return { stats, attention: counts.map((k) => k / total), speechFrames: n, frames: T, onsets: contour ? stats[3 * rows + 2] : undefined };
}

// Float64: the whole network on one clip, with the model's weights (and a speaker's standardisation when given).
function referenceNetwork(model, x, standardisation) {
  const { stats, attention } = reference(x, layoutOf(model));
  const [gamma, beta, ownMean, ownVariance] = model.getLayer('statistics_bn').getWeights().map((w) => w.dataSync());
  const { mean, variance } = standardisation ?? { mean: ownMean, variance: ownVariance };
  const epsilon = model.getLayer('statistics_bn').getConfig().epsilon;
  const [kernel, bias] = model.getLayer('output').getWeights().map((w) => w.dataSync());
  const z = Array.from(stats, (v, i) => ((v - mean[i]) / Math.sqrt(variance[i] + epsilon)) * gamma[i] + beta[i]);
  const logits = Array.from({ length: 8 }, (_, k) => z.reduce((sum, v, i) => sum + v * kernel[i * 8 + k], bias[k]));
  const top = Math.max(...logits);
  const e = logits.map((l) => Math.exp(l - top));
  const sum = e.reduce((a, b) => a + b, 0);
  return { probabilities: e.map((v) => v / sum), attention };
}

// The layout of a statistics network's statistics, from its layer's configuration.
function layoutOf(model) {
  const config = model.getLayer('statistics').getConfig();
  return { cepstra: config.cepstra ?? 0, contour: config.contour ?? false };
}

// A statistics network as saved before the cepstra and the contour (2026-12-08): its layer's
// configuration has neither, so it computes the bands' statistics alone (3·M).
async function bandsOnlyModel(seed) {
  const tfl = require('@tensorflow/tfjs-layers');
  const built = nn.createModel({ network: 'statistics', seed });
  const topology = built.toJSON(null, false);
  built.dispose();
  const layer = topology.config.layers.find((l) => l.class_name === 'SpeechStatistics');
  delete layer.config.cepstra;
  delete layer.config.contour;
  return tfl.models.modelFromJSON({ modelTopology: topology });
}

// A statistics network whose batch normalisation and output layer do something.
function liveModel(seed, model = nn.createModel({ network: 'statistics', seed })) {
  const bn = model.getLayer('statistics_bn');
  const [gamma, beta, mean, variance] = bn.getWeights();
  const fresh = [
    tf.randomUniform(gamma.shape, 0.5, 1.5, 'float32', seed),
    tf.randomNormal(beta.shape, 0, 0.3, 'float32', seed + 1),
    tf.randomNormal(mean.shape, 0, 0.5, 'float32', seed + 2),
    tf.randomUniform(variance.shape, 0.2, 2, 'float32', seed + 3),
  ];
  bn.setWeights(fresh);
  tf.dispose(fresh);
  return model;
}

describe('the statistics network', function () {
  this.timeout(120_000);
  let features;
  before(async () => {
    assert.ok(await tf.setBackend('emo-native'));
    features = clips(4);
  });

  // As createModel builds it (the bands' and 40 cepstra's statistics, then the contour), and as saved before the cepstra.
  const layouts = [
    ['as built', async (seed) => nn.createModel({ network: 'statistics', seed }), W],
    ['saved before the cepstra and the contour', bandsOnlyModel, 3 * M],
  ];
  for (const [layout, make, width] of layouts) it(`computes the speech frames' per-band and per-cepstrum mean, spread and change, the contour, and each chunk's share of the speech frames, as a float64 re-computation does (${layout})`, async () => {
    const model = await make(1);
    const layer = model.getLayer('statistics');
    const inputs = features.map(normalised);
    const [stats, attention] = tf.tidy(() => layer.apply(tf.tensor(Float32Array.from(inputs.flatMap((x) => Array.from(x))), [inputs.length, C, M, F, 1])).map((t) => t.arraySync()));
    inputs.forEach((x, i) => {
      const expected = reference(x, layoutOf(model));
      // The pauses are not speech, so the statistics are those of a real subset of the frames.
      assert.ok(expected.speechFrames > 50 && expected.speechFrames < expected.frames - 50, `clip ${i}: ${expected.speechFrames} of ${expected.frames} frames are speech`);
      // Pauses between the tones: more than one onset, so the count is not a constant.
      if (width === W) assert.ok(expected.onsets >= 2, `clip ${i}: ${expected.onsets} onsets`);
      assert.equal(stats[i].length, width);
      assert.equal(expected.stats.length, width);
      for (let k = 0; k < width; k++) assert.ok(Math.abs(stats[i][k] - expected.stats[k]) <= 1e-4 * (1 + Math.abs(expected.stats[k])), `clip ${i} statistic ${k}: ${stats[i][k]} vs ${expected.stats[k]}`);
      for (let c = 0; c < C; c++) assert.ok(Math.abs(attention[i][c] - expected.attention[c]) <= 1e-6, `clip ${i} chunk ${c}`);
    });
    assert.equal(nn.networkOf(model), 'statistics');
    model.dispose();
  });

  for (const [layout, make] of layouts) it(`exports to ONNX with the contract of the reference network: onnxruntime on raw features gives the float64 network's probabilities and attention (${layout})`, async () => {
    const model = liveModel(11, await make(11));
    const bytes = await nn.exportOnnx(model, NORM, { verifyClips: features });
    const session = await ort.InferenceSession.create(bytes);
    assert.deepEqual(session.inputNames, ['mel']);
    // And the clips' statistics, for an adapter (below).
    assert.deepEqual([...session.outputNames].sort(), ['attention', 'probabilities', 'statistics']);
    const input = new Float32Array(features.length * C * M * F);
    features.forEach((f, i) => input.set(f.data, i * C * M * F));
    const out = await session.run({ mel: new ort.Tensor('float32', input, [features.length, C, M, F]) });
    await session.release();
    assert.deepEqual(out.probabilities.dims, [features.length, 8]);
    assert.deepEqual(out.attention.dims, [features.length, C]);
    features.forEach((f, i) => {
      const expected = referenceNetwork(model, normalised(f));
      for (let k = 0; k < 8; k++) assert.ok(Math.abs(out.probabilities.data[i * 8 + k] - expected.probabilities[k]) <= 1e-4, `clip ${i} class ${k}`);
      for (let c = 0; c < C; c++) assert.ok(Math.abs(out.attention.data[i * C + c] - expected.attention[c]) <= 1e-6, `clip ${i} chunk ${c}`);
      // A live model: not one class for all.
      assert.ok(Math.max(...expected.probabilities) < 0.99);
    });
    model.dispose();
  });

  it('names the networks it builds and rejects others', () => {
    assert.deepEqual([...nn.NETWORKS], ['reference', 'statistics']);
    assert.throws(() => nn.createModel({ network: 'resnet' }), TypeError);
    const model = nn.createModel({ network: 'statistics' });
    assert.equal(model.countParams(), W * 4 + W * 8 + 8); // batch norm γ, β, moving μ, σ²; dense
    // Only the dense layer trains: the standardisation's scale and offset stay 1 and 0.
    const size = (ws) => ws.reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1), 0);
    assert.equal(size(model.trainableWeights), W * 8 + 8);
    model.dispose();
    // The layer's symbolic outputs: 3 statistics per band, one attention weight per chunk.
    assert.deepEqual(model.getLayer('statistics').outputShape, [
      [null, W],
      [null, C],
    ]);
    assert.throws(() => new nn.SpeechStatistics({ threshold: 0 }), /threshold must be a positive number/);
    assert.throws(() => new nn.SpeechStatistics({ threshold: Infinity }), RangeError);
    for (const chunks of [[], [1.5], [0, -2]]) assert.throws(() => new nn.SpeechStatistics({ chunks }), /chunks must be chunk indices/, JSON.stringify(chunks));
    // Inputs it cannot take: not (batch, chunks, mels, frames, 1), or fewer chunks than it picks.
    const tfl = require('@tensorflow/tfjs-layers');
    for (const shape of [[7, 128, 128], [7, 128, 128, 2], [null, 128, 128, 1], [7, null, 128, 1]]) {
      assert.throws(() => new nn.SpeechStatistics({}).apply(tfl.input({ shape })), /expects \(batch, chunks, mels, frames, 1\)/, JSON.stringify(shape));
    }
    assert.throws(() => new nn.SpeechStatistics({}).apply(tfl.input({ shape: [6, 128, 128, 1] })), /chunk 6 is outside the input's 6 chunks/);
    assert.doesNotThrow(() => new nn.SpeechStatistics({ chunks: [5] }).apply(tfl.input({ shape: [6, 128, 128, 1] })));
    for (const cepstra of [-1, 1.5, NaN]) assert.throws(() => new nn.SpeechStatistics({ cepstra }), /cepstra must be an integer >= 0/, String(cepstra));
    assert.throws(() => new nn.SpeechStatistics({ contour: 'yes' }), /contour must be a boolean/);
    assert.throws(() => new nn.SpeechStatistics({ cepstra: 129 }).apply(tfl.input({ shape: [7, 128, 128, 1] })), /129 cepstra from 128 bands/);
    assert.deepEqual(new nn.SpeechStatistics({ cepstra: 128, contour: true }).apply(tfl.input({ shape: [7, 128, 128, 1] }))[0].shape, [null, 3 * 256 + 3]);
  });

  it('trains its softmax layer alone: weight decay leaves the standardisation at scale 1 and offset 0, batch statistics still move its averages', async () => {
    const model = nn.createModel({ network: 'statistics', seed: 3, learningRate: 0.01, weightDecay: 0.1 });
    const bn = model.getLayer('statistics_bn');
    const before = model.getWeights().map((w) => w.arraySync());
    const x = tf.tensor(features.flatMap((f) => Array.from(normalised(f))), [features.length, C, M, F, 1]);
    const y = tf.cast(tf.oneHot(tf.tensor1d(features.map((_, i) => i % 8), 'int32'), 8), 'float32');
    for (let step = 0; step < 3; step++) await model.trainOnBatch(x, y);
    const [gamma, beta, movingMean] = bn.getWeights().map((w) => Array.from(w.dataSync()));
    assert.ok(gamma.every((g) => g === 1), 'scale stays 1');
    assert.ok(beta.every((b) => b === 0), 'offset stays 0');
    assert.ok(movingMean.some((m) => m !== 0), 'the moving mean follows the batches');
    const kernel = model.getLayer('output').getWeights()[0].arraySync();
    assert.notDeepEqual(kernel, before[before.length - 2], 'the dense kernel trains');
    tf.dispose([x, y]);
    model.dispose();
  });

  // However the network was trained, its statistics can be standardised per speaker at inference.
  const trainings = [
    ['trained per speaker (adapt: speaker-statistics)', { ...NORM, adapt: 'speaker-statistics' }],
    ["trained with the training set's standardisation", NORM],
  ];
  for (const [trained, normalisation] of trainings) describe(`standardised per speaker at inference, ${trained}`, () => {
    const width = W;
    let model;
    let bytes;
    let wavs;
    // Float64: the mean and population variance (floored at 1e-4) of the clips' statistics.
    const speakerOf = (list) => {
      const stats = list.map((wav) => reference(normalised(emo.melChunks(wav))).stats);
      const mean = Array.from({ length: width }, (_, k) => stats.reduce((a, st) => a + st[k], 0) / stats.length);
      const variance = mean.map((mu, k) => Math.max(stats.reduce((a, st) => a + (st[k] - mu) ** 2, 0) / stats.length, 1e-4));
      return { mean, variance };
    };
    const close = (got, expected, what, tolerance = 1e-4) => {
      for (let k = 0; k < expected.length; k++) assert.ok(Math.abs(got[k] - expected[k]) <= tolerance * (1 + Math.abs(expected[k])), `${what} ${k}: ${got[k]} vs ${expected[k]}`);
    };
    // Made inside the tests, not in a hook: a failure there fails the test that needed it.
    let made = null;
    const setup = async () => {
      made ??= (async () => {
        model = liveModel(12);
        wavs = clipWavs(4);
        bytes = await nn.exportOnnx(model, normalisation, { verifyClips: features });
      })();
      await made;
    };
    after(() => model?.dispose());

    it('exports each clip\'s statistics as an output and the last layers as metadata: the graph, and the model run with a speaker\'s standardisation, give the float64 network\'s (onnxruntime)', async () => {
      await setup();
      const session = await ort.InferenceSession.create(bytes);
      assert.deepEqual(session.inputNames, ['mel']);
      assert.deepEqual([...session.outputNames].sort(), ['attention', 'probabilities', 'statistics']);
      const input = new Float32Array(features.length * C * M * F);
      features.forEach((f, i) => input.set(f.data, i * C * M * F));
      const plain = await session.run({ mel: new ort.Tensor('float32', input, [features.length, C, M, F]) });
      await session.release();
      assert.deepEqual(plain.statistics.dims, [features.length, width]);
      const speaker = { mean: Array.from({ length: width }, (_, k) => Math.sin(k) * 0.7), variance: Array.from({ length: width }, (_, k) => 0.3 + (k % 7) / 5) };
      const onnxModel = await require('../dist/infer/onnx-model').openOnnxModel(bytes);
      const given = await onnxModel.run(input, features.length, { mean: Float32Array.from(speaker.mean), variance: Float32Array.from(speaker.variance) });
      await onnxModel.close();
      features.forEach((f, i) => {
        const x = normalised(f);
        close(plain.statistics.data.subarray(i * width, (i + 1) * width), reference(x).stats, `clip ${i} statistic`);
        close(plain.probabilities.data.subarray(i * 8, (i + 1) * 8), referenceNetwork(model, x).probabilities, `clip ${i} class`);
        const expected = referenceNetwork(model, x, speaker).probabilities;
        close(given.probabilities.subarray(i * 8, (i + 1) * 8), expected, `clip ${i} (a speaker's standardisation) class`);
        assert.ok(Math.max(...expected.map((p, k) => Math.abs(p - plain.probabilities.data[i * 8 + k]))) > 1e-3, 'the standardisation changes the answer');
      });
      const clf = await emo.loadClassifier(bytes);
      const { mode, statistics, reference: own, head } = clf.metadata.adaptation;
      assert.deepEqual([mode, statistics, own.mean.length, own.variance.length, head.weights.length, head.bias.length], ['speaker-statistics', width, width, width, width * 8, 8]);
      assert.equal(clf.metadata.adaptation.trainedPerSpeaker, normalisation.adapt === 'speaker-statistics');
      assert.equal(clf.adapts, true);
      await clf.close();
      // Metadata that does not fit the graph is refused.
      const { inspectOnnx, readEmoMetadata } = require('../dist/infer/onnx-model');
      const info = inspectOnnx(bytes);
      const broken = { ...info, metadata: { ...info.metadata, 'emo.adaptation': JSON.stringify({ ...JSON.parse(info.metadata['emo.adaptation']), statistics: width - 1 }) } };
      assert.throws(() => readEmoMetadata(broken), (e) => e.code === 'ERR_MODEL_INVALID');
      const unclear = { ...info, metadata: { ...info.metadata, 'emo.adaptation': JSON.stringify({ ...JSON.parse(info.metadata['emo.adaptation']), trainedPerSpeaker: 'yes' }) } };
      assert.throws(() => readEmoMetadata(unclear), (e) => e.code === 'ERR_MODEL_INVALID');
    });

    it('an adapter learns the mean and variance of its clips\' statistics (float64), keeps them through JSON and merging, and classify standardises with them', async () => {
      await setup();
      const clf = await emo.loadClassifier(bytes);
      const adapter = clf.createAdapter({ minSpeechSeconds: 0 });
      assert.equal(adapter.learnsStatistics, true);
      assert.equal(adapter.standardisation(), null);
      await adapter.update(wavs);
      assert.equal(adapter.statisticsClips, wavs.length);
      const expected = speakerOf(wavs);
      const held = adapter.standardisation();
      close(held.mean, expected.mean, 'mean');
      close(held.variance, expected.variance, 'variance', 1e-3);
      const results = await clf.classifyBatch(wavs, { adapter });
      wavs.forEach((wav, i) => {
        const want = referenceNetwork(model, normalised(emo.melChunks(wav)), expected).probabilities;
        close(clf.labels.map((l) => results[i].probabilities[l]), want, `clip ${i} class`, 1e-3);
        assert.equal(results[i].adaptation.applied, true);
      });
      // JSON round trip, and two halves merged: the same statistics.
      const json = JSON.parse(JSON.stringify(adapter));
      assert.equal(json.statistics.clips, 4);
      const reloaded = clf.loadAdapter(json, { minSpeechSeconds: 0 });
      close(reloaded.standardisation().mean, held.mean, 'reloaded mean', 1e-6);
      close(reloaded.standardisation().variance, held.variance, 'reloaded variance', 1e-6);
      const halves = [];
      for (const part of [wavs.slice(0, 1), wavs.slice(1)]) {
        const a = clf.createAdapter();
        await a.update(part);
        halves.push(a.toJSON());
      }
      const merged = emo.mergeAdaptationStatistics(halves).statistics;
      assert.equal(merged.clips, 4);
      close(merged.mean, json.statistics.mean, 'merged mean', 1e-6);
      close(merged.variance, json.statistics.variance, 'merged variance', 1e-5);
      // What it cannot do: an adapter of bands alone, learning more without the model, features without the model.
      await assert.rejects(clf.classify(wavs[0], { adapter: emo.createAdapter() }), (e) => e.code === 'ERR_ADAPTATION_INVALID');
      const bare = emo.loadAdapter(json);
      await assert.rejects(bare.update(wavs[0]), /classifier\.loadAdapter/);
      const fromBare = await clf.classify(wavs[0], { adapter: Object.assign(bare, {}) });
      assert.equal(fromBare.adaptation.applied, false); // the default minimum of speech: 4 short clips are below it
      assert.throws(() => adapter.addFeatures(emo.melChunks(wavs[0])), /use update/);
      await assert.rejects(clf.classify(wavs[0], { adapter: emo.loadAdapter({ ...json, statistics: { ...json.statistics, mean: json.statistics.mean.slice(1), variance: json.statistics.variance.slice(1) } }) }), (e) => e.code === 'ERR_ADAPTATION_INVALID');
      assert.throws(() => emo.loadAdapter({ ...json, statistics: { clips: 1, mean: [1], variance: [-1] } }), (e) => e.code === 'ERR_ADAPTATION_INVALID');
      adapter.reset();
      assert.equal(adapter.standardisation(), null);
      await clf.close();
    });

    it('refuses metadata that does not fit the graph or the labels, and runs that do not fit the model', async () => {
      await setup();
      const { inspectOnnx, readEmoMetadata, openOnnxModel } = require('../dist/infer/onnx-model');
      const info = inspectOnnx(bytes);
      const good = JSON.parse(info.metadata['emo.adaptation']);
      const withAdaptation = (a) => ({ ...info, metadata: { ...info.metadata, 'emo.adaptation': JSON.stringify(a) } });
      assert.equal(readEmoMetadata(withAdaptation(good)).adaptation.mode, 'speaker-statistics');
      const bad = {
        'statistics 0': { ...good, statistics: 0 },
        'statistics 1.5': { ...good, statistics: 1.5 },
        'no reference': { ...good, reference: undefined },
        'a reference mean short': { ...good, reference: { ...good.reference, mean: good.reference.mean.slice(1) } },
        'a negative reference variance': { ...good, reference: { ...good.reference, variance: [-1, ...good.reference.variance.slice(1)] } },
        'a reference mean not finite': { ...good, reference: { ...good.reference, mean: [null, ...good.reference.mean.slice(1)] } },
        'no head': { ...good, head: null },
        'a negative epsilon': { ...good, head: { ...good.head, epsilon: -1 } },
        'epsilon not a number': { ...good, head: { ...good.head, epsilon: 'x' } },
        'gamma short': { ...good, head: { ...good.head, gamma: good.head.gamma.slice(1) } },
        'beta short': { ...good, head: { ...good.head, beta: good.head.beta.slice(1) } },
        'weights for 7 labels': { ...good, head: { ...good.head, weights: good.head.weights.slice(8) } },
        'bias for 7 labels': { ...good, head: { ...good.head, bias: good.head.bias.slice(1) } },
      };
      for (const [what, a] of Object.entries(bad)) assert.throws(() => readEmoMetadata(withAdaptation(a)), (e) => e.code === 'ERR_MODEL_INVALID', what);
      // A zero epsilon and zero reference variances are numbers it can use.
      assert.doesNotThrow(() => readEmoMetadata(withAdaptation({ ...good, head: { ...good.head, epsilon: 0 }, reference: { ...good.reference, variance: good.reference.variance.map(() => 0) } })));
      // The graph without its statistics output.
      assert.throws(() => readEmoMetadata({ ...info, outputs: info.outputs.filter((o) => o.name !== 'statistics') }), (e) => e.code === 'ERR_MODEL_INVALID');
      assert.throws(() => readEmoMetadata({ ...info, outputs: info.outputs.map((o) => (o.name === 'statistics' ? { ...o, dims: ['batch'] } : o)) }), (e) => e.code === 'ERR_MODEL_INVALID');
      const m = await openOnnxModel(bytes);
      const mel = new Float32Array(C * M * F).fill(-40);
      const ok = { mean: new Float32Array(width), variance: new Float32Array(width).fill(1) };
      await assert.rejects(m.run(mel, 1, { mean: new Float32Array(width - 1), variance: ok.variance }), RangeError);
      await assert.rejects(m.run(mel, 1, { mean: ok.mean, variance: new Float32Array(width + 1) }), RangeError);
      await assert.rejects(m.run(mel, 2, ok), RangeError);
      const plain = await m.run(mel, 1);
      // Standardised with the reference, the last layers in JS give the graph's own probabilities.
      const again = await m.run(mel, 1, { mean: Float32Array.from(good.reference.mean), variance: Float32Array.from(good.reference.variance) });
      close(again.probabilities, plain.probabilities, 'class', 1e-5);
      await m.close();
      await assert.rejects(m.run(mel, 1), /closed/);
      // A statistics network that adapts its mel bands instead (adapt: speaker) has no statistics output.
      const other = await openOnnxModel(await nn.exportOnnx(model, { ...NORM, adapt: 'speaker' }, { verify: false }));
      await assert.rejects(other.run(mel, 1, ok), /takes no standardisation/);
      assert.equal((await other.run(mel, 1)).statistics, undefined);
      await other.close();
    });

    it('adapts only when the adapter is ready and holds statistics; refuses statistics it cannot use', async () => {
      await setup();
      const clf = await emo.loadClassifier(bytes, { batchSize: 2 });
      const plain = (await clf.classifyBatch(wavs)).map((r) => clf.labels.map((l) => r.probabilities[l]));
      const probabilities = (results) => results.map((r) => clf.labels.map((l) => r.probabilities[l]));
      // Nothing learnt yet, then too little speech: not applied, the model's own answer.
      const fresh = clf.createAdapter({ minSpeechSeconds: 0 });
      assert.equal(fresh.statisticsClips, 0);
      assert.equal(emo.createAdapter().statisticsClips, 0);
      const before = await clf.classifyBatch(wavs, { adapter: fresh });
      assert.equal(before[0].adaptation.applied, false);
      probabilities(before).forEach((p, i) => close(p, plain[i], 'fresh', 1e-6));
      const shy = clf.createAdapter({ minSpeechSeconds: 1000 });
      await shy.update(wavs);
      assert.equal(shy.statisticsClips, 4);
      const notReady = await clf.classifyBatch(wavs, { adapter: shy });
      assert.equal(notReady[0].adaptation.applied, false);
      probabilities(notReady).forEach((p, i) => close(p, plain[i], 'not ready', 1e-6));
      // Bands without statistics, loaded for this model: ready by its speech, yet nothing to standardise with.
      const learnt = clf.createAdapter({ minSpeechSeconds: 0 });
      await learnt.update(wavs); // with batchSize 2, the statistics come in two runs
      assert.equal(learnt.statisticsClips, 4);
      const { statistics, ...bandsOnly } = learnt.toJSON();
      const bands = clf.loadAdapter(bandsOnly, { minSpeechSeconds: 0 });
      assert.ok(bands.ready);
      const r = await clf.classify(wavs[0], { adapter: bands });
      assert.equal(r.adaptation.applied, false);
      close(clf.labels.map((l) => r.probabilities[l]), plain[0], 'bands only', 1e-6);
      // Saved statistics that are not statistics, or of another network.
      for (const [what, st] of Object.entries({ null: null, 'clips -1': { ...statistics, clips: -1 }, 'clips 1.5': { ...statistics, clips: 1.5 }, 'no means': { ...statistics, mean: [], variance: [] }, 'a mean not a number': { ...statistics, mean: ['x', ...statistics.mean.slice(1)] }, 'lengths differ': { ...statistics, variance: statistics.variance.slice(1) } })) {
        assert.throws(() => clf.loadAdapter({ ...bandsOnly, statistics: st }), (e) => e.code === 'ERR_ADAPTATION_INVALID', what);
      }
      assert.equal(clf.loadAdapter({ ...bandsOnly, statistics: { ...statistics, clips: 0 } }).statisticsClips, 0);
      const short = { clips: 2, mean: [0, 1], variance: [1, 1] };
      assert.throws(() => emo.mergeAdaptationStatistics([learnt.toJSON(), { ...bandsOnly, statistics: short }]), (e) => e.code === 'ERR_ADAPTATION_INVALID');
      await assert.rejects(clf.classify(wavs[0], { adapter: emo.loadAdapter({ ...bandsOnly, statistics: short }) }), (e) => e.code === 'ERR_ADAPTATION_INVALID');
      await clf.close();
    });
  });
});
