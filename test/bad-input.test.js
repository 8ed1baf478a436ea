'use strict';
const assert = require('node:assert/strict');
const emo = require('..');
const { chunk, fmtBody, makeWav, testSignal, prng } = require('./helpers/wav');

// Every bad input must give a specific EmoError code (data problems) or a
// TypeError/RangeError (misuse), never a crash.
function expectEmoError(fn, code, messagePart) {
  assert.throws(fn, (error) => {
    assert.ok(error instanceof emo.EmoError, `expected EmoError, got ${error && error.constructor.name}: ${error && error.message}`);
    assert.equal(error.code, code);
    if (messagePart) assert.match(error.message, messagePart);
    return true;
  });
}

const good = makeWav([testSignal(48000 * 4, 48000)]);

/** A WAV whose fmt chunk is `fmt` as given (any size), followed by a data chunk of `data`. */
function wavWithFmt(fmt, data = Buffer.alloc(64)) {
  const body = Buffer.concat([Buffer.from('WAVE', 'latin1'), chunk('fmt ', fmt), chunk('data', data)]);
  const riff = Buffer.alloc(8);
  riff.write('RIFF', 0, 'latin1');
  riff.writeUInt32LE(body.length, 4);
  return Buffer.concat([riff, body]);
}
// A 16-bit mono PCM fmt chunk cut to 14 bytes (the old WAVEFORMAT without bits per sample).
const shortFmt = fmtBody({}).subarray(0, 14);
// WAVE_FORMAT_EXTENSIBLE cut inside its sub-format GUID: 32 of its 40 bytes.
const shortExtensible = fmtBody({ format: 'extensible' }).subarray(0, 32);
// An extensible sub-format GUID that is PCM's tag with another tail (e.g. an ambisonic B-format GUID).
const foreignGuid = fmtBody({ format: 'extensible' });
foreignGuid.writeUInt16LE(0x0001, 24);
Buffer.from([0x00, 0x00, 0x21, 0x07, 0xd3, 0x11, 0x86, 0x44, 0xc8, 0xc1, 0xca, 0x00, 0x00, 0x00]).copy(foreignGuid, 26);

