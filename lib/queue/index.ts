/**
 * Scale-out for `emo classify`: a BullMQ queue on Redis between one producer (the command, or
 * your program) and any number of workers on any number of machines.
 *
 * `require('emo-native/queue')` loads BullMQ; `require('emo-native')` does not. TensorFlow.js loads
 * only when a fold is trained (on a thread of the worker's own) or read back.
 *
 * @packageDocumentation
 */
export { checkRedis, DEFAULT_QUEUE, DEFAULT_REDIS_WAIT_SECONDS, describeRedisUrl } from './connection';
export { ClassifyProducer, type ClassifiedBatch, type ClassifyProducerOptions, type SubmitOptions } from './producer';
export { startClassifyWorker, type ClassifyWorker, type ClassifyWorkerOptions } from './worker';
export { DEFAULT_TRAIN_QUEUE, FoldProducer, runFoldJob, type FoldJobData, type FoldJobResult, type FoldProducerOptions } from './folds';
export { MAX_SHIPPED_FILE_BYTES, MAX_SHIPPED_JOB_BYTES, type ClassifyJobData, type ClassifyJobResult, type JobFile } from './jobs';
export type { RecordingRow, RowOptions } from '../infer/recordings';
