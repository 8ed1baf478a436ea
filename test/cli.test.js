'use strict';
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');

const root = path.join(__dirname, '..');
const cli = path.join(root, 'dist', 'cli', 'main.js');
const wavDir = path.join(__dirname, 'fixtures', 'wav');
const golden = (name) => {
  const bytes = zlib.gunzipSync(fs.readFileSync(path.join(__dirname, 'fixtures', 'golden', name)));
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
};

function emo(args, options = {}) {
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: options.cwd ?? root });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function pngSize(file) {
  const png = fs.readFileSync(file);
  assert.deepEqual([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], 'PNG signature');
  assert.equal(png.toString('latin1', 12, 16), 'IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describe('emo features', () => {
  let tmp;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'emo-cli-'));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('prints shape and dB range per file as JSON lines, matching torchaudio', () => {
    const { code, stdout } = emo(['features', path.join(wavDir, '48000hz_s16_mono.wav'), '--json']);
    assert.equal(code, 0);
    const [line] = stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(line.shape, [7, 128, 128]);
    // The range the chunks cover (frames 0..511) of torchaudio's spectrogram.
    const mel = golden('48000hz_s16_mono.mel.f32.gz');
    let min = Infinity;
    let max = -Infinity;
    for (let m = 0; m < 128; m++)
      for (let t = 0; t < 512; t++) {
        min = Math.min(min, mel[m * 563 + t]);
        max = Math.max(max, mel[m * 563 + t]);
      }
    assert.ok(Math.abs(line.minDb - min) < 0.01 && Math.abs(line.maxDb - max) < 0.01, `${line.minDb}..${line.maxDb} vs ${min}..${max}`);
  });

  it('prints a readable table by default', () => {
    const { code, stdout } = emo(['features', path.join(wavDir, '8000hz_s16_mono.wav')]);
    assert.equal(code, 0);
    assert.match(stdout, /shape\s+dB min\s+dB max/);
    assert.match(stdout, /8000hz_s16_mono\.wav\s+7x128x128\s+-?\d+\.\d/);
  });

  it('draws the chunked mel spectrogram with --png', () => {
    const out = path.join(tmp, 'features.png');
    const { code } = emo(['features', path.join(wavDir, '48000hz_s16_mono.wav'), '--png', out]);
    assert.equal(code, 0);
    const { width, height } = pngSize(out);
    assert.ok(width > 7 * 128 && height > 128, `${width}x${height}`);
    assert.deepEqual(fs.readdirSync(tmp), ['features.png'], 'no temporary files left behind');
  });

  it('walks directories, writes one PNG per file into a --png directory, reports bad files and carries on', () => {
    const dir = path.join(tmp, 'in');
    fs.mkdirSync(path.join(dir, 'nested'), { recursive: true });
    fs.copyFileSync(path.join(wavDir, '16000hz_s16_mono.wav'), path.join(dir, 'a.wav'));
    fs.writeFileSync(path.join(dir, 'b.WAV'), 'this is not a wav file');
    fs.copyFileSync(path.join(wavDir, '22050hz_s16_mono.wav'), path.join(dir, 'nested', 'c.wav'));
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'ignored');
    const pngDir = path.join(tmp, 'png');
    const { code, stdout, stderr } = emo(['features', dir, '--json', '--png', pngDir]);
    assert.equal(code, 1, 'exit code 1 when a file failed');
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 3);
    const bad = lines.find((l) => l.error);
    assert.equal(path.basename(bad.file), 'b.WAV');
    assert.equal(bad.error.code, 'ERR_WAV_NOT_RIFF');
    assert.match(stderr, /b\.WAV: .*not a WAV file.*ERR_WAV_NOT_RIFF/);
    assert.deepEqual(fs.readdirSync(pngDir).sort(), ['a.png', 'c.png']);
  });

  it('reports a missing file with its path', () => {
    const { code, stderr } = emo(['features', path.join(tmp, 'missing.wav')]);
    assert.equal(code, 1);
    assert.match(stderr, /missing\.wav.*ERR_FILE_READ/);
  });

  it('builds a feature cache for a dataset folder with --cache, then reuses it', () => {
    const corpus = path.join(tmp, 'corpus');
    for (const actor of ['01', '19', '21']) {
      fs.mkdirSync(path.join(corpus, `Actor_${actor}`), { recursive: true });
      for (const emotion of ['01', '05']) fs.copyFileSync(path.join(wavDir, '16000hz_s16_mono.wav'), path.join(corpus, `Actor_${actor}`, `03-01-${emotion}-01-01-01-${actor}.wav`));
    }
    const cache = path.join(tmp, 'features.cache');
    const first = emo(['features', corpus, '--cache', cache]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /built .*12 records, float16/);
    assert.match(first.stdout, /train 2 clips x 4 variants = 8 records \(actors 1\)/);
    assert.match(first.stdout, /val {3}2 clips \(actors 19\)/);
    const again = emo(['features', corpus, '--cache', cache]);
    assert.match(again.stdout, /reused .*up to date/);
    const other = emo(['features', corpus, '--cache', cache, '--split', 'actors:1/19']);
    assert.match(other.stdout, /built .*other options/);
    assert.match(other.stdout, /test {2}2 clips \(actors 1\)/);
    assert.deepEqual(fs.readdirSync(tmp).sort(), ['corpus', 'features.cache']);
    assert.equal(emo(['features', corpus, wavDir, '--cache', cache]).code, 2);
    assert.equal(emo(['features', corpus, '--split', 'default']).code, 2);
  });

  it('exits 2 with usage on a wrong command line', () => {
    for (const args of [['features'], ['features', '--bogus', 'x.wav'], ['nope'], []]) {
      const { code, stderr, stdout } = emo(args);
      assert.equal(code, 2, args.join(' '));
      assert.match(stderr + stdout, /Usage: emo/);
    }
  });
});

