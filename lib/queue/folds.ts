/**
 * Training on the queue: `emo crossval --redis` makes each fold a BullMQ job (`fold`) that `emo
 * worker`s train — the corpus read from the path the machines share, the fold's run folder shipped
 * back in the job's result and written into the submitter's `--out`, progress relayed as it goes.
 *
 * A worker trains in `<work dir>/<job id>`, checkpointing every epoch: when the work dir is on a
 * shared mount, a fold whose worker dies is resumed by the next worker from its last epoch;
 * otherwise it starts again. A fold's job id is a hash of what it is (corpus, actors, recipe), so a
 * re-submission finds it queued, running or finished.
 *
 * @packageDocumentation
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Job, type Queue, type QueueEvents } from 'bullmq';
import { swapDirAtomic } from '../atomic';
import { EmoError, type EmoErrorCode } from '../errors';
// Types only: the training stack (TensorFlow.js) loads when a fold is trained or read back, so that
// `require('emo-native/queue')` in a classifying program does not pay for it.
import type { FoldJob, FoldPlan, FoldRecipe, FoldResult, TrainProgress } from '../train';
import { DEFAULT_REDIS_WAIT_SECONDS, openQueue, RedisWatch } from './connection';
import type { FoldThreadData, FoldThreadMessage } from './fold-thread';

/** The default queue of training jobs: apart from classification, whose jobs are short. */
export const DEFAULT_TRAIN_QUEUE = 'emo-train';

/** The data of a fold job. */
export interface FoldJobData {
  version: 1;
  kind: 'fold';
  /** The corpus, absolute, on storage the machines share. */
  dir: string;
  plan: FoldPlan;
  recipe: FoldRecipe;
  scoreTest: boolean;
}

/** What a worker returns for a fold: its scores and its run folder's files (base64 by relative path). */
export interface FoldJobResult {
  result: FoldResult;
  files: Record<string, string>;
}

/** Files a fold's run folder ships back: not the checkpoint (the models are in best/ and last/) nor the feature cache. */
const LEFT_BEHIND = new Set(['checkpoint', 'checkpoint.old', 'checkpoint.partial', 'features.cache']);

function isFoldJobData(data: unknown): data is FoldJobData {
  const d = data as FoldJobData;
  return typeof d === 'object' && d !== null && d.version === 1 && d.kind === 'fold' && typeof d.dir === 'string' && typeof d.plan === 'object' && d.plan !== null && typeof d.recipe === 'object' && d.recipe !== null && typeof d.scoreTest === 'boolean';
}

/** The files of a run folder, by path relative to it. */
function filesOf(dir: string, prefix = ''): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of fs.readdirSync(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = path.join(prefix, entry.name);
    if (LEFT_BEHIND.has(rel)) continue;
    if (entry.isDirectory()) Object.assign(files, filesOf(dir, rel));
    else if (entry.isFile()) files[rel] = fs.readFileSync(path.join(dir, rel)).toString('base64');
  }
  return files;
}

/**
 * A worker's side: trains the fold of `job` in `<workDir>/<job id>` (resuming from a checkpoint
 * found there) on a thread of its own (./fold-thread: the caller's event loop stays free to renew
 * the job's lock), relays its progress, and returns its scores and files; the folder is removed
 * after. `signal` stops the training thread (a worker closing without waiting for its jobs): the
 * promise then never settles, as if the process had died — the job stays active, is declared
 * stalled and goes to another worker, which resumes from the folder's last epoch when it is shared.
 */
export async function runFoldJob(job: Job, workDir: string, signal?: AbortSignal): Promise<FoldJobResult> {
  if (!isFoldJobData(job.data)) throw new Error('not an emo fold job (unknown data format)');
  const data = job.data;
  const out = path.join(workDir, String(job.id));
  fs.mkdirSync(out, { recursive: true });
  let lastReport = 0;
  const onProgress = (event: TrainProgress) => {
    // Every epoch, and the batches at most once a second: enough for a progress line, little for Redis.
    const now = Date.now();
    if (event.kind !== 'epoch' && now - lastReport < 1000) return;
    lastReport = now;
    void job.updateProgress(event as unknown as object).catch(() => {});
  };
  const fold: FoldThreadData = { dir: data.dir, plan: data.plan, recipe: data.recipe, out, resume: true, dropCache: true, scoreTest: data.scoreTest };
  const result = await trainInThread(fold, onProgress, signal);
  const files = filesOf(out);
  fs.rmSync(out, { recursive: true, force: true });
  return { result: { ...result, reused: false }, files };
}

/** Runs `trainFold` on a worker thread; its progress comes to `onProgress`, its errors keep their code. */
function trainInThread(fold: FoldThreadData, onProgress: (event: TrainProgress) => void, signal?: AbortSignal): Promise<FoldResult> {
  return new Promise<FoldResult>((resolve, reject) => {
    if (signal?.aborted) return;
    const thread = new Worker(path.join(__dirname, 'fold-thread.js'), { workerData: fold });
    let settled = false;
    const settle = (finish: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', stop);
      finish();
    };
    // Not a failure to report (BullMQ would fail the job for good): the job is left to the stall check.
    const stop = () => {
      settle(() => {});
      void thread.terminate();
    };
    signal?.addEventListener('abort', stop, { once: true });
    thread.on('message', (message: FoldThreadMessage) => {
      if (message.kind === 'progress') onProgress(message.event as TrainProgress);
      else if (message.kind === 'done') settle(() => resolve(message.result as FoldResult));
      else {
        const { name, message: text, code } = message.error;
        const error = code === undefined ? Object.assign(new Error(text), { name }) : new EmoError(text, code as EmoErrorCode);
        settle(() => reject(error));
      }
    });
    thread.on('error', (error) => settle(() => reject(error)));
    thread.on('exit', (code) => settle(() => reject(new Error(`the training thread ended (exit code ${code}) before the fold did`))));
  });
}

