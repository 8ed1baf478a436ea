'use strict';
// Per-kernel profile of one training step of the emotion network (forward, backward, Adam
// update via model.trainOnBatch), on any registered tfjs backend. Its purpose is to show a
// backend author which kernels (and which shapes of them) the time goes to.
//
//   node bench/lib/profile-train.js                      pure-JS 'cpu' backend, batch 2
//   node bench/lib/profile-train.js --backend emo-native --batch 32 --warmup 1
//   node bench/lib/profile-train.js --json > profile.json
//
// Options:
//   --backend NAME   tfjs backend to profile (default cpu). 'tensorflow' needs
//                    @tensorflow/tfjs-node; 'emo-native' must be registered by
//                    require('dist/nn') (the package's nn module).
//   --batch N        batch size (default 2)
//   --warmup N       untimed training steps first (default 0 on cpu, where one step takes a
//                    minute, 1 elsewhere: the first step also creates Adam's moment variables
//                    and pays one-time backend set-up)
//   --steps N        profiled steps, results are totals over them (default 1)
//   --top N          rows of the shape table (default 40); the kernel table shows every kernel
//   --json           print one JSON document instead of the tables
//
// How it measures: tf.engine().runKernel is wrapped, so every kernel an op, a gradient or the
// optimizer launches is timed with process.hrtime around the call. Time spent in a kernel that
// itself launches kernels through the engine is charged to the inner ones (exclusive time). The
// phase (forward, backward, adam) comes from wrapping engine.gradients (forward = inside the
// function being differentiated, backward = the rest of it) and optimizer.applyGradients. The
// timing is synchronous: right for backends whose kernels finish before returning (cpu, a
// native CPU backend, tfjs-node); an asynchronous backend (webgl) would need a sync per kernel.
// tf.profile() would also work, but reports neither phases nor exclusive time.

const path = require('node:path');

function parseArgs(argv) {
  const opts = { backend: 'cpu', batch: 2, warmup: null, steps: 1, top: 40, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    const int = (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new Error(`${a}: expected a non-negative integer, got ${v}`);
      return n;
    };
    if (a === '--backend') opts.backend = next();
    else if (a === '--batch') opts.batch = int(next());
    else if (a === '--warmup') opts.warmup = int(next());
    else if (a === '--steps') opts.steps = int(next());
    else if (a === '--top') opts.top = int(next());
    else if (a === '--json') opts.json = true;
    else if (a === '--help' || a === '-h') opts.help = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (opts.batch < 1) throw new Error('--batch must be >= 1');
  if (opts.steps < 1) throw new Error('--steps must be >= 1');
  if (opts.warmup === null) opts.warmup = opts.backend === 'cpu' ? 0 : 1;
  return opts;
}

/** Loads tfjs, the model module and the requested backend; returns { tf, nn }. */
async function setUp(backend) {
  const tf = require('@tensorflow/tfjs-core');
  require('@tensorflow/tfjs-backend-cpu');
  if (backend === 'tensorflow') require('@tensorflow/tfjs-node'); // throws a clear error if absent
  const nn = require(path.join(__dirname, '..', '..', 'dist', 'nn'));
  if (backend === 'emo-native' && tf.findBackendFactory('emo-native') == null) {
    // Until the nn module re-exports it, importing the backend module registers it.
    require(path.join(__dirname, '..', '..', 'dist', 'nn', 'backend'));
  }
  const ok = await tf.setBackend(backend).catch(() => false);
  if (!ok) {
    const known = Object.keys(tf.engine().registryFactory).join(', ');
    throw new Error(`backend '${backend}' is not available (registered: ${known})`);
  }
  await tf.ready();
  return { tf, nn };
}

/** A compact description of a kernel call's input shapes: "x[14,64,64,16] filter[3,3,16,32]". */
function shapeSignature(inputs) {
  return Object.entries(inputs || {})
    .map(([k, t]) => (t && Array.isArray(t.shape) ? `${k}[${t.shape.join(',')}]` : null))
    .filter(Boolean)
    .join(' ');
}

/** The attributes that change what a kernel does (strides, pads, transposes, axes…), short. */
function attrSignature(attrs) {
  const parts = [];
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || typeof v === 'function' || (typeof v === 'object' && !Array.isArray(v))) continue;
    if (Array.isArray(v) && v.length > 8) continue;
    if (k === 'dataFormat' && v === 'NHWC') continue; // the default everywhere here
    parts.push(`${k}=${Array.isArray(v) ? `[${v.join(',')}]` : v}`);
  }
  return parts.join(' ');
}

