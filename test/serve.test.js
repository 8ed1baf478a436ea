'use strict';
// emo serve over real HTTP on loopback (ephemeral ports): results, every error status, the live
// WebSocket and its limits, a load of 1000 requests, and a graceful shutdown of the command.
// The reference for every result is the Classifier API itself (tested against onnxruntime in
// infer.test.js): the server must hand back exactly what it computes.
const assert = require('node:assert/strict');
const { skipBecause } = require('./helpers/skips');
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const tf = require('@tensorflow/tfjs-core');
const WebSocket = require('ws');
require('../dist/nn'); // registers the emo-native tfjs backend
const emo = require('../dist');
const { makeWav } = require('./helpers/wav');
const { sharpenedOnnxModel, statisticsOnnxModel, voice } = require('./helpers/model');

const CLI = path.join(__dirname, '..', 'dist', 'cli', 'main.js');
const EMOTIONS = ['neutral', 'calm', 'happy', 'sad', 'angry', 'fearful', 'disgust', 'surprised'];
const wavOf = (seconds, seed, sampleRate = 48000) => makeWav([voice(seconds, sampleRate, seed)], { sampleRate });
const hasFfmpeg = spawnSync('ffmpeg', ['-version']).status === 0;

/** One HTTP request with a whole body; resolves { status, headers, text, json }. */
function request(url, { method = 'POST', headers = {}, body, agent } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, ...(agent ? { agent } : {}) }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try {
          json = JSON.parse(text);
        } catch {}
        resolve({ status: res.statusCode, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const postAudio = (base, body, type = 'audio/wav') => request(new URL('api/classify', base), { headers: { 'content-type': type, 'content-length': body.length }, body });

/** A multipart/form-data body holding one file, written by hand from RFC 7578. */
function formWith(filename, type, bytes, field = 'audio') {
  const boundary = `----emo-test-${Math.random().toString(16).slice(2)}`;
  const head = Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${field}"; filename="${filename}"\r\ncontent-type: ${type}\r\n\r\n`);
  const body = Buffer.concat([head, bytes, Buffer.from(`\r\n--${boundary}--\r\n`)]);
  return { body, headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': body.length } };
}

/** The API's error shape, and nothing of the server's insides. */
function assertError(response, status, code) {
  assert.equal(response.status, status, response.text);
  assert.deepEqual(Object.keys(response.json), ['error']);
  assert.deepEqual(Object.keys(response.json.error).sort(), ['code', 'message']);
  if (code) assert.equal(response.json.error.code, code);
  assert.doesNotMatch(response.text, /\n\s+at |node_modules|\.js:\d+/);
}

/** JSON round trip: what a result looks like once sent over HTTP. */
const overHttp = (x) => JSON.parse(JSON.stringify(x));

describe('emo serve: HTTP API', function () {
  this.timeout(300_000);
  let tmp;
  let modelFile;
  let clf;
  let server;
  let base;

  before(async () => {
    assert.ok(await tf.setBackend('emo-native'));
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'emo-serve-'));
    modelFile = path.join(tmp, 'model.onnx');
    fs.writeFileSync(modelFile, await sharpenedOnnxModel(11));
    clf = await emo.loadClassifier(modelFile);
    server = await emo.createServer({ model: modelFile, port: 0, maxUploadMb: 2, maxDurationSeconds: 20 });
    base = await server.listen();
  });
  after(async () => {
    await server?.close();
    await clf?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('listens on loopback by default and answers /healthz', async () => {
    assert.match(base, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const r = await request(new URL('healthz', base), { method: 'GET' });
    assert.equal(r.status, 200);
    assert.equal(r.json.status, 'ok');
    assert.equal(r.json.queue.capacity, 32);
  });

  it('POST /api/classify: a WAV body gets the classifier\'s result; a long one its timeline', async () => {
    // Up to 3.5 s (the 0.5-s offset and one 3-s window): one clip.
    const clip = wavOf(3.5, 2);
    const r = await postAudio(base, clip);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, overHttp({ ...(await clf.classify(clip)), duration: 3.5 }));
    assert.ok(EMOTIONS.includes(r.json.label));

    // Up to 6 s is one clip too (a RAVDESS clip lasts up to 5.3 s).
    const five = wavOf(5.5, 5);
    assert.deepEqual((await postAudio(base, five)).json, overHttp({ ...(await clf.classify(five)), duration: 5.5 }));

    const long = wavOf(9, 3, 16000);
    const t = await postAudio(base, long, 'audio/x-wav');
    assert.equal(t.status, 200, t.text);
    assert.deepEqual(t.json, overHttp({ ...(await clf.timeline(long)), duration: 9 }));
    assert.equal(t.json.segments.length, Math.ceil((9 - 0.5 - 3) / 1.5) + 1);
  });

  it('takes a multipart upload', async () => {
    const clip = wavOf(3.5, 4);
    const r = await request(new URL('api/classify', base), formWith('clip.wav', 'audio/wav', clip));
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, overHttp({ ...(await clf.classify(clip)), duration: 3.5 }));
  });

  it('takes other audio types through ffmpeg, and says when it cannot decode them', async function () {
    if (!hasFfmpeg) return skipBecause(this, 'ffmpeg is not installed (apt-get install ffmpeg)');
    const clip = wavOf(3.5, 4);
    const r = await request(new URL('api/classify', base), formWith('clip.wav', 'audio/wav', clip));
    const wavFile = path.join(tmp, 'clip.wav');
    fs.writeFileSync(wavFile, clip);
    const flacFile = path.join(tmp, 'clip.flac');
    assert.equal(spawnSync('ffmpeg', ['-v', 'error', '-y', '-i', wavFile, flacFile]).status, 0);
    const flac = fs.readFileSync(flacFile);
    for (const response of [await postAudio(base, flac, 'audio/flac'), await request(new URL('api/classify', base), formWith('clip.flac', 'audio/flac', flac))]) {
      assert.equal(response.status, 200, response.text);
      // Lossless: the same samples, so the same emotion with the same probabilities.
      assert.equal(response.json.label, r.json.label);
      for (const label of EMOTIONS) assert.ok(Math.abs(response.json.probabilities[label] - r.json.probabilities[label]) < 1e-5);
    }
    assertError(await postAudio(base, Buffer.from('neither is this an mp3'), 'audio/mpeg'), 400, 'ERR_AUDIO_DECODE');
  });

  it('GET /api/model: labels, feature options and metadata', async () => {
    const r = await request(new URL('api/model', base), { method: 'GET' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.labels, EMOTIONS);
    assert.deepEqual(r.json.features, overHttp(clf.metadata.features));
    assert.equal(r.json.metadata.version, clf.metadata.version);
    assert.equal(r.json.provider, 'cpu');
    assert.equal(r.json.limits.maxUploadBytes, 2e6);
  });

  it("GET /api/charts: the page's charts compiled to Vega for the model's labels; Vega and its interpreter from the installed packages", async () => {
    const r = await request(new URL('api/charts', base), { method: 'GET' });
    assert.equal(r.status, 200);
    assert.deepEqual(Object.keys(r.json.colours), EMOTIONS);
    for (const name of ['probabilities', 'attention', 'timeline']) assert.match(r.json[name].$schema, /vega\/v5/);
    assert.deepEqual(r.json.probabilities.data[0].values.map((v) => v.label), EMOTIONS);
    for (const [file, pkg] of [['vega.min.js', 'vega/build/vega.min.js'], ['vega-interpreter.min.js', 'vega-interpreter/build/vega-interpreter.min.js']]) {
      const script = await request(new URL(`vendor/${file}`, base), { method: 'GET' });
      assert.equal(script.status, 200);
      assert.match(script.headers['content-type'], /^text\/javascript/);
      assert.equal(script.text, fs.readFileSync(require.resolve(pkg), 'utf8'));
    }
    for (const file of ['vega.js', '..%2fpackage.json', 'constructor']) {
      const missing = await request(new URL(`vendor/${file}`, base), { method: 'GET' });
      assert.equal(missing.status, 404, file);
      assert.equal(missing.json.error.code, 'ERR_NOT_FOUND');
    }
  });

  it('400 for audio it cannot use', async () => {
    assertError(await postAudio(base, Buffer.from('this is not a wav file at all')), 400, 'ERR_WAV_NOT_RIFF');
    assertError(await postAudio(base, Buffer.alloc(0)), 400, 'ERR_WAV_EMPTY');
    assertError(await postAudio(base, makeWav([new Float32Array(48000 * 4)], { sampleRate: 48000 })), 400, 'ERR_SILENT');
    assertError(await postAudio(base, wavOf(0.3, 1)), 400, 'ERR_TOO_SHORT');
    const nan = voice(3.5, 48000, 1);
    nan[48000 * 2] = NaN;
    assertError(await postAudio(base, makeWav([nan], { sampleRate: 48000, format: 'float', bits: 32 })), 400, 'ERR_NON_FINITE_SAMPLES');
    const noFile = formWith('x', 'audio/wav', Buffer.alloc(0));
    const fieldOnly = Buffer.from(noFile.body.toString('latin1').replace(/; filename="x"\r\ncontent-type: audio\/wav/, ''), 'latin1');
    assertError(await request(new URL('api/classify', base), { headers: { ...noFile.headers, 'content-length': fieldOnly.length }, body: fieldOnly }), 400, 'ERR_NO_FILE');
  });

  it('413 for an upload over the limit, refused before its body is read (declared length or streamed)', async () => {
    // Declares 60 MB and sends 64 KB: the answer must come without the rest.
    const declared = await new Promise((resolve, reject) => {
      const req = http.request(new URL('api/classify', base), { method: 'POST', headers: { 'content-type': 'audio/wav', 'content-length': 60e6 } }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode, text, json: JSON.parse(text) }));
      });
      req.on('error', (e) => (e.code === 'EPIPE' || e.code === 'ECONNRESET' ? null : reject(e)));
      req.write(Buffer.alloc(64 * 1024));
    });
    assertError(declared, 413, 'ERR_TOO_LARGE');
    // Refused by the server's own check of the declared length, before a queue ticket or the body parser.
    assert.match(declared.json.error.message, /^the upload is 60000000 bytes; the limit is 2000000$/);
    // Chunked, no length: cut off once past the limit.
    const streamed = await new Promise((resolve, reject) => {
      const req = http.request(new URL('api/classify', base), { method: 'POST', headers: { 'content-type': 'audio/wav', 'transfer-encoding': 'chunked' } }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode, text, json: JSON.parse(text) }));
      });
      req.on('error', (e) => (e.code === 'EPIPE' || e.code === 'ECONNRESET' ? null : reject(e)));
      const block = Buffer.alloc(256 * 1024);
      let sent = 0;
      const pump = () => {
        while (sent < 40e6 && !req.destroyed) {
          sent += block.length;
          if (!req.write(block)) return req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    assertError(streamed, 413, 'ERR_TOO_LARGE');
    // A multipart file over the limit.
    const big = formWith('big.wav', 'audio/wav', Buffer.alloc(2.01e6));
    assertError(await request(new URL('api/classify', base), big), 413);
    // A recording longer than maxDurationSeconds (20 s), small in bytes.
    assertError(await postAudio(base, wavOf(25, 5, 8000)), 413, 'ERR_TOO_LONG');
    // The server is still there.
    assert.equal((await postAudio(base, wavOf(3.5, 2))).status, 200);
  });

  it('415 for a body that is not audio', async () => {
    assertError(await postAudio(base, Buffer.from('{"a":1}'), 'application/json'), 415, 'ERR_UNSUPPORTED_MEDIA_TYPE');
    assertError(await postAudio(base, Buffer.from('hello'), 'text/plain'), 415, 'ERR_UNSUPPORTED_MEDIA_TYPE');
    assertError(await request(new URL('api/classify', base), { headers: { 'content-length': 5 }, body: 'hello' }), 415);
    assertError(await request(new URL('api/classify', base), formWith('notes.txt', 'text/plain', Buffer.from('hello'))), 415, 'ERR_UNSUPPORTED_MEDIA_TYPE');
  });

  it('404 as JSON, no path traversal out of the page folder, no CORS', async () => {
    assertError(await request(new URL('nothing-here', base), { method: 'GET' }), 404, 'ERR_NOT_FOUND');
    for (const p of ['/../package.json', '/..%2fpackage.json', '/%2e%2e/%2e%2e/package.json', '/..%5c..%5cpackage.json', '/%2e%2e%2f%2e%2e%2fpackage.json']) {
      const r = await request(`${base.replace(/\/$/, '')}${p}`, { method: 'GET' });
      assert.ok(r.status === 404 || r.status === 403 || r.status === 400, `${p}: ${r.status}`);
      assert.doesNotMatch(r.text, /"devDependencies"/, p);
    }
    const page = await request(base, { method: 'GET' });
    assert.equal(page.status, 200);
    assert.match(page.text, /data-testid="prediction"/);
    assert.match(page.headers['content-security-policy'], /default-src 'self'/);
    assert.equal(page.headers['access-control-allow-origin'], undefined);
    const foreign = await request(new URL('api/classify', base), { headers: { origin: 'http://evil.example', 'content-type': 'audio/wav' }, body: wavOf(3.5, 1) });
    assertError(foreign, 403, 'ERR_CROSS_ORIGIN');
    assert.equal(foreign.headers['access-control-allow-origin'], undefined);
  });

  it('429 past the rate limit, 503 when the inference queue is full', async () => {
    const limited = await emo.createServer({ model: clf, port: 0, rateLimit: 2, queueSize: 1 });
    const url = await limited.listen();
    try {
      // Queue of one: a request whose body is still coming holds the only ticket.
      const clip = wavOf(3.5, 6);
      let slowResponse;
      const slow = http.request(new URL('api/classify', url), { method: 'POST', headers: { 'content-type': 'audio/wav', 'content-length': clip.length } }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => slowResponse({ status: res.statusCode, text }));
      });
      const slowDone = new Promise((resolve) => (slowResponse = resolve));
      slow.write(clip.subarray(0, 1000));
      await new Promise((resolve) => setTimeout(resolve, 300));
      const busy = await postAudio(url, clip);
      assertError(busy, 503, 'ERR_BUSY');
      assert.equal(busy.headers['retry-after'], '1');
      slow.end(clip.subarray(1000));
      assert.equal((await slowDone).status, 200);
      // Two requests a minute: the third (the busy one counted) is refused.
      assertError(await postAudio(url, clip), 429, 'ERR_RATE_LIMITED');
      assert.equal(limited.stats().queue.admitted, 0);
      assert.ok(limited.stats().queue.refused >= 1);
    } finally {
      await limited.close();
    }
    // The server did not own the classifier: it still works.
    assert.ok(EMOTIONS.includes((await clf.classify(wavOf(3.5, 1))).label));
  });

  it('the inference queue batches waiting clips together only when they are read the same way', async () => {
    const { InferenceQueue } = require('../dist/server/queue');
    const queue = new InferenceQueue(clf, 8, 32);
    const rate = 16000;
    const audio = voice(4, rate, 21);
    // A long timeline first keeps the model busy, so the clips behind it wait together.
    const busy = queue.admit();
    const long = busy.timeline(wavOf(20, 3));
    const tickets = [0, 0.5, 0, 0.5].map(() => queue.admit());
    const results = await Promise.all(tickets.map((t, i) => t.classify(audio, { sampleRate: rate, offsetSeconds: i % 2 === 0 ? 0 : 0.5 })));
    await long;
    for (const t of [busy, ...tickets]) t.release();
    const at0 = await clf.classify(audio, { sampleRate: rate, offsetSeconds: 0 });
    const at05 = await clf.classify(audio, { sampleRate: rate, offsetSeconds: 0.5 });
    assert.notDeepEqual(at0.probabilities, at05.probabilities, 'the two offsets cut different clips');
    assert.deepEqual(results, [at0, at05, at0, at05]);
    // Two batches (one per offset), not one, after the timeline.
    assert.deepEqual([queue.stats().batches, queue.stats().largestBatch, queue.stats().timelines], [2, 2, 1]);
  });

  it('GET /metrics: Prometheus text with requests by route and status, latency, the queue, the model and the process', async () => {
    const before = await request(new URL('metrics', base), { method: 'GET' });
    assert.equal(before.status, 200);
    assert.match(before.headers['content-type'], /^text\/plain; version=0\.0\.4/);
    const value = (text, series) => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? 0 : Number(line.slice(series.length + 1));
    };
    const ok = 'emo_http_requests_total{route="/api/classify",method="POST",status="200"}';
    const bad = 'emo_http_requests_total{route="/api/classify",method="POST",status="400"}';
    const [ok0, bad0, clips0] = [value(before.text, ok), value(before.text, bad), value(before.text, 'emo_clips_classified_total')];
    for (const seed of [1, 2, 3]) assert.equal((await postAudio(base, wavOf(3.5, seed))).status, 200);
    assert.equal((await postAudio(base, Buffer.from('RIFF nonsense'))).status, 400);
    await request(new URL('api/no-such-route', base), { method: 'GET' });
    const after = (await request(new URL('metrics', base), { method: 'GET' })).text;
    assert.equal(value(after, ok) - ok0, 3);
    assert.equal(value(after, bad) - bad0, 1);
    assert.equal(value(after, 'emo_clips_classified_total') - clips0, 3);
    assert.ok(value(after, 'emo_http_request_duration_seconds_count{route="/api/classify",method="POST"}') >= 4);
    assert.ok(value(after, 'emo_inference_batch_clips_count') >= 3);
    assert.ok(value(after, 'emo_inference_seconds_count{kind="clips"}') >= 3);
    assert.match(after, /emo_http_requests_total\{route="unmatched",method="GET",status="404"\} \d+/);
    assert.match(after, /^emo_model_info\{model="model\.onnx",emo_version="[^"]+",provider="cpu",labels="neutral,calm,happy,sad,angry,fearful,disgust,surprised",adapts="false"\} 1$/m);
    assert.equal(value(after, 'emo_queue_capacity'), 32);
    assert.match(after, /^emo_queue_refused_total \d+$/m);
    assert.match(after, /^process_cpu_user_seconds_total [\d.e+-]+$/m);
    assert.match(after, /^nodejs_eventloop_lag_seconds [\d.e+-]+$/m);
  });

  it('checks its options', async () => {
    await assert.rejects(emo.createServer({ model: clf, port: 70000 }), RangeError);
    await assert.rejects(emo.createServer({ model: clf, maxUploadMb: 0 }), RangeError);
    await assert.rejects(emo.createServer({ model: clf, colour: 'blue' }), TypeError);
    await assert.rejects(emo.createServer({ model: path.join(tmp, 'missing.onnx') }), emo.EmoError);
  });
});

