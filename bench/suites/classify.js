'use strict';
// classify suite: the whole `emo classify` command (start-up included) on a folder of 480
// three-second 48 kHz WAVs, its peak memory, and the reference PyTorch pipeline on the same files
// (torchaudio load + features + the PyTorch network at batch 32, 2 threads; its interpreter
// start-up and imports not counted), measured in the same run.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { writeRandomModel } = require('../lib/fixtures');

const BASELINE_SCRIPT = path.join(__dirname, '..', 'baselines', 'torch_infer.py');
const CLI = path.join(__dirname, '..', '..', 'dist', 'cli', 'main.js');
const FILES = 480;
const DISTINCT = 16;
const THREADS = 2;
const RUNS = 2;

/** Peak resident memory of a process so far (VmHWM), bytes; 0 once it has gone. */
function peakRss(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Runs the command; resolves with wall seconds, exit code and the peak RSS seen. */
function timeCommand(args) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let peak = 0;
    child.stderr.on('data', (d) => (stderr += d));
    const poll = setInterval(() => (peak = Math.max(peak, peakRss(child.pid))), 20);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(poll);
      resolve({ seconds: Number(process.hrtime.bigint() - t0) / 1e9, code, peak, stderr });
    });
  });
}

async function run(ctx) {
  const model = await writeRandomModel(path.join(ctx.tmpdir(), 'classify-model.onnx'));

  ctx.log(`writing ${FILES} clips`);
  const dir = path.join(ctx.tmpdir(), 'recordings');
  fs.mkdirSync(dir, { recursive: true });
  const clips = Array.from({ length: DISTINCT }, (_, i) => ctx.audio.makeTestWav({ sampleRate: 48000, seconds: 3, seed: 100 + i, f0: 100 + 10 * i }).bytes);
  const files = [];
  for (let i = 0; i < FILES; i++) {
    const file = path.join(dir, `clip${String(i).padStart(3, '0')}.wav`);
    fs.writeFileSync(file, clips[i % DISTINCT]);
    files.push(file);
  }
  ctx.note(`input: a folder of ${FILES} three-second 48 kHz 16-bit mono WAVs (${DISTINCT} distinct); model: the reference network, random weights`);

  let best = null;
  for (let r = 0; r < RUNS; r++) {
    const out = path.join(ctx.tmpdir(), `rows-${r}.jsonl`);
    const result = await timeCommand(['classify', dir, '--model', model, '--threads', String(THREADS), '--format', 'jsonl', '--out', out]);
    if (result.code !== 0) throw new Error(`emo classify exited with ${result.code}: ${result.stderr.trim()}`);
    const rows = fs.readFileSync(out, 'utf8').trim().split('\n').length;
    if (rows !== FILES) throw new Error(`emo classify wrote ${rows} rows for ${FILES} files`);
    if (best === null || result.seconds < best.seconds) best = result;
  }
  const ours = FILES / best.seconds;
  ctx.report('emo classify, whole command', ours, 'clips/s', { seconds: best.seconds, files: FILES });
  ctx.report('emo classify, peak RSS', best.peak / 2 ** 20, 'MiB', { target: '< 500' });

  const available = ctx.python.checkModules(['torch', 'torchaudio']);
  if (!available.ok) {
    ctx.note(`PyTorch baseline skipped: ${available.reason} (Debian: apt-get install python3-torchaudio)`);
    return;
  }
  ctx.log('PyTorch pipeline on the same files');
  const threadEnv = { OMP_NUM_THREADS: String(THREADS), MKL_NUM_THREADS: String(THREADS) };
  const r = ctx.python.runJsonLines(BASELINE_SCRIPT, ['--threads', String(THREADS), '--batch', '32', '--passes', '1', '--skip-latency', ...files], { env: threadEnv, timeoutMs: 900_000 });
  const e2e = r.records.find((x) => x.type === 'throughput');
  if (!r.ok || !e2e) {
    ctx.note(`PyTorch baseline failed: ${r.reason ?? 'no result'}`);
    return;
  }
  ctx.report('PyTorch pipeline (load + features + model, batch 32)', e2e.clips_per_s, 'clips/s', { seconds: e2e.seconds, files: e2e.clips });
  ctx.report('emo classify / PyTorch', ours / e2e.clips_per_s, 'x', { target: '>= 3' });
}

module.exports = {
  name: 'classify',
  description: 'emo classify on 480 three-second WAVs (whole command, peak RSS) vs the PyTorch pipeline',
  run,
};
