'use strict';
// Deterministic test audio for benchmarks, made in memory.
//
// Benchmarks need input that exercises the same code paths as real speech
// (broadband spectrum, no digital silence, realistic level) without shipping
// recordings, and must be bit-identical on every run and machine so numbers
// stay comparable. Everything here is seeded; Math.random() is never used.

/** mulberry32: tiny, fast, well-distributed 32-bit PRNG; returns floats in [0, 1). */
function prng(seed) {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A formant as a resonance peak: Lorentzian gain at frequency f (cheaper than exp per harmonic). */
function formantGain(f, centre, bandwidth) {
  const x = (f - centre) / bandwidth;
  return 1 / (1 + x * x);
}

// Rough F1/F2/F3 (Hz) of a few vowels; the voice glides between them syllable by syllable.
const VOWELS = [
  [730, 1090, 2440], // a
  [530, 1840, 2480], // e
  [270, 2290, 3010], // i
  [570, 840, 2410],  // o
  [300, 870, 2240],  // u
];

/**
 * Speech-like mono signal: a voiced harmonic source (pitch contour + 5.5 Hz
 * vibrato, 1/k harmonic roll-off shaped by gliding formants) in syllables of
 * 120-320 ms separated by short pauses, unvoiced fricative noise bursts
 * (high-passed, energy up to Nyquist), a quiet second talker an octave and a
 * fifth apart, and a white noise floor so no frame is digital silence (the
 * dB floor path would otherwise be unrealistically cheap or expensive).
 *
 * @param {{sampleRate?:number, seconds?:number, seed?:number, f0?:number, peak?:number}} [options]
 * @returns {Float32Array} samples in [-peak, peak]
 */
function speechLike(options = {}) {
  const { sampleRate = 48000, seconds = 4, seed = 1, f0 = 140, peak = 0.7 } = options;
  const n = Math.round(sampleRate * seconds);
  const rand = prng(seed);
  const out = new Float64Array(n);
  const nyquist = sampleRate / 2;
  const twoPi = 2 * Math.PI;

  // Syllable plan: [start, end, voiced, vowel index], drawn from the PRNG.
  const syllables = [];
  for (let t = 0.05 * sampleRate; t < n; ) {
    const len = Math.round((0.12 + 0.2 * rand()) * sampleRate);
    syllables.push({ start: t, end: Math.min(n, t + len), voiced: rand() < 0.75, vowel: Math.floor(rand() * VOWELS.length) });
    t += len + Math.round((0.02 + 0.12 * rand()) * sampleRate);
  }

  // Voiced source. Harmonic gains are refreshed every BLOCK samples: the
  // formants and pitch move slowly, and per-sample refresh would cost ~10x more.
  const BLOCK = 64;
  // Voiced speech carries little harmonic energy above ~8 kHz; above that the
  // fricatives and the noise floor supply the broadband part.
  const fTop = Math.min(8000, 0.9 * nyquist);
  const maxHarmonics = Math.floor(fTop / (f0 * 0.8));
  const gains = new Float64Array(maxHarmonics + 1);
  const vibPhase0 = rand() * twoPi;
  const talker2 = 0.08; // second talker about -22 dB below the first
  let phase = 0;
  let phase2 = 0;
  for (const s of syllables) {
    const [f1, f2, f3] = VOWELS[s.vowel];
    const len = s.end - s.start;
    if (!s.voiced) {
      // Fricative: first difference of white noise = high-pass tilt, energy to Nyquist.
      let prev = 0;
      for (let i = s.start; i < s.end; i++) {
        const w = rand() * 2 - 1;
        const env = Math.sin((Math.PI * (i - s.start)) / len);
        out[i] += 0.25 * env * (w - prev);
        prev = w;
      }
      continue;
    }
    for (let b = s.start; b < s.end; b += BLOCK) {
      const tSec = b / sampleRate;
      const contour = 1 + 0.15 * Math.sin(twoPi * 0.3 * tSec + seed); // slow intonation
      const fBlock = f0 * contour;
      let k = 1;
      for (; k <= maxHarmonics && k * fBlock < fTop; k++) {
        const f = k * fBlock;
        gains[k] = (1 / k) * (0.15 + formantGain(f, f1, 90) + 0.7 * formantGain(f, f2, 120) + 0.4 * formantGain(f, f3, 160));
      }
      const kMax = k - 1;
      const end = Math.min(s.end, b + BLOCK);
      for (let i = b; i < end; i++) {
        const t = i / sampleRate;
        const vibrato = 1 + 0.03 * Math.sin(twoPi * 5.5 * t + vibPhase0);
        phase += (twoPi * fBlock * vibrato) / sampleRate;
        if (phase > twoPi) phase -= twoPi;
        phase2 += (twoPi * fBlock * 1.5 * vibrato) / sampleRate;
        if (phase2 > twoPi) phase2 -= twoPi;
        let v = 0;
        for (let h = 1; h <= kMax; h++) v += gains[h] * Math.sin(h * phase);
        // A few harmonics of the second talker are enough to make a second pitch track.
        let v2 = 0;
        for (let h = 1; h <= 6; h++) v2 += Math.sin(h * phase2) / h;
        // Raised-cosine syllable envelope: no clicks at syllable edges.
        const env = 0.5 - 0.5 * Math.cos((twoPi * (i - s.start)) / len);
        out[i] += env * (0.5 * v + talker2 * v2);
      }
    }
  }

  // Normalise the speech to `peak`, then add the noise floor at about -60 dBFS.
  let max = 0;
  for (let i = 0; i < n; i++) max = Math.max(max, Math.abs(out[i]));
  const scale = max > 0 ? (peak * 0.98) / max : 1;
  const result = new Float32Array(n);
  for (let i = 0; i < n; i++) result[i] = out[i] * scale + 0.002 * (rand() * 2 - 1);
  return result;
}

/**
 * Encodes planar channels as a canonical 44-byte-header PCM WAV (RIFF, "fmt "
 * chunk with format tag 1, "data" chunk), little-endian, 16 or 24 bits.
 * Samples are clamped and rounded (no dither, so the bytes are deterministic).
 *
 * @param {Float32Array[]} channels equal-length channels in [-1, 1]
 * @param {number} sampleRate Hz
 * @param {{bitsPerSample?: 16|24}} [options]
 * @returns {Buffer}
 */
function encodeWav(channels, sampleRate, options = {}) {
  const { bitsPerSample = 16 } = options;
  if (bitsPerSample !== 16 && bitsPerSample !== 24) throw new RangeError('encodeWav: bitsPerSample must be 16 or 24');
  if (!Array.isArray(channels) || channels.length === 0) throw new TypeError('encodeWav: channels must be a non-empty array');
  const frames = channels[0].length;
  if (channels.some((c) => c.length !== frames)) throw new RangeError('encodeWav: channels differ in length');
  const numChannels = channels.length;
  const bytesPerSample = bitsPerSample / 8;
  const blockAlign = numChannels * bytesPerSample;
  const dataBytes = frames * blockAlign;
  const buf = Buffer.alloc(44 + dataBytes);
  buf.write('RIFF', 0, 'ascii');
  buf.writeUInt32LE(36 + dataBytes, 4); // RIFF size: everything after these 8 bytes
  buf.write('WAVE', 8, 'ascii');
  buf.write('fmt ', 12, 'ascii');
  buf.writeUInt32LE(16, 16); // fmt chunk size for plain PCM
  buf.writeUInt16LE(1, 20); // WAVE_FORMAT_PCM
  buf.writeUInt16LE(numChannels, 22);
  buf.writeUInt32LE(sampleRate, 24);
  buf.writeUInt32LE(sampleRate * blockAlign, 28); // byte rate
  buf.writeUInt16LE(blockAlign, 32);
  buf.writeUInt16LE(bitsPerSample, 34);
  buf.write('data', 36, 'ascii');
  buf.writeUInt32LE(dataBytes, 40);
  const full = 2 ** (bitsPerSample - 1);
  let offset = 44;
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < numChannels; c++) {
      const q = Math.max(-full, Math.min(full - 1, Math.round(channels[c][i] * full)));
      if (bitsPerSample === 16) buf.writeInt16LE(q, offset);
      else buf.writeIntLE(q, offset, 3);
      offset += bytesPerSample;
    }
  }
  return buf;
}

