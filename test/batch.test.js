'use strict';
const assert = require('node:assert/strict');
const { Worker } = require('node:worker_threads');
const path = require('node:path');
const emo = require('..');
const { makeWav, testSignal } = require('./helpers/wav');

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
});
