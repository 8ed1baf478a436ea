/**
 * The queue's producer: cuts a list of files into classification jobs on a BullMQ queue, and
 * hands back each job's rows as soon as a worker has finished it.
 *
 * Delivery: a job runs at least once (a job whose worker dies goes back to the queue once its
 * lock expires, see the worker's `stalledAfterSeconds`); its rows are handed back exactly once per
 * submission, because they are collected by job id and the job is removed once collected. Jobs
 * finished while no producer was listening stay in Redis until the next submission of the same
 * files collects them.
 *
 * @packageDocumentation
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Job, Queue, QueueEvents } from 'bullmq';
import { EmoError } from '../errors';
import type { RecordingRow, RowOptions } from '../infer/recordings';
import { bullConnection, checkRedis, checkRedisUrl, DEFAULT_QUEUE, DEFAULT_REDIS_WAIT_SECONDS, RedisWatch } from './connection';
import {
  isJobBoundary,
  jobIdOf,
  MAX_FILES_PER_JOB,
  MAX_SHIPPED_FILE_BYTES,
  MAX_SHIPPED_JOB_BYTES,
  MIN_FILES_PER_JOB,
  type ClassifyJobData,
  type ClassifyJobResult,
  type FileStamp,
  type JobFile,
} from './jobs';

/** Options of {@link ClassifyProducer.connect}. */
export interface ClassifyProducerOptions {
  /** Queue name (default `'emo-classify'`); producers and workers must agree. */
  queue?: string;
  /** Seconds to keep trying when Redis goes away during a run before giving up (default 60). */
  redisWaitSeconds?: number;
}

/** Options of {@link ClassifyProducer.classify}: how rows are made, and how files travel. */
export interface SubmitOptions extends RowOptions {
  /** Put each file's bytes in its job (at most 16 MiB a file) instead of letting workers read the path. */
  shipAudio?: boolean;
  /** Most jobs queued and not yet collected at a time (default 64): bounds Redis memory on any number of files. */
  maxJobsInFlight?: number;
}

/** Rows handed back by {@link ClassifyProducer.classify}: one job's, or files that never made it into a job. */
export interface ClassifiedBatch {
  /** The labels of the model that made the rows; null when the rows are all errors found before queueing. */
  labels: string[] | null;
  rows: RecordingRow[];
  /** The job these rows come from (absent for errors found before queueing). */
  jobId?: string;
}

/** Audio bytes queued and not yet collected, with --ship-audio. */
const MAX_SHIPPED_BYTES_IN_FLIGHT = 256 * 2 ** 20;
/** How often queued jobs are looked at directly, in case an event was missed (Redis restarted, a reconnection). */
const SWEEP_MS = 2000;

interface PendingJob {
  files: string[];
  data: ClassifyJobData;
  bytes: number;
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

function readError(error: unknown): { code: string; message: string } {
  return { code: 'ERR_FILE_READ', message: `cannot read the file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` };
}

/** The rows of a finished job, checked against what was asked (a worker of another version could answer otherwise). */
function batchOf(jobId: string, pending: PendingJob, value: unknown): ClassifiedBatch {
  const result = value as ClassifyJobResult;
  const fits =
    typeof result === 'object' &&
    result !== null &&
    Array.isArray(result.labels) &&
    Array.isArray(result.rows) &&
    result.rows.length === pending.files.length &&
    result.rows.every((r, i) => typeof r === 'object' && r !== null && r.file === pending.files[i] && (r.result !== undefined || r.error !== undefined));
  if (!fits) return failedBatch(jobId, pending, 'the worker returned no usable rows (is it the same version of emo-native?)');
  return { labels: result.labels, rows: result.rows, jobId };
}

function failedBatch(jobId: string, pending: PendingJob, reason: string): ClassifiedBatch {
  return { labels: null, rows: pending.files.map((file) => ({ file, error: { code: 'ERR_QUEUE_JOB_FAILED', message: `its job failed on the workers: ${reason}` } })), jobId };
}

/**
 * Submits files to a queue of `emo worker`s and collects their rows.
 *
 * @example
 * const producer = await ClassifyProducer.connect('redis://queue-host:6379');
 * for await (const { rows } of producer.classify(files, { timeline: false, window: 3, hop: 1.5 })) console.log(rows);
 * await producer.close();
 */
export class ClassifyProducer {
  private lost: EmoError | null = null;
  private readonly wakers = new Set<() => void>();
  private readonly watch: RedisWatch;