/** Options of {@link FoldProducer.connect}. */
export interface FoldProducerOptions {
  /** Queue name (default `'emo-train'`); the workers' `--queue`. */
  queue?: string;
  /** Seconds to keep trying when Redis goes away before giving up (default 60). */
  redisWaitSeconds?: number;
}

/**
 * The submitter's side: {@link FoldProducer.runFold} is a fold runner for `crossValidate`
 * (`runFold`), training the fold on a worker and writing its run folder where the fold belongs.
 */
export class FoldProducer {
  private lost: EmoError | null = null;
  private readonly waiting = new Map<string, { job: FoldJob; resolve(result: FoldResult): void; reject(error: unknown): void }>();
  private readonly watch: RedisWatch;

  private constructor(
    private readonly queue: Queue,
    private readonly events: QueueEvents,
    url: string,
    redisWaitSeconds: number,
  ) {
    this.watch = new RedisWatch(url, redisWaitSeconds, (error) => {
      this.lost = error;
      for (const w of this.waiting.values()) w.reject(error);
      this.waiting.clear();
    });
    events.on('progress', ({ jobId, data }) => this.waiting.get(jobId)?.job.onProgress?.(data as unknown as TrainProgress));
    events.on('completed', ({ jobId, returnvalue }) => void this.finish(jobId, returnvalue));
    events.on('failed', ({ jobId, failedReason }) => this.fail(jobId, failedReason));
  }

  /** @throws {@link EmoError} `ERR_QUEUE_UNAVAILABLE` when Redis cannot be reached. */
  static async connect(url: string, options: FoldProducerOptions = {}): Promise<FoldProducer> {
    const { queue, events } = await openQueue(url, options.queue ?? DEFAULT_TRAIN_QUEUE);
    return new FoldProducer(queue, events, url, options.redisWaitSeconds ?? DEFAULT_REDIS_WAIT_SECONDS);
  }

  /**
   * Trains one fold on the queue's workers; its run folder lands in `job.out` (replacing what was
   * there) once it is finished. With `job.resume`, a fold finished in `job.out` is read back.
   */
  readonly runFold = async (job: FoldJob): Promise<FoldResult> => {
    if (this.lost) throw this.lost;
    if (job.resume) {
      const { readFinishedFold } = await import('../train');
      const done = readFinishedFold(job);
      if (done !== null) return done;
    }
    const data: FoldJobData = { version: 1, kind: 'fold', dir: path.resolve(job.dir), plan: job.plan, recipe: job.recipe, scoreTest: job.scoreTest !== false };
    const id = `fold-${createHash('sha256').update(JSON.stringify(data)).digest('hex').slice(0, 40)}`;
    const result = new Promise<FoldResult>((resolve, reject) => this.waiting.set(id, { job, resolve, reject }));
    // One attempt: a fold that fails is an error to see, not to repeat; a lost worker's fold is
    // picked up again by the stall handling (and resumes from a shared checkpoint).
    await this.queue.add('fold', data, { jobId: id, attempts: 1 });
    const state = await this.queue.getJobState(id);
    if (state === 'completed') void this.finish(id, (await Job.fromId(this.queue, id))?.returnvalue);
    else if (state === 'failed') await (await Job.fromId(this.queue, id))?.retry('failed');
    return result;
  };

  private async finish(id: string, value: unknown): Promise<void> {
    const w = this.waiting.get(id);
    if (w === undefined) return;
    this.waiting.delete(id);
    try {
      const { result, files } = value as FoldJobResult;
      if (typeof result !== 'object' || result === null || typeof files !== 'object' || files === null) throw new Error('the worker returned no fold (is it the same version of emo-native?)');
      // The run folder is written aside and swapped in whole: a crash leaves the old one or the new one.
      const pending = `${w.job.out}.partial`;
      fs.rmSync(pending, { recursive: true, force: true });
      for (const [rel, base64] of Object.entries(files)) {
        const target = path.join(pending, rel);
        if (!target.startsWith(pending + path.sep)) throw new Error(`the worker returned a file outside the fold's folder: ${rel}`);
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, Buffer.from(base64, 'base64'));
      }
      swapDirAtomic(pending, w.job.out);
      await this.queue.remove(id).catch(() => {});
      w.resolve({ ...result, reused: false });
    } catch (error) {
      w.reject(error instanceof EmoError ? error : new EmoError(`fold ${w.job.plan.fold}: ${(error as Error).message}`, 'ERR_QUEUE_JOB_FAILED'));
    }
  }

  private fail(id: string, reason: string): void {
    const w = this.waiting.get(id);
    if (w === undefined) return;
    this.waiting.delete(id);
    w.reject(new EmoError(`fold ${w.job.plan.fold} failed on the workers: ${reason}`, 'ERR_QUEUE_JOB_FAILED'));
  }

  async close(): Promise<void> {
    this.watch.stop();
    await Promise.allSettled([this.queue.close(), this.events.close()]);
  }
}
