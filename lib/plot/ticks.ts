// Axis tick helpers: "nice" steps and labels that do not print float noise.

/**
 * The smallest step of the form m × 10^k (m from `mantissas`) that is at least
 * `minStep`. Degenerate inputs fall back to 1 so callers never loop forever.
 */
export function niceStep(minStep: number, mantissas: readonly number[] = [1, 2, 5]): number {
  if (!(minStep > 0) || !Number.isFinite(minStep)) return 1;
  const decade = 10 ** Math.floor(Math.log10(minStep));
  for (const m of [...mantissas, 10 * (mantissas[0] ?? 1)]) {
    // The tolerance keeps e.g. 0.25 from losing to float error in 2.5 × 0.1.
    if (m * decade >= minStep * (1 - 1e-9)) return m * decade;
  }
  return 10 * decade;
}

/** Multiples of `step` within [lo, hi], computed as k × step so errors do not accumulate. */
export function ticksIn(lo: number, hi: number, step: number): number[] {
  const first = Math.ceil(lo / step - 1e-9);
  const last = Math.floor(hi / step + 1e-9);
  const ticks: number[] = [];
  for (let k = first; k <= last; k++) ticks.push(k * step);
  return ticks;
}

/** Decimal places needed to print multiples of `step` exactly (0.25 -> 2, 5 -> 0). */
export function decimalsFor(step: number): number {
  for (let d = 0; d < 10; d++) {
    const scaled = step * 10 ** d;
    if (Math.abs(scaled - Math.round(scaled)) < 1e-6 * scaled) return d;
  }
  return 10;
}

/** Fixed-point label that never reads "-0". */
export function formatTick(value: number, decimals: number): string {
  const text = value.toFixed(decimals);
  return /^-0(\.0*)?$/.test(text) ? text.slice(1) : text;
}
