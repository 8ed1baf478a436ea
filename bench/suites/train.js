'use strict';
// train suite: what one training step and one forward pass of the emotion network cost on a
// tfjs backend, and the same network in PyTorch on the same machine.
//
// The model is lib/nn's createModel (input (batch, 7, 128, 128, 1)), compiled with Adam and
// categorical cross-entropy; a training step is model.trainOnBatch (forward, backward, Adam
// update, loss read back), the forward pass is model.predict with its output read back.
//
// Backend: EMO_BENCH_BACKEND if set, else the fastest available: 'tensorflow' (tfjs-node) when
// @tensorflow/tfjs-node loads, else 'emo-native' when the package's nn module registered it,
// else tfjs's pure-JS 'cpu'. On 'cpu' one step at batch 32 takes a quarter of an hour, so the
// suite measures batch 2 once and reports batch-32 throughput from it (see BATCH_CPU below).

const os = require('node:os');
const path = require('node:path');

const BASELINE_SCRIPT = path.join(__dirname, '..', 'baselines', 'torch_train.py');
const STEPS_SCRIPT = path.join(__dirname, '..', 'lib', 'train-steps.js');
const THIS_PACKAGE = path.join(__dirname, '..', '..');
const NN_MODULE = path.join(__dirname, '..', '..', 'dist', 'nn');

const BATCH = 32;
// The pure-JS backend runs every kernel as a plain loop over the batch, so time grows about
// linearly with it (outside kernels a step spends ~0.3% of its time); samples/s at batch 2
// stands in for batch 32. Measured: a batch-4 step took 1.6-1.75x a batch-2 one, so the
// extrapolation may understate the cpu backend by up to ~15% (it never flatters the tfjs
// side). Batch 2, not 1, so batch norm has a batch to normalise over.
const BATCH_CPU = 2;
// Budgets that keep the suite near 3 minutes whatever the backend: after the warm-up calls a
// measurement repeats while its budget lasts (at least once, at most `max` times), so a fast
// backend gets a real median and a slow one still finishes.
const TRAIN = { warmup: 1, max: 10, budgetMs: 40_000 };
const FORWARD = { warmup: 1, max: 10, budgetMs: 15_000 };
const LATENCY = { warmup: 2, max: 50, budgetMs: 10_000 };
// PyTorch: >= 5 timed steps after 2 warm-up ones (about a minute on 2 CPUs).
const TORCH_THREADS = 2;
const TORCH_ARGS = ['--threads', String(TORCH_THREADS), '--batch', String(BATCH), '--warmup', '2', '--steps', '5', '--forward-iterations', '5', '--latency-iterations', '20'];

/**
 * Until the nn module re-exports the native backend, load the backend module itself (importing
 * it registers 'emo-native'). A build without the addon just leaves the backend unregistered.
 */
function loadNativeBackend() {
  try {
    require(path.join(NN_MODULE, 'backend'));
  } catch {
    // not built, or the addon lacks the nn kernels: the other backends remain
  }
}

