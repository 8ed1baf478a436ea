/**
 * mixup (Zhang et al., 2018) of training batches: each clip is blended with another clip of the
 * batch, features and one-hot labels alike, with a weight drawn from Beta(alpha, alpha). A network
 * trained on blends cannot memorise the exact training clips (here: the training voices) and
 * has to keep its outputs linear between them, which is what carries over to unseen speakers.
 * @packageDocumentation
 */

/** A standard normal variate from two uniform ones (Box–Muller). */
function normal(random: () => number): number {
  const u = 1 - random(); // (0, 1]: log(u) is finite
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** A Gamma(shape, 1) variate (Marsaglia & Tsang, 2000; shapes below 1 boosted by u^(1/shape)). */
function gamma(shape: number, random: () => number): number {
  if (shape < 1) return gamma(shape + 1, random) * (1 - random()) ** (1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const z = normal(random);
    const v = (1 + c * z) ** 3;
    if (v <= 0) continue;
    if (Math.log(1 - random()) < 0.5 * z * z + d - d * v + d * Math.log(v)) return d * v;
  }
}

/** A Beta(a, b) variate from `random` (numbers in [0, 1)). */
export function sampleBeta(a: number, b: number, random: () => number): number {
  const x = gamma(a, random);
  const y = gamma(b, random);
  return x / (x + y);
}

/**
 * In place: mixup of a batch of `n` clips, `features` holding n equal-sized clips one after the
 * other and `labels` n one-hot (or soft) rows of `classes`. Clip i is blended with clip p(i) of a
 * random permutation p: `λ·x_i + (1 − λ)·x_p(i)` with λ = max(b, 1 − b), b ~ Beta(alpha, alpha),
 * so each blend is dominated by its own clip and label. Draws, in order: the permutation
 * (Fisher–Yates from the end), then λ for clip 0, 1, …
 */
export function mixBatch(features: Float32Array, labels: Float32Array, classes: number, alpha: number, random: () => number): void {
  const n = labels.length / classes;
  if (!Number.isInteger(n) || features.length % n !== 0) throw new RangeError(`Expected ${n} clips of features for ${labels.length / classes} label rows`);
  if (n < 2 || alpha <= 0) return;
  const size = features.length / n;
  const partner = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [partner[i], partner[j]] = [partner[j] as number, partner[i] as number];
  }
  const x = features.slice();
  const y = labels.slice();
  for (let i = 0; i < n; i++) {
    const b = sampleBeta(alpha, alpha, random);
    const lambda = Math.max(b, 1 - b);
    const p = partner[i] as number;
    for (let k = 0; k < size; k++) features[i * size + k] = lambda * (x[i * size + k] as number) + (1 - lambda) * (x[p * size + k] as number);
    for (let k = 0; k < classes; k++) labels[i * classes + k] = lambda * (y[i * classes + k] as number) + (1 - lambda) * (y[p * classes + k] as number);
  }
}
