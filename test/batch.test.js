'use strict';
const assert = require('node:assert/strict');
const { Worker } = require('node:worker_threads');
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const emo = require('..');
const { makeWav, testSignal } = require('./helpers/wav');
const { skipBecause } = require('./helpers/skips');

function clips(count) {
  return Array.from({ length: count }, (_, i) => {
    const rate = [48000, 44100, 16000, 22050][i % 4];
    return makeWav([testSignal(Math.round(rate * (2.5 + (i % 3))), rate, i + 1)], { sampleRate: rate });
  });
}

describe('melChunksBatch', () => {
  it('gives exactly the single-clip results, in order, for WAV and Float32Array inputs', async () => {
    const inputs = [...clips(9), testSignal(48000 * 4, 48000, 77), testSignal(30000, 48000, 78)];
    const batch = await emo.melChunksBatch(inputs, { threads: 2 });
    assert.equal(batch.length, inputs.length);
    inputs.forEach((input, i) => {
      const single = emo.melChunks(input);
      assert.deepEqual(batch[i].shape, [7, 128, 128]);
      assert.deepEqual(batch[i].data, single.data, `input ${i}`);
    });
  });

  it('applies the options to every clip', async () => {
    const inputs = clips(3);
    const options = { nMels: 64, topDb: 60 };
    const batch = await emo.melChunksBatch(inputs, { ...options, threads: 3 });
    inputs.forEach((input, i) => assert.deepEqual(batch[i].data, emo.melChunks(input, options).data));
    assert.deepEqual(batch[0].shape, [7, 64, 128]);
  });

  it('rejects with the first bad input, naming its index', async () => {
    const inputs = clips(4);
    inputs[2] = Buffer.from('not a wav file at all');
    await assert.rejects(emo.melChunksBatch(inputs), (error) => {
      assert.ok(error instanceof emo.EmoError);
      assert.equal(error.code, 'ERR_WAV_NOT_RIFF');
      assert.equal(error.index, 2);
      return true;
    });
  });

  it("returns errors in place with errors: 'return' and carries on", async () => {
    const inputs = clips(4);
    inputs[1] = Buffer.alloc(0);
    const results = await emo.melChunksBatch(inputs, { errors: 'return', threads: 2 });
    assert.ok(results[1] instanceof emo.EmoError);
    assert.equal(results[1].code, 'ERR_WAV_EMPTY');
    assert.equal(results[1].index, 1);
    for (const i of [0, 2, 3]) assert.deepEqual(results[i].data, emo.melChunks(inputs[i]).data);
  });

  it('resolves an empty batch to an empty array', async () => {
    assert.deepEqual(await emo.melChunksBatch([]), []);
  });

  it('does not block the event loop while it works', async () => {
    const inputs = Array(48).fill(clips(1)[0]);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 2);
    const started = process.hrtime.bigint();
    await emo.melChunksBatch(inputs, { threads: 1 });
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    clearInterval(timer);
    // A blocked loop would tick at most once; a free one ticks every few ms.
    assert.ok(ticks >= Math.min(5, elapsedMs / 10), `${ticks} ticks in ${elapsedMs.toFixed(0)} ms`);
  });

  it('keeps its inputs alive when the caller drops them', async () => {
    let inputs = clips(8);
    const expected = inputs.map((x) => emo.melChunks(x).data);
    const pending = emo.melChunksBatch(inputs, { threads: 2 });
    inputs = null;
    if (global.gc) global.gc();
    const results = await pending;
    results.forEach((r, i) => assert.deepEqual(r.data, expected[i]));
  });
});

