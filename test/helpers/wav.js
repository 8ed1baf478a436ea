'use strict';
// A WAV writer for tests, written from the RIFF spec and independent of the
// decoder under test, so malformed variants can be built byte by byte.

const FORMAT = { pcm: 1, float: 3, alaw: 6, mulaw: 7, extensible: 0xfffe };

function chunk(id, body, { declaredSize, pad = true } = {}) {
  const header = Buffer.alloc(8);
  header.write(id, 0, 'latin1');
  header.writeUInt32LE(declaredSize ?? body.length, 4);
  const parts = [header, body];
  if (pad && body.length % 2 === 1) parts.push(Buffer.alloc(1));
  return Buffer.concat(parts);
}

function fmtBody({ format = 'pcm', channels = 1, sampleRate = 48000, bits = 16, validBits, blockAlign, extensibleSubformat }) {
  const bytesPerSample = Math.ceil(bits / 8);
  const align = blockAlign ?? channels * bytesPerSample;
  const tag = format === 'extensible' ? FORMAT.extensible : FORMAT[format];
  const base = Buffer.alloc(format === 'extensible' ? 40 : 16);
  base.writeUInt16LE(tag, 0);
  base.writeUInt16LE(channels, 2);
  base.writeUInt32LE(sampleRate, 4);
  base.writeUInt32LE((sampleRate * align) >>> 0, 8); // byte rate: informative only, may overflow for absurd rates
  base.writeUInt16LE(align, 12);
  base.writeUInt16LE(bits, 14);
  if (format === 'extensible') {
    base.writeUInt16LE(22, 16);
    base.writeUInt16LE(validBits ?? bits, 18);
    base.writeUInt32LE(0, 20);
    const sub = extensibleSubformat ?? 1;
    // KSDATAFORMAT_SUBTYPE_{PCM,IEEE_FLOAT}: {0000000X-0000-0010-8000-00AA00389B71}
    Buffer.from([sub & 0xff, sub >> 8, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71]).copy(base, 24);
  }
  return base;
}

/** Encodes planar float channels (values in [-1, 1]) as interleaved samples. */
function encodeSamples(channels, { format = 'pcm', bits = 16, extensibleSubformat }) {
  const isFloat = format === 'float' || (format === 'extensible' && extensibleSubformat === 3);
  const frames = channels[0].length;
  const bytes = Math.ceil(bits / 8);
  const out = Buffer.alloc(frames * channels.length * bytes);
  let o = 0;
  for (let i = 0; i < frames; i++) {
    for (const ch of channels) {
      const v = ch[i];
      if (isFloat && bits === 32) out.writeFloatLE(v, o);
      else if (isFloat && bits === 64) out.writeDoubleLE(v, o);
      else if (bytes === 1) out.writeUInt8(Math.max(0, Math.min(255, Math.round(v * 128 + 128))), o);
      else if (bytes === 2) out.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(v * 32768))), o);
      else if (bytes === 3) out.writeIntLE(Math.max(-8388608, Math.min(8388607, Math.round(v * 8388608))), o, 3);
      else if (bytes === 4) out.writeInt32LE(Math.max(-2147483648, Math.min(2147483647, Math.round(v * 2147483648))), o);
      o += bytes;
    }
  }
  return out;
}

/**
 * Builds a WAV file. `extraChunks` go before the data chunk; `dataDeclaredSize`
 * lets a test claim more data than present.
 */
function makeWav(channels, options = {}) {
  const { extraChunks = [], dataDeclaredSize, dataBytes, trailingChunks = [] } = options;
  const fmt = chunk('fmt ', fmtBody({ ...options, channels: options.channels ?? channels.length }));
  const samples = dataBytes ?? encodeSamples(channels, options);
  const data = chunk('data', samples, { declaredSize: dataDeclaredSize, pad: dataDeclaredSize === undefined });
  const body = Buffer.concat([Buffer.from('WAVE', 'latin1'), fmt, ...extraChunks, data, ...trailingChunks]);
  const riff = Buffer.alloc(8);
  riff.write('RIFF', 0, 'latin1');
  riff.writeUInt32LE(body.length, 4);
  return Buffer.concat([riff, body]);
}

/** Deterministic PRNG (mulberry32) so test signals are the same on every run. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A broadband test signal: two tones plus noise, peak below 1. */
function testSignal(frames, sampleRate, seed = 1) {
  const rand = prng(seed);
  const x = new Float32Array(frames);
  for (let i = 0; i < frames; i++) {
    const t = i / sampleRate;
    x[i] = 0.3 * Math.sin(2 * Math.PI * 220 * t) + 0.2 * Math.sin(2 * Math.PI * 1375 * t + 0.5) + 0.05 * (rand() * 2 - 1);
  }
  return x;
}

module.exports = { chunk, fmtBody, encodeSamples, makeWav, prng, testSignal };
