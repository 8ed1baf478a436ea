'use strict';
// The synthetic corpus: layout and naming, WAV format, silences, emotion cues
// measured with simple prosody features, determinism, resume/skip/refuse, CLI.
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const cli = path.join(root, 'dist', 'cli', 'main.js');
const { synthesizeCorpus } = require('../dist/data/synth');

const EMOTIONS = ['neutral', 'calm', 'happy', 'sad', 'angry', 'fearful', 'disgust', 'surprised'];
const NAME = /^03-01-(0[1-8])-(0[12])-(0[12])-(0[12])-(\d\d)\.wav$/;

function haveTools() {
  const missing = ['espeak-ng', 'sox'].filter((tool) => spawnSync(tool, ['--version']).error);
  return missing.length === 0 ? null : `${missing.join(' and ')} not installed (apt-get install -y espeak-ng sox)`;
}

function emo(args) {
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: root });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Header fields and samples of a WAV file, read from the RIFF chunks directly. */
function readWav(file) {
  const b = fs.readFileSync(file);
  assert.equal(b.toString('latin1', 0, 4), 'RIFF', `${file}: RIFF`);
  assert.equal(b.toString('latin1', 8, 12), 'WAVE', `${file}: WAVE`);
  let offset = 12;
  let fmt;
  while (offset + 8 <= b.length) {
    const id = b.toString('latin1', offset, offset + 4);
    const size = b.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') fmt = { format: b.readUInt16LE(body), channels: b.readUInt16LE(body + 2), sampleRate: b.readUInt32LE(body + 4), bits: b.readUInt16LE(body + 14) };
    if (id === 'data') {
      assert.ok(fmt, `${file}: fmt before data`);
      assert.equal(body + size, b.length, `${file}: data size matches the file`);
      const x = new Float64Array(size / 2);
      for (let i = 0; i < x.length; i++) x[i] = b.readInt16LE(body + 2 * i) / 32768;
      return { ...fmt, x };
    }
    offset = body + size + (size & 1);
  }
  throw new Error(`${file}: no data chunk`);
}

