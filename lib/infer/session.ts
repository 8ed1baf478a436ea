/**
 * onnxruntime sessions as the package makes them, and the graph's names: what both the calling
 * thread and the inference worker threads need, and nothing else (no native feature code).
 *
 * @packageDocumentation
 */
import type * as Ort from 'onnxruntime-node';
import { EmoError } from '../errors';

/** ONNX names of the graph's input and outputs (a contract: consumers address them by name). */
export const ONNX_INPUT = 'mel';
export const ONNX_PROBABILITIES = 'probabilities';
export const ONNX_ATTENTION = 'attention';
/**
 * A statistics network trained with `adapt: 'speaker-statistics'` has a third output: each clip's
 * statistics, which an adapter learns a speaker's mean and variance from and the classifier
 * standardises with them (see `SpeakerStatisticsAdaptation`).
 */
export const ONNX_STATISTICS = 'statistics';

/** The outputs of one run over a batch of clips. */
export interface OnnxRunOutput {
  /** (batch, labels), row-major. */
  probabilities: Float32Array;
  /** (batch, chunks), row-major. */
  attention: Float32Array;
  /** (batch, statistics), row-major: each clip's statistics, when the graph gives them. */
  statistics?: Float32Array;
}

/**
 * One run of a session on (batch, chunks, mels, frames) features. The outputs are copies, the
 * caller's to keep or transfer.
 */
export async function runSession(session: Ort.InferenceSession, mel: Float32Array, shape: number[]): Promise<OnnxRunOutput> {
  const out = await session.run({ [ONNX_INPUT]: new (onnxRuntime().Tensor)('float32', mel, shape) });
  const statistics = out[ONNX_STATISTICS]?.data as Float32Array | undefined;
  return {
    probabilities: Float32Array.from(out[ONNX_PROBABILITIES]?.data as Float32Array),
    attention: Float32Array.from(out[ONNX_ATTENTION]?.data as Float32Array),
    ...(statistics === undefined ? {} : { statistics: Float32Array.from(statistics) }),
  };
}

let ortModule: typeof Ort | undefined;

/** onnxruntime-node, loaded on first use (it maps a 45 MB library; feature-only users never pay for it). */
export function onnxRuntime(): typeof Ort {
  if (ortModule === undefined) {
    try {
      ortModule = require('onnxruntime-node') as typeof Ort;
    } catch (error) {
      throw new EmoError(`onnxruntime-node could not be loaded (${(error as Error).message}); reinstall the package's dependencies with 'npm ci'`, 'ERR_NATIVE_LOAD');
    }
  }
  return ortModule;
}

/** How a session is made: the same in this thread and in a worker thread. */
export interface SessionSettings {
  provider: 'cpu' | 'cuda';
  /** Intra-op threads (0: onnxruntime's choice, one per core). */
  threads: number;
}

/**
 * The nice value of the threads that compute (a session worker and the onnxruntime threads it
 * starts; the native feature pool under `emo serve`): under full load the application's event loop
 * (nice 0) is scheduled first, the computation whenever a core is free.
 */
export const COMPUTE_NICENESS = 10;

/** An onnxruntime session of a model's bytes, with the package's settings. */
export async function createSession(bytes: Uint8Array, settings: SessionSettings): Promise<Ort.InferenceSession> {
  return onnxRuntime().InferenceSession.create(bytes, {
    executionProviders: [settings.provider],
    intraOpNumThreads: settings.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // onnxruntime's threads spin between runs by default; here they share the cores with the
    // feature threads, which the spinning would starve.
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  });
}

