'use strict';
// A probe outside the product (docs/ravdess-experiments.md, §7): each RAVDESS clip's log-mel frames
// as the statistics network sees them, for statistics-sets.py. Not part of the package or its tests.
//
//   node experiments/probes/statistics-sets.js <RAVDESS dir> <out dir>
//
// Per clip: the default melChunks (3 s from 0.5 s, 48 kHz, 128 bands), chunks 0, 2, 4 and 6 side by
// side (512 frames, which tile the window once). Writes frames.f32 (clips × 128 × 512, float32, dB)
// and clips.json (file, emotion index, actor).
const fs = require('node:fs');
const path = require('node:path');
const emo = require('../../dist');

const [root, outDir] = process.argv.slice(2);
if (!root || !outDir) {
  console.error('usage: node experiments/probes/statistics-sets.js <RAVDESS dir> <out dir>');
  process.exit(2);
}
const BANDS = 128;
const FRAMES = 512;
const files = [];
for (const actor of fs.readdirSync(root).sort()) {
  for (const f of fs.readdirSync(path.join(root, actor)).sort()) if (f.endsWith('.wav')) files.push(path.join(root, actor, f));
}
fs.mkdirSync(outDir, { recursive: true });
const out = fs.openSync(path.join(outDir, 'frames.f32'), 'w');
const clips = [];
(async () => {
  for (let i = 0; i < files.length; i += 16) {
    const batch = files.slice(i, i + 16);
    const features = await emo.melChunksBatch(batch.map((f) => fs.readFileSync(f)));
    features.forEach((clip, j) => {
      const data = new Float32Array(BANDS * FRAMES);
      const chunk = clip.shape[2];
      [0, 2, 4, 6].forEach((c, k) => {
        for (let b = 0; b < BANDS; b++) data.set(clip.data.subarray((c * BANDS + b) * chunk, (c * BANDS + b + 1) * chunk), b * FRAMES + k * chunk);
      });
      fs.writeSync(out, Buffer.from(data.buffer));
      const parts = path.basename(batch[j]).split('-');
      clips.push({ file: path.basename(batch[j]), emotion: Number(parts[2]) - 1, actor: Number(parts[6].slice(0, 2)) });
    });
  }
  fs.closeSync(out);
  fs.writeFileSync(path.join(outDir, 'clips.json'), JSON.stringify(clips));
  console.log(`${files.length} clips -> ${outDir}`);
})();
