/**
 * The server's one inference queue, shared by HTTP requests and live streams.
 *
 * Work is admitted before it costs anything (before a request body is read, before a live window
 * is cut): at most `capacity` tickets are out at once, so a flood of requests is refused at the
 * door (503) instead of piling up bodies in memory. Admitted clips wait in one line; when the
 * model is busy they collect there and the next run takes them all in one `classifyBatch` call,
 * so a busy server classifies more clips per second, not fewer.
 *
 * @packageDocumentation
 */
import type { Adapter } from '../infer/adapter';
import type { Classifier, ClassifyFailure, EmotionResult, TimelineOptions, TimelineResult } from '../infer/classifier';

/** How a clip is read: its sample rate when it is a sample array, the seconds skipped at its start, its speaker's adapter. */
interface ClipSettings {
  sampleRate?: number;
  offsetSeconds?: number;
  adapter?: Adapter;
}

interface ClipJob {
  kind: 'clip';
  input: Uint8Array | Float32Array;
  settings: ClipSettings;
  resolve(result: EmotionResult): void;
  reject(error: unknown): void;
}

interface TimelineJob {
  kind: 'timeline';
  input: Uint8Array;
  options: TimelineOptions;
  resolve(result: TimelineResult): void;
  reject(error: unknown): void;
}

type Job = ClipJob | TimelineJob;

/** Counters for `/healthz` and the tests. */
export interface QueueStats {
  /** Tickets out now (requests and live windows admitted and not finished). */
  admitted: number;
  /** The most tickets out at once. */
  capacity: number;
  /** Clips classified since the start (timelines and clips that failed not counted). */
  clips: number;
  /** `classifyBatch` calls they took: fewer than `clips` when requests were batched together. */
  batches: number;
  /** The most clips one call took. */
  largestBatch: number;
  /** Timelines of long recordings computed. */
  timelines: number;
  /** Admissions refused because the queue was full. */
  refused: number;
  /** Jobs (clips and timelines) waiting for the model now. */
  waiting: number;
}

/** What the queue reports of each model call, for metrics: clips in it (1 for a timeline) and seconds it took. */
export type RunObserver = (kind: 'clips' | 'timeline', size: number, seconds: number) => void;

/**
 * A place in the queue. Its slot is free again once the holder has released it and its jobs have
 * finished, so a client that hangs up cannot leave work running outside the bound.
 */
export class Ticket {
  // The holder's own hold plus one per unfinished job.
  private holds = 1;
  private released = false;

  constructor(
    private readonly queue: InferenceQueue,
    private readonly free: () => void,
  ) {}

  /** Classifies one clip (batched with whatever else is waiting). */
  classify(input: Uint8Array | Float32Array, settings: ClipSettings = {}): Promise<EmotionResult> {
    return this.hold(new Promise((resolve, reject) => this.queue.push({ kind: 'clip', input, settings, resolve, reject })));
  }

  /** The timeline of a long recording (one job: the classifier batches its windows itself). */
  timeline(input: Uint8Array, options: TimelineOptions = {}): Promise<TimelineResult> {
    return this.hold(new Promise((resolve, reject) => this.queue.push({ kind: 'timeline', input, options, resolve, reject })));
  }

  /** The holder is done with it (safe to call more than once). */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.drop();
  }

  private hold<T>(work: Promise<T>): Promise<T> {
    this.holds++;
    return work.finally(() => this.drop());
  }

  private drop(): void {
    this.holds--;
    if (this.holds === 0) this.free();
  }
}

export class InferenceQueue {
  private readonly waiting: Job[] = [];
  private admitted = 0;
  private running = false;
  private idleWaiters: Array<() => void> = [];
  private readonly counters = { clips: 0, batches: 0, largestBatch: 0, timelines: 0, refused: 0 };

  /**
   * @param classifier - the model.
   * @param capacity - tickets out at once; more are refused.
   * @param maxBatch - clips per `classifyBatch` call.
   */
  constructor(
    private readonly classifier: Classifier,
    readonly capacity: number,
    private readonly maxBatch: number,
    private readonly observe: RunObserver = () => {},
  ) {}

  /** A ticket, or null when `capacity` tickets are out (the caller answers "busy"). */
  admit(): Ticket | null {
    if (this.admitted >= this.capacity) {
      this.counters.refused++;
      return null;
    }
    this.admitted++;
    return new Ticket(this, () => {
      this.admitted--;
      if (this.admitted === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    });
  }

  stats(): QueueStats {
    return { admitted: this.admitted, capacity: this.capacity, ...this.counters, waiting: this.waiting.length };
  }

  /** Resolves once every ticket is back (for a graceful shutdown). */
  idle(): Promise<void> {
    return this.admitted === 0 ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** @internal Tickets call this. */
  push(job: Job): void {
    this.waiting.push(job);
    if (!this.running) void this.run();
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      for (let job = this.waiting[0]; job !== undefined; job = this.waiting[0]) {
        if (job.kind === 'timeline') {
          this.waiting.shift();
          await this.runTimeline(job);
        } else {
          await this.runClips(this.takeClips(job.settings));
        }
      }
    } finally {
      this.running = false;
    }
  }

  /** The waiting clips read the same way as the first one, up to `maxBatch`, in arrival order. */
  private takeClips(settings: ClipSettings): ClipJob[] {
    const taken: ClipJob[] = [];
    for (let i = 0; i < this.waiting.length && taken.length < this.maxBatch; ) {
      const job = this.waiting[i] as Job;
      if (job.kind === 'clip' && job.settings.sampleRate === settings.sampleRate && job.settings.offsetSeconds === settings.offsetSeconds && job.settings.adapter === settings.adapter) {
        taken.push(job);
        this.waiting.splice(i, 1);
      } else i++;
    }
    return taken;
  }

  private async runClips(jobs: ClipJob[]): Promise<void> {
    const settings = (jobs[0] as ClipJob).settings;
    let results: Array<EmotionResult | ClassifyFailure>;
    const started = process.hrtime.bigint();
    try {
      results = await this.classifier.classifyBatch(
        jobs.map((j) => j.input),
        settings,
      );
    } catch (error) {
      for (const job of jobs) job.reject(error);
      return;
    }
    this.observe('clips', jobs.length, Number(process.hrtime.bigint() - started) / 1e9);
    this.counters.clips += results.filter((r) => !('error' in r)).length;
    this.counters.batches++;
    this.counters.largestBatch = Math.max(this.counters.largestBatch, jobs.length);
    jobs.forEach((job, i) => {
      const result = results[i] as EmotionResult | ClassifyFailure;
      if ('error' in result) {
        delete result.error.index; // the batch is the server's business, not the client's
        job.reject(result.error);
      } else job.resolve(result);
    });
  }

  private async runTimeline(job: TimelineJob): Promise<void> {
    try {
      const started = process.hrtime.bigint();
      const result = await this.classifier.timeline(job.input, job.options);
      this.observe('timeline', 1, Number(process.hrtime.bigint() - started) / 1e9);
      this.counters.timelines++;
      job.resolve(result);
    } catch (error) {
      job.reject(error);
    }
  }
}
