'use strict';
// A probe outside the product (docs/ravdess-experiments.md, §2b): six statistics of every mel band
// over each RAVDESS clip's speech frames, from the package's own features, for a linear model in
// mel-functionals.py. Not part of the package or its tests.
//
//   node experiments/probes/mel-functionals.js <RAVDESS dir> <out dir> [--model-window]
//
// Per clip: the reference pipeline's log-mel frames (48 kHz, hop 256, 128 bands) from 0.5 s on, 700
// frames (3.7 s, zero-padded); speech frames are those whose mean over the bands lies within 30 dB of
// the clip's loudest frame. Per band over them: mean, standard deviation, 10th and 90th percentile,
// mean absolute difference of consecutive speech frames, median. --model-window instead takes the
// network's own input, the default melChunks (3 s from 0.5 s), frames 0-511 from its chunks 0, 2, 4
// and 6 (which tile them): what a statistics head inside the model would see. Writes functionals.f32
// (clips × 128 bands × 6, float32) and clips.json (file, emotion index, actor, speech frames).
const fs = require('node:fs');
const path = require('node:path');
const emo = require('../../dist');

const [root, outDir, window] = process.argv.slice(2);
const modelWindow = window === '--model-window';
if (!root || !outDir || (window !== undefined && !modelWindow)) {
  console.error('usage: node experiments/probes/mel-functionals.js <RAVDESS dir> <out dir> [--model-window]');
  process.exit(2);
}
const FRAMES = modelWindow ? 512 : 700;
const BANDS = 128;
const STATS = 6;
const SPEECH_DB = 30;

const files = [];
for (const actor of fs.readdirSync(root).sort()) {
  for (const f of fs.readdirSync(path.join(root, actor)).sort()) if (f.endsWith('.wav')) files.push(path.join(root, actor, f));
}
const functionals = new Float32Array(files.length * BANDS * STATS);
const clips = [];

/** Frames × bands of one clip's features: the long window as it is, or the model's chunks 0, 2, 4 and 6 side by side. */
function framesOf(features) {
  if (!modelWindow) return features.data;
  const data = new Float32Array(BANDS * FRAMES);
  const chunk = features.shape[2];
  [0, 2, 4, 6].forEach((c, k) => {
    for (let b = 0; b < BANDS; b++) data.set(features.data.subarray((c * BANDS + b) * chunk, (c * BANDS + b + 1) * chunk), b * FRAMES + k * chunk);
  });
  return data;
}

/** The six statistics of one band over the speech frames, into functionals at `at`. */
function bandStatistics(data, frames, band, speech, at) {
  const values = speech.map((t) => data[band * frames + t]);
  const n = values.length;
  const mean = values.reduce((s, x) => s + x, 0) / n;
  const sd = Math.sqrt(values.reduce((s, x) => s + (x - mean) ** 2, 0) / n);
  let change = 0;
  let pairs = 0;
  for (let k = 1; k < n; k++) {
    if (speech[k] === speech[k - 1] + 1) {
      change += Math.abs(values[k] - values[k - 1]);
      pairs++;
    }
  }
  const sorted = values.slice().sort((a, b) => a - b);
  functionals.set([mean, sd, sorted[Math.floor(0.1 * n)], sorted[Math.floor(0.9 * n)], pairs ? change / pairs : 0, sorted[Math.floor(0.5 * n)]], at);
}

(async () => {
  const options = modelWindow ? {} : { durationSeconds: (FRAMES * 256 + 1024) / 48000, chunkFrames: FRAMES, chunkStride: FRAMES };
  for (let i = 0; i < files.length; i += 16) {
    const batch = files.slice(i, i + 16);
    const features = await emo.melChunksBatch(batch.map((f) => fs.readFileSync(f)), options);
    features.forEach((clip, j) => {
      const frames = FRAMES;
      const data = framesOf(clip);
      const level = Array.from({ length: frames }, (_, t) => {
        let s = 0;
        for (let b = 0; b < BANDS; b++) s += data[b * frames + t];
        return s / BANDS;
      });
      const loudest = Math.max(...level);
      const speech = level.flatMap((l, t) => (l > loudest - SPEECH_DB ? [t] : []));
      for (let b = 0; b < BANDS; b++) bandStatistics(data, frames, b, speech, ((i + j) * BANDS + b) * STATS);
      const name = path.basename(batch[j]);
      const parts = name.split('-');
      clips.push({ file: name, emotion: Number(parts[2]) - 1, actor: Number(parts[6].slice(0, 2)), speechFrames: speech.length });
    });
  }
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'functionals.f32'), Buffer.from(functionals.buffer));
  fs.writeFileSync(path.join(outDir, 'clips.json'), JSON.stringify(clips));
  console.log(`${files.length} clips -> ${outDir}`);
})();
