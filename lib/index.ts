/**
 * emo-native: speech emotion recognition for Node.js.
 *
 * Features: {@link melChunks} turns a WAV into the model's input, matching the
 * torchaudio reference pipeline; the DSP runs in a native addon.
 * @packageDocumentation
 */
export { EmoError, isEmoError, type EmoErrorCode } from './errors';
export { decodeWav, prepareClip, type AudioInput, type DecodedAudio } from './audio';
export {
  DEFAULT_FEATURE_OPTIONS,
  getThreads,
  melChunks,
  melChunksBatch,
  melSpectrogram,
  resolveFeatureOptions,
  setThreadNiceness,
  setThreads,
  type BatchOptions,
  type FeatureOptions,
  type MelChunks,
  type MelSpectrogram,
  type ResolvedFeatures,
} from './features';
export * as augment from './augment';
export type { ExpandDraws, ExpandOptions, ExpandedClip, TimeStretchOptions } from './augment';
export * as dataset from './data';
export * as synth from './data/synth';
export {
  BUNDLED_MODEL,
  BUNDLED_MODELS,
  Classifier,
  DEFAULT_MODEL_NAME,
  isSingleClip,
  loadClassifier,
  SINGLE_CLIP_SECONDS,
  type ClassifierOptions,
  type ClassifyFailure,
  type ClassifyOptions,
  type EmotionResult,
  type Provider,
  type TimelineOptions,
  type TimelineResult,
  type TimelineSegment,
} from './infer/classifier';
export type { EmoModelMetadata, ModelAdaptation, OnnxParity, SpeakerBandsAdaptation, SpeakerStatisticsAdaptation, StatisticsStandardisation } from './infer/onnx-model';
export { Adapter, CLIP_LEVEL, createAdapter, DEFAULT_MIN_SPEECH_SECONDS, loadAdapter, mergeAdaptationStatistics, type AdaptationReport, type AdaptationStatistics, type AdapterOptions, type AdapterUpdate, type AdapterUpdateOptions, type BandDefinition, type StatisticsSource } from './infer/adapter';
export { createServer, type EmoServer, type LiveLimits, type QueueStats, type ServerOptions, type ServerStats } from './server';