describe('bad input', () => {
  describe('gives an EmoError with a specific code', () => {
    const cases = [
      ['an empty buffer', Buffer.alloc(0), 'ERR_WAV_EMPTY', /empty/],
      ['random bytes', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)), 'ERR_WAV_NOT_RIFF', /not a WAV/],
      ['a truncated RIFF header', good.subarray(0, 7), 'ERR_WAV_TRUNCATED', /truncated/],
      ['a file cut inside the fmt chunk', good.subarray(0, 30), 'ERR_WAV_TRUNCATED', /truncated/],
      ['a RIFF/WAVE header alone', good.subarray(0, 12), 'ERR_WAV_NO_FMT', /no fmt/],
      ['a header with fmt but no data chunk', good.subarray(0, 36), 'ERR_WAV_NO_DATA', /no data chunk/],
      ['a header-only file (empty data chunk)', makeWav([new Float32Array(0)]), 'ERR_WAV_NO_SAMPLES', /no complete sample frame/],
      ['zero channels', makeWav([new Float32Array(10)], { channels: 0, blockAlign: 2 }), 'ERR_WAV_ZERO_CHANNELS', /0 channels/],
      ['a sample rate of 0 Hz', makeWav([new Float32Array(10)], { sampleRate: 0 }), 'ERR_WAV_BAD_SAMPLE_RATE', /sample rate 0 Hz/],
      ['an absurd sample rate', makeWav([new Float32Array(10)], { sampleRate: 4000000000 }), 'ERR_WAV_BAD_SAMPLE_RATE', /4000000000 Hz/],
      ['a 12-byte (96-bit) PCM sample', makeWav([new Float32Array(4)], { bits: 96, dataBytes: Buffer.alloc(48) }), 'ERR_WAV_UNSUPPORTED_BIT_DEPTH', /bit depth 96/],
      ['a 16-bit float', makeWav([new Float32Array(4)], { format: 'float', bits: 16, dataBytes: Buffer.alloc(8) }), 'ERR_WAV_UNSUPPORTED_BIT_DEPTH', /float WAV bit depth 16/],
      ['mu-law encoding', makeWav([new Float32Array(4)], { format: 'mulaw', bits: 8, dataBytes: Buffer.alloc(4) }), 'ERR_WAV_UNSUPPORTED_FORMAT', /mu-law/],
      ['A-law encoding', makeWav([new Float32Array(4)], { format: 'alaw', bits: 8, dataBytes: Buffer.alloc(4) }), 'ERR_WAV_UNSUPPORTED_FORMAT', /A-law/],
      ['an unknown extensible subformat', makeWav([new Float32Array(4)], { format: 'extensible', bits: 16, extensibleSubformat: 0x55, dataBytes: Buffer.alloc(8) }), 'ERR_WAV_UNSUPPORTED_FORMAT', /MPEG|format/],
      ['a block align that does not fit the channels', makeWav([new Float32Array(4), new Float32Array(4)], { blockAlign: 3 }), 'ERR_WAV_BAD_BLOCK_ALIGN', /block align 3 does not fit 2 channels/],
      ['a block align that fits the channels but not the bit depth', makeWav([new Float32Array(4), new Float32Array(4)], { blockAlign: 6 }), 'ERR_WAV_BAD_BLOCK_ALIGN', /block align 6 does not match 16-bit samples in 2 channels/],
      ['a file that ends inside a chunk before its fmt chunk', Buffer.concat([Buffer.from('RIFF\0\0\0\0WAVE', 'latin1'), chunk('LIST', Buffer.alloc(40), { declaredSize: 4000 })]), 'ERR_WAV_TRUNCATED', /truncated before its fmt chunk/],
      ['a fmt chunk of 14 bytes', wavWithFmt(shortFmt), 'ERR_WAV_TRUNCATED', /fmt chunk is 14 bytes, expected at least 16/],
      ['an extensible fmt chunk of 32 bytes', wavWithFmt(shortExtensible), 'ERR_WAV_TRUNCATED', /EXTENSIBLE fmt chunk is 32 bytes, expected 40/],
      ['an extensible sub-format that is neither PCM nor float', wavWithFmt(foreignGuid), 'ERR_WAV_UNSUPPORTED_FORMAT', /unsupported WAVE_FORMAT_EXTENSIBLE subformat/],
      ['NaN in a float WAV', makeWav([Float32Array.from([0, 0.5, NaN, 0])], { format: 'float', bits: 32 }), 'ERR_NON_FINITE_SAMPLES', /frame 2/],
      ['Infinity in a float64 WAV', makeWav([Float64Array.from([0, Infinity])], { format: 'float', bits: 64 }), 'ERR_NON_FINITE_SAMPLES', /frame 1/],
    ];
    for (const [what, bytes, code, message] of cases) {
      it(`for ${what} (${code})`, () => {
        expectEmoError(() => emo.decodeWav(bytes), code, message);
        expectEmoError(() => emo.melChunks(bytes), code, message);
        expectEmoError(() => emo.prepareClip(bytes), code, message);
      });
    }

    it('at the edges of the sample-rate range: 1 000 and 768 000 Hz decode, 999 and 768 001 Hz do not', () => {
      for (const rate of [1000, 768000]) {
        const decoded = emo.decodeWav(makeWav([Float32Array.from({ length: 3000 }, (_, i) => Math.sin(i / 5) / 2)], { sampleRate: rate }));
        assert.equal(decoded.sampleRate, rate);
        assert.equal(decoded.channels[0].length, 3000);
        // And it goes through the whole pipeline (resampled to 48 kHz).
        assert.deepEqual(emo.melChunks(makeWav([Float32Array.from({ length: rate * 4 }, (_, i) => Math.sin(i / 5) / 2)], { sampleRate: rate })).shape, [7, 128, 128]);
      }
      for (const rate of [999, 768001]) expectEmoError(() => emo.decodeWav(makeWav([new Float32Array(10)], { sampleRate: rate })), 'ERR_WAV_BAD_SAMPLE_RATE', new RegExp(`${rate} Hz`));
    });

    it('for NaN or Infinity in Float32Array samples', () => {
      const x = testSignal(48000 * 4, 48000);
      x[30000] = NaN;
      expectEmoError(() => emo.melChunks(x), 'ERR_NON_FINITE_SAMPLES', /index 30000/);
      expectEmoError(() => emo.prepareClip(x), 'ERR_NON_FINITE_SAMPLES', /index 30000/);
      expectEmoError(() => emo.melSpectrogram(x), 'ERR_NON_FINITE_SAMPLES', /index 30000/);
      x[30000] = -Infinity;
      expectEmoError(() => emo.melChunks(x), 'ERR_NON_FINITE_SAMPLES');
    });

    it('for samples too short for the STFT', () => {
      expectEmoError(() => emo.melSpectrogram(new Float32Array(512)), 'ERR_TOO_SHORT', /longer than nFft \/ 2 = 512/);
    });

    it('for a mutated WAV, whatever the mutation (seeded)', () => {
      const rand = prng(42);
      const small = makeWav([testSignal(2000, 16000), testSignal(2000, 16000, 2)], { sampleRate: 16000, extraChunks: [chunk('LIST', Buffer.from('odd'))] });
      for (let n = 0; n < 400; n++) {
        const mutant = Buffer.from(small.subarray(0, 1 + Math.floor(rand() * small.length)));
        for (let k = 0; k < 4; k++) mutant[Math.floor(rand() * Math.min(mutant.length, 80))] = Math.floor(rand() * 256);
        try {
          const { data } = emo.melChunks(mutant);
          assert.equal(data.length, 7 * 128 * 128);
        } catch (error) {
          assert.ok(error instanceof emo.EmoError, `mutant ${n}: ${error}`);
          assert.match(error.code, /^ERR_/);
          assert.ok(error.message.length > 10);
        }
      }
    });
  });

  describe('gives a TypeError or RangeError for misuse', () => {
    it('rejects inputs that are neither WAV bytes nor Float32Array', () => {
      for (const input of [undefined, null, 'file.wav', 42, {}, [0.1, 0.2], new Float64Array(100000), new Int16Array(100), new Uint8ClampedArray(100), new DataView(new ArrayBuffer(8)), new ArrayBuffer(100)]) {
        assert.throws(() => emo.melChunks(input), TypeError, `melChunks(${Object.prototype.toString.call(input)})`);
      }
      assert.throws(() => emo.decodeWav(new Float32Array(10)), TypeError);
      assert.throws(() => emo.melSpectrogram(Buffer.alloc(10)), TypeError);
    });

    it('rejects an empty Float32Array with a RangeError', () => {
      assert.throws(() => emo.melChunks(new Float32Array(0)), RangeError);
    });

    it('validates every option with one message style', () => {
      assert.throws(() => emo.melChunks(good, { nFft: 1023 }), { name: 'RangeError', message: /Expected an even integer for options.nFft but received 1023 of type number/ });
      assert.throws(() => emo.melChunks(good, { nMels: '128' }), { name: 'TypeError', message: /Expected an integer between 1 and 4096 for options.nMels but received '128' of type string/ });
      assert.throws(() => emo.melChunks(good, { hopLength: 0 }), RangeError);
      assert.throws(() => emo.melChunks(good, { winLength: 2048 }), RangeError);
      assert.throws(() => emo.melChunks(good, { fMax: 30000 }), RangeError);
      // The TypeScript layer's own checks, named by option (the native layer would refuse with another message).
      assert.throws(() => emo.melChunks(good, { fMin: 5000, fMax: 4000 }), { name: 'RangeError', message: /a frequency above fMin \(5000 Hz\) for options\.fMax/ });
      assert.throws(() => emo.melChunks(good, { fMin: 4000, fMax: 4000 }), { name: 'RangeError', message: /options\.fMax/ });
      assert.throws(() => emo.melChunks(good, { topDb: -1 }), RangeError);
      assert.throws(() => emo.melChunks(good, { topDb: 'loud' }), TypeError);
      assert.throws(() => emo.melChunks(good, { sampleRate: 48000.5 }), RangeError);
      assert.throws(() => emo.melChunks(good, { durationSeconds: 0.001 }), RangeError);
      assert.throws(() => emo.melChunks(good, { chunkFrames: 10000 }), RangeError);
      assert.throws(() => emo.melChunks(good, { nfft: 512 }), { name: 'TypeError', message: /Unknown option 'nfft' in options \(did you mean 'nFft'\?\)/ });
      assert.throws(() => emo.melChunks(good, 'fast'), TypeError);
    });

    it('validates prepareClip audio objects', () => {
      assert.throws(() => emo.prepareClip({ sampleRate: 48000, channels: [] }), TypeError);
      assert.throws(() => emo.prepareClip({ sampleRate: 48000, channels: [new Float32Array(10), new Float32Array(11)] }), RangeError);
      assert.throws(() => emo.prepareClip({ sampleRate: -1, channels: [new Float32Array(10)] }), RangeError);
      assert.throws(() => emo.prepareClip({ sampleRate: 48000, channels: [[1, 2, 3]] }), TypeError);
      expectEmoError(() => emo.prepareClip({ sampleRate: 10, channels: [new Float32Array(10)] }), 'ERR_WAV_BAD_SAMPLE_RATE');
    });

    it('validates batch arguments', async () => {
      await assert.rejects(emo.melChunksBatch('x'), TypeError);
      await assert.rejects(emo.melChunksBatch([good], { threads: 0 }), { name: 'RangeError', message: /between 1 and 256 for options\.threads/ });
      await assert.rejects(emo.melChunksBatch([good], { errors: 'ignore' }), RangeError);
      await assert.rejects(emo.melChunksBatch([good, 'x']), { name: 'TypeError', message: /inputs\[1\]/ });
    });
  });

  describe('reads data wherever it lies in memory', () => {
    it('decodes a WAV held at an odd byte offset of a larger buffer', () => {
      const wav = makeWav([Float32Array.from([0.25, -0.5, 0.125])], { format: 'float', bits: 32 });
      const big = Buffer.alloc(wav.length + 3);
      wav.copy(big, 1);
      const odd = big.subarray(1, 1 + wav.length);
      assert.deepEqual(Array.from(emo.decodeWav(odd).channels[0]), [0.25, -0.5, 0.125]);
    });

    it('reads a Float32Array view that starts inside its buffer', () => {
      const x = testSignal(48000 * 4, 48000);
      const backing = new Float32Array(x.length + 3);
      backing.set(x, 3);
      const view = backing.subarray(3);
      assert.equal(view.byteOffset, 12);
      assert.deepEqual(emo.melChunks(view).data, emo.melChunks(x).data);
    });
  });
});
