'use strict';
// dsp suite: cost of turning one clip into the model's input (7 x 128 x 128
// dB mel chunks), single call, batched on the native thread pool, and against
// the torchaudio reference pipeline it reproduces.
//
// Inputs are synthesised in memory (bench/lib/audio.js) so the suite needs no
// data files and every run sees the same bytes.

const fs = require('node:fs');
const path = require('node:path');

const BASELINE_SCRIPT = path.join(__dirname, '..', 'baselines', 'torchaudio_dsp.py');

// Single-call timings: >= 300 calls after warm-up, and at least 1 s of calls
// so a fast machine still collects a stable median.
const SINGLE = { warmup: 30, iterations: 300, minTimeMs: 1000 };
// Per-stage breakdown: only there to explain the headline numbers, so fewer calls.
const STAGE = { warmup: 10, iterations: 100, minTimeMs: 300 };
// Batch: >= 512 clips per call so thread start-up and the final straggler are
// amortised; a few repetitions, interleaving thread counts so slow drift of the
// machine (turbo, noisy neighbours) hits both alike.
const BATCH_CLIPS = 512;
const BATCH_REPS = 5;
const BATCH_THREADS = [1, 2];
// Distinct clips cycled through the batch, so it does not re-read one hot buffer.
const BATCH_DISTINCT = 8;
// torchaudio is slower; 100 calls (or 1 s) per line keeps the suite near a minute.
const BASELINE = { warmup: 10, iterations: 100, minTimeMs: 1000 };

const ms = (r) => ({ min: r.min, p90: r.p90, n: r.iterations });

function checkOutput(out, what) {
  const [c, m, t] = out.shape;
  if (c !== 7 || m !== 128 || t !== 128 || out.data.length !== c * m * t) throw new Error(`${what}: unexpected shape [${out.shape}]`);
  for (let i = 0; i < out.data.length; i++) if (!Number.isFinite(out.data[i])) throw new Error(`${what}: non-finite value at ${i}`);
}

