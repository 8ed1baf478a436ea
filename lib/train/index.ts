/**
 * Training and evaluation of the emotion network.
 * @packageDocumentation
 */
export { classificationMetrics, type ClassificationMetrics } from './metrics';
export { normaliseChunks, trainModel, type EpochRecord, type Normalisation, type TrainOptions, type TrainProgress, type TrainResult } from './trainer';
