/**
 * Live emotion over a WebSocket (`/api/live`): the page streams microphone samples, the server
 * keeps the last 3 s per connection and answers with a prediction every 0.5 s.
 *
 * Protocol. Client → server: first a text message `{"type":"start","sampleRate":48000}`, then
 * binary messages of mono float32 little-endian samples at that rate; later `{"type":"reset"}`
 * forgets the speaker learnt so far. Server → client, JSON text: `ready` (the settings, `adapts`
 * whether the model adapts to the speaker), `listening` (less than a second heard so far),
 * `prediction` (a classifier result plus `time`, the seconds of audio received; with an adaptive
 * model its `adaptation`), `adaptation` (`{applied, speechSeconds, minSpeechSeconds}` after every
 * 3 s of new audio and after a reset), `silent`, `busy` (the queue was full: this tick skipped),
 * `error` (`{code, message}` of a window that could not be classified).
 *
 * Adaptation (models trained with it): each session has its own adapter, which learns from every
 * new 3 s of the stream (the speech in it, no labels) and is used once it holds enough speech.
 *
 * @packageDocumentation
 */
import type { FastifyContextConfig, FastifyInstance } from 'fastify';
import websocket from '@fastify/websocket';
import type { WebSocket } from 'ws';
import type { Adapter } from '../infer/adapter';
import type { Classifier } from '../infer/classifier';
import { describeError } from './errors';
import type { InferenceQueue } from './queue';

/** {@link LiveLimits} with the defaults filled in. */
export interface ResolvedLiveLimits {
  maxConnections: number;
  maxSeconds: number;
  maxMessageBytes: number;
}

const INTERVAL_MS = 500;
// Less than this is too little to read an emotion from; the page says "listening" meanwhile.
const MIN_SECONDS = 1;
const START_TIMEOUT_MS = 10_000;
// Audio may arrive in bursts (a tab in the background, a slow network) but not faster than real time for long.
const PACE_SLACK = 1.25;
const BURST_SECONDS = 2;
const MIN_RATE = 8000;
const MAX_RATE = 192000;

// Close codes (RFC 6455): 1003 data it cannot accept, 1008 a policy broken, 1013 try again later.
const UNSUPPORTED = 1003;
const POLICY = 1008;
const TRY_LATER = 1013;

class LiveSession {
  private rate = 0;
  private ring = new Float32Array(0);
  private write = 0;
  private filled = 0;
  private received = 0;
  private predictedAt = -1;
  private inFlight = false;
  /** The speaker's statistics, for a model that adapts; samples received since they last learnt. */
  private readonly adapter: Adapter | null;
  private sinceAdapted = 0;
  private adapting = false;
  private resetWhenLearnt = false;
  private readonly opened = Date.now();
  private timer: NodeJS.Timeout | null = null;
  private readonly startTimer: NodeJS.Timeout;

