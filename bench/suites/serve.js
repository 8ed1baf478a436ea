'use strict';
// serve suite: `emo serve` answering POST /api/classify with a 3-s 48 kHz WAV, at concurrency 1, 8
// and 32: requests/s and p50/p99 latency, measured by autocannon against the command in its own
// process (so the load generator does not share the server's event loop). The rate limit is off;
// the queue admits 64 requests, so no request is refused and every answer is a classification.
//
// Under the concurrency-32 load, two probes measure what the server's event loop is free for:
// GET /healthz every 50 ms (its latency: p50, p99, max), and a live WebSocket that streams 3 s of
// audio in real time and then times each window's answer from the moment its last audio was sent.
// The probes run in a process of their own (bench/lib/probes.js), apart from the load generator.
// With --previous DIR the same runs for that release's `emo serve`, alternating with this one's.

const path = require('node:path');
const { start, waitFor, writeRandomModel } = require('../lib/fixtures');

const THIS_CLI = path.join(__dirname, '..', '..', 'dist', 'cli', 'main.js');
const THREADS = 2;
const SECONDS = 10;
const PROBE_MS = 50;

const quantile = (sorted, q) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);

/**
 * Starts the two probes in a process of their own, so that what they measure is the server's
 * answer, not the load generator's event loop (autocannon shares this one). `stop()` resolves with
 * `{ health, live }`: the latencies of GET /healthz and the delays of the live windows, ms.
 */
async function startProbes(url, liveSeconds) {
  const { spawn } = require('node:child_process');
  const child = spawn(process.execPath, [path.join(__dirname, '..', 'lib', 'probes.js'), url, String(liveSeconds), String(PROBE_MS)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const exited = new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.slice(out.indexOf('\n') + 1))) : reject(new Error(`the probes exited with ${code}`))));
  });
  await new Promise((resolve, reject) => {
    child.stdout.once('data', resolve);
    child.once('exit', () => reject(new Error('the probes did not start')));
  });
  return { stop: () => (child.stdin.end('stop\n'), exited) };
}

/**
 * The server's own event-loop delay since the last call (prom-client's histogram, reset on each
 * scrape of /metrics), ms: what its loop did, apart from how the machine scheduled the probes.
 */
async function eventLoopDelay(url) {
  const text = await fetch(new URL('metrics', url)).then((r) => r.text());
  const value = (name) => 1000 * Number((new RegExp(`^${name} (\\S+)$`, 'm').exec(text) || [])[1]);
  return { p99: value('nodejs_eventloop_lag_p99_seconds'), max: value('nodejs_eventloop_lag_max_seconds') };
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
      if (connections === 32) await eventLoopDelay(url); // reads (and so resets) the server's own histogram
      const probes = connections === 32 ? await startProbes(url, SECONDS - 2) : null;
      const r = await load(connections, SECONDS);
      const bad = r.non2xx + r.errors + r.timeouts;
      if (bad > 0) throw new Error(`${label}, concurrency ${connections}: ${r.non2xx} non-2xx answers, ${r.errors} errors, ${r.timeouts} timeouts`);
      results[connections] = { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, total: r.requests.total };
      if (probes) {
        const measured = await probes.stop();
        const health = measured.health.sort((a, b) => a - b);
        const live = measured.live.sort((a, b) => a - b);
        results.health = { p50: quantile(health, 0.5), p99: quantile(health, 0.99), max: health[health.length - 1], n: health.length };
        results.live = { p50: quantile(live, 0.5), max: live[live.length - 1], n: live.length };
        results.loop = await eventLoopDelay(url);
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
  ctx.report(`serve event-loop delay p99 under concurrency 32 (the server's own)${side}`, r.loop.p99, 'ms', { maxMs: r.loop.max });
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
