'use strict';
// Parity with the reference pipeline: golden outputs computed by torchaudio 0.13
// (test/fixtures/golden.py) for WAV variants made with sox (test/fixtures/generate.sh).
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const emo = require('..');

const FIXTURES = path.join(__dirname, 'fixtures');
const manifest = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'golden', 'manifest.json'), 'utf8'));
const MELS = 128;
const FRAMES = 563;

function readGolden(name) {
  const bytes = zlib.gunzipSync(fs.readFileSync(path.join(FIXTURES, 'golden', name)));
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
}

/** |ours - golden| over every chunk value; golden is (mel, frame), ours (chunk, mel, frame). */
function chunkErrors(chunks, golden) {
  const errors = new Float64Array(chunks.data.length);
  let i = 0;
  for (let c = 0; c < 7; c++)
    for (let m = 0; m < MELS; m++)
      for (let t = 0; t < 128; t++, i++) errors[i] = Math.abs(chunks.data[i] - golden[m * FRAMES + c * 64 + t]);
  return stats(errors);
}

function stats(errors) {
  const sorted = Float64Array.from(errors).sort();
  let sum = 0;
  for (const e of sorted) sum += e;
  return { max: sorted[sorted.length - 1], mean: sum / sorted.length, p99: sorted[Math.floor(0.99 * (sorted.length - 1))] };
}

const fmt = (s) => `max ${s.max.toExponential(2)} mean ${s.mean.toExponential(2)} p99 ${s.p99.toExponential(2)} dB`;

describe('parity with torchaudio 0.13 on golden fixtures', () => {
  it('covers the variants the reference pipeline must handle', () => {
    const names = manifest.files.map((f) => f.file);
    const rates = new Set(manifest.files.map((f) => f.sample_rate));
    for (const rate of [8000, 16000, 22050, 44100, 48000, 96000]) assert.ok(rates.has(rate), `a ${rate} Hz fixture`);
    for (const bits of [8, 16, 24, 32]) assert.ok(manifest.files.some((f) => f.bits === bits), `a ${bits}-bit fixture`);
    assert.ok(manifest.files.some((f) => f.format_tag === '0xFFFE'), 'a WAVE_FORMAT_EXTENSIBLE fixture');
    assert.ok(manifest.files.some((f) => f.channels > 2), 'a multichannel fixture');
    assert.ok(manifest.files.some((f) => f.frames / f.sample_rate < 3.5), 'a fixture shorter than 3.5 s');
    assert.ok(manifest.files.some((f) => f.frames / f.sample_rate > 10), 'a fixture longer than 10 s');
    assert.ok(names.length >= 15);
  });

  for (const entry of manifest.files) {
    const wavPath = path.join(FIXTURES, 'wav', entry.file);
    const resampled = entry.sample_rate !== 48000;
    const bound = resampled ? 'mean <= 0.05 dB, p99 <= 0.5 dB' : 'max <= 0.01 dB';

    it(`${entry.file}: melChunks within ${bound}`, function () {
      const chunks = emo.melChunks(fs.readFileSync(wavPath));
      assert.deepEqual(chunks.shape, [7, 128, 128]);
      const s = chunkErrors(chunks, readGolden(entry.outputs.mel));
      this.test.title += ` (${fmt(s)})`;
      if (resampled) {
        assert.ok(s.mean <= 0.05, `mean ${s.mean}`);
        assert.ok(s.p99 <= 0.5, `p99 ${s.p99}`);
      } else {
        assert.ok(s.max <= 0.01, `max ${s.max}`);
      }
    });

    it(`${entry.file}: decodeWav matches torchaudio.load`, () => {
      const decoded = emo.decodeWav(fs.readFileSync(wavPath));
      assert.equal(decoded.sampleRate, entry.sample_rate);
      assert.equal(decoded.channels.length, entry.channels);
      assert.equal(decoded.channels[0].length, entry.frames);
      // torchaudio passes 32-bit and float data through libsox's int32, which rounds
      // to a 2^-24 grid; we keep the file's value, so those differ by up to 2^-25.
      const tolerance = entry.bits >= 32 ? 2 ** -24 : 0;
      entry.first_samples.forEach((expected, c) => {
        expected.forEach((v, i) => assert.ok(Math.abs(decoded.channels[c][i] - v) <= tolerance, `channel ${c} sample ${i}: ${decoded.channels[c][i]} vs ${v}`));
        let maxAbs = 0;
        for (const v of decoded.channels[c]) maxAbs = Math.max(maxAbs, Math.abs(v));
        assert.ok(Math.abs(maxAbs - entry.max_abs[c]) <= tolerance, `channel ${c} max |x| ${maxAbs} vs ${entry.max_abs[c]}`);
      });
    });

    if (entry.outputs.clip) {
      it(`${entry.file}: prepareClip matches torchaudio's resample + mean + offset + pad`, () => {
        const clip = emo.prepareClip(fs.readFileSync(wavPath));
        const golden = readGolden(entry.outputs.clip);
        assert.equal(clip.length, 144000);
        let max = 0;
        let peak = 0;
        for (let i = 0; i < clip.length; i++) {
          max = Math.max(max, Math.abs(clip[i] - golden[i]));
          peak = Math.max(peak, Math.abs(golden[i]));
        }
        // torchaudio builds its kernel in float32; ours is exact in float64 then rounded.
        assert.ok(max <= 2e-5 * peak, `max |diff| ${max} for peak ${peak}`);
      });
    }

    if (entry.outputs.mel_top80) {
      it(`${entry.file}: melChunks with topDb 80 within max 0.01 dB`, () => {
        const s = chunkErrors(emo.melChunks(fs.readFileSync(wavPath), { topDb: 80 }), readGolden(entry.outputs.mel_top80));
        assert.ok(s.max <= 0.01, fmt(s));
      });
    }
  }

  it('gives the same features for WAV bytes and for the same audio as 48 kHz Float32Array samples', () => {
    const entry = manifest.files.find((f) => f.file === '48000hz_s16_mono.wav');
    const bytes = fs.readFileSync(path.join(FIXTURES, 'wav', entry.file));
    const samples = emo.decodeWav(bytes).channels[0];
    assert.deepEqual(emo.melChunks(samples).data, emo.melChunks(bytes).data);
    const s = chunkErrors(emo.melChunks(samples), readGolden(entry.outputs.mel));
    assert.ok(s.max <= 0.01, fmt(s));
  });

  it('melSpectrogram of the formatted clip is the golden (128, 563) spectrogram', () => {
    const entry = manifest.files.find((f) => f.file === '44100hz_s16_stereo.wav');
    const clip = readGolden(entry.outputs.clip); // torchaudio's own formatted clip
    const { data, shape } = emo.melSpectrogram(clip);
    assert.deepEqual(shape, [MELS, FRAMES]);
    const golden = readGolden(entry.outputs.mel);
    const errors = data.map((v, i) => Math.abs(v - golden[i]));
    const s = stats(errors);
    assert.ok(s.max <= 0.01, fmt(s));
  });
});
