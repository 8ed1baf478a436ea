'use strict';
// Recording conditions (lib/data/conditions.ts) for robustness tests: what each does to a clip,
// measured here in float64 (SNR, tone levels by DFT, lengths), independently of the code.
const assert = require('node:assert/strict');
const { dataset, decodeWav } = require('..');

const RATE = 48000;
/** A 1-s test clip: 100 Hz and 1 kHz tones. */
function tones(seconds = 1) {
  const x = new Float32Array(RATE * seconds);
  for (let i = 0; i < x.length; i++) x[i] = 0.3 * Math.sin((2 * Math.PI * 100 * i) / RATE) + 0.3 * Math.sin((2 * Math.PI * 1000 * i) / RATE);
  return x;
}
function wav(x, rate = RATE) {
  const buf = Buffer.alloc(44 + x.length * 2);
  buf.write('RIFF', 0, 'latin1'); buf.writeUInt32LE(36 + x.length * 2, 4); buf.write('WAVEfmt ', 8, 'latin1');
  buf.writeUInt32LE(16, 16); buf.writeUInt16LE(1, 20); buf.writeUInt16LE(1, 22); buf.writeUInt32LE(rate, 24);
  buf.writeUInt32LE(rate * 2, 28); buf.writeUInt16LE(2, 32); buf.writeUInt16LE(16, 34); buf.write('data', 36, 'latin1');
  buf.writeUInt32LE(x.length * 2, 40);
  x.forEach((v, i) => buf.writeInt16LE(Math.round(v * 32767), 44 + 2 * i));
  return buf;
}
const samplesOf = (bytes) => decodeWav(bytes);
/** Amplitude of the `freq` component of x (DFT over whole periods, float64). */
function toneAmplitude(x, rate, freq) {
  const n = Math.floor(Math.floor(x.length * freq / rate) * rate / freq);
  let re = 0, im = 0;
  for (let i = 0; i < n; i++) {
    re += x[i] * Math.cos((2 * Math.PI * freq * i) / rate);
    im += x[i] * Math.sin((2 * Math.PI * freq * i) / rate);
  }
  return (2 * Math.hypot(re, im)) / n;
}
const snrDb = (clean, noisy) => {
  let s = 0, n = 0;
  for (let i = 0; i < clean.length; i++) {
    s += clean[i] ** 2;
    n += (noisy[i] - clean[i]) ** 2;
  }
  return 10 * Math.log10(s / n);
};
const db = (a, b) => 20 * Math.log10(a / b);

