'use strict';
// The inference API (lib/infer/classifier): loadClassifier → classify / classifyBatch / timeline.
// The reference for every number is onnxruntime-node run directly on melChunks of the same audio;
// the classifier under test adds the batching, windowing and checks around it.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const tf = require('@tensorflow/tfjs-core');
const ort = require('onnxruntime-node');
require('../dist/nn'); // registers the emo-native tfjs backend
const emo = require('../dist');
const { makeWav } = require('./helpers/wav');
const { sharpenedOnnxModel, voice } = require('./helpers/model');

const EMOTIONS = ['neutral', 'calm', 'happy', 'sad', 'angry', 'fearful', 'disgust', 'surprised'];
const NORM = { mean: Array.from({ length: 128 }, (_, m) => -80 + (50 * m) / 127), std: Array.from({ length: 128 }, () => 12) };

const wavOf = (x, sampleRate) => makeWav([x], { sampleRate });

async function directProbabilities(bytes, wav) {
  const { data, shape } = emo.melChunks(wav);
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({ mel: new ort.Tensor('float32', data, [1, ...shape]) });
  await session.release();
  return { probabilities: Array.from(out.probabilities.data), attention: Array.from(out.attention.data) };
}

const close = (a, b, tol) => a.every((v, i) => Math.abs(v - b[i]) <= tol);

