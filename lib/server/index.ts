/**
 * `emo serve` as a library: an HTTP API, a live WebSocket stream and a web page over one model.
 *
 * The web framework (Fastify) is loaded by {@link createServer} only, so `require('emo-native')`
 * for features or inference does not pay for it.
 *
 * @packageDocumentation
 */
import type { FastifyInstance } from 'fastify';
import type { Classifier, Provider } from '../infer/classifier';
import type { QueueStats } from './queue';

export type { QueueStats } from './queue';

/** Limits of live microphone streams (`/api/live`). */
export interface LiveLimits {
  /** Live connections open at once; more are closed with code 1013 "try again later". Default 8. */
  maxConnections?: number;
  /** Seconds one connection may stream; then it is closed (code 1008). Default 1800 (30 min). */
  maxSeconds?: number;
  /** Largest WebSocket message, bytes (default 256 KiB: 1.4 s of 48-kHz float samples). */
  maxMessageBytes?: number;
}

/** Options of {@link createServer}. */
export interface ServerOptions {
  /**
   * The model: an `.onnx` path or its bytes (loaded with `provider` and `threads`), or a loaded
   * {@link Classifier} (the server does not close it). Default: the bundled model.
   */
  model?: string | Uint8Array | Classifier;
  /** Execution provider when the server loads the model (default `'cpu'`). */
  provider?: Provider;
  /**
   * onnxruntime threads when the server loads the model (default: one per core). The model runs in
   * worker threads, off the event loop: a pool of `threads / 2` sessions of two threads each (at
   * least one session).
   */
  threads?: number;
  /** Interface to listen on (default `'127.0.0.1'`: this machine only). Anything else is an explicit choice. */
  host?: string;
  /** TCP port (default 8080; 0 picks a free one, see {@link EmoServer.url}). */
  port?: number;
  /** Largest upload, MB (10^6 bytes); larger ones are refused with 413 before their body is read. Default 50. */
  maxUploadMb?: number;
  /** Longest recording, seconds; longer ones are refused with 413. Default 600. */
  maxDurationSeconds?: number;
  /**
   * Inference tickets out at once, HTTP requests and live windows together (default 32): a request
   * beyond it is answered 503 before its body is read, a live window is skipped with a "busy" message.
   */
  queueSize?: number;
  /** Most clips per model call when requests are batched together (default: the classifier's `batchSize`). */
  maxBatch?: number;
  /** Requests per minute per client address on `/api/`, answered 429 above it; `false` turns it off. Default 1200. */
  rateLimit?: number | false;
  /** Live stream limits. */
  live?: LiveLimits;
  /**
   * Speaker adapters kept for `/api/adapters` (models trained with adaptation): at most this many
   * (the least recently used goes first; default 1000), each forgotten after `adapterIdleMinutes`
   * without use (default 60).
   */
  maxAdapters?: number;
  /** See `maxAdapters`. */
  adapterIdleMinutes?: number;
  /** Seconds of speech the server's adapters (live sessions, `/api/adapters`) need before they are used. Default 10. */
  minSpeechSeconds?: number;
  /** Fastify's request log (pino) on stdout. Default false. */
  logger?: boolean;
}

/** The server's counters, as `/healthz` reports them. */
export interface ServerStats {
  /** The inference queue. */
  queue: QueueStats;
  /** Live connections open now. */
  liveConnections: number;
  /** Speaker adapters held for `/api/adapters`. */
  adapters: number;
}

/** A server made by {@link createServer}. */
export interface EmoServer {
  /** The Fastify instance: add routes or hooks before `listen()`, or `app.inject()` in tests. */
  readonly app: FastifyInstance;
  /** The model it serves. */
  readonly classifier: Classifier;
  /** `http://host:port/` once listening, else null. */
  readonly url: string | null;
  /** Starts listening on `host`:`port`; resolves with the URL. */
  listen(): Promise<string>;
  /**
   * Graceful shutdown: stops accepting connections, closes live streams, lets requests in
   * flight finish, then releases the model (when the server loaded it).
   */
  close(): Promise<void>;
  /** Queue and connection counters. */
  stats(): ServerStats;
}

/**
 * Creates the `emo serve` server: `POST /api/classify`, `GET /api/model`, `GET /api/charts`, the
 * `/api/live` WebSocket, `GET /healthz`, `GET /metrics`, the speaker adapters at `/api/adapters`
 * (models trained with adaptation), and the web page at `/`. Loads the model unless given a
 * {@link Classifier}; listens only when `listen()` is called. On Linux it lowers the process's native
 * feature threads to nice 10 (`setThreadNiceness`), for the rest of the process's life, so that
 * under full load the event loop gets a core first.
 *
 * @throws {@link EmoError} when the model cannot be loaded (see {@link loadClassifier});
 *   TypeError/RangeError for bad options.
 * @example
 * const server = await createServer({ model: 'model.onnx', port: 0 });
 * console.log(await server.listen());   // http://127.0.0.1:40123/
 * process.once('SIGTERM', () => server.close());
 */
export async function createServer(options: ServerOptions = {}): Promise<EmoServer> {
  const { startServer } = await import('./app');
  return startServer(options);
}