describe('recording conditions (dataset.applyCondition)', function () {
  this.timeout(60_000);
  const bytes = wav(tones());
  const clean = samplesOf(bytes).channels[0];

  it('clean and gain-20: the clip, and the clip at a tenth of its amplitude', async () => {
    const same = samplesOf(await dataset.applyCondition(bytes, 'clean'));
    assert.deepEqual(Array.from(same.channels[0]), Array.from(clean));
    const quiet = samplesOf(await dataset.applyCondition(bytes, 'gain-20'));
    quiet.channels[0].forEach((v, i) => assert.equal(v, Math.fround(clean[i] * 0.1)));
  });

  it('pink-10: pink noise at exactly 10 dB SNR over the clip, seeded per clip', async () => {
    const out = await dataset.applyCondition(bytes, 'pink-10', { seed: 3, key: 'a.wav' });
    const noisy = samplesOf(out).channels[0];
    assert.ok(Math.abs(snrDb(clean, noisy) - 10) < 0.01, `SNR ${snrDb(clean, noisy)}`);
    // Pink: the noise's power falls with frequency; compare 200 Hz and 3.2 kHz (4 octaves, about -12 dB).
    const noise = noisy.map((v, i) => v - clean[i]);
    const band = (f) => [0.9, 1, 1.1].reduce((s, k) => s + toneAmplitude(noise, RATE, f * k) ** 2, 0);
    const slope = 10 * Math.log10(band(3200) / band(200));
    assert.ok(slope < -6 && slope > -20, `noise power 4 octaves up: ${slope.toFixed(1)} dB`);
    assert.deepEqual(await dataset.applyCondition(bytes, 'pink-10', { seed: 3, key: 'a.wav' }), out, 'same seed and key, same noise');
    assert.notDeepEqual(await dataset.applyCondition(bytes, 'pink-10', { seed: 3, key: 'b.wav' }), out, 'another clip, other noise');
  });

  it('babble-10: other speakers\' clips at exactly 10 dB SNR; refuses without them', async () => {
    const voices = [1, 2, 3].map((k) => Float32Array.from({ length: RATE / 2 }, (_, i) => Math.sin((2 * Math.PI * (150 + 40 * k) * i) / RATE) * (1 + Math.sin(i / 900))));
    const noisy = samplesOf(await dataset.applyCondition(bytes, 'babble-10', { babble: voices })).channels[0];
    assert.ok(Math.abs(snrDb(clean, noisy) - 10) < 0.01);
    const noise = noisy.map((v, i) => v - clean[i]);
    assert.ok(toneAmplitude(noise, RATE, 190) > 0.01 || toneAmplitude(noise, RATE, 230) > 0.01 || toneAmplitude(noise, RATE, 270) > 0.01, 'the babble is made of the voices');
    await assert.rejects(dataset.applyCondition(bytes, 'babble-10'), RangeError);
  });

  it('telephone: 8 kHz, the 1 kHz tone kept, the 100 Hz one cut', async () => {
    const phone = samplesOf(await dataset.applyCondition(bytes, 'telephone'));
    assert.equal(phone.sampleRate, 8000);
    const x = phone.channels[0];
    assert.ok(Math.abs(x.length - 8000) <= 2, `${x.length} samples`);
    assert.ok(Math.abs(db(toneAmplitude(x, 8000, 1000), 0.3)) < 1, '1 kHz within 1 dB');
    assert.ok(db(toneAmplitude(x, 8000, 100), 0.3) < -30, '100 Hz down by more than 30 dB');
  });

  it('reverb: same length, a tail after an impulse', async () => {
    const impulse = new Float32Array(RATE);
    impulse[100] = 0.9;
    const out = samplesOf(await dataset.applyCondition(wav(impulse), 'reverb')).channels[0];
    assert.equal(out.length, impulse.length);
    let tail = 0;
    for (let i = 100 + RATE / 10; i < 100 + RATE / 5; i++) tail += out[i] ** 2;
    assert.ok(tail > 1e-6, `energy 100-200 ms after the impulse: ${tail}`);
  });

  for (const codec of ['mp3-64', 'opus-16']) {
    it(`${codec}: encoded and decoded by ffmpeg, the tones kept within 2 dB`, async () => {
      const out = samplesOf(await dataset.applyCondition(bytes, codec));
      assert.equal(out.sampleRate, RATE);
      const x = out.channels[0];
      assert.ok(x.length >= clean.length * 0.95, `${x.length} samples`);
      assert.ok(Math.abs(db(toneAmplitude(x, RATE, 1000), toneAmplitude(clean, RATE, 1000))) < 2);
      assert.ok(!x.every((v, i) => v === clean[i]), 'not the clip itself');
    });
  }

  it('refuses an unknown condition and says which tool is missing', async () => {
    await assert.rejects(dataset.applyCondition(bytes, 'underwater'), RangeError);
    const saved = process.env.EMO_FFMPEG;
    process.env.EMO_FFMPEG = '/nonexistent/ffmpeg';
    try {
      await assert.rejects(dataset.applyCondition(bytes, 'mp3-64'), (e) => e.code === 'ERR_MISSING_TOOL' && /ffmpeg/.test(e.message));
    } finally {
      if (saved === undefined) delete process.env.EMO_FFMPEG;
      else process.env.EMO_FFMPEG = saved;
    }
    assert.deepEqual(dataset.CONDITIONS, ['clean', 'telephone', 'pink-10', 'babble-10', 'reverb', 'mp3-64', 'opus-16', 'gain-20']);
  });
});
