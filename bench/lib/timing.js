'use strict';
// Timing helpers shared by every suite.
//
// process.hrtime.bigint() is monotonic and nanosecond-resolution, unlike
// Date.now() (1 ms, can jump) or performance.now() (a double that loses
// resolution as the process ages). Durations are converted to milliseconds
// only after subtracting two bigints, so no precision is lost.

/** Keeps each call's result reachable so a JIT can never treat fn() as dead code. */
let sink;

function nowNs() {
  return process.hrtime.bigint();
}

/** Elapsed milliseconds since `startNs` (a bigint from nowNs()). */
function msSince(startNs) {
  return Number(nowNs() - startNs) / 1e6;
}

/**
 * Order statistics of per-call durations (ms). The median is the headline
 * number everywhere: it ignores the occasional GC pause or scheduler hiccup
 * that would drag a mean around; min shows the noise-free floor and p90 the tail.
 */
function summarize(samplesMs) {
  const n = samplesMs.length;
  if (n === 0) throw new RangeError('summarize: no samples');
  const sorted = Float64Array.from(samplesMs).sort();
  const mid = n >> 1;
  const median = n % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  // Nearest-rank percentile: an actual observed duration, never interpolated.
  const p90 = sorted[Math.min(n - 1, Math.ceil(0.9 * n) - 1)];
  let total = 0;
  for (let i = 0; i < n; i++) total += sorted[i];
  return { median, min: sorted[0], p90, max: sorted[n - 1], mean: total / n, iterations: n, totalMs: total };
}

function checkOptions(options) {
  const { warmup = 5, iterations = 30, minTimeMs = 0, maxIterations = 1e6 } = options || {};
  for (const [k, v] of Object.entries({ warmup, iterations, minTimeMs, maxIterations })) {
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`timeIt: ${k} must be a finite number >= 0, got ${v}`);
  }
  if (iterations < 1) throw new RangeError('timeIt: iterations must be >= 1');
  return { warmup, iterations, minTimeMs, maxIterations: Math.max(maxIterations, iterations) };
}

/**
 * Times a synchronous function call by call.
 *
 * Runs `warmup` untimed calls (JIT, caches, lazily built plans and the first
 * allocations settle), then timed calls until at least `iterations` calls AND
 * `minTimeMs` of wall time have passed (capped at `maxIterations`), so fast
 * functions get enough samples and slow ones still finish.
 *
 * @returns {{median:number,min:number,p90:number,max:number,mean:number,iterations:number,totalMs:number}} ms
 */
function timeIt(fn, options) {
  const o = checkOptions(options);
  for (let i = 0; i < o.warmup; i++) sink = fn();
  const samples = [];
  const start = nowNs();
  while ((samples.length < o.iterations || msSince(start) < o.minTimeMs) && samples.length < o.maxIterations) {
    const t0 = nowNs();
    sink = fn();
    const t1 = nowNs();
    samples.push(Number(t1 - t0) / 1e6);
  }
  sink = undefined; // let a large last result be collected
  return summarize(samples);
}

/** timeIt for a function returning a promise; each call is awaited before the next starts. */
async function timeItAsync(fn, options) {
  const o = checkOptions(options);
  for (let i = 0; i < o.warmup; i++) sink = await fn();
  const samples = [];
  const start = nowNs();
  while ((samples.length < o.iterations || msSince(start) < o.minTimeMs) && samples.length < o.maxIterations) {
    const t0 = nowNs();
    sink = await fn();
    const t1 = nowNs();
    samples.push(Number(t1 - t0) / 1e6);
  }
  sink = undefined;
  return summarize(samples);
}

module.exports = { timeIt, timeItAsync, summarize, nowNs, msSince, _sink: () => sink };
