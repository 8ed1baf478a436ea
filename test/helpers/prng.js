'use strict';
// An independent JavaScript implementation of the PRNG documented in the README
// ("Augmentation"): SplitMix64 seeding, xoshiro256**, the polar method in
// float32. Used to check the native kernels draw exactly what the docs say.

const MASK = (1n << 64n) - 1n;
const rotl = (x, k) => ((x << BigInt(k)) | (x >> BigInt(64 - k))) & MASK;

class Xoshiro256 {
  constructor(seed) {
    let x = BigInt(seed) & MASK;
    this.s = [0n, 0n, 0n, 0n].map(() => {
      x = (x + 0x9e3779b97f4a7c15n) & MASK;
      let z = x;
      z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK;
      z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK;
      return z ^ (z >> 31n);
    });
  }

  nextU64() {
    const s = this.s;
    const result = (rotl((s[1] * 5n) & MASK, 7) * 9n) & MASK;
    const t = (s[1] << 17n) & MASK;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
  }

  uniform() {
    return Number(this.nextU64() >> 11n) * 2 ** -53;
  }
}

const f = Math.fround;

/** float32 ln with the documented series (every operation rounded to float32). */
function logf(x) {
  const buf = new DataView(new ArrayBuffer(4));
  buf.setFloat32(0, x);
  const bits = buf.getUint32(0);
  const exponent = (bits >>> 23) - 127;
  buf.setUint32(0, (bits & 0x007fffff) | 0x3f800000);
  let m = buf.getFloat32(0);
  const high = m > f(1.41421356);
  m = high ? f(m * 0.5) : m;
  const e = f(exponent + (high ? 1 : 0));
  const s = f(f(m - 1) / f(m + 1));
  const s2 = f(s * s);
  const c = (k) => f(2 / k);
  const series = f(2 + f(s2 * f(c(3) + f(s2 * f(c(5) + f(s2 * f(c(7) + f(s2 * c(9)))))))));
  return f(f(e * f(0.693147180559945)) + f(s * series));
}

/** n normal deviates exactly as the native Prng.fillNormal makes them. */
function fillNormal(seed, n) {
  const prng = new Xoshiro256(seed);
  const out = new Float32Array(n);
  let written = 0;
  while (written < n) {
    const pairs = [];
    for (let i = 0; i < 256; i++) {
      const r = prng.nextU64();
      const u = f((Number((r >> 40n) & 0xffffffn) - 0x800000) * 2 ** -23);
      const v = f((Number((r >> 8n) & 0xffffffn) - 0x800000) * 2 ** -23);
      pairs.push([u, v]);
    }
    for (const [u, v] of pairs) {
      if (written >= n) break;
      const s = f(f(u * u) + f(v * v));
      if (!(s < 1 && s > 0)) continue;
      const factor = f(Math.sqrt(f(f(-2 * logf(s)) / s)));
      if (factor === 0) continue;
      out[written++] = f(u * factor);
      if (written < n) out[written++] = f(v * factor);
    }
  }
  return out;
}

module.exports = { Xoshiro256, fillNormal };
