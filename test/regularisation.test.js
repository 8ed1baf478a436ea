'use strict';
// The training regularisation: the vocal tract length perturbation (checked against the features
// of a tone at the warped frequency, and against a float64 re-computation of the mel scale),
// SpecAugment-style masks of training batches (where they fall is worked out by hand from a
// scripted random source), mixup (blends recovered from the labels; Beta moments from their
// formulas) and the reduce-on-plateau learning rate (rates worked out by hand from scripted
// validation scores).
const assert = require('node:assert/strict');
const emo = require('..');
const { DEFAULT_MASKING, maskChunks, mixBatch, plateauLearningRate, sampleBeta, trainModel, warpMelChunks } = require('../dist/train');
const { makeWav } = require('./helpers/wav');

const SHAPE = [3, 128, 128];
const SIZE = SHAPE[0] * SHAPE[1] * SHAPE[2];
const ones = () => new Float32Array(SIZE).fill(1);
const at = (data, c, m, t) => data[(c * 128 + m) * 128 + t];
const constant = (v) => () => v;

describe('vocal tract length perturbation (training batches)', () => {
  const scale = { fMin: 0, fMax: 24000 };
  const tone = (hz) => {
    const x = new Float32Array(48000 * 3.6);
    for (let i = 0; i < x.length; i++) x[i] = 0.5 * Math.sin((2 * Math.PI * hz * i) / 48000);
    return emo.melChunks(makeWav([x]));
  };
  // The loudest band of chunk 3, frame 64.
  const peak = (data) => {
    let best = 0;
    for (let m = 1; m < 128; m++) if (at(data, 3, m, 64) > at(data, 3, best, 64)) best = m;
    return best;
  };

  it('moves a tone to where a tone at the warped frequency lies', () => {
    for (const hz of [300, 1000, 3000])
      for (const factor of [0.9, 1.1]) {
        const { data, shape } = tone(hz);
        warpMelChunks(data, shape, factor, scale);
        const expected = peak(tone(hz * factor).data);
        assert.ok(Math.abs(peak(data) - expected) <= 1, `${hz} Hz x ${factor}: band ${peak(data)}, a ${hz * factor} Hz tone peaks at ${expected}`);
        assert.notEqual(peak(data), peak(tone(hz).data), 'the tone moved');
      }
  });

  it('interpolates linearly at f / factor on the HTK mel scale, repeats the edge bands, and leaves factor 1 alone', () => {
    // Each band holds its own index, so the output is the (clamped) fractional source index.
    const mel = (hz) => 2595 * Math.log10(1 + hz / 700);
    const hzOf = (m) => 700 * (10 ** (m / 2595) - 1);
    const step = mel(24000) / 129;
    for (const factor of [0.8, 1, 1.25]) {
      const data = new Float32Array(SIZE);
      for (let c = 0; c < 3; c++) for (let m = 0; m < 128; m++) data.fill(m, (c * 128 + m) * 128, (c * 128 + m + 1) * 128);
      warpMelChunks(data, SHAPE, factor, scale);
      for (let m = 0; m < 128; m++) {
        const source = Math.min(Math.max(mel(hzOf((m + 1) * step) / factor) / step - 1, 0), 127);
        assert.ok(Math.abs(at(data, 2, m, 100) - source) < 1e-3, `factor ${factor} band ${m}: ${at(data, 2, m, 100)} vs ${source}`);
      }
    }
  });
});

