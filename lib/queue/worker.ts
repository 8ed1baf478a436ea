/**
 * The queue's worker: takes classification jobs from a BullMQ queue on Redis and classifies their
 * files with one loaded model, the clips of a job batched through `classifyBatch` (long files
 * through `timeline`), the same rows as `emo classify` on one machine.
 *
 * @packageDocumentation
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { EmoError } from '../errors';
import { loadClassifier, type Classifier, type Provider } from '../infer/classifier';
import { classifyRecordings, loadRecordings } from '../infer/recordings';
import { bullConnection, checkRedis, checkRedisUrl, DEFAULT_QUEUE, DEFAULT_REDIS_WAIT_SECONDS, RedisWatch } from './connection';
import { isClassifyJobData, isStatisticsJobData, type ClassifyJobResult, type JobFile, type StatisticsJobResult } from './jobs';
import type { FoldJobResult } from './folds';
import { WorkerMetrics } from './metrics';

/** Options of {@link startClassifyWorker}. */
export interface ClassifyWorkerOptions {
  /** Queue name (default `'emo-classify'`); producers and workers must agree. */
  queue?: string;
  /** Jobs this worker runs at once (default 1); they share the model. */
  concurrency?: number;
  /** The `.onnx` model (path or bytes; default: the bundled model). */
  model?: string | Uint8Array;
  /** Execution provider (default `'cpu'`). */
  provider?: Provider;
  /** onnxruntime threads per run (default: one per core). */
  threads?: number;
  /** Clips per pipeline step (default 32). */
  batchSize?: number;
  /**
   * Seconds after which a job whose worker stopped answering (killed, frozen, cut off) goes back
   * to the queue for another worker: the job lock's duration and the interval of stall checks
   * (default 30). The lock is renewed at half this time while a job runs.
   */
  stalledAfterSeconds?: number;
  /** Seconds to keep trying when Redis goes away before {@link ClassifyWorker.done} rejects (default 60). */
  redisWaitSeconds?: number;
  /**
   * Serve Prometheus metrics (`GET /metrics`: jobs done, failed and retried, files, job time, the
   * process) on this port (0: a free one; see {@link ClassifyWorker.metricsUrl}). Default: none.
   */
  metricsPort?: number;
  /** Interface of the metrics port (default `'127.0.0.1'`; `'0.0.0.0'` for a Prometheus elsewhere). */
  metricsHost?: string;
  /**
   * Where fold jobs (`emo crossval --redis`) train, a folder per fold (default: `emo-folds` in the
   * system's temporary folder). On a mount the workers share, a fold whose worker dies resumes
   * from its last epoch on the next worker.
   */
  workDir?: string;
  /** Called when a job starts (for logs). */
  onJobStart?: (report: { id: string; files: number }) => void;
  /** Called after each job (for logs). */
  onJob?: (report: { id: string; files: number; failed: number; seconds: number }) => void;
}

/** A running worker. */
export interface ClassifyWorker {
  /** The model's labels. */
  readonly labels: readonly string[];
  /** `http://host:port/metrics` when `metricsPort` was given, else null. */
  readonly metricsUrl: string | null;
  /**
   * Stops taking jobs. Graceful (default): the jobs in progress finish and their results are
   * stored. `force`: they are abandoned at once (a fold's training thread is stopped), and go
   * back to the queue for another worker once their lock expires (`stalledAfterSeconds`).
   */
  close(force?: boolean): Promise<void>;
  /** Settles when the worker has closed: resolves after `close()`, rejects with `ERR_QUEUE_UNAVAILABLE` when Redis stayed away too long. */
  readonly done: Promise<void>;
}

/** How many times a job may lose its worker (a crash) before it fails for good, so a file that kills workers cannot loop. */
const MAX_STALLED = 2;

/**
 * Connects to Redis, loads the model and starts taking jobs.
 *
 * @param url - `redis://host:port` (or `rediss://`), optionally with a password and db number.
 * @throws {@link EmoError} `ERR_QUEUE_UNAVAILABLE` when Redis cannot be reached; the errors of
 *   {@link loadClassifier}; RangeError for a bad URL or option.
 * @example
 * const worker = await startClassifyWorker('redis://queue-host:6379', { model: 'model.onnx', concurrency: 2 });
 * process.once('SIGTERM', () => worker.close());
 * await worker.done;
 */
