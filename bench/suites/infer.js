'use strict';
// infer suite: what classifying clips costs with the inference API (features on the native pool +
// onnxruntime-node), against onnxruntime alone and the reference PyTorch stack (torchaudio load +
// features + the PyTorch network, 2 threads), all measured in the same run.
//
// The model is the reference network with random weights exported by exportOnnx: speed does not
// depend on the weights. Clips are 8 distinct synthesised 3.5-s 48 kHz WAVs, cycled.

const fs = require('node:fs');
const path = require('node:path');
const { writeRandomModel } = require('../lib/fixtures');

const BASELINE_SCRIPT = path.join(__dirname, '..', 'baselines', 'torch_infer.py');
const THREADS = 2;
const DISTINCT = 8;
const END_TO_END_CLIPS = 256;
const REPS = 3;
const LATENCY = { warmup: 5, iterations: 50, minTimeMs: 1500 };
const MODEL_B32 = { warmup: 1, iterations: 5, minTimeMs: 2000 };

/** Builds the reference network, exports it, returns the .onnx path. */
function exportModel(ctx) {
  return writeRandomModel(path.join(ctx.tmpdir(), 'bench-model.onnx'));
}

/** Synthesised clips, as bytes and as files (for torchaudio.load). */
function makeClips(ctx) {
  return Array.from({ length: DISTINCT }, (_, i) => {
    const clip = ctx.audio.makeTestWav({ sampleRate: 48000, channels: 1, seconds: 3.5, seed: 1 + i, f0: 110 + 15 * i });
    const file = path.join(ctx.tmpdir(), `infer-${i}.wav`);
    fs.writeFileSync(file, clip.bytes);
    return { bytes: clip.bytes, file, description: clip.description };
  });
}

/** Best clips/s of `reps` runs of `fn` over `clips` clips. */
async function rate(fn, clips, reps = REPS) {
  const rates = [];
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    await fn();
    rates.push(clips / (Number(process.hrtime.bigint() - t0) / 1e9));
  }
  return { best: Math.max(...rates), all: rates };
}