async function run(ctx) {
  const { melChunks, melChunksBatch, decodeWav, prepareClip, melSpectrogram } = ctx.emo;
  const env = ctx.environment();

  // --- inputs -------------------------------------------------------------
  ctx.log('synthesising test clips');
  const clip48 = ctx.audio.makeTestWav({ sampleRate: 48000, channels: 1, seconds: 4, seed: 1 });
  const clip44 = ctx.audio.makeTestWav({ sampleRate: 44100, channels: 2, seconds: 4, seed: 1 });
  const wav48 = clip48.bytes;
  const wav44 = clip44.bytes;
  // The Float32Array path skips decoding: the same clip's samples, decoded once up front.
  const samples48 = decodeWav(wav48).channels[0];
  ctx.note(`input: ${clip48.description} (${wav48.length} bytes); variant: ${clip44.description} (${wav44.length} bytes)`);

  // Sanity before timing: a benchmark of a call that fails or returns garbage is meaningless.
  const ours48 = melChunks(wav48);
  const ours44 = melChunks(wav44);
  checkOutput(ours48, 'melChunks(48 kHz WAV)');
  checkOutput(ours44, 'melChunks(44.1 kHz stereo WAV)');
  checkOutput(melChunks(samples48), 'melChunks(Float32Array)');

  // --- single clip, one thread (the JS thread) ---------------------------
  ctx.log('melChunks, one clip per call');
  const single48 = ctx.timeIt(() => melChunks(wav48), SINGLE);
  ctx.report('melChunks 1 thread', single48.median, 'ms/clip', { ...ms(single48), input: 'wav 48kHz mono' });
  const single44 = ctx.timeIt(() => melChunks(wav44), SINGLE);
  ctx.report('melChunks 1 thread 44.1kHz stereo', single44.median, 'ms/clip', { ...ms(single44), input: 'wav 44.1kHz stereo' });
  const singleF32 = ctx.timeIt(() => melChunks(samples48), SINGLE);
  ctx.report('melChunks Float32Array input', singleF32.median, 'ms/clip', { ...ms(singleF32), input: 'f32 48kHz mono' });

  // What an application reading files pays, and what torchaudio.load includes.
  const file48 = path.join(ctx.tmpdir(), 'clip48k.wav');
  const file44 = path.join(ctx.tmpdir(), 'clip44k-stereo.wav');
  fs.writeFileSync(file48, wav48);
  fs.writeFileSync(file44, wav44);
  const fromFile48 = ctx.timeIt(() => melChunks(fs.readFileSync(file48)), SINGLE);
  ctx.report('readFileSync+melChunks 1 thread', fromFile48.median, 'ms/clip', { ...ms(fromFile48), input: 'file 48kHz mono' });

  // --- where the time goes ------------------------------------------------
  ctx.log('stage breakdown');
  const decode = ctx.timeIt(() => decodeWav(wav48), STAGE);
  ctx.report('decodeWav 48kHz mono', decode.median, 'ms/clip', ms(decode));
  const prep48 = ctx.timeIt(() => prepareClip(wav48), STAGE);
  ctx.report('prepareClip 48kHz mono', prep48.median, 'ms/clip', ms(prep48));
  const prep44 = ctx.timeIt(() => prepareClip(wav44), STAGE);
  ctx.report('prepareClip 44.1kHz stereo', prep44.median, 'ms/clip', ms(prep44));
  const clip = prepareClip(wav48);
  const mel = ctx.timeIt(() => melSpectrogram(clip), STAGE);
  ctx.report('melSpectrogram 3 s clip', mel.median, 'ms/clip', ms(mel));

  // --- batch on the native thread pool -------------------------------------
  ctx.log(`melChunksBatch, ${BATCH_CLIPS} clips x ${BATCH_REPS} repetitions per thread count`);
  const distinct = [wav48];
  for (let s = 2; s <= BATCH_DISTINCT; s++) {
    distinct.push(ctx.audio.makeTestWav({ sampleRate: 48000, seconds: 4, seed: s, f0: 100 + 15 * s }).bytes);
  }
  const inputs = Array.from({ length: BATCH_CLIPS }, (_, i) => distinct[i % distinct.length]);
  const batchTimes = new Map(BATCH_THREADS.map((t) => [t, []]));
  for (const threads of BATCH_THREADS) {
    // Warm-up: thread-local scratch, page faults of the output allocations.
    const warm = await melChunksBatch(inputs.slice(0, 16 * threads), { threads });
    checkOutput(warm[warm.length - 1], `melChunksBatch(threads ${threads})`);
  }
  for (let rep = 0; rep < BATCH_REPS; rep++) {
    for (const threads of BATCH_THREADS) {
      const start = ctx.now();
      const out = await melChunksBatch(inputs, { threads });
      const elapsed = ctx.msSince(start);
      if (out.length !== BATCH_CLIPS) throw new Error(`melChunksBatch returned ${out.length} results for ${BATCH_CLIPS} inputs`);
      batchTimes.get(threads).push(elapsed);
    }
  }
  let oneThreadRate = null;
  for (const threads of BATCH_THREADS) {
    const s = ctx.summarize(batchTimes.get(threads));
    // The median repetition is the headline (like the ms/clip lines); best is the noise-free ceiling.
    const rate = BATCH_CLIPS / (s.median / 1000);
    const best = BATCH_CLIPS / (s.min / 1000);
    const extra = { best, clips: BATCH_CLIPS, reps: s.iterations, msPerClip: s.median / BATCH_CLIPS };
    if (threads === 1) oneThreadRate = rate;
    else if (oneThreadRate) extra.scaling = rate / oneThreadRate;
    ctx.report(`melChunksBatch ${threads} thread${threads > 1 ? 's' : ''}`, rate, 'clips/s', extra);
  }
  if (env.availableParallelism < Math.max(...BATCH_THREADS)) {
    ctx.note(`only ${env.availableParallelism} CPU(s) available: the ${Math.max(...BATCH_THREADS)}-thread batch cannot scale fully`);
  }

  // --- torchaudio baseline ------------------------------------------------
  const avail = ctx.python.checkModules(['torch', 'torchaudio']);
  if (!avail.ok) {
    ctx.note('torchaudio not available: skipped');
    ctx.log(`(${ctx.python.pythonPath()}: ${avail.reason})`);
    return;
  }
  ctx.log(`torchaudio baseline (torch ${avail.versions.torch}, torchaudio ${avail.versions.torchaudio}), 1 thread`);
  // Our outputs for the same files, so the script can confirm both sides computed the same features.
  const ours48File = path.join(ctx.tmpdir(), 'ours48k.f32');
  const ours44File = path.join(ctx.tmpdir(), 'ours44k.f32');
  fs.writeFileSync(ours48File, Buffer.from(ours48.data.buffer, ours48.data.byteOffset, ours48.data.byteLength));
  fs.writeFileSync(ours44File, Buffer.from(ours44.data.buffer, ours44.data.byteOffset, ours44.data.byteLength));
  const res = ctx.python.runJsonLines(BASELINE_SCRIPT, [
    '--clip', `48k=${file48}`,
    '--clip', `44k=${file44}`,
    '--check', `48k=${ours48File}`,
    '--check', `44k=${ours44File}`,
    '--warmup', String(BASELINE.warmup),
    '--iterations', String(BASELINE.iterations),
    '--min-time-ms', String(BASELINE.minTimeMs),
  ]);
  if (!res.ok) {
    // A broken baseline is reported, not fatal: the native numbers above still stand.
    ctx.note(`torchaudio baseline failed (${res.reason}): skipped`);
    return;
  }
  const timingOf = (clipLabel, name) => res.records.find((r) => r.type === 'timing' && r.clip === clipLabel && r.name === name);
  const info = res.records.find((r) => r.type === 'info');
  if (info) ctx.note(`torchaudio baseline: torch ${info.torch}, torchaudio ${info.torchaudio}, ${info.threads} intra-op thread(s), inference_mode, transforms built once`);

  const taFeat48 = timingOf('48k', 'features');
  const taLoad48 = timingOf('48k', 'load+features');
  const taFeat44 = timingOf('44k', 'features');
  const taLoad44 = timingOf('44k', 'load+features');
  if (!taFeat48 || !taLoad48 || !taFeat44 || !taLoad44) {
    ctx.note('torchaudio baseline printed incomplete results: skipped');
    return;
  }
  const taExtra = (r) => ({ min: r.min, p90: r.p90, n: r.iterations });
  ctx.report('torchaudio features 1 thread', taFeat48.median, 'ms/clip', { ...taExtra(taFeat48), input: 'loaded 48kHz mono' });
  ctx.report('torchaudio load+features 1 thread', taLoad48.median, 'ms/clip', { ...taExtra(taLoad48), input: 'file 48kHz mono' });
  ctx.report('torchaudio features 1 thread 44.1kHz stereo', taFeat44.median, 'ms/clip', { ...taExtra(taFeat44), input: 'loaded 44.1kHz stereo' });
  ctx.report('torchaudio load+features 1 thread 44.1kHz stereo', taLoad44.median, 'ms/clip', { ...taExtra(taLoad44), input: 'file 44.1kHz stereo' });

  // Like for like: WAV bytes -> chunks vs file -> chunks (torchaudio.load reads
  // from the page cache; readFileSync+melChunks gives the same comparison
  // including our file read, shown as vsFileRead). featuresOnly compares the
  // paths that start from decoded samples.
  ctx.report('speedup vs torchaudio', taLoad48.median / single48.median, 'x', {
    baseline: 'torchaudio load+features 1 thread',
    vsFileRead: taLoad48.median / fromFile48.median,
    featuresOnly: taFeat48.median / singleF32.median,
  });
  ctx.report('speedup vs torchaudio 44.1kHz stereo', taLoad44.median / single44.median, 'x', {
    baseline: 'torchaudio load+features 1 thread 44.1kHz stereo',
  });

  for (const label of ['48k', '44k']) {
    const c = res.records.find((r) => r.type === 'check' && r.clip === label);
    if (!c) continue;
    if (c.error) ctx.note(`output check ${label}: ${c.error}`);
    else ctx.note(`same work: max |melChunks - torchaudio| = ${c.max_abs_diff_db.toExponential(2)} dB on the ${label === '48k' ? '48 kHz mono' : '44.1 kHz stereo'} clip`);
  }
}

module.exports = {
  name: 'dsp',
  description: 'feature extraction: melChunks per clip, melChunksBatch throughput, torchaudio baseline',
  run,
};
