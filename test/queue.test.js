'use strict';
// Scale-out: emo classify --redis and emo worker on a real redis-server (Debian package
// redis-server; scripts/setup.sh installs it). Each test run starts its own server on a free
// loopback port, keeps nothing on disk, and stops it at the end.
const assert = require('node:assert/strict');
const { skipBecause } = require('./helpers/skips');
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const tf = require('@tensorflow/tfjs-core');
require('../dist/nn'); // registers the emo-native tfjs backend
const { makeWav } = require('./helpers/wav');
const { sharpenedOnnxModel, voice } = require('./helpers/model');

const root = path.join(__dirname, '..');
const cli = path.join(root, 'dist', 'cli', 'main.js');
const FILES = 150;

const redisServer = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).stdout.trim();

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Resolves when `check()` is true; fails after `seconds`. */
async function until(check, seconds, what) {
  const deadline = Date.now() + seconds * 1000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A redis-server of our own: loopback only, nothing written to disk. */
async function startRedis() {
  const port = await freePort();
  const child = spawn(redisServer, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  await until(() => /Ready to accept connections/.test(log) || child.exitCode !== null, 20, 'redis-server');
  assert.equal(child.exitCode, null, `redis-server did not start: ${log}`);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: () => new Promise((resolve) => (child.exitCode !== null ? resolve() : (child.once('exit', resolve), child.kill('SIGKILL')))),
  };
}

/** Runs `emo …` in the background, collecting stderr; `exited` resolves with the exit code (or signal). */
function emo(args, options = {}) {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  const proc = { child, stdout: '', stderr: '' };
  child.stdout.on('data', (d) => (proc.stdout += d));
  child.stderr.on('data', (d) => (proc.stderr += d));
  proc.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
  return proc;
}

const jsonl = (file) => fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const byFile = (rows) => [...rows].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));