  constructor(
    private readonly socket: WebSocket,
    private readonly queue: InferenceQueue,
    private readonly classifier: Classifier,
    private readonly limits: ResolvedLiveLimits,
    minSpeechSeconds: number,
  ) {
    this.adapter = classifier.adapts ? classifier.createAdapter({ minSpeechSeconds }) : null;
    this.startTimer = setTimeout(() => this.close(POLICY, 'no start message'), START_TIMEOUT_MS);
    socket.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) =>
      this.onMessage(Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data), isBinary),
    );
  }

  stop(): void {
    clearTimeout(this.startTimer);
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private close(code: number, reason: string): void {
    this.stop();
    this.socket.close(code, reason);
  }

  private send(message: object): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(JSON.stringify(message));
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (!isBinary) return this.onControl(data.toString('utf8'));
    if (this.rate === 0) return this.close(POLICY, 'send {"type":"start","sampleRate":N} first');
    if (data.length % 4 !== 0) return this.close(UNSUPPORTED, 'binary messages hold float32 samples');
    const samples = new Float32Array(data.length / 4);
    new Uint8Array(samples.buffer).set(data);
    this.received += samples.length;
    this.sinceAdapted += samples.length;
    const elapsed = (Date.now() - this.opened) / 1000;
    if (this.received > this.rate * (elapsed * PACE_SLACK + BURST_SECONDS)) return this.close(POLICY, 'audio arrives faster than its sample rate');
    this.append(samples);
  }

  private onControl(text: string): void {
    let message: { type?: unknown; sampleRate?: unknown };
    try {
      message = JSON.parse(text) as typeof message;
    } catch {
      return this.close(UNSUPPORTED, 'text messages are JSON');
    }
    if (message?.type === 'reset' && this.rate !== 0) return this.reset();
    if (message?.type !== 'start' || this.rate !== 0) return this.close(POLICY, 'text messages are one {"type":"start"}, then {"type":"reset"}');
    const rate = message.sampleRate;
    if (typeof rate !== 'number' || !Number.isInteger(rate) || rate < MIN_RATE || rate > MAX_RATE) {
      return this.close(POLICY, `sampleRate must be an integer from ${MIN_RATE} to ${MAX_RATE}`);
    }
    clearTimeout(this.startTimer);
    this.rate = rate;
    const windowSeconds = this.classifier.metadata.features.durationSeconds;
    this.ring = new Float32Array(Math.round(windowSeconds * rate));
    this.send({ type: 'ready', sampleRate: rate, windowSeconds, intervalSeconds: INTERVAL_MS / 1000, labels: this.classifier.labels, maxSeconds: this.limits.maxSeconds, adapts: this.adapter !== null, ...(this.adapter === null ? {} : { minSpeechSeconds: this.adapter.minSpeechSeconds }) });
    this.timer = setInterval(() => this.tick(), INTERVAL_MS);
  }

  private adaptation(extra: object = {}): object {
    const a = this.adapter as Adapter;
    // A statistics network's adapter also says how many windows' statistics it holds: it standardises
    // with their spread, which a handful of windows estimates badly (docs/inference.md).
    return { type: 'adaptation', applied: a.ready, speechSeconds: a.speechSeconds, minSpeechSeconds: a.minSpeechSeconds, ...(a.learnsStatistics ? { statisticsClips: a.statisticsClips } : {}), ...extra };
  }

  /** Forgets the speaker: a new person at the microphone. */
  private reset(): void {
    if (this.adapter === null) return;
    // A window being learnt belongs to the speaker before the reset: forget it too once it is in.
    if (this.adapting) {
      this.resetWhenLearnt = true;
      return;
    }
    this.adapter.reset();
    this.sinceAdapted = 0;
    this.send(this.adaptation({ reset: true }));
  }

  /** Every window's worth of new audio, the adapter learns from the last window (never two at once). */
  private learn(): void {
    if (this.adapter === null || this.adapting || this.sinceAdapted < this.ring.length || this.filled < this.ring.length) return;
    this.adapting = true;
    this.sinceAdapted = 0;
    const adapter = this.adapter;
    adapter
      .update(this.window(), { sampleRate: this.rate, offsetSeconds: 0 })
      .catch(() => {}) // a window it cannot read (non-finite samples): nothing learnt from it
      .finally(() => {
        this.adapting = false;
        if (this.resetWhenLearnt) {
          this.resetWhenLearnt = false;
          this.reset();
        } else this.send(this.adaptation());
      });
  }

  private append(samples: Float32Array): void {
    const size = this.ring.length;
    const tail = samples.length > size ? samples.subarray(samples.length - size) : samples;
    const first = Math.min(tail.length, size - this.write);
    this.ring.set(tail.subarray(0, first), this.write);
    this.ring.set(tail.subarray(first), 0);
    this.write = (this.write + tail.length) % size;
    this.filled = Math.min(size, this.filled + tail.length);
  }

  /** The last `filled` samples in time order. */
  private window(): Float32Array {
    const out = new Float32Array(this.filled);
    const start = (this.write - this.filled + this.ring.length) % this.ring.length;
    const first = Math.min(this.filled, this.ring.length - start);
    out.set(this.ring.subarray(start, start + first));
    out.set(this.ring.subarray(0, this.filled - first), first);
    return out;
  }

  private tick(): void {
    if ((Date.now() - this.opened) / 1000 > this.limits.maxSeconds) return this.close(POLICY, `a live session lasts at most ${this.limits.maxSeconds} s`);
    this.learn();
    if (this.inFlight || this.received === this.predictedAt) return;
    if (this.filled < MIN_SECONDS * this.rate) return this.send({ type: 'listening', seconds: this.filled / this.rate });
    const ticket = this.queue.admit();
    if (ticket === null) return this.send({ type: 'busy' });
    this.inFlight = true;
    this.predictedAt = this.received;
    const time = Math.round((this.received / this.rate) * 1000) / 1000;
    ticket
      .classify(this.window(), { sampleRate: this.rate, offsetSeconds: 0, ...(this.adapter === null ? {} : { adapter: this.adapter }) })
      .then(
        (result) => this.send({ type: 'prediction', time, ...result }),
        (error: unknown) => {
          const { body } = describeError(error);
          this.send(body.error.code === 'ERR_SILENT' ? { type: 'silent', time } : { type: 'error', time, ...body });
        },
      )
      .finally(() => {
        this.inFlight = false;
        ticket.release();
      });
  }
}

/** Adds the `/api/live` WebSocket route; returns the count of open live connections. */
export async function registerLive(
  app: FastifyInstance,
  context: { queue: InferenceQueue; classifier: Classifier; limits: ResolvedLiveLimits; routeConfig: FastifyContextConfig; minSpeechSeconds: number },
): Promise<{ connections(): number }> {
  const { queue, classifier, limits } = context;
  await app.register(websocket, { options: { maxPayload: limits.maxMessageBytes } });
  const sessions = new Set<LiveSession>();
  app.get('/api/live', { websocket: true, config: context.routeConfig }, (socket) => {
    if (sessions.size >= limits.maxConnections) {
      socket.close(TRY_LATER, 'too many live connections: try again later');
      return;
    }
    const session = new LiveSession(socket, queue, classifier, limits, context.minSpeechSeconds);
    sessions.add(session);
    socket.on('close', () => {
      session.stop();
      sessions.delete(session);
    });
  });
  return { connections: () => sessions.size };
}
