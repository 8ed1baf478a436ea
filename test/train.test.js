'use strict';
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { makeWav, testSignal } = require('./helpers/wav');

const root = path.join(__dirname, '..');
const cli = path.join(root, 'dist', 'cli', 'main.js');

// A tiny RAVDESS-layout corpus: 3 actors x 8 emotions x 2 repetitions; each emotion a
// different level and tone so a few steps can learn something.
function makeCorpus(dir) {
  let seed = 1;
  for (const actor of [1, 2, 3])
    for (let e = 1; e <= 8; e++)
      for (let r = 1; r <= 2; r++) {
        const file = path.join(dir, `Actor_0${actor}`, `03-01-0${e}-01-01-0${r}-0${actor}.wav`);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        const sr = 16000;
        const x = testSignal(Math.round(sr * 3.6), sr, seed++);
        for (let i = 0; i < x.length; i++) x[i] = 0.08 * e * x[i] + 0.2 * Math.sin((2 * Math.PI * 150 * e * i) / sr);
        fs.writeFileSync(file, makeWav([x], { sampleRate: sr }));
      }
  // One corrupt clip: reported and left out.
  fs.writeFileSync(path.join(dir, 'Actor_01', '03-01-05-02-02-01-01.wav'), 'RIFF0000WAVEjunk');
}

