/**
 * The package's one seeded random generator (mulberry32) for everything drawn in JavaScript:
 * training (shuffling, warps, masks, mixup, dropout seeds), seeded splits, the synthetic corpus
 * and the export check's generated clips. Only integer arithmetic and one division, so every
 * machine draws the same numbers. (The native augmentation kernels have their own documented
 * generator, xoshiro256**, in C++.)
 *
 * @packageDocumentation
 */

/** mulberry32: a 32-bit state, uniform draws in [0, 1). */
export class Mulberry32 {
  /** The whole state, an unsigned 32-bit integer: save it to resume the stream exactly. */
  state: number;

  constructor(state: number) {
    this.state = state >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

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

/**
 * A keyed stream: its own generator per (seed, purpose), e.g. `new Rng(seed, 'actor:3')`, so
 * results do not depend on the order in which parallel jobs draw.
 */
export class Rng extends Mulberry32 {
  constructor(seed: number, key: string) {
    super(hash32(`${seed}/${key}`));
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
   * Approximately standard normal: a centred sum of four uniforms scaled to unit variance. No log
   * or sqrt of a draw, so no platform-dependent rounding.
   */
  gauss(): number {
    return (this.next() + this.next() + this.next() + this.next() - 2) * 1.7320508075688772;
  }
}