  private constructor(
    private readonly queue: Queue,
    private readonly events: QueueEvents,
    url: string,
    redisWaitSeconds: number,
  ) {
    this.watch = new RedisWatch(url, redisWaitSeconds, (error) => {
      this.lost = error;
      for (const wake of this.wakers) wake();
    });
  }

  /**
   * Connects to Redis and to the queue.
   *
   * @throws {@link EmoError} `ERR_QUEUE_UNAVAILABLE` naming the URL when Redis cannot be reached;
   *   RangeError for a URL that is not `redis://` or `rediss://`.
   */
  static async connect(url: string, options: ClassifyProducerOptions = {}): Promise<ClassifyProducer> {
    checkRedisUrl(url);
    await checkRedis(url);
    const name = options.queue ?? DEFAULT_QUEUE;
    const queue = new Queue(name, { connection: bullConnection(url) });
    const events = new QueueEvents(name, { connection: bullConnection(url) });
    // Connection trouble is measured by the RedisWatch, which ends the run when it lasts.
    queue.on('error', () => {});
    events.on('error', () => {});
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
    return new ClassifyProducer(queue, events, url, options.redisWaitSeconds ?? DEFAULT_REDIS_WAIT_SECONDS);
  }

  /**
   * Queues `files` in jobs of a few dozen and yields their rows as jobs finish (not in file
   * order). Every file comes back exactly once: in its job's rows, or as an error row when it
   * cannot be read here (with `shipAudio`, or when its size and time cannot be read for the job id)
   * or is too large to ship. A job that fails as a whole (its worker died more than twice) gives
   * error rows `ERR_QUEUE_JOB_FAILED` for its files.
   *
   * @throws {@link EmoError} `ERR_QUEUE_UNAVAILABLE` when Redis stays away longer than `redisWaitSeconds`.
   */
  async *classify(files: readonly string[], options: SubmitOptions): AsyncGenerator<ClassifiedBatch> {
    const rowOptions: RowOptions = { timeline: options.timeline, window: options.window, hop: options.hop };
    const ship = options.shipAudio ?? false;
    const maxJobs = options.maxJobsInFlight ?? 64;
    if (!Number.isSafeInteger(maxJobs) || maxJobs < 1) throw new RangeError(`options.maxJobsInFlight must be a positive integer, not ${maxJobs}`);
    const pending = new Map<string, PendingJob>();
    const ready: ClassifiedBatch[] = [];
    let wake: (() => void) | null = null;
    const signal = () => {
      const w = wake;
      wake = null;
      w?.();
    };
    let bytesInFlight = 0;
    const finish = (id: string, batch: (job: PendingJob) => ClassifiedBatch) => {
      const job = pending.get(id);
      if (job === undefined) return; // another submission's job, or collected already
      pending.delete(id);
      bytesInFlight -= job.bytes;
      ready.push(batch(job));
      this.queue.remove(id).catch(() => {}); // a job left behind is collected by the next submission
      signal();
    };
    const onCompleted = ({ jobId, returnvalue }: { jobId: string; returnvalue: unknown }) => finish(jobId, (job) => batchOf(jobId, job, returnvalue));
    const onFailed = ({ jobId, failedReason }: { jobId: string; failedReason: string }) => finish(jobId, (job) => failedBatch(jobId, job, failedReason));
    this.events.on('completed', onCompleted);
    this.events.on('failed', onFailed);
    this.wakers.add(signal);

    // Looks at every queued job: finished ones are collected, vanished ones (Redis flushed or restarted empty) queued again.
    let sweeping = false;
    const sweep = async () => {
      if (sweeping) return;
      sweeping = true;
      try {
        for (const [id, job] of [...pending]) {
          const state = await this.queue.getJobState(id);
          if (state === 'completed' || state === 'failed') {
            const found = await Job.fromId(this.queue, id);
            if (found) finish(id, (p) => (state === 'completed' ? batchOf(id, p, found.returnvalue) : failedBatch(id, p, found.failedReason)));
          } else if (state === 'unknown' && pending.has(id)) await this.add(id, job.data);
        }
      } catch {
        // Redis is away: the watch decides how long that may last.
      } finally {
        sweeping = false;
      }
    };
    const sweepTimer = setInterval(() => void sweep(), SWEEP_MS);

    try {
      let cursor = 0;
      while (cursor < files.length || pending.size > 0 || ready.length > 0) {
        if (this.lost) throw this.lost;
        const batch = ready.shift();
        if (batch) {
          yield batch;
          continue;
        }
        if (cursor < files.length && pending.size < maxJobs && bytesInFlight < MAX_SHIPPED_BYTES_IN_FLIGHT) {
          const next = await this.nextJob(files, cursor, rowOptions, ship);
          cursor = next.cursor;
          if (next.errors.length > 0) ready.push({ labels: null, rows: next.errors });
          if (next.job) {
            const { id, pendingJob } = next.job;
            pending.set(id, pendingJob);
            bytesInFlight += pendingJob.bytes;
            await this.unlessLost(this.submit(id, pendingJob, finish));
          }
          continue;
        }
        await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      clearInterval(sweepTimer);
      this.wakers.delete(signal);
      this.events.off('completed', onCompleted);
      this.events.off('failed', onFailed);
    }
  }

  /** Closes the queue's connections (at once when Redis is not answering). */
  async close(): Promise<void> {
    this.watch.stop();
    const closed = Promise.all([this.queue.close(), this.events.close()]).then(
      () => true,
      () => false,
    );
    const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 2000).unref());
    if (!(await Promise.race([closed, timeout]))) await Promise.allSettled([this.queue.disconnect(), this.events.disconnect()]);
  }

