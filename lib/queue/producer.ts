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
import { Job, type Queue, type QueueEvents } from 'bullmq';
import { EmoError } from '../errors';
import { mergeAdaptationStatistics, type AdaptationStatistics } from '../infer/adapter';
import type { AdaptMode, RecordingRow, RowOptions } from '../infer/recordings';
import { DEFAULT_QUEUE, DEFAULT_REDIS_WAIT_SECONDS, openQueue, RedisWatch } from './connection';
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
  type JobRowOptions,
  type StatisticsJobData,
  type StatisticsJobResult,
} from './jobs';

/** Options of {@link ClassifyProducer.connect}. */
export interface ClassifyProducerOptions {
  /** Queue name (default `'emo-classify'`); producers and workers must agree. */
  queue?: string;
  /** Seconds to keep trying when Redis goes away during a run before giving up (default 60). */
  redisWaitSeconds?: number;
}

/** Options of {@link ClassifyProducer.classify}: how rows are made, and how files travel. */
export interface SubmitOptions extends Omit<RowOptions, 'adapter' | 'adapt'> {
  /**
   * Speaker adaptation on the workers (their model must have been trained with it). `'folder'`:
   * statistics jobs learn each folder's statistics first (a folder's files split between workers,
   * merged here), then its files are classified with them, every job one folder's; `'file'`: each
   * file adapts to itself. Default `'none'`: the producer does not know the workers' model.
   */
  adapt?: AdaptMode;
  /** With folder adaptation, the files whose folders' statistics count (default `files`): all of a resumed run's files. */
  statisticsFiles?: readonly string[];
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
  name: 'classify' | 'statistics';
  data: ClassifyJobData | StatisticsJobData;
  bytes: number;
}

/** A finished job: what its worker returned, or why it failed. */
interface FinishedJob {
  id: string;
  job: PendingJob;
  value?: unknown;
  failedReason?: string;
}

/** Where a run's jobs come from, one at a time: a job to queue, files that cannot go into one, or null when done. */
type JobSource = () => Promise<{ job: { id: string; pendingJob: PendingJob } | null; errors: RecordingRow[] } | null>;

