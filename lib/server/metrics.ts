/**
 * `GET /metrics` of `emo serve`, in the Prometheus text format (prom-client): requests by route and
 * status, their latency, the inference queue (depth, refusals, batch sizes, model time), live
 * connections, adapters, the model's identity, and the process (CPU, memory, event-loop lag, GC).
 * Each server has its own registry, so several servers in one process do not share counters.
 *
 * @packageDocumentation
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Classifier } from '../infer/classifier';
import type { QueueStats, RunObserver } from './queue';

/** Latency buckets, seconds: from a cached page to a long timeline. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128];

/** The server's side of the metrics: what it reads when Prometheus scrapes. */
export interface MetricSources {
  queue(): QueueStats;
  liveConnections(): number;
  adapters(): number;
}

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'route' | 'method' | 'status'>;
  private readonly latency: Histogram<'route' | 'method'>;
  private readonly batches: Histogram;
  private readonly inference: Histogram<'kind'>;

  constructor(classifier: Classifier, model: string, sources: MetricSources) {
    const registry = this.registry;
    collectDefaultMetrics({ register: registry });
    this.requests = new Counter({ name: 'emo_http_requests_total', help: 'HTTP requests answered, by route, method and status', labelNames: ['route', 'method', 'status'], registers: [registry] });
    this.latency = new Histogram({ name: 'emo_http_request_duration_seconds', help: 'Time from request to response, by route', labelNames: ['route', 'method'], buckets: LATENCY_BUCKETS, registers: [registry] });
    this.batches = new Histogram({ name: 'emo_inference_batch_clips', help: 'Clips per model call (requests and live windows batched together)', buckets: BATCH_BUCKETS, registers: [registry] });
    this.inference = new Histogram({ name: 'emo_inference_seconds', help: 'Time of one model call: a batch of clips, or a whole timeline', labelNames: ['kind'], buckets: LATENCY_BUCKETS, registers: [registry] });
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          this.set(read());
        },
      });
    gauge('emo_queue_waiting', 'Jobs waiting for the model now', () => sources.queue().waiting);
    gauge('emo_queue_admitted', 'Inference tickets out now (requests and live windows admitted, not finished)', () => sources.queue().admitted);
    gauge('emo_queue_capacity', 'The most inference tickets out at once', () => sources.queue().capacity);
    // Counters the queue keeps itself, exposed as counters (they only grow).
    const counter = (name: string, help: string, read: () => number) =>
      new Counter({
        name,
        help,
        registers: [registry],
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    counter('emo_queue_refused_total', 'Admissions refused because the queue was full (503 or a skipped live window)', () => sources.queue().refused);
    counter('emo_clips_classified_total', 'Clips classified (timelines not counted)', () => sources.queue().clips);
    counter('emo_timelines_total', 'Timelines of long recordings computed', () => sources.queue().timelines);
    gauge('emo_live_connections', 'Live WebSocket connections open now', () => sources.liveConnections());
    gauge('emo_adapters', 'Speaker adapters held for /api/adapters', () => sources.adapters());
    const info = new Gauge({ name: 'emo_model_info', help: 'The model served (always 1)', labelNames: ['model', 'emo_version', 'provider', 'labels', 'adapts'], registers: [registry] });
    info.set({ model, emo_version: classifier.metadata.version, provider: classifier.provider, labels: classifier.labels.join(','), adapts: String(classifier.adapts) }, 1);
  }

  /** Records an answered request. `route` is the route's pattern (`/api/adapters/:id`), never the raw URL. */
  request(route: string, method: string, status: number, seconds: number): void {
    this.requests.inc({ route, method, status: String(status) });
    this.latency.observe({ route, method }, seconds);
  }

  /** The queue's observer: batch sizes and model time. */
  readonly run: RunObserver = (kind, size, seconds) => {
    if (kind === 'clips') this.batches.observe(size);
    this.inference.observe({ kind }, seconds);
  };
}