  /** `work`, or the ERR_QUEUE_UNAVAILABLE error as soon as the watch gives Redis up (commands wait for Redis while it is away). */
  private unlessLost<T>(work: Promise<T>): Promise<T> {
    if (this.lost) return Promise.reject(this.lost);
    return new Promise<T>((resolve, reject) => {
      const onLost = () => reject(this.lost);
      this.wakers.add(onLost);
      work.then(resolve, reject).finally(() => this.wakers.delete(onLost));
    });
  }

  private add(id: string, data: ClassifyJobData): Promise<unknown> {
    // One attempt: a file's failure is a row, not a retry; a lost worker's job is retried by BullMQ's stall handling.
    return this.queue.add('classify', data, { jobId: id, attempts: 1 });
  }

  /** Queues a job, or finds it queued or finished by an earlier submission of the same files. */
  private async submit(id: string, job: PendingJob, finish: (id: string, batch: (job: PendingJob) => ClassifiedBatch) => void): Promise<void> {
    await this.add(id, job.data); // a job with this id already there is kept as it is
    const state = await this.queue.getJobState(id);
    if (state === 'completed') {
      const found = await Job.fromId(this.queue, id);
      if (found) finish(id, (p) => batchOf(id, p, found.returnvalue));
    } else if (state === 'failed') {
      // Failed in an earlier submission: this one gives it a fresh try.
      await (await Job.fromId(this.queue, id))?.retry('failed');
    }
  }

  /** The next job's files from `cursor` on, and the files that cannot go into a job (as error rows). */
  private async nextJob(files: readonly string[], cursor: number, options: RowOptions, ship: boolean): Promise<{ cursor: number; job: { id: string; pendingJob: PendingJob } | null; errors: RecordingRow[] }> {
    const chosen: JobFile[] = [];
    const stamps: FileStamp[] = [];
    const errors: RecordingRow[] = [];
    let bytes = 0;
    let i = cursor;
    for (; i < files.length; i++) {
      const file = files[i] as string;
      const absolute = path.resolve(file);
      if (chosen.length >= MAX_FILES_PER_JOB || (chosen.length >= MIN_FILES_PER_JOB && isJobBoundary(absolute))) break;
      let stat: fs.Stats;
      try {
        stat = await fs.promises.stat(absolute);
      } catch (error) {
        errors.push({ file, error: readError(error) });
        continue;
      }
      const entry: JobFile = { file, path: absolute };
      if (ship) {
        if (stat.size > MAX_SHIPPED_FILE_BYTES) {
          errors.push({ file, error: { code: 'ERR_AUDIO_TOO_LARGE', message: `${mib(stat.size)} is more than the ${mib(MAX_SHIPPED_FILE_BYTES)} a file may have to be shipped in a job (--ship-audio): let the workers read it from storage they share instead` } });
          continue;
        }
        if (chosen.length > 0 && bytes + stat.size > MAX_SHIPPED_JOB_BYTES) break;
        try {
          const audio = await fs.promises.readFile(absolute);
          entry.audio = audio.toString('base64');
          bytes += audio.length;
        } catch (error) {
          errors.push({ file, error: readError(error) });
          continue;
        }
      }
      chosen.push(entry);
      stamps.push({ path: absolute, size: stat.size, mtimeMs: stat.mtimeMs });
    }
    if (chosen.length === 0) return { cursor: i, job: null, errors };
    const data: ClassifyJobData = { version: 1, files: chosen, options };
    return { cursor: i, job: { id: jobIdOf(stamps, options, ship), pendingJob: { files: chosen.map((f) => f.file), data, bytes } }, errors };
  }
}