describe('SpecAugment masking (training batches)', () => {
  it('masks the bands and frames a scripted random source selects, in every chunk, and nothing else', () => {
    // random() = 0.5: width floor(0.5 * 13) = 6, start floor(0.5 * (128 - 6 + 1)) = 61, so bands
    // 61-66 of every chunk (two identical frequency masks) and frames 61-66 of every chunk.
    const data = ones();
    maskChunks(data, SHAPE, DEFAULT_MASKING, constant(0.5));
    for (let c = 0; c < 3; c++)
      for (let m = 0; m < 128; m++)
        for (let t = 0; t < 128; t++) {
          const masked = (m >= 61 && m <= 66) || (t >= 61 && t <= 66);
          assert.equal(at(data, c, m, t), masked ? 0 : 1, `chunk ${c} band ${m} frame ${t}`);
        }
  });

  it('reaches the widest mask and the top edge, and draws in a fixed order (frequency, then each chunk)', () => {
    // Near 1: width 12 and start floor(0.9999 * 117) = 116, so the last 12 bands and frames.
    const top = ones();
    maskChunks(top, SHAPE, DEFAULT_MASKING, constant(0.9999));
    assert.equal(at(top, 0, 115, 0), 1);
    assert.equal(at(top, 2, 116, 0), 0);
    assert.equal(at(top, 1, 0, 115), 1);
    assert.equal(at(top, 1, 0, 127), 0);

    // A scripted sequence, two draws (width, then start) per mask: frequency masks 1-2, then
    // chunk 0's two time masks, chunk 1's, chunk 2's. Each wanted integer k of a draw over n
    // values (width: 0-12, so n = 13; start: 0-(128 - width), so n = 129 - width) is produced by
    // the random number (k + 0.5) / n.
    const wanted = [
      [5, 124, 10], [0, 129, 0], // bands 10-14; an empty mask
      [3, 126, 3], [0, 129, 0], // chunk 0: frames 3-5
      [12, 117, 0], [12, 117, 0], // chunk 1: frames 0-11, twice
      [0, 129, 0], [1, 128, 127], // chunk 2: frame 127 alone
    ];
    const values = wanted.flatMap(([width, n, start]) => [(width + 0.5) / 13, (start + 0.5) / n]);
    let i = 0;
    const data = ones();
    maskChunks(data, SHAPE, DEFAULT_MASKING, () => values[i++]);
    assert.equal(i, 16, 'two frequency masks and two time masks per chunk, two draws each');
    const zeroBands = [];
    for (let m = 0; m < 128; m++) if (at(data, 0, m, 64) === 0) zeroBands.push(m);
    assert.deepEqual(zeroBands, [10, 11, 12, 13, 14]);
    const zeroFrames = (c) => {
      const out = [];
      for (let t = 0; t < 128; t++) if (at(data, c, 64, t) === 0) out.push(t);
      return out;
    };
    assert.deepEqual(zeroFrames(0), [3, 4, 5]);
    assert.deepEqual(zeroFrames(1), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    assert.deepEqual(zeroFrames(2), [127]);
  });

  it('masks nothing when masking is off, and keeps masks inside the clip for any draw', () => {
    const data = ones();
    maskChunks(data, SHAPE, { freqMasks: 0, maxFreqWidth: 0, timeMasks: 0, maxTimeWidth: 0 }, () => assert.fail('no draws'));
    assert.ok(data.every((v) => v === 1));
    let state = 7;
    const lcg = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (let k = 0; k < 200; k++) {
      const d = ones();
      maskChunks(d, SHAPE, DEFAULT_MASKING, lcg);
      const zeros = d.reduce((n, v) => n + (v === 0 ? 1 : 0), 0);
      // At most 2 x 12 bands and 2 x 12 frames of each 128 x 128 chunk.
      assert.ok(zeros <= 3 * (24 * 128 + 24 * 128), `${zeros} masked values`);
    }
  });
});

// A seeded uniform source (mulberry32) for the statistical checks: the same draws every run.
function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('mixup (training batches)', () => {
  it('draws Beta variates with the right mean and variance', () => {
    for (const [a, b] of [[0.4, 0.4], [2, 5], [1, 1], [0.2, 3]]) {
      const random = seeded(a * 100 + b);
      const n = 40000;
      let sum = 0;
      let sumSq = 0;
      for (let i = 0; i < n; i++) {
        const x = sampleBeta(a, b, random);
        assert.ok(x >= 0 && x <= 1);
        sum += x;
        sumSq += x * x;
      }
      const mean = sum / n;
      const variance = sumSq / n - mean * mean;
      const expectedMean = a / (a + b);
      const expectedVariance = (a * b) / ((a + b) ** 2 * (a + b + 1));
      assert.ok(Math.abs(mean - expectedMean) < 0.01, `Beta(${a}, ${b}) mean ${mean} vs ${expectedMean}`);
      assert.ok(Math.abs(variance / expectedVariance - 1) < 0.05, `Beta(${a}, ${b}) variance ${variance} vs ${expectedVariance}`);
    }
  });

  it('blends each clip with a partner of a permutation, features and labels with the same weight, its own dominating', () => {
    const n = 6;
    const size = 5;
    const features = Float32Array.from({ length: n * size }, (_, k) => Math.sin(k * 1.7) * 10);
    // Clip i has label i, so each mixed label row shows its weight and its partner.
    const labels = new Float32Array(n * n);
    for (let i = 0; i < n; i++) labels[i * n + i] = 1;
    const before = features.slice();
    mixBatch(features, labels, n, 0.4, seeded(3));
    const partners = [];
    for (let i = 0; i < n; i++) {
      const row = labels.subarray(i * n, (i + 1) * n);
      const lambda = row[i];
      assert.ok(lambda >= 0.5 && lambda <= 1, `clip ${i} keeps at least half its own label: ${lambda}`);
      assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-6);
      const others = [...row.keys()].filter((k) => k !== i && row[k] > 0);
      assert.ok(others.length <= 1);
      const p = others.length ? others[0] : i;
      partners.push(p);
      for (let k = 0; k < size; k++) {
        const expected = lambda * before[i * size + k] + (1 - lambda) * before[p * size + k];
        assert.ok(Math.abs(features[i * size + k] - expected) < 1e-4, `clip ${i} value ${k}`);
      }
    }
    assert.ok(partners.some((p, i) => p !== i), 'some clips are blended with others');
    // A clip blended with itself has no second label, so only the partners of blended clips are known to be distinct.
    const blended = partners.filter((p, i) => p !== i);
    assert.equal(new Set(blended).size, blended.length, 'a permutation');
  });

  it('leaves the batch alone when alpha is 0 or there is one clip', () => {
    const features = Float32Array.from([1, 2, 3, 4]);
    const labels = Float32Array.from([1, 0, 0, 1]);
    mixBatch(features, labels, 2, 0, () => assert.fail('no draws'));
    mixBatch(features.subarray(0, 2), labels.subarray(0, 2), 2, 0.4, () => assert.fail('no draws'));
    assert.deepEqual([...features, ...labels], [1, 2, 3, 4, 1, 0, 0, 1]);
  });
});

