import * as os from 'node:os';
import { describeRedisUrl } from '../queue/connection';
import { startClassifyWorker } from '../queue/worker';
import type { Provider } from '../infer/classifier';
import { numberFlag, parseCommandLine, UsageError } from './usage';

export const WORKER_USAGE = `Usage: emo worker --redis URL [--queue emo-classify] [--concurrency 1] [--model FILE]
                  [--provider cpu|cuda|auto] [--threads N] [--batch 32]
                  [--stalled-after 30] [--redis-wait 60] [--metrics-port N [--metrics-host 127.0.0.1]]
                  [--work-dir DIR]

Takes the jobs of 'emo classify --redis URL' from the queue and classifies their files
(read by path from storage the machines share, or shipped in the job), a job's clips
batched through the model. Run one on every machine; any number may come and go.
With --queue emo-train it trains the folds of 'emo crossval --redis URL' instead
(one at a time: keep --concurrency 1 there).

  --redis URL         redis://host:port of the queue's Redis
  --queue NAME        queue name (default emo-classify)
  --concurrency N     jobs at a time (default 1); they share the model
  --model FILE        an .onnx file from 'emo export', or a bundled model by name: ravdess, synth
                      (default: ravdess, trained on human speech); give every worker the same one
  --provider P        cpu, cuda or auto (default cpu)
  --threads N         onnxruntime threads (default: one per core)
  --batch N           clips per pipeline step (default 32)
  --stalled-after S   seconds after which the job of a worker that stopped answering
                      (killed, frozen, cut off) goes to another worker (default 30)
  --redis-wait S      seconds to keep trying when Redis goes away (default 60); then
                      exit 1, for a supervisor to restart it
  --metrics-port N    serve Prometheus metrics at http://host:N/metrics: jobs done,
                      failed and retried, files (rate() is files per second), job time,
                      the process; 0 picks a free port (printed)
  --metrics-host H    its interface (default 127.0.0.1; 0.0.0.0 for a Prometheus elsewhere)
  --work-dir DIR      where folds train (default: the system's temporary folder); on a
                      mount the workers share, a fold resumes from its last epoch after its
                      worker died

SIGTERM or Ctrl-C: finish the jobs in progress, then exit 0; a second one: exit at once
(the unfinished jobs go to other workers after --stalled-after seconds).`;

export async function runWorker(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(
    argv,
    {
      redis: { type: 'string' },
      queue: { type: 'string' },
      concurrency: { type: 'string' },
      model: { type: 'string' },
      provider: { type: 'string' },
      threads: { type: 'string' },
      batch: { type: 'string' },
      'stalled-after': { type: 'string' },
      'redis-wait': { type: 'string' },
      'metrics-port': { type: 'string' },
      'metrics-host': { type: 'string' },
      'work-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    WORKER_USAGE,
  );
  if (values.help) {
    process.stdout.write(`${WORKER_USAGE}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`emo worker takes no file names (the jobs name them), not '${positionals[0]}'`, WORKER_USAGE);
  const url = values.redis;
  if (url === undefined) throw new UsageError('emo worker needs --redis URL (the Redis of the queue)', WORKER_USAGE);
  if (!/^rediss?:\/\/./.test(url)) throw new UsageError(`--redis must be a URL like redis://host:6379, not '${url}'`, WORKER_USAGE);
  const provider = (values.provider ?? 'cpu') as Provider;
  if (!['cpu', 'cuda', 'auto'].includes(provider)) throw new UsageError(`--provider must be cpu, cuda or auto, not '${values.provider}'`, WORKER_USAGE);
  const concurrency = numberFlag('concurrency', values.concurrency, WORKER_USAGE, { integer: true, min: 1, max: 256 }) ?? 1;
  const threads = numberFlag('threads', values.threads, WORKER_USAGE, { integer: true, min: 1, max: 1024 });
  const batchSize = numberFlag('batch', values.batch, WORKER_USAGE, { integer: true, min: 1, max: 4096 });
  const stalledAfterSeconds = numberFlag('stalled-after', values['stalled-after'], WORKER_USAGE, { min: 0.5, max: 86400 });
  const redisWaitSeconds = numberFlag('redis-wait', values['redis-wait'], WORKER_USAGE, { min: 1, max: 86400 });
  const queue = values.queue;
  const metricsPort = numberFlag('metrics-port', values['metrics-port'], WORKER_USAGE, { integer: true, min: 0, max: 65535 });
  if (values['metrics-host'] !== undefined && metricsPort === undefined) throw new UsageError('--metrics-host goes with --metrics-port', WORKER_USAGE);

  const worker = await startClassifyWorker(url, {
    concurrency,
    provider,
    ...(queue === undefined ? {} : { queue }),
    ...(values.model === undefined ? {} : { model: values.model }),
    ...(threads === undefined ? {} : { threads }),
    ...(batchSize === undefined ? {} : { batchSize }),
    ...(stalledAfterSeconds === undefined ? {} : { stalledAfterSeconds }),
    ...(redisWaitSeconds === undefined ? {} : { redisWaitSeconds }),
    ...(metricsPort === undefined ? {} : { metricsPort }),
    ...(values['metrics-host'] === undefined ? {} : { metricsHost: values['metrics-host'] }),
    ...(values['work-dir'] === undefined ? {} : { workDir: values['work-dir'] }),
    onJobStart: ({ id, files }) => process.stderr.write(`emo worker: job ${id.slice(0, 16)}: started${id.startsWith('fold-') ? '' : `, ${files} files`}\n`),
    onJob: ({ id, files, failed, seconds }) =>
      process.stderr.write(`emo worker: job ${id.slice(0, 16)}: ${id.startsWith('fold-') ? 'fold trained' : `${files} files${failed > 0 ? ` (${failed} failed)` : ''}`} in ${seconds.toFixed(1)} s\n`),
  });
  process.stderr.write(`emo worker: taking jobs from queue '${queue ?? 'emo-classify'}' at ${describeRedisUrl(url)} (concurrency ${concurrency}; pid ${process.pid})\n`);
  if (worker.metricsUrl !== null) process.stderr.write(`emo worker: metrics at ${worker.metricsUrl}\n`);
  let signals = 0;
  const stop = (signal: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      process.stderr.write(`emo worker: ${signal}: finishing the jobs in progress (send it again to leave them to other workers)\n`);
      void worker.close();
    } else {
      process.stderr.write(`emo worker: ${signal} again: stopping now\n`);
      process.exit(128 + (os.constants.signals[signal] ?? 0));
    }
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  await worker.done;
  process.stderr.write('emo worker: stopped\n');
  return 0;
}
