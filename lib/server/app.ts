/**
 * The Fastify application behind `emo serve` (loaded by `createServer` only).
 *
 * @packageDocumentation
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Fastify, { type FastifyContextConfig, type FastifyRequest } from 'fastify';
import helmet from '@fastify/helmet';
import multipart from '@fastify/multipart';
import rateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import { isSingleClip, loadClassifier, type Classifier } from '../infer/classifier';
import { decodeWithFfmpeg, needsFfmpeg } from '../infer/decode';
import { scanWav } from '../infer/wav-layout';
import { setThreadNiceness } from '../features';
import { COMPUTE_NICENESS } from '../infer/session';
import { checkInteger, checkKnownKeys, checkNumber, checkPlainObject, invalidType } from '../validate';
import { EmoError } from '../errors';
import { DEFAULT_MIN_SPEECH_SECONDS } from '../infer/adapter';
import { describeError, HttpError } from './errors';
import type { EmoServer, ServerOptions } from './index';
import { AdapterStore } from './adapters';
import { ServerMetrics } from './metrics';
import { registerLive, type ResolvedLiveLimits } from './live';
import { InferenceQueue, type QueueStats, type Ticket } from './queue';
import { pageCharts, type PageCharts } from '../plot/charts';

/** The page's files. They stay beside the sources (the package ships `lib/server/public/`). */
export const PUBLIC_DIR = path.join(__dirname, '..', '..', 'lib', 'server', 'public');

// A multipart form wraps the file in boundaries and part headers: allow that much above the file limit.
const FORM_OVERHEAD = 64 * 1024;
/**
 * The page's chart runtime, served from the installed packages (nothing is fetched from elsewhere):
 * Vega, and its expression interpreter so that charts run under a Content-Security-Policy without
 * 'unsafe-eval'. The specs themselves come compiled from GET /api/charts.
 */
const VENDOR_SCRIPTS: Readonly<Record<string, string>> = {
  'vega.min.js': require.resolve('vega/build/vega.min.js'),
  'vega-interpreter.min.js': require.resolve('vega-interpreter/build/vega-interpreter.min.js'),
};
// Content types read as a WAV file (anything else goes through ffmpeg unless its bytes are a WAV).
const WAV_TYPES = new Set(['audio/wav', 'audio/x-wav', 'audio/wave', 'audio/vnd.wave']);

interface Resolved {
  host: string;
  port: number;
  maxUploadBytes: number;
  maxDurationSeconds: number;
  queueSize: number;
  maxBatch: number | undefined;
  rateLimit: number | false;
  live: ResolvedLiveLimits;
  maxAdapters: number;
  adapterIdleMs: number;
  minSpeechSeconds: number;
  logger: boolean;
}

function resolveOptions(options: ServerOptions): Resolved {
  const o = checkPlainObject('options', options);
  checkKnownKeys('options', o, ['model', 'provider', 'threads', 'host', 'port', 'maxUploadMb', 'maxDurationSeconds', 'queueSize', 'maxBatch', 'rateLimit', 'live', 'maxAdapters', 'adapterIdleMinutes', 'minSpeechSeconds', 'logger']);
  const live = o.live === undefined ? {} : checkPlainObject('options.live', o.live);
  checkKnownKeys('options.live', live, ['maxConnections', 'maxSeconds', 'maxMessageBytes']);
  if (o.host !== undefined && (typeof o.host !== 'string' || o.host === '')) throw invalidType('options.host', 'a host name or address', o.host);
  if (o.rateLimit !== undefined && o.rateLimit !== false) checkInteger('options.rateLimit', o.rateLimit, 1, 1e9);
  return {
    host: (o.host as string | undefined) ?? '127.0.0.1',
    port: o.port === undefined ? 8080 : checkInteger('options.port', o.port, 0, 65535),
    maxUploadBytes: Math.round(1e6 * (o.maxUploadMb === undefined ? 50 : checkNumber('options.maxUploadMb', o.maxUploadMb, 0.001, 4096))),
    maxDurationSeconds: o.maxDurationSeconds === undefined ? 600 : checkNumber('options.maxDurationSeconds', o.maxDurationSeconds, 1, 86400),
    queueSize: o.queueSize === undefined ? 32 : checkInteger('options.queueSize', o.queueSize, 1, 100000),
    maxBatch: o.maxBatch === undefined ? undefined : checkInteger('options.maxBatch', o.maxBatch, 1, 4096),
    rateLimit: o.rateLimit === undefined ? 1200 : (o.rateLimit as number | false),
    live: {
      maxConnections: live.maxConnections === undefined ? 8 : checkInteger('options.live.maxConnections', live.maxConnections, 0, 100000),
      maxSeconds: live.maxSeconds === undefined ? 1800 : checkNumber('options.live.maxSeconds', live.maxSeconds, 1, 7 * 86400),
      maxMessageBytes: live.maxMessageBytes === undefined ? 256 * 1024 : checkInteger('options.live.maxMessageBytes', live.maxMessageBytes, 1024, 64 * 2 ** 20),
    },
    maxAdapters: o.maxAdapters === undefined ? 1000 : checkInteger('options.maxAdapters', o.maxAdapters, 1, 1e6),
    adapterIdleMs: 60_000 * (o.adapterIdleMinutes === undefined ? 60 : checkNumber('options.adapterIdleMinutes', o.adapterIdleMinutes, 0.01, 7 * 24 * 60)),
    minSpeechSeconds: o.minSpeechSeconds === undefined ? DEFAULT_MIN_SPEECH_SECONDS : checkNumber('options.minSpeechSeconds', o.minSpeechSeconds, 0, 86400),
    logger: o.logger === true,
  };
}

