'use strict';
// serve suite: `emo serve` answering POST /api/classify with a 3-s 48 kHz WAV, at concurrency 1, 8
// and 32: requests/s and p50/p99 latency, measured by autocannon against the command in its own
// process (so the load generator does not share the server's event loop). The rate limit is off;
// the queue admits 64 requests, so no request is refused and every answer is a classification.
//
// Under the concurrency-32 load, two probes measure what the server's event loop is free for:
// GET /healthz every 50 ms (its latency: p50, p99, max), and a live WebSocket that streams 3 s of
// audio in real time and then times each window's answer from the moment its last audio was sent.
// With --previous DIR the same runs for that release's `emo serve`, alternating with this one's.

const path = require('node:path');
const http = require('node:http');
const { start, waitFor, writeRandomModel } = require('../lib/fixtures');

const THIS_CLI = path.join(__dirname, '..', '..', 'dist', 'cli', 'main.js');
const THREADS = 2;
const SECONDS = 10;
const PROBE_MS = 50;

const quantile = (sorted, q) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);

/** GET /healthz every PROBE_MS until stopped; resolves with the latencies, ms. */
function probeHealth(url) {
  const latencies = [];
  let stopped = false;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const done = (async () => {
    while (!stopped) {
      const t0 = process.hrtime.bigint();
      await new Promise((resolve) => {
        http.get(new URL('healthz', url), { agent }, (res) => {
          res.resume();
          res.on('end', resolve);
        }).on('error', resolve);
      });
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      await new Promise((resolve) => setTimeout(resolve, PROBE_MS));
    }
    agent.destroy();
    return latencies;
  })();
  return { stop: () => ((stopped = true), done) };
}

/**
 * A live stream: real-time audio in 0.1-s messages; each prediction's delay is measured from the
 * moment the audio it covers (its `time`) had been sent. Resolves with the delays, ms.
 */
function probeLive(url, seconds) {
  const WebSocket = require('ws');
  const rate = 16000;
  const ws = new WebSocket(new URL('api/live', url.replace(/^http/, 'ws')));
  const sentAt = new Map(); // seconds of audio sent -> when
  const delays = [];
  return new Promise((resolve, reject) => {
    ws.on('error', reject);
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString());
      if (m.type === 'prediction' && sentAt.has(m.time)) delays.push(Number(process.hrtime.bigint() - sentAt.get(m.time)) / 1e6);
    });
    ws.on('open', async () => {
      ws.send(JSON.stringify({ type: 'start', sampleRate: rate }));
      const block = new Float32Array(rate / 10);
      let sent = 0;
      const t0 = Date.now();
      for (let k = 0; k < seconds * 10; k++) {
        for (let i = 0; i < block.length; i++) block[i] = 0.2 * Math.sin((2 * Math.PI * 180 * (sent + i)) / rate) * (0.5 + 0.5 * Math.sin((2 * Math.PI * 3 * (sent + i)) / rate));
        ws.send(Buffer.from(block.buffer.slice(0)));
        sent += block.length;
        sentAt.set(Math.round((sent / rate) * 1000) / 1000, process.hrtime.bigint());
        await new Promise((r) => setTimeout(r, Math.max(0, t0 + (k + 1) * 100 - Date.now())));
      }
      await new Promise((r) => setTimeout(r, 1000));
      ws.close();
      resolve(delays);
    });
  });
}