export async function startClassifyWorker(url: string, options: ClassifyWorkerOptions = {}): Promise<ClassifyWorker> {
  checkRedisUrl(url);
  const concurrency = options.concurrency ?? 1;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1 || concurrency > 256) throw new RangeError(`options.concurrency must be an integer from 1 to 256, not ${concurrency}`);
  const stalledMs = Math.round(1000 * (options.stalledAfterSeconds ?? 30));
  if (!(stalledMs >= 500 && stalledMs <= 86_400_000)) throw new RangeError(`options.stalledAfterSeconds must be from 0.5 to 86400, not ${options.stalledAfterSeconds}`);
  await checkRedis(url);
  const clf: Classifier = await loadClassifier(options.model, { provider: options.provider ?? 'cpu', ...(options.threads === undefined ? {} : { threads: options.threads }), ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }) });
  const labels = [...clf.labels];
  const decoders = Math.max(2, os.availableParallelism());

  const sourcesOf = (files: JobFile[]) => files.map((f) => ({ file: f.file, path: f.path, ...(f.audio === undefined ? {} : { bytes: Buffer.from(f.audio, 'base64') }) }));
  // A folder's statistics, learnt from some of its files (the producer merges the parts); nothing when the model does not adapt.
  const statisticsJob = async (job: Job): Promise<StatisticsJobResult> => {
    if (!isStatisticsJobData(job.data)) throw new UnrecoverableError('not an emo statistics job (unknown data format)');
    if (!clf.adapts) return { adapts: false };
    const adapter = clf.createAdapter();
    const loaded = await loadRecordings(sourcesOf(job.data.files), decoders);
    await adapter.update(loaded.filter((l): l is Uint8Array => l instanceof Uint8Array));
    return { adapts: true, statistics: adapter.toJSON() };
  };

  const metrics = options.metricsPort === undefined ? null : new WorkerMetrics({ name: typeof options.model === 'string' ? path.basename(options.model) : options.model === undefined ? 'bundled' : 'bytes', version: clf.metadata.version, provider: clf.provider, adapts: clf.adapts });
  const metricsServer = metrics === null ? null : await metrics.listen(options.metricsPort as number, options.metricsHost ?? '127.0.0.1');

  // Every job through here: its metrics, whatever its kind and outcome.
  const workDir = path.resolve(options.workDir ?? path.join(os.tmpdir(), 'emo-folds'));
  // Aborted by a forced close: the folds' training threads stop, their jobs left to the stall check.
  const stopFolds = new AbortController();
  const runJob = async (job: Job): Promise<ClassifyJobResult | StatisticsJobResult | FoldJobResult> => {
    const kind = job.name === 'statistics' || job.name === 'fold' ? job.name : 'classify';
    const started = process.hrtime.bigint();
    metrics?.started(kind, (job.attemptsStarted ?? 0) > 1 || (job.stalledCounter ?? 0) > 0);
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    try {
      // Training code loads only when a fold comes (a classifying worker never pays for it).
      const result = kind === 'fold' ? await foldJob(job) : kind === 'statistics' ? await statisticsJob(job) : await classifyJob(job);
      const rows = (result as ClassifyJobResult).rows;
      metrics?.finished(kind, 'done', seconds(), rows === undefined ? undefined : { classified: rows.filter((r) => !r.error).length, failed: rows.filter((r) => r.error).length });
      return result;
    } catch (error) {
      metrics?.finished(kind, 'failed', seconds());
      throw error;
    }
  };

  const foldJob = async (job: Job): Promise<FoldJobResult> => {
    options.onJobStart?.({ id: job.id ?? '', files: 0 });
    const started = Date.now();
    const { runFoldJob } = await import('./folds');
    const result = await runFoldJob(job, workDir, stopFolds.signal);
    options.onJob?.({ id: job.id ?? '', files: 0, failed: 0, seconds: (Date.now() - started) / 1000 });
    return result;
  };

  const classifyJob = async (job: Job): Promise<ClassifyJobResult> => {
    if (!isClassifyJobData(job.data)) throw new UnrecoverableError('not an emo classify job (unknown data format)');
    const started = Date.now();
    const data = job.data;
    options.onJobStart?.({ id: job.id ?? '', files: data.files.length });
    const sources = sourcesOf(data.files);
    let adapter;
    if (data.options.adapt === 'folder') {
      if (!clf.adapts) throw new UnrecoverableError('the job asks for folder adaptation, and this worker\'s model was trained without it');
      adapter = clf.loadAdapter(data.statistics, data.options.minSpeechSeconds === undefined ? {} : { minSpeechSeconds: data.options.minSpeechSeconds });
    }
    const rows = await classifyRecordings(clf, sources, { ...data.options, parallel: decoders, ...(adapter === undefined ? {} : { adapter }) });
    options.onJob?.({ id: job.id ?? '', files: rows.length, failed: rows.filter((r) => r.error).length, seconds: (Date.now() - started) / 1000 });
    return { labels, rows };
  };

  const worker = new Worker(options.queue ?? DEFAULT_QUEUE, runJob, {
    connection: bullConnection(url),
    concurrency,
    lockDuration: stalledMs,
    stalledInterval: stalledMs,
    maxStalledCount: MAX_STALLED,
    autorun: false,
  });
  worker.on('error', () => {}); // connection trouble: the watch below decides when it is fatal

  let settle!: (error?: EmoError) => void;
  const done = new Promise<void>((resolve, reject) => (settle = (error) => (error ? reject(error) : resolve())));
  let closing: Promise<void> | null = null;
  const close = (force = false, error?: EmoError): Promise<void> => {
    if (closing && !force) return closing;
    watch.stop();
    const closed = worker.close(force);
    if (force) stopFolds.abort();
    closing = closed
      .catch(() => {})
      .then(() => clf.close())
      .then(() => metricsServer?.close())
      .then(() => settle(error));
    return closing;
  };
  const watch = new RedisWatch(url, options.redisWaitSeconds ?? DEFAULT_REDIS_WAIT_SECONDS, (error) => void close(true, error));
  void worker.run().catch((error: unknown) => void close(true, error instanceof EmoError ? error : new EmoError(`the queue worker stopped: ${(error as Error).message}`, 'ERR_QUEUE_UNAVAILABLE')));
  return { labels, metricsUrl: metricsServer?.url ?? null, close: (force) => close(force), done };
}
