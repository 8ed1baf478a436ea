/**
 * `emo worker --metrics-port`: the worker's Prometheus metrics (prom-client) on a port of its own —
 * jobs done, failed and retried, files classified and failed (`rate()` of which is files per
 * second), job time, the model's identity, and the process.
 *
 * @packageDocumentation
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

const JOB_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

export class WorkerMetrics {
  readonly registry = new Registry();
  private readonly jobs: Counter<'kind' | 'outcome'>;
  private readonly retried: Counter<'kind'>;
  private readonly files: Counter<'outcome'>;
  private readonly seconds: Histogram<'kind'>;

  constructor(model: { name: string; version: string; provider: string; adapts: boolean }) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.jobs = new Counter({ name: 'emo_worker_jobs_total', help: 'Jobs finished by this worker, by kind (classify, statistics) and outcome (done, failed)', labelNames: ['kind', 'outcome'], registers });
    this.retried = new Counter({ name: 'emo_worker_jobs_retried_total', help: 'Jobs this worker took that had lost a worker before (their earlier worker died or stalled)', labelNames: ['kind'], registers });
    this.files = new Counter({ name: 'emo_worker_files_total', help: 'Files of classification jobs, by outcome (classified, failed); rate() gives files per second', labelNames: ['outcome'], registers });
    this.seconds = new Histogram({ name: 'emo_worker_job_seconds', help: 'Time from a job\'s start to its end on this worker', labelNames: ['kind'], buckets: JOB_BUCKETS, registers });
    new Gauge({ name: 'emo_worker_model_info', help: 'The model this worker runs (always 1)', labelNames: ['model', 'emo_version', 'provider', 'adapts'], registers }).set(
      { model: model.name, emo_version: model.version, provider: model.provider, adapts: String(model.adapts) },
      1,
    );
  }

  /** A job starts: `retry` when it had been taken by a worker before. */
  started(kind: string, retry: boolean): void {
    if (retry) this.retried.inc({ kind });
  }

  /** A job ends: its outcome, time, and for classification jobs its files. */
  finished(kind: string, outcome: 'done' | 'failed', seconds: number, files?: { classified: number; failed: number }): void {
    this.jobs.inc({ kind, outcome });
    this.seconds.observe({ kind }, seconds);
    if (files) {
      this.files.inc({ outcome: 'classified' }, files.classified);
      this.files.inc({ outcome: 'failed' }, files.failed);
    }
  }

  /** Serves `GET /metrics` on `host`:`port` (0: a free port); resolves with its URL. */
  async listen(port: number, host: string): Promise<{ url: string; close(): Promise<void> }> {
    const server = http.createServer((request, response) => {
      if (request.method !== 'GET' || request.url !== '/metrics') {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('GET /metrics\n');
        return;
      }
      this.registry.metrics().then(
        (text) => response.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
        () => response.writeHead(500).end(),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, resolve);
    });
    const address = server.address() as AddressInfo;
    const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return {
      url: `http://${shown}:${address.port}/metrics`,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }
}
