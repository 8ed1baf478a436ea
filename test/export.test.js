'use strict';
// ONNX export (lib/export) and opening exported files (lib/infer/onnx-model). The reference for
// every number is TensorFlow.js running the same tfjs-layers model; the file's structure is read
// back with the ONNX schema package (onnx-proto), independently of the exporter's own reader.
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const tf = require('@tensorflow/tfjs-core');
const ort = require('onnxruntime-node');
const { onnx } = require('onnx-proto');
const nn = require('../dist/nn');
const emo = require('../dist');
const { openOnnxModel } = require('../dist/infer/onnx-model');
const { makeWav, testSignal } = require('./helpers/wav');

const root = path.join(__dirname, '..');
const cli = path.join(root, 'dist', 'cli', 'main.js');
const EMOTIONS = ['neutral', 'calm', 'happy', 'sad', 'angry', 'fearful', 'disgust', 'surprised'];

// Plausible training statistics: band means from -90 to -20 dB, deviations 4-16 dB.
const NORM = { mean: Array.from({ length: 128 }, (_, m) => -90 + (70 * m) / 127), std: Array.from({ length: 128 }, (_, m) => 4 + (m % 13)) };

// Real features of varied test signals (different levels, tones, rates).
function clips(count, seed = 1) {
  return Array.from({ length: count }, (_, i) => {
    const sr = [48000, 16000, 44100][i % 3];
    const x = testSignal(Math.round(sr * 3.7), sr, seed + i);
    for (let k = 0; k < x.length; k++) x[k] = (0.05 + 0.1 * i) * x[k] + 0.1 * Math.sin((2 * Math.PI * (120 + 40 * i) * k) / sr);
    return emo.melChunks(makeWav([x], { sampleRate: sr }));
  });
}

// A model whose batch norms do something: random affine parameters and moving statistics far from
// (0, 1), so that folding them into the convolutions is really exercised.
function modelWithLiveBatchNorm(seed) {
  const model = nn.createModel({ seed });
  for (const [k, name] of ['block1_bn', 'block2_bn', 'block3_bn'].entries()) {
    const layer = model.getLayer(name);
    const [gamma, beta, mean, variance] = layer.getWeights();
    const fresh = [
      tf.randomUniform(gamma.shape, 0.5, 1.5, 'float32', 10 * seed + k),
      tf.randomNormal(beta.shape, 0, 0.3, 'float32', 20 * seed + k),
      tf.randomNormal(mean.shape, 0, 2, 'float32', 30 * seed + k),
      tf.randomUniform(variance.shape, 0.2, 4, 'float32', 40 * seed + k),
    ];
    layer.setWeights(fresh);
    tf.dispose(fresh);
  }
  return model;
}

// The reference: the tfjs model on normalised features, with its attention weights. With
// norm.centre 'utterance', each clip's band means over all its chunks and frames (float64) come off first.
function tfjsReference(model, features, norm) {
  const size = 7 * 128 * 128;
  const input = new Float32Array(features.length * size);
  features.forEach((f, i) => {
    const own = new Float64Array(128);
    if (norm.centre === 'utterance')
      for (let m = 0; m < 128; m++) {
        for (let c = 0; c < 7; c++) for (let t = 0; t < 128; t++) own[m] += f.data[(c * 128 + m) * 128 + t];
        own[m] /= 7 * 128;
      }
    for (let c = 0; c < 7; c++)
      for (let m = 0; m < 128; m++)
        for (let t = 0; t < 128; t++) {
          const j = (c * 128 + m) * 128 + t;
          input[i * size + j] = (f.data[j] - own[m] - norm.mean[m]) / norm.std[m];
        }
  });
  const explain = nn.createExplainModel(model);
  return tf.tidy(() => {
    const [p, a] = explain.predict(tf.tensor(input, [features.length, 7, 128, 128, 1]));
    return { probabilities: p.dataSync(), attention: a.dataSync() };
  });
}

async function runOnnx(bytes, features) {
  const session = await ort.InferenceSession.create(bytes);
  const size = 7 * 128 * 128;
  const input = new Float32Array(features.length * size);
  features.forEach((f, i) => input.set(f.data, i * size));
  const out = await session.run({ mel: new ort.Tensor('float32', input, [features.length, 7, 128, 128]) });
  await session.release();
  return { probabilities: out.probabilities.data, attention: out.attention.data, dims: [out.probabilities.dims, out.attention.dims] };
}