describe('emo serve: the live WebSocket', function () {
  this.timeout(300_000);
  let tmp;
  let clf;
  let server;
  let wsBase;

  before(async () => {
    assert.ok(await tf.setBackend('emo-native'));
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'emo-live-'));
    const modelFile = path.join(tmp, 'model.onnx');
    fs.writeFileSync(modelFile, await sharpenedOnnxModel(11));
    clf = await emo.loadClassifier(modelFile);
    server = await emo.createServer({ model: clf, port: 0, live: { maxConnections: 2, maxMessageBytes: 64 * 1024, maxSeconds: 12 } });
    wsBase = (await server.listen()).replace(/^http/, 'ws');
  });
  after(async () => {
    await server?.close();
    await clf?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** Opens /api/live; collects its JSON messages and how it closed. */
  function connect() {
    const ws = new WebSocket(new URL('api/live', wsBase));
    const messages = [];
    const waiters = [];
    ws.on('message', (data) => {
      messages.push(JSON.parse(data.toString()));
      for (const w of waiters.splice(0)) w();
    });
    const closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    const opened = new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const next = async (type) => {
      for (;;) {
        const found = messages.find((m) => m.type === type);
        if (found) return found;
        await Promise.race([new Promise((resolve) => waiters.push(resolve)), closed.then(() => Promise.reject(new Error(`closed before a ${type} message`)))]);
      }
    };
    return { ws, messages, opened, closed, next };
  }

  const samplesMessage = (x) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);

  it('predicts every 0.5 s from the last 3 s of the stream, at the browser\'s sample rate', async () => {
    const rate = 16000;
    const audio = voice(2, rate, 7);
    const live = connect();
    await live.opened;
    live.ws.send(JSON.stringify({ type: 'start', sampleRate: rate }));
    const ready = await live.next('ready');
    assert.deepEqual([ready.sampleRate, ready.windowSeconds, ready.intervalSeconds], [rate, 3, 0.5]);
    for (let i = 0; i < audio.length; i += 4000) live.ws.send(samplesMessage(audio.subarray(i, i + 4000)));
    const prediction = await live.next('prediction');
    const { type, time, ...result } = prediction;
    assert.equal(time, 2);
    // The window is the stream so far (under 3 s), nothing skipped at its start.
    assert.deepEqual(result, overHttp(await clf.classify(audio, { sampleRate: rate, offsetSeconds: 0 })));
    // 4 s more, in real time: the ring keeps the last 3 s only.
    const more = voice(4, rate, 8);
    for (let i = 0; i < more.length; i += 4000) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      live.ws.send(samplesMessage(more.subarray(i, i + 4000)));
    }
    // The prediction for the end of the stream comes when the server gets to it (on a busy machine,
    // later than real time: it skips windows it has fallen behind on, never the latest).
    const deadline = Date.now() + 60_000;
    let last;
    while ((last = live.messages.filter((m) => m.type === 'prediction').pop())?.time !== 6 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(last.time, 6);
    const { type: t2, time: time2, ...lastResult } = last;
    assert.deepEqual(lastResult, overHttp(await clf.classify(more.subarray(rate), { sampleRate: rate, offsetSeconds: 0 })));
    live.ws.close();
    await live.closed;
  });

  it('says "listening" before a second of audio, then "silent" for silence, in that order', async () => {
    const live = connect();
    await live.opened;
    live.ws.send(JSON.stringify({ type: 'start', sampleRate: 8000 }));
    live.ws.send(samplesMessage(new Float32Array(4000)));
    const listening = await live.next('listening');
    assert.equal(listening.seconds, 0.5, 'half a second heard');
    live.ws.send(samplesMessage(new Float32Array(8000)));
    const silent = await live.next('silent');
    assert.equal(silent.time, 1.5, 'the 1.5 s of audio received');
    live.ws.close();
    await live.closed;
    // ready first, then only listening until the second, then silent; never a prediction of silence.
    const types = live.messages.map((m) => m.type);
    assert.equal(types[0], 'ready');
    const firstSilent = types.indexOf('silent');
    assert.ok(types.slice(1, firstSilent).length >= 1 && types.slice(1, firstSilent).every((t) => t === 'listening'), types.join(' '));
    assert.ok(!types.includes('prediction'), types.join(' '));
  });

  it('enforces its limits: protocol, message size, pace, connections, duration', async () => {
    const closeOf = async (setup) => {
      const live = connect();
      await live.opened;
      setup(live.ws);
      return live.closed;
    };
    assert.equal((await closeOf((ws) => ws.send(samplesMessage(new Float32Array(100))))).code, 1008);
    assert.equal((await closeOf((ws) => ws.send(JSON.stringify({ type: 'start', sampleRate: 1e6 })))).code, 1008);
    assert.equal((await closeOf((ws) => ws.send('not json'))).code, 1003);
    assert.equal(
      (
        await closeOf((ws) => {
          ws.send(JSON.stringify({ type: 'start', sampleRate: 8000 }));
          ws.send(Buffer.alloc(65 * 1024));
        })
      ).code,
      1009,
    );
    const fast = await closeOf((ws) => {
      ws.send(JSON.stringify({ type: 'start', sampleRate: 8000 }));
      for (let i = 0; i < 10; i++) ws.send(samplesMessage(new Float32Array(8000)));
    });
    assert.deepEqual([fast.code, fast.reason], [1008, 'audio arrives faster than its sample rate']);
    // Two connections at most; a session lasts 12 s at most (long enough for the streaming test above).
    const a = connect();
    const b = connect();
    await Promise.all([a.opened, b.opened]);
    a.ws.send(JSON.stringify({ type: 'start', sampleRate: 8000 }));
    const c = connect();
    assert.equal((await c.closed).code, 1013);
    b.ws.close();
    const end = await a.closed;
    assert.equal(end.code, 1008);
    assert.match(end.reason, /at most 12 s/);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(server.stats().liveConnections, 0);
  });
});

