/**
 * Seeded randomness for the synthetic corpus. Every clip draws from its own
 * stream, keyed by (seed, actor, emotion, ...), so the output does not depend
 * on the order in which parallel jobs finish. Only integer arithmetic and
 * basic float operations are used, so every machine draws the same numbers.
 */

/** 32-bit hash of a string (Murmur3's finaliser over an FNV-1a pass). */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A mulberry32 generator. */
export class Rng {
  private state: number;

  /** A stream for `seed` and a key naming its purpose, e.g. `actor:3`. */
  constructor(seed: number, key: string) {
    this.state = hash32(`${seed}/${key}`);
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /**
   * Approximately standard normal: a centred sum of four uniforms scaled to unit
   * variance. No log or sqrt of a draw, so no platform-dependent rounding.
   */
  gauss(): number {
    return (this.next() + this.next() + this.next() + this.next() - 2) * 1.7320508075688772;
  }
}
