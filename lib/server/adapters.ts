/**
 * The server's speaker adapters (`/api/adapters`): a client creates one (empty, or from statistics
 * it saved), names it in `POST /api/classify?adapter=ID`, and every recording it sends adds to the
 * statistics before it is classified with them — adaptation across requests. They live in memory
 * only, bounded in number and idle time: statistics of a voice are personal data, so they are
 * forgotten when idle, on `DELETE`, and when the server stops.
 *
 * @packageDocumentation
 */
import { randomUUID } from 'node:crypto';
import { EmoError } from '../errors';
import type { Adapter } from '../infer/adapter';
import type { Classifier } from '../infer/classifier';
import { HttpError } from './errors';

/** What the API says of an adapter. */
export interface AdapterInfo {
  id: string;
  speechSeconds: number;
  ready: boolean;
  minSpeechSeconds: number;
}

export class AdapterStore {
  // Insertion order is use order: the first entry is the least recently used.
  private readonly adapters = new Map<string, { adapter: Adapter; used: number }>();

  constructor(
    private readonly classifier: Classifier,
    private readonly maxAdapters: number,
    private readonly idleMs: number,
    private readonly minSpeechSeconds: number,
  ) {}

  get size(): number {
    return this.adapters.size;
  }

  /** A new adapter, empty or from saved statistics (their JSON). */
  create(saved?: unknown): { id: string; adapter: Adapter } {
    if (!this.classifier.adapts) throw new EmoError('this model does not adapt to a speaker: it takes no adapter', 'ERR_ADAPTATION_UNSUPPORTED');
    const minSpeechSeconds = this.minSpeechSeconds;
    const adapter = saved === undefined ? this.classifier.createAdapter({ minSpeechSeconds }) : this.classifier.loadAdapter(saved, { minSpeechSeconds });
    this.sweep();
    while (this.adapters.size >= this.maxAdapters) this.adapters.delete(this.adapters.keys().next().value as string);
    const id = randomUUID();
    this.adapters.set(id, { adapter, used: Date.now() });
    return { id, adapter };
  }

  /** The adapter of `id`, now the most recently used. @throws HttpError 404 when there is none (or it was forgotten). */
  get(id: string): Adapter {
    this.sweep();
    const entry = this.adapters.get(id);
    if (entry === undefined) throw new HttpError(404, 'ERR_ADAPTER_NOT_FOUND', `no adapter '${id.slice(0, 64)}': it was deleted, forgotten after ${this.idleMs / 60000} idle minutes, or never made (POST /api/adapters)`);
    this.adapters.delete(id);
    entry.used = Date.now();
    this.adapters.set(id, entry);
    return entry.adapter;
  }

  delete(id: string): boolean {
    return this.adapters.delete(id);
  }

  clear(): void {
    this.adapters.clear();
  }

  info(id: string, adapter: Adapter): AdapterInfo {
    return { id, speechSeconds: adapter.speechSeconds, ready: adapter.ready, minSpeechSeconds: adapter.minSpeechSeconds };
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, entry] of this.adapters) {
      if (now - entry.used <= this.idleMs) break; // the rest were used later
      this.adapters.delete(id);
    }
  }
}
