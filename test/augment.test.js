'use strict';
const assert = require('node:assert/strict');
const emo = require('..');
const { augment } = emo;
const { Xoshiro256, fillNormal } = require('./helpers/prng');
const { testSignal } = require('./helpers/wav');

const SR = 48000;
const energy = (x) => x.reduce((s, v) => s + v * v, 0);

function tone(seconds, freqs, { sr = SR, amps } = {}) {
  const x = new Float32Array(Math.round(seconds * sr));
  for (let i = 0; i < x.length; i++) freqs.forEach((fr, k) => (x[i] += (amps ? amps[k] : 0.5 / freqs.length) * Math.sin((2 * Math.PI * fr * i) / sr)));
  return x;
}

/**
 * Fundamental by normalised autocorrelation (float64): the shortest lag in 60–500 Hz
 * whose correlation is a local maximum within 10% of the best (so multiples of the
 * period do not win), refined by parabolic interpolation.
 */
function fundamental(x, sr = SR) {
  const start = Math.floor(x.length / 4);
  const n = Math.min(8192, x.length - start - Math.ceil(sr / 60) - 2);
  const corr = (lag) => {
    let s = 0;
    for (let i = start; i < start + n; i++) s += x[i] * x[i + lag];
    return s;
  };
  const lo = Math.floor(sr / 500);
  const hi = Math.ceil(sr / 60);
  const values = [];
  for (let lag = lo - 1; lag <= hi + 1; lag++) values.push(corr(lag));
  const top = Math.max(...values);
  let best = 1;
  while (!(values[best] >= 0.9 * top && values[best] >= values[best - 1] && values[best] >= values[best + 1])) best++;
  const [a, b, c] = [values[best - 1], values[best], values[best + 1]];
  const shift = (a - c) / (2 * (a - 2 * b + c));
  return sr / (lo - 1 + best + shift);
}

describe('augment.addNoise', () => {
  const x = testSignal(SR * 3, SR, 5);

  for (const snr of [15, 22.5, 30, 0, -5]) {
    // Exactly (the noise drawn is scaled by its own power, not the power expected of it): the only
    // error left is the float32 rounding of the output, far below 0.001 dB.
    it(`realises an SNR of ${snr} dB over the clip within 0.001 dB`, () => {
      const y = augment.addNoise(x, snr, 11);
      let noise = 0;
      for (let i = 0; i < x.length; i++) noise += (y[i] - x[i]) ** 2;
      const realised = 10 * Math.log10(energy(x) / noise);
      assert.ok(Math.abs(realised - snr) < 0.001, `${realised} dB`);
    });
  }

  it('adds white Gaussian noise drawn exactly as documented (independent JS re-implementation)', () => {
    const y = augment.addNoise(x, 20, 123);
    const expected = fillNormal(123, x.length);
    let num = 0;
    let den = 0;
    for (let i = 0; i < x.length; i++) {
      num += (y[i] - x[i]) * expected[i];
      den += expected[i] * expected[i];
    }
    const gain = num / den;
    let worst = 0;
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(y[i] - x[i] - gain * expected[i]));
    assert.ok(worst < 1e-6, `residual ${worst}`);
    // And it is Gaussian and white: mean 0, variance 1, kurtosis 3, no lag-1 correlation.
    let m1 = 0, m2 = 0, m4 = 0, lag1 = 0;
    for (let i = 0; i < expected.length; i++) {
      const v = expected[i];
      m1 += v; m2 += v * v; m4 += v ** 4;
      if (i > 0) lag1 += v * expected[i - 1];
    }
    const n = expected.length;
    assert.ok(Math.abs(m1 / n) < 0.01, `mean ${m1 / n}`);
    assert.ok(Math.abs(m2 / n - 1) < 0.01, `variance ${m2 / n}`);
    assert.ok(Math.abs(m4 / n / (m2 / n) ** 2 - 3) < 0.05, `kurtosis ${m4 / n / (m2 / n) ** 2}`);
    assert.ok(Math.abs(lag1 / m2) < 0.01, `lag-1 correlation ${lag1 / m2}`);
  });

  it('returns a copy of silent input, not NaN', () => {
    const silence = new Float32Array(1000);
    const y = augment.addNoise(silence, 20, 1);
    assert.notEqual(y, silence);
    assert.deepEqual(y, silence);
  });

  it('is deterministic for a seed and differs between seeds', () => {
    assert.deepEqual(augment.addNoise(x, 20, 9), augment.addNoise(x, 20, 9));
    assert.notDeepEqual(augment.addNoise(x, 20, 9), augment.addNoise(x, 20, 10));
    assert.notDeepEqual(augment.addNoise(x, 20), augment.addNoise(x, 20), 'no seed: random');
  });

  it('leaves its input untouched', () => {
    const copy = Float32Array.from(x);
    augment.addNoise(x, 20, 1);
    assert.deepEqual(x, copy);
  });
});

