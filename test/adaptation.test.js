'use strict';
// Speaker adaptation: the statistics against a float64 re-computation from melSpectrogram, silence
// and clipping left out, saving and loading, the fallback below the minimum speech, the adapted
// input against onnxruntime run by hand, and `emo classify --adapt` per folder and per file.
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const tf = require('@tensorflow/tfjs-core');
const ort = require('onnxruntime-node');
require('../dist/nn'); // registers the emo-native tfjs backend
const emo = require('../dist');
const { makeWav } = require('./helpers/wav');
const { sharpenedOnnxModel, voice } = require('./helpers/model');

const cli = path.join(__dirname, '..', 'dist', 'cli', 'main.js');
const SR = 48000;
const HOP = 256;

/** A 48-kHz float WAV: `lead` s of digital silence, `seconds` of voice at `gain`, then quiet noise. */
function clip(seed, { gain = 1, lead = 0.9, seconds = 2.4, tail = 0.6 } = {}) {
  const v = voice(seconds, SR, seed);
  const x = new Float32Array(Math.round((lead + seconds + tail) * SR));
  for (let i = 0; i < v.length; i++) x[Math.round(lead * SR) + i] = gain * v[i];
  let s = seed * 7919;
  for (let i = Math.round((lead + seconds) * SR); i < x.length; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    x[i] = 1e-4 * (s / 2147483648 - 0.5); // about 70 dB below the voice
  }
  return x;
}
const wavOf = (x) => makeWav([x], { sampleRate: SR, format: 'float', bits: 32 });

/**
 * The reference: each clip formatted (0.5 s skipped, 3 s kept) and turned into its 563-frame dB
 * mel spectrogram; frames 0-511 (what the 7 chunks of 128 frames every 64 cover); a frame is
 * speech when its band-average power is within 30 dB of the clip's loudest frame and 20 dB above
 * the -100 dB floor, and not within half an FFT (512 samples) of a pair of clipped samples; mean
 * and population sd per band over all clips' speech frames, in float64.
 */
function referenceStatistics(clips) {
  const frames = [];
  for (const x of clips) {
    const formatted = emo.prepareClip(x);
    const spec = emo.melSpectrogram(formatted);
    const [mels] = spec.shape;
    const total = spec.shape[1];
    const energy = [];
    for (let f = 0; f < 512; f++) {
      let p = 0;
      for (let m = 0; m < mels; m++) p += 10 ** (spec.data[m * total + f] / 10);
      energy.push(10 * Math.log10(p / mels));
    }
    const loudest = Math.max(...energy);
    // Clipped pairs, in the formatted clip's time (the offset is 0.5 s at 48 kHz: same samples).
    const clipped = [];
    for (let i = 1; i < formatted.length; i++) {
      const a = formatted[i - 1];
      const b = formatted[i];
      if ((a >= 0.99 && b >= 0.99) || (a <= -0.99 && b <= -0.99)) clipped.push(i);
    }
    for (let f = 0; f < 512; f++) {
      if (energy[f] < loudest - 30 || energy[f] < -80) continue;
      if (clipped.some((i) => Math.abs(f * HOP - i) <= 512)) continue;
      frames.push(Array.from({ length: mels }, (_, m) => spec.data[m * total + f]));
    }
  }
  const mels = frames[0].length;
  const mean = Array.from({ length: mels }, (_, m) => frames.reduce((s, fr) => s + fr[m], 0) / frames.length);
  const std = mean.map((mu, m) => Math.sqrt(frames.reduce((s, fr) => s + (fr[m] - mu) ** 2, 0) / frames.length));
  return { frames: frames.length, mean, std };
}

const maxDiff = (a, b) => Math.max(...a.map((v, i) => Math.abs(v - b[i])));