async function run(ctx) {
  const emo = ctx.emo;
  const ort = require('onnxruntime-node');
  ctx.log('exporting the model and synthesising clips');
  const modelFile = await exportModel(ctx);
  const clips = makeClips(ctx);
  const wavs = Array.from({ length: END_TO_END_CLIPS }, (_, i) => clips[i % DISTINCT].bytes);
  ctx.note(`input: ${DISTINCT} distinct ${clips[0].description.replace(/, seed \d+/, '')} clips, cycled; model: the reference network, random weights, exported with exportOnnx`);

  const clf = await emo.loadClassifier(modelFile, { threads: THREADS });

  // --- batch 1: one clip, features + model ------------------------------------------------
  ctx.log('batch-1 latency');
  const latency = await ctx.timeItAsync(() => clf.classify(clips[0].bytes), LATENCY);
  ctx.report('classify latency (features + model)', latency.median, 'ms/clip', { min: latency.min, p90: latency.p90, n: latency.iterations });

  // --- onnxruntime alone, on precomputed features ------------------------------------------
  const features = clips.map((c) => emo.melChunks(c.bytes));
  const stack = (n) => {
    const out = new Float32Array(n * features[0].data.length);
    for (let i = 0; i < n; i++) out.set(features[i % DISTINCT].data, i * features[0].data.length);
    return new ort.Tensor('float32', out, [n, 7, 128, 128]);
  };
  const session = await ort.InferenceSession.create(modelFile, { intraOpNumThreads: THREADS, graphOptimizationLevel: 'all' });
  const x1 = stack(1);
  const ortLatency = await ctx.timeItAsync(() => session.run({ mel: x1 }), LATENCY);
  ctx.report('onnxruntime alone, batch 1', ortLatency.median, 'ms/clip', { min: ortLatency.min, p90: ortLatency.p90, n: ortLatency.iterations });
  const x32 = stack(32);
  const ort32 = await ctx.timeItAsync(() => session.run({ mel: x32 }), MODEL_B32);
  const modelRate32 = 32000 / ort32.median;
  ctx.report('onnxruntime alone, batch 32', modelRate32, 'clips/s', { msPerBatch: ort32.median, n: ort32.iterations });
  const x4 = stack(4);
  const ort4 = await ctx.timeItAsync(() => session.run({ mel: x4 }), MODEL_B32);
  const modelRate4 = 4000 / ort4.median;
  ctx.report('onnxruntime alone, batch 4 (the classifier\'s CPU run size)', modelRate4, 'clips/s', { msPerBatch: ort4.median, n: ort4.iterations });
  await session.release();

  // --- features alone, and the whole pipeline --------------------------------------------
  ctx.log('features and end-to-end throughput');
  const featuresRate = await rate(() => emo.melChunksBatch(wavs), END_TO_END_CLIPS);
  ctx.report('melChunksBatch', featuresRate.best, 'clips/s', { clips: END_TO_END_CLIPS });
  const endToEnd = await rate(() => clf.classifyBatch(wavs), END_TO_END_CLIPS);
  ctx.report('classifyBatch end to end (WAV bytes → results)', endToEnd.best, 'clips/s', { clips: END_TO_END_CLIPS, runs: endToEnd.all.map((r) => Math.round(r)).join('/') });
  const modelRate = Math.max(modelRate32, modelRate4);
  const sumOfParts = 1 / (1 / featuresRate.best + 1 / modelRate);
  ctx.report('end to end / sum of parts', (100 * endToEnd.best) / sumOfParts, '%', { sumOfParts, target: '>= 90' });
  await clf.close();

  // --- the reference PyTorch stack --------------------------------------------------------
  const available = ctx.python.checkModules(['torch', 'torchaudio']);
  if (!available.ok) {
    ctx.note(`PyTorch baseline skipped: ${available.reason} (Debian: apt-get install python3-torchaudio; EMO_BENCH_PYTHON picks another interpreter)`);
    return;
  }
  ctx.log('PyTorch baseline (torchaudio + torch, 2 threads)');
  const files = Array.from({ length: END_TO_END_CLIPS }, (_, i) => clips[i % DISTINCT].file);
  const threadEnv = { OMP_NUM_THREADS: String(THREADS), MKL_NUM_THREADS: String(THREADS) };
  const r = ctx.python.runJsonLines(BASELINE_SCRIPT, ['--threads', String(THREADS), '--batch', '32', '--passes', '2', ...files], { env: threadEnv, timeoutMs: 600_000 });
  if (!r.ok) {
    ctx.note(`PyTorch baseline failed: ${r.reason}`);
    return;
  }
  const find = (name, batch) => r.records.find((x) => x.type === 'timing' && x.name === name && x.batch === batch);
  const info = r.records.find((x) => x.type === 'info');
  const torchLatency = find('latency', 1);
  const torchForward32 = find('forward', 32);
  const torchE2E = r.records.find((x) => x.type === 'throughput');
  ctx.report('PyTorch latency (load + features + model)', torchLatency.median, 'ms/clip', { min: torchLatency.min, p90: torchLatency.p90, torch: info.torch });
  ctx.report('PyTorch model alone, batch 32', 32000 / torchForward32.median, 'clips/s', { msPerBatch: torchForward32.median });
  ctx.report('PyTorch end to end (load + features + model, batch 32)', torchE2E.clips_per_s, 'clips/s', { clips: torchE2E.clips });
  ctx.report('latency ours / PyTorch', latency.median / torchLatency.median, 'ratio', { target: '<= 0.5' });
  ctx.report('end to end ours / PyTorch', endToEnd.best / torchE2E.clips_per_s, 'x', { target: '>= 3' });
}

module.exports = {
  name: 'infer',
  description: 'inference API: batch-1 latency, batch-32 model throughput, end-to-end clips/s, vs onnxruntime alone and PyTorch',
  run,
};
