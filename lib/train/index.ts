/**
 * Training and evaluation of the emotion network.
 * @packageDocumentation
 */
export { DEFAULT_MASKING, maskChunks, type MaskOptions } from './masking';
export { mixBatch, sampleBeta } from './mixup';
export { classificationMetrics, type ClassificationMetrics } from './metrics';
export { DEFAULT_WARP, warpMelChunks, type MelScale, type WarpOptions } from './warp';
export { normaliseChunks } from '../features/normalise';
export { balancedRecords, cosineLearningRate, epochBatches, LR_SCHEDULES, plateauLearningRate, RECIPE_KEYS, trainModel, type EpochRecord, type LrSchedule, type Normalisation, type TrainOptions, type TrainProgress, type TrainResult } from './trainer';
export {
  crossValidate,
  planFolds,
  summariseFolds,
  readFinishedFold,
  trainFold,
  type CrossValidationOptions,
  type CrossValidationProgress,
  type CrossValidationSummary,
  type FoldJob,
  type FoldPlan,
  type FoldRecipe,
  type FoldResult,
  type MeanSd,
} from './crossval';
