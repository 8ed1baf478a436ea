'use strict';
// The default model (models/emo-ravdess.onnx, made by scripts/train-default-model.sh from RAVDESS,
// which CI does not have): it loads when no model is given, records what it was trained on and how
// it scored, and labels the bundled human samples — RAVDESS clips of its held-out actors 21-24, one
// per emotion, picked by a rule fixed before the model existed (samples/make-samples.sh).
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const emo = require('../dist');
const { checkModelFeatures } = require('../dist/infer/onnx-model');

const root = path.join(__dirname, '..');
const EMOTIONS = ['neutral', 'calm', 'happy', 'sad', 'angry', 'fearful', 'disgust', 'surprised'];
const SAMPLES = path.join(root, 'samples');
const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

describe('the default model (RAVDESS)', function () {
  this.timeout(120000);
  let classifier;
  before(async () => {
    classifier = await emo.loadClassifier();
  });
  after(async () => {
    await classifier?.close();
  });

  it('is models/emo-ravdess.onnx, in the package, small, and loads when no model is given; the synthetic one stays by name', async () => {
    assert.equal(emo.DEFAULT_MODEL_NAME, 'ravdess');
    assert.equal(emo.BUNDLED_MODEL, path.join(root, 'models', 'emo-ravdess.onnx'));
    assert.equal(emo.BUNDLED_MODELS.synth, path.join(root, 'models', 'emo-synth.onnx'));
    const bytes = fs.statSync(emo.BUNDLED_MODEL).size;
    assert.ok(bytes <= 3 * 1024 * 1024, `${bytes} bytes`);
    assert.deepEqual(classifier.labels, EMOTIONS);
    const synth = await emo.loadClassifier('synth');
    try {
      assert.notDeepEqual(synth.metadata.training, classifier.metadata.training);
      assert.match(synth.metadata.training.corpus ?? '', /corpus/);
    } finally {
      await synth.close();
    }
  });

  it('records its training: RAVDESS actors 1-18, validation 19-20, held-out test 21-24, the recipe, its scores, and its export check', () => {
    const meta = classifier.metadata;
    checkModelFeatures(meta);
    assert.equal(meta.version, require('../package.json').version);
    const t = meta.training;
    assert.deepEqual(t.split.train, range(1, 18));
    assert.deepEqual(t.split.val, [19, 20]);
    assert.deepEqual(t.split.test, range(21, 24));
    assert.equal(t.split.leaksSpeakers, false);
    assert.equal(t.scores.test.clips, 240);
    assert.equal(t.scores.val.clips, 120);
    for (const split of ['train', 'val', 'test']) assert.ok(t.scores[split].uar > 0.125 && t.scores[split].uar <= 1, split);
    assert.equal(typeof t.recipe.seed, 'number');
    assert.equal(typeof t.recipe.epochs, 'number');
    assert.ok(meta.parity && meta.parity.source === 'validation' && meta.parity.probabilities <= 1e-4, JSON.stringify(meta.parity));
  });

  it('has the bundled samples: unchanged RAVDESS clips (by the manifest), one per emotion, of its held-out actors only, each labelled', async () => {
    const files = fs.readdirSync(SAMPLES).filter((f) => f.endsWith('.wav')).sort();
    assert.equal(files.length, 8);
    const truth = files.map((f) => EMOTIONS[Number(f.split('-')[2]) - 1]);
    assert.deepEqual(truth, EMOTIONS);
    assert.ok(files.every((f) => Number(f.slice(-6, -4)) >= 21), 'held-out actors only');
    const manifest = new Map(emo.dataset.readManifest().entries.map((e) => [path.basename(e.path), e]));
    for (const file of files) {
      const bytes = fs.readFileSync(path.join(SAMPLES, file));
      const entry = manifest.get(file);
      assert.ok(entry, file);
      assert.equal(bytes.length, entry.bytes, file);
      assert.equal(crypto.createHash('sha256').update(bytes).digest('hex'), entry.sha256, file);
    }
    const results = await classifier.classifyBatch(files.map((f) => fs.readFileSync(path.join(SAMPLES, f))));
    for (const [i, r] of results.entries()) {
      assert.ok(EMOTIONS.includes(r.label), files[i]);
      assert.ok(Math.abs(Object.values(r.probabilities).reduce((a, b) => a + b, 0) - 1) < 1e-4, files[i]);
    }
    // What the README's quick start shows, measured: the samples this model gets right, by their
    // names' emotion (calm, angry, disgust and surprised: four of eight; the table is in the README).
    const right = truth.filter((t, i) => results[i].label === t);
    assert.deepEqual(right, ['calm', 'angry', 'disgust', 'surprised']);
    const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
    for (const [i, file] of files.entries()) assert.match(readme, new RegExp(`samples/${file} +${results[i].label} `), `the README's row of ${file}`);
  });
});