describe('speaker adaptation: statistics', function () {
  this.timeout(120_000);

  it('are the mean and deviation of the speech frames, silence and the noise tail left out (float64 reference)', async () => {
    const clips = [clip(1), clip(2, { gain: 0.5 }), clip(3, { lead: 0.6, seconds: 2.9, tail: 0.1 })];
    const adapter = emo.createAdapter();
    const update = await adapter.update(clips.map(wavOf));
    assert.deepEqual(update.failed, []);
    const ref = referenceStatistics(clips);
    const stats = adapter.statistics();
    assert.equal(stats.frames, ref.frames);
    // Leading silence (0.4 s after the offset) and the tail are out: fewer frames than 3 x 512.
    assert.ok(ref.frames < 3 * 512 - 100, `${ref.frames} speech frames`);
    assert.ok(maxDiff(stats.mean, ref.mean) < 1e-3, `mean off by ${maxDiff(stats.mean, ref.mean)} dB`);
    assert.ok(maxDiff(stats.std, ref.std) < 1e-3, `sd off by ${maxDiff(stats.std, ref.std)} dB`);
    assert.ok(Math.abs(update.speechSeconds - (ref.frames * HOP) / SR) < 1e-9);
    assert.equal(update.added, update.speechSeconds);
    // Had silence counted, the means would be far lower: the rule matters.
    const all = emo.melSpectrogram(emo.prepareClip(clips[0]));
    assert.ok(all.data.some((v) => v <= -99), 'the first clip has digital silence after its offset');
  });

  it('leave out the frames next to clipped samples', async () => {
    const x = clip(4, { lead: 0.5, seconds: 3.2, tail: 0 });
    // A burst clipped at full scale in the middle of the formatted clip, 1.5 s in.
    for (let i = 0; i < 2400; i++) x[Math.round(2.0 * SR) + i] = (i % 200 < 100 ? 1 : -1) * 1.0;
    const adapter = emo.createAdapter();
    await adapter.update(wavOf(x));
    const ref = referenceStatistics([x]);
    assert.equal(adapter.statistics().frames, ref.frames);
    assert.ok(maxDiff(adapter.statistics().mean, ref.mean) < 1e-3);
    // The burst is the loudest part: without the rule its frames would count.
    const unclipped = emo.createAdapter();
    unclipped.addFeatures(emo.melChunks(wavOf(x)));
    assert.ok(unclipped.statistics().frames >= ref.frames + 12, `${unclipped.statistics().frames} frames without the rule, ${ref.frames} with`);
  });

  it('save, load and merge: JSON round trip, Chan-merged halves equal one pass', async () => {
    const wavs = [1, 2, 3, 4].map((s) => wavOf(clip(s, { gain: 0.3 * s })));
    const whole = emo.createAdapter();
    await whole.update(wavs);
    const json = JSON.parse(JSON.stringify(whole));
    assert.equal(json.format, 'emo-adaptation');
    assert.equal(json.version, 1);
    assert.equal(json.bands.nMels, 128);
    const loaded = emo.loadAdapter(json);
    assert.equal(loaded.statistics().frames, whole.statistics().frames);
    assert.deepEqual(loaded.statistics().mean, whole.statistics().mean);
    assert.ok(maxDiff(loaded.statistics().std, whole.statistics().std) < 1e-12, 'sd through sd^2 and back');
    assert.equal(loaded.speechSeconds, whole.speechSeconds);
    const half = emo.createAdapter();
    await half.update(wavs.slice(0, 2));
    const resumed = emo.loadAdapter(JSON.parse(JSON.stringify(half)));
    await resumed.update(wavs.slice(2));
    assert.equal(resumed.statistics().frames, whole.statistics().frames);
    assert.ok(maxDiff(resumed.statistics().mean, whole.statistics().mean) < 1e-9);
    assert.ok(maxDiff(resumed.statistics().std, whole.statistics().std) < 1e-9);
    // Statistics learnt apart (two workers' halves), merged.
    const other = emo.createAdapter();
    await other.update(wavs.slice(2));
    const merged = emo.mergeAdaptationStatistics([JSON.parse(JSON.stringify(half)), other.toJSON()]);
    assert.equal(merged.frames, whole.statistics().frames);
    assert.ok(maxDiff(merged.mean, whole.statistics().mean) < 1e-9);
    assert.ok(maxDiff(merged.std, whole.statistics().std) < 1e-9);
    assert.throws(() => emo.mergeAdaptationStatistics([]), (e) => e.code === 'ERR_ADAPTATION_INVALID');
    resumed.reset();
    assert.equal(resumed.speechSeconds, 0);
    assert.equal(resumed.ready, false);
  });

  it('refuses what is not adapter statistics, or statistics of another pipeline', () => {
    assert.throws(() => emo.loadAdapter({ hello: 1 }), (e) => e.code === 'ERR_ADAPTATION_INVALID');
    assert.throws(() => emo.loadAdapter(null), (e) => e.code === 'ERR_ADAPTATION_INVALID');
    const good = JSON.parse(JSON.stringify(emo.createAdapter()));
    assert.throws(() => emo.loadAdapter({ ...good, mean: [1, 2] }), (e) => e.code === 'ERR_ADAPTATION_INVALID');
    assert.throws(() => emo.loadAdapter({ ...good, bands: { ...good.bands, nMels: 64 } }), (e) => e.code === 'ERR_MODEL_FEATURES_MISMATCH' && /nMels/.test(e.message));
    assert.throws(() => emo.createAdapter({ minSpeechSeconds: -1 }), RangeError);
    assert.throws(() => emo.createAdapter({ nonsense: 1 }), TypeError);
  });

  it('reports inputs it cannot read and learns from the others', async () => {
    const adapter = emo.createAdapter();
    const update = await adapter.update([wavOf(clip(5)), Buffer.from('not a wav'), wavOf(clip(6))]);
    assert.deepEqual(update.failed.map((f) => f.index), [1]);
    assert.match(update.failed[0].error.code, /^ERR_WAV/);
    assert.ok(update.speechSeconds > 3);
  });
});