/** The folder a file is adapted with (`--adapt folder`): its directory, absolute. */
const folderOf = (file: string) => path.dirname(path.resolve(file));

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
    const { queue, events } = await openQueue(url, options.queue ?? DEFAULT_QUEUE);
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
    const rowOptions: JobRowOptions = { timeline: options.timeline, window: options.window, hop: options.hop };
    if (options.minSpeechSeconds !== undefined) rowOptions.minSpeechSeconds = options.minSpeechSeconds;
    const ship = options.shipAudio ?? false;
    const maxJobs = options.maxJobsInFlight ?? 64;
    if (!Number.isSafeInteger(maxJobs) || maxJobs < 1) throw new RangeError(`options.maxJobsInFlight must be a positive integer, not ${maxJobs}`);
    let statistics: Map<string, AdaptationStatistics | Error> | null = null;
    if (options.adapt === 'file') rowOptions.adapt = 'file';
    else if (options.adapt === 'folder') {
      statistics = await this.folderStatistics(options.statisticsFiles ?? files, ship, maxJobs);
      rowOptions.adapt = 'folder';
    }
    // Files one job at a time; with folder statistics, a job never spans two folders.
    let cursor = 0;
    const source: JobSource = async () => {
      if (cursor >= files.length) return null;
      const folder = statistics === null ? null : folderOf(files[cursor] as string);
      const known = folder === null ? undefined : statistics?.get(folder);
      if (known instanceof Error) {
        // The folder's statistics could not be learnt: its files get error rows, not silent non-adaptation.
        const errors: RecordingRow[] = [];
        while (cursor < files.length && folderOf(files[cursor] as string) === folder) errors.push({ file: files[cursor++] as string, error: { code: 'ERR_QUEUE_JOB_FAILED', message: known.message } });
        return { job: null, errors };
      }
      const next = await this.nextJob(files, cursor, ship, (file) => folder === null || folderOf(file) === folder);
      cursor = next.cursor;
      const chosen = next.chosen;
      if (chosen === null) return { job: null, errors: next.errors };
      const data: ClassifyJobData = { version: 1, files: chosen.files, options: rowOptions, ...(known === undefined ? {} : { statistics: known }) };
      const id = jobIdOf(chosen.stamps, rowOptions, ship, known === undefined ? undefined : { statistics: known });
      return { job: { id, pendingJob: { files: chosen.files.map((f) => f.file), name: 'classify', data, bytes: chosen.bytes } }, errors: next.errors };
    };
    for await (const done of this.collect(source, maxJobs)) {
      if ('errors' in done) yield { labels: null, rows: done.errors };
      else yield done.failedReason === undefined ? batchOf(done.id, done.job, done.value) : failedBatch(done.id, done.job, done.failedReason);
    }
  }

  /**
   * Learns each folder's speech statistics on the workers (statistics jobs of at most a job's
   * files, merged here). A folder whose statistics could not be learnt — its jobs failed, none of
   * its files could be read, or the workers' model does not adapt — maps to the error its files'
   * rows will carry.
   */
  private async folderStatistics(files: readonly string[], ship: boolean, maxJobs: number): Promise<Map<string, AdaptationStatistics | Error>> {
    const folders = new Map<string, string[]>();
    for (const file of files) folders.set(folderOf(file), [...(folders.get(folderOf(file)) ?? []), file]);
    const parts = new Map<string, AdaptationStatistics[]>();
    const failures = new Map<string, Error>();
    const queue = [...folders.entries()];
    let current: { folder: string; files: string[]; cursor: number } | null = null;
    const source: JobSource = async () => {
      while (current === null || current.cursor >= current.files.length) {
        const next = queue.shift();
        if (next === undefined) return null;
        current = { folder: next[0], files: next[1], cursor: 0 };
      }
      const folder = current.folder;
      const next = await this.nextJob(current.files, current.cursor, ship, () => true);
      current.cursor = next.cursor;
      if (next.chosen === null) return { job: null, errors: [] }; // unreadable files: their rows say so later
      const data: StatisticsJobData = { version: 1, kind: 'statistics', files: next.chosen.files };
      const id = jobIdOf(next.chosen.stamps, { timeline: false, window: 0, hop: 0 }, ship, { kind: 'statistics' });
      return { job: { id, pendingJob: { files: [folder], name: 'statistics', data, bytes: next.chosen.bytes } }, errors: [] };
    };
    for await (const done of this.collect(source, maxJobs)) {
      if ('errors' in done) continue;
      const folder = done.job.files[0] as string;
      const result = done.value as StatisticsJobResult | undefined;
      if (done.failedReason !== undefined || typeof result !== 'object' || result === null) {
        failures.set(folder, new Error(`the statistics job of its folder failed on the workers: ${done.failedReason ?? 'no usable result'}`));
      } else if (!result.adapts) {
        failures.set(folder, new Error("--adapt folder: the workers' model does not adapt to a speaker (ERR_ADAPTATION_UNSUPPORTED)"));
      } else if (result.statistics) parts.set(folder, [...(parts.get(folder) ?? []), result.statistics]);
    }
    const statistics = new Map<string, AdaptationStatistics | Error>();
    for (const folder of folders.keys()) {
      const failure = failures.get(folder);
      const found = parts.get(folder);
      if (failure !== undefined || found === undefined) statistics.set(folder, failure ?? new Error('none of its folder\'s files could be read for its statistics'));
      else statistics.set(folder, mergeAdaptationStatistics(found));
    }
    return statistics;
  }

  /**
   * Queues the jobs of `source` (at most `maxJobs`, and the shipped-audio limit, in flight) and
   * yields each as it finishes, and the files that could not go into a job.
   */
  private async *collect(source: JobSource, maxJobs: number): AsyncGenerator<FinishedJob | { errors: RecordingRow[] }> {
    const pending = new Map<string, PendingJob>();
    const ready: Array<FinishedJob | { errors: RecordingRow[] }> = [];
    let wake: (() => void) | null = null;
    const signal = () => {
      const w = wake;
      wake = null;
      w?.();
    };
    let bytesInFlight = 0;
    const finish = (id: string, outcome: { value?: unknown; failedReason?: string }) => {
      const job = pending.get(id);
      if (job === undefined) return; // another submission's job, or collected already
      pending.delete(id);
      bytesInFlight -= job.bytes;
      ready.push({ id, job, ...outcome });
      this.queue.remove(id).catch(() => {}); // a job left behind is collected by the next submission
      signal();
    };
    const onCompleted = ({ jobId, returnvalue }: { jobId: string; returnvalue: unknown }) => finish(jobId, { value: returnvalue });
    const onFailed = ({ jobId, failedReason }: { jobId: string; failedReason: string }) => finish(jobId, { failedReason });
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
            if (found) finish(id, state === 'completed' ? { value: found.returnvalue } : { failedReason: found.failedReason });
          } else if (state === 'unknown' && pending.has(id)) await this.add(id, job);
        }
      } catch {
        // Redis is away: the watch decides how long that may last.
      } finally {
        sweeping = false;
      }
    };
    const sweepTimer = setInterval(() => void sweep(), SWEEP_MS);

    try {
      let exhausted = false;
      while (!exhausted || pending.size > 0 || ready.length > 0) {
        if (this.lost) throw this.lost;
        const done = ready.shift();
        if (done) {
          yield done;
          continue;
        }
        if (!exhausted && pending.size < maxJobs && bytesInFlight < MAX_SHIPPED_BYTES_IN_FLIGHT) {
          const next = await source();
          if (next === null) {
            exhausted = true;
            continue;
          }
          if (next.errors.length > 0) ready.push({ errors: next.errors });
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

  private add(id: string, job: PendingJob): Promise<unknown> {
    // One attempt: a file's failure is a row, not a retry; a lost worker's job is retried by BullMQ's stall handling.
    return this.queue.add(job.name, job.data, { jobId: id, attempts: 1 });
  }

  /** Queues a job, or finds it queued or finished by an earlier submission of the same files. */
  private async submit(id: string, job: PendingJob, finish: (id: string, outcome: { value?: unknown }) => void): Promise<void> {
    await this.add(id, job); // a job with this id already there is kept as it is
    const state = await this.queue.getJobState(id);
    if (state === 'completed') {
      const found = await Job.fromId(this.queue, id);
      if (found) finish(id, { value: found.returnvalue });
    } else if (state === 'failed') {
      // Failed in an earlier submission: this one gives it a fresh try.
      await (await Job.fromId(this.queue, id))?.retry('failed');
    }
  }

  /**
   * The next job's files from `cursor` on (while `belongs` holds), and the files that cannot go
   * into a job (as error rows).
   */
  private async nextJob(
    files: readonly string[],
    cursor: number,
    ship: boolean,
    belongs: (file: string) => boolean,
  ): Promise<{ cursor: number; chosen: { files: JobFile[]; stamps: FileStamp[]; bytes: number } | null; errors: RecordingRow[] }> {
    const chosen: JobFile[] = [];
    const stamps: FileStamp[] = [];
    const errors: RecordingRow[] = [];
    let bytes = 0;
    let i = cursor;
    for (; i < files.length; i++) {
      const file = files[i] as string;
      const absolute = path.resolve(file);
      if (!belongs(file)) break;
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
    return { cursor: i, chosen: chosen.length === 0 ? null : { files: chosen, stamps, bytes }, errors };
  }
}
