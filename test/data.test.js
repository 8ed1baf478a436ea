'use strict';
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const emo = require('..');
const { dataset } = emo;
const { makeWav, testSignal } = require('./helpers/wav');

const tmpDirs = [];
function tmpdir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emo-data-'));
  tmpDirs.push(dir);
  return dir;
}
after(() => tmpDirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function touch(file, content = 'x') {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
}

const name = (e, i, s, r, a) => `03-01-${String(e).padStart(2, '0')}-0${i}-0${s}-0${r}-${String(a).padStart(2, '0')}.wav`;

describe('dataset.indexRavdess', () => {
  let root;
  before(() => {
    root = tmpdir();
    // Valid speech clips: Actor_XX folders, a deeper folder, a flat file, an upper-case extension.
    touch(path.join(root, 'Actor_01', name(1, 1, 1, 1, 1)));
    touch(path.join(root, 'Actor_01', name(5, 2, 2, 2, 1)));
    touch(path.join(root, 'Actor_02', name(8, 1, 1, 2, 2)));
    touch(path.join(root, 'deep', 'er', 'Actor_24', name(3, 2, 1, 1, 24)));
    touch(path.join(root, name(4, 1, 2, 1, 7).replace('.wav', '.WAV')));
    // Traps.
    touch(path.join(root, 'Actor_01', '03-02-05-01-01-01-01.wav')); // song
    touch(path.join(root, 'Actor_01', '01-01-05-01-01-01-01.wav')); // audio-video
    touch(path.join(root, 'Actor_01', '02-01-05-01-01-01-01.wav')); // video only
    touch(path.join(root, 'Actor_01', '03-01-09-01-01-01-01.wav')); // emotion 09
    touch(path.join(root, 'Actor_01', '03-01-05-03-01-01-01.wav')); // intensity 03
    touch(path.join(root, 'Actor_01', '03-01-05-01-03-01-01.wav')); // statement 03
    touch(path.join(root, 'Actor_01', '03-01-05-01-01-03-01.wav')); // repetition 03
    touch(path.join(root, 'Actor_01', '03-01-05-01-01-01-25.wav')); // actor 25
    touch(path.join(root, 'Actor_01', '03-01-01-02-01-01-01.wav')); // strong neutral
    touch(path.join(root, 'Actor_01', '03-01-05-01-01-01.wav')); // 6 fields
    touch(path.join(root, 'Actor_01', '03-01-05-01-01-01-01-01.wav')); // 8 fields
    touch(path.join(root, 'Actor_01', '03-01-5-01-01-01-01.wav')); // one digit
    touch(path.join(root, 'Actor_01', 'take2.wav')); // not RAVDESS at all
    // Not audio: ignored.
    touch(path.join(root, 'Actor_01', '03-01-05-01-01-01-01.mp4'));
    touch(path.join(root, 'README.txt'));
  });

  it('accepts speech audio-only clips at any depth, with parsed fields', () => {
    const { entries } = dataset.indexRavdess(root);
    assert.equal(entries.length, 5);
    const byName = Object.fromEntries(entries.map((e) => [path.basename(e.path), e]));
    assert.deepEqual({ ...byName[name(5, 2, 2, 2, 1)], path: undefined }, {
      path: undefined, emotion: 'angry', emotionId: 4, intensity: 2, statement: 2, repetition: 2, actor: 1, sex: 'male',
    });
    assert.equal(byName[name(8, 1, 1, 2, 2)].emotion, 'surprised');
    assert.equal(byName[name(8, 1, 1, 2, 2)].sex, 'female');
    assert.equal(byName[name(3, 2, 1, 1, 24)].actor, 24);
    assert.equal(byName[name(4, 1, 2, 1, 7).replace('.wav', '.WAV')].emotion, 'sad');
    assert.equal(byName[name(1, 1, 1, 1, 1)].emotionId, 0);
    assert.deepEqual(entries.map((e) => e.path), [...entries.map((e) => e.path)].sort());
  });

  it('lists every other .wav in skipped with its reason and ignores other files', () => {
    const reasons = Object.fromEntries(dataset.indexRavdess(root).skipped.map((s) => [path.basename(s.path), s.reason]));
    assert.equal(Object.keys(reasons).length, 13);
    assert.match(reasons['03-02-05-01-01-01-01.wav'], /song/);
    assert.match(reasons['01-01-05-01-01-01-01.wav'], /video/);
    assert.match(reasons['02-01-05-01-01-01-01.wav'], /video/);
    assert.match(reasons['03-01-09-01-01-01-01.wav'], /emotion field '09'/);
    assert.match(reasons['03-01-05-03-01-01-01.wav'], /intensity field '03'/);
    assert.match(reasons['03-01-05-01-03-01-01.wav'], /statement field '03'/);
    assert.match(reasons['03-01-05-01-01-03-01.wav'], /repetition field '03'/);
    assert.match(reasons['03-01-05-01-01-01-25.wav'], /actor field '25'/);
    assert.match(reasons['03-01-01-02-01-01-01.wav'], /neutral has no strong intensity/);
    assert.match(reasons['03-01-05-01-01-01.wav'], /wrong number of fields: 6/);
    assert.match(reasons['03-01-05-01-01-01-01-01.wav'], /wrong number of fields: 8/);
    assert.match(reasons['03-01-5-01-01-01-01.wav'], /two digits/);
    assert.match(reasons['take2.wav'], /wrong number of fields: 1/);
  });

  it('throws EmoError for a missing or empty folder', () => {
    assert.throws(() => dataset.indexRavdess(path.join(root, 'nope')), (e) => e instanceof emo.EmoError && e.code === 'ERR_DATASET_NOT_FOUND');
    assert.throws(() => dataset.indexRavdess(path.join(root, 'README.txt')), (e) => e.code === 'ERR_DATASET_NOT_FOUND');
    const empty = tmpdir();
    touch(path.join(empty, 'notes.txt'));
    assert.throws(() => dataset.indexRavdess(empty), (e) => e instanceof emo.EmoError && e.code === 'ERR_DATASET_EMPTY');
    assert.throws(() => dataset.indexRavdess(42), TypeError);
  });
});

describe('dataset.splitByActor', () => {
  // The full RAVDESS grid: 24 actors x 60 clips.
  const grid = [];
  for (let actor = 1; actor <= 24; actor++)
    for (let e = 1; e <= 8; e++)
      for (let i = 1; i <= (e === 1 ? 1 : 2); i++)
        for (let s = 1; s <= 2; s++) for (let r = 1; r <= 2; r++) grid.push({ path: name(e, i, s, r, actor), actor, emotionId: e - 1 });

  const assertDisjoint = (split) => {
    const owner = new Map();
    for (const part of ['train', 'val', 'test'])
      for (const e of split[part]) {
        assert.ok(!owner.has(e.actor) || owner.get(e.actor) === part, `actor ${e.actor} in ${owner.get(e.actor)} and ${part}`);
        owner.set(e.actor, part);
      }
    return owner;
  };

  it('holds out actors 21-24 for test and 19-20 for validation by default, balanced by sex', () => {
    assert.equal(grid.length, 1440);
    const split = dataset.splitByActor(grid);
    assertDisjoint(split);
    assert.deepEqual(split.actors, { train: Array.from({ length: 18 }, (_, i) => i + 1), val: [19, 20], test: [21, 22, 23, 24] });
    assert.deepEqual([split.train.length, split.val.length, split.test.length], [1080, 120, 240]);
    for (const part of ['train', 'val', 'test']) {
      const males = split.actors[part].filter((a) => a % 2 === 1).length;
      assert.equal(males * 2, split.actors[part].length, `${part} balanced by sex`);
    }
    assert.equal(split.leaksSpeakers, false);
  });

  it('takes explicit actor lists and refuses an actor in two of them', () => {
    const split = dataset.splitByActor(grid, { testActors: [1, 2], valActors: [3], trainActors: [4, 5, 6] });
    assert.deepEqual(split.actors, { train: [4, 5, 6], val: [3], test: [1, 2] });
    assertDisjoint(split);
    assert.throws(() => dataset.splitByActor(grid, { testActors: [1, 2], valActors: [2] }), RangeError);
    assert.throws(() => dataset.splitByActor(grid, { testActors: [0] }), RangeError);
  });

  it('makes k folds over actors in which every actor is tested exactly once', () => {
    const tested = [];
    for (let fold = 0; fold < 6; fold++) {
      const split = dataset.splitByActor(grid, { folds: 6, fold });
      assertDisjoint(split);
      assert.equal(split.actors.test.length, 4);
      assert.equal(split.actors.val.length, 4);
      assert.equal(split.actors.test.filter((a) => a % 2 === 1).length, 2, 'balanced by sex');
      tested.push(...split.actors.test);
    }
    assert.deepEqual(tested.sort((a, b) => a - b), Array.from({ length: 24 }, (_, i) => i + 1));
    assert.throws(() => dataset.splitByActor(grid, { folds: 6, fold: 6 }), RangeError);
    assert.throws(() => dataset.splitByActor(grid, { folds: 6, fold: 0, testActors: [1] }), TypeError);
  });

  it('offers a random utterance split only under a name that says it leaks speakers', () => {
    const split = dataset.splitByActor(grid, { leakSpeakersRandomUtteranceSplit: { seed: 3 } });
    assert.equal(split.leaksSpeakers, true);
    assert.equal(split.train.length + split.val.length + split.test.length, grid.length);
    assert.equal(split.test.length, 288);
    const trainActors = new Set(split.train.map((e) => e.actor));
    assert.ok(split.test.some((e) => trainActors.has(e.actor)), 'speakers do leak');
    assert.deepEqual(dataset.splitByActor(grid, { leakSpeakersRandomUtteranceSplit: { seed: 3 } }).test, split.test, 'seeded');
    assert.throws(() => dataset.splitByActor(grid, { random: true }), TypeError);
  });
});

describe('dataset feature cache', function () {
  this.timeout(120000);
  let corpus;
  const split = { trainActors: [1], valActors: [2], testActors: [3] };

  before(() => {
    corpus = tmpdir();
    const sr = 16000;
    let seed = 1;
    for (const actor of [1, 2, 3]) {
      const emotions = actor === 1 ? [1, 2, 3, 4, 5, 6, 7, 8] : [5, 6];
      for (const e of emotions) {
        const file = path.join(corpus, `Actor_0${actor}`, name(e, 1, 1, 1, actor));
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, makeWav([testSignal(Math.round(sr * 3.8), sr, seed++)], { sampleRate: sr }));
      }
    }
    // A corrupt clip and a song: reported, left out.
    fs.writeFileSync(path.join(corpus, 'Actor_01', name(5, 2, 1, 1, 1)), 'RIFF....WAVEnot really');
    fs.writeFileSync(path.join(corpus, 'Actor_01', '03-02-05-01-01-01-01.wav'), 'song');
  });

  it('stores every split (training with its 3 augmented variants) and round-trips float32 exactly', async () => {
    const file = path.join(tmpdir(), 'features.bin');
    const cache = await dataset.buildFeatureCache(corpus, file, { split, dtype: 'float32', augmentSeed: 5 });
    try {
      const h = cache.header;
      assert.deepEqual(h.shape, [7, 128, 128]);
      assert.deepEqual(h.split.train, [1]);
      assert.equal(h.entries.filter((e) => e.split === 'train').length, 8);
      assert.ok(h.entries.filter((e) => e.split === 'train').every((e) => e.variants === 4));
      assert.ok(h.entries.filter((e) => e.split !== 'train').every((e) => e.variants === 1), 'no augmentation outside training');
      assert.equal(cache.recordCount, 8 * 4 + 2 + 2);
      assert.deepEqual(h.failed.map((f) => [path.basename(f.path), f.code]), [[name(5, 2, 1, 1, 1), 'ERR_WAV_TRUNCATED']]);
      assert.deepEqual(h.skipped.map((s) => path.basename(s.path)), ['03-02-05-01-01-01-01.wav']);
      assert.deepEqual(h.labels, ['neutral', 'calm', 'happy', 'sad', 'angry', 'fearful', 'disgust', 'surprised']);

      // Validation/test records are exactly melChunks of the file.
      const valEntry = h.entries.find((e) => e.split === 'val');
      const wav = fs.readFileSync(path.join(corpus, valEntry.path));
      assert.deepEqual(cache.read(valEntry.firstRecord), emo.melChunks(wav).data);
      // Training records: the original variant is the clip's plain features; the others are the
      // documented augmentation of the prepared clip (seed = augmentSeed + entry position).
      const trainEntries = h.entries.filter((e) => e.split === 'train');
      const t = trainEntries[3];
      const tWav = fs.readFileSync(path.join(corpus, t.path));
      assert.deepEqual(cache.read(t.firstRecord), emo.melChunks(tWav).data);
      const clip = emo.prepareClip(tWav, { durationSeconds: 3 * 1.1 + 0.05 });
      const variants = emo.augment.expand(clip, { seed: 5 + 3 });
      for (let v = 1; v < 4; v++) assert.deepEqual(cache.read(t.firstRecord + v), emo.melChunks(variants[v], { offsetSeconds: 0 }).data, `variant ${v}`);
      const records = cache.records();
      assert.equal(records.length, cache.recordCount);
      assert.deepEqual(records.slice(t.firstRecord, t.firstRecord + 4).map((r) => r.variant), ['original', 'noise', 'tempo', 'preemphasis']);
    } finally {
      cache.close();
    }
  });

  it('adds the recording-chain variant to training clips when asked: the clip through its drawn chain', async () => {
    const file = path.join(tmpdir(), 'features-chain.bin');
    const cache = await dataset.buildFeatureCache(corpus, file, { split, dtype: 'float32', augmentSeed: 5, recordingChain: true });
    try {
      const h = cache.header;
      assert.deepEqual(h.augmentation.variants, ['original', 'noise', 'tempo', 'preemphasis', 'chain']);
      const trainEntries = h.entries.filter((e) => e.split === 'train');
      assert.ok(trainEntries.every((e) => e.variants === 5));
      assert.ok(h.entries.filter((e) => e.split !== 'train').every((e) => e.variants === 1));
      const t = trainEntries[2];
      const clip = emo.prepareClip(fs.readFileSync(path.join(corpus, t.path)), { durationSeconds: 3 * 1.1 + 0.05 });
      const chained = await dataset.applyRecordingChain(clip, 48000, dataset.drawRecordingChain(5, t.path), 5 + 2);
      assert.deepEqual(cache.read(t.firstRecord + 4), emo.melChunks(chained, { offsetSeconds: 0 }).data);
      assert.equal(cache.records()[t.firstRecord + 4].variant, 'chain');
      // The other variants are those of a cache without the chain.
      const plain = await dataset.buildFeatureCache(corpus, path.join(tmpdir(), 'features-plain.bin'), { split, dtype: 'float32', augmentSeed: 5 });
      const p = plain.header.entries.find((e) => e.path === t.path);
      for (let v = 0; v < 4; v++) assert.deepEqual(cache.read(t.firstRecord + v), plain.read(p.firstRecord + v), `variant ${v}`);
      assert.notEqual(plain.header.fingerprint, h.fingerprint);
      plain.close();
    } finally {
      cache.close();
    }
  });

  it('stores float16 as IEEE half precision (checked against an independent conversion)', async () => {
    const file = path.join(tmpdir(), 'features16.bin');
    const cache = await dataset.buildFeatureCache(corpus, file, { split: { trainActors: [], valActors: [2], testActors: [3] } });
    try {
      assert.equal(cache.header.dtype, 'float16');
      assert.equal(fs.statSync(file).size > 4 * 114688 * 2, true);
      const entry = cache.header.entries[0];
      const exact = emo.melChunks(fs.readFileSync(path.join(corpus, entry.path))).data;
      const got = cache.read(entry.firstRecord);
      for (let i = 0; i < exact.length; i++) assert.equal(got[i], halfRound(exact[i]), `value ${i}: ${exact[i]}`);
    } finally {
      cache.close();
    }
  });

  it('is reused when nothing changed and rebuilt when options or files differ', async () => {
    const file = path.join(tmpdir(), 'features.bin');
    const options = { split: { trainActors: [], valActors: [2], testActors: [3] } };
    const first = await dataset.ensureFeatureCache(corpus, file, options);
    first.cache.close();
    assert.equal(first.rebuilt, true);
    const second = await dataset.ensureFeatureCache(corpus, file, options);
    second.cache.close();
    assert.equal(second.rebuilt, false);
    const third = await dataset.ensureFeatureCache(corpus, file, { ...options, features: { topDb: 80 } });
    third.cache.close();
    assert.equal(third.rebuilt, true);
    assert.match(third.reason, /other options/);
    assert.equal(third.cache.header.pipeline.topDb, 80);
  });

  it('leaves no complete-looking file when a build is interrupted, and detects truncated files', async () => {
    const dir = tmpdir();
    const file = path.join(dir, 'features.bin');
    await assert.rejects(
      dataset.buildFeatureCache(corpus, file, {
        split,
        onProgress: () => {
          throw new Error('interrupted');
        },
      }),
      /interrupted/,
    );
    assert.deepEqual(fs.readdirSync(dir), []);
    const cache = await dataset.buildFeatureCache(corpus, file, { split: { trainActors: [], valActors: [2], testActors: [3] } });
    cache.close();
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(file, bytes.subarray(0, bytes.length - 100));
    assert.throws(() => dataset.FeatureCache.open(file), (e) => e instanceof emo.EmoError && e.code === 'ERR_CACHE_CORRUPT');
    const rebuilt = await dataset.ensureFeatureCache(corpus, file, { split: { trainActors: [], valActors: [2], testActors: [3] } });
    rebuilt.cache.close();
    assert.equal(rebuilt.rebuilt, true);
    assert.match(rebuilt.reason, /unreadable/);
  });

  it('never serves stale or torn data: the package version is in the fingerprint, stale partial files go, short reads are errors', async () => {
    const dir = tmpdir();
    const file = path.join(dir, 'features.bin');
    const options = { split: { trainActors: [], valActors: [2], testActors: [3] } };
    // A partial file of a process that no longer exists (a killed build), and one of a live process.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    fs.writeFileSync(`${file}.partial-${dead}`, 'half a cache');
    fs.writeFileSync(`${file}.partial-${process.ppid}`, 'someone else is writing this');
    const built = await dataset.ensureFeatureCache(corpus, file, options);
    built.cache.close();
    assert.deepEqual(fs.readdirSync(dir).sort(), ['features.bin', `features.bin.partial-${process.ppid}`]);

    // The same files and options under another package version: rebuilt, not reused.
    const header = dataset.FeatureCache.open(file);
    const fingerprint = header.header.fingerprint;
    header.close();
    const pkg = require('../package.json');
    const versionFile = require.resolve('../dist/version');
    const saved = require.cache[versionFile].exports.PACKAGE_VERSION;
    require.cache[versionFile].exports.PACKAGE_VERSION = `${pkg.version}-other`;
    try {
      const again = await dataset.ensureFeatureCache(corpus, file, options);
      again.cache.close();
      assert.equal(again.rebuilt, true);
      assert.notEqual(dataset.FeatureCache.open(file).header.fingerprint, fingerprint);
    } finally {
      require.cache[versionFile].exports.PACKAGE_VERSION = saved;
    }

    // A file cut after it was opened: reading a record past the cut is an error, not zeros.
    const cache = dataset.FeatureCache.open(file);
    fs.truncateSync(file, 8192);
    assert.throws(() => cache.read(cache.recordCount - 1), (e) => e instanceof emo.EmoError && e.code === 'ERR_CACHE_CORRUPT' && /ends after/.test(e.message));
    cache.close();
  });
});

/** float32 -> nearest binary16 value (ties to even), computed in float64. */
function halfRound(x) {
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  if (a >= 65520) return Math.sign(x) * Infinity;
  const e = Math.max(Math.floor(Math.log2(a)), -14);
  const ulp = 2 ** (e - 10);
  let q = a / ulp;
  const f = Math.floor(q);
  const rest = q - f;
  q = rest > 0.5 || (rest === 0.5 && f % 2 === 1) ? f + 1 : f;
  return Math.sign(x) * q * ulp;
}
