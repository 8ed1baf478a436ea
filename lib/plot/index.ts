// Dependency-free PNG plotting for `emo features --png`: a PNG encoder, a
// perceptual colour map, a bitmap font, a tiny raster and the mel-spectrogram
// renderers built from them.

export { encodePng, crc32 } from './png';
export { colormap, colormapIndex, COLORMAP_LUT, COLORMAP_SIZE } from './colormap';
export type { Rgb } from './colormap';
export { drawText, drawTextVertical, textWidth, textHeight, hasGlyph, GLYPH_WIDTH, GLYPH_HEIGHT, GLYPH_DESCENT, GLYPH_ADVANCE, LINE_HEIGHT } from './font';
export type { FillTarget } from './font';
export { RgbCanvas } from './canvas';
export { hzToMel, melToHz, melBandCentres } from '../features/mel-scale';
export { renderMelChunksPng, renderSpectrogramPng, layoutMelChunks } from './melchunks';
export type { MelChunksOptions, SpectrogramOptions, MelChunksLayout, PlotRect } from './melchunks';
export { renderConfusionPng, layoutConfusion, CONFUSION_EMPTY_COLOR } from './confusion';
export type { ConfusionOptions, ConfusionLayout } from './confusion';
export { renderCurvesPng, CURVE_COLORS } from './curves';
export type { CurvesOptions, TrainingHistoryEntry } from './curves';