/** One side's runs: requests/s and latency per level, and the probes under the last one. */
async function measure(ctx, cli, label, model, clip) {
  const autocannon = require('autocannon');
  const server = start(process.execPath, [cli, 'serve', '--port', '0', '--model', model, '--threads', String(THREADS), '--rate-limit', '0', '--queue', '64']);
  try {
    const [, url] = await waitFor(server, /listening on (http:\/\/\S+)/, 60);
    const load = (connections, duration) =>
      autocannon({ url: new URL('api/classify', url).href, method: 'POST', headers: { 'content-type': 'audio/wav' }, body: Buffer.from(clip), connections, duration });
    await load(4, 3); // warm-up: sessions, pools, JIT
    const results = {};
    for (const connections of [1, 8, 32]) {
      ctx.log(`${label}: concurrency ${connections}`);
      const probes = connections === 32 ? { health: probeHealth(url), live: probeLive(url, SECONDS - 2) } : null;
      const r = await load(connections, SECONDS);
      const bad = r.non2xx + r.errors + r.timeouts;
      if (bad > 0) throw new Error(`${label}, concurrency ${connections}: ${r.non2xx} non-2xx answers, ${r.errors} errors, ${r.timeouts} timeouts`);
      results[connections] = { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, total: r.requests.total };
      if (probes) {
        const health = (await probes.health.stop()).sort((a, b) => a - b);
        const live = (await probes.live).sort((a, b) => a - b);
        results.health = { p50: quantile(health, 0.5), p99: quantile(health, 0.99), max: health[health.length - 1], n: health.length };
        results.live = { p50: quantile(live, 0.5), max: live[live.length - 1], n: live.length };
      }
    }
    return results;
  } finally {
    await server.stop();
  }
}

function report(ctx, side, r) {
  for (const connections of [1, 8, 32]) {
    const x = r[connections];
    ctx.report(`serve /api/classify, concurrency ${connections}${side}`, x.rps, 'requests/s', { p50Ms: x.p50, p99Ms: x.p99, requests: x.total });
    ctx.report(`serve latency p50, concurrency ${connections}${side}`, x.p50, 'ms', { p99Ms: x.p99 });
  }
  ctx.report(`serve /healthz p99 under concurrency 32${side}`, r.health.p99, 'ms', { p50Ms: r.health.p50, maxMs: r.health.max, probes: r.health.n });
  ctx.report(`serve /healthz slowest under concurrency 32${side}`, r.health.max, 'ms', { target: 50 });
  ctx.report(`serve live window answer, slowest under concurrency 32${side}`, r.live.max, 'ms', { p50Ms: r.live.p50, windows: r.live.n, target: 250 });
}

async function run(ctx) {
  const model = await writeRandomModel(path.join(ctx.tmpdir(), 'serve-model.onnx'));
  const clip = ctx.audio.makeTestWav({ sampleRate: 48000, seconds: 3, seed: 7, f0: 140 }).bytes;
  ctx.note(`emo serve (--threads ${THREADS}, the reference network with random weights), POST /api/classify with a 3-s 48 kHz 16-bit WAV (${clip.length} bytes); ${SECONDS} s per level after a warm-up; under concurrency 32, GET /healthz every ${PROBE_MS} ms and a live stream in real time`);
  if (!ctx.previous) {
    report(ctx, '', await measure(ctx, THIS_CLI, 'this release', model, clip));
    return;
  }
  // Alternating: this release, the previous one, this one again, the previous one again.
  const previousCli = path.join(ctx.previous, 'dist', 'cli', 'main.js');
  const runs = { current: [], previous: [] };
  for (let round = 0; round < 2; round++) {
    runs.current.push(await measure(ctx, THIS_CLI, `this release, round ${round + 1}`, model, clip));
    runs.previous.push(await measure(ctx, previousCli, `previous release, round ${round + 1}`, model, clip));
  }
  // Each side's better round (the machine is shared: the slower round is the noisier one).
  const best = (list) => list.reduce((a, b) => (b[32].rps > a[32].rps ? b : a));
  const current = best(runs.current);
  const previous = best(runs.previous);
  report(ctx, '', current);
  report(ctx, ', previous release', previous);
  for (const connections of [1, 8, 32]) ctx.report(`serve throughput vs previous release, concurrency ${connections}`, current[connections].rps / previous[connections].rps, 'x', { path: ctx.previous });
}

module.exports = {
  name: 'serve',
  description: 'emo serve: /api/classify requests/s and p50/p99 latency at concurrency 1, 8 and 32; /healthz and live-window latency under load; --previous DIR side by side',
  run,
};
