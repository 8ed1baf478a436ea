/**
 * The neural network: the reference CNN-BiLSTM-attention model in TensorFlow.js layers, its
 * custom layers, and model directory IO.
 *
 * `require('emo-native/nn')` loads tfjs-core and tfjs-layers but selects no backend:
 * the caller picks one (`await tf.setBackend('cpu')`, tfjs-node's 'tensorflow', or the native
 * 'emo-native' backend once registered below).
 *
 * @packageDocumentation
 */
export {
  CHUNKS,
  CHUNK_FRAMES,
  EMOTIONS,
  FoldedTimeDistributed,
  INPUT_SHAPE,
  MEL_BANDS,
  NETWORKS,
  TOTAL_PARAMS,
  TRAINABLE_PARAMS,
  compileModel,
  createExplainModel,
  createModel,
  loadModel,
  networkOf,
  saveModel,
  type CompileOptions,
  type Emotion,
  type ModelOptions,
  type Network,
  type SaveOptions,
} from './model';
export { TemporalAttention, attend, type TemporalAttentionArgs } from './attention';
export { CONTOUR_STATISTICS, dctMatrix, SpeechStatistics, STATISTICS_CEPSTRA, STATISTICS_CHUNKS, STATISTICS_PER_BAND, STATISTICS_STANDARDISATION_LAYER, STATISTICS_THRESHOLD, setStatisticsStandardisation, statisticsModel, type SpeechStatisticsArgs } from './statistics';
export { EmoBatchNormalization, EmoConv2D, EmoDropout, dropoutSeed, type EmoBatchNormalizationArgs } from './layers';
export { EmoAdamOptimizer, EmoSgdOptimizer } from './optimizer';
export { MODEL_JSON, WEIGHTS_BIN, directoryIO, registerFileRouter } from './io';

// The native tfjs backend: importing this module registers 'emo-native'.
export {
  EMO_NATIVE_BACKEND,
  configureNativeMemory,
  fallbackCounts,
  getNumThreads,
  nativeMemoryStats,
  registerEmoNativeBackend,
  setNumThreads,
  type NativeMemoryStats,
} from './backend';
export { useBestBackend } from './select';

// ONNX export of a trained network (onnxruntime-node checks the graph before the bytes are returned).
export { DEFAULT_OPSET, SUPPORTED_OPSETS, exportOnnx, type BandNormalisation, type ExportOptions } from '../export';
