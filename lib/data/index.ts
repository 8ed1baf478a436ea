/**
 * Data: RAVDESS indexing, corpus manifests, speaker-independent splits, the feature cache, and
 * recording conditions for robustness tests.
 * @packageDocumentation
 */
export { EMOTIONS, indexRavdess, parseRavdessName, type Emotion, type RavdessEntry, type RavdessIndex, type SkippedFile } from './ravdess';
export { applyRecordingChain, drawRecordingChain, type RecordingChain } from './recording-chain';
export { applyCondition, CONDITION_DESCRIPTIONS, CONDITIONS, type Condition, type ConditionOptions } from './conditions';
export { BUNDLED_MANIFESTS, checkCorpus, readManifest, type CorpusCheck, type CorpusDifference, type CorpusManifest, type ManifestEntry } from './manifest';
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
