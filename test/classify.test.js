'use strict';
// emo classify: folders of mixed recordings → rows (jsonl, csv, table), errors per file, resume.
// Needs sox (to make a FLAC) and ffmpeg (to decode it); scripts/setup.sh installs both.
const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const tf = require('@tensorflow/tfjs-core');
const { parse } = require('csv-parse/sync');
require('../dist/nn'); // registers the emo-native tfjs backend
const emo = require('../dist');
const { makeWav } = require('./helpers/wav');
const { sharpenedOnnxModel, voice } = require('./helpers/model');

const root = path.join(__dirname, '..');
const cli = path.join(root, 'dist', 'cli', 'main.js');
const EMOTIONS = ['neutral', 'calm', 'happy', 'sad', 'angry', 'fearful', 'disgust', 'surprised'];

describe('emo classify', function () {
  this.timeout(300_000);
  let tmp;
  let model;
  let mixed;

  const run = (args, options = {}) => spawnSync(process.execPath, [cli, 'classify', ...args, '--model', model], { encoding: 'utf8', ...options });
  const jsonl = (file) => fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));

  before(async () => {
    assert.ok(await tf.setBackend('emo-native'));
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'emo-classify-'));
    model = path.join(tmp, 'model.onnx');
    fs.writeFileSync(model, await sharpenedOnnxModel(3));

    // The mixed folder: good WAVs at several rates in nested folders, a truncated WAV, a text file
    // named .wav, an empty file, a FLAC made with sox, a long recording and a symbolic link loop.
    mixed = path.join(tmp, 'mixed');
    fs.mkdirSync(path.join(mixed, 'a', 'b'), { recursive: true });
    fs.writeFileSync(path.join(mixed, 'good1.wav'), makeWav([voice(3.4, 48000, 1)], { sampleRate: 48000 }));
    fs.writeFileSync(path.join(mixed, 'a', 'good2.wav'), makeWav([voice(3.2, 16000, 2)], { sampleRate: 16000 }));
    fs.writeFileSync(path.join(mixed, 'a', 'b', 'good3.WAV'), makeWav([voice(3.3, 44100, 3), voice(3.3, 44100, 4)], { sampleRate: 44100 }));
    const whole = makeWav([voice(3.4, 22050, 5)], { sampleRate: 22050 });
    fs.writeFileSync(path.join(mixed, 'a', 'truncated.wav'), whole.subarray(0, Math.floor(whole.length * 0.6)));
    fs.writeFileSync(path.join(mixed, 'a', 'notes.wav'), 'a text file, not a recording\n');
    fs.writeFileSync(path.join(mixed, 'empty.wav'), '');
    fs.writeFileSync(path.join(mixed, 'a', 'README.txt'), 'not audio: ignored by extension\n');
    const source = path.join(tmp, 'for-flac.wav');
    fs.writeFileSync(source, makeWav([voice(3.4, 48000, 6)], { sampleRate: 48000 }));
    const sox = spawnSync('sox', [source, path.join(mixed, 'a', 'b', 'speech.flac')]);
    assert.equal(sox.status, 0, `sox: ${sox.stderr}`);
    fs.writeFileSync(path.join(mixed, 'long.wav'), makeWav([voice(9, 16000, 7)], { sampleRate: 16000 }));
    fs.symlinkSync('..', path.join(mixed, 'a', 'loop'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('writes one row per file in sorted order, errors where due, and exits 1', async () => {
    const out = path.join(tmp, 'mixed.jsonl');
    const r = run([mixed, '--out', out]);
    assert.equal(r.status, 1, r.stderr);
    const rows = jsonl(out);
    const rel = (row) => path.relative(mixed, row.file);
    assert.deepEqual(rows.map(rel), ['a/b/good3.WAV', 'a/b/speech.flac', 'a/good2.wav', 'a/notes.wav', 'a/truncated.wav', 'empty.wav', 'good1.wav', 'long.wav']);
    const by = Object.fromEntries(rows.map((row) => [rel(row), row]));
    assert.deepEqual(by['a/notes.wav'].error.code, 'ERR_WAV_NOT_RIFF');
    assert.deepEqual(by['empty.wav'].error.code, 'ERR_WAV_EMPTY');
    assert.equal(by['a/truncated.wav'].truncated, true);
    for (const name of ['a/b/good3.WAV', 'a/b/speech.flac', 'a/good2.wav', 'good1.wav', 'long.wav']) {
      const row = by[name];
      assert.deepEqual(Object.keys(row).slice(0, 5), ['file', 'label', 'confidence', 'probabilities', 'attention'], name);
      assert.ok(EMOTIONS.includes(row.label));
      assert.equal(row.confidence, row.probabilities[row.label]);
      assert.equal(row.attention.length, 7);
    }
    // Rows carry what the API computes for the same bytes (six significant digits).
    const clf = await emo.loadClassifier(model);
    const api = await clf.classify(fs.readFileSync(path.join(mixed, 'good1.wav')));
    for (const l of EMOTIONS) assert.equal(by['good1.wav'].probabilities[l], Number(api.probabilities[l].toPrecision(6)));
    // The FLAC (through ffmpeg) holds the very samples of its 16-bit source WAV: same result.
    const fromWav = await clf.classify(fs.readFileSync(path.join(tmp, 'for-flac.wav')));
    for (const l of EMOTIONS) assert.equal(by['a/b/speech.flac'].probabilities[l], Number(fromWav.probabilities[l].toPrecision(6)));
    await clf.close();
    // The long recording gets its windows by default; the 3.4-s clips do not.
    assert.deepEqual(
      by['long.wav'].segments.map((s) => [s.start, s.end]),
      [[0.5, 3.5], [2, 5], [3.5, 6.5], [5, 8], [6.5, 9]],
    );
    assert.deepEqual(Object.keys(by['long.wav'].segments[0]), ['start', 'end', 'label', 'confidence']);
    assert.equal(by['good1.wav'].segments, undefined);
    // Problems are reported on stderr, with the summary; the loop is not followed.
    assert.match(r.stderr, /a\/loop: a symbolic link loop/);
    assert.match(r.stderr, /notes\.wav: .*ERR_WAV_NOT_RIFF/);
    assert.match(r.stderr, /8 files: 6 classified, 2 failed; 1 folder not read; .* files\/s; rows in/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  it('a folder it could not read makes the exit code 1, even when every file found was classified', () => {
    const dir = path.join(tmp, 'good-and-a-loop');
    fs.mkdirSync(path.join(dir, 'inner'), { recursive: true });
    fs.copyFileSync(path.join(mixed, 'good1.wav'), path.join(dir, 'good1.wav'));
    fs.symlinkSync('..', path.join(dir, 'inner', 'back'));
    const r = run([dir, '--format', 'jsonl']);
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stdout.trim().split('\n').length, 1);
    assert.match(r.stderr, /1 files: 1 classified, 0 failed; 1 folder not read/);
    // Without the loop, the same file: exit 0.
    fs.rmSync(path.join(dir, 'inner', 'back'));
    assert.equal(run([dir, '--format', 'jsonl']).status, 0);
  });

  it("takes every value a flag's range allows, its ends included: --window 3, --hop 0.05", () => {
    const r = run([path.join(mixed, 'long.wav'), '--format', 'jsonl', '--window', '3', '--hop', '3600']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).segments.length, 1);
    const tiny = run([path.join(mixed, 'good1.wav'), '--format', 'jsonl', '--timeline', '--window', '0.1', '--hop', '0.05']);
    assert.equal(tiny.status, 0, tiny.stderr);
    assert.equal(run([path.join(mixed, 'good1.wav'), '--window', '3.01']).status, 2);
    assert.equal(run([path.join(mixed, 'good1.wav'), '--hop', '0.04']).status, 2);
  });

  it('writes csv with the header file,label,confidence,<labels> and one row per window after a file row', () => {
    const out = path.join(tmp, 'mixed.csv');
    const r = run([mixed, '--out', out, '--timeline', '--hop', '3']);
    assert.equal(r.status, 1, r.stderr);
    const text = fs.readFileSync(out, 'utf8');
    assert.equal(text.split('\n')[0], `file,label,confidence,${EMOTIONS.join(',')},start,end,error`);
    const records = parse(text, { columns: true });
    const of = (name) => records.filter((x) => x.file.endsWith(name));
    // --timeline: every classified file has a whole-file row and its windows.
    assert.deepEqual(of('good1.wav').map((x) => [x.start, x.end]), [['', ''], ['0.5', '3.4']]);
    assert.deepEqual(of('long.wav').map((x) => [x.start, x.end]), [['', ''], ['0.5', '3.5'], ['3.5', '6.5'], ['6.5', '9']]);
    assert.match(of('notes.wav')[0].error, /^ERR_WAV_NOT_RIFF: /);
    assert.equal(of('notes.wav')[0].label, '');
    for (const x of records.filter((y) => y.label !== '')) {
      const sum = EMOTIONS.reduce((s, l) => s + Number(x[l]), 0);
      assert.ok(Math.abs(sum - 1) < 1e-4, `${x.file} ${x.start}`);
      assert.equal(Number(x.confidence), Number(x[x.label]));
    }
  });

  it('decodes other formats only through ffmpeg, and says so when it is missing', () => {
    const out = path.join(tmp, 'noffmpeg.jsonl');
    const r = run([path.join(mixed, 'a', 'b'), '--out', out], { env: { ...process.env, EMO_FFMPEG: path.join(tmp, 'no-such-ffmpeg') } });
    assert.equal(r.status, 1);
    const rows = jsonl(out);
    assert.equal(rows.length, 2);
    const flac = rows.find((x) => x.file.endsWith('speech.flac'));
    assert.equal(flac.error.code, 'ERR_MISSING_TOOL');
    assert.match(flac.error.message, /ffmpeg/);
    assert.ok(rows.find((x) => x.file.endsWith('good3.WAV')).label, 'the WAV still classifies');
    // A FLAC named .wav is a FLAC: it needs ffmpeg too.
    const disguised = path.join(tmp, 'disguised.wav');
    fs.copyFileSync(path.join(mixed, 'a', 'b', 'speech.flac'), disguised);
    const d = run([disguised, '--format', 'jsonl'], { env: { ...process.env, EMO_FFMPEG: path.join(tmp, 'no-such-ffmpeg') } });
    assert.equal(d.status, 1);
    assert.equal(JSON.parse(d.stdout).error.code, 'ERR_MISSING_TOOL');
  });

  it('decodes a file by what it is, not by its name', async () => {
    const dir = path.join(tmp, 'by-content');
    fs.mkdirSync(dir);
    const source = path.join(tmp, 'for-flac.wav');
    const sox = (...args) => assert.equal(spawnSync('sox', args).status, 0, `sox ${args.join(' ')}`);
    // FLAC and AIFF (lossless, made by sox) named .wav; a WAV named .mp3; a mu-law WAV; a WAV whose
    // format tag no decoder knows.
    fs.copyFileSync(path.join(mixed, 'a', 'b', 'speech.flac'), path.join(dir, 'flac.wav'));
    sox(source, path.join(tmp, 'speech.aiff'));
    fs.copyFileSync(path.join(tmp, 'speech.aiff'), path.join(dir, 'aiff.wav'));
    fs.copyFileSync(source, path.join(dir, 'wav.mp3'));
    sox(source, '-e', 'u-law', '-b', '8', path.join(dir, 'mulaw.wav'));
    const unknown = Buffer.from(fs.readFileSync(source));
    unknown.writeUInt16LE(0x1234, 20);
    fs.writeFileSync(path.join(dir, 'codec.wav'), unknown);
    const out = path.join(tmp, 'by-content.jsonl');
    const r = run([dir, '--out', out]);
    assert.equal(r.status, 1, r.stderr);
    const by = Object.fromEntries(jsonl(out).map((row) => [path.basename(row.file), row]));
    const clf = await emo.loadClassifier(model);
    const fromWav = await clf.classify(fs.readFileSync(source));
    await clf.close();
    // The lossless copies hold the very samples of the 16-bit source: the same result.
    for (const name of ['flac.wav', 'aiff.wav', 'wav.mp3']) {
      for (const l of EMOTIONS) assert.equal(by[name].probabilities[l], Number(fromWav.probabilities[l].toPrecision(6)), `${name}: ${l}`);
    }
    assert.ok(EMOTIONS.includes(by['mulaw.wav'].label), 'mu-law is decoded by ffmpeg');
    assert.equal(by['codec.wav'].error.code, 'ERR_WAV_UNSUPPORTED_FORMAT');
    assert.match(by['codec.wav'].error.message, /format tag 0x1234/);
  });

  it('--resume after a run killed mid-way completes with every file exactly once', async () => {
    const corpus = path.join(tmp, 'many');
    fs.mkdirSync(corpus);
    for (let i = 0; i < 48; i++) fs.writeFileSync(path.join(corpus, `clip${String(i).padStart(2, '0')}.wav`), makeWav([voice(3.2, 16000, 100 + i)], { sampleRate: 16000 }));
    const reference = path.join(tmp, 'reference.jsonl');
    assert.equal(run([corpus, '--out', reference, '--batch', '2']).status, 0);

    const out = path.join(tmp, 'killed.jsonl');
    const child = spawn(process.execPath, [cli, 'classify', corpus, '--out', out, '--batch', '2', '--model', model], { stdio: 'ignore' });
    await new Promise((resolve, reject) => {
      const poll = setInterval(() => {
        const lines = fs.existsSync(out) ? fs.readFileSync(out, 'utf8').split('\n').length - 1 : 0;
        if (lines >= 10) {
          clearInterval(poll);
          child.kill('SIGKILL');
          resolve();
        }
      }, 5);
      child.on('exit', () => {
        clearInterval(poll);
        reject(new Error('the run finished before it could be killed'));
      });
    });
    await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.on('exit', resolve)));
    const before = fs.readFileSync(out, 'utf8').split('\n').length - 1;
    assert.ok(before < 48, `killed after ${before} rows`);
    // A row cut in the middle by a crash is dropped and redone.
    fs.appendFileSync(out, '{"file":"half a ro');
    const r = run([corpus, '--out', out, '--resume', '--batch', '2']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`resuming: ${before} of 48 files`));
    const rows = jsonl(out);
    assert.equal(rows.length, 48);
    assert.equal(new Set(rows.map((x) => x.file)).size, 48);
    const sorted = (list) => [...list].sort((a, b) => (a.file < b.file ? -1 : 1));
    assert.deepEqual(sorted(rows), sorted(jsonl(reference)));
    // Resuming a complete output does nothing.
    const again = run([corpus, '--out', out, '--resume']);
    assert.equal(again.status, 0);
    assert.equal(jsonl(out).length, 48);
  });

  it('takes a bundled model by name (--model synth, --model ravdess); without --model, ravdess', () => {
    const rows = {};
    for (const model of ['synth', 'ravdess', undefined]) {
      const r = spawnSync(process.execPath, [cli, 'classify', path.join(mixed, 'good1.wav'), ...(model ? ['--model', model] : []), '--format', 'jsonl'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      rows[model ?? 'default'] = JSON.parse(r.stdout).probabilities;
    }
    assert.deepEqual(rows.default, rows.ravdess, 'the default model is ravdess');
    assert.notDeepEqual(rows.synth, rows.ravdess);
  });

  it('prints a table for people, and checks its command line (exit 2)', () => {
    const r = run([path.join(mixed, 'good1.wav'), path.join(mixed, 'long.wav'), '--format', 'table']);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0], /^file\s+label\s+confidence\s+runner-up$/);
    assert.match(lines[1], /good1\.wav\s+\w+\s+[\d.]+%\s+\w+ [\d.]+%/);
    assert.match(lines[3], /^\s+0\.5-3\.5 s\s+\w+\s+[\d.]+%$/);
    for (const args of [['--format', 'xml'], ['--resume'], ['--batch', '0'], ['--window', '5'], ['--hop', 'x'], ['--provider', 'tpu'], ['--threads', '1.5'], []]) {
      const bad = run(args.length ? [mixed, ...args] : args);
      assert.equal(bad.status, 2, `${args.join(' ')}: ${bad.stderr}`);
      assert.match(bad.stderr, /Usage: emo classify/);
    }
    const noModel = spawnSync(process.execPath, [cli, 'classify', mixed, '--model', path.join(tmp, 'none.onnx')], { encoding: 'utf8' });
    assert.equal(noModel.status, 1);
    assert.match(noModel.stderr, /^emo: .*none\.onnx: cannot read the model/);
  });
});
