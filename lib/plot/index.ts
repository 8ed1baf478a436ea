// Pictures, all Vega-Lite specs rendered by Vega to SVG and by resvg to PNG: the confusion matrix and
// training curves (./charts), the page's live charts (./charts), the mel-spectrogram chunks of
// `emo features --png` (./spectrogram).

export { confusionChart, curvesChart, probabilitiesChart, attentionChart, timelineChart, pageCharts, labelColours, EMOTION_COLOURS, renderPng, renderSvg, CHART_CONFIG } from './charts';
export type { ConfusionOptions, CurvesOptions, TrainingHistoryEntry, TimelineColumn, TimelineOptions, PageCharts } from './charts';
export { melChunksChart, renderMelChunksPng, SPECTROGRAM_SCHEME, NAN_RGB } from './spectrogram';
export type { MelChunksOptions } from './spectrogram';