/** Loads tfjs and the model module and picks the backend; returns { tf, nn, backend, why }. */
async function selectBackend() {
  const tf = require('@tensorflow/tfjs-core');
  require('@tensorflow/tfjs-backend-cpu');
  let tfjsNode = null;
  try {
    require('@tensorflow/tfjs-node'); // optional peer dependency; registers 'tensorflow'
    tfjsNode = true;
  } catch (e) {
    tfjsNode = e && e.code === 'MODULE_NOT_FOUND' ? 'not installed' : `failed to load: ${e.message}`;
  }
  const nn = require(NN_MODULE); // may register the 'emo-native' backend
  const registered = (name) => tf.findBackendFactory(name) != null;
  if (!registered('emo-native')) loadNativeBackend();
  let backend;
  let why;
  if (process.env.EMO_BENCH_BACKEND) {
    backend = process.env.EMO_BENCH_BACKEND;
    why = 'from EMO_BENCH_BACKEND';
  } else if (tfjsNode === true && registered('tensorflow')) {
    backend = 'tensorflow';
    why = 'tfjs-node is installed';
  } else if (registered('emo-native')) {
    backend = 'emo-native';
    why = `tfjs-node ${tfjsNode}; emo-native is registered`;
  } else {
    backend = 'cpu';
    why = `tfjs-node ${tfjsNode}; emo-native not registered`;
  }
  if (!registered(backend)) {
    throw new Error(`tfjs backend '${backend}' is not registered (registered: ${Object.keys(tf.engine().registryFactory).join(', ')})`);
  }
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend '${backend}' failed to initialise`);
  await tf.ready();
  return { tf, nn, backend, why };
}

// A backend that leaks native memory grows by gigabytes per batch-32 step; stop repeating
// once the process holds this share of the machine's memory rather than be killed by the OOM
// killer with nothing reported.
const MEMORY_SHARE_LIMIT = 0.5;
let memoryWarning = null;
function memoryTight() {
  const rss = process.memoryUsage().rss;
  if (rss < MEMORY_SHARE_LIMIT * os.totalmem()) return false;
  memoryWarning = `stopped repeating early: the process holds ${(rss / 2 ** 30).toFixed(1)} GiB (over ${MEMORY_SHARE_LIMIT * 100}% of memory); the backend may leak`;
  return true;
}

/** Times `fn` (async) repeatedly within a budget: { median, min, p90, iterations, ... } in ms. */
async function timeBudgeted(ctx, fn, { warmup, max, budgetMs }) {
  for (let i = 0; i < warmup; i++) await fn();
  const samples = [];
  const start = ctx.now();
  while (samples.length === 0 || (samples.length < max && ctx.msSince(start) < budgetMs)) {
    const t0 = ctx.now();
    await fn();
    samples.push(ctx.msSince(t0));
    if (memoryTight()) break;
  }
  return ctx.summarize(samples);
}

// The previous release against this one: each side in a fresh process of its own, alternating,
// so both see the same machine state; each process times `steps` steps after `warmup` ones
// (the first steps of a process fill the native memory pool and compile convolutions).
const VERSUS = { rounds: 3, warmup: 2, steps: 3, timeoutMs: 300_000 };

/** Step times (ms) of the package in `dir`, from a child process (bench/lib/train-steps.js). */
function childSteps(dir) {
  const { execFileSync } = require('node:child_process');
  const out = execFileSync(process.execPath, [STEPS_SCRIPT, '--package', dir, '--batch', String(BATCH), '--warmup', String(VERSUS.warmup), '--steps', String(VERSUS.steps)], {
    encoding: 'utf8',
    timeout: VERSUS.timeoutMs,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return JSON.parse(out.trim().split('\n').pop());
}

/** This release against `previous`, alternating; reports both rates and their ratio. */
function versusPrevious(ctx, previous) {
  ctx.log(`this release and the previous one (${previous}) alternately, ${VERSUS.rounds} rounds of ${VERSUS.steps} steps each`);
  const steps = { current: [], previous: [] };
  const versions = {};
  for (let round = 0; round < VERSUS.rounds; round++) {
    for (const [side, dir] of [['current', THIS_PACKAGE], ['previous', previous]]) {
      const r = childSteps(dir);
      if (r.backend !== 'emo-native') throw new Error(`${dir} trained on backend '${r.backend}', not emo-native`);
      steps[side].push(...r.stepsMs);
      versions[side] = r.version;
    }
  }
  const current = ctx.summarize(steps.current), prev = ctx.summarize(steps.previous);
  const rate = (s) => BATCH / (s.median / 1000);
  ctx.report(`train step batch ${BATCH}, this release (alternating)`, rate(current), 'samples/s', { stepMs: current.median, minMs: current.min, n: current.iterations, version: versions.current });
  ctx.report(`train step batch ${BATCH}, previous release (alternating)`, rate(prev), 'samples/s', { stepMs: prev.median, minMs: prev.min, n: prev.iterations, version: versions.previous, path: previous });
  ctx.report('train speed vs previous release', rate(current) / rate(prev), 'x', { rounds: VERSUS.rounds });
}

/** The backend's count of kernels that fell back to a slow path, if it keeps one. */
function fallbackCounts(backendInstance) {
  const f = backendInstance && backendInstance.fallbackCounts;
  const raw = typeof f === 'function' ? f.call(backendInstance) : f;
  if (raw == null) return null;
  if (typeof raw === 'number') return { total: raw, byKernel: {} };
  const byKernel = raw instanceof Map ? Object.fromEntries(raw) : { ...raw };
  const total = Object.values(byKernel).reduce((s, v) => s + (typeof v === 'number' ? v : 0), 0);
  return { total, byKernel };
}

async function run(ctx) {
  const { tf, nn, backend, why } = await selectBackend();
  const onCpu = backend === 'cpu';
  const batch = onCpu ? BATCH_CPU : BATCH;
  ctx.note(`tfjs ${tf.version_core}, backend '${backend}' (${why})`);

  const model = nn.compileModel(nn.createModel({ seed: 1 }), { learningRate: 1e-3 });
  // Values of the scale of dB mel features; labels cycling through the 8 classes.
  const x = tf.tidy(() => tf.add(tf.mul(tf.randomNormal([batch, ...nn.INPUT_SHAPE], 0, 1, 'float32', 42), 15), -40));
  const y = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 8), 'int32'), 8), 'float32'));
  const x1 = tf.slice(x, [0, 0, 0, 0, 0], [1, ...nn.INPUT_SHAPE]);

  let losses = [];
  const step = async () => {
    const out = await model.trainOnBatch(x, y);
    losses.push(Array.isArray(out) ? out[0] : out);
  };
  const forward = (input) => () => {
    const p = model.predict(input);
    p.dataSync(); // wait for the result, as an application would
    p.dispose();
  };

  // --- training step ------------------------------------------------------
  let train;
  if (onCpu) {
    ctx.log(`training step at batch ${batch} on the pure-JS cpu backend (about a minute)`);
    train = await timeBudgeted(ctx, step, { warmup: 0, max: 1, budgetMs: 0 });
  } else {
    ctx.log(`training steps at batch ${batch}`);
    train = await timeBudgeted(ctx, step, TRAIN);
  }
  if (!losses.every(Number.isFinite)) throw new Error(`training produced a non-finite loss: ${losses}`);
  const trainRate = batch / (train.median / 1000);
  const trainExtra = { stepMs: train.median, minMs: train.min, n: train.iterations, backend, batch };
  if (onCpu) Object.assign(trainExtra, { extrapolated: true, estimatedStepMs: (BATCH / trainRate) * 1000 });
  ctx.report(`train step batch ${BATCH}`, trainRate, 'samples/s', trainExtra);

  // --- forward pass ---------------------------------------------------------
  ctx.log(`forward passes at batch ${batch} and 1`);
  const fwd = await timeBudgeted(ctx, forward(x), onCpu ? { warmup: 0, max: 2, budgetMs: Infinity } : FORWARD);
  const fwdRate = batch / (fwd.median / 1000);
  const fwdExtra = { msPerBatch: fwd.median, n: fwd.iterations, backend, batch };
  if (onCpu) Object.assign(fwdExtra, { extrapolated: true });
  ctx.report(`forward batch ${BATCH}`, fwdRate, 'clips/s', fwdExtra);
  const lat = await timeBudgeted(ctx, forward(x1), onCpu ? { warmup: 1, max: 3, budgetMs: Infinity } : LATENCY);
  ctx.report('forward batch 1', lat.median, 'ms', { min: lat.min, p90: lat.p90, n: lat.iterations, backend });
  if (onCpu) {
    ctx.note(
      `backend 'cpu' (pure JS): batch ${BATCH} lines are extrapolated from batch ${BATCH_CPU} ` +
        `(one training step, ${train.median.toFixed(0)} ms; forward ${fwd.median.toFixed(0)} ms), assuming time linear in the batch; ` +
        `a batch-${BATCH} step would take about ${((BATCH / trainRate) / 60).toFixed(0)} min`,
    );
  }

  if (memoryWarning) ctx.note(memoryWarning);

  const fallbacks = fallbackCounts(tf.backend());
  if (fallbacks) {
    ctx.report('backend fallback kernel calls', fallbacks.total, 'calls', { byKernel: fallbacks.byKernel });
    ctx.note(`kernels that fell back to a slow path during the run: ${JSON.stringify(fallbacks.byKernel)}`);
  }
  tf.dispose([x, y, x1]);
  model.dispose();
  losses = [];

  // --- the previous release, alternating with this one ---------------------------
  const previous = ctx.previous || process.env.EMO_BENCH_PREVIOUS || null;
  if (previous) {
    if (backend !== 'emo-native') ctx.note(`--previous: skipped, the comparison is of the emo-native backend and this run uses '${backend}'`);
    else versusPrevious(ctx, path.resolve(previous));
  }

  // --- PyTorch baseline ---------------------------------------------------------
  const avail = ctx.python.checkModules(['torch']);
  if (!avail.ok) {
    ctx.note('PyTorch not available: baseline skipped');
    ctx.log(`(${ctx.python.pythonPath()}: ${avail.reason})`);
    return;
  }
  ctx.log(`PyTorch baseline (torch ${avail.versions.torch}, ${TORCH_THREADS} threads), about a minute`);
  const threadEnv = { OMP_NUM_THREADS: String(TORCH_THREADS), MKL_NUM_THREADS: String(TORCH_THREADS), OPENBLAS_NUM_THREADS: String(TORCH_THREADS) };
  const res = ctx.python.runJsonLines(BASELINE_SCRIPT, TORCH_ARGS, { timeoutMs: 240_000, env: threadEnv });
  if (!res.ok) {
    ctx.note(`PyTorch baseline failed (${res.reason}): skipped`);
    return;
  }
  const info = res.records.find((r) => r.type === 'info');
  const timing = (name, b) => res.records.find((r) => r.type === 'timing' && r.name === name && r.batch === b);
  const ptTrain = timing('train step', BATCH);
  const ptFwd = timing('forward', BATCH);
  const ptLat = timing('forward', 1);
  if (!info || !ptTrain || !ptFwd || !ptLat) {
    ctx.note('PyTorch baseline printed incomplete results: skipped');
    return;
  }
  ctx.note(`PyTorch baseline: torch ${info.torch}, ${info.threads} intra-op threads, ${info.params} parameters, channels-first, chunks folded into the batch`);
  const ptTrainRate = BATCH / (ptTrain.median / 1000);
  const ptFwdRate = BATCH / (ptFwd.median / 1000);
  ctx.report(`pytorch train step batch ${BATCH}`, ptTrainRate, 'samples/s', { stepMs: ptTrain.median, minMs: ptTrain.min, n: ptTrain.iterations });
  ctx.report(`pytorch forward batch ${BATCH}`, ptFwdRate, 'clips/s', { msPerBatch: ptFwd.median, n: ptFwd.iterations });
  ctx.report('pytorch forward batch 1', ptLat.median, 'ms', { min: ptLat.min, p90: ptLat.p90, n: ptLat.iterations });
  ctx.report('train speed vs pytorch', trainRate / ptTrainRate, 'x', {
    backend,
    forwardBatch32: fwdRate / ptFwdRate,
    forwardBatch1: ptLat.median / lat.median,
    ...(onCpu ? { extrapolated: true } : {}),
  });
}

module.exports = {
  name: 'train',
  description: 'network training step (forward+backward+Adam) and forward pass on the selected tfjs backend, PyTorch baseline',
  run,
};