describe('emo serve: the command under load, and its graceful shutdown', function () {
  this.timeout(900_000);
  let tmp;
  let child;
  let base;
  let stderr = '';

  /** VmRSS of the server process, bytes. */
  const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'))[1]) * 1024;

  before(async () => {
    assert.ok(await tf.setBackend('emo-native'));
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'emo-serve-load-'));
    const modelFile = path.join(tmp, 'model.onnx');
    fs.writeFileSync(modelFile, await sharpenedOnnxModel(11));
    // No rate limit: 1200 requests from one address would pass the default 1200 a minute.
    child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--model', modelFile, '--threads', '2', '--rate-limit', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr.on('data', (d) => (stderr += d));
    base = await new Promise((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        const m = /listening on (http:\S+)/.exec(out);
        if (m) resolve(m[1]);
      });
      child.on('exit', (code) => reject(new Error(`emo serve exited (${code}): ${stderr}`)));
    });
  });
  after(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('answers 1000 requests at concurrency 32 (200, or 429/503 when full), stays up, RSS growth < 50 MB after warm-up', async () => {
    const clips = [1, 2, 3, 4, 5, 6, 7, 8].map((seed) => wavOf(3, seed));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
    const statuses = {};
    const run = async (total) => {
      let next = 0;
      const worker = async () => {
        while (next < total) {
          const i = next++;
          const body = clips[i % clips.length];
          const r = await request(new URL('api/classify', base), { headers: { 'content-type': 'audio/wav', 'content-length': body.length }, body, agent });
          statuses[r.status] = (statuses[r.status] ?? 0) + 1;
          if (r.status === 200) assert.ok(EMOTIONS.includes(r.json.label));
          else assertError(r, r.status);
        }
      };
      await Promise.all(Array.from({ length: 32 }, worker));
    };
    await run(200); // warm-up: onnxruntime's arena, V8's heap, the sockets
    await new Promise((resolve) => setTimeout(resolve, 500));
    const before = rss();
    for (const k of Object.keys(statuses)) delete statuses[k];
    await run(1000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const growth = rss() - before;
    agent.destroy();
    const answered = Object.values(statuses).reduce((a, b) => a + b, 0);
    assert.equal(answered, 1000);
    assert.deepEqual(Object.keys(statuses).filter((s) => !['200', '429', '503'].includes(s)), [], JSON.stringify(statuses));
    assert.ok(statuses[200] > 0, JSON.stringify(statuses));
    assert.ok(growth < 50e6, `RSS grew ${(growth / 1e6).toFixed(1)} MB`);
    const health = await request(new URL('healthz', base), { method: 'GET' });
    assert.equal(health.status, 200);
    // Requests that waited together were classified together.
    assert.ok(health.json.queue.batches < health.json.queue.clips, JSON.stringify(health.json.queue));
    assert.ok(health.json.queue.largestBatch > 1);
    assert.equal(child.exitCode, null);
  });

  it('SIGTERM: stops taking connections, lets the request in flight finish, then exits 0', async () => {
    const clip = wavOf(3.5, 3);
    const inFlight = new Promise((resolve, reject) => {
      const req = http.request(new URL('api/classify', base), { method: 'POST', headers: { 'content-type': 'audio/wav', 'content-length': clip.length } }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(text) }));
      });
      req.on('error', reject);
      req.write(clip.subarray(0, 4096));
      setTimeout(() => {
        child.kill('SIGTERM');
        setTimeout(() => req.end(clip.subarray(4096)), 500);
      }, 300);
    });
    const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    const r = await inFlight;
    assert.equal(r.status, 200);
    assert.ok(EMOTIONS.includes(r.json.label));
    assert.equal(await exited, 0, stderr);
    assert.match(stderr, /SIGTERM: finishing the requests in flight/);
    assert.match(stderr, /stopped/);
  });

  it('checks its command line (exit 2)', () => {
    for (const args of [['--port', 'x'], ['--provider', 'tpu'], ['extra'], ['--max-upload-mb', '0']]) {
      const r = spawnSync(process.execPath, [CLI, 'serve', ...args], { encoding: 'utf8' });
      assert.equal(r.status, 2, `${args}: ${r.stderr}`);
      assert.match(r.stderr, /Usage: emo serve/);
    }
  });
});

