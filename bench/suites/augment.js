'use strict';
// augment suite: cost of each training-data augmentation kernel on one 3-s
// 48 kHz clip, and of the four-way expansion the training set goes through,
// with sox's `tempo` effect timed on the same clip when sox is installed.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const TIMING = { warmup: 20, iterations: 200, minTimeMs: 1000 };
const SOX_RUNS = 20;

const us = (r) => ({ min: r.min * 1000, p90: r.p90 * 1000, n: r.iterations });

async function run(ctx) {
  const { augment, decodeWav } = ctx.emo;
  ctx.log('synthesising a 3-s 48 kHz speech-like clip');
  const wav = ctx.audio.makeTestWav({ sampleRate: 48000, channels: 1, seconds: 3, seed: 3 });
  const clip = decodeWav(wav.bytes).channels[0];
  ctx.note(`input: ${wav.description}, ${clip.length} samples`);

  const lines = [
    ['addNoise', () => augment.addNoise(clip, 20, 1)],
    ['timeStretch rate 0.9', () => augment.timeStretch(clip, 0.9)],
    ['timeStretch rate 1.1', () => augment.timeStretch(clip, 1.1)],
    ['preemphasis', () => augment.preemphasis(clip)],
    ['expand (4 variants)', () => augment.expand(clip, { seed: 1 })],
  ];
  for (const [name, fn] of lines) {
    const r = ctx.timeIt(fn, TIMING);
    ctx.report(`${name} 1 thread`, r.median * 1000, 'us/clip', us(r));
  }

  // sox tempo: what a user would otherwise shell out to. It includes process
  // start-up and WAV file I/O, which is part of what that choice costs.
  const sox = spawnSync('sox', ['--version'], { encoding: 'utf8' });
  if (sox.error || sox.status !== 0) {
    ctx.note('sox not installed: sox tempo comparison skipped');
    return;
  }
  const input = path.join(ctx.tmpdir(), 'augment-in.wav');
  const output = path.join(ctx.tmpdir(), 'augment-out.wav');
  fs.writeFileSync(input, wav.bytes);
  const soxTempo = () => {
    const r = spawnSync('sox', [input, output, 'tempo', '-s', '1.1'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`sox tempo failed: ${r.stderr}`);
  };
  const soxNull = () => {
    const r = spawnSync('sox', [input, output], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`sox copy failed: ${r.stderr}`);
  };
  const tempo = ctx.timeIt(soxTempo, { warmup: 2, iterations: SOX_RUNS, minTimeMs: 0 });
  const copy = ctx.timeIt(soxNull, { warmup: 2, iterations: SOX_RUNS, minTimeMs: 0 });
  ctx.report('sox tempo 1.1 (process + file I/O)', tempo.median * 1000, 'us/clip', us(tempo));
  ctx.report('sox tempo 1.1, minus a plain sox copy', (tempo.median - copy.median) * 1000, 'us/clip', { copyUs: copy.median * 1000 });
  ctx.note(`${spawnSync('sox', ['--version'], { encoding: 'utf8' }).stdout.trim()}; "minus a plain sox copy" subtracts process start-up and file I/O`);
}

module.exports = {
  name: 'augment',
  description: 'augmentation kernels per 3-s clip: addNoise, timeStretch, preemphasis, expand; sox tempo for comparison',
  run,
};