describe('inference: loadClassifier', function () {
  this.timeout(300_000);
  let tmp;
  let modelFile;
  let bytes;
  let clf;

  before(async () => {
    assert.ok(await tf.setBackend('emo-native'));
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'emo-infer-'));
    bytes = await sharpenedOnnxModel(11, NORM);
    modelFile = path.join(tmp, 'model.onnx');
    fs.writeFileSync(modelFile, bytes);
    clf = await emo.loadClassifier(modelFile, { batchSize: 3 });
  });
  after(async () => {
    await clf?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('classifies a WAV: the label, its confidence, every probability and the attention, as onnxruntime computes them', async () => {
    const wav = wavOf(voice(3.8, 48000, 1), 48000);
    const r = await clf.classify(wav);
    assert.deepEqual(Object.keys(r), ['label', 'confidence', 'probabilities', 'attention']);
    assert.deepEqual(Object.keys(r.probabilities), EMOTIONS);
    const direct = await directProbabilities(bytes, wav);
    assert.ok(close(Object.values(r.probabilities), direct.probabilities, 1e-6));
    assert.ok(close(r.attention, direct.attention, 1e-6));
    const best = direct.probabilities.indexOf(Math.max(...direct.probabilities));
    assert.equal(r.label, EMOTIONS[best]);
    assert.equal(r.confidence, r.probabilities[r.label]);
    assert.equal(r.attention.length, 7);
    assert.ok(Math.abs(r.attention.reduce((s, v) => s + v, 0) - 1) < 1e-5);
    assert.equal(clf.provider, 'cpu');
    assert.deepEqual(clf.labels, EMOTIONS);
    assert.equal(clf.metadata.features.sampleRate, 48000);
  });

  it('classifyBatch equals classify clip by clip, in input order, with a bad clip as an error in its place', async () => {
    const inputs = [1, 2, 3, 4, 5, 6, 7].map((seed) => wavOf(voice(3.6 + 0.1 * seed, seed % 2 ? 48000 : 22050, seed), seed % 2 ? 48000 : 22050));
    inputs.splice(4, 0, Buffer.from('not a wav at all'));
    const batch = await clf.classifyBatch(inputs); // batchSize 3: three onnxruntime runs, features pipelined
    assert.equal(batch.length, 8);
    assert.ok(batch[4].error instanceof emo.EmoError);
    assert.equal(batch[4].error.code, 'ERR_WAV_NOT_RIFF');
    assert.equal(batch[4].error.index, 4);
    for (const [i, input] of inputs.entries()) {
      if (i === 4) continue;
      assert.deepEqual(batch[i], await clf.classify(input), `clip ${i}`);
    }
    assert.ok(new Set(batch.filter((r) => r.label).map((r) => r.label)).size > 1, 'the clips are told apart');
    assert.deepEqual(await clf.classifyBatch([]), []);
  });

  it('gives nearly the same probabilities for the same audio at 16 kHz and 48 kHz, from WAV bytes or sample arrays', async () => {
    for (const seed of [3, 8]) {
      const at48 = await clf.classify(wavOf(voice(3.7, 48000, seed), 48000));
      const at16 = await clf.classify(wavOf(voice(3.7, 16000, seed), 16000));
      const samples16 = await clf.classify(voice(3.7, 16000, seed), { sampleRate: 16000 });
      assert.equal(at16.label, at48.label);
      // Not identical: above 8 kHz the upsampled 16-kHz clip is cut by the resampler's low-pass
      // filter down to the -100 dB floor, while the 48-kHz clip keeps the window's spectral leakage
      // of its harmonics there; this test model's sharpened output layer magnifies the difference.
      assert.ok(close(Object.values(at16.probabilities), Object.values(at48.probabilities), 0.1), JSON.stringify([at16.probabilities, at48.probabilities]));
      // A float WAV of the very samples and the sample array take the same path.
      assert.deepEqual(samples16, await clf.classify(makeWav([voice(3.7, 16000, seed)], { sampleRate: 16000, format: 'float', bits: 32 })));
    }
  });

  it('offsetSeconds: 0 classifies the input from its first sample (a live stream\'s last 3 s), like the same audio behind a 0.5-s lead-in', async () => {
    const rate = 48000;
    const clip = voice(3, rate, 4);
    const withLead = new Float32Array(rate * 3.5);
    withLead.set(voice(0.5, rate, 9));
    withLead.set(clip, rate / 2);
    const direct = await directProbabilities(bytes, makeWav([withLead], { sampleRate: rate, format: 'float', bits: 32 }));
    const r = await clf.classify(clip, { sampleRate: rate, offsetSeconds: 0 });
    assert.ok(close(Object.values(r.probabilities), direct.probabilities, 1e-6));
    assert.ok(close(r.attention, direct.attention, 1e-6));
    const [batched] = await clf.classifyBatch([clip], { sampleRate: rate, offsetSeconds: 0 });
    assert.deepEqual(batched, r);
    // Audio shorter than the default offset is a clip when nothing is skipped.
    const short = await clf.classify(voice(0.4, rate, 4), { sampleRate: rate, offsetSeconds: 0 });
    assert.equal(short.attention.length, 7);
    await assert.rejects(clf.classify(clip, { sampleRate: rate, offsetSeconds: -1 }), RangeError);
  });

  it('timeline: windows every hop from the offset on, with the right times and labels, on two different "emotions" back to back', async () => {
    // Find two voices the model labels differently.
    const seeds = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    const labels = await Promise.all(seeds.map(async (s) => (await clf.classify(voice(3.5, 48000, s))).label));
    const a = seeds[0];
    const b = seeds[labels.findIndex((l) => l !== labels[0])];
    assert.ok(b !== undefined, `labels ${labels}`);
    // 0.5 s lead-in, then 3 s of voice a, then 3 s of voice b.
    const rate = 48000;
    const lead = voice(0.5, rate, a);
    const partA = voice(3.5, rate, a).subarray(rate / 2);
    const partB = voice(3.5, rate, b).subarray(rate / 2);
    const audio = new Float32Array(lead.length + partA.length + partB.length);
    audio.set(lead);
    audio.set(partA, lead.length);
    audio.set(partB, lead.length + partA.length);
    const t = await clf.timeline(wavOf(audio, rate), { hop: 1.5 });
    // 6.5 s: windows at 0.5, 2.0, 3.5 (the last reaching 6.5).
    assert.deepEqual(
      t.segments.map((s) => [s.start, s.end]),
      [
        [0.5, 3.5],
        [2, 5],
        [3.5, 6.5],
      ],
    );
    assert.equal(t.segments[0].label, labels[0]);
    assert.equal(t.segments[2].label, labels[seeds.indexOf(b)]);
    // The first window is exactly classify's clip; the mean of the windows is the overall result.
    assert.deepEqual(t.segments[0].probabilities, (await clf.classify(wavOf(audio, rate))).probabilities);
    for (const label of EMOTIONS) {
      const mean = t.segments.reduce((s, seg) => s + seg.probabilities[label], 0) / 3;
      assert.ok(Math.abs(t.probabilities[label] - mean) < 1e-12);
    }
    assert.equal(t.label, Object.entries(t.probabilities).sort((x, y) => y[1] - x[1])[0][0]);
    // A hop of 1 s and 7.2 s of audio: the last window starts before the end and is zero-padded.
    const longer = new Float32Array(Math.round(7.2 * rate));
    longer.set(audio);
    longer.set(partB.subarray(0, longer.length - audio.length), audio.length);
    const t2 = await clf.timeline(longer, { sampleRate: rate, hop: 1 });
    assert.deepEqual(
      t2.segments.map((s) => [s.start, s.end]),
      [
        [0.5, 3.5],
        [1.5, 4.5],
        [2.5, 5.5],
        [3.5, 6.5],
        [4.5, 7.2],
      ],
    );
  });

  it('timeline: windows of digital silence are left out, and the overall result is the mean of the windows kept', async () => {
    const rate = 48000;
    // 0.5 s lead-in, 3 s of voice, 4.5 s of digital silence, 3 s of voice: windows every 1.5 s.
    const audio = new Float32Array(11 * rate);
    audio.set(voice(3.5, rate, 4));
    audio.set(voice(3, rate, 9), 8 * rate);
    const t = await clf.timeline(audio, { sampleRate: rate, hop: 1.5 });
    const starts = t.segments.map((s) => s.start);
    // The windows at 3.5 and 5 s hold only silence: dropped; 2 and 6.5 s hold some voice: kept.
    assert.deepEqual(starts, [0.5, 2, 6.5, 8]);
    for (const label of EMOTIONS) {
      const mean = t.segments.reduce((sum, seg) => sum + seg.probabilities[label], 0) / t.segments.length;
      assert.ok(Math.abs(t.probabilities[label] - mean) < 1e-12, `${label}: ${t.probabilities[label]} against ${mean}`);
    }
  });

  it('timeline of audio up to window + 0.5 s is one window, identical to classify', async () => {
    const wav = wavOf(voice(3.4, 44100, 5), 44100);
    const t = await clf.timeline(wav);
    const c = await clf.classify(wav);
    assert.equal(t.segments.length, 1);
    assert.deepEqual(t.probabilities, c.probabilities);
    assert.equal(t.label, c.label);
    assert.deepEqual(t.segments[0], { start: 0.5, end: 3.4, ...c });
    assert.deepEqual(await clf.timeline(wav, { hop: 1, window: 3 }), t);
    await assert.rejects(clf.timeline(wav, { window: 4 }), RangeError);
    await assert.rejects(clf.timeline(wav, { hop: 0 }), RangeError);
  });

  it('a recording up to SINGLE_CLIP_SECONDS (6 s) is one clip, labelled like classify; singleClipSeconds 0 gives its windows', async () => {
    assert.equal(emo.SINGLE_CLIP_SECONDS, 6);
    const wav = wavOf(voice(5.2, 48000, 6), 48000);
    const c = await clf.classify(wav);
    const t = await clf.timeline(wav);
    assert.deepEqual(t.segments, [{ start: 0.5, end: 3.5, ...c }]);
    assert.equal(t.label, c.label);
    const w = await clf.timeline(wav, { singleClipSeconds: 0 });
    assert.deepEqual(w.segments.map((s) => [s.start, s.end]), [[0.5, 3.5], [2, 5], [3.5, 5.2]]);
    assert.deepEqual(w.segments[0].probabilities, c.probabilities);
    // A shorter window than the model's means windows from one window's length on.
    assert.equal((await clf.timeline(wav, { window: 1, hop: 1 })).segments.length, 5);
    assert.equal((await clf.timeline(wavOf(voice(6.2, 48000, 6), 48000))).segments.length, 3);
    await assert.rejects(clf.timeline(wav, { singleClipSeconds: -1 }), RangeError);
  });

  it('streams a long recording through its windows with bounded memory', async () => {
    // 20 minutes at 16 kHz: 800 windows. All their features at once would be 367 MB, their
    // onnxruntime activations in one run 20 GB.
    const rate = 16000;
    const minutes = 20;
    const x = new Float32Array(minutes * 60 * rate);
    const piece = voice(10, rate, 4);
    for (let i = 0; i < x.length; i += piece.length) x.set(piece.subarray(0, Math.min(piece.length, x.length - i)), i);
    const wav = makeWav([x], { sampleRate: rate });
    global.gc?.();
    const base = process.memoryUsage().rss;
    let peak = base;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const big = await emo.loadClassifier(modelFile, { batchSize: 32 });
    const t = await big.timeline(wav, { hop: 1.5 });
    clearInterval(timer);
    await big.close();
    assert.equal(t.segments.length, Math.ceil((minutes * 60 - 0.5 - 3) / 1.5) + 1);
    assert.ok(peak - base < 250e6, `RSS grew ${((peak - base) / 1e6).toFixed(0)} MB`);
  });

  it('nothing to hear is an error, not a label; a truncated WAV is decoded as far as it goes and says so', async () => {
    const rate = 48000;
    const code = (c) => (e) => e instanceof emo.EmoError && e.code === c;
    await assert.rejects(clf.classify(wavOf(new Float32Array(rate * 4), rate)), code('ERR_SILENT'));
    await assert.rejects(clf.classify(new Float32Array(rate * 4)), code('ERR_SILENT'));
    await assert.rejects(clf.classify(wavOf(voice(0.4, rate, 1), rate)), code('ERR_TOO_SHORT'));
    await assert.rejects(clf.timeline(wavOf(new Float32Array(rate * 12), rate)), code('ERR_SILENT'));
    // Silence plus speech: silent windows are left out of the timeline.
    const mixed = new Float32Array(rate * 9);
    mixed.set(voice(3, rate, 2), rate * 6);
    const t = await clf.timeline(mixed, { sampleRate: rate, hop: 3 });
    assert.deepEqual(t.segments.map((s) => s.start), [3.5, 6.5]);

    const x = voice(3.6, rate, 6);
    const whole = wavOf(x.subarray(0, rate * 2), rate);
    const cut = makeWav([x.subarray(0, rate * 2)], { sampleRate: rate, dataDeclaredSize: x.length * 2 });
    const r = await clf.classify(cut);
    assert.equal(r.truncated, true);
    const { truncated, ...rest } = r;
    assert.deepEqual(rest, await clf.classify(whole));
    assert.equal((await clf.classify(whole)).truncated, undefined);
  });

  it('bad input gives EmoError for data problems and TypeError/RangeError for misuse', async () => {
    const code = (c) => (e) => e instanceof emo.EmoError && e.code === c;
    await assert.rejects(clf.classify(Buffer.alloc(0)), code('ERR_WAV_EMPTY'));
    await assert.rejects(clf.classify(Buffer.from('RIFF\x24\x00\x00\x00WAVEfmt ')), (e) => e instanceof emo.EmoError);
    await assert.rejects(clf.classify(Buffer.from('just some text, not audio')), code('ERR_WAV_NOT_RIFF'));
    const nan = voice(3.6, 48000, 1);
    nan[48000] = NaN;
    await assert.rejects(clf.classify(nan), code('ERR_NON_FINITE_SAMPLES'));
    await assert.rejects(clf.classify(wavOf(nan, 48000).subarray(0, 30)), (e) => e instanceof emo.EmoError);
    await assert.rejects(clf.classify('clip.wav'), TypeError);
    await assert.rejects(clf.classify([0.1, 0.2]), TypeError);
    await assert.rejects(clf.classify(new Float32Array(0)), RangeError);
    await assert.rejects(clf.classify(voice(3.6, 48000, 1), { sampleRate: 12.5 }), RangeError);
    await assert.rejects(clf.classify(voice(3.6, 48000, 1), { rate: 16000 }), TypeError);
    await assert.rejects(clf.classifyBatch('x'), TypeError);
    await assert.rejects(clf.classifyBatch([voice(3.6, 48000, 1), 7]), TypeError);
  });

  it('chooses the execution provider as asked, and says how to get CUDA where it is missing', async () => {
    await assert.rejects(emo.loadClassifier(modelFile, { provider: 'gpu' }), RangeError);
    await assert.rejects(emo.loadClassifier(modelFile, { batchSize: 0 }), RangeError);
    await assert.rejects(emo.loadClassifier(modelFile, { threads: 'two' }), TypeError);
    const ortBin = path.join(path.dirname(require.resolve('onnxruntime-node/package.json')), 'bin', 'napi-v6', process.platform, process.arch);
    const cudaInstalled = fs.existsSync(path.join(ortBin, 'libonnxruntime_providers_cuda.so'));
    if (!cudaInstalled) {
      await assert.rejects(emo.loadClassifier(modelFile, { provider: 'cuda' }), (e) => e.code === 'ERR_PROVIDER_UNAVAILABLE' && /--onnxruntime-node-install=cuda12/.test(e.message));
      const auto = await emo.loadClassifier(modelFile, { provider: 'auto' });
      assert.equal(auto.provider, 'cpu');
      await auto.close();
    } else {
      // With the provider installed, 'auto' takes CUDA when a GPU answers and falls back otherwise.
      const auto = await emo.loadClassifier(modelFile, { provider: 'auto' });
      assert.ok(['cpu', 'cuda'].includes(auto.provider));
      await auto.close();
    }
  });

  it('loads a bundled model by name; a file of that name is reached by its path', async () => {
    assert.deepEqual(Object.keys(emo.BUNDLED_MODELS), ['ravdess', 'synth']);
    assert.equal(emo.BUNDLED_MODELS[emo.DEFAULT_MODEL_NAME], emo.BUNDLED_MODEL);
    const byName = await emo.loadClassifier('synth');
    const byPath = await emo.loadClassifier(emo.BUNDLED_MODELS.synth);
    const clip = wavOf(voice(3.6, 48000, 3), 48000);
    assert.deepEqual((await byName.classify(clip)).probabilities, (await byPath.classify(clip)).probabilities);
    await Promise.all([byName.close(), byPath.close()]);
    // './synth' is a path: there is no such file here.
    await assert.rejects(emo.loadClassifier('./synth'), (e) => e.code === 'ERR_FILE_READ' || e.code === 'ERR_MODEL_INVALID');
  });

  it('loads the bundled model when none is given, or says that none is bundled', async () => {
    if (fs.existsSync(emo.BUNDLED_MODEL)) {
      const bundled = await emo.loadClassifier();
      assert.deepEqual(bundled.labels, EMOTIONS);
      await bundled.close();
    } else {
      await assert.rejects(emo.loadClassifier(), (e) => e.code === 'ERR_MODEL_NOT_BUNDLED' && /emo export/.test(e.message));
    }
  });

  it('{ worker }: the model runs in worker threads, with the same results as on the calling thread', async () => {
    const inputs = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((seed) => wavOf(voice(3.6, 48000, seed), 48000));
    inputs.splice(4, 0, Buffer.from('not a wav'));
    const here = await emo.loadClassifier(bytes, { batchSize: 8 });
    const pooled = await emo.loadClassifier(bytes, { batchSize: 8, worker: 2, threads: 1 });
    const single = await emo.loadClassifier(bytes, { worker: true });
    try {
      assert.equal(here.workers, 0);
      assert.equal(pooled.workers, 2);
      assert.equal(single.workers, 1);
      const strip = (rs) => rs.map((r) => ('error' in r ? r.error.code : r));
      const expected = strip(await here.classifyBatch(inputs));
      assert.deepEqual(strip(await pooled.classifyBatch(inputs)), expected);
      // Several calls at once share the pool; each gets its own answers.
      const together = await Promise.all([pooled.classifyBatch(inputs.slice(0, 5)), pooled.classifyBatch(inputs.slice(5)), single.classify(inputs[0])]);
      assert.deepEqual([...strip(together[0]), ...strip(together[1])], expected);
      assert.deepEqual(together[2], expected[0]);
      const long = wavOf(voice(9, 16000, 3), 16000);
      assert.deepEqual(await single.timeline(long), await here.timeline(long));
    } finally {
      await Promise.all([here.close(), pooled.close(), single.close()]);
    }
    await assert.rejects(pooled.classify(inputs[0]), /closed/);
    await assert.rejects(emo.loadClassifier(bytes, { worker: -1 }), RangeError);
    await assert.rejects(emo.loadClassifier(bytes, { worker: 'yes' }), TypeError);
  });

  it('close() releases the session; later calls fail clearly', async () => {
    const c = await emo.loadClassifier(bytes);
    await c.close();
    await assert.rejects(c.classify(wavOf(voice(3.6, 48000, 1), 48000)), /closed/);
    await c.close(); // twice is fine
  });
});
