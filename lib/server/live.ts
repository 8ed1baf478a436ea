/**
 * Live emotion over a WebSocket (`/api/live`): the page streams microphone samples, the server
 * keeps the last 3 s per connection and answers with a prediction every 0.5 s.
 *
 * Protocol. Client → server: first a text message `{"type":"start","sampleRate":48000}`, then
 * binary messages of mono float32 little-endian samples at that rate. Server → client, JSON text:
 * `ready` (the settings), `listening` (less than a second heard so far), `prediction` (a classifier
 * result plus `time`, the seconds of audio received), `silent`, `busy` (the queue was full: this
 * tick skipped), `error` (`{code, message}` of a window that could not be classified).
 *
 * @packageDocumentation
 */
import type { FastifyContextConfig, FastifyInstance } from 'fastify';
import websocket from '@fastify/websocket';
import type { WebSocket } from 'ws';
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
  private readonly opened = Date.now();
  private timer: NodeJS.Timeout | null = null;
  private readonly startTimer: NodeJS.Timeout;

  constructor(
    private readonly socket: WebSocket,
    private readonly queue: InferenceQueue,
    private readonly classifier: Classifier,
    private readonly limits: ResolvedLiveLimits,
  ) {
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
    if (message?.type !== 'start' || this.rate !== 0) return this.close(POLICY, 'the only text message is one {"type":"start"}');
    const rate = message.sampleRate;
    if (typeof rate !== 'number' || !Number.isInteger(rate) || rate < MIN_RATE || rate > MAX_RATE) {
      return this.close(POLICY, `sampleRate must be an integer from ${MIN_RATE} to ${MAX_RATE}`);
    }
    clearTimeout(this.startTimer);
    this.rate = rate;
    const windowSeconds = this.classifier.metadata.features.durationSeconds;
    this.ring = new Float32Array(Math.round(windowSeconds * rate));
    this.send({ type: 'ready', sampleRate: rate, windowSeconds, intervalSeconds: INTERVAL_MS / 1000, labels: this.classifier.labels, maxSeconds: this.limits.maxSeconds });
    this.timer = setInterval(() => this.tick(), INTERVAL_MS);
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
    if (this.inFlight || this.received === this.predictedAt) return;
    if (this.filled < MIN_SECONDS * this.rate) return this.send({ type: 'listening', seconds: this.filled / this.rate });
    const ticket = this.queue.admit();
    if (ticket === null) return this.send({ type: 'busy' });
    this.inFlight = true;
    this.predictedAt = this.received;
    const time = Math.round((this.received / this.rate) * 1000) / 1000;
    ticket
      .classify(this.window(), { sampleRate: this.rate, offsetSeconds: 0 })
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
  context: { queue: InferenceQueue; classifier: Classifier; limits: ResolvedLiveLimits; routeConfig: FastifyContextConfig },
): Promise<{ connections(): number }> {
  const { queue, classifier, limits } = context;
  await app.register(websocket, { options: { maxPayload: limits.maxMessageBytes } });
  const sessions = new Set<LiveSession>();
  app.get('/api/live', { websocket: true, config: context.routeConfig }, (socket) => {
    if (sessions.size >= limits.maxConnections) {
      socket.close(TRY_LATER, 'too many live connections: try again later');
      return;
    }
    const session = new LiveSession(socket, queue, classifier, limits);
    sessions.add(session);
    socket.on('close', () => {
      session.stop();
      sessions.delete(session);
    });
  });
  return { connections: () => sessions.size };
}