/** Installs the timing wrappers; returns { records, setPhase, restore }. */
function instrument(tf) {
  const engine = tf.engine();
  const records = new Map(); // key: name + shapes + attrs → { name, shapes, attrs, count, ms, phases }
  let phase = 'other';
  const stack = []; // child time of the kernels currently running, for exclusive timing

  const originalRunKernel = engine.runKernel;
  engine.runKernel = function timedRunKernel(name, inputs, attrs) {
    stack.push(0);
    const start = process.hrtime.bigint();
    let out;
    try {
      out = originalRunKernel.call(this, name, inputs, attrs);
    } finally {
      const total = Number(process.hrtime.bigint() - start) / 1e6;
      const children = stack.pop();
      if (stack.length) stack[stack.length - 1] += total;
      const ms = total - children;
      const shapes = shapeSignature(inputs);
      const attrText = attrSignature(attrs);
      const key = `${name}|${shapes}|${attrText}`;
      let r = records.get(key);
      if (!r) {
        r = { name, shapes, attrs: attrText, count: 0, ms: 0, phases: {} };
        records.set(key, r);
      }
      r.count++;
      r.ms += ms;
      r.phases[phase] = (r.phases[phase] || 0) + ms;
    }
    return out;
  };

  const originalGradients = engine.gradients;
  engine.gradients = function phasedGradients(f, xs, dy, allowNoGradients) {
    const outer = phase;
    const wrapped = () => {
      phase = 'forward';
      const y = f();
      phase = 'backward';
      return y;
    };
    try {
      return originalGradients.call(this, wrapped, xs, dy, allowNoGradients);
    } finally {
      phase = outer;
    }
  };

  return {
    records,
    setPhase(p) {
      phase = p;
    },
    wrapOptimizer(optimizer) {
      const original = optimizer.applyGradients;
      optimizer.applyGradients = function phasedApply(...args) {
        const outer = phase;
        phase = 'adam';
        try {
          return original.apply(this, args);
        } finally {
          phase = outer;
        }
      };
    },
    restore() {
      engine.runKernel = originalRunKernel;
      engine.gradients = originalGradients;
    },
  };
}

function summarise(records, stepMs) {
  const byKernel = new Map();
  for (const r of records.values()) {
    let k = byKernel.get(r.name);
    if (!k) {
      k = { name: r.name, count: 0, ms: 0, phases: {}, shapes: [] };
      byKernel.set(r.name, k);
    }
    k.count += r.count;
    k.ms += r.ms;
    for (const [p, ms] of Object.entries(r.phases)) k.phases[p] = (k.phases[p] || 0) + ms;
    k.shapes.push(r);
  }
  const kernels = [...byKernel.values()].sort((a, b) => b.ms - a.ms);
  for (const k of kernels) k.shapes.sort((a, b) => b.ms - a.ms);
  const kernelMs = kernels.reduce((s, k) => s + k.ms, 0);
  const phaseMs = {};
  for (const k of kernels) for (const [p, ms] of Object.entries(k.phases)) phaseMs[p] = (phaseMs[p] || 0) + ms;
  return { kernels, kernelMs, phaseMs, stepMs, overheadMs: stepMs - kernelMs };
}

function fmt(x, digits = 1) {
  return x.toFixed(digits);
}