describe('augment.timeStretch', () => {
  for (const rate of [0.9, 1.1, 0.8, 1.25]) {
    it(`rate ${rate}: length round(N/rate) and the fundamental of a harmonic tone kept within 1%`, () => {
      const x = tone(2, [150, 300, 450, 600]);
      const y = augment.timeStretch(x, rate);
      const expectedLength = Math.round(x.length / rate);
      assert.ok(Math.abs(y.length - expectedLength) <= 0.01 * expectedLength, `${y.length} vs ${expectedLength}`);
      const f0 = fundamental(y);
      assert.ok(Math.abs(f0 - 150) / 150 < 0.01, `f0 ${f0}`);
      // A resampler would have moved it to 150 * rate.
    });
  }

  it('keeps the pitch of a low voice (95 Hz) too', () => {
    const y = augment.timeStretch(tone(2, [95, 190, 285]), 1.1);
    assert.ok(Math.abs(fundamental(y) - 95) / 95 < 0.01);
  });

  it('changes the tempo: amplitude bursts move to t / rate', () => {
    // Bursts of a 300 Hz tone centred at 0.5, 1.0 and 1.5 s.
    const x = new Float32Array(2 * SR);
    const centres = [0.5, 1.0, 1.5];
    for (let i = 0; i < x.length; i++) {
      const t = i / SR;
      const envelope = centres.reduce((s, c) => s + Math.exp(-(((t - c) / 0.04) ** 2)), 0);
      x[i] = 0.5 * envelope * Math.sin(2 * Math.PI * 300 * t);
    }
    for (const rate of [0.9, 1.1]) {
      const y = augment.timeStretch(x, rate);
      for (const c of centres) {
        // Energy-weighted centre of the burst in the output, around the expected place.
        const expected = c / rate;
        let num = 0;
        let den = 0;
        for (let i = Math.round((expected - 0.15) * SR); i < Math.round((expected + 0.15) * SR); i++) {
          num += (i / SR) * y[i] * y[i];
          den += y[i] * y[i];
        }
        assert.ok(Math.abs(num / den - expected) < 0.01, `rate ${rate}: burst at ${num / den} s, expected ${expected} s`);
      }
    }
  });

  it('joins segments without clicks: a pure tone gains no high-frequency energy', () => {
    const x = tone(2, [440], { amps: [0.5] });
    // Second difference: a click (discontinuity) makes it jump; for a sine it is
    // (2 sin(pi f / sr))^2 times the amplitude.
    const d2max = (y, from, to) => {
      let m = 0;
      for (let i = from + 1; i < to - 1; i++) m = Math.max(m, Math.abs(y[i + 1] - 2 * y[i] + y[i - 1]));
      return m;
    };
    const reference = d2max(x, 0, x.length);
    for (const rate of [0.9, 1.1, 0.75, 1.3]) {
      const y = augment.timeStretch(x, rate);
      const worst = d2max(y, 2048, y.length - 2048); // away from the clip's own edges
      assert.ok(worst < 1.2 * reference, `rate ${rate}: max |second difference| ${worst} vs ${reference} for the tone`);
      // and the level is kept (the window overlap sums to one)
      let peak = 0;
      for (let i = 2048; i < y.length - 2048; i++) peak = Math.max(peak, Math.abs(y[i]));
      assert.ok(Math.abs(peak - 0.5) < 0.01, `peak ${peak}`);
    }
  });

  it('scales its frames with the sample rate', () => {
    const x = tone(2, [150, 300, 450], { sr: 16000 });
    const y = augment.timeStretch(x, 1.1, { sampleRate: 16000 });
    assert.equal(y.length, Math.round(x.length / 1.1));
    assert.ok(Math.abs(fundamental(y, 16000) - 150) / 150 < 0.01);
  });

  it('is deterministic', () => {
    const x = testSignal(SR, SR, 3);
    assert.deepEqual(augment.timeStretch(x, 1.07), augment.timeStretch(x, 1.07));
  });
});

describe('augment.preemphasis', () => {
  it('computes y[0] = x[0], y[n] = x[n] - coef * x[n-1] exactly (float32 arithmetic)', () => {
    const x = testSignal(5000, SR, 8);
    for (const coef of [0.97, 0.5, 0]) {
      const y = augment.preemphasis(x, coef);
      const c = Math.fround(coef);
      assert.equal(y[0], x[0]);
      for (let i = 1; i < x.length; i++) assert.equal(y[i], Math.fround(x[i] - Math.fround(c * x[i - 1])), `coef ${coef} index ${i}`);
    }
    assert.deepEqual(augment.preemphasis(x), augment.preemphasis(x, 0.97));
  });
});

