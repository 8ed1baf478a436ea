/**
 * Data: RAVDESS indexing, speaker-independent splits, and the feature cache.
 * @packageDocumentation
 */
export { EMOTIONS, indexRavdess, parseRavdessName, type Emotion, type RavdessEntry, type RavdessIndex, type SkippedFile } from './ravdess';
export { formatActors, splitByActor, type Split, type SplitOptions } from './splits';
export {
  buildFeatureCache,
  ensureFeatureCache,
  FeatureCache,
  VARIANTS,
  type CacheEntry,
  type CacheHeader,
  type CacheRecord,
  type FailedFile,
  type FeatureCacheOptions,
  type SplitName,
  type Variant,
} from './cache';
