'use strict';
// The serve suite's probes, run as a process of their own beside the load generator:
//   node bench/lib/probes.js URL LIVE_SECONDS PROBE_MS
// prints "ready", then on "stop" (or end of stdin) prints {"health": [ms...], "live": [ms...]} and exits.
// GET /healthz every PROBE_MS measures what the server's event loop is free for; a live WebSocket
// streams LIVE_SECONDS of audio in real time and times each window's answer from the moment the
// audio it covers had been sent.

const http = require('node:http');

const [url, liveSeconds, probeMs] = process.argv.slice(2);
const PROBE_MS = Number(probeMs);

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

const health = probeHealth(url);
const live = probeLive(url, Number(liveSeconds));
process.stdout.write('ready\n');
process.stdin.resume();
process.stdin.on('end', async () => {
  const result = { health: await health.stop(), live: await live };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
});