// Both kinds of adaptive model: the reference network normalising the mel bands per speaker, and the
// statistics network standardising its statistics per speaker.
for (const kind of ['speaker', 'speaker-statistics']) describe(`emo serve: speaker adaptation (adapt: ${kind})`, function () {
  this.timeout(300_000);
  let tmp;
  let clf;
  let server;
  let base;
  const reference = { mean: Array.from({ length: 128 }, (_, m) => -45 - m / 10), std: Array.from({ length: 128 }, (_, m) => 9 + (m % 3)) };
  // A quiet speaker: adaptation changes what the model hears.
  const quietWav = (seconds, seed) => makeWav([voice(seconds, 48000, seed).map((v) => 0.05 * v)], { sampleRate: 48000 });
  const classifyWith = (id, wav) => request(new URL(`api/classify?adapter=${id}`, base), { headers: { 'content-type': 'audio/wav', 'content-length': wav.length }, body: wav });
  const json = (url, method = 'POST', body) =>
    request(url, { method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });

  before(async () => {
    assert.ok(await tf.setBackend('emo-native'));
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'emo-serve-adapt-'));
    const modelFile = path.join(tmp, 'adaptive.onnx');
    fs.writeFileSync(modelFile, kind === 'speaker' ? await sharpenedOnnxModel(13, { ...reference, adapt: 'speaker' }) : await statisticsOnnxModel(13, reference));
    clf = await emo.loadClassifier(modelFile);
    server = await emo.createServer({ model: clf, port: 0, minSpeechSeconds: 6, maxAdapters: 3 });
    base = await server.listen();
  });
  after(async () => {
    await server?.close();
    await clf?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('/api/adapters: each upload adds to its adapter, then is classified with it, as the Classifier API does', async () => {
    const model = await request(new URL('api/model', base), { method: 'GET' });
    assert.equal(model.json.adapts, true);
    const created = await json(new URL('api/adapters', base));
    assert.equal(created.status, 201, created.text);
    assert.deepEqual({ ...created.json, id: 'x' }, { id: 'x', speechSeconds: 0, ready: false, minSpeechSeconds: 6 });
    // The same clips through a local adapter: the reference.
    const local = clf.createAdapter({ minSpeechSeconds: 6 });
    const applied = [];
    for (const seed of [1, 2, 3, 4]) {
      const wav = quietWav(3.5, seed);
      const r = await classifyWith(created.json.id, wav);
      assert.equal(r.status, 200, r.text);
      await local.update(wav);
      const { duration, ...result } = r.json;
      assert.deepEqual(result, overHttp(await clf.classify(wav, { adapter: local })));
      applied.push(result.adaptation.applied);
    }
    assert.deepEqual(applied, [false, false, true, true], 'adapts once 6 s of speech are in');
    const read = await request(new URL(`api/adapters/${created.json.id}`, base), { method: 'GET' });
    assert.equal(read.status, 200);
    assert.deepEqual(read.json.statistics, overHttp(local.toJSON()));
    // A statistics network's adapter holds each upload's statistics too.
    assert.equal(read.json.statistics.statistics?.clips, kind === 'speaker-statistics' ? 4 : undefined);
    // Saved statistics make a new adapter that is ready at once.
    const loaded = await json(new URL('api/adapters', base), 'POST', { statistics: read.json.statistics });
    assert.equal(loaded.status, 201, loaded.text);
    assert.equal(loaded.json.ready, true);
    assertError(await json(new URL('api/adapters', base), 'POST', { statistics: { nonsense: true } }), 400, 'ERR_ADAPTATION_INVALID');
    // Forgotten on DELETE.
    assert.equal((await request(new URL(`api/adapters/${created.json.id}`, base), { method: 'DELETE' })).status, 204);
    assertError(await request(new URL(`api/adapters/${created.json.id}`, base), { method: 'GET' }), 404, 'ERR_ADAPTER_NOT_FOUND');
    assertError(await classifyWith(created.json.id, quietWav(3.5, 5)), 404, 'ERR_ADAPTER_NOT_FOUND');
    // At most maxAdapters: the least recently used goes.
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push((await json(new URL('api/adapters', base))).json.id);
    assert.equal((await request(new URL(`api/adapters/${ids[0]}`, base), { method: 'GET' })).status, 404);
    assert.equal((await request(new URL(`api/adapters/${ids[3]}`, base), { method: 'GET' })).status, 200);
    assert.equal(server.stats().adapters, 3);
  });

  it('a live session learns the voice from its stream, adapts past the minimum, and resets', async () => {
    const wsBase = base.replace(/^http/, 'ws');
    const ws = new WebSocket(new URL('api/live', wsBase));
    const messages = [];
    ws.on('message', (data) => messages.push(JSON.parse(data.toString())));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const waitFor = async (test) => {
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        const found = messages.find(test);
        if (found) return found;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`no such message in ${JSON.stringify(messages.map((m) => m.type))}`);
    };
    const rate = 16000;
    ws.send(JSON.stringify({ type: 'start', sampleRate: rate }));
    const ready = await waitFor((m) => m.type === 'ready');
    assert.equal(ready.adapts, true);
    assert.equal(ready.minSpeechSeconds, 6);
    const audio = voice(10, rate, 9).map((v) => 0.05 * v);
    for (let i = 0; i < audio.length; i += 4000) {
      ws.send(Buffer.from(audio.buffer, audio.byteOffset + 4 * i, 4 * Math.min(4000, audio.length - i)));
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const first = await waitFor((m) => m.type === 'adaptation' && m.speechSeconds > 0);
    assert.equal(first.applied, false);
    const adapted = await waitFor((m) => m.type === 'adaptation' && m.applied);
    assert.ok(adapted.speechSeconds >= 6);
    // A statistics network's adapter has learnt the statistics of whole windows: 3 s each.
    if (kind === 'speaker-statistics') assert.ok(adapted.statisticsClips >= 2, JSON.stringify(adapted));
    else assert.equal(adapted.statisticsClips, undefined);
    await waitFor((m) => m.type === 'prediction' && m.adaptation && m.adaptation.applied);
    assert.ok(messages.some((m) => m.type === 'prediction' && m.adaptation && !m.adaptation.applied), 'unadapted before the minimum');
    ws.send(JSON.stringify({ type: 'reset' }));
    const reset = await waitFor((m) => m.type === 'adaptation' && m.reset);
    assert.deepEqual([reset.applied, reset.speechSeconds], [false, 0]);
    if (kind === 'speaker-statistics') assert.equal(reset.statisticsClips, 0);
    ws.close();
  });

  // Once: it does not depend on the kind.
  if (kind === 'speaker') it('a model trained without adaptation takes no adapter', async () => {
    const plainFile = path.join(tmp, 'plain.onnx');
    fs.writeFileSync(plainFile, await sharpenedOnnxModel(13));
    const plain = await emo.createServer({ model: plainFile, port: 0 });
    const url = await plain.listen();
    try {
      assertError(await json(new URL('api/adapters', url)), 400, 'ERR_ADAPTATION_UNSUPPORTED');
      assert.equal((await request(new URL('api/model', url), { method: 'GET' })).json.adapts, false);
    } finally {
      await plain.close();
    }
  });
});