describe('emo train / emo evaluate', function () {
  this.timeout(300000);
  let tmp;
  let corpus;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'emo-train-'));
    corpus = path.join(tmp, 'corpus');
    makeCorpus(corpus);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  // In the temporary folder: emo evaluate writes its pictures into the current folder by default.
  const run = (args) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: tmp });
  const split = 'actors:3/2/1';

  it('learns: 20 full-batch steps classify the training clips far above chance, which an untrained network does not', () => {
    // Plain training (no augmentation or regularisers), the whole training actor as one batch: the
    // eight emotions differ in level and tone, so the network can learn them. An untrained network
    // gives every clip one label (1 in 8); so does the first step's, which is the bound's check.
    const out = path.join(tmp, 'learns');
    const r = run(['train', corpus, '--out', out, '--epochs', '20', '--batch', '16', '--split', split, '--lr', '0.003', '--variants', 'original', '--no-masking', '--no-warp', '--mixup', '0', '--lr-patience', '100', '--patience', '100']);
    assert.equal(r.status, 0, r.stderr);
    const metrics = JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8'));
    const bound = 0.75;
    assert.ok(metrics.history[0].trainAccuracy < bound, `the first epoch already at ${metrics.history[0].trainAccuracy}`);
    assert.ok(metrics.metrics.train.accuracy >= bound, `training clips ${metrics.metrics.train.accuracy}`);
    // The clips of the held-out actors are made the same way: they are learnt too.
    assert.ok(metrics.metrics.test.accuracy >= 0.5, `test clips ${metrics.metrics.test.accuracy}`);
  });

  it('--network statistics: learns the corpus too, records the network, exports with the same contract, and evaluate gives the same metrics from the .onnx', () => {
    const out = path.join(tmp, 'statistics');
    const r = run(['train', corpus, '--out', out, '--network', 'statistics', '--epochs', '30', '--batch', '16', '--split', split, '--lr', '0.01', '--variants', 'original', '--no-masking', '--no-warp', '--mixup', '0', '--lr-patience', '100', '--patience', '100']);
    assert.equal(r.status, 0, r.stderr);
    const metrics = JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8'));
    assert.ok(metrics.metrics.train.accuracy >= 0.75, `training clips ${metrics.metrics.train.accuracy}`);
    assert.ok(metrics.metrics.test.accuracy >= 0.5, `test clips ${metrics.metrics.test.accuracy}`);
    assert.equal(JSON.parse(fs.readFileSync(path.join(out, 'run.json'), 'utf8')).options.network, 'statistics');
    const x = run(['export', out]);
    assert.equal(x.status, 0, x.stderr);
    const viaTfjs = run(['evaluate', out, corpus, '--split', 'all']);
    const viaOnnx = run(['evaluate', path.join(out, 'model.onnx'), corpus, '--split', 'all']);
    assert.equal(viaTfjs.status, 1, viaTfjs.stderr); // the corrupt clip
    const metricLines = (y) => y.stdout.split('\n').filter((l) => !/^(predictions|confusion matrix):/.test(l));
    assert.match(viaOnnx.stdout, /all: 48 clips/);
    assert.deepEqual(metricLines(viaOnnx), metricLines(viaTfjs));
    // A resumed run must be the same network.
    const other = run(['train', corpus, '--out', out, '--resume', '--epochs', '31', '--batch', '16', '--split', split, '--lr', '0.01', '--variants', 'original', '--no-masking', '--no-warp', '--mixup', '0', '--lr-patience', '100', '--patience', '100']);
    assert.notEqual(other.status, 0);
    assert.match(other.stderr, /network/);
    const bad = run(['train', corpus, '--out', path.join(tmp, 'nothing'), '--network', 'resnet']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--network must be reference or statistics/);
  });

  it('trains a few epochs: the training loss falls and every artefact is written and readable', () => {
    const out = path.join(tmp, 'run');
    const r = run(['train', corpus, '--out', out, '--epochs', '4', '--batch', '8', '--split', split, '--lr', '0.003', '--lr-patience', '1']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /epoch {3}1 {2}loss/);
    assert.match(r.stdout, /test: 16 clips {2}accuracy/);
    for (const f of ['best/model.json', 'best/weights.bin', 'last/model.json', 'metrics.json', 'run.json', 'normalization.json', 'confusion.png', 'curves.png', 'checkpoint/state.json']) {
      assert.ok(fs.existsSync(path.join(out, f)), f);
    }
    const metrics = JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8'));
    const losses = metrics.history.map((h) => h.trainLoss);
    assert.ok(losses[losses.length - 1] < losses[0], `training loss falls: ${losses.join(', ')}`);
    // The rate starts at --lr and only ever stays or halves (the rule itself: test/masking.test.js).
    assert.equal(metrics.history[0].learningRate, 0.003);
    metrics.history.slice(1).forEach((h, i) => assert.ok([1, 0.5].includes(h.learningRate / metrics.history[i].learningRate), `epoch ${h.epoch}`));
    // ...and Adam trained at it: the checkpoint's optimizer holds the last epoch's rate.
    const saved = JSON.parse(fs.readFileSync(path.join(out, 'checkpoint', 'model.json'), 'utf8')).trainingConfig.optimizer_config;
    assert.deepEqual([saved.class_name, saved.config.learningRate], ['EmoAdam', metrics.history.at(-1).learningRate]);
    assert.equal(metrics.failedFiles, 1);
    assert.equal(metrics.failed[0].code, 'ERR_WAV_TRUNCATED');
    for (const split of ['train', 'val', 'test']) {
      const { confusion, accuracy } = metrics.metrics[split];
      assert.equal(confusion.length, 8);
      // Accuracy is the confusion matrix's diagonal over its total (16 clips, or 16 good of actor 1's 17 files).
      const total = confusion.flat().reduce((a, b) => a + b, 0);
      assert.equal(total, 16, split);
      assert.ok(Math.abs(accuracy - confusion.reduce((a, row, i) => a + row[i], 0) / total) < 1e-12, split);
    }
    // The reference pipeline's lowest mel band has an empty filter (centre 19.5 Hz, FFT bins 46.9 Hz
    // apart), so it is always the -100 dB floor: its spread is floored at 1 dB instead of dividing by ~0.
    const norm = JSON.parse(fs.readFileSync(path.join(out, 'normalization.json'), 'utf8'));
    assert.equal(norm.mean.length, 128);
    assert.ok(Math.abs(norm.mean[0] + 100) < 1e-9, `band 0 mean ${norm.mean[0]}`);
    assert.equal(norm.std[0], 1);
    assert.ok(norm.std.slice(1).every((s) => s > 1), 'the other bands vary');
    const runInfo = JSON.parse(fs.readFileSync(path.join(out, 'run.json'), 'utf8'));
    assert.deepEqual(runInfo.split.test, [3]);
    assert.equal(runInfo.options.seed, 1);
    for (const png of ['confusion.png', 'curves.png']) assert.equal(fs.readFileSync(path.join(out, png)).subarray(1, 4).toString(), 'PNG');

    const e = run(['evaluate', out, corpus, '--split', 'test']);
    assert.equal(e.status, 0, e.stderr);
    const accuracy = Number(/accuracy\s+([\d.]+)%/.exec(e.stdout)[1]) / 100;
    assert.ok(Math.abs(accuracy - metrics.metrics.test.accuracy) < 1e-3, `evaluate ${accuracy} vs train's ${metrics.metrics.test.accuracy}`);
    assert.ok(fs.existsSync(path.join(tmp, 'confusion-test.png')), 'into the current folder');
    assert.ok(!fs.existsSync(path.join(out, 'confusion-test.png')), 'never beside the model');

    // Recording conditions: each scored, then a table; clean is the plain evaluation.
    const c = run(['evaluate', out, corpus, '--condition', 'clean,gain-20,pink-10', '--out', path.join(tmp, 'conditions')]);
    assert.equal(c.status, 0, c.stderr);
    const table = /conditions \(test split\)[^\n]*\n((?:  .*\n?)+)/.exec(c.stdout);
    assert.ok(table, c.stdout);
    const rows = table[1].trim().split('\n').map((l) => l.trim().split(/\s+/));
    assert.deepEqual(rows.map((r) => r[0]), ['clean', 'gain-20', 'pink-10']);
    assert.equal(Number(rows[0][1].replace('%', '')) / 100, Number(accuracy.toFixed(3)), 'clean is the plain evaluation');
    assert.ok(fs.existsSync(path.join(tmp, 'conditions', 'confusion-test-pink-10.png')));
    assert.equal(run(['evaluate', out, corpus, '--condition', 'underwater']).status, 2);
    assert.equal(run(['evaluate', out, corpus, '--condition', 'all', '--predictions', path.join(tmp, 'p.jsonl')]).status, 2);
  });

  it('exports the briefly trained run to ONNX, parity-checked on its validation clips; evaluate gives the same metrics from the .onnx', async () => {
    const out = path.join(tmp, 'run'); // trained by the test above
    const x = run(['export', out]);
    assert.equal(x.status, 0, x.stderr);
    const file = path.join(out, 'model.onnx');
    assert.ok(fs.existsSync(file));
    const parity = /on (\d+) validation clips: largest difference ([\d.e+-]+) in probabilities, ([\d.e+-]+) in attention/.exec(x.stdout);
    assert.ok(parity, x.stdout);
    assert.equal(Number(parity[1]), 16); // actor 2: 8 emotions x 2 repetitions
    assert.ok(Number(parity[2]) <= 1e-4 && Number(parity[3]) <= 1e-4, x.stdout);
    const { onnx } = require('onnx-proto');
    const meta = Object.fromEntries(onnx.ModelProto.decode(fs.readFileSync(file)).metadataProps.map((p) => [p.key, p.value]));
    const training = JSON.parse(meta['emo.training']);
    const metrics = JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8'));
    assert.deepEqual(training.split.test, [3]);
    assert.deepEqual(training.splitOptions, { testActors: [3], valActors: [2], trainActors: [1] });
    assert.equal(training.bestEpoch, metrics.bestEpoch);
    assert.equal(training.scores.test.accuracy, metrics.metrics.test.accuracy);

    const viaTfjs = run(['evaluate', out, corpus, '--split', 'all', '--predictions', path.join(tmp, 'tfjs.jsonl')]);
    const viaOnnx = run(['evaluate', file, corpus, '--split', 'all', '--predictions', path.join(tmp, 'onnx.jsonl')]);
    assert.equal(viaOnnx.status, 1, viaOnnx.stderr); // the corrupt clip
    assert.equal(viaTfjs.status, 1, viaTfjs.stderr);
    const metricLines = (r) => r.stdout.split('\n').filter((l) => !/^(predictions|confusion matrix):/.test(l));
    assert.deepEqual(metricLines(viaOnnx), metricLines(viaTfjs));
    const rows = (f) => fs.readFileSync(path.join(tmp, f), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const [a, b] = [rows('tfjs.jsonl'), rows('onnx.jsonl')];
    assert.equal(a.length, 48); // every readable clip
    a.forEach((row, i) => {
      assert.deepEqual(Object.keys(row), ['file', 'truth', 'predicted', 'probabilities']);
      assert.equal(b[i].file, row.file);
      assert.equal(b[i].predicted, row.predicted);
      assert.equal(row.probabilities.length, 8);
      row.probabilities.forEach((p, k) => assert.ok(Math.abs(p - b[i].probabilities[k]) <= 1e-4, `${row.file} class ${k}`));
    });
    assert.equal(a.find((r) => r.file.endsWith('03-01-03-01-01-01-01.wav')).truth, 'happy');

    // The default protocol labels a clip as emo classify labels it (one clip up to 6 s), clip for clip.
    const classified = spawnSync(process.execPath, [cli, 'classify', corpus, '--model', file, '--format', 'jsonl'], { encoding: 'utf8' });
    const byFile = Object.fromEntries(classified.stdout.trim().split('\n').map((l) => JSON.parse(l)).map((r) => [r.file, r]));
    for (const row of b) assert.equal(row.predicted, byFile[row.file].label, row.file);
    // --protocol windows: the mean of the probabilities of 3-s windows every 1.5 s from 0.5 s on,
    // recomputed here window by window (3.6-s clips: windows from 0.5 s and from 2.0 s, zero-padded).
    const windows = run(['evaluate', file, corpus, '--split', 'all', '--protocol', 'windows', '--predictions', path.join(tmp, 'windows.jsonl')]);
    assert.equal(windows.status, 1, windows.stderr); // the corrupt clip
    const w = rows('windows.jsonl');
    assert.equal(w.length, 48);
    const emo = require('../dist');
    const clf = await emo.loadClassifier(file);
    try {
      for (const row of w.slice(0, 12)) {
        const { channels: [x], sampleRate } = emo.decodeWav(fs.readFileSync(row.file));
        const first = await clf.classify(x, { sampleRate });
        const second = await clf.classify(x.subarray(Math.round(2 * sampleRate)), { sampleRate, offsetSeconds: 0 });
        row.probabilities.forEach((p, k) => {
          const label = clf.labels[k];
          assert.ok(Math.abs(p - (first.probabilities[label] + second.probabilities[label]) / 2) < 1e-5, `${row.file} ${label}`);
        });
      }
    } finally {
      await clf.close();
    }
    assert.equal(run(['evaluate', out, corpus, '--protocol', 'windows']).status, 2, 'windows needs an .onnx file');

    // Options are checked; an unknown opset is a usage error.
    assert.equal(run(['export', out, '--opset', '9']).status, 2);
    assert.equal(run(['export', path.join(tmp, 'nowhere')]).status, 1);
  });

  it('--centre utterance: each clip centred per band in training (band means of the centred clips are 0), in the exported graph, and the same metrics from tfjs and .onnx', () => {
    const out = path.join(tmp, 'centred');
    const cache = path.join(tmp, 'run', 'features.cache'); // the first test's: the same features
    const r = run(['train', corpus, '--out', out, '--epochs', '1', '--batch', '8', '--split', split, '--cache', cache, '--centre', 'utterance']);
    assert.equal(r.status, 0, r.stderr);
    const norm = JSON.parse(fs.readFileSync(path.join(out, 'normalization.json'), 'utf8'));
    assert.equal(norm.centre, 'utterance');
    // Every centred clip has band mean 0 over its chunks and frames, so the training set's does too
    // (up to float16 storage); the plain run's are not.
    assert.ok(norm.mean.every((m) => Math.abs(m) < 1e-3), `largest ${Math.max(...norm.mean.map(Math.abs))}`);
    const plain = JSON.parse(fs.readFileSync(path.join(tmp, 'run', 'normalization.json'), 'utf8'));
    assert.ok(plain.mean.filter((m) => Math.abs(m) > 1).length > 100);
    assert.equal(JSON.parse(fs.readFileSync(path.join(out, 'run.json'), 'utf8')).options.centre, 'utterance');
    assert.equal(run(['export', out]).status, 0);
    const metricLines = (x) => x.stdout.split('\n').filter((l) => !/^(predictions|confusion matrix):/.test(l));
    const viaTfjs = run(['evaluate', out, corpus]);
    const viaOnnx = run(['evaluate', path.join(out, 'model.onnx'), corpus]);
    assert.equal(viaTfjs.status, 0, viaTfjs.stderr);
    assert.deepEqual(metricLines(viaOnnx), metricLines(viaTfjs));
    // A run with another centring cannot be resumed as this one; an unknown centring is a usage error.
    const other = run(['train', corpus, '--out', out, '--epochs', '2', '--batch', '8', '--split', split, '--cache', cache, '--resume']);
    assert.equal(other.status, 2, other.stderr);
    assert.match(other.stderr, /centre: "utterance" → unset/);
    const bad = run(['train', corpus, '--out', out, '--centre', 'speaker']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--centre must be none or utterance/);
    // --variants: an unknown name is a usage error, a subset resumes only as the same subset.
    const unknown = run(['train', corpus, '--out', out, '--variants', 'original,echo']);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /--variants takes a comma-separated list of original, noise, tempo, preemphasis, chain, not 'original,echo'/);
    const subset = run(['train', corpus, '--out', out, '--epochs', '2', '--batch', '8', '--split', split, '--cache', cache, '--centre', 'utterance', '--variants', 'tempo,original', '--resume']);
    assert.equal(subset.status, 2, subset.stderr);
    assert.match(subset.stderr, /variants: unset → \["original","tempo"\]/);
    const schedule = run(['train', corpus, '--out', out, '--lr-schedule', 'step']);
    assert.equal(schedule.status, 2);
    assert.match(schedule.stderr, /--lr-schedule must be plateau or cosine, not 'step'/);
  });

  it('resumes from the last complete epoch with the same result as an uninterrupted run', () => {
    const a = path.join(tmp, 'a');
    const b = path.join(tmp, 'b');
    const cache = path.join(tmp, 'shared.cache');
    const common = ['--batch', '8', '--split', split, '--cache', cache, '--lr-patience', '1'];
    assert.equal(run(['train', corpus, '--out', a, '--epochs', '3', ...common]).status, 0);
    assert.equal(run(['train', corpus, '--out', b, '--epochs', '1', ...common]).status, 0);
    // A crash in the middle of swapping the checkpoint folder leaves the previous one as checkpoint.old.
    fs.renameSync(path.join(b, 'checkpoint'), path.join(b, 'checkpoint.old'));
    assert.equal(run(['train', corpus, '--out', b, '--epochs', '3', '--resume', ...common]).status, 0);
    assert.ok(!fs.existsSync(path.join(b, 'checkpoint.old')));
    const history = (dir) => JSON.parse(fs.readFileSync(path.join(dir, 'metrics.json'), 'utf8')).history.map((h) => [h.trainLoss, h.valLoss, h.learningRate]);
    assert.deepEqual(history(b), history(a));
    assert.ok(fs.readFileSync(path.join(a, 'last', 'weights.bin')).equals(fs.readFileSync(path.join(b, 'last', 'weights.bin'))), 'same weights');

    // --resume is honest: no checkpoint, other options or another corpus is an error (exit 2), not a fresh start.
    const none = run(['train', corpus, '--out', path.join(tmp, 'never-trained'), '--resume', ...common]);
    assert.equal(none.status, 2, none.stderr);
    assert.match(none.stderr, /cannot resume: there is no checkpoint/);
    const otherLr = run(['train', corpus, '--out', b, '--epochs', '4', '--resume', '--lr', '0.002', ...common]);
    assert.equal(otherLr.status, 2, otherLr.stderr);
    assert.match(otherLr.stderr, /learningRate: 0\.001 → 0\.002/);
    // Every recipe option counts, the batch size too (another batch would give another run).
    const otherBatch = run(['train', corpus, '--out', b, '--epochs', '4', '--resume', '--batch', '16', '--split', split, '--cache', cache, '--lr-patience', '1']);
    assert.equal(otherBatch.status, 2, otherBatch.stderr);
    assert.match(otherBatch.stderr, /batch: 8 → 16/);
    const otherCorpus = path.join(tmp, 'corpus-copy');
    fs.cpSync(corpus, otherCorpus, { recursive: true });
    fs.rmSync(path.join(otherCorpus, 'Actor_01', '03-01-01-01-01-01-01.wav'));
    const moved = run(['train', otherCorpus, '--out', b, '--epochs', '4', '--resume', '--batch', '8', '--split', split, '--lr-patience', '1', '--cache', path.join(tmp, 'other.cache')]);
    assert.equal(moved.status, 2, moved.stderr);
    assert.match(moved.stderr, /the corpus or its features differ/);
  });

  it('leaves the process as it found it: Math.random untouched during training, the native memory pool given back after', async () => {
    const nn = require('../dist/nn');
    const { trainModel } = require('../dist/train');
    const out = path.join(tmp, 'trim');
    const original = Math.random;
    const seen = new Set();
    const timer = setInterval(() => seen.add(Math.random === original), 1);
    await trainModel(corpus, {
      out,
      epochs: 1,
      batch: 8,
      split: { testActors: [3], valActors: [2], trainActors: [1] },
      cache: path.join(tmp, 'trim.cache'),
      onProgress: () => seen.add(Math.random === original),
    });
    clearInterval(timer);
    assert.deepEqual([...seen], [true]);
    const stats = nn.nativeMemoryStats();
    assert.equal(stats.cachedBytes, 0, JSON.stringify(stats));
  });

  it("caps the native memory pool at half of the cgroup's memory limit when there is one", () => {
    const limitOf = (content) => {
      const file = path.join(tmp, `memory.max-${content.trim()}`);
      fs.writeFileSync(file, content);
      const r = spawnSync(process.execPath, ['-e', "process.stdout.write(String(require('./dist/nn').nativeMemoryStats().limitBytes))"], {
        cwd: root,
        encoding: 'utf8',
        env: { ...process.env, EMO_CGROUP_MEMORY_FILE: file },
      });
      assert.equal(r.status, 0, r.stderr);
      return Number(r.stdout);
    };
    assert.equal(limitOf('2147483648\n'), 2 ** 30);
    const half = os.totalmem() / 2;
    const unlimited = limitOf('max\n');
    assert.ok(Math.abs(unlimited - half) < 0.01 * half, `${unlimited} vs half of ${os.totalmem()}`);
    assert.ok(Math.abs(limitOf('9223372036854771712\n') - half) < 0.01 * half); // cgroup v1 "unlimited"
  });

  it('says so when a folder has nothing usable, and checks its command line', () => {
    const empty = path.join(tmp, 'songs');
    fs.mkdirSync(empty);
    fs.writeFileSync(path.join(empty, '03-02-05-01-01-01-01.wav'), 'x');
    const r = run(['train', empty, '--out', path.join(tmp, 'none')]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /nothing usable/);
    assert.equal(run(['train']).status, 2);
    assert.equal(run(['evaluate', corpus]).status, 2);
  });
});