describe('reduce-on-plateau learning rate', () => {
  const history = (scores) => scores.map((valMacroF1) => ({ valMacroF1 }));
  // The rate for each epoch of a run whose validation scores are `scores`.
  const rates = (scores, patience) => scores.map((_, e) => plateauLearningRate(history(scores.slice(0, e)), 1, patience));

  it('halves after `patience` epochs without a better score, counting again after each halving', () => {
    //          epoch:  1    2    3    4     5    6    7    8    9
    const scores = [0.5, 0.6, 0.6, 0.55, 0.7, 0.7, 0.7, 0.7, 0.7];
    // Patience 2: epochs 3-4 are stale -> halve for 5; 5 is best; 6-7 stale -> halve for 8.
    assert.deepEqual(rates(scores, 2), [1, 1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25]);
    // Patience 1: every stale epoch halves the rate for the next.
    assert.deepEqual(rates(scores, 1), [1, 1, 1, 0.5, 0.25, 0.25, 0.125, 0.0625, 0.03125]);
  });

  it('a tie is not an improvement, and the rate stops at 1/64 of the initial one', () => {
    const flat = new Array(12).fill(0.8);
    assert.deepEqual(rates(flat, 1), [1, 1, 0.5, 0.25, 0.125, 0.0625, 0.03125, 1 / 64, 1 / 64, 1 / 64, 1 / 64, 1 / 64]);
    assert.equal(plateauLearningRate([], 0.003, 2), 0.003);
  });
});

describe('trainModel options for regularisation', () => {
  it('rejects bad masking and learning-rate patience before doing any work', async () => {
    await assert.rejects(trainModel('/nonexistent', { out: '/nonexistent/out', masking: { freqMasks: -1 } }), RangeError);
    await assert.rejects(trainModel('/nonexistent', { out: '/nonexistent/out', masking: { freqMask: 2 } }), /did you mean 'freqMasks'/);
    await assert.rejects(trainModel('/nonexistent', { out: '/nonexistent/out', masking: 'on' }), TypeError);
    await assert.rejects(trainModel('/nonexistent', { out: '/nonexistent/out', lrPatience: 0 }), RangeError);
    await assert.rejects(trainModel('/nonexistent', { out: '/nonexistent/out', warp: { minFactor: 1.1, maxFactor: 0.9 } }), RangeError);
    await assert.rejects(trainModel('/nonexistent', { out: '/nonexistent/out', warp: { factor: 1 } }), /Unknown|unknown|not/);
    await assert.rejects(trainModel('/nonexistent', { out: '/nonexistent/out', mixup: -1 }), RangeError);
  });
});