describe('speaker adaptation: classifying', function () {
  this.timeout(300_000);
  let tmp;
  let adaptive;
  let plain;
  // The reference statistics an adaptive model maps speakers onto.
  const reference = { mean: Array.from({ length: 128 }, (_, m) => -40 - m / 8), std: Array.from({ length: 128 }, (_, m) => 8 + (m % 5)) };

  before(async () => {
    assert.ok(await tf.setBackend('emo-native'));
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'emo-adapt-'));
    adaptive = path.join(tmp, 'adaptive.onnx');
    fs.writeFileSync(adaptive, await sharpenedOnnxModel(5, { ...reference, adapt: 'speaker' }));
    plain = path.join(tmp, 'plain.onnx');
    fs.writeFileSync(plain, await sharpenedOnnxModel(5));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('moves each clip onto the reference before the network (checked with onnxruntime by hand)', async () => {
    const clf = await emo.loadClassifier(adaptive);
    assert.equal(clf.adapts, true);
    assert.deepEqual(clf.metadata.adaptation, { mode: 'speaker', reference });
    const wavs = [1, 2, 3, 4, 5, 6].map((s) => wavOf(clip(s, { gain: 0.2 })));
    const adapter = clf.createAdapter();
    await adapter.update(wavs);
    assert.ok(adapter.ready, `${adapter.speechSeconds} s of speech`);
    const results = await clf.classifyBatch(wavs, { adapter });
    // By hand: features, (x - speaker mean) / max(speaker sd, 1) * reference sd + reference mean, in float64.
    const { mean, std } = adapter.statistics();
    const session = await ort.InferenceSession.create(fs.readFileSync(adaptive));
    for (const [i, wav] of wavs.entries()) {
      const f = emo.melChunks(wav);
      const x = new Float32Array(f.data.length);
      for (let c = 0; c < 7; c++)
        for (let m = 0; m < 128; m++)
          for (let t = 0; t < 128; t++) {
            const k = (c * 128 + m) * 128 + t;
            x[k] = reference.mean[m] + (reference.std[m] * (f.data[k] - mean[m])) / Math.max(std[m], 1);
          }
      const out = await session.run({ mel: new ort.Tensor('float32', x, [1, 7, 128, 128]) });
      const expected = Array.from(out.probabilities.data);
      const got = clf.labels.map((l) => results[i].probabilities[l]);
      assert.ok(maxDiff(got, expected) < 1e-4, `clip ${i}: ${maxDiff(got, expected)}`);
      assert.deepEqual(results[i].adaptation, { applied: true, speechSeconds: adapter.speechSeconds });
    }
    // And adaptation changes the answer for this quiet speaker.
    const unadapted = await clf.classifyBatch(wavs);
    assert.ok(unadapted.some((r, i) => maxDiff(clf.labels.map((l) => r.probabilities[l]), clf.labels.map((l) => results[i].probabilities[l])) > 1e-3));
    assert.equal(unadapted[0].adaptation, undefined);
    await session.release();
    await clf.close();
  });

  it('falls back to no adaptation below the minimum speech, and says so', async () => {
    const clf = await emo.loadClassifier(adaptive);
    const wav = wavOf(clip(7));
    const adapter = clf.createAdapter({ minSpeechSeconds: 5 });
    await adapter.update(wav);
    assert.ok(adapter.speechSeconds > 1 && adapter.speechSeconds < 5);
    assert.equal(adapter.ready, false);
    const r = await clf.classify(wav, { adapter });
    assert.deepEqual(r.adaptation, { applied: false, speechSeconds: adapter.speechSeconds });
    assert.deepEqual(r.probabilities, (await clf.classify(wav)).probabilities);
    // The timeline of a long recording carries it in every window.
    const long = wavOf(clip(8, { lead: 0, seconds: 10, tail: 0 }));
    const t = await clf.timeline(long, { adapter });
    assert.ok(t.segments.every((s) => s.adaptation.applied === false));
    await clf.close();
  });

  it('refuses an adapter for a model trained without adaptation, and a wrong option', async () => {
    const clf = await emo.loadClassifier(plain);
    assert.equal(clf.adapts, false);
    assert.equal(clf.metadata.adaptation, null);
    assert.throws(() => clf.createAdapter(), (e) => e.code === 'ERR_ADAPTATION_UNSUPPORTED');
    await assert.rejects(clf.classify(wavOf(clip(1)), { adapter: emo.createAdapter() }), (e) => e.code === 'ERR_ADAPTATION_UNSUPPORTED');
    await assert.rejects(clf.classify(wavOf(clip(1)), { adapter: { mean: [] } }), TypeError);
    await clf.close();
  });

  describe('emo classify --adapt', () => {
    let corpus;
    const run = (args, model = adaptive) => spawnSync(process.execPath, [cli, 'classify', ...args, '--model', model, '--format', 'jsonl'], { encoding: 'utf8' });
    const rowsOf = (r) => r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    before(() => {
      // Two speakers, one loud and one quiet, each in a folder; and a long recording alone.
      corpus = path.join(tmp, 'corpus');
      for (const [name, gain, seeds] of [['loud', 1, [1, 2, 3, 4, 5]], ['quiet', 0.05, [6, 7, 8, 9, 10]]]) {
        fs.mkdirSync(path.join(corpus, name), { recursive: true });
        for (const s of seeds) fs.writeFileSync(path.join(corpus, name, `clip${s}.wav`), wavOf(clip(s, { gain })));
      }
      fs.mkdirSync(path.join(corpus, 'call'));
      fs.writeFileSync(path.join(corpus, 'call', 'call.wav'), wavOf(clip(11, { lead: 0.5, seconds: 14, tail: 0.5 })));
    });

    it('adapts each folder to its own files, never mixing two folders (the default for an adaptive model)', () => {
      const both = run([corpus]);
      assert.equal(both.status, 0, both.stderr);
      const rows = rowsOf(both);
      assert.equal(rows.length, 11);
      for (const folder of ['loud', 'quiet']) {
        const alone = run([path.join(corpus, folder), '--adapt', 'folder']);
        assert.equal(alone.status, 0, alone.stderr);
        const mine = rows.filter((r) => path.basename(path.dirname(r.file)) === folder);
        assert.deepEqual(mine.map((r) => r.probabilities), rowsOf(alone).map((r) => r.probabilities), `${folder}: the same statistics alone or beside the other folder`);
        assert.ok(mine.every((r) => r.adaptation.applied && r.adaptation.speechSeconds > 10));
      }
      // The two folders' statistics differ (one speaker 26 dB quieter), so mixing them would change the rows.
      const loud = rows.filter((r) => r.file.includes('loud'));
      const quiet = rows.filter((r) => r.file.includes('quiet'));
      assert.notEqual(loud[0].adaptation.speechSeconds, undefined);
      const mixed = path.join(tmp, 'mixed');
      fs.mkdirSync(mixed);
      for (const r of [...loud, ...quiet]) fs.copyFileSync(r.file, path.join(mixed, `${path.basename(path.dirname(r.file))}-${path.basename(r.file)}`));
      const together = rowsOf(run([mixed, '--adapt', 'folder']));
      assert.notDeepEqual(together.find((r) => r.file.endsWith('loud-clip1.wav')).probabilities, loud[0].probabilities);
    });

    it('adapts a long recording to itself with --adapt file; short files fall back, visibly', () => {
      const r = run([path.join(corpus, 'call'), path.join(corpus, 'loud', 'clip1.wav'), '--adapt', 'file']);
      assert.equal(r.status, 0, r.stderr);
      const [call, short] = rowsOf(r);
      assert.ok(call.adaptation.applied && call.adaptation.speechSeconds > 10, JSON.stringify(call.adaptation));
      assert.ok(call.segments.length > 3);
      assert.equal(short.adaptation.applied, false);
      const table = spawnSync(process.execPath, [cli, 'classify', path.join(corpus, 'loud', 'clip1.wav'), '--model', adaptive, '--adapt', 'file', '--format', 'table'], { encoding: 'utf8' });
      assert.match(table.stdout, /not adapted: [\d.]+ s of speech/);
      const few = run([path.join(corpus, 'loud'), '--adapt', 'folder', '--min-speech', '60']);
      assert.equal(few.status, 0);
      assert.match(few.stderr, /loud: [\d.]+ s of speech, below the 60 s adaptation needs/);
      assert.ok(rowsOf(few).every((row) => row.adaptation.applied === false));
    });

    it('--adapt on a model trained without it is a clear error; --adapt none is today\'s behaviour', () => {
      const r = run([path.join(corpus, 'loud'), '--adapt', 'folder'], plain);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /ERR_ADAPTATION_UNSUPPORTED|does not adapt to a speaker/);
      const none = run([path.join(corpus, 'loud'), '--adapt', 'none']);
      assert.equal(none.status, 0);
      assert.ok(rowsOf(none).every((row) => row.adaptation === undefined));
      const bad = run([path.join(corpus, 'loud'), '--adapt', 'speaker']);
      assert.equal(bad.status, 2);
    });
  });
});

