// Pictures. Charts (confusion matrix, training curves) are Vega-Lite specs rendered by Vega and
// resvg (./charts). The mel-spectrogram picture of `emo features --png` is still drawn by hand: a
// PNG encoder, a perceptual colour map, a bitmap font and a tiny raster.

export { encodePng, crc32 } from './png';
export { colormap, colormapIndex, COLORMAP_LUT, COLORMAP_SIZE } from './colormap';
export type { Rgb } from './colormap';
export { drawText, drawTextVertical, textWidth, textHeight, hasGlyph, GLYPH_WIDTH, GLYPH_HEIGHT, GLYPH_DESCENT, GLYPH_ADVANCE, LINE_HEIGHT } from './font';
export type { FillTarget } from './font';
export { RgbCanvas } from './canvas';
export { hzToMel, melToHz, melBandCentres } from '../features/mel-scale';
export { renderMelChunksPng, renderSpectrogramPng, layoutMelChunks } from './melchunks';
export type { MelChunksOptions, SpectrogramOptions, MelChunksLayout, PlotRect } from './melchunks';
export { confusionChart, curvesChart, renderPng, renderSvg } from './charts';
export type { ConfusionOptions, CurvesOptions, TrainingHistoryEntry } from './charts';
