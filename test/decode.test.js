'use strict';
const assert = require('node:assert/strict');
const emo = require('..');
const { chunk, makeWav } = require('./helpers/wav');

// Expected values are the quantised inputs scaled the way torchaudio.load does
// (s16 / 32768, u8 (x - 128) / 128, s24 / 2^23, s32 / 2^31), computed here.
// float32 values, as the writer sees them
const values = Array.from(Float32Array.from([0, 0.5, -0.5, 0.999, -1, 0.123456, -0.000123]));

function quantised(v, bits) {
  if (bits === 8) return (Math.max(0, Math.min(255, Math.round(v * 128 + 128))) - 128) / 128;
  const full = 2 ** (bits - 1);
  return Math.max(-full, Math.min(full - 1, Math.round(v * full))) / full;
}

function assertClose(actual, expected, tolerance, what) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

describe('decodeWav', () => {
  for (const bits of [8, 16, 24, 32]) {
    it(`decodes ${bits}-bit PCM scaled like torchaudio.load`, () => {
      const { sampleRate, channels, bitsPerSample } = emo.decodeWav(makeWav([Float32Array.from(values)], { bits, sampleRate: 22050 }));
      assert.equal(sampleRate, 22050);
      assert.equal(bitsPerSample, bits);
      assertClose(channels[0], values.map((v) => quantised(v, bits)), 1e-7, `${bits}-bit`);
    });
  }

  it('decodes IEEE float32 exactly and float64 rounded to float32', () => {
    const f32 = emo.decodeWav(makeWav([Float32Array.from(values)], { format: 'float', bits: 32 }));
    assert.deepEqual(Array.from(f32.channels[0]), Array.from(Float32Array.from(values)));
    const f64 = emo.decodeWav(makeWav([Float64Array.from(values)], { format: 'float', bits: 64 }));
    assert.deepEqual(Array.from(f64.channels[0]), Array.from(Float32Array.from(values)));
  });

  it('decodes WAVE_FORMAT_EXTENSIBLE PCM (24 bits in 32-bit containers) and float', () => {
    const pcm = emo.decodeWav(makeWav([Float32Array.from(values)], { format: 'extensible', bits: 24 }));
    assertClose(pcm.channels[0], values.map((v) => quantised(v, 24)), 1e-7, 'extensible s24');
    const padded = emo.decodeWav(makeWav([Float32Array.from(values)], { format: 'extensible', bits: 32, validBits: 24 }));
    assert.equal(padded.bitsPerSample, 24);
    assertClose(padded.channels[0], values.map((v) => quantised(v, 32)), 1e-7, 'extensible 24-in-32');
    // Valid bits of 0 (unset) or above the container: the container's size is what the file holds.
    assert.equal(emo.decodeWav(makeWav([Float32Array.from(values)], { format: 'extensible', bits: 16, validBits: 0 })).bitsPerSample, 16);
    assert.equal(emo.decodeWav(makeWav([Float32Array.from(values)], { format: 'extensible', bits: 16, validBits: 20 })).bitsPerSample, 16);
    const float = emo.decodeWav(makeWav([Float32Array.from(values)], { format: 'extensible', bits: 32, extensibleSubformat: 3 }));
    assert.deepEqual(Array.from(float.channels[0]), Array.from(Float32Array.from(values)));
  });

  it('de-interleaves any channel count', () => {
    const channels = Array.from({ length: 6 }, (_, c) => Float32Array.from(values.map((v) => v / (c + 1))));
    const decoded = emo.decodeWav(makeWav(channels, { bits: 16 }));
    assert.equal(decoded.channels.length, 6);
    decoded.channels.forEach((ch, c) => assertClose(ch, Array.from(channels[c]).map((v) => quantised(v, 16)), 1e-7, `channel ${c}`));
  });

  it('skips LIST, fact and unknown chunks, honouring the pad byte of odd-sized ones', () => {
    const wav = makeWav([Float32Array.from(values)], {
      extraChunks: [chunk('LIST', Buffer.from('INFOodd')), chunk('fact', Buffer.from([7, 0, 0, 0])), chunk('junk', Buffer.alloc(3, 0xff))],
      trailingChunks: [chunk('id3 ', Buffer.alloc(5, 1))],
    });
    assertClose(emo.decodeWav(wav).channels[0], values.map((v) => quantised(v, 16)), 1e-7, 'with extra chunks');
  });

  it('accepts a data chunk shorter than declared (keeps the whole frames present)', () => {
    const stereo = [Float32Array.from(values), Float32Array.from(values)];
    const full = makeWav(stereo, { dataDeclaredSize: 10000 });
    const cut = full.subarray(0, full.length - 2); // half of the last frame is missing
    const decoded = emo.decodeWav(cut);
    assert.equal(decoded.channels[0].length, values.length - 1);
  });

  it('ignores a wrong RIFF size field', () => {
    const wav = makeWav([Float32Array.from(values)]);
    wav.writeUInt32LE(12, 4);
    assert.equal(emo.decodeWav(wav).channels[0].length, values.length);
  });
});

describe('channels', () => {
  it('a stereo file\'s features are those of its channels\' mean (averaged, not summed)', () => {
    const n = 48000 * 4;
    const left = Float32Array.from({ length: n }, (_, i) => 0.3 * Math.sin((2 * Math.PI * 220 * i) / 48000));
    const right = Float32Array.from({ length: n }, (_, i) => 0.2 * Math.sin((2 * Math.PI * 330 * i) / 48000 + 1));
    const mean = Float32Array.from({ length: n }, (_, i) => (left[i] + right[i]) / 2);
    const stereo = emo.melChunks(makeWav([left, right], { format: 'float', bits: 32 }));
    const mono = emo.melChunks(makeWav([mean], { format: 'float', bits: 32 }));
    let worst = 0;
    for (let i = 0; i < mono.data.length; i++) if (mono.data[i] > -60) worst = Math.max(worst, Math.abs(stereo.data[i] - mono.data[i]));
    assert.ok(worst < 1e-3, `${worst} dB apart`);
    // Three channels too: the mean of three.
    const three = emo.prepareClip(makeWav([left, right, mean], { format: 'float', bits: 32 }));
    const expected = emo.prepareClip(makeWav([Float32Array.from(mean, (m, i) => (left[i] + right[i] + m) / 3)], { format: 'float', bits: 32 }));
    let diff = 0;
    for (let i = 0; i < expected.length; i++) diff = Math.max(diff, Math.abs(three[i] - expected[i]));
    assert.ok(diff < 1e-6, `${diff}`);
    // Channels given as Float32Arrays are averaged the same way (a float64 mean as the reference).
    const fromArrays = emo.prepareClip({ sampleRate: 48000, channels: [left, right] });
    const fromMean = emo.prepareClip({ sampleRate: 48000, channels: [mean] });
    let apart = 0;
    for (let i = 0; i < fromMean.length; i++) apart = Math.max(apart, Math.abs(fromArrays[i] - fromMean[i]));
    assert.ok(apart < 1e-6, `${apart}`);
  });
});
