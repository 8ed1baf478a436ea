'use strict';
// serve suite: `emo serve` answering POST /api/classify with a 3-s 48 kHz WAV, at concurrency 1, 8
// and 32: requests/s and p50/p99 latency, measured by autocannon against the command in its own
// process (so the load generator does not share the server's event loop). The rate limit is off;
// the queue admits 64 requests, so no request is refused and every answer is a classification.

const path = require('node:path');
const { start, waitFor, writeRandomModel } = require('../lib/fixtures');

const CLI = path.join(__dirname, '..', '..', 'dist', 'cli', 'main.js');
const THREADS = 2;
const SECONDS = 10;

async function run(ctx) {
  const autocannon = require('autocannon');
  const model = await writeRandomModel(path.join(ctx.tmpdir(), 'serve-model.onnx'));
  const clip = ctx.audio.makeTestWav({ sampleRate: 48000, seconds: 3, seed: 7, f0: 140 }).bytes;

  const server = start(process.execPath, [CLI, 'serve', '--port', '0', '--model', model, '--threads', String(THREADS), '--rate-limit', '0', '--queue', '64']);
  try {
    const [, url] = await waitFor(server, /listening on (http:\/\/\S+)/, 60);
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
    await server.stop();
  }
}
module.exports = {
  name: 'serve',
  description: 'emo serve: /api/classify requests/s and p50/p99 latency for 3-s clips at concurrency 1, 8 and 32',
  run,
};