/** At most `size` holders at once; the others wait their turn. */
class Semaphore {
  private waiting: Array<() => void> = [];
  constructor(private free: number) {}
  async use<T>(work: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}

const urlHost = (host: string) => (host.includes(':') ? `[${host}]` : host);

/** True when a request's Origin header names this server (or is absent: not a browser's cross-site request). */
function sameOrigin(request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

export async function startServer(options: ServerOptions): Promise<EmoServer> {
  const settings = resolveOptions(options);
  const model = options.model;
  const owned = !(model !== undefined && typeof model === 'object' && !(model instanceof Uint8Array));
  // The model runs in worker threads, never on the event loop: a pool of sessions of two threads
  // each, as many as `threads` (default: the cores) allows, at least one.
  const totalThreads = options.threads === undefined ? Math.max(1, os.availableParallelism()) : checkInteger('options.threads', options.threads, 1, 1024);
  const pool = Math.max(1, Math.floor(totalThreads / 2));
  // Under full load the event loop goes first: the feature threads (and, in their workers, the
  // sessions) run at a lower priority, so /healthz and live windows are not kept waiting for a core.
  setThreadNiceness(COMPUTE_NICENESS);
  const classifier: Classifier = owned
    ? await loadClassifier(model as string | Uint8Array | undefined, {
        ...(options.provider === undefined ? {} : { provider: options.provider }),
        threads: Math.max(1, Math.floor(totalThreads / pool)),
        worker: pool,
      })
    : (model as Classifier);
  const features = classifier.metadata.features;
  const clipSeconds = features.durationSeconds;
  // The model's name for the metrics: a bundled name, a file's base name, or what was given.
  const modelName = typeof model === 'string' ? path.basename(model) : owned ? (model === undefined ? 'bundled' : 'bytes') : 'classifier';
  let live: { connections(): number } = { connections: () => 0 };
  const metrics: ServerMetrics = new ServerMetrics(classifier, modelName, { queue: (): QueueStats => queue.stats(), liveConnections: () => live.connections(), adapters: () => adapters.size });
  const queue: InferenceQueue = new InferenceQueue(classifier, settings.queueSize, settings.maxBatch ?? classifier.batchSize, metrics.run);
  const ffmpegSlots = new Semaphore(Math.max(1, os.availableParallelism()));
  const tickets = new WeakMap<FastifyRequest, Ticket>();
  const adapters = new AdapterStore(classifier, settings.maxAdapters, settings.adapterIdleMs, settings.minSpeechSeconds);

  const app = Fastify({
    logger: settings.logger,
    bodyLimit: 64 * 1024,
    // A client that sends its body slower than this is cut off (slow uploads hold a queue ticket).
    requestTimeout: 120_000,
    connectionTimeout: 0,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
  });

  app.setErrorHandler((error, request, reply) => {
    const { status, body } = describeError(error);
    if (status >= 500) request.log.error(error);
    // The body of a refused request may still be on its way: do not wait for it on this connection.
    if (status === 413 || status === 503 || status === 415) reply.header('connection', 'close');
    if (status === 503) reply.header('retry-after', '1');
    void reply.code(status).type('application/json; charset=utf-8').send(body);
  });
  app.addHook('onResponse', async (request, reply) => {
    // The route's pattern, so /api/adapters/<id> is one series; anything unrouted is one more.
    metrics.request(request.routeOptions.url ?? 'unmatched', request.method, reply.statusCode, reply.elapsedTime / 1000);
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ error: { code: 'ERR_NOT_FOUND', message: `no such page: ${request.method} ${request.url.slice(0, 200)}` } });
  });

  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        mediaSrc: ["'self'", 'blob:'],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    // Plain HTTP on loopback: a Strict-Transport-Security header would be ignored, or wrong behind a proxy.
    strictTransportSecurity: false,
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('permissions-policy', 'microphone=(self), camera=(), geolocation=()');
    return payload;
  });
  // No CORS: a page from elsewhere may not use this server through its visitor's browser.
  app.addHook('onRequest', async (request) => {
    if (!sameOrigin(request)) throw new HttpError(403, 'ERR_CROSS_ORIGIN', 'requests from other origins are not accepted (no CORS)');
  });
  await app.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_request, context) => new HttpError(429, 'ERR_RATE_LIMITED', `more than ${context.max} requests in ${context.after}: slow down`),
  });
  const limited: FastifyContextConfig = settings.rateLimit === false ? {} : { rateLimit: { max: settings.rateLimit, timeWindow: 60_000 } };

  await app.register(fastifyStatic, { root: PUBLIC_DIR, index: ['index.html'], dotfiles: 'deny', maxAge: 0 });

  app.get('/vendor/:file', async (request, reply) => {
    const { file } = request.params as { file: string };
    const source = Object.hasOwn(VENDOR_SCRIPTS, file) ? VENDOR_SCRIPTS[file] : undefined;
    if (source === undefined) throw new HttpError(404, 'ERR_NOT_FOUND', `no such page: /vendor/${file.slice(0, 100)}`);
    void reply.type('text/javascript; charset=utf-8').header('cache-control', 'public, max-age=86400');
    return fs.createReadStream(source);
  });
  // Compiled once, on the first request: the specs depend only on the model's labels.
  let charts: Promise<PageCharts> | undefined;
  app.get('/api/charts', { config: limited }, async () => {
    charts ??= pageCharts(classifier.labels).catch((error: unknown) => {
      charts = undefined; // not cached: the next request tries again
      throw error;
    });
    return charts;
  });

  app.get('/healthz', async () => ({ status: 'ok', provider: classifier.provider, ...stats() }));
  app.get('/metrics', async (_request, reply) => {
    void reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  app.get('/api/model', { config: limited }, async () => ({
    labels: classifier.labels,
    features,
    adapts: classifier.adapts,
    metadata: { version: classifier.metadata.version, training: classifier.metadata.training, parity: classifier.metadata.parity },
    provider: classifier.provider,
    limits: {
      maxUploadBytes: settings.maxUploadBytes,
      maxDurationSeconds: settings.maxDurationSeconds,
      clipSeconds,
      offsetSeconds: features.offsetSeconds,
      live: { windowSeconds: clipSeconds, intervalSeconds: 0.5, ...settings.live },
    },
  }));

  // Speaker adapters: create (empty, or from saved statistics in the JSON body), read, forget.
  app.post('/api/adapters', { config: limited }, async (request, reply) => {
    const body = request.body as { statistics?: unknown } | undefined;
    const { id, adapter } = adapters.create(body?.statistics);
    void reply.code(201);
    return adapters.info(id, adapter);
  });
  app.get('/api/adapters/:id', { config: limited }, async (request) => {
    const { id } = request.params as { id: string };
    const adapter = adapters.get(id);
    return { ...adapters.info(id, adapter), statistics: adapter.toJSON() };
  });
  app.delete('/api/adapters/:id', { config: limited }, async (request, reply) => {
    const { id } = request.params as { id: string };
    if (!adapters.delete(id)) throw new HttpError(404, 'ERR_ADAPTER_NOT_FOUND', `no adapter '${id.slice(0, 64)}'`);
    void reply.code(204);
  });

  // The classify route lives in its own context: only audio and multipart bodies parse there.
  await app.register(async (api) => {
    api.removeAllContentTypeParsers();
    api.addContentTypeParser(/^(audio\/[\w.+-]+|application\/octet-stream)$/, { parseAs: 'buffer', bodyLimit: settings.maxUploadBytes }, (_request, body, done) => done(null, body));
    await api.register(multipart, { limits: { fileSize: settings.maxUploadBytes, files: 1, fields: 8, parts: 16, fieldSize: 1024, headerPairs: 100 } });

    api.post(
      '/api/classify',
      {
        config: limited,
        // Admission happens before the body is read: a refused request costs no memory.
        preParsing: async (request, reply, payload) => {
          const length = Number(request.headers['content-length']);
          if (length > settings.maxUploadBytes + FORM_OVERHEAD) {
            throw new HttpError(413, 'ERR_TOO_LARGE', `the upload is ${length} bytes; the limit is ${settings.maxUploadBytes}`);
          }
          const ticket = queue.admit();
          if (ticket === null) throw new HttpError(503, 'ERR_BUSY', 'the inference queue is full: retry in a moment');
          tickets.set(request, ticket);
          reply.raw.once('close', () => ticket.release());
          return payload;
        },
      },
      async (request) => {
        const ticket = tickets.get(request) as Ticket;
        const { adapter: adapterId } = request.query as { adapter?: string };
        const adapter = adapterId === undefined ? undefined : adapters.get(adapterId);
        const { bytes, type } = await readUpload(request);
        const wav = await toWav(bytes, type);
        const layout = scanWav(wav);
        const duration = layout ? layout.frames / layout.sampleRate : 0;
        if (duration > settings.maxDurationSeconds) {
          throw new HttpError(413, 'ERR_TOO_LONG', `the recording lasts ${duration.toFixed(1)} s; the limit is ${settings.maxDurationSeconds} s`);
        }
        if (adapter !== undefined) {
          // The recording adds to its speaker's statistics first, then is classified with them.
          const update = await adapter.update(wav);
          if (update.failed.length > 0) throw (update.failed[0] as { error: EmoError }).error;
        }
        const withAdapter = adapter === undefined ? {} : { adapter };
        const result = isSingleClip(duration, features.offsetSeconds, clipSeconds, clipSeconds) ? await ticket.classify(wav, withAdapter) : await ticket.timeline(wav, withAdapter);
        return { ...result, duration: Math.round(duration * 1000) / 1000 };
      },
    );
  });

  live = await registerLive(app, { queue, classifier, limits: settings.live, routeConfig: limited, minSpeechSeconds: settings.minSpeechSeconds });

  /** The upload's bytes and declared type: a raw audio body, or the one file of a multipart form. */
  async function readUpload(request: FastifyRequest): Promise<{ bytes: Uint8Array; type: string }> {
    if (!request.isMultipart()) {
      const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
      return { bytes: (request.body as Buffer | undefined) ?? Buffer.alloc(0), type };
    }
    const part = await request.file();
    if (part === undefined) throw new HttpError(400, 'ERR_NO_FILE', 'the form has no file: send the recording in a file field');
    const type = part.mimetype.toLowerCase();
    if (!/^(audio|video)\/|^application\/octet-stream$/.test(type)) {
      part.file.resume();
      throw new HttpError(415, 'ERR_UNSUPPORTED_MEDIA_TYPE', `the file is ${type}, not audio`);
    }
    return { bytes: await part.toBuffer(), type };
  }

  /** WAV bytes as they are (the decoder judges them); other audio through ffmpeg, by content, whatever the declared type. */
  async function toWav(bytes: Uint8Array, type: string): Promise<Uint8Array> {
    if (!needsFfmpeg(bytes, '', WAV_TYPES.has(type))) return bytes;
    return ffmpegSlots.use(async () => {
      const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'emo-serve-'));
      try {
        const file = path.join(dir, 'upload');
        await fs.promises.writeFile(file, bytes);
        return await decodeWithFfmpeg(file, { maxSeconds: settings.maxDurationSeconds + 1 });
      } finally {
        await fs.promises.rm(dir, { recursive: true, force: true });
      }
    });
  }

  const stats = () => ({ queue: queue.stats(), liveConnections: live.connections(), adapters: adapters.size });

  let url: string | null = null;
  let closing: Promise<void> | null = null;
  return {
    app,
    classifier,
    get url() {
      return url;
    },
    async listen() {
      await app.listen({ host: settings.host, port: settings.port });
      const address = app.server.address();
      const port = typeof address === 'object' && address !== null ? address.port : settings.port;
      url = `http://${urlHost(settings.host)}:${port}/`;
      return url;
    },
    close() {
      closing ??= (async () => {
        await app.close();
        await queue.idle();
        adapters.clear();
        if (owned) await classifier.close();
      })();
      return closing;
    },
    stats,
  };
}