describe('speaker adaptation: training and evaluating', function () {
  this.timeout(600_000);
  let tmp;
  let corpus;
  const emoCli = (args) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: tmp });
  // emo evaluate on the test split with --predictions: its output and the predictions written.
  const predictions = (model, name, extra = []) => {
    const r = emoCli(['evaluate', model, corpus, '--split', 'test', '--predictions', name, ...extra]);
    assert.equal(r.status, 0, r.stderr);
    return { stdout: r.stdout, rows: fs.readFileSync(path.join(tmp, name), 'utf8').trim().split('\n').map((l) => JSON.parse(l)) };
  };
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'emo-adapt-train-'));
    corpus = path.join(tmp, 'corpus');
    // Four actors at very different levels, 8 emotions each, each emotion its own tone.
    let seed = 1;
    for (const actor of [1, 2, 3, 4])
      for (let e = 1; e <= 8; e++) {
        const file = path.join(corpus, `Actor_0${actor}`, `03-01-0${e}-01-01-01-0${actor}.wav`);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        const x = clip(seed++, { gain: [1, 0.1, 0.4, 0.03][actor - 1], lead: 0.7, seconds: 2.6, tail: 0.3 });
        for (let i = 0; i < x.length; i++) if (x[i] !== 0) x[i] += 0.02 * [1, 0.1, 0.4, 0.03][actor - 1] * Math.sin((2 * Math.PI * 300 * e * i) / SR);
        fs.writeFileSync(file, wavOf(x));
      }
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('trains on speaker-normalised clips; the export, tfjs and onnxruntime score the test actors alike', () => {
    const out = path.join(tmp, 'run');
    const train = emoCli(['train', corpus, '--out', out, '--epochs', '2', '--batch', '8', '--split', 'actors:4/3', '--adapt', 'speaker', '--no-warp', '--no-masking', '--mixup', '0']);
    assert.equal(train.status, 0, train.stderr);
    const norm = JSON.parse(fs.readFileSync(path.join(out, 'normalization.json'), 'utf8'));
    assert.equal(norm.adapt, 'speaker');
    assert.equal(norm.centre, undefined);
    const run = JSON.parse(fs.readFileSync(path.join(out, 'run.json'), 'utf8'));
    assert.equal(run.options.adapt, 'speaker');
    const exported = emoCli(['export', out, '--out', path.join(tmp, 'm.onnx')]);
    assert.equal(exported.status, 0, exported.stderr);
    // emo evaluate on the run folder (tfjs, the trainer's own normalisation) and on the .onnx
    // (onnxruntime, an adapter per actor): the same predictions, and the trainer's test score.
    const tfjs = predictions(out, 'tfjs.jsonl');
    const onnx = predictions(path.join(tmp, 'm.onnx'), 'onnx.jsonl');
    assert.match(onnx.stdout, /adaptation \(folder\): 8 clips adapted/);
    assert.equal(onnx.rows.length, 8);
    for (const [i, row] of onnx.rows.entries()) assert.ok(maxDiff(row.probabilities, tfjs.rows[i].probabilities) < 1e-4, row.file);
    const metrics = JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8')).metrics.test;
    const predicted = onnx.rows.map((r) => r.predicted);
    const truth = onnx.rows.map((r) => r.truth);
    assert.equal(predicted.filter((p, i) => p === truth[i]).length, Math.round(metrics.accuracy * 8));
    // Without adaptation the same model sees other numbers.
    const none = predictions(path.join(tmp, 'm.onnx'), 'none.jsonl', ['--adapt', 'none']);
    assert.ok(none.rows.some((row, i) => maxDiff(row.probabilities, onnx.rows[i].probabilities) > 1e-3));
    // Groups of 2 clips at no minimum: each group its own statistics.
    const groups = predictions(path.join(tmp, 'm.onnx'), 'groups.jsonl', ['--adapt-group', '2', '--min-speech', '0']);
    assert.match(groups.stdout, /adaptation \(folder, groups of 2\): 8 clips adapted/);
    assert.ok(groups.rows.some((row, i) => maxDiff(row.probabilities, onnx.rows[i].probabilities) > 1e-4));
    // Two actors in one group: one mixed statistics for both (here the test split has one actor: 4 alone).
    const all = predictions(path.join(tmp, 'm.onnx'), 'mixed.jsonl', ['--split', 'all', '--adapt-mix', '2']);
    assert.match(all.stdout, /adaptation \(folder, 2 actors mixed\): 32 clips adapted/);
    const perActor = predictions(path.join(tmp, 'm.onnx'), 'per-actor.jsonl', ['--split', 'all']);
    const actor4 = (rows) => rows.filter((r) => /-04\.wav$/.test(r.file));
    assert.ok(actor4(all.rows).some((row, i) => maxDiff(row.probabilities, actor4(perActor.rows)[i].probabilities) > 1e-4), 'actor 4 mixed with actor 3 is adapted otherwise');
  });

  it('speaker-statistics: a statistics network trained on its statistics standardised per actor; tfjs, onnxruntime and the trainer score the test actor alike', () => {
    const out = path.join(tmp, 'statistics');
    const train = emoCli(['train', corpus, '--out', out, '--network', 'statistics', '--adapt', 'speaker-statistics', '--epochs', '3', '--batch', '64', '--split', 'actors:4/3', '--variants', 'original,noise', '--no-warp', '--no-masking', '--mixup', '0']);
    assert.equal(train.status, 0, train.stderr);
    const norm = JSON.parse(fs.readFileSync(path.join(out, 'normalization.json'), 'utf8'));
    assert.equal(norm.adapt, 'speaker-statistics');
    const exported = emoCli(['export', out, '--out', path.join(tmp, 's.onnx')]);
    assert.equal(exported.status, 0, exported.stderr);
    const tfjs = predictions(out, 's-tfjs.jsonl');
    const onnx = predictions(path.join(tmp, 's.onnx'), 's-onnx.jsonl');
    assert.match(onnx.stdout, /adaptation \(folder\): 8 clips adapted/);
    for (const [i, row] of onnx.rows.entries()) assert.ok(maxDiff(row.probabilities, tfjs.rows[i].probabilities) < 1e-4, row.file);
    // The trainer standardised the test actor with all of its clips, as --adapt folder does.
    const metrics = JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8')).metrics.test;
    const hits = onnx.rows.filter((r) => r.predicted === r.truth).length;
    assert.equal(hits, Math.round(metrics.accuracy * 8));
    const none = predictions(path.join(tmp, 's.onnx'), 's-none.jsonl', ['--adapt', 'none']);
    assert.ok(none.rows.some((row, i) => maxDiff(row.probabilities, onnx.rows[i].probabilities) > 1e-3), 'the actor\'s standardisation changes the answer');
    // Only the statistics network has statistics to standardise.
    const reference = emoCli(['train', corpus, '--out', path.join(tmp, 'z'), '--adapt', 'speaker-statistics', '--epochs', '1']);
    assert.notEqual(reference.status, 0);
    assert.match(reference.stderr, /'speaker-statistics' standardises the statistics network's statistics/);
  });

  it('refuses to centre and adapt at once, and an unknown adaptation', () => {
    const both = emoCli(['train', corpus, '--out', path.join(tmp, 'x'), '--adapt', 'speaker', '--centre', 'utterance', '--epochs', '1']);
    assert.notEqual(both.status, 0);
    assert.match(both.stderr, /centre/);
    const unknown = emoCli(['train', corpus, '--out', path.join(tmp, 'y'), '--adapt', 'folder']);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /--adapt must be none or speaker/);
  });
});
