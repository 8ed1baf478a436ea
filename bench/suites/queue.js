'use strict';
// queue suite: `emo classify --redis` with 1 and 2 `emo worker`s against `emo classify` on one
// machine, on the same folder of 480 three-second 48 kHz WAVs; the queue's overhead is the
// difference with one worker. Needs redis-server (Debian package redis-server); the suite starts
// its own on a free loopback port and stops it.

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { freePort, start, waitFor, writeRandomModel } = require('../lib/fixtures');

const CLI = path.join(__dirname, '..', '..', 'dist', 'cli', 'main.js');
const FILES = 480;
const DISTINCT = 16;
const THREADS = 2;
const RUNS = 2;

/** Wall seconds of one `emo classify` command, checked to have written a row per file. */
function classify(args, out) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, [CLI, 'classify', ...args, '--format', 'jsonl', '--out', out], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (code !== 0) return reject(new Error(`emo classify exited with ${code}: ${stderr.trim()}`));
      const rows = fs.readFileSync(out, 'utf8').trim().split('\n').length;
      if (rows !== FILES) return reject(new Error(`emo classify wrote ${rows} rows for ${FILES} files`));
      resolve(seconds);
    });
  });
}

async function best(ctx, name, args) {
  let fastest = Infinity;
  for (let r = 0; r < RUNS; r++) fastest = Math.min(fastest, await classify(args, path.join(ctx.tmpdir(), `queue-${name}-${r}.jsonl`)));
  return fastest;
}

async function run(ctx) {
  if (spawnSync('sh', ['-c', 'command -v redis-server']).status !== 0) {
    ctx.note('skipped: redis-server is not installed (Debian: apt-get install redis-server)');
    return;
  }
  const model = await writeRandomModel(path.join(ctx.tmpdir(), 'queue-model.onnx'));

  const dir = path.join(ctx.tmpdir(), 'queue-recordings');
  fs.mkdirSync(dir, { recursive: true });
  const clips = Array.from({ length: DISTINCT }, (_, i) => ctx.audio.makeTestWav({ sampleRate: 48000, seconds: 3, seed: 100 + i, f0: 100 + 10 * i }).bytes);
  for (let i = 0; i < FILES; i++) fs.writeFileSync(path.join(dir, `clip${String(i).padStart(3, '0')}.wav`), clips[i % DISTINCT]);
  ctx.note(`input: ${FILES} three-second 48 kHz WAVs; every command and worker with --threads ${THREADS}; Redis on loopback, files read by path (shared storage)`);

  const local = await best(ctx, 'local', [dir, '--model', model, '--threads', String(THREADS)]);
  ctx.report('emo classify, local', FILES / local, 'clips/s', { seconds: local, files: FILES });

  const port = await freePort();
  const redis = start('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
  const url = `redis://127.0.0.1:${port}`;
  const workers = [];
  try {
    await waitFor(redis, /Ready to accept connections/, 20);
    const rates = {};
    for (const count of [1, 2]) {
      while (workers.length < count) {
        const w = start(process.execPath, [CLI, 'worker', '--redis', url, '--model', model, '--threads', String(THREADS)]);
        workers.push(w);
        // Workers are long-lived: their start-up (model loading) is not part of a run.
        await waitFor(w, /taking jobs/, 60);
      }
      const seconds = await best(ctx, `workers-${count}`, [dir, '--redis', url]);
      rates[count] = FILES / seconds;
      ctx.report(`emo classify --redis, ${count} worker${count > 1 ? 's' : ''}`, rates[count], 'clips/s', { seconds, files: FILES });
    }
    ctx.report('queue, 1 worker / local', rates[1] / (FILES / local), 'x');
    ctx.report('queue, 2 workers / 1 worker', rates[2] / rates[1], 'x', { cores: require('node:os').availableParallelism() });
    const overheadMs = (FILES / rates[1] - local) * 1000;
    ctx.note(`queue overhead with 1 worker: ${overheadMs >= 0 ? '+' : ''}${overheadMs.toFixed(0)} ms over the run (${((100 * overheadMs) / 1000 / local).toFixed(0)} % of local mode's time); the local command also loads the model, the queue's workers had it loaded`);
  } finally {
    for (const w of workers) await w.stop();
    await redis.stop();
  }
}

module.exports = {
  name: 'queue',
  description: 'emo classify --redis with 1 and 2 workers vs local mode on 480 three-second WAVs (the queue overhead)',
  run,
};
