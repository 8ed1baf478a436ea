'use strict';
// Times training steps of one emo-native release in a process of its own, so two releases
// (each with its own addon and tfjs) can be compared in one benchmark run:
//
//   node bench/lib/train-steps.js --package DIR [--batch 32] [--warmup 1] [--steps 3]
//
// DIR is a built emo-native checkout or installed package (its dist/nn and the tfjs it
// resolves are used). Prints one JSON line: { package, version, backend, batch, stepsMs }.
// The step is the train suite's: createModel({ seed: 1 }) compiled by compileModel at
// learning rate 1e-3, model.trainOnBatch on the same seeded inputs, loss read back.

const path = require('node:path');

function parseArgs(argv) {
  const opts = { package: null, batch: 32, warmup: 1, steps: 3 };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i].replace(/^--/, '');
    const value = argv[++i];
    if (!(key in opts) || value === undefined) throw new Error(`train-steps: bad option ${argv[i - 1]}`);
    opts[key] = key === 'package' ? path.resolve(value) : Number(value);
  }
  if (!opts.package) throw new Error('train-steps: --package DIR is required');
  return opts;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const fromPackage = (id) => require(require.resolve(id, { paths: [opts.package] }));
  const nn = require(path.join(opts.package, 'dist', 'nn'));
  const tf = fromPackage('@tensorflow/tfjs-core');
  if (!(await tf.setBackend('emo-native'))) throw new Error(`${opts.package}: the emo-native backend failed to initialise`);
  await tf.ready();
  const model = nn.compileModel(nn.createModel({ seed: 1 }), { learningRate: 1e-3 });
  const x = tf.tidy(() => tf.add(tf.mul(tf.randomNormal([opts.batch, ...nn.INPUT_SHAPE], 0, 1, 'float32', 42), 15), -40));
  const y = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(Array.from({ length: opts.batch }, (_, i) => i % 8), 'int32'), 8), 'float32'));
  const stepsMs = [];
  for (let i = 0; i < opts.warmup + opts.steps; i++) {
    const t0 = process.hrtime.bigint();
    const out = await model.trainOnBatch(x, y);
    const loss = Array.isArray(out) ? out[0] : out;
    if (!Number.isFinite(loss)) throw new Error(`${opts.package}: non-finite loss ${loss}`);
    if (i >= opts.warmup) stepsMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const version = require(path.join(opts.package, 'package.json')).version;
  process.stdout.write(`${JSON.stringify({ package: opts.package, version, backend: tf.getBackend(), batch: opts.batch, stepsMs })}\n`);
}

main().catch((e) => {
  process.stderr.write(`${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