function sha256(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function clipHashes(dir, actorDir) {
  const folder = path.join(dir, actorDir);
  return Object.fromEntries(fs.readdirSync(folder).sort().map((name) => [name, sha256(path.join(folder, name))]));
}

const SR = 48000;
const FRAME = 960; // 20 ms
const db = (v) => 20 * Math.log10(v + 1e-12);

/**
 * Simple prosody features of one clip: level (dBFS RMS of voiced frames),
 * speech duration (s), brightness (dB: energy of the first difference over the
 * energy, a spectral-centroid proxy that small noise cannot dominate the way it
 * does a zero-crossing count), median F0 (Hz, autocorrelation), pitch spread
 * (semitones, 10th to 90th percentile) and rise (semitones from the first to the
 * last third of the voiced frames).
 */
function prosodyFeatures(x) {
  const frames = [];
  for (let s = 0; s + FRAME <= x.length; s += FRAME) {
    let e = 0;
    let d = 0;
    for (let i = s; i < s + FRAME; i++) {
      e += x[i] * x[i];
      if (i > 0) d += (x[i] - x[i - 1]) ** 2;
    }
    frames.push({ s, rms: Math.sqrt(e / FRAME), e, d });
  }
  const loudest = Math.max(...frames.map((f) => f.rms));
  const voiced = frames.filter((f) => f.rms > loudest * 0.1);
  const speech = voiced;
  const level = db(Math.sqrt(voiced.reduce((a, f) => a + f.rms * f.rms, 0) / voiced.length));
  const duration = (speech[speech.length - 1].s - speech[0].s + FRAME) / SR;
  const brightness = 10 * Math.log10(voiced.reduce((a, f) => a + f.d, 0) / voiced.reduce((a, f) => a + f.e, 0));
  // Pitch: 3-sample means (a crude low-pass) decimate to 16 kHz; 40 ms windows, 60-500 Hz.
  const f0 = [];
  const W = 640;
  for (const f of voiced) {
    const d = [];
    for (let i = f.s; i + 2 < x.length && d.length < W + 267; i += 3) d.push((x[i] + x[i + 1] + x[i + 2]) / 3);
    if (d.length < W + 267) continue;
    let r0 = 0;
    for (let j = 0; j < W; j++) r0 += d[j] * d[j];
    let best = 0;
    let lag = 0;
    for (let l = 32; l <= 267; l++) {
      let r = 0;
      let e = 0;
      for (let j = 0; j < W; j++) {
        r += d[j] * d[j + l];
        e += d[j + l] * d[j + l];
      }
      r /= Math.sqrt(r0 * e) + 1e-12;
      if (r > best) {
        best = r;
        lag = l;
      }
    }
    if (best > 0.7) f0.push(16000 / lag);
  }
  const quantile = (a, p) => [...a].sort((u, v) => u - v)[Math.floor(p * (a.length - 1))];
  const median = (a) => quantile(a, 0.5);
  const third = Math.max(1, Math.floor(f0.length / 3));
  const rise = 12 * Math.log2(median(f0.slice(-third)) / median(f0.slice(0, third)));
  const spread = 12 * Math.log2(quantile(f0, 0.9) / quantile(f0, 0.1));
  return { level, duration, brightness, f0: median(f0), spread, rise };
}

const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;

describe('emo synth (synthetic RAVDESS-style corpus)', function () {
  this.timeout(120000);
  let tmp;
  let corpus;
  let result;

  before(async function () {
    const missing = haveTools();
    if (missing) {
      console.log(`      skipping emo synth tests: ${missing}`);
      this.skip();
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'emo-synth-'));
    corpus = path.join(tmp, 'corpus');
    result = await synthesizeCorpus(corpus, { actors: 2, seed: 1 });
  });
  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('writes 60 clips per actor with RAVDESS names, and the manifest', () => {
    assert.equal(result.files, 120);
    assert.equal(result.written, 120);
    assert.equal(result.skipped, false);
    assert.equal(result.dir, path.resolve(corpus));
    assert.deepEqual(fs.readdirSync(corpus).sort(), ['Actor_01', 'Actor_02', 'synth.json']);
    for (const actor of [1, 2]) {
      const names = fs.readdirSync(path.join(corpus, `Actor_0${actor}`));
      assert.equal(names.length, 60);
      const seen = new Set();
      for (const name of names) {
        const m = NAME.exec(name);
        assert.ok(m, `bad name ${name}`);
        const [, e, i, s, r, a] = m.map(Number);
        assert.equal(a, actor, name);
        assert.ok(!(e === 1 && i === 2), `neutral has no strong intensity: ${name}`);
        seen.add(`${e}-${i}-${s}-${r}`);
      }
      assert.equal(seen.size, 60);
      // 4 neutral clips, 8 of each other emotion.
      for (const [k, emotion] of EMOTIONS.entries()) {
        const count = names.filter((n) => Number(NAME.exec(n)[1]) === k + 1).length;
        assert.equal(count, k === 0 ? 4 : 8, emotion);
      }
    }
    const manifest = JSON.parse(fs.readFileSync(path.join(corpus, 'synth.json'), 'utf8'));
    assert.equal(manifest.seed, 1);
    assert.equal(manifest.actors, 2);
    assert.equal(manifest.files, 120);
    assert.deepEqual(Object.keys(manifest.emotions), EMOTIONS);
    assert.deepEqual(
      manifest.voices.map((v) => v.sex),
      ['male', 'female'],
    );
    assert.notEqual(manifest.voices[0].voice, manifest.voices[1].voice);
    assert.match(manifest.tools['espeak-ng'], /\d/);
    assert.match(manifest.tools.sox, /\d/);
  });

  it('every clip is 48 kHz mono 16-bit PCM, 2.5-6 s, with a quiet (not digitally silent) ~0.5 s lead-in', () => {
    for (const actor of ['Actor_01', 'Actor_02']) {
      for (const name of fs.readdirSync(path.join(corpus, actor))) {
        const wav = readWav(path.join(corpus, actor, name));
        assert.deepEqual([wav.format, wav.channels, wav.sampleRate, wav.bits], [1, 1, 48000, 16], name);
        const seconds = wav.x.length / SR;
        assert.ok(seconds >= 2.5 && seconds <= 6, `${name}: ${seconds} s`);
        // The first 0.4 s: room noise, far below the speech, but never digital zero.
        const lead = wav.x.subarray(0, 0.4 * SR);
        const leadRms = Math.sqrt(lead.reduce((a, v) => a + v * v, 0) / lead.length);
        assert.ok(lead.some((v) => v !== 0), `${name}: lead-in is digital silence`);
        const { level } = prosodyFeatures(wav.x);
        assert.ok(level - db(leadRms) > 20, `${name}: lead-in ${db(leadRms).toFixed(1)} dB vs speech ${level.toFixed(1)} dB`);
        // Speech starts around 0.5 s: the first 20 ms frame near the speech level.
        let onset = 0;
        for (let s = 0; s + FRAME <= wav.x.length; s += FRAME) {
          const rms = Math.sqrt(wav.x.subarray(s, s + FRAME).reduce((a, v) => a + v * v, 0) / FRAME);
          if (db(rms) > level - 20) {
            onset = s / SR;
            break;
          }
        }
        assert.ok(onset >= 0.4 && onset <= 0.7, `${name}: speech starts at ${onset} s`);
        // Some trailing silence.
        const tail = wav.x.subarray(wav.x.length - 0.2 * SR);
        assert.ok(level - db(Math.sqrt(tail.reduce((a, v) => a + v * v, 0) / tail.length)) > 20, `${name}: no trailing silence`);
      }
    }
  });

  it('gives each emotion distinct, plausible prosody (level, rate, brightness, pitch, contour)', () => {
    for (const actor of [1, 2]) {
      // Per emotion, the mean features of the strong clips (neutral: its only intensity).
      const byEmotion = {};
      const normal = {};
      for (const [k, emotion] of EMOTIONS.entries()) {
        const pick = (intensity) =>
          [1, 2].flatMap((statement) =>
            [1, 2].map((rep) => {
              const name = `03-01-0${k + 1}-0${intensity}-0${statement}-0${rep}-0${actor}.wav`;
              return prosodyFeatures(readWav(path.join(corpus, `Actor_0${actor}`, name)).x);
            }),
          );
        const avg = (clips) => Object.fromEntries(Object.keys(clips[0]).map((key) => [key, mean(clips.map((c) => c[key]))]));
        byEmotion[emotion] = avg(pick(k === 0 ? 1 : 2));
        if (k > 0) normal[emotion] = avg(pick(1));
      }
      const e = byEmotion;
      const who = `actor ${actor}`;
      // Loudness.
      assert.ok(e.angry.level > e.neutral.level + 6, `${who}: angry louder than neutral`);
      assert.ok(e.angry.level > e.sad.level + 15, `${who}: angry much louder than sad`);
      assert.ok(e.sad.level < e.neutral.level - 6, `${who}: sad quieter than neutral`);
      assert.ok(e.calm.level < e.neutral.level, `${who}: calm quieter than neutral`);
      assert.ok(e.happy.level > e.neutral.level && e.surprised.level > e.neutral.level, `${who}: happy and surprised louder than neutral`);
      // Rate (the same words, so duration).
      assert.ok(e.sad.duration > e.neutral.duration * 1.3, `${who}: sad slower than neutral`);
      assert.ok(e.disgust.duration > e.neutral.duration * 1.15, `${who}: disgust drawn out`);
      assert.ok(e.fearful.duration < e.neutral.duration * 0.9, `${who}: fearful faster than neutral`);
      // Pitch level and contour.
      assert.ok(e.fearful.f0 > e.neutral.f0 * 1.15, `${who}: fearful higher than neutral`);
      assert.ok(e.happy.f0 > e.neutral.f0 * 1.05, `${who}: happy higher than neutral`);
      assert.ok(e.sad.f0 < e.neutral.f0, `${who}: sad lower than neutral`);
      assert.ok(e.surprised.rise > e.happy.rise + 3, `${who}: surprised rises at the end, happy does not`);
      assert.ok(e.surprised.rise > e.neutral.rise + 3, `${who}: surprised rises more than neutral`);
      assert.ok(e.sad.spread < e.neutral.spread && e.sad.spread < e.happy.spread - 2, `${who}: sad monotone`);
      assert.ok(e.surprised.spread > e.neutral.spread + 2, `${who}: surprised wide range`);
      // Brightness: muffled sad and calm, breathy fearful, harsh angry.
      assert.ok(e.sad.brightness < e.neutral.brightness - 2, `${who}: sad duller than neutral`);
      assert.ok(e.calm.brightness < e.neutral.brightness - 1, `${who}: calm softer than neutral`);
      assert.ok(e.fearful.brightness > e.neutral.brightness + 3, `${who}: fearful breathier than neutral`);
      assert.ok(e.angry.brightness > e.neutral.brightness + 1, `${who}: angry harsher than neutral`);
      // Strong intensity pushes the same cues further.
      assert.ok(e.angry.level > normal.angry.level + 2, `${who}: strong angry louder`);
      assert.ok(e.sad.level < normal.sad.level - 2, `${who}: strong sad quieter`);
      assert.ok(e.sad.duration > normal.sad.duration, `${who}: strong sad slower`);
      assert.ok(e.fearful.f0 > normal.fearful.f0, `${who}: strong fearful higher`);
      // Pairwise: the feature vectors (scaled by their spread across emotions) all differ.
      const keys = ['level', 'duration', 'brightness', 'f0', 'spread', 'rise'];
      const spread = Object.fromEntries(keys.map((key) => {
        const values = EMOTIONS.map((em) => e[em][key]);
        const m = mean(values);
        return [key, Math.sqrt(mean(values.map((v) => (v - m) ** 2)))];
      }));
      for (let a = 0; a < EMOTIONS.length; a++) {
        for (let b = a + 1; b < EMOTIONS.length; b++) {
          const [p, q] = [e[EMOTIONS[a]], e[EMOTIONS[b]]];
          const distance = Math.sqrt(keys.reduce((sum, key) => sum + ((p[key] - q[key]) / spread[key]) ** 2, 0));
          assert.ok(distance > 0.5, `${who}: ${EMOTIONS[a]} and ${EMOTIONS[b]} too alike (distance ${distance.toFixed(2)})`);
        }
      }
    }
  });

  it('is deterministic: the same seed gives byte-identical clips, whatever the number of jobs', async () => {
    const again = path.join(tmp, 'again');
    const r = await synthesizeCorpus(again, { actors: 1, seed: 1, jobs: 1 });
    assert.equal(r.files, 60);
    assert.deepEqual(clipHashes(again, 'Actor_01'), clipHashes(corpus, 'Actor_01'));
    // Another seed: another corpus.
    const other = path.join(tmp, 'other');
    await synthesizeCorpus(other, { actors: 1, seed: 2 });
    const [a, b] = [clipHashes(other, 'Actor_01'), clipHashes(corpus, 'Actor_01')];
    assert.ok(Object.keys(a).every((name) => a[name] !== b[name]), 'seed 2 differs from seed 1 in every clip');
  });

  it('skips a finished corpus, refuses a different one unless forced', async () => {
    const before = fs.statSync(path.join(corpus, 'synth.json')).mtimeMs;
    const again = await synthesizeCorpus(corpus, { actors: 2, seed: 1 });
    assert.equal(again.skipped, true);
    assert.equal(again.written, 0);
    assert.equal(again.files, 120);
    assert.equal(fs.statSync(path.join(corpus, 'synth.json')).mtimeMs, before);

    await assert.rejects(synthesizeCorpus(corpus, { actors: 2, seed: 9 }), (error) => {
      assert.equal(error.name, 'EmoError');
      assert.equal(error.code, 'ERR_INVALID_CONFIG');
      assert.match(error.message, /different synthetic corpus \(seed 1, 2 actors; asked for seed 9, 2 actors\).*--force/);
      return true;
    });
    await assert.rejects(synthesizeCorpus(corpus, { actors: 1, seed: 1 }), { code: 'ERR_INVALID_CONFIG' });

    // Forced: replaced, and the clips of the old corpus's second actor are gone.
    const copy = path.join(tmp, 'copy');
    fs.cpSync(corpus, copy, { recursive: true });
    const forced = await synthesizeCorpus(copy, { actors: 1, seed: 2, force: true });
    assert.equal(forced.written, 60);
    assert.deepEqual(fs.readdirSync(copy).sort(), ['Actor_01', 'synth.json']);
    assert.deepEqual(clipHashes(copy, 'Actor_01'), clipHashes(path.join(tmp, 'other'), 'Actor_01'));
    assert.equal(JSON.parse(fs.readFileSync(path.join(copy, 'synth.json'), 'utf8')).seed, 2);
  });

  it('an interrupted run leaves no manifest and no partial clips, and the next run resumes it exactly', async () => {
    const dir = path.join(tmp, 'interrupted');
    let seen = 0;
    await assert.rejects(
      synthesizeCorpus(dir, {
        actors: 1,
        seed: 1,
        jobs: 2,
        onProgress: () => {
          if (++seen === 20) throw new Error('interrupted');
        },
      }),
      /interrupted/,
    );
    assert.equal(fs.existsSync(path.join(dir, 'synth.json')), false, 'no manifest after an interruption');
    const names = fs.readdirSync(path.join(dir, 'Actor_01'));
    assert.ok(names.length >= 20 && names.length < 60, `${names.length} clips`);
    assert.ok(names.every((n) => NAME.test(n)), 'only complete clips under their final names');
    // A different corpus must not be mixed into the half-written one.
    await assert.rejects(synthesizeCorpus(dir, { actors: 1, seed: 2 }), { code: 'ERR_INVALID_CONFIG' });

    const progress = [];
    const resumed = await synthesizeCorpus(dir, { actors: 1, seed: 1, onProgress: (p) => progress.push(p) });
    assert.equal(resumed.files, 60);
    assert.equal(resumed.written, 60 - names.length);
    assert.equal(progress.length, resumed.written);
    assert.deepEqual(progress.at(-1), { done: resumed.written, total: resumed.written, file: progress.at(-1).file });
    assert.deepEqual(clipHashes(dir, 'Actor_01'), clipHashes(corpus, 'Actor_01'));
    assert.deepEqual(fs.readdirSync(dir).sort(), ['Actor_01', 'synth.json']);
  });

  it('refuses Actor_* folders it did not make, unless forced', async () => {
    const dir = path.join(tmp, 'foreign');
    fs.mkdirSync(path.join(dir, 'Actor_01'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'Actor_01', 'notes.txt'), 'mine');
    await assert.rejects(synthesizeCorpus(dir, { actors: 1 }), { code: 'ERR_INVALID_CONFIG', message: /not a corpus made by emo synth/ });
    // Forced: the corpus is written, and files that are not clips are left alone.
    const forced = await synthesizeCorpus(dir, { actors: 1, force: true });
    assert.equal(forced.written, 60);
    assert.equal(fs.readFileSync(path.join(dir, 'Actor_01', 'notes.txt'), 'utf8'), 'mine');
    assert.deepEqual(clipHashes(dir, 'Actor_01'), { ...clipHashes(corpus, 'Actor_01'), 'notes.txt': sha256(path.join(dir, 'Actor_01', 'notes.txt')) });
  });

  it('validates its options in the project style', async () => {
    await assert.rejects(synthesizeCorpus(42), { name: 'TypeError', message: 'Expected a directory path string for outDir but received 42 of type number' });
    await assert.rejects(synthesizeCorpus(tmp, { actors: 0 }), { name: 'RangeError', message: 'Expected an integer between 1 and 24 for options.actors but received 0 of type number' });
    await assert.rejects(synthesizeCorpus(tmp, { actors: 2.5 }), { name: 'RangeError' });
    await assert.rejects(synthesizeCorpus(tmp, { seed: '1' }), { name: 'TypeError', message: /for options.seed but received '1' of type string/ });
    await assert.rejects(synthesizeCorpus(tmp, { jobs: 0 }), { name: 'RangeError', message: /options.jobs/ });
    await assert.rejects(synthesizeCorpus(tmp, { onProgress: 1 }), { name: 'TypeError', message: /a function for options.onProgress/ });
    await assert.rejects(synthesizeCorpus(tmp, { actor: 2 }), { name: 'TypeError', message: /Unknown option 'actor' in options \(did you mean 'actors'\?\)/ });
  });

  it('reports missing tools with the install command', async () => {
    const saved = process.env.PATH;
    process.env.PATH = path.join(tmp, 'no-such-dir');
    try {
      await assert.rejects(synthesizeCorpus(path.join(tmp, 'nothing'), { actors: 1 }), (error) => {
        assert.equal(error.code, 'ERR_MISSING_TOOL');
        assert.match(error.message, /espeak-ng and sox are not installed.*apt-get install -y espeak-ng sox/);
        return true;
      });
    } finally {
      process.env.PATH = saved;
    }
    assert.equal(fs.existsSync(path.join(tmp, 'nothing')), false, 'nothing written');
    const r = spawnSync(process.execPath, [cli, 'synth', path.join(tmp, 'nothing'), '--actors', '1'], { encoding: 'utf8', env: { ...process.env, PATH: path.join(tmp, 'no-such-dir') } });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /apt-get install -y espeak-ng sox/);
  });

  it('CLI: writes, then skips; usage errors exit 2', () => {
    const dir = path.join(tmp, 'cli');
    const first = emo(['synth', dir, '--actors', '1', '--seed', '1', '--jobs', '2']);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /wrote 60 clips \(1 actor, seed 1\)/);
    assert.deepEqual(clipHashes(dir, 'Actor_01'), clipHashes(corpus, 'Actor_01'));
    const second = emo(['synth', dir, '--actors', '1']);
    assert.equal(second.code, 0);
    assert.match(second.stdout, /already holds this corpus/);
    const refused = emo(['synth', dir, '--actors', '1', '--seed', '4']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /--force/);

    for (const args of [[], ['--actors', '2'], [dir, dir], [dir, '--actors', '0'], [dir, '--actors', '25'], [dir, '--actors', 'two'], [dir, '--seed', '-1'], [dir, '--jobs', '0'], [dir, '--jobs', '1.5'], [dir, '--bogus']]) {
      const r = emo(['synth', ...args]);
      assert.equal(r.code, 2, `emo synth ${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /Usage: emo synth <outDir>/);
    }
    const help = emo(['synth', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--actors N/);
    assert.match(emo(['--help']).stdout, /synth <outDir>/);
  });
});
