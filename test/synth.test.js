'use strict';
// The synthetic corpus: layout and naming, WAV format, silences, emotion cues
// measured with simple prosody features, determinism, resume/skip/refuse, CLI.
const assert = require('node:assert/strict');
const { skipBecause } = require('./helpers/skips');
const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const cli = path.join(root, 'dist', 'cli', 'main.js');
const { planCorpus, synthesizeCorpus } = require('../dist/data/synth');

const EMOTIONS = ['neutral', 'calm', 'happy', 'sad', 'angry', 'fearful', 'disgust', 'surprised'];
const NAME = /^03-01-(0[1-8])-(0[12])-(0[12])-(0[12])-(\d\d)\.wav$/;

function haveTools() {
  const missing = ['espeak-ng', 'sox', 'festival'].filter((tool) => spawnSync(tool, ['--version']).error);
  return missing.length === 0 ? null : `${missing.join(' and ')} not installed (apt-get install -y espeak-ng sox festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts)`;
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

describe('emo synth: the recording chain carries no information about the emotion', () => {
  // A nearest-centroid classifier trained on actors 1-18 and tested on 19-24 of the plan: from
  // the recording chain it must do no better than chance (1/8), from the prosody (the check
  // that this test can see a class when there is one) far better.
  function centroidAccuracy(plans, features) {
    const train = plans.filter((p) => p.actor.actor <= 18);
    const test = plans.filter((p) => p.actor.actor > 18);
    const dims = features(plans[0]).length;
    const stats = Array.from({ length: dims }, (_, d) => {
      const v = train.map((p) => features(p)[d]);
      const m = mean(v);
      return { m, s: Math.sqrt(mean(v.map((u) => (u - m) ** 2))) || 1 };
    });
    const z = (p) => features(p).map((v, d) => (v - stats[d].m) / stats[d].s);
    const centroids = EMOTIONS.map((e) => {
      const rows = train.filter((p) => p.emotion === e).map(z);
      return Array.from({ length: dims }, (_, d) => mean(rows.map((r) => r[d])));
    });
    let right = 0;
    for (const p of test) {
      const v = z(p);
      const distances = centroids.map((c) => c.reduce((a, u, d) => a + (u - v[d]) ** 2, 0));
      if (EMOTIONS[distances.indexOf(Math.min(...distances))] === p.emotion) right++;
    }
    return right / test.length;
  }

  it('a classifier on the chain is at chance, one on the prosody is not', () => {
    const plans = planCorpus({ actors: 24, seed: 1 });
    const chain = (p) => {
      const c = p.chain;
      return [c.reverb ? 1 : 0, c.reverb?.reverberance ?? 0, c.phone ? 1 : 0, c.lowpassHz ?? 24000, c.bassDb, c.trebleDb, c.noise ? 1 : 0, c.noise?.snrDb ?? 60, c.gainDb];
    };
    const prosody = (p) => [p.prosody.levelDb, p.prosody.range, p.prosody.head.pitch, p.prosody.tail.pitch, p.prosody.wordGap];
    const fromChain = centroidAccuracy(plans, chain);
    const fromProsody = centroidAccuracy(plans, prosody);
    assert.ok(fromChain < 0.2, `emotion from the recording chain: ${(100 * fromChain).toFixed(1)} %`);
    assert.ok(fromProsody > 0.5, `emotion from the prosody: ${(100 * fromProsody).toFixed(1)} %`);
    // And every effect occurs for every emotion.
    for (const e of EMOTIONS) {
      const mine = plans.filter((p) => p.emotion === e);
      for (const [name, has] of [['reverb', (p) => p.chain.reverb], ['phone', (p) => p.chain.phone], ['bandwidth', (p) => p.chain.lowpassHz], ['noise', (p) => p.chain.noise]]) {
        assert.ok(mine.some(has), `${e}: no clip with ${name}`);
      }
    }
  });

  it('with both engines, actor pairs alternate between espeak-ng and festival; chain [] records dry', () => {
    const plans = planCorpus({ actors: 8, seed: 1 });
    const engines = [...new Set(plans.map((p) => `${p.actor.actor}:${p.actor.engine}`))];
    assert.deepEqual(engines, ['1:espeak', '2:espeak', '3:festival', '4:festival', '5:espeak', '6:espeak', '7:festival', '8:festival']);
    assert.ok(planCorpus({ actors: 2, seed: 1, engines: ['festival'] }).every((p) => p.actor.engine === 'festival'));
    for (const p of planCorpus({ actors: 2, seed: 1, chain: [] })) {
      assert.deepEqual(p.chain, { phone: false, bassDb: 0, trebleDb: 0, gainDb: 0 });
    }
  });
});

describe('emo synth (synthetic RAVDESS-style corpus)', function () {
  // Two 4-actor corpora in the hook (about a minute on 2 cores), more on a busy machine.
  this.timeout(400000);
  let tmp;
  let corpus;
  let dry;
  let result;

  before(async function () {
    const missing = haveTools();
    if (missing) {
      return skipBecause(this, String(missing));
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'emo-synth-'));
    // Actors 1-2 speak with espeak-ng, 3-4 with festival (the kal diphone voice and the slt HTS voice).
    corpus = path.join(tmp, 'corpus');
    result = await synthesizeCorpus(corpus, { actors: 4, seed: 1 });
    // The same voices recorded dry: the emotion cues measured without the recording chain.
    dry = path.join(tmp, 'dry');
    await synthesizeCorpus(dry, { actors: 4, seed: 1, chain: [] });
  });
  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('writes 60 clips per actor with RAVDESS names, and the manifest', () => {
    assert.equal(result.files, 240);
    assert.equal(result.written, 240);
    assert.equal(result.skipped, false);
    assert.equal(result.dir, path.resolve(corpus));
    assert.deepEqual(fs.readdirSync(corpus).sort(), ['Actor_01', 'Actor_02', 'Actor_03', 'Actor_04', 'synth.json']);
    for (const actor of [1, 2, 3, 4]) {
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
    assert.equal(manifest.actors, 4);
    assert.equal(manifest.files, 240);
    assert.deepEqual(manifest.engines, ['espeak', 'festival']);
    assert.deepEqual(manifest.chain, ['reverb', 'phone', 'bandwidth', 'eq', 'noise', 'gain']);
    assert.deepEqual(Object.keys(manifest.emotions), EMOTIONS);
    assert.deepEqual(
      manifest.voices.map((v) => [v.sex, v.engine]),
      [['male', 'espeak'], ['female', 'espeak'], ['male', 'festival'], ['female', 'festival']],
    );
    assert.equal(new Set(manifest.voices.map((v) => v.voice)).size, 4);
    for (const tool of ['espeak-ng', 'sox', 'festival']) assert.match(manifest.tools[tool], /\d/);
  });

  it('every clip is 48 kHz mono 16-bit PCM, 2.5-6 s, with a quiet (not digitally silent) ~0.5 s lead-in', () => {
    for (const actor of ['Actor_01', 'Actor_02', 'Actor_03', 'Actor_04']) {
      for (const name of fs.readdirSync(path.join(dry, actor))) {
        const wav = readWav(path.join(dry, actor, name));
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

  it('gives each emotion distinct, plausible prosody (level, rate, brightness, pitch, contour), with both engines', () => {
    for (const actor of [1, 2, 3, 4]) {
      // Per emotion, the mean features of the strong clips (neutral: its only intensity).
      const byEmotion = {};
      const normal = {};
      for (const [k, emotion] of EMOTIONS.entries()) {
        const pick = (intensity) =>
          [1, 2].flatMap((statement) =>
            [1, 2].map((rep) => {
              const name = `03-01-0${k + 1}-0${intensity}-0${statement}-0${rep}-0${actor}.wav`;
              return prosodyFeatures(readWav(path.join(dry, `Actor_0${actor}`, name)).x);
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
      // festival's HTS voice (actor 4) keeps its own intonation, so its pitch range is not controlled; and
      // with festival the sad fall between the phrases outweighs the flattened phrases in this measure.
      if (actor <= 2) assert.ok(e.sad.spread < e.neutral.spread && e.sad.spread < e.happy.spread - 2, `${who}: sad monotone`);
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

  it('records each clip through its own recording chain: background noise at the planned level', () => {
    // The speech level is set to the prosody's level plus the chain's gain, the noise that many dB
    // (the SNR) below it; the lead-in holds only noise, so its level is measured exactly.
    const plans = planCorpus({ actors: 4, seed: 1 });
    const noisy = plans.filter((p) => p.chain.noise && !p.chain.reverb && p.chain.noise.snrDb < 25);
    let measured = 0;
    for (const plan of noisy) {
      const { x } = readWav(path.join(corpus, plan.file));
      // The level is set before the soft limiter: skip the loud clips it bent.
      if (x.some((v) => Math.abs(v) > 0.9)) continue;
      measured++;
      const lead = x.subarray(0, 0.4 * SR);
      const noise = db(Math.sqrt(lead.reduce((a, v) => a + v * v, 0) / lead.length));
      const speech = plan.prosody.levelDb + plan.chain.gainDb;
      // The background noise plus the actor's room tone, as powers.
      const planned = 10 * Math.log10(10 ** ((speech - plan.chain.noise.snrDb) / 10) + 10 ** (plan.actor.noiseDb / 10));
      // (0.4 s of brown noise is few independent samples: its measured level varies by a dB or two.)
      assert.ok(Math.abs(noise - planned) < 2.5, `${plan.file}: noise at ${noise.toFixed(1)} dBFS, planned ${planned.toFixed(1)}`);
      // And the speech near its planned level (this measure counts quieter frames than the generator's,
      // and a tremolo's troughs).
      assert.ok(Math.abs(prosodyFeatures(x).level - speech) < 8, `${plan.file}: speech level`);
    }
    assert.ok(measured > 15, `${measured} clips measured`);
    // The dry corpus has the same voices without the chain: the clips differ.
    assert.notEqual(sha256(path.join(corpus, noisy[0].file)), sha256(path.join(dry, noisy[0].file)));
  });

  it('is deterministic: the same seed gives byte-identical espeak-ng clips, whatever the number of jobs', async () => {
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
    const again = await synthesizeCorpus(corpus, { actors: 4, seed: 1 });
    assert.equal(again.skipped, true);
    assert.equal(again.written, 0);
    assert.equal(again.files, 240);
    assert.equal(fs.statSync(path.join(corpus, 'synth.json')).mtimeMs, before);

    const again2 = await synthesizeCorpus(corpus, { actors: 4, seed: 1 });
    assert.equal(again2.skipped, true);
    await assert.rejects(synthesizeCorpus(corpus, { actors: 4, seed: 9 }), (error) => {
      assert.equal(error.name, 'EmoError');
      assert.equal(error.code, 'ERR_INVALID_CONFIG');
      assert.match(error.message, /different synthetic corpus \(seed 1, 4 actors, engines espeak\+festival, chain reverb\+phone\+bandwidth\+eq\+noise\+gain; asked for seed 9, 4 actors, .*\).*--force/);
      return true;
    });
    // Another engine or chain is another corpus too.
    await assert.rejects(synthesizeCorpus(corpus, { actors: 4, seed: 1, engines: ['espeak'] }), { code: 'ERR_INVALID_CONFIG', message: /asked for seed 1, 4 actors, engines espeak, chain/ });
    await assert.rejects(synthesizeCorpus(corpus, { actors: 4, seed: 1, chain: [] }), { code: 'ERR_INVALID_CONFIG', message: /chain none/ });
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
    await assert.rejects(synthesizeCorpus(tmp, { engines: 'espeak' }), { name: 'TypeError', message: /options.engines/ });
    await assert.rejects(synthesizeCorpus(tmp, { engines: [] }), { name: 'RangeError', message: /non-empty list for options.engines/ });
    await assert.rejects(synthesizeCorpus(tmp, { engines: ['mbrola'] }), { name: 'RangeError', message: /one of 'espeak', 'festival' for options.engines\[0\] but received 'mbrola'/ });
    await assert.rejects(synthesizeCorpus(tmp, { chain: ['echo'] }), { name: 'RangeError', message: /options.chain\[0\] but received 'echo'/ });
  });

  it('reports missing tools with the install command', async () => {
    const saved = process.env.PATH;
    process.env.PATH = path.join(tmp, 'no-such-dir');
    try {
      await assert.rejects(synthesizeCorpus(path.join(tmp, 'nothing'), { actors: 1 }), (error) => {
        assert.equal(error.code, 'ERR_MISSING_TOOL');
        assert.match(error.message, /needs espeak-ng, sox and festival, but they are not installed.*apt-get install -y espeak-ng sox festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts/);
        return true;
      });
    } finally {
      process.env.PATH = saved;
    }
    assert.equal(fs.existsSync(path.join(tmp, 'nothing')), false, 'nothing written');
    const r = spawnSync(process.execPath, [cli, 'synth', path.join(tmp, 'nothing'), '--actors', '1'], { encoding: 'utf8', env: { ...process.env, PATH: path.join(tmp, 'no-such-dir') } });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /apt-get install -y espeak-ng sox festival/);
    // One engine needs only its own tools: festival alone names festival and sox, not espeak-ng.
    process.env.PATH = path.join(tmp, 'no-such-dir');
    try {
      await assert.rejects(synthesizeCorpus(path.join(tmp, 'nothing'), { actors: 1, engines: ['festival'] }), { code: 'ERR_MISSING_TOOL', message: /needs sox and festival, but/ });
    } finally {
      process.env.PATH = saved;
    }
  });

  it('reports a festival without its voices with the install command', async () => {
    // A festival that knows no voices: a stand-in script on PATH before the real one.
    const bin = path.join(tmp, 'fake-festival');
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(bin, 'festival'), '#!/bin/sh\nif [ "$1" = "--version" ]; then echo "festival: Festival Speech Synthesis System: 2.5.0:release"; else cat >/dev/null; echo "(rab_diphone)"; fi\n', { mode: 0o755 });
    const saved = process.env.PATH;
    process.env.PATH = `${bin}:${saved}`;
    try {
      await assert.rejects(synthesizeCorpus(path.join(tmp, 'voiceless'), { actors: 4 }), (error) => {
        assert.equal(error.code, 'ERR_MISSING_TOOL');
        assert.match(error.message, /festival is installed but not its voices kal_diphone, ked_diphone, cmu_us_slt_arctic_hts.*apt-get install -y festival festvox-kallpc16k/);
        return true;
      });
    } finally {
      process.env.PATH = saved;
    }
    assert.equal(fs.existsSync(path.join(tmp, 'voiceless')), false, 'nothing written');
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

    for (const args of [[], ['--actors', '2'], [dir, dir], [dir, '--actors', '0'], [dir, '--actors', '25'], [dir, '--actors', 'two'], [dir, '--seed', '-1'], [dir, '--jobs', '0'], [dir, '--jobs', '1.5'], [dir, '--bogus'], [dir, '--engines', 'mbrola'], [dir, '--engines', ''], [dir, '--chain', 'echo']]) {
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