describe('emo as a Unix tool', () => {
  it('prints its usage to stderr and exits 2 when run without arguments', () => {
    const { code, stderr, stdout } = emo([]);
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.match(stderr, /^emo — speech emotion recognition/);
  });

  it('exits 2 naming the flag for a bad value, before doing any work', () => {
    const cases = [
      [['features', wavDir, '--threads', 'abc'], /--threads must be an integer from 1 to 256, not 'abc'/],
      [['features', wavDir, '--top-db=-3'], /--top-db must be/],
      [['train', wavDir, '--epochs=-1'], /--epochs must be an integer from 1 to 10000, not '-1'/],
      [['train', wavDir, '--lr', '0'], /--lr must be a number above 0/],
      [['train', wavDir, '--batch', '1.5'], /--batch must be an integer/],
      [['train', wavDir, '--split', 'actors:1-1000000/2'], /bad actor range '1-1000000' in --split/],
      [['synth', os.tmpdir(), '--actors', '1000000'], /--actors must be an integer from 1 to/],
      [['classify', wavDir, '--hop', 'soon'], /--hop must be a number/],
    ];
    for (const [args, message] of cases) {
      const { code, stderr } = emo(args);
      assert.equal(code, 2, `${args.join(' ')}: ${stderr}`);
      assert.match(stderr, message, args.join(' '));
    }
  });

  it('reports a PNG it cannot write and goes on with the others', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'emo-png-'));
    try {
      const files = fs.readdirSync(wavDir).filter((f) => f.endsWith('.wav')).slice(0, 3);
      const out = path.join(tmp, 'pngs');
      fs.mkdirSync(out);
      // A folder where the first PNG should go: that one write fails.
      fs.mkdirSync(path.join(out, `${path.basename(files[0], '.wav')}.png`));
      const { code, stderr } = emo(['features', ...files.map((f) => path.join(wavDir, f)), '--png', out]);
      assert.equal(code, 1, stderr);
      assert.match(stderr, /cannot write .*\.png/);
      for (const f of files.slice(1)) assert.ok(fs.statSync(path.join(out, `${path.basename(f, '.wav')}.png`)).isFile(), f);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('writes progress as plain lines, not redraws, when stderr is not a terminal', () => {
    const files = fs.readdirSync(wavDir).filter((f) => f.endsWith('.wav')).slice(0, 10).map((f) => path.join(wavDir, f));
    const { code, stderr } = emo(['features', ...files, '--json']);
    assert.equal(code, 0, stderr);
    assert.doesNotMatch(stderr, /\r|\x1b\[/);
    const lines = stderr.split('\n').filter((l) => /^features \d+\/\d+ /.test(l));
    assert.ok(lines.length >= 2, stderr);
    assert.match(lines[lines.length - 1], new RegExp(`^features ${files.length}/${files.length} `));
  });
});