describe('scale-out: emo classify --redis and emo worker', function () {
  this.timeout(300_000);
  let tmp;
  let model;
  let corpus;
  let redis;
  let reference;
  const workers = [];
  let queueNumber = 0;
  const queueName = () => `test-${process.pid}-${++queueNumber}`;
  const worker = (url, queue, extra = [], options = {}) => {
    const w = emo(['worker', '--redis', url, '--queue', queue, '--model', model, '--stalled-after', '2', ...extra], options);
    workers.push(w);
    return w;
  };

  before(async function () {
    if (!redisServer) {
      return skipBecause(this, 'redis-server is not installed (apt-get install redis-server, as scripts/setup.sh does)');
    }
    assert.ok(await tf.setBackend('emo-native'));
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'emo-queue-'));
    model = path.join(tmp, 'model.onnx');
    fs.writeFileSync(model, await sharpenedOnnxModel(3));
    // Several jobs' worth of clips in nested folders, a long recording (windows) and a broken file.
    corpus = path.join(tmp, 'corpus');
    const voices = Array.from({ length: 12 }, (_, i) => makeWav([voice(3.2, 16000, 200 + i)], { sampleRate: 16000 }));
    for (let i = 0; i < FILES; i++) {
      const dir = path.join(corpus, `part${i % 3}`);
      fs.mkdirSync(dir, { recursive: true });
      // Distinct bytes per file (a different last sample), so no two rows could be swapped unnoticed.
      const bytes = Buffer.from(voices[i % voices.length]);
      bytes.writeInt16LE(i, bytes.length - 2);
      fs.writeFileSync(path.join(dir, `clip${String(i).padStart(3, '0')}.wav`), bytes);
    }
    fs.writeFileSync(path.join(corpus, 'long.wav'), makeWav([voice(8, 16000, 7)], { sampleRate: 16000 }));
    fs.writeFileSync(path.join(corpus, 'broken.wav'), 'not a recording\n');
    // What emo classify writes on one machine: the rows every other mode must equal.
    reference = path.join(tmp, 'local.jsonl');
    const local = spawnSync(process.execPath, [cli, 'classify', corpus, '--model', model, '--out', reference], { encoding: 'utf8' });
    assert.equal(local.status, 1, local.stderr); // the broken file
    assert.equal(jsonl(reference).length, FILES + 2);
    redis = await startRedis();
  });

  afterEach(async () => {
    for (const w of workers.splice(0)) {
      if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
      await w.exited;
    }
  });

  after(async () => {
    await redis?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('two workers classify a folder, one is killed mid-job: every file once, the rows of local mode', async () => {
    const { QueueEvents } = require('bullmq');
    const queue = queueName();
    const events = new QueueEvents(queue, { connection: { url: redis.url } });
    const stalled = [];
    events.on('stalled', ({ jobId }) => stalled.push(jobId));
    await events.waitUntilReady();
    try {
      const a = worker(redis.url, queue);
      const b = worker(redis.url, queue, ['--metrics-port', '0']);
      await until(() => /taking jobs/.test(a.stderr) && /metrics at/.test(b.stderr), 60, 'the workers to start');
      const metricsUrl = /metrics at (\S+)/.exec(b.stderr)[1];
      const out = path.join(tmp, 'two-workers.jsonl');
      const producer = emo(['classify', corpus, '--redis', redis.url, '--queue', queue, '--out', out]);
      // The worker reports a job when it starts it: killed then, the job is surely unfinished (killing
      // at its end could land after the rows were handed back, and nothing would need recovering).
      await until(() => /job emo-\S+: started/.test(a.stderr) || producer.child.exitCode !== null, 120, 'worker A to start a job');
      a.child.kill('SIGKILL');
      assert.equal(await a.exited, 'SIGKILL');
      const code = await producer.exited;
      assert.equal(code, 1, producer.stderr); // the broken file, as in local mode
      assert.match(producer.stderr, new RegExp(`${FILES + 2} files: ${FILES + 1} classified, 1 failed`));
      const rows = jsonl(out);
      assert.equal(rows.length, FILES + 2);
      assert.equal(new Set(rows.map((r) => r.file)).size, FILES + 2, 'every file exactly once');
      assert.deepEqual(byFile(rows), byFile(jsonl(reference)));
      assert.ok(rows.find((r) => r.file.endsWith('long.wav')).segments.length > 1, 'the long file has its windows');
      assert.equal(rows.find((r) => r.file.endsWith('broken.wav')).error.code, 'ERR_WAV_NOT_RIFF');
      // The killed worker's job went back to the queue and was done by the other.
      assert.ok(stalled.length >= 1, 'a job was recovered from the killed worker');
      assert.match(b.stderr, /job emo-\S+: \d+ files/);
      // The survivor's metrics: its jobs, the retried one among them, its files, the model.
      const text = await (await fetch(metricsUrl)).text();
      const value = (series) => Number((text.split('\n').find((l) => l.startsWith(`${series} `)) ?? ' 0').split(' ').pop());
      const jobsDone = (b.stderr.match(/job emo-\S+: \d+ files/g) ?? []).length;
      assert.equal(value('emo_worker_jobs_total{kind="classify",outcome="done"}'), jobsDone);
      assert.ok(value('emo_worker_jobs_retried_total{kind="classify"}') >= 1, text);
      const filesDone = (b.stderr.match(/: (\d+) files/g) ?? []).map((m) => Number(/(\d+)/.exec(m)[1])).reduce((x, y) => x + y, 0);
      assert.equal(value('emo_worker_files_total{outcome="classified"}') + value('emo_worker_files_total{outcome="failed"}'), filesDone);
      assert.ok(value('emo_worker_job_seconds_count{kind="classify"}') >= jobsDone);
      assert.match(text, /^emo_worker_model_info\{model="model\.onnx",emo_version="[^"]+",provider="cpu",adapts="false"\} 1$/m);
      assert.match(text, /^process_resident_memory_bytes \d+$/m);
      // SIGTERM: the survivor finishes what it has and exits 0.
      b.child.kill('SIGTERM');
      assert.equal(await b.exited, 0, b.stderr);
      assert.match(b.stderr, /stopped/);
    } finally {
      await events.close();
    }
  });

  it('csv through the queue is the csv of local mode, row for row', async () => {
    const queue = queueName();
    worker(redis.url, queue, ['--concurrency', '2']);
    const out = path.join(tmp, 'queue.csv');
    const local = path.join(tmp, 'local.csv');
    const l = spawnSync(process.execPath, [cli, 'classify', path.join(corpus, 'part1'), path.join(corpus, 'long.wav'), '--model', model, '--out', local], { encoding: 'utf8' });
    assert.equal(l.status, 0, l.stderr);
    const q = emo(['classify', path.join(corpus, 'part1'), path.join(corpus, 'long.wav'), '--redis', redis.url, '--queue', queue, '--out', out]);
    assert.equal(await q.exited, 0, q.stderr);
    const lines = (file) => fs.readFileSync(file, 'utf8').trim().split('\n');
    const [header, ...rows] = lines(out);
    const [localHeader, ...localRows] = lines(local);
    assert.equal(header, localHeader);
    assert.deepEqual(rows.sort(), localRows.sort());
  });

  it('a re-submission adds no jobs, and --resume completes what a killed run left', async () => {
    const queue = queueName();
    const { Queue } = require('bullmq');
    const q = new Queue(queue, { connection: { url: redis.url } });
    try {
      const out = path.join(tmp, 'resumed.jsonl');
      // No worker yet: the first submission queues every job, and is killed while it waits.
      const first = emo(['classify', corpus, '--redis', redis.url, '--queue', queue, '--out', out]);
      await until(async () => (await q.getJobCounts('wait')).wait >= 3, 60, 'jobs in the queue');
      await new Promise((r) => setTimeout(r, 500));
      first.child.kill('SIGKILL');
      await first.exited;
      const queued = (await q.getJobCounts('wait')).wait;
      const again = emo(['classify', corpus, '--redis', redis.url, '--queue', queue, '--out', out, '--resume']);
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal((await q.getJobCounts('wait')).wait, queued, 'the same jobs, not new ones');
      worker(redis.url, queue);
      assert.equal(await again.exited, 1, again.stderr); // the broken file
      const rows = jsonl(out);
      assert.equal(new Set(rows.map((r) => r.file)).size, rows.length, 'every file once');
      assert.deepEqual(byFile(rows), byFile(jsonl(reference)));
      // Collected jobs are removed: nothing is left in Redis for this queue's files.
      const counts = await q.getJobCounts('wait', 'active', 'completed', 'failed');
      assert.deepEqual(counts, { wait: 0, active: 0, completed: 0, failed: 0 });
    } finally {
      await q.close();
    }
  });

  it('--ship-audio carries the bytes in the job (FLAC included), and says when a file is too large to ship', async () => {
    const queue = queueName();
    const shipped = path.join(tmp, 'shipped');
    fs.mkdirSync(shipped);
    const source = path.join(tmp, 'for-flac.wav');
    fs.copyFileSync(path.join(corpus, 'part0', 'clip000.wav'), source);
    const sox = spawnSync('sox', [source, path.join(shipped, 'speech.flac')]);
    assert.equal(sox.status, 0, `sox: ${sox.stderr}`);
    fs.copyFileSync(path.join(corpus, 'part0', 'clip003.wav'), path.join(shipped, 'clip.wav'));
    // 17 MiB of valid WAV: over the 16 MiB a shipped file may have.
    fs.writeFileSync(path.join(shipped, 'huge.wav'), makeWav([new Float32Array(8.5 * 2 ** 20).fill(0.1)], { sampleRate: 48000 }));
    const out = path.join(tmp, 'shipped.jsonl');
    const { Queue } = require('bullmq');
    const q = new Queue(queue, { connection: { url: redis.url } });
    const run = emo(['classify', shipped, '--redis', redis.url, '--queue', queue, '--ship-audio', '--out', out]);
    try {
      await until(async () => (await q.getJobCounts('wait')).wait === 1, 60, 'the job in the queue');
    } finally {
      await q.close();
    }
    // The files are gone before any worker starts, and the worker runs elsewhere: it has only the job's bytes.
    fs.renameSync(shipped, `${shipped}-moved`);
    worker(redis.url, queue, [], { cwd: os.tmpdir() });
    assert.equal(await run.exited, 1, run.stderr);
    const rows = Object.fromEntries(jsonl(out).map((r) => [path.basename(r.file), r]));
    assert.equal(rows['huge.wav'].error.code, 'ERR_AUDIO_TOO_LARGE');
    assert.match(rows['huge.wav'].error.message, /17\.0 MiB is more than the 16\.0 MiB .*--ship-audio/);
    const local = Object.fromEntries(jsonl(reference).map((r) => [path.basename(r.file), r]));
    assert.deepEqual(rows['clip.wav'].probabilities, local['clip003.wav'].probabilities);
    assert.deepEqual(rows['speech.flac'].probabilities, local['clip000.wav'].probabilities); // decoded by ffmpeg on the worker
  });

  it('--adapt folder: statistics jobs learn each folder, merged here, then its jobs classify with them, as local mode does', async () => {
    const adaptive = path.join(tmp, 'adaptive.onnx');
    fs.writeFileSync(adaptive, await sharpenedOnnxModel(3, { mean: Array(128).fill(-55), std: Array(128).fill(11), adapt: 'speaker' }));
    const queue = queueName();
    const out = path.join(tmp, 'adapted.jsonl');
    const local = path.join(tmp, 'adapted-local.jsonl');
    const here = spawnSync(process.execPath, [cli, 'classify', corpus, '--model', adaptive, '--adapt', 'folder', '--out', local], { encoding: 'utf8' });
    assert.equal(here.status, 1, here.stderr);
    const run = emo(['classify', corpus, '--redis', redis.url, '--queue', queue, '--adapt', 'folder', '--out', out]);
    worker(redis.url, queue, ['--model', adaptive]);
    worker(redis.url, queue, ['--model', adaptive]);
    assert.equal(await run.exited, 1, run.stderr); // the broken file
    const rows = byFile(jsonl(out));
    const expected = byFile(jsonl(local));
    assert.deepEqual(rows.map((r) => r.file), expected.map((r) => r.file));
    for (const [i, row] of rows.entries()) {
      if (expected[i].error) {
        assert.equal(row.error.code, expected[i].error.code);
        continue;
      }
      assert.deepEqual(row.adaptation.applied, expected[i].adaptation.applied, row.file);
      // The statistics of a folder read by several jobs, merged: equal to one pass up to rounding.
      assert.ok(Math.abs(row.adaptation.speechSeconds - expected[i].adaptation.speechSeconds) < 1e-6, row.file);
      for (const label of Object.keys(row.probabilities)) assert.ok(Math.abs(row.probabilities[label] - expected[i].probabilities[label]) < 1e-5, `${row.file} ${label}`);
    }
    // Rows that differ from no adaptation: the statistics were used.
    assert.ok(rows.some((r, i) => r.probabilities && jsonl(reference).find((x) => x.file === r.file).probabilities.calm !== r.probabilities.calm));
  });

  it('--adapt folder with workers whose model does not adapt: every file says so', async () => {
    const queue = queueName();
    const out = path.join(tmp, 'not-adaptive.jsonl');
    const run = emo(['classify', path.join(corpus, 'part0'), '--redis', redis.url, '--queue', queue, '--adapt', 'folder', '--out', out]);
    worker(redis.url, queue);
    assert.equal(await run.exited, 1);
    const rows = jsonl(out);
    assert.ok(rows.length > 0 && rows.every((r) => r.error && /ERR_ADAPTATION_UNSUPPORTED/.test(r.error.message)), JSON.stringify(rows[0]));
  });

  it('emo crossval --redis: folds trained by two workers, one killed mid-fold; the run folders and the summary of a local run', async () => {
    // A tiny RAVDESS-layout corpus: 4 actors x 8 emotions, each emotion its own level and tone.
    const cvCorpus = path.join(tmp, 'cv-corpus');
    let seed = 1;
    for (const actor of [1, 2, 3, 4])
      for (let e = 1; e <= 8; e++) {
        const file = path.join(cvCorpus, `Actor_0${actor}`, `03-01-0${e}-01-01-01-0${actor}.wav`);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        const x = voice(3.6, 16000, 500 + seed++);
        for (let i = 0; i < x.length; i++) x[i] = 0.5 * e * x[i] / 8 + 0.2 * Math.sin((2 * Math.PI * 150 * e * i) / 16000);
        fs.writeFileSync(file, makeWav([x], { sampleRate: 16000 }));
      }
    const recipe = ['--folds', '2', '--val-actors', '1', '--epochs', '3', '--batch', '8', '--no-warp', '--no-masking'];
    const localOut = path.join(tmp, 'cv-local');
    const local = spawnSync(process.execPath, [cli, 'crossval', cvCorpus, ...recipe, '--out', localOut], { encoding: 'utf8' });
    assert.equal(local.status, 0, local.stderr);

    const queue = queueName();
    const workDir = path.join(tmp, 'shared-work');
    const out = path.join(tmp, 'cv-queued');
    // Training runs on a thread of its own, so even a short lock is renewed in time on a busy machine.
    const a = worker(redis.url, queue, ['--work-dir', workDir, '--stalled-after', '5']);
    const b = worker(redis.url, queue, ['--work-dir', workDir, '--stalled-after', '5']);
    await until(() => /taking jobs/.test(a.stderr) && /taking jobs/.test(b.stderr), 60, 'the workers to start');
    const submit = emo(['crossval', cvCorpus, ...recipe, '--out', out, '--redis', redis.url, '--queue', queue]);
    // Killed after its fold's first epoch is checkpointed: the next worker resumes from there.
    await until(() => /job fold-\S+: started/.test(a.stderr) && fs.existsSync(workDir) && fs.readdirSync(workDir).some((d) => fs.existsSync(path.join(workDir, d, 'checkpoint', 'state.json'))), 180, 'a fold checkpoint');
    a.child.kill('SIGKILL');
    assert.equal(await submit.exited, 0, submit.stderr);
    // Every fold's epochs print here as the workers finish them (the killed worker's last ones may not have come through).
    assert.match(submit.stdout, /\[fold 1\/2\] epoch {3}3/);
    assert.match(submit.stdout, /\[fold 2\/2\] epoch {3}3/);
    assert.match(submit.stdout, /overall: 2\/2 folds done/);
    const summary = JSON.parse(fs.readFileSync(path.join(out, 'crossval.json'), 'utf8'));
    const reference = JSON.parse(fs.readFileSync(path.join(localOut, 'crossval.json'), 'utf8'));
    assert.deepEqual(summary.folds.map((f) => [f.plan, f.bestEpoch, f.epochs, f.test, f.val]), reference.folds.map((f) => [f.plan, f.bestEpoch, f.epochs, f.test, f.val]));
    assert.deepEqual([summary.uar, summary.confusion], [reference.uar, reference.confusion]);
    for (const fold of [1, 2]) {
      const dir = path.join(out, `fold-${fold}`);
      for (const file of ['fold.json', 'metrics.json', 'run.json', 'normalization.json', 'best/model.json', 'best/weights.bin', 'confusion.png', 'curves.png']) assert.ok(fs.existsSync(path.join(dir, file)), `${dir}/${file}`);
      assert.ok(!fs.existsSync(path.join(dir, 'checkpoint')) && !fs.existsSync(path.join(dir, 'features.cache')));
    }
    // The killed worker's fold was taken over by the other; the work folders are cleaned up.
    assert.match(b.stderr, /job fold-\S+: fold trained/);
    assert.deepEqual(fs.readdirSync(workDir), []);

    // emo train --redis: one run as one job, the run of a local emo train.
    const trainArgs = ['--split', 'actors:4/3', '--epochs', '2', '--batch', '8', '--no-warp', '--no-masking'];
    const here = spawnSync(process.execPath, [cli, 'train', cvCorpus, ...trainArgs, '--out', path.join(tmp, 'train-local')], { encoding: 'utf8' });
    assert.equal(here.status, 0, here.stderr);
    const queued = emo(['train', cvCorpus, ...trainArgs, '--out', path.join(tmp, 'train-queued'), '--redis', redis.url, '--queue', queue]);
    assert.equal(await queued.exited, 0, queued.stderr);
    assert.match(queued.stdout, /queued: test actors 4, validation 3, training 1,2/);
    const metricsOf = (dir) => JSON.parse(fs.readFileSync(path.join(tmp, dir, 'metrics.json'), 'utf8')).metrics;
    assert.deepEqual(metricsOf('train-queued').test, metricsOf('train-local').test);
    assert.ok(fs.existsSync(path.join(tmp, 'train-queued', 'best', 'model.json')) && fs.existsSync(path.join(tmp, 'train-queued', 'curves.png')));
  });

  it('Redis unreachable: a clear error at start (exit 1, output untouched); gone mid-run: exit 1 after --redis-wait', async () => {
    const port = await freePort();
    const out = path.join(tmp, 'never.jsonl');
    const c = emo(['classify', corpus, '--redis', `redis://127.0.0.1:${port}`, '--out', out]);
    assert.equal(await c.exited, 1);
    assert.match(c.stderr, new RegExp(`^emo: cannot reach Redis at redis://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`));
    assert.doesNotMatch(c.stderr, /\n\s+at /);
    assert.equal(fs.existsSync(out), false);
    const w = emo(['worker', '--redis', `redis://127.0.0.1:${port}`, '--model', model]);
    assert.equal(await w.exited, 1);
    assert.match(w.stderr, /cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    const bad = emo(['classify', corpus, '--redis', 'localhost:6379']);
    assert.equal(await bad.exited, 2);
    assert.match(bad.stderr, /--redis must be a URL like redis:\/\/host:6379/);

    // A Redis of its own that dies while the producer waits for results (no workers).
    const doomed = await startRedis();
    const run = emo(['classify', corpus, '--redis', doomed.url, '--redis-wait', '2', '--out', path.join(tmp, 'cut.jsonl')]);
    await until(() => run.child.exitCode !== null || fs.existsSync(path.join(tmp, 'cut.jsonl')), 60, 'the producer to start');
    await new Promise((r) => setTimeout(r, 500));
    await doomed.stop();
    assert.equal(await run.exited, 1, run.stderr);
    assert.match(run.stderr, /cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+ \(no answer for \d+ s during the run\)/);
  });
});