function table(head, rows, rightAligned) {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? String(c) : rightAligned.has(i) ? String(c).padStart(widths[i]) : String(c).padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function render(summary, meta, top) {
  const { kernels, kernelMs, phaseMs, stepMs, overheadMs } = summary;
  const pct = (ms) => `${fmt((100 * ms) / stepMs)}%`;
  const out = [];
  out.push(`training step profile: backend ${meta.backend}, batch ${meta.batch}, ${meta.steps} step(s) after ${meta.warmup} warm-up, input (${meta.batch}, 7, 128, 128, 1)`);
  out.push(`wall ${fmt(stepMs)} ms; in kernels ${fmt(kernelMs)} ms (forward ${fmt(phaseMs.forward || 0)}, backward ${fmt(phaseMs.backward || 0)}, adam ${fmt(phaseMs.adam || 0)}, other ${fmt(phaseMs.other || 0)}); outside kernels ${fmt(overheadMs)} ms (JS, tape, GC)`);
  out.push('');
  out.push('Per kernel (exclusive time, totals over the profiled steps):');
  out.push(
    table(
      ['kernel', 'calls', 'total ms', 'share', 'fwd ms', 'bwd ms', 'adam ms', 'most expensive shapes'],
      kernels.map((k) => [
        k.name,
        k.count,
        fmt(k.ms),
        pct(k.ms),
        fmt(k.phases.forward || 0),
        fmt(k.phases.backward || 0),
        fmt(k.phases.adam || 0),
        k.shapes
          .slice(0, 2)
          .map((s) => `${s.shapes}${s.attrs ? ` {${s.attrs}}` : ''} x${s.count}`)
          .join(' | '),
      ]),
      new Set([1, 2, 3, 4, 5, 6]),
    ),
  );
  out.push('');
  out.push(`Top ${top} (kernel, shapes) by time:`);
  const all = kernels.flatMap((k) => k.shapes).sort((a, b) => b.ms - a.ms).slice(0, top);
  out.push(
    table(
      ['kernel', 'calls', 'total ms', 'ms/call', 'share', 'phase', 'input shapes', 'attrs'],
      all.map((s) => [
        s.name,
        s.count,
        fmt(s.ms),
        fmt(s.ms / s.count, 2),
        pct(s.ms),
        Object.entries(s.phases)
          .sort((a, b) => b[1] - a[1])
          .map(([p]) => p)
          .join('+'),
        s.shapes,
        s.attrs,
      ]),
      new Set([1, 2, 3, 4]),
    ),
  );
  return out.join('\n');
}

async function main(argv) {
  const opts = parseArgs(argv);
  if (opts.help) {
    // The header comment of this file is the help text.
    const lines = require('node:fs').readFileSync(__filename, 'utf8').split('\n').slice(1);
    const header = lines.slice(0, lines.findIndex((l) => !l.startsWith('//')));
    process.stdout.write(`${header.map((l) => l.replace(/^\/\/ ?/, '')).join('\n')}\n`);
    return;
  }
  const { tf, nn } = await setUp(opts.backend);
  const log = (s) => process.stderr.write(`${s}\n`);
  const model = nn.compileModel(nn.createModel({ seed: 1 }), { learningRate: 1e-3 });
  // Deterministic input: values of the scale of dB mel features, labels cycling through classes.
  const x = tf.tidy(() => tf.mul(tf.randomNormal([opts.batch, ...nn.INPUT_SHAPE], 0, 1, 'float32', 42), 20));
  const y = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(Array.from({ length: opts.batch }, (_, i) => i % 8), 'int32'), 8), 'float32'));

  for (let i = 0; i < opts.warmup; i++) {
    const t0 = process.hrtime.bigint();
    await model.trainOnBatch(x, y);
    log(`warm-up step ${i + 1}/${opts.warmup}: ${fmt(Number(process.hrtime.bigint() - t0) / 1e6)} ms`);
  }

  const probe = instrument(tf);
  probe.wrapOptimizer(model.optimizer);
  let stepMs = 0;
  let loss;
  try {
    for (let i = 0; i < opts.steps; i++) {
      probe.setPhase('other');
      const t0 = process.hrtime.bigint();
      loss = await model.trainOnBatch(x, y);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      stepMs += ms;
      log(`profiled step ${i + 1}/${opts.steps}: ${fmt(ms)} ms, loss ${Array.isArray(loss) ? loss[0] : loss}`);
    }
  } finally {
    probe.restore();
  }
  const summary = summarise(probe.records, stepMs);
  const meta = { backend: opts.backend, batch: opts.batch, steps: opts.steps, warmup: opts.warmup, tfjs: tf.version_core };
  // Optional backend API: kernels that fell back to a slow path (a Map, an object or a function).
  const fb = tf.backend().fallbackCounts;
  const counts = typeof fb === 'function' ? fb.call(tf.backend()) : fb;
  if (counts != null && typeof counts === 'object') meta.fallbackCounts = counts instanceof Map ? Object.fromEntries(counts) : { ...counts };
  if (opts.json) {
    process.stdout.write(
      `${JSON.stringify({
        ...meta,
        stepMs: summary.stepMs,
        kernelMs: summary.kernelMs,
        phaseMs: summary.phaseMs,
        kernels: summary.kernels.map((k) => ({ name: k.name, count: k.count, ms: k.ms, phases: k.phases, shapes: k.shapes.map(({ shapes, attrs, count, ms, phases }) => ({ shapes, attrs, count, ms, phases })) })),
      })}\n`,
    );
  } else {
    process.stdout.write(`${render(summary, meta, opts.top)}\n`);
    if (meta.fallbackCounts) process.stdout.write(`\nbackend fallback counts: ${JSON.stringify(meta.fallbackCounts)}\n`);
  }
  tf.dispose([x, y]);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`profile-train: ${e && e.message ? e.message : e}\n`);
    process.exitCode = 1;
  });
}

module.exports = { instrument, summarise, render, parseArgs };
