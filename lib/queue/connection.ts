/**
 * Redis for the queue: a check at start that fails fast and clearly, the options BullMQ's own
 * connections get, and a watch that gives up after a bounded time when Redis goes away mid-run.
 *
 * @packageDocumentation
 */
import { Redis as IORedis } from 'ioredis';
import { Queue, QueueEvents, type ConnectionOptions } from 'bullmq';
import { EmoError } from '../errors';

/** The queue `emo classify --redis` and `emo worker` use unless told otherwise. */
export const DEFAULT_QUEUE = 'emo-classify';

/** Seconds the commands keep trying when Redis goes away during a run, unless told otherwise. */
export const DEFAULT_REDIS_WAIT_SECONDS = 60;

const CONNECT_TIMEOUT_MS = 5000;

/** The URL without its password, for messages. */
export function describeRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

/** Checks that `url` is a Redis URL (`redis://` or `rediss://`); a RangeError says what is wrong. */
export function checkRedisUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RangeError(`'${url}' is not a Redis URL (expected redis://host:port, or rediss:// for TLS)`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw new RangeError(`'${describeRedisUrl(url)}' is not a Redis URL (expected redis://host:port, or rediss:// for TLS)`);
  return url;
}

function unavailable(url: string, why: string): EmoError {
  return new EmoError(`cannot reach Redis at ${describeRedisUrl(url)} (${why}): start redis-server there, or pass the URL of one the machines share`, 'ERR_QUEUE_UNAVAILABLE');
}

/**
 * Connects once, without retrying, and sends a PING.
 *
 * @throws {@link EmoError} `ERR_QUEUE_UNAVAILABLE` naming the URL (password hidden) and the reason.
 */
export async function checkRedis(url: string): Promise<void> {
  const client = new IORedis(url, { lazyConnect: true, connectTimeout: CONNECT_TIMEOUT_MS, retryStrategy: () => null, maxRetriesPerRequest: 0, enableOfflineQueue: false });
  // The socket's error (ECONNREFUSED, ENOTFOUND, ...) says more than connect()'s "Connection is closed".
  let cause: Error | null = null;
  client.on('error', (error: Error) => (cause ??= error));
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    const e = (cause ?? error) as NodeJS.ErrnoException;
    throw unavailable(url, e.code ? `${e.code}${e.message.includes(e.code) ? '' : `: ${e.message}`}` : e.message);
  } finally {
    client.disconnect();
  }
}

/**
 * What BullMQ's connections get: reconnect for ever, quickly at first (the {@link RedisWatch}
 * decides when to give up), and commands wait for the connection instead of failing
 * (`maxRetriesPerRequest: null`, which BullMQ's blocking calls require).
 */
export function bullConnection(url: string): ConnectionOptions {
  return { url, maxRetriesPerRequest: null, connectTimeout: CONNECT_TIMEOUT_MS, retryStrategy: (times: number) => Math.min(100 * times, 1000) };
}

/**
 * A queue and its events, connected and ready, for a producer: the URL checked, Redis reached
 * (`ERR_QUEUE_UNAVAILABLE` when it is not), connection errors left to a {@link RedisWatch}.
 */
export async function openQueue(url: string, name: string): Promise<{ queue: Queue; events: QueueEvents }> {
  checkRedisUrl(url);
  await checkRedis(url);
  const queue = new Queue(name, { connection: bullConnection(url) });
  const events = new QueueEvents(name, { connection: bullConnection(url) });
  // Connection trouble is measured by the RedisWatch, which ends the run when it lasts.
  queue.on('error', () => {});
  events.on('error', () => {});
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
  return { queue, events };
}

/**
 * Pings Redis every second on a connection of its own; when no ping has succeeded for
 * `limitSeconds`, calls `onLost` once with an `ERR_QUEUE_UNAVAILABLE` error.
 */
export class RedisWatch {
  private readonly client: IORedis;
  private readonly timer: NodeJS.Timeout;
  private lastOk = Date.now();
  private lost = false;

  constructor(
    private readonly url: string,
    private readonly limitSeconds: number,
    private readonly onLost: (error: EmoError) => void,
  ) {
    this.client = new IORedis(url, { connectTimeout: 1000, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => 500 });
    this.client.on('error', () => {}); // an outage is measured by the pings below
    this.timer = setInterval(() => this.check(), 1000);
  }

  private check(): void {
    this.client.ping().then(
      () => (this.lastOk = Date.now()),
      () => {
        const silent = (Date.now() - this.lastOk) / 1000;
        if (silent >= this.limitSeconds && !this.lost) {
          this.lost = true;
          this.onLost(unavailable(this.url, `no answer for ${Math.round(silent)} s during the run`));
        }
      },
    );
  }

  /** Stops watching and closes the connection. */
  stop(): void {
    clearInterval(this.timer);
    this.client.disconnect();
  }
}
