/**
 * Worker threads that run a model, each with its own onnxruntime session: a run goes to the
 * thread with the fewest runs in hand, so the application's event loop only hands over inputs and
 * takes back outputs. Inputs are transferred, not copied.
 *
 * @packageDocumentation
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ModelRunner } from './onnx-model';
import type { OnnxRunOutput, SessionSettings } from './session';
import type { RunAnswer } from './session-worker';

interface Thread {
  worker: Worker;
  pending: Map<number, { resolve(out: OnnxRunOutput): void; reject(error: Error): void }>;
  /** Why it stopped (it answers nothing more), once it has. */
  dead: Error | null;
}

export class SessionPool implements ModelRunner {
  private nextId = 0;

  private constructor(
    private readonly threads: Thread[],
    private readonly bytes: Uint8Array,
    private readonly settings: SessionSettings,
  ) {}

  /** Starts `size` threads and waits for their sessions. @throws the first thread's error when a session cannot be made. */
  static async start(bytes: Uint8Array, settings: SessionSettings, size: number): Promise<SessionPool> {
    const threads = await Promise.all(Array.from({ length: size }, () => SessionPool.spawn(bytes, settings)));
    return new SessionPool(threads, bytes, settings);
  }

  private static spawn(bytes: Uint8Array, settings: SessionSettings): Promise<Thread> {
    const worker = new Worker(path.join(__dirname, 'session-worker.js'), { workerData: { bytes, settings } });
    const thread: Thread = { worker, pending: new Map(), dead: null };
    const fail = (error: Error) => {
      thread.dead ??= error;
      for (const { reject } of thread.pending.values()) reject(error);
      thread.pending.clear();
    };
    return new Promise((resolve, reject) => {
      worker.once('message', (first: { ready: boolean; message?: string }) => {
        if (!first.ready) {
          void worker.terminate();
          reject(new Error(first.message ?? 'the session could not be made'));
          return;
        }
        worker.on('message', (answer: RunAnswer) => {
          const waiting = thread.pending.get(answer.id);
          if (waiting === undefined) return;
          thread.pending.delete(answer.id);
          if ('error' in answer) waiting.reject(new Error(answer.error.message));
          else {
            const { id: _, ...output } = answer;
            waiting.resolve(output);
          }
        });
        resolve(thread);
      });
      worker.on('error', (error) => {
        fail(error);
        reject(error);
      });
      worker.on('exit', (code) => fail(new Error(`the inference thread stopped (exit code ${code})`)));
    });
  }

  /** Runs on the least busy thread; a thread that died is replaced first. */
  async run(mel: Float32Array, shape: number[]): Promise<OnnxRunOutput> {
    for (const [i, t] of this.threads.entries()) if (t.dead !== null) this.threads[i] = await SessionPool.spawn(this.bytes, this.settings);
    const thread = this.threads.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    const id = this.nextId++;
    return new Promise<OnnxRunOutput>((resolve, reject) => {
      thread.pending.set(id, { resolve, reject });
      // The input's buffer moves to the thread (the caller built it for this run alone).
      const whole = mel.byteOffset === 0 && mel.byteLength === mel.buffer.byteLength;
      const input = whole ? mel : mel.slice();
      thread.worker.postMessage({ id, mel: input, shape }, [input.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    await Promise.all(
      this.threads.map(async (t) => {
        if (t.dead !== null) return;
        const exited = new Promise((resolve) => t.worker.once('exit', resolve));
        t.worker.postMessage('close');
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
        await t.worker.terminate();
      }),
    );
  }
}
