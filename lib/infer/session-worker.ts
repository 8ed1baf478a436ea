/**
 * A worker thread holding one onnxruntime session (see `SessionPool`): it answers run requests
 * with the model's outputs, so a run — synchronous inside onnxruntime-node's promise — blocks this
 * thread, never the application's event loop.
 *
 * @packageDocumentation
 */
import * as os from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import type * as Ort from 'onnxruntime-node';
import { COMPUTE_NICENESS, createSession, runSession, type OnnxRunOutput, type SessionSettings } from './session';

/** A run request: clips laid end to end, and the input's shape. */
export interface RunRequest {
  id: number;
  mel: Float32Array;
  shape: number[];
}

/** Its answer: the outputs, or why there are none. */
export type RunAnswer = ({ id: number } & OnnxRunOutput) | { id: number; error: { message: string; code?: string } };

async function main(): Promise<void> {
  const { bytes, settings } = workerData as { bytes: Uint8Array; settings: SessionSettings };
  const port = parentPort;
  if (port === null) return;
  // Linux: a nice value belongs to a thread (who = 0 is this one), and threads inherit it, so this
  // lowers the session's threads only. Elsewhere it would lower the whole process: left alone.
  if (process.platform === 'linux') {
    try {
      os.setPriority(0, COMPUTE_NICENESS);
    } catch {
      // not permitted here: the session runs at the process's priority
    }
  }
  let session: Ort.InferenceSession;
  try {
    session = await createSession(bytes, settings);
  } catch (error) {
    port.postMessage({ ready: false, message: (error as Error).message, code: (error as { code?: string }).code });
    return;
  }
  port.postMessage({ ready: true });
  port.on('message', (request: RunRequest | 'close') => {
    if (request === 'close') {
      void session.release().finally(() => port.close());
      return;
    }
    runSession(session, request.mel, request.shape)
      .then((out) => {
        // runSession copies: onnxruntime's output buffers are not ours to transfer.
        const buffers = [out.probabilities.buffer, out.attention.buffer, ...(out.statistics === undefined ? [] : [out.statistics.buffer])] as ArrayBuffer[];
        port.postMessage({ id: request.id, ...out } satisfies RunAnswer, buffers);
      })
      .catch((error: unknown) => port.postMessage({ id: request.id, error: { message: (error as Error).message } } satisfies RunAnswer));
  });
}

void main();
