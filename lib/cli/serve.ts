import { createServer } from '../server';
import type { Provider } from '../infer/classifier';
import { numberFlag, parseCommandLine, UsageError } from './usage';

export const SERVE_USAGE = `Usage: emo serve [--host 127.0.0.1] [--port 8080] [--model FILE] [--provider cpu|cuda|auto]
                 [--threads N] [--max-upload-mb 50] [--max-duration 600] [--queue 32]
                 [--rate-limit 1200] [--min-speech 10]

Serves the model over HTTP: a web page at / (live emotion from the microphone,
a 3-s recording, uploads with their timeline), the JSON API (POST /api/classify,
GET /api/model, the /api/live WebSocket, /api/adapters) and GET /healthz. It listens on this
machine only unless --host says otherwise (a browser allows the microphone on
http://localhost or 127.0.0.1 only; elsewhere, serve it behind HTTPS).
Ctrl-C (SIGINT) or SIGTERM stops it gracefully: requests in flight finish.

  --model FILE        an .onnx file from 'emo export', or a bundled model by name: ravdess, synth
                      (default: ravdess, trained on human speech)
  --port N            0 picks a free port (the URL is printed)
  --max-upload-mb N   largest upload, MB; larger ones get 413 before they are read
  --max-duration S    longest recording, seconds (413 above it)
  --queue N           inference requests admitted at once; more get 503
  --rate-limit N      API requests per minute per client address (429 above it), 0: no limit
  --min-speech S      seconds of speech a live session or an /api/adapters adapter learns
                      before it adapts (models trained with emo train --adapt speaker)`;

export async function runServe(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(
    argv,
    {
      host: { type: 'string' },
      port: { type: 'string' },
      model: { type: 'string' },
      provider: { type: 'string' },
      threads: { type: 'string' },
      'max-upload-mb': { type: 'string' },
      'max-duration': { type: 'string' },
      queue: { type: 'string' },
      'rate-limit': { type: 'string' },
      'min-speech': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    SERVE_USAGE,
  );
  if (values.help) {
    process.stdout.write(`${SERVE_USAGE}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`emo serve takes no arguments, got '${positionals[0]}'`, SERVE_USAGE);
  const provider = (values.provider ?? 'cpu') as Provider;
  if (!['cpu', 'cuda', 'auto'].includes(provider)) throw new UsageError(`--provider must be cpu, cuda or auto, not '${values.provider}'`, SERVE_USAGE);
  if (values.host !== undefined && values.host.trim() === '') throw new UsageError('--host needs an address', SERVE_USAGE);
  const port = numberFlag('port', values.port, SERVE_USAGE, { integer: true, min: 0, max: 65535 });
  const threads = numberFlag('threads', values.threads, SERVE_USAGE, { integer: true, min: 1, max: 1024 });
  const maxUploadMb = numberFlag('max-upload-mb', values['max-upload-mb'], SERVE_USAGE, { min: 0.001, max: 4096 });
  const maxDurationSeconds = numberFlag('max-duration', values['max-duration'], SERVE_USAGE, { min: 1, max: 86400 });
  const queueSize = numberFlag('queue', values.queue, SERVE_USAGE, { integer: true, min: 1, max: 100000 });
  const rateLimit = numberFlag('rate-limit', values['rate-limit'], SERVE_USAGE, { integer: true, min: 0, max: 1e9 });
  const minSpeechSeconds = numberFlag('min-speech', values['min-speech'], SERVE_USAGE, { min: 0, max: 86400 });

  const server = await createServer({
    model: values.model,
    provider,
    ...(values.host === undefined ? {} : { host: values.host }),
    ...(port === undefined ? {} : { port }),
    ...(threads === undefined ? {} : { threads }),
    ...(maxUploadMb === undefined ? {} : { maxUploadMb }),
    ...(maxDurationSeconds === undefined ? {} : { maxDurationSeconds }),
    ...(queueSize === undefined ? {} : { queueSize }),
    ...(rateLimit === undefined ? {} : { rateLimit: rateLimit === 0 ? false : rateLimit }),
    ...(minSpeechSeconds === undefined ? {} : { minSpeechSeconds }),
  });
  const url = await server.listen();
  process.stdout.write(`emo serve: listening on ${url} (model: ${values.model ?? 'bundled'}, ${server.classifier.provider})\n`);
  if (!/^(127\.|::1$|\[::1\]|localhost$)/.test(values.host ?? '127.0.0.1')) {
    process.stderr.write(`emo serve: warning: listening on ${values.host}: anyone who can reach this machine can use the server\n`);
  }
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        process.stderr.write(`emo serve: ${signal} again: stopping now\n`);
        process.exit(130);
      }
      stopping = true;
      process.stderr.write(`emo serve: ${signal}: finishing the requests in flight\n`);
      server.close().then(
        () => {
          process.stderr.write('emo serve: stopped\n');
          resolve(0);
        },
        (error: unknown) => {
          process.stderr.write(`emo serve: error while stopping: ${(error as Error)?.message ?? String(error)}\n`);
          resolve(1);
        },
      );
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
