// The HTK mel scale of the feature pipeline (torchaudio's default): band centres for plots, the frequency warp of training.

/** Hz to mel on the HTK scale: mel = 2595 · log10(1 + f / 700). */
export function hzToMel(hz: number): number {
  return 2595 * Math.log10(1 + hz / 700);
}

/** Mel (HTK scale) back to Hz. */
export function melToHz(mel: number): number {
  return 700 * (10 ** (mel / 2595) - 1);
}

/**
 * Centre frequency in Hz of each of `nMels` triangular bands spread equally in
 * mel between `fMin` and `fMax`: the band edges are nMels + 2 equally spaced
 * mel points and band m peaks at point m + 1.
 */
export function melBandCentres(nMels: number, fMin: number, fMax: number): Float64Array {
  const lo = hzToMel(fMin);
  const step = (hzToMel(fMax) - lo) / (nMels + 1);
  return Float64Array.from({ length: nMels }, (_, m) => melToHz(lo + (m + 1) * step));
}