describe('augment.expand', () => {
  const x = testSignal(SR * 3, SR, 21);

  it('gives the original, noise at a drawn SNR, tempo at a drawn rate and preemphasis', () => {
    const [original, noisy, stretched, emphasised] = augment.expand(x, { seed: 7 });
    const { snrDb, rate } = augment.expandDraws({ seed: 7 });
    assert.notEqual(original, x);
    assert.deepEqual(original, x);
    assert.ok(snrDb >= 15 && snrDb <= 30 && rate >= 0.9 && rate <= 1.1);
    let noise = 0;
    for (let i = 0; i < x.length; i++) noise += (noisy[i] - x[i]) ** 2;
    assert.ok(Math.abs(10 * Math.log10(energy(x) / noise) - snrDb) < 0.001);
    assert.equal(stretched.length, Math.round(x.length / rate));
    assert.deepEqual(stretched, augment.timeStretch(x, rate));
    assert.deepEqual(emphasised, augment.preemphasis(x, 0.97));
  });

  it('draws SNR, rate and the noise seed from the documented PRNG, in that order', () => {
    for (const seed of [0, 1, 7, 2 ** 40 + 3]) {
      const prng = new Xoshiro256(seed);
      const snr = 15 + (30 - 15) * prng.uniform();
      const rate = 0.9 + (1.1 - 0.9) * prng.uniform();
      const noiseSeed = prng.nextU64();
      assert.deepEqual(augment.expandDraws({ seed }), { snrDb: snr, rate });
      // The noisy variant uses the third draw as its seed (checked up to the 2^53 seed range of the API).
      if (noiseSeed < 2n ** 53n) assert.deepEqual(augment.expand(x, { seed })[1], augment.addNoise(x, snr, Number(noiseSeed)));
    }
  });

  it('is bit-identical for a seed, different between seeds, and honours the ranges', () => {
    const a = augment.expand(x, { seed: 99 });
    const b = augment.expand(x, { seed: 99 });
    a.forEach((v, i) => assert.deepEqual(v, b[i]));
    const c = augment.expand(x, { seed: 100 });
    assert.notDeepEqual(a[1], c[1]);
    const draws = augment.expandDraws({ seed: 5, snrRange: [40, 40], rateRange: [1.2, 1.2] });
    assert.deepEqual(draws, { snrDb: 40, rate: 1.2 });
    assert.equal(augment.expand(x, { seed: 5, rateRange: [1.2, 1.2] })[2].length, Math.round(x.length / 1.2));
  });
});

describe('augment: bad input', () => {
  const x = testSignal(4800, SR, 1);
  it('throws TypeError/RangeError with a clear message, never crashes', () => {
    assert.throws(() => augment.addNoise([1, 2, 3], 20), { name: 'TypeError', message: /Expected a Float32Array of samples for x/ });
    assert.throws(() => augment.addNoise(new Float64Array(10), 20), TypeError);
    assert.throws(() => augment.addNoise(new Float32Array(0), 20), RangeError);
    assert.throws(() => augment.addNoise(x, NaN), { name: 'RangeError', message: /snrDb/ });
    assert.throws(() => augment.addNoise(x, '20'), TypeError);
    assert.throws(() => augment.addNoise(x, 20, -1), RangeError);
    assert.throws(() => augment.addNoise(x, 20, 1.5), RangeError);
    assert.throws(() => augment.timeStretch(x, NaN), { name: 'RangeError', message: /rate/ });
    assert.throws(() => augment.timeStretch(x, 0), RangeError);
    assert.throws(() => augment.timeStretch(x, -1), RangeError);
    assert.throws(() => augment.timeStretch(x, 100), RangeError);
    assert.throws(() => augment.timeStretch(x, '1'), TypeError);
    assert.throws(() => augment.timeStretch(new Float32Array(0), 1.1), RangeError);
    assert.throws(() => augment.preemphasis(x, 2), RangeError);
    assert.throws(() => augment.expand(x, { snrRange: [30, 15] }), RangeError);
    assert.throws(() => augment.expand(x, { rateRange: [0, 1] }), RangeError);
    assert.throws(() => augment.expand(x, { sead: 1 }), { name: 'TypeError', message: /did you mean 'seed'/ });
    assert.throws(() => augment.expand(x, { seed: NaN }), RangeError);
  });

  it('rejects NaN/Inf samples with ERR_NON_FINITE_SAMPLES', () => {
    const bad = Float32Array.from(x);
    bad[10] = NaN;
    for (const fn of [() => augment.addNoise(bad, 20, 1), () => augment.timeStretch(bad, 1.1), () => augment.preemphasis(bad), () => augment.expand(bad, { seed: 1 })]) {
      assert.throws(fn, (e) => e instanceof emo.EmoError && e.code === 'ERR_NON_FINITE_SAMPLES' && /index 10/.test(e.message));
    }
  });

  it('handles very short inputs', () => {
    const one = Float32Array.of(0.5);
    assert.equal(augment.timeStretch(one, 1.1).length, 1);
    assert.equal(augment.addNoise(one, 20, 1).length, 1);
    assert.deepEqual(Array.from(augment.preemphasis(one)), [0.5]);
    assert.equal(augment.expand(Float32Array.of(0.1, 0.2, 0.3), { seed: 1 }).length, 4);
  });
});