describe('melChunksBatch in a long-running process', function () {
  this.timeout(120_000);
  const fs = require('node:fs');
  const os = require('node:os');
  const threadCount = () => fs.readdirSync('/proc/self/task').length;

  it('owns its inputs: transferring, rewriting and dropping them right after the call changes nothing (20 rounds)', async () => {
    const wavs = clips(6);
    const samples = [testSignal(48000 * 4, 48000, 91), testSignal(48000 * 3.5, 48000, 92)];
    const expected = [...wavs, ...samples].map((x) => emo.melChunks(x).data);
    for (let round = 0; round < 20; round++) {
      // Fresh copies that own their ArrayBuffers, so they can be transferred.
      let inputs = [...wavs.map((w) => new Uint8Array(w)), ...samples.map((x) => new Float32Array(x))];
      const pending = emo.melChunksBatch(inputs, { errors: 'return' });
      inputs.forEach((input, i) => {
        if (i % 2 === 0) structuredClone(input.buffer, { transfer: [input.buffer] }); // detaches it here
        else input.fill(0);
      });
      inputs.length = 0;
      inputs = null;
      global.gc();
      // Garbage in the freed memory, in case anything still read it.
      const junk = Array.from({ length: 8 }, () => new Uint8Array(1 << 20).fill(0x5a));
      const results = await pending;
      assert.equal(junk.length, 8);
      results.forEach((r, i) => {
        assert.ok(!(r instanceof Error), `round ${round}, input ${i}: ${r.message}`);
        assert.deepEqual(r.data, expected[i], `round ${round}, input ${i}`);
      });
    }
  });

  it('runs on its own pool: libuv stays free for fs while 8 batches of 64 clips run', async () => {
    const file = require('node:path').join(os.tmpdir(), `emo-batch-${process.pid}.txt`);
    fs.writeFileSync(file, 'small');
    try {
      const inputs = Array(64).fill(clips(1)[0]);
      await emo.melChunksBatch(inputs.slice(0, 4)); // the pool is started
      const started = process.hrtime.bigint();
      let done = false;
      // One clip at a time per call, as a server's small requests would run: on libuv's four
      // threads, eight such calls would hold them all and queue the file read behind four more.
      const batches = Promise.all(Array.from({ length: 8 }, () => emo.melChunksBatch(inputs, { threads: 1 }))).then((r) => {
        done = true;
        return r;
      });
      const reads = [];
      while (!done && reads.length < 20) {
        const t0 = process.hrtime.bigint();
        await fs.promises.readFile(file);
        reads.push(Number(process.hrtime.bigint() - t0) / 1e6);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await batches;
      const batchMs = Number(process.hrtime.bigint() - started) / 1e6;
      assert.ok(reads.length >= 2, `${reads.length} reads during ${batchMs.toFixed(0)} ms of batches`);
      const slowest = Math.max(...reads);
      assert.ok(slowest <= 0.1 * batchMs, `a 5-byte readFile took ${slowest.toFixed(1)} ms while the batches took ${batchMs.toFixed(0)} ms`);
    } finally {
      fs.rmSync(file, { force: true });
    }
  });

  it('keeps the resampler tables of many odd rates within a byte budget (64 clips, RSS growth <= 64 MB)', () => {
    // In a fresh process, so other tests' garbage does not blur the figure. Rates like 190 001 Hz
    // reduce to no common period with 48 kHz: each needs a table of up to ~18 MB of weights.
    const script = `
      const emo = require(${JSON.stringify(path.join(__dirname, '..'))});
      const { makeWav, testSignal } = require(${JSON.stringify(path.join(__dirname, 'helpers', 'wav'))});
      let after4 = 0;
      for (let i = 0; i < 64; i++) {
        const rate = 190001 + 16 * i;
        emo.melChunks(makeWav([testSignal(Math.round(rate * 1.2), rate, i)], { sampleRate: rate }));
        if (i === 3) { global.gc(); after4 = process.memoryUsage().rss; }
      }
      global.gc();
      process.stdout.write(String(process.memoryUsage().rss - after4));`;
    const r = require('node:child_process').spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const growth = Number(r.stdout);
    assert.ok(growth <= 64e6, `RSS grew ${(growth / 1e6).toFixed(0)} MB over 60 more odd-rate clips`);
  });

  it('turns a C++ exception in any entry point into a JS error (bad_alloc: ERR_OUT_OF_MEMORY), never an abort', () => {
    const { native } = require('../dist/native');
    assert.throws(() => native.__throwForTest('bad_alloc'), (e) => e instanceof emo.EmoError && e.code === 'ERR_OUT_OF_MEMORY');
    assert.throws(() => native.__throwForTest('runtime'), /emo-native internal error: a test failure/);
    assert.throws(() => native.__throwForTest('other'), /an unknown native exception/);
    assert.deepEqual(emo.melChunks(clips(1)[0]).shape, [7, 128, 128]); // and the process carries on
  });

  it('validates options against the native bounds themselves, so the native side never refuses what was accepted', () => {
    const { native } = require('../dist/native');
    const limits = native.configLimits();
    assert.deepEqual(limits.offset, [0, 2e9]);
    const x = testSignal(48000 * 4, 48000, 5);
    // 3000 s at 768 kHz is 2.3e9 samples: past the native offset bound, refused here naming the option.
    assert.throws(() => emo.melChunks(x, { sampleRate: 768000, offsetSeconds: 3000 }), (e) => e instanceof RangeError && /options\.offsetSeconds/.test(e.message));
    assert.throws(() => emo.melChunks(x, { sampleRate: 768000, durationSeconds: 3000 }), (e) => e instanceof RangeError && /options\.durationSeconds/.test(e.message));
  });

  it('gives scratch memory back after an unusually long clip', () => {
    // A script file, not \`node -e\`: an -e script's top-level bindings outlive the explicit nulls below.
    const file = path.join(os.tmpdir(), `emo-scratch-${process.pid}.js`);
    fs.writeFileSync(file, `
      const emo = require(${JSON.stringify(path.join(__dirname, '..'))});
      const x = new Float32Array(48000 * 10).map((_, i) => Math.sin(i / 7));
      emo.melChunks(x);
      global.gc();
      const before = process.memoryUsage().rss;
      let input = new Float32Array(48000 * 300).map((_, i) => Math.sin(i / 7));
      let out = emo.melChunks(input, { durationSeconds: 300, offsetSeconds: 0 });
      out = null;
      input = null;
      global.gc();
      global.gc();
      process.stdout.write(String(process.memoryUsage().rss - before));`);
    const r = require('node:child_process').spawnSync(process.execPath, ['--expose-gc', file], { encoding: 'utf8' });
    fs.rmSync(file, { force: true });
    assert.equal(r.status, 0, r.stderr);
    // A 300-s clip needs 86 MB of scratch (57 MB clip, 29 MB spectrogram); kept, RSS would stay that much higher.
    assert.ok(Number(r.stdout) < 40e6, `RSS ${(Number(r.stdout) / 1e6).toFixed(0)} MB higher after the long clip`);
  });

  it('starts no threads per call: pending calls queue on the one pool', async () => {
    const inputs = Array(6).fill(clips(1)[0]);
    await emo.melChunksBatch(inputs);
    const before = threadCount();
    let most = before;
    const timer = setInterval(() => (most = Math.max(most, threadCount())), 1);
    await Promise.all(Array.from({ length: 32 }, () => emo.melChunksBatch(inputs, { threads: 2 })));
    clearInterval(timer);
    assert.ok(most <= before + 1, `threads went from ${before} to ${most} with 32 calls pending`);
    assert.equal(emo.getThreads(), Math.max(1, os.availableParallelism()));
    assert.equal(emo.setThreads(emo.getThreads()), emo.getThreads()); // the same size is fine
    assert.throws(() => emo.setThreads(emo.getThreads() + 1), /already started/);
    assert.throws(() => emo.setThreads(0), RangeError);
  });
});

describe('priority: the computation yields to the event loop', () => {
  it('setThreadNiceness lowers the pool threads only; a session worker and its onnxruntime threads run at nice 10', function () {
    this.timeout(60_000);
    if (process.platform !== 'linux') skipBecause(this, 'nice values per thread are a Linux feature');
    // In a process of its own: a nice value, once raised, stays for the process's life.
    const script = `
      const fs = require('node:fs');
      const emo = require(${JSON.stringify(path.join(__dirname, '..'))});
      const wav = fs.readFileSync(0); // stdin
      const nice = () => fs.readdirSync('/proc/self/task').map((tid) => {
        const stat = fs.readFileSync('/proc/self/task/' + tid + '/stat', 'utf8');
        return { tid: Number(tid), nice: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]) };
      });
      (async () => {
        await emo.melChunksBatch([wav, wav]);
        const before = nice();
        const applied = emo.setThreadNiceness(7);
        await emo.melChunksBatch(Array(8).fill(wav));
        const pool = nice();
        const classifier = await emo.loadClassifier(undefined, { worker: true, threads: 2 });
        await classifier.classify(wav);
        const withWorker = nice();
        await classifier.close();
        console.log(JSON.stringify({ pid: process.pid, applied, threads: emo.getThreads(), before, pool, withWorker }));
      })();
    `;
    const r = require('node:child_process').spawnSync(process.execPath, ['-e', script], { input: clips(1)[0], encoding: 'utf8' });
    assert.equal(r.status, 0, `${r.signal ?? ''} ${r.error ?? ''} ${r.stderr}`);
    const { pid, applied, threads, before, pool, withWorker } = JSON.parse(r.stdout);
    assert.equal(applied, true);
    assert.ok(before.every((t) => t.nice === 0), JSON.stringify(before));
    const count = (list, value) => list.filter((t) => t.nice === value).length;
    assert.equal(count(pool, 7), threads, 'every pool thread, and nothing else');
    assert.equal(pool.find((t) => t.tid === pid).nice, 0, 'the main thread keeps its priority');
    assert.ok(count(withWorker, 10) >= 2, `the session's thread and its onnxruntime threads: ${JSON.stringify(withWorker)}`);
    assert.equal(withWorker.find((t) => t.tid === pid).nice, 0);
  });

  it('checks its argument', () => {
    assert.throws(() => emo.setThreadNiceness(-1), RangeError);
    assert.throws(() => emo.setThreadNiceness(20), RangeError);
    assert.throws(() => emo.setThreadNiceness(2.5), RangeError);
    assert.throws(() => emo.setThreadNiceness('5'), TypeError);
  });
});

describe('worker_threads', () => {
  it('loads the addon in several workers at once and computes the same features', async () => {
    const wav = clips(1)[0];
    const expected = emo.melChunks(wav).data;
    const script = `
      const { parentPort, workerData } = require('node:worker_threads');
      const emo = require(workerData.root);
      (async () => {
        const single = emo.melChunks(workerData.wav);
        const [batch] = await emo.melChunksBatch([workerData.wav], { threads: 2 });
        let error;
        try { emo.decodeWav(Buffer.alloc(0)); } catch (e) { error = { isEmoError: e instanceof emo.EmoError, code: e.code }; }
        parentPort.postMessage({ single: single.data, batch: batch.data, error });
      })();`;
    const run = () =>
      new Promise((resolve, reject) => {
        const worker = new Worker(script, { eval: true, workerData: { root: path.join(__dirname, '..'), wav } });
        worker.once('message', resolve);
        worker.once('error', reject);
      });
    const results = await Promise.all([run(), run(), run()]);
    for (const r of results) {
      assert.deepEqual(r.single, expected);
      assert.deepEqual(r.batch, expected);
      assert.deepEqual(r.error, { isEmoError: true, code: 'ERR_WAV_EMPTY' });
    }
  });

  it('a worker terminated with batches in flight leaves the process running (60 times, at random moments)', function () {
    this.timeout(120000);
    // In a process of its own, so that an abort fails this test instead of ending the run. Each
    // worker computes batches without a pause; the main thread terminates it 5-45 ms after it
    // started, mid-batch: the pool then finishes clips for an environment that is gone, and calls
    // into it are refused while it goes (once, a queue worker's forced close aborted the process).
    const script = `
      const { Worker } = require('node:worker_threads');
      (async () => {
        for (let k = 0; k < 60; k++) {
          const worker = new Worker(\`
            const { workerData, parentPort } = require('node:worker_threads');
            const emo = require(workerData.root);
            const clip = new Float32Array(48000 * 3).map((_, i) => 0.3 * Math.sin(i / 7));
            parentPort.postMessage('started');
            (async () => { for (;;) await emo.melChunksBatch(Array.from({ length: 8 }, () => clip), { threads: 2 }); })();
          \`, { eval: true, workerData: { root: ${JSON.stringify(path.join(__dirname, '..'))} } });
          await new Promise((resolve) => worker.once('message', resolve));
          await new Promise((resolve) => setTimeout(resolve, 5 + 40 * Math.random()));
          await worker.terminate();
        }
        console.log('still running');
      })();`;
    const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 110000 });
    assert.equal(child.signal, null, child.stderr);
    assert.equal(child.status, 0, child.stderr);
    assert.equal(child.stdout.trim(), 'still running');
  });
});
