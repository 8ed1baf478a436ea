'use strict';
// serve suite: `emo serve` answering POST /api/classify with a 3-s 48 kHz WAV, at concurrency 1, 8
// and 32: requests/s and p50/p99 latency, measured by autocannon against the command in its own
// process (so the load generator does not share the server's event loop). The rate limit is off;
// the queue admits 64 requests, so no request is refused and every answer is a classification.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const CLI = path.join(__dirname, '..', '..', 'dist', 'cli', 'main.js');
const THREADS = 2;
const SECONDS = 10;

async function run(ctx) {
  const autocannon = require('autocannon');
  const tf = require('@tensorflow/tfjs-core');
  const nn = require(path.join(__dirname, '..', '..', 'dist', 'nn'));
  await tf.setBackend('emo-native');
  const net = nn.createModel({ seed: 1 });
  const model = path.join(ctx.tmpdir(), 'serve-model.onnx');
  fs.writeFileSync(model, await nn.exportOnnx(net, { mean: Array(128).fill(-50), std: Array(128).fill(10) }, { verify: false }));
  net.dispose();
  const clip = ctx.audio.makeTestWav({ sampleRate: 48000, seconds: 3, seed: 7, f0: 140 }).bytes;

  const server = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--model', model, '--threads', String(THREADS), '--rate-limit', '0', '--queue', '64'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  server.stdout.on('data', (d) => (log += d));
  server.stderr.on('data', (d) => (log += d));
  try {
    const url = await new Promise((resolve, reject) => {
      const poll = setInterval(() => {
        const m = /listening on (http:\/\/\S+)/.exec(log);
        if (m) {
          clearInterval(poll);
          resolve(m[1]);
        } else if (server.exitCode !== null) {
          clearInterval(poll);
          reject(new Error(`emo serve exited: ${log.trim()}`));
        }
      }, 20);
    });
    ctx.note(`emo serve (${THREADS} inference threads, the reference network with random weights), POST /api/classify with a 3-s 48 kHz 16-bit WAV (${clip.length} bytes); ${SECONDS} s per level after a warm-up`);
    const load = (connections, duration) =>
      autocannon({ url: new URL('api/classify', url).href, method: 'POST', headers: { 'content-type': 'audio/wav' }, body: Buffer.from(clip), connections, duration });
    await load(4, 3); // warm-up: sessions, pools, JIT
    for (const connections of [1, 8, 32]) {
      ctx.log(`concurrency ${connections}`);
      const r = await load(connections, SECONDS);
      const bad = r.non2xx + r.errors + r.timeouts;
      if (bad > 0) throw new Error(`concurrency ${connections}: ${r.non2xx} non-2xx answers, ${r.errors} errors, ${r.timeouts} timeouts`);
      ctx.report(`serve /api/classify, concurrency ${connections}`, r.requests.average, 'requests/s', { p50Ms: r.latency.p50, p99Ms: r.latency.p99, requests: r.requests.total });
      ctx.report(`serve latency p50, concurrency ${connections}`, r.latency.p50, 'ms', { p99Ms: r.latency.p99 });
    }
  } finally {
    if (server.exitCode === null) {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
    }
  }
}

module.exports = {
  name: 'serve',
  description: 'emo serve: /api/classify requests/s and p50/p99 latency for 3-s clips at concurrency 1, 8 and 32',
  run,
};
