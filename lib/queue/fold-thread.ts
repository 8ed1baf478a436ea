/**
 * The thread a queue worker trains a fold in (see `runFoldJob` in ./folds).
 *
 * A training step holds its thread for a second or more, and the epoch's end (scoring the
 * validation actors, writing the checkpoint) for longer; on the queue worker's own thread that
 * would stop it renewing the job's lock, and a busy machine would see its folds declared stalled
 * and failed. Here the worker's event loop stays free: it renews locks, relays progress and
 * answers `/metrics` while this thread trains.
 *
 * Messages to the parent: `{ kind: 'progress', event }` as training goes, then one
 * `{ kind: 'done', result }` or `{ kind: 'failed', error: { name, message, code? } }`.
 *
 * @packageDocumentation
 */
import { parentPort, workerData } from 'node:worker_threads';
import { EmoError } from '../errors';
import { trainFold, type FoldJob } from '../train';

/** What the parent passes: the fold job, less its progress callback. */
export type FoldThreadData = Omit<FoldJob, 'onProgress'>;

/** A message from the thread. */
export type FoldThreadMessage =
  | { kind: 'progress'; event: unknown }
  | { kind: 'done'; result: unknown }
  | { kind: 'failed'; error: { name: string; message: string; code?: string } };

async function main(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('fold-thread runs as a worker thread');
  const post = (message: FoldThreadMessage) => port.postMessage(message);
  try {
    const result = await trainFold({ ...(workerData as FoldThreadData), onProgress: (event) => post({ kind: 'progress', event }) });
    post({ kind: 'done', result });
  } catch (error) {
    // Errors cross threads without their own fields: the code is carried by hand.
    const e = error as Error;
    post({ kind: 'failed', error: { name: e?.name ?? 'Error', message: e?.message ?? String(error), ...(error instanceof EmoError ? { code: error.code } : {}) } });
  }
}

void main();
