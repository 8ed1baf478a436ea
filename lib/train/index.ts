/**
 * Training and evaluation of the emotion network.
 * @packageDocumentation
 */
export { classificationMetrics, type ClassificationMetrics } from './metrics';
export { trainModel, type EpochRecord, type TrainOptions, type TrainProgress, type TrainResult } from './trainer';
