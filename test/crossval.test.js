'use strict';
// Speaker-independent cross-validation: the fold plan, the summary arithmetic, and `emo crossval`
// end to end on a tiny generated corpus (CI has no RAVDESS).
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
// The public entry point, by the package's own name.
const train = require('emo-native/train');
const { makeWav, testSignal } = require('./helpers/wav');

const cli = path.join(__dirname, '..', 'dist', 'cli', 'main.js');
const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

describe('train.planFolds', () => {
  it('cuts RAVDESS\'s 24 actors into six documented folds of four, validation from the training side', () => {
    const plans = train.planFolds(range(1, 24));
    assert.deepEqual(plans.map((p) => p.test), [range(1, 4), range(5, 8), range(9, 12), range(13, 16), range(17, 20), range(21, 24)]);
    assert.deepEqual(plans.map((p) => p.val), [[23, 24], [3, 4], [7, 8], [11, 12], [15, 16], [19, 20]]);
    const tested = [];
    for (const p of plans) {
      tested.push(...p.test);
      assert.equal(p.train.length, 18);
      // Disjoint, and together every actor.
      assert.deepEqual([...p.train, ...p.val, ...p.test].sort((a, b) => a - b), range(1, 24));
      // Gender-balanced: odd actors are male.
      assert.equal(p.test.filter((a) => a % 2 === 1).length, 2);
      assert.equal(p.val.filter((a) => a % 2 === 1).length, 1);
      assert.equal(p.train.filter((a) => a % 2 === 1).length, 9);
    }
    assert.deepEqual(tested, range(1, 24), 'every actor is tested exactly once');
    // Fold 6 is the default split: test 21-24, validation 19-20, training 1-18.
    assert.deepEqual(plans[5], { fold: 6, test: range(21, 24), val: [19, 20], train: range(1, 18) });
  });

  it('handles uneven and small actor sets, and refuses impossible plans', () => {
    const plans = train.planFolds([7, 3, 5, 1, 9], 2, 1);
    assert.deepEqual(plans, [
      { fold: 1, test: [1, 3], val: [9], train: [5, 7] },
      { fold: 2, test: [5, 7, 9], val: [3], train: [1] },
    ]);
    assert.throws(() => train.planFolds([1, 2], 3), RangeError);
    assert.throws(() => train.planFolds([1, 2, 3, 4], 2, 2), /no training actors/);
    assert.throws(() => train.planFolds([1, 2, 3], 1), RangeError);
    assert.throws(() => train.planFolds('1-24'), TypeError);
  });
});

describe('train.summariseFolds', () => {
  it('gives mean and sample sd over folds, the summed confusion and pooled recall', () => {
    const metrics = (confusion) => train.classificationMetrics(
      confusion.flatMap((row, t) => row.flatMap((n) => Array(n).fill(t))),
      confusion.flatMap((row) => row.flatMap((n, p) => Array(n).fill(p))),
      ['a', 'b'],
    );
    // Fold 1: 3 of 4 right (recalls 1 and 0.5); fold 2: 1 of 4 right (recalls 0.5 and 0).
    const folds = [{ test: metrics([[2, 0], [1, 1]]) }, { test: metrics([[1, 1], [2, 0]]) }];
    const s = train.summariseFolds(folds, ['a', 'b']);
    assert.equal(s.accuracy.mean, 0.5);
    assert.ok(Math.abs(s.accuracy.sd - Math.SQRT2 * 0.25) < 1e-12); // |0.75 - 0.25| / sqrt(2)
    assert.equal(s.uar.mean, 0.5); // fold UARs 0.75 and 0.25
    assert.deepEqual(s.confusion, [[3, 1], [3, 1]]);
    assert.deepEqual(s.pooled.perClass.map((c) => c.recall), [0.75, 0.25]);
    assert.equal(s.pooled.accuracy, 0.5);
    assert.throws(() => train.summariseFolds([]), RangeError);
  });
});