function maxAbsDiff(a, b) {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

describe('ONNX export', function () {
  this.timeout(300_000);
  let model;
  let bytes;
  let features;
  let tmp;

  before(async () => {
    assert.ok(await tf.setBackend('emo-native'));
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'emo-export-'));
    model = modelWithLiveBatchNorm(5);
    features = clips(5);
    bytes = await nn.exportOnnx(model, NORM, { training: { corpus: 'unit-test', epochs: 0 } });
  });
  after(() => {
    model.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('computes what TensorFlow.js computes, at batch 5 and clip by clip at batch 1', async () => {
    const expected = tfjsReference(model, features, NORM);
    const batch5 = await runOnnx(bytes, features);
    assert.deepEqual(batch5.dims, [[5, 8], [5, 7]]);
    assert.ok(maxAbsDiff(batch5.probabilities, expected.probabilities) <= 1e-4, `probabilities ${maxAbsDiff(batch5.probabilities, expected.probabilities)}`);
    assert.ok(maxAbsDiff(batch5.attention, expected.attention) <= 1e-4, `attention ${maxAbsDiff(batch5.attention, expected.attention)}`);
    for (let i = 0; i < features.length; i++) {
      const one = await runOnnx(bytes, [features[i]]);
      assert.ok(maxAbsDiff(one.probabilities, batch5.probabilities.subarray(i * 8, i * 8 + 8)) <= 1e-6, `clip ${i} alone vs in the batch`);
      assert.ok(maxAbsDiff(one.attention, batch5.attention.subarray(i * 7, i * 7 + 7)) <= 1e-6);
    }
    // Distributions: rows sum to 1, and the clips are told apart (not a constant graph).
    for (let i = 0; i < 5; i++) {
      const row = (t, n) => Array.from(t.subarray(i * n, (i + 1) * n));
      assert.ok(Math.abs(row(batch5.probabilities, 8).reduce((s, v) => s + v, 0) - 1) < 1e-5);
      assert.ok(Math.abs(row(batch5.attention, 7).reduce((s, v) => s + v, 0) - 1) < 1e-5);
    }
    assert.ok(maxAbsDiff(batch5.probabilities.subarray(0, 8), batch5.probabilities.subarray(8, 16)) > 1e-4, 'different clips, different outputs');
  });

  it('matches the pure-JavaScript cpu backend too (the reference does not depend on the native backend)', async () => {
    await tf.setBackend('cpu');
    try {
      const expected = tfjsReference(model, features.slice(0, 1), NORM);
      const got = await runOnnx(bytes, features.slice(0, 1));
      assert.ok(maxAbsDiff(got.probabilities, expected.probabilities) <= 1e-4);
      assert.ok(maxAbsDiff(got.attention, expected.attention) <= 1e-4);
    } finally {
      await tf.setBackend('emo-native');
    }
  });

  it('writes opset 17, IR 8, the named input and outputs with a dynamic batch, and the metadata (read back with the ONNX schema)', () => {
    const m = onnx.ModelProto.decode(bytes);
    assert.equal(Number(m.irVersion), 8);
    assert.deepEqual(m.opsetImport.map((o) => [o.domain, Number(o.version)]), [['', 17]]);
    const dims = (v) => v.type.tensorType.shape.dim.map((d) => d.dimParam || Number(d.dimValue));
    const elem = (v) => v.type.tensorType.elemType;
    assert.deepEqual(m.graph.input.map((v) => [v.name, dims(v), elem(v)]), [['mel', ['batch', 7, 128, 128], onnx.TensorProto.DataType.FLOAT]]);
    assert.deepEqual(
      m.graph.output.map((v) => [v.name, dims(v)]),
      [
        ['probabilities', ['batch', 8]],
        ['attention', ['batch', 7]],
      ],
    );
    const ops = m.graph.node.map((n) => n.opType);
    assert.ok(!ops.includes('Dropout') && !ops.includes('BatchNormalization'), `inference form: ${ops.join(' ')}`);
    const lstm = m.graph.node.filter((n) => n.opType === 'LSTM');
    assert.equal(lstm.length, 1);
    assert.equal(Buffer.from(lstm[0].attribute.find((a) => a.name === 'direction').s).toString(), 'bidirectional');
    const meta = Object.fromEntries(m.metadataProps.map((p) => [p.key, p.value]));
    assert.deepEqual(JSON.parse(meta['emo.labels']), EMOTIONS);
    assert.equal(meta['emo.version'], require('../package.json').version);
    assert.deepEqual(JSON.parse(meta['emo.training']), { corpus: 'unit-test', epochs: 0 });
    const f = JSON.parse(meta['emo.features']);
    assert.deepEqual(
      { ...f },
      {
        sampleRate: 48000, offsetSeconds: 0.5, durationSeconds: 3, nFft: 1024, winLength: 512, hopLength: 256, nMels: 128, fMin: 0, fMax: 24000,
        amin: 1e-10, topDb: null, chunkFrames: 128, chunkStride: 64, resampleLowpassFilterWidth: 6, resampleRolloff: 0.99,
        window: 'hamming-periodic-centred', melScale: 'htk', melNorm: 'none', db: '10*log10(max(power, amin))', shape: [7, 128, 128],
      },
    );
    const parity = JSON.parse(meta['emo.parity']);
    assert.equal(parity.source, 'generated');
    assert.ok(parity.clips >= 1 && parity.probabilities <= 1e-4 && parity.attention <= 1e-4, JSON.stringify(parity));
  });

  it('opens in the package with its metadata, and runs like onnxruntime directly', async () => {
    const opened = await openOnnxModel(bytes);
    assert.deepEqual(opened.metadata.labels, EMOTIONS);
    assert.deepEqual(opened.metadata.training, { corpus: 'unit-test', epochs: 0 });
    const input = new Float32Array(2 * 7 * 128 * 128);
    input.set(features[0].data);
    input.set(features[1].data, 7 * 128 * 128);
    const out = await opened.run(input, 2);
    const direct = await runOnnx(bytes, features.slice(0, 2));
    assert.deepEqual(Array.from(out.probabilities), Array.from(direct.probabilities));
    await opened.close();
    await assert.rejects(opened.run(input, 2), /closed/);
  });

  it('writes older opsets on request, with the same outputs', async () => {
    const old = await nn.exportOnnx(model, NORM, { opset: 13 });
    assert.equal(Number(onnx.ModelProto.decode(old).opsetImport[0].version), 13);
    const a = await runOnnx(old, features.slice(0, 2));
    const b = await runOnnx(bytes, features.slice(0, 2));
    assert.ok(maxAbsDiff(a.probabilities, b.probabilities) <= 1e-6);
    await assert.rejects(nn.exportOnnx(model, NORM, { opset: 12 }), RangeError);
  });

  it('centres each clip per mel band inside the graph when trained so: what tfjs computes on float64-centred input, and blind to a recording\'s level and colour', async () => {
    const centred = { mean: NORM.mean.map((m) => m + 60), std: NORM.std, centre: 'utterance' };
    const exported = await nn.exportOnnx(model, centred, { verifyClips: features, verifySource: 'test clips' });
    const graph = onnx.ModelProto.decode(exported).graph;
    assert.deepEqual(graph.node.slice(0, 2).map((n) => n.opType), ['ReduceMean', 'Sub']);
    const expected = tfjsReference(model, features, centred);
    const got = await runOnnx(exported, features);
    assert.ok(maxAbsDiff(got.probabilities, expected.probabilities) <= 1e-4, `probabilities ${maxAbsDiff(got.probabilities, expected.probabilities)}`);
    assert.ok(maxAbsDiff(got.attention, expected.attention) <= 1e-4);
    // A steady per-band offset in dB (a gain and an EQ: -20 dB plus a tilt) leaves the outputs as they were;
    // without centring it changes them.
    const coloured = features.map((f) => {
      const data = Float32Array.from(f.data, (v, j) => v - 20 + (6 * (Math.floor(j / 128) % 128)) / 127); // band m = floor(j / 128) % 128
      return { data, shape: f.shape };
    });
    const moved = await runOnnx(exported, coloured);
    assert.ok(maxAbsDiff(moved.probabilities, got.probabilities) <= 1e-4, `centred: ${maxAbsDiff(moved.probabilities, got.probabilities)}`);
    const plain = [await runOnnx(bytes, features), await runOnnx(bytes, coloured)];
    assert.ok(maxAbsDiff(plain[0].probabilities, plain[1].probabilities) > 1e-3, 'the uncentred graph does see the offset');
    await assert.rejects(nn.exportOnnx(model, { ...NORM, centre: 'speaker' }, { verify: false }), /unknown centring 'speaker'/);
  });

  it('refuses to return a graph that differs from TensorFlow.js beyond the tolerance', async () => {
    // Float32 graphs that add in a different order differ by ~1e-8; no tolerance below that holds.
    await assert.rejects(nn.exportOnnx(model, NORM, { tolerance: 1e-12 }), (e) => e instanceof emo.EmoError && e.code === 'ERR_EXPORT_PARITY' && /largest difference/.test(e.message));
  });

  it('rejects what is not the reference network or a usable normalisation', async () => {
    const tfl = require('@tensorflow/tfjs-layers');
    const input = tfl.input({ shape: [7, 128, 128, 1] });
    const other = tfl.model({ inputs: input, outputs: tfl.layers.flatten().apply(input) });
    await assert.rejects(nn.exportOnnx(other, NORM, { verify: false }), /no layer 'block1_conv'/);
    await assert.rejects(nn.exportOnnx(model, { mean: NORM.mean.slice(1), std: NORM.std }, { verify: false }), TypeError);
    await assert.rejects(nn.exportOnnx(model, { mean: NORM.mean, std: NORM.std.map(() => 0) }, { verify: false }), RangeError);
    await assert.rejects(nn.exportOnnx(model, NORM, { bogus: 1 }), TypeError);
  });

  it('refuses a model trained on other features, naming what differs', async () => {
    const other = await nn.exportOnnx(model, NORM, { features: { fMax: 8000 }, verify: false });
    await assert.rejects(openOnnxModel(other), (e) => e instanceof emo.EmoError && e.code === 'ERR_MODEL_FEATURES_MISMATCH' && /fMax: 8000 \(this pipeline: 24000\)/.test(e.message));
    const opened = await openOnnxModel(other, { pipeline: false }); // inspection only
    assert.equal(opened.metadata.features.fMax, 8000);
    await opened.close();
  });

  it('gives an EmoError, not a crash, for a file that is not a model, a truncated one, or a foreign ONNX graph', async () => {
    const text = path.join(tmp, 'notes.onnx');
    fs.writeFileSync(text, 'these are not the weights you are looking for\n');
    const cut = path.join(tmp, 'cut.onnx');
    fs.writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    for (const source of [text, cut, new Uint8Array(0), path.join(tmp, 'missing.onnx')]) {
      await assert.rejects(openOnnxModel(source), (e) => e instanceof emo.EmoError && ['ERR_MODEL_INVALID', 'ERR_FILE_READ'].includes(e.code), String(source));
    }
    // A valid ONNX model without emo-native's metadata and interface.
    const m = onnx.ModelProto.decode(bytes);
    m.metadataProps = [];
    await assert.rejects(openOnnxModel(onnx.ModelProto.encode(m).finish()), (e) => e.code === 'ERR_MODEL_INVALID' && /emo\.labels/.test(e.message));
    // The metadata of an emo-native model, and a graph that lacks one of its outputs or has another input shape:
    // refused when it is opened, not half-way through a job.
    for (const [change, expected] of [
      [(g) => (g.output[1].name = 'weights'), /needs an output 'attention' of shape \[batch, 7\], it has none/],
      [(g) => (g.output[0].name = 'scores'), /needs an output 'probabilities' of shape \[batch, 8\], it has none/],
      [(g) => (g.input[0].type.tensorType.shape.dim[2].dimValue = 64), /needs an input 'mel' of shape \[batch, 7, 128, 128\], it has \[batch, 7, 64, 128\]/],
    ]) {
      const broken = onnx.ModelProto.decode(bytes);
      change(broken.graph);
      await assert.rejects(openOnnxModel(onnx.ModelProto.encode(broken).finish()), (e) => e.code === 'ERR_MODEL_INVALID' && expected.test(e.message), String(expected));
    }
    await assert.rejects(openOnnxModel(42), TypeError);
    // On the command line: exit 1, a one-line message, no stack trace.
    for (const file of [text, cut]) {
      const r = spawnSync(process.execPath, [cli, 'evaluate', file, tmp], { encoding: 'utf8', cwd: tmp });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /^emo: .*(not an ONNX model|truncated)/);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
  });
});