/**
 * A ready-made test clip as WAV bytes.
 * Stereo: the right channel is the left one delayed by 0.3 ms, 2 dB quieter,
 * with its own noise floor, like a close spaced pair, so the channel mix is real work.
 *
 * @param {{sampleRate?:number, channels?:number, seconds?:number, seed?:number, f0?:number, bitsPerSample?:16|24}} [options]
 * @returns {{bytes: Buffer, sampleRate:number, channels:number, seconds:number, description:string}}
 */
function makeTestWav(options = {}) {
  const { sampleRate = 48000, channels = 1, seconds = 4, seed = 1, f0 = 140, bitsPerSample = 16 } = options;
  const left = speechLike({ sampleRate, seconds, seed, f0 });
  const planar = [left];
  const rand = prng(seed ^ 0x9e3779b9);
  const delay = Math.round(0.0003 * sampleRate);
  for (let c = 1; c < channels; c++) {
    const ch = new Float32Array(left.length);
    for (let i = 0; i < ch.length; i++) ch[i] = 0.79 * (i >= delay ? left[i - delay] : 0) + 0.002 * (rand() * 2 - 1);
    planar.push(ch);
  }
  const bytes = encodeWav(planar, sampleRate, { bitsPerSample });
  const layout = channels === 1 ? 'mono' : channels === 2 ? 'stereo' : `${channels} ch`;
  return {
    bytes,
    sampleRate,
    channels,
    seconds,
    description: `${seconds} s ${sampleRate / 1000} kHz ${bitsPerSample}-bit ${layout} WAV, speech-like, seed ${seed}`,
  };
}

module.exports = { prng, speechLike, encodeWav, makeTestWav };