// A tiny RAVDESS-layout corpus: 4 actors x 8 emotions, each emotion its own level and tone.
function makeCorpus(dir) {
  let seed = 1;
  for (const actor of [1, 2, 3, 4])
    for (let e = 1; e <= 8; e++) {
      const file = path.join(dir, `Actor_0${actor}`, `03-01-0${e}-01-01-01-0${actor}.wav`);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const sr = 16000;
      const x = testSignal(Math.round(sr * 3.6), sr, seed++);
      for (let i = 0; i < x.length; i++) x[i] = 0.08 * e * x[i] + 0.2 * Math.sin((2 * Math.PI * 150 * e * i) / sr);
      fs.writeFileSync(file, makeWav([x], { sampleRate: sr }));
    }
}

describe('emo crossval', function () {
  this.timeout(600000);
  let tmp, corpus, out;
  const run = (args) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  const common = () => ['--folds', '2', '--val-actors', '1', '--epochs', '2', '--batch', '8', '--out', out];
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'emo-crossval-'));
    corpus = path.join(tmp, 'corpus');
    makeCorpus(corpus);
    out = path.join(tmp, 'cv');
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('trains every fold on its own actors and summarises the test folds', () => {
    const r = run(['crossval', corpus, ...common()]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /fold 1\/2: test actors 1,2, validation 4, training 3/);
    assert.match(r.stdout, /fold 2\/2: test actors 3,4, validation 2, training 1/);
    assert.match(r.stdout, /\[fold 2\/2\] epoch {3}2/);
    assert.match(r.stdout, /overall: 2\/2 folds done/);
    assert.match(r.stdout, /UAR \(UA\) [\d.]+ ± [\d.]+ %/);
    const summary = JSON.parse(fs.readFileSync(path.join(out, 'crossval.json'), 'utf8'));
    assert.equal(summary.folds.length, 2);
    for (const [i, fold] of summary.folds.entries()) {
      const dir = path.join(out, `fold-${i + 1}`);
      // The fold is an `emo train` run on exactly its actors, its epoch chosen on its validation actor.
      const runInfo = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8'));
      assert.deepEqual([runInfo.split.train, runInfo.split.val, runInfo.split.test], [fold.plan.train, fold.plan.val, fold.plan.test]);
      assert.ok(!fold.plan.test.includes(fold.plan.val[0]));
      const metrics = JSON.parse(fs.readFileSync(path.join(dir, 'metrics.json'), 'utf8'));
      assert.deepEqual(fold.test, metrics.metrics.test);
      assert.equal(fold.test.count, 16);
      assert.ok(!fs.existsSync(path.join(dir, 'features.cache')), 'the fold\'s cache is dropped');
      for (const png of ['confusion.png', 'curves.png']) assert.equal(fs.readFileSync(path.join(dir, png)).subarray(1, 4).toString(), 'PNG', png);
    }
    // The summary, recomputed here from the folds' own metrics files.
    const accuracies = summary.folds.map((f) => f.test.accuracy);
    const mean = (accuracies[0] + accuracies[1]) / 2;
    assert.ok(Math.abs(summary.accuracy.mean - mean) < 1e-12);
    assert.ok(Math.abs(summary.accuracy.sd - Math.abs(accuracies[0] - accuracies[1]) / Math.SQRT2) < 1e-12);
    const summed = summary.folds[0].test.confusion.map((row, t) => row.map((n, p) => n + summary.folds[1].test.confusion[t][p]));
    assert.deepEqual(summary.confusion, summed);
    assert.equal(summary.confusion.flat().reduce((a, b) => a + b, 0), 32, 'every clip tested once');
    assert.equal(fs.readFileSync(path.join(out, 'confusion.png')).subarray(1, 4).toString(), 'PNG');
  });

  it('resumes: finished folds are read back, an interrupted one continues from its checkpoint', () => {
    const before = JSON.parse(fs.readFileSync(path.join(out, 'crossval.json'), 'utf8'));
    // Fold 2 as a crash would leave it: checkpoint and models, no fold.json; no summary.
    fs.rmSync(path.join(out, 'fold-2', 'fold.json'));
    fs.rmSync(path.join(out, 'crossval.json'));
    const r = run(['crossval', corpus, ...common(), '--resume']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /fold 1 .*\(finished earlier\)/);
    assert.doesNotMatch(r.stdout, /\[fold 1\/2\] epoch/, 'fold 1 is not retrained');
    const after = JSON.parse(fs.readFileSync(path.join(out, 'crossval.json'), 'utf8'));
    assert.deepEqual(after.folds.map((f) => f.test), before.folds.map((f) => f.test));
    assert.deepEqual(after.uar, before.uar);
  });

  it('emo export --crossval records the cross-validation summary and the whole recipe in the model', () => {
    const file = path.join(tmp, 'fold-1.onnx');
    const x = run(['export', path.join(out, 'fold-1'), '--out', file, '--crossval', path.join(out, 'crossval.json')]);
    assert.equal(x.status, 0, x.stderr);
    const { onnx } = require('onnx-proto');
    const meta = Object.fromEntries(onnx.ModelProto.decode(fs.readFileSync(file)).metadataProps.map((p) => [p.key, p.value]));
    const training = JSON.parse(meta['emo.training']);
    const summary = JSON.parse(fs.readFileSync(path.join(out, 'crossval.json'), 'utf8'));
    assert.deepEqual(training.crossValidation.uar, summary.uar);
    assert.deepEqual(training.crossValidation.folds.map((f) => [f.fold, f.uar]), summary.folds.map((f) => [f.plan.fold, f.test.uar]));
    assert.equal(training.recipe.batch, 8);
    assert.equal(training.recipe.epochs, 2);
    assert.equal(training.recipe.optimizer, 'adam');
    assert.equal(training.recipe.centre, 'none');
    const bad = run(['export', path.join(out, 'fold-1'), '--out', file, '--crossval', path.join(out, 'fold-1', 'run.json')]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /not an emo crossval summary/);
  });

  it('--only --validation-only trains a fold with its test actors held back; a full --resume scores it without training it again', () => {
    const held = path.join(tmp, 'held');
    const args = ['--folds', '2', '--val-actors', '1', '--epochs', '2', '--batch', '8', '--out', held];
    const r = run(['crossval', corpus, ...args, '--only', '2', '--validation-only']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /1 of 2 folds, test actors held back: no cross-validation summary/);
    assert.match(r.stdout, /fold 2 .*validation: accuracy .*\(test actors held back\)/);
    assert.match(r.stdout, /\[fold 2\/2\] epoch/);
    assert.match(r.stdout, /overall: 1\/1 \(of 2\) folds done/);
    assert.ok(!fs.existsSync(path.join(held, 'fold-1')), 'fold 1 not run');
    assert.ok(!fs.existsSync(path.join(held, 'crossval.json')));
    // No test score anywhere in the fold's files.
    const fold2 = path.join(held, 'fold-2');
    const read = (f) => JSON.parse(fs.readFileSync(path.join(fold2, f), 'utf8'));
    assert.ok(!('test' in read('fold.json')) && 'val' in read('fold.json'));
    assert.deepEqual(Object.keys(read('metrics.json').metrics), ['train', 'val']);
    assert.ok(!fs.existsSync(path.join(fold2, 'confusion.png')));
    const weights = fs.readFileSync(path.join(fold2, 'best', 'weights.bin'));
    const history = JSON.parse(fs.readFileSync(path.join(fold2, 'metrics.json'), 'utf8')).history;

    const all = run(['crossval', corpus, ...args, '--resume']);
    assert.equal(all.status, 0, all.stderr);
    assert.doesNotMatch(all.stdout, /\[fold 2\/2\] epoch/, 'fold 2 is scored, not trained');
    const summary = JSON.parse(fs.readFileSync(path.join(held, 'crossval.json'), 'utf8'));
    assert.equal(summary.complete, true);
    assert.equal(summary.folds[1].test.count, 16);
    assert.ok(fs.readFileSync(path.join(fold2, 'best', 'weights.bin')).equals(weights));
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(fold2, 'metrics.json'), 'utf8')).history, history);
    // The same fold scored by a plain run of the same recipe: the same test metrics.
    const plain = run(['crossval', corpus, ...args.slice(0, -1), path.join(tmp, 'plain'), '--only', '2']);
    assert.equal(plain.status, 0, plain.stderr);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(tmp, 'plain', 'fold-2', 'fold.json'), 'utf8')).test, summary.folds[1].test);
    assert.equal(run(['crossval', corpus, ...args, '--only', '3']).status, 2);
  });

  it('trainFold: one fold as a unit of work, here with the reference recipe\'s SGD and weight decay', async () => {
    const foldOut = path.join(tmp, 'sgd-fold');
    const plan = { fold: 1, test: [1], val: [2], train: [3, 4] };
    const recipe = { epochs: 2, batch: 8, optimizer: 'sgd', learningRate: 0.01, momentum: 0.8, weightDecay: 1e-3, lrPatience: 1, masking: false, warp: false, mixup: 0 };
    const result = await train.trainFold({ dir: corpus, plan, recipe, out: foldOut });
    assert.equal(result.reused, false);
    assert.equal(result.test.count, 8);
    const fold = JSON.parse(fs.readFileSync(path.join(foldOut, 'fold.json'), 'utf8'));
    assert.deepEqual([fold.plan, fold.recipe], [plan, recipe]);
    // The checkpoint's optimizer is SGD with the recipe's settings, at the rate of the last epoch.
    const metrics = JSON.parse(fs.readFileSync(path.join(foldOut, 'metrics.json'), 'utf8'));
    const saved = JSON.parse(fs.readFileSync(path.join(foldOut, 'checkpoint', 'model.json'), 'utf8'));
    const optimizer = saved.trainingConfig.optimizer_config;
    assert.equal(optimizer.class_name, 'EmoSgd');
    assert.equal(optimizer.config.momentum, 0.8);
    assert.equal(optimizer.config.weightDecay, 1e-3);
    assert.equal(optimizer.config.learningRate, metrics.history.at(-1).learningRate);
    const again = await train.trainFold({ dir: corpus, plan, recipe, out: foldOut, resume: true });
    assert.equal(again.reused, true);
    assert.deepEqual(again.test, result.test);
  });

  it('runFoldJob (a queue worker\'s side): trains the fold on a thread, relays its progress, ships its run folder; errors keep their code', async () => {
    const { runFoldJob } = require('emo-native/queue');
    const plan = { fold: 1, test: [1], val: [2], train: [3, 4] };
    const recipe = { epochs: 2, batch: 8, masking: false, warp: false, mixup: 0 };
    const local = await train.trainFold({ dir: corpus, plan, recipe, out: path.join(tmp, 'local-fold') });
    const workDir = path.join(tmp, 'worker-folds');
    const progress = [];
    const job = (id, dir) => ({ id, data: { version: 1, kind: 'fold', dir, plan, recipe, scoreTest: true }, updateProgress: async (event) => progress.push(event) });
    const shipped = await runFoldJob(job('j1', corpus), workDir);
    // The same seed on the same backend: the thread's fold is the local one.
    assert.deepEqual([shipped.result.bestEpoch, shipped.result.test, shipped.result.val], [local.bestEpoch, local.test, local.val]);
    assert.deepEqual(progress.filter((e) => e.kind === 'epoch').map((e) => e.record.epoch), [1, 2]);
    assert.ok(['fold.json', 'metrics.json', 'best/model.json'].every((f) => f in shipped.files), Object.keys(shipped.files).join(' '));
    assert.ok(!('checkpoint/state.json' in shipped.files));
    assert.deepEqual(fs.readdirSync(workDir), [], 'the work folder is removed once shipped');
    await assert.rejects(runFoldJob(job('j2', path.join(tmp, 'no-such-corpus')), workDir), (e) => e.name === 'EmoError' && e.code === 'ERR_DATASET_NOT_FOUND');
    // A worker closing without waiting: the thread stops, and the job is left to the stall check (the promise never settles).
    const stop = new AbortController();
    let settled = false;
    progress.length = 0;
    void runFoldJob(job('j3', corpus), workDir, stop.signal).finally(() => (settled = true));
    while (!progress.some((e) => e.kind === 'batch')) await new Promise((r) => setTimeout(r, 20));
    stop.abort();
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(settled, false);
    // Stopped: no further epoch, and the fold's folder stays, unfinished, to be resumed.
    assert.ok(!progress.some((e) => e.kind === 'epoch'));
    assert.ok(fs.existsSync(path.join(workDir, 'j3')) && !fs.existsSync(path.join(workDir, 'j3', 'fold.json')));
  });

  it('lowers the learning rate along half a cosine, batch by batch, with lrSchedule cosine', async () => {
    const plan = { fold: 1, test: [1], val: [2], train: [3, 4] };
    const foldOut = path.join(tmp, 'cosine');
    // Adam (the default) keeps its rate in the saved optimizer config: the rate of the last batch
    // trained. (tfjs takes every Adam optimizer for an SGDOptimizer under instanceof; a rate set
    // the SGD way never reached Adam, and this config then still read 0.01.)
    const recipe = { epochs: 2, batch: 8, learningRate: 0.01, lrSchedule: 'cosine', lrPatience: 1, masking: false, warp: false, mixup: 0 };
    await train.trainFold({ dir: corpus, plan, recipe, out: foldOut });
    // 16 clips x 4 variants = 64 records: 8 batches an epoch, 16 steps; step k of 16 at
    // 0.01 * (1/64 + 63/64 * (1 + cos(pi * k / 15)) / 2).
    const expected = (k) => 0.01 * (1 / 64 + (63 / 64) * 0.5 * (1 + Math.cos((Math.PI * k) / 15)));
    const metrics = JSON.parse(fs.readFileSync(path.join(foldOut, 'metrics.json'), 'utf8'));
    assert.deepEqual(metrics.history.map((h) => h.learningRate.toPrecision(12)), [expected(0), expected(8)].map((r) => r.toPrecision(12)));
    const saved = JSON.parse(fs.readFileSync(path.join(foldOut, 'checkpoint', 'model.json'), 'utf8'));
    assert.ok(Math.abs(saved.trainingConfig.optimizer_config.config.learningRate - expected(15)) < 1e-9);
    assert.equal(JSON.parse(fs.readFileSync(path.join(foldOut, 'run.json'), 'utf8')).options.lrSchedule, 'cosine');
    await assert.rejects(train.trainFold({ dir: corpus, plan, out: path.join(tmp, 'c2'), recipe: { epochs: 1, lrSchedule: 'linear' } }), RangeError);
  });

  it('takes every recipe option emo train takes', async () => {
    // crossValidate validates its options before any work: a recipe key it did not know would throw here.
    const recipe = { epochs: 1, batch: 8, learningRate: 0.01, optimizer: 'sgd', momentum: 0.8, weightDecay: 1e-3, seed: 1, patience: 1, lrPatience: 1, lrSchedule: 'cosine', masking: false, warp: false, mixup: 0, balanceClasses: true, variants: ['original'] };
    await assert.rejects(train.crossValidate(path.join(tmp, 'missing'), { ...recipe, out: path.join(tmp, 'x') }), (e) => e.code === 'ERR_DATASET_NOT_FOUND');
    await assert.rejects(train.crossValidate(corpus, { ...recipe, out: path.join(tmp, 'x'), nonsense: 1 }), TypeError);
  });

  it('cuts an epoch into shuffled batches; with groups (adapt: speaker-statistics), every batch from one group', () => {
    const { Mulberry32 } = require('../dist/random');
    // 3 groups of 5, 4 and 3 records, two classes.
    const records = Array.from({ length: 12 }, (_, i) => ({ index: 10 + i, label: i % 2 }));
    const groupOf = new Map(records.map((r, i) => [r.index, i < 5 ? 'a' : i < 9 ? 'b' : 'c']));
    const batches = train.epochBatches(records, 2, false, new Mulberry32(3), groupOf);
    assert.deepEqual(batches.flat().sort((x, y) => x - y), records.map((r) => r.index));
    for (const b of batches) {
      assert.ok(b.length >= 1 && b.length <= 2);
      assert.equal(new Set(b.map((r) => groupOf.get(r))).size, 1, JSON.stringify(b));
    }
    // ceil(5/2) + ceil(4/2) + ceil(3/2) batches, in an order the seed decides.
    assert.equal(batches.length, 3 + 2 + 2);
    assert.notDeepEqual(train.epochBatches(records, 2, false, new Mulberry32(4), groupOf), batches);
    assert.deepEqual(train.epochBatches(records, 2, false, new Mulberry32(3), groupOf), batches);
    // A batch as large as a group takes the whole group.
    const whole = train.epochBatches(records, 5, false, new Mulberry32(3), groupOf);
    assert.deepEqual(whole.map((b) => b.length).sort(), [3, 4, 5]);
    // Without groups: one shuffle cut into full batches, across what would be groups.
    const flat = train.epochBatches(records, 5, false, new Mulberry32(3));
    assert.deepEqual(flat.map((b) => b.length), [5, 5, 2]);
    assert.ok(flat.some((b) => new Set(b.map((r) => groupOf.get(r))).size > 1));
    // Balanced within each group: a (labels 0 1 0 1 0) gets a third 1, b (1 0 1 0) stays, c (1 0 1) gets a second 0.
    const balanced = train.epochBatches(records, 100, true, new Mulberry32(3), groupOf);
    assert.deepEqual(balanced.map((b) => b.length).sort(), [4, 4, 6]);
  });

  it('balances the classes when asked: the smaller ones repeated up to the largest', async () => {
    assert.deepEqual(train.balancedRecords([{ index: 0, label: 0 }, { index: 1, label: 1 }, { index: 2, label: 1 }, { index: 3, label: 1 }, { index: 4, label: 2 }, { index: 5, label: 2 }]),
      [0, 1, 2, 3, 4, 5, 0, 0, 4]);
    // A corpus whose neutral class is short: actor 3 has no neutral clip.
    const short = path.join(tmp, 'short');
    fs.cpSync(corpus, short, { recursive: true });
    fs.rmSync(path.join(short, 'Actor_03', '03-01-01-01-01-01-03.wav'));
    const samples = [];
    const plan = { fold: 1, test: [1], val: [2], train: [3, 4] };
    await train.trainFold({ dir: short, plan, out: path.join(tmp, 'balanced'), recipe: { epochs: 1, batch: 8, balanceClasses: true },
      onProgress: (e) => e.kind === 'batch' && samples.push(e.samples) });
    // 15 training clips x 4 variants = 60 records; neutral has 4, the others 8: 4 more neutral ones.
    assert.equal(samples.at(-1), 64);
  });

  it('trains on the variants asked for, their statistics alone, and refuses unknown ones', async () => {
    const plan = { fold: 1, test: [1], val: [2], train: [3, 4] };
    const samples = [];
    const dirOf = path.join(tmp, 'variants');
    await train.trainFold({ dir: corpus, plan, out: dirOf, dropCache: false, recipe: { epochs: 1, batch: 8, variants: ['noise', 'original'] },
      onProgress: (e) => e.kind === 'batch' && samples.push(e.samples) });
    // 16 training clips x 2 of their 4 variants.
    assert.equal(samples.at(-1), 32);
    const runInfo = JSON.parse(fs.readFileSync(path.join(dirOf, 'run.json'), 'utf8'));
    assert.deepEqual(runInfo.options.variants, ['original', 'noise']);
    // The normalisation comes from those records alone: recomputed here in float64 from the cache.
    const { FeatureCache } = require('../dist/data/cache');
    const cache = FeatureCache.open(path.join(dirOf, 'features.cache'));
    const [chunks, mels, frames] = cache.header.shape;
    const sum = new Float64Array(mels);
    let n = 0;
    for (const [index, r] of cache.records().entries()) {
      if (r.entry.split !== 'train' || (r.variant !== 'original' && r.variant !== 'noise')) continue;
      const x = cache.read(index);
      for (let c = 0; c < chunks; c++) for (let m = 0; m < mels; m++) for (let t = 0; t < frames; t++) sum[m] += x[(c * mels + m) * frames + t];
      n++;
    }
    cache.close();
    const norm = JSON.parse(fs.readFileSync(path.join(dirOf, 'normalization.json'), 'utf8'));
    assert.equal(n, 32);
    norm.mean.forEach((v, m) => assert.ok(Math.abs(v - sum[m] / (n * chunks * frames)) < 1e-3, `band ${m}: ${v}`));
    await assert.rejects(train.trainFold({ dir: corpus, plan, out: path.join(tmp, 'v2'), recipe: { epochs: 1, variants: ['chain'] } }), RangeError);
    await assert.rejects(train.trainFold({ dir: corpus, plan, out: path.join(tmp, 'v3'), recipe: { epochs: 1, variants: [] } }), TypeError);
  });

  it('starts from an earlier run\'s weights with initFrom (fine-tuning), and refuses a folder without a model', async () => {
    const nn = require('emo-native/nn');
    const from = path.join(out, 'fold-1'); // trained by the first test
    const plan = { fold: 2, test: [3, 4], val: [2], train: [1] };
    // A learning rate too small to move anything: the trained model is the one it started from.
    await train.trainFold({ dir: corpus, plan, out: path.join(tmp, 'fine'), recipe: { epochs: 1, batch: 8, learningRate: 1e-8, initFrom: from } });
    const weights = async (dir) => {
      const m = await nn.loadModel(dir);
      const w = m.getWeights().filter((t) => !/moving/.test(t.name)).map((t) => Array.from(t.dataSync()));
      m.dispose();
      return w;
    };
    const [start, tuned] = [await weights(path.join(from, 'best')), await weights(path.join(tmp, 'fine', 'best'))];
    start.forEach((w, i) => w.forEach((v, k) => assert.ok(Math.abs(v - tuned[i][k]) < 1e-4, `weight ${i}[${k}]`)));
    const runInfo = JSON.parse(fs.readFileSync(path.join(tmp, 'fine', 'run.json'), 'utf8'));
    assert.equal(runInfo.options.initFrom, path.join(from, 'best'));
    // Nothing like it: a folder without a model.
    await assert.rejects(train.trainFold({ dir: corpus, plan, out: path.join(tmp, 'fine2'), recipe: { epochs: 1, initFrom: tmp } }), (e) => e.code === 'ERR_FILE_READ');
  });

  it('refuses to resume with another recipe, and checks its command line', () => {
    const r = run(['crossval', corpus, ...common(), '--resume', '--seed', '2']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /cannot resume/);
    assert.equal(run(['crossval']).status, 2);
    assert.equal(run(['crossval', corpus, '--folds', '1']).status, 2);
    const tooMany = run(['crossval', corpus, '--folds', '5', '--out', path.join(tmp, 'x')]);
    assert.equal(tooMany.status, 1);
    assert.match(tooMany.stderr, /5 folds need at least 5 actors/);
  });
});
