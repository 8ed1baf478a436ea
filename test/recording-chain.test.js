'use strict';
// The recording-chain augmentation (lib/data/recording-chain): each effect checked against what it
// must do to a signal, measured here with a Goertzel filter and plain sums in float64.
const assert = require('node:assert/strict');
const { applyRecordingChain, drawRecordingChain } = require('../dist/data');

const SR = 48000;
const quiet = { phone: false, bassDb: 0, trebleDb: 0, gainDb: 0 };

function tones(freqs, seconds = 1) {
  const x = new Float32Array(Math.round(SR * seconds));
  for (let i = 0; i < x.length; i++) for (const f of freqs) x[i] += 0.2 * Math.sin((2 * Math.PI * f * i) / SR);
  return x;
}

// Power of x at frequency f (Goertzel over the middle half, away from filter edges), dB.
function powerDb(x, f) {
  const from = x.length >> 2, to = (3 * x.length) >> 2;
  const w = (2 * Math.PI * f) / SR;
  let s1 = 0, s2 = 0;
  for (let i = from; i < to; i++) {
    const s = x[i] + 2 * Math.cos(w) * s1 - s2;
    s2 = s1;
    s1 = s;
  }
  return 10 * Math.log10(s1 * s1 + s2 * s2 - 2 * Math.cos(w) * s1 * s2);
}

const meanSquare = (x) => x.reduce((s, v) => s + v * v, 0) / x.length;

describe('recording-chain augmentation', function () {
  this.timeout(60000);

  it('draws a chain per clip: the same for the same seed and key, others for other keys, every effect in use', () => {
    assert.deepEqual(drawRecordingChain(3, 'Actor_01/a.wav'), drawRecordingChain(3, 'Actor_01/a.wav'));
    const chains = Array.from({ length: 400 }, (_, i) => drawRecordingChain(3, `clip-${i}`));
    assert.ok(new Set(chains.map((c) => JSON.stringify(c))).size === 400);
    const share = (test) => chains.filter(test).length / chains.length;
    // The synthetic corpus's distribution: reverberation 45 %, telephone 15 %, noise 60 %.
    assert.ok(Math.abs(share((c) => c.reverb !== undefined) - 0.45) < 0.08);
    assert.ok(Math.abs(share((c) => c.phone) - 0.15) < 0.06);
    assert.ok(Math.abs(share((c) => c.noise !== undefined) - 0.6) < 0.08);
    assert.ok(share((c) => c.lowpassHz !== undefined) > 0.15 && chains.every((c) => !(c.phone && c.lowpassHz)));
  });

  it('a gain alone scales the clip exactly, without sox', async () => {
    const x = tones([440]);
    const y = await applyRecordingChain(x, SR, { ...quiet, gainDb: -6 }, 1);
    const k = 10 ** (-6 / 20);
    x.forEach((v, i) => assert.ok(Math.abs(y[i] - v * k) < 1e-7));
  });

  it('a telephone channel keeps 1 kHz and removes 6 kHz; a low-pass at 4 kHz keeps 2 kHz and removes 8 kHz; lengths stay', async () => {
    const x = tones([1000, 6000]);
    const phone = await applyRecordingChain(x, SR, { ...quiet, phone: true }, 1);
    assert.equal(phone.length, x.length);
    assert.ok(Math.abs(powerDb(phone, 1000) - powerDb(x, 1000)) < 1, `1 kHz ${powerDb(phone, 1000) - powerDb(x, 1000)} dB`);
    assert.ok(powerDb(phone, 6000) - powerDb(x, 6000) < -40, `6 kHz ${powerDb(phone, 6000) - powerDb(x, 6000)} dB`);
    const y = tones([2000, 8000]);
    const low = await applyRecordingChain(y, SR, { ...quiet, lowpassHz: 4000 }, 1);
    assert.ok(Math.abs(powerDb(low, 2000) - powerDb(y, 2000)) < 1);
    assert.ok(powerDb(low, 8000) - powerDb(y, 8000) < -40);
  });

  it('a treble shelf lifts 8 kHz by about its gain and leaves 200 Hz; reverberation adds energy after the sound stops', async () => {
    const x = tones([200, 8000]);
    const eq = await applyRecordingChain(x, SR, { ...quiet, trebleDb: 6 }, 1);
    assert.ok(Math.abs(powerDb(eq, 8000) - powerDb(x, 8000) - 6) < 1.5, `8 kHz ${powerDb(eq, 8000) - powerDb(x, 8000)} dB`);
    assert.ok(Math.abs(powerDb(eq, 200) - powerDb(x, 200)) < 1);
    const burst = tones([500], 1);
    burst.fill(0, SR / 4);
    const wet = await applyRecordingChain(burst, SR, { ...quiet, reverb: { reverberance: 80, roomScale: 100, preDelayMs: 0 } }, 1);
    assert.equal(wet.length, burst.length);
    assert.ok(meanSquare(wet.subarray(SR / 4 + 2400)) > 1e-6, 'a tail after the burst');
  });

  it('background noise comes in at the chain\'s SNR against the speech level, seeded', async () => {
    const x = tones([300, 1200]);
    for (const colour of ['white', 'pink', 'brown']) {
      const chain = { ...quiet, noise: { snrDb: 12, colour } };
      const y = await applyRecordingChain(x, SR, chain, 7);
      const noise = y.map((v, i) => v - x[i]);
      const snr = 10 * Math.log10(meanSquare(x) / meanSquare(noise));
      assert.ok(Math.abs(snr - 12) < 0.05, `${colour}: ${snr} dB`);
      assert.deepEqual(await applyRecordingChain(x, SR, chain, 7), y);
      assert.notDeepEqual(await applyRecordingChain(x, SR, chain, 8), y);
    }
  });
});
