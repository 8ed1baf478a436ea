// Renders chunked mel-spectrograms (chunks × mel × frame) as a PNG so features
// can be eyeballed: chunks side by side, low frequencies at the bottom, a
// colour bar in dB, time axes in seconds and a mel axis labelled in Hz.
import { RgbCanvas } from './canvas';
import { COLORMAP_BYTES, COLORMAP_LUT, colormapIndex, type Rgb } from './colormap';
import { GLYPH_HEIGHT, GLYPH_DESCENT, LINE_HEIGHT, textHeight, textWidth } from './font';
import { melBandCentres } from '../features/mel-scale';
import { decimalsFor, formatTick, niceStep, ticksIn } from './ticks';
import { checkFinite, checkNonNegativeNumber, checkObject, checkPositiveInteger, checkPositiveNumber, invalidRange, invalidType } from '../validate';

/** Options for {@link renderMelChunksPng}. */
export interface MelChunksOptions {
  /** Sample rate of the audio the features came from, in Hz. */
  sampleRate: number;
  /** STFT hop in samples: one frame every `hopLength / sampleRate` seconds. */
  hopLength: number;
  /** Frames between the starts of consecutive chunks (chunk c starts at frame c × chunkStride). */
  chunkStride: number;
  /** Lowest frequency of the mel filterbank, in Hz. */
  fMin: number;
  /** Highest frequency of the mel filterbank, in Hz. */
  fMax: number;
  /** Heading drawn at the top (default "mel-spectrogram chunks"). */
  title?: string;
  /** Values mapped to the dark and light ends of the colour map (default: the data's finite min and max). */
  dbRange?: readonly [number, number];
  /** Integer magnification [horizontal, vertical] of each cell (default: chosen so the image is roughly 1000–1400 px wide). */
  pixelScale?: readonly [number, number];
}

/** Options for {@link renderSpectrogramPng}: as {@link MelChunksOptions} without chunks. */
export interface SpectrogramOptions {
  /** Sample rate of the audio the features came from, in Hz. */
  sampleRate: number;
  /** STFT hop in samples. */
  hopLength: number;
  /** Lowest frequency of the mel filterbank, in Hz. */
  fMin: number;
  /** Highest frequency of the mel filterbank, in Hz. */
  fMax: number;
  /** Heading drawn at the top (default "mel-spectrogram"). */
  title?: string;
  /** Values mapped to the dark and light ends of the colour map (default: the data's finite min and max). */
  dbRange?: readonly [number, number];
  /** Time of the first frame in seconds, for the time axis (default 0). */
  startTime?: number;
  /** Integer magnification [horizontal, vertical] of each cell (default: automatic). */
  pixelScale?: readonly [number, number];
}

/** A rectangle in image pixels; (x, y) is the top-left corner. */
export interface PlotRect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Where {@link renderMelChunksPng} puts things, e.g. to find a chunk's pixels. */
export interface MelChunksLayout {
  /** Image width in pixels. */
  width: number;
  /** Image height in pixels. */
  height: number;
  /** Pixels per frame horizontally. */
  scaleX: number;
  /** Pixels per mel band vertically. */
  scaleY: number;
  /**
   * One rectangle per chunk, left to right. Frame t of mel band m covers
   * x + t·scaleX … +scaleX and, counting from the bottom, y + (mels − 1 − m)·scaleY … +scaleY.
   */
  panels: PlotRect[];
  /** The colour bar; its top row is the top of the range. */
  colorBar: PlotRect;
  /** The values mapped to the two ends of the colour map. */
  dbRange: [number, number];
}

// ---------------------------------------------------------------- style

const BACKGROUND: Rgb = [255, 255, 255];
const INK: Rgb = [34, 34, 34];
const MUTED: Rgb = [105, 105, 105];
const FRAME: Rgb = [40, 40, 40];
// Outside the colour map (which is never grey mid-way), so missing data stands out.
const NAN_COLOR: Rgb = [150, 150, 150];

const PAD = 16; // outer margin
const GAP = 8; // between panels: white space plus the two frames marks chunk boundaries
const TICK = 4; // tick mark length
const LABEL_GAP = 3; // between a tick and its label
const BAR_GAP = 22; // from the last panel to the colour bar
const BAR_WIDTH = 14;
const TITLE_SCALE = 2;
const TARGET_WIDTH = 1150; // what the automatic pixel scale aims the data area at
const TARGET_PANEL_HEIGHT = 256;
const MAX_SCALE = 16;
const TIME_MANTISSAS = [1, 2.5, 5] as const; // 0.25 s / 0.5 s / 1 s ticks read naturally
const MIN_TIME_TICK_SPACING = 44; // pixels; denser labelled ticks read as a ruler, not an axis

// ---------------------------------------------------------------- input

interface Grid {
  chunks: number;
  mels: number;
  frames: number;
}

/** Everything the drawing needs, validated and with defaults filled in. */
interface Spec extends Grid {
  sampleRate: number;
  hopLength: number;
  chunkStride: number;
  fMin: number;
  fMax: number;
  startTime: number;
  title: string;
  subtitle: string;
  panelLabels: string[][];
  dbRange: [number, number];
  scaleX: number;
  scaleY: number;
}

const CHUNK_KEYS = ['sampleRate', 'hopLength', 'chunkStride', 'fMin', 'fMax', 'title', 'dbRange', 'pixelScale'] as const;
const SPECTROGRAM_KEYS = ['sampleRate', 'hopLength', 'fMin', 'fMax', 'title', 'dbRange', 'startTime', 'pixelScale'] as const;

/** Rejects misspelt options, which would otherwise be silently ignored. */
function checkKnownKeys(name: string, options: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new TypeError(`Unknown option '${key}' in ${name}; known options: ${known.join(', ')}`);
  }
}

function checkData(data: unknown): Float32Array {
  if (!(data instanceof Float32Array)) throw invalidType('data', 'a Float32Array', data);
  return data;
}

function checkShape(shape: unknown, names: readonly string[], dataLength: number): number[] {
  const expected = `an array of ${names.length} positive integers [${names.join(', ')}]`;
  if (!Array.isArray(shape)) throw invalidType('shape', expected, shape);
  if (shape.length !== names.length) throw invalidRange('shape.length', `${names.length}`, shape.length);
  const dims = shape.map((dim: unknown, i) => checkPositiveInteger(`shape[${i}] (${names[i]})`, dim));
  const size = dims.reduce((a, b) => a * b, 1);
  if (size !== dataLength) throw invalidRange('data.length', `${dims.join(' × ')} = ${size} values`, dataLength);
  return dims;
}

function checkRange(name: string, value: unknown): [number, number] {
  if (!Array.isArray(value) || value.length !== 2) throw invalidType(name, 'an array [low, high]', value);
  const lo = checkFinite(`${name}[0]`, value[0]);
  const hi = checkFinite(`${name}[1]`, value[1]);
  if (!(hi > lo)) throw invalidRange(`${name}[1]`, `a number greater than ${name}[0] (${lo})`, hi);
  return [lo, hi];
}

function checkPixelScale(value: unknown): [number, number] {
  if (!Array.isArray(value) || value.length !== 2) throw invalidType('pixelScale', 'an array [x, y]', value);
  return [checkPositiveInteger('pixelScale[0]', value[0], MAX_SCALE), checkPositiveInteger('pixelScale[1]', value[1], MAX_SCALE)];
}

function checkTitle(value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string') throw invalidType('title', 'a string', value);
  return value;
}

/** The common audio options; returns them validated. */
function checkAudioOptions(o: Record<string, unknown>): { sampleRate: number; hopLength: number; fMin: number; fMax: number } {
  const sampleRate = checkPositiveNumber('sampleRate', o.sampleRate);
  const hopLength = checkPositiveInteger('hopLength', o.hopLength);
  const fMin = checkNonNegativeNumber('fMin', o.fMin);
  if (typeof o.fMax !== 'number') throw invalidType('fMax', `a number greater than fMin (${fMin})`, o.fMax);
  if (!(Number.isFinite(o.fMax) && o.fMax > fMin)) throw invalidRange('fMax', `a number greater than fMin (${fMin})`, o.fMax);
  return { sampleRate, hopLength, fMin, fMax: o.fMax };
}

/**
 * The finite min and max of the data, widened around the value when the data
 * is constant so the normalisation below never divides by zero.
 */
function dataRange(data: Float32Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!Number.isFinite(v)) continue; // NaN and ±Infinity would swallow the range
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo > hi) return [0, 1]; // no finite values at all
  if (hi - lo < 1e-6 * Math.max(1, Math.abs(lo), Math.abs(hi))) return [lo - 1, hi + 1];
  return [lo, hi];
}

/** Integer cell magnification that brings the data area near the target size. */
function autoScale(grid: Grid): [number, number] {
  const sx = Math.floor(TARGET_WIDTH / (grid.chunks * grid.frames + (grid.chunks - 1) * GAP));
  const sy = Math.round(TARGET_PANEL_HEIGHT / grid.mels);
  return [Math.min(MAX_SCALE, Math.max(1, sx)), Math.min(MAX_SCALE, Math.max(1, sy))];
}

// ---------------------------------------------------------------- text helpers

const seconds = (s: number): string => s.toFixed(2);
const count = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;
const frameSeconds = (spec: Spec): number => spec.hopLength / spec.sampleRate;
const chunkStart = (spec: Spec, c: number): number => spec.startTime + c * spec.chunkStride * frameSeconds(spec);
const chunkEnd = (spec: Spec, c: number): number => chunkStart(spec, c) + spec.frames * frameSeconds(spec);
const spanLabel = (spec: Spec, c: number): string => `${seconds(chunkStart(spec, c))}\u2013${seconds(chunkEnd(spec, c))} s`;

/** Frame/overlap summary shown under the title, so the picture documents its own parameters. */
function audioSummary(spec: Omit<Spec, 'subtitle' | 'panelLabels'>): string {
  return `hop ${spec.hopLength} at ${spec.sampleRate} Hz, mel ${Math.round(spec.fMin)}\u2013${Math.round(spec.fMax)} Hz`;
}

function chunkPanelLabels(spec: Spec, panelWidth: number): string[][] {
  return Array.from({ length: spec.chunks }, (_, c) => {
    const name = textWidth(`chunk ${c + 1}`) <= panelWidth ? `chunk ${c + 1}` : `${c + 1}`;
    const span = spanLabel(spec, c);
    return textWidth(span) <= panelWidth ? [name, span] : [name];
  });
}

// ---------------------------------------------------------------- layout

interface AxisTick {
  /** Pixel coordinate along the axis. */
  pos: number;
  label: string;
}

interface Plan {
  spec: Spec;
  layout: MelChunksLayout;
  titleScale: number;
  titleY: number;
  subtitleY: number;
  labelsY: number;
  melTicks: AxisTick[];
  dbTicks: AxisTick[];
  timeStep: number;
  timeDecimals: number;
  timeLabelY: number;
  timeTitleY: number;
  melTitleX: number;
}

/** Row of the top pixel of mel band `m` within a panel (low bands at the bottom). */
const bandTop = (spec: Spec, m: number): number => (spec.mels - 1 - m) * spec.scaleY;

/** Mel bands at multiples of a nice step, labelled with their centre frequencies in Hz. */
function melAxisTicks(spec: Spec, panelTop: number): AxisTick[] {
  const centres = melBandCentres(spec.mels, spec.fMin, spec.fMax);
  const step = Math.max(1, Math.round(niceStep((LINE_HEIGHT + 10) / spec.scaleY)));
  const bands = ticksIn(0, spec.mels - 1, step);
  return bands.map((m) => ({
    pos: panelTop + bandTop(spec, m) + Math.floor((spec.scaleY - 1) / 2),
    label: `${Math.round(centres[m])}`,
  }));
}

/** Colour-bar ticks at nice dB values inside the range. */
function dbAxisTicks(range: [number, number], bar: PlotRect): AxisTick[] {
  const [lo, hi] = range;
  const step = niceStep(((hi - lo) * (LINE_HEIGHT + 12)) / bar.height);
  const decimals = decimalsFor(step);
  return ticksIn(lo, hi, step).map((v) => ({
    pos: bar.y + Math.round((1 - (v - lo) / (hi - lo)) * (bar.height - 1)),
    label: formatTick(v, decimals),
  }));
}

/** The smallest nice time step whose labels do not collide at this zoom. */
function timeTickStep(spec: Spec): { step: number; decimals: number } {
  const pxPerSecond = spec.scaleX / frameSeconds(spec);
  const latest = chunkEnd(spec, spec.chunks - 1);
  let step = niceStep(MIN_TIME_TICK_SPACING / pxPerSecond, TIME_MANTISSAS);
  for (;;) {
    const decimals = decimalsFor(step);
    const widest = textWidth(formatTick(latest, decimals));
    if (step * pxPerSecond >= Math.max(MIN_TIME_TICK_SPACING, widest + 12)) return { step, decimals };
    step = niceStep(step * 1.01, TIME_MANTISSAS);
  }
}

function widestLabel(ticks: readonly AxisTick[]): number {
  return ticks.reduce((w, t) => Math.max(w, textWidth(t.label)), 0);
}

/** Decides every position in the image; drawing then just follows the plan. */
function planLayout(spec: Spec): Plan {
  const panelWidth = spec.frames * spec.scaleX;
  const panelHeight = spec.mels * spec.scaleY;
  const titleY = PAD;
  const subtitleY = titleY + textHeight(spec.title, TITLE_SCALE) + 7;
  const labelsY = subtitleY + GLYPH_HEIGHT + GLYPH_DESCENT + 12;
  const labelLines = Math.max(1, ...spec.panelLabels.map((lines) => lines.length));
  const panelTop = labelsY + (labelLines - 1) * LINE_HEIGHT + GLYPH_HEIGHT + 8;

  const melTicks = melAxisTicks(spec, panelTop);
  const melTitle = melAxisTitle(panelHeight);
  const melTitleX = PAD;
  const panelLeft = melTitleX + (melTitle ? GLYPH_HEIGHT + GLYPH_DESCENT + 6 : 0) + widestLabel(melTicks) + LABEL_GAP + TICK + 1;
  const panels = Array.from({ length: spec.chunks }, (_, c) => ({ x: panelLeft + c * (panelWidth + GAP), y: panelTop, width: panelWidth, height: panelHeight }));

  const colorBar = { x: panelLeft + spec.chunks * panelWidth + (spec.chunks - 1) * GAP + BAR_GAP, y: panelTop, width: BAR_WIDTH, height: panelHeight };
  const dbTicks = dbAxisTicks(spec.dbRange, colorBar);
  const contentRight = colorBar.x + BAR_WIDTH + TICK + LABEL_GAP + Math.max(widestLabel(dbTicks), textWidth('dB'));

  // The title shrinks rather than widening the image; the subtitle may widen it (tiny inputs only).
  const minWidth = Math.max(contentRight + PAD, textWidth(spec.subtitle) + 2 * PAD);
  const titleScale = textWidth(spec.title, TITLE_SCALE) + 2 * PAD <= minWidth ? TITLE_SCALE : 1;
  const width = Math.max(minWidth, textWidth(spec.title, titleScale) + 2 * PAD);
  const timeLabelY = panelTop + panelHeight + 1 + TICK + LABEL_GAP;
  const timeTitleY = timeLabelY + GLYPH_HEIGHT + 9;
  const height = timeTitleY + GLYPH_HEIGHT + GLYPH_DESCENT + PAD;
  const { step, decimals } = timeTickStep(spec);

  const layout: MelChunksLayout = { width, height, scaleX: spec.scaleX, scaleY: spec.scaleY, panels, colorBar, dbRange: spec.dbRange };
  return { spec, layout, titleScale, titleY, subtitleY, labelsY, melTicks, dbTicks, timeStep: step, timeDecimals: decimals, timeLabelY, timeTitleY, melTitleX };
}

/** The vertical axis title, shortened (or dropped) when the panel is too short for it. */
function melAxisTitle(panelHeight: number): string {
  for (const title of ['mel band centre (Hz)', 'Hz']) if (textWidth(title) <= panelHeight) return title;
  return '';
}

// ---------------------------------------------------------------- drawing

/** Paints the data cells of chunk `c`, each cell a scaleX × scaleY block. */
function drawPanelCells(canvas: RgbCanvas, data: Float32Array, spec: Spec, c: number, panel: PlotRect): void {
  const [lo, hi] = spec.dbRange;
  const { mels, frames, scaleX, scaleY } = spec;
  for (let m = 0; m < mels; m++) {
    const base = (c * mels + m) * frames;
    const y = panel.y + bandTop(spec, m);
    for (let t = 0; t < frames; t++) {
      const v = data[base + t];
      canvas.fillRect(panel.x + t * scaleX, y, scaleX, scaleY, Number.isNaN(v) ? NAN_COLOR : lutColour(colormapIndex((v - lo) / (hi - lo))));
    }
  }
}

function lutColour(index: number): Rgb {
  return [COLORMAP_BYTES[index * 3], COLORMAP_BYTES[index * 3 + 1], COLORMAP_BYTES[index * 3 + 2]];
}

/** A frame one pixel outside the panel, so it marks the chunk edge without covering data. */
function drawPanelFrame(canvas: RgbCanvas, panel: PlotRect): void {
  canvas.strokeRect(panel.x - 1, panel.y - 1, panel.width + 2, panel.height + 2, FRAME);
}

function drawCentred(canvas: RgbCanvas, centreX: number, y: number, text: string, color: Rgb, scale = 1): void {
  canvas.drawText(Math.round(centreX - textWidth(text, scale) / 2), y, text, color, scale);
}

function drawHeadings(canvas: RgbCanvas, plan: Plan): void {
  const centre = plan.layout.width / 2;
  drawCentred(canvas, centre, plan.titleY, plan.spec.title, INK, plan.titleScale);
  drawCentred(canvas, centre, plan.subtitleY, plan.spec.subtitle, MUTED);
}

function drawPanelLabels(canvas: RgbCanvas, plan: Plan): void {
  plan.layout.panels.forEach((panel, c) => {
    const lines = plan.spec.panelLabels[c] ?? [];
    lines.forEach((line, i) => drawCentred(canvas, panel.x + panel.width / 2, plan.labelsY + i * LINE_HEIGHT, line, i === 0 ? INK : MUTED));
  });
}

/**
 * Time ticks under every panel in absolute seconds. Neighbouring chunks
 * overlap in time, so a label is drawn only if it stays within its own panel's
 * share of the gaps and clear of the previous label; that way every label
 * sits unambiguously under the panel it belongs to.
 */
function drawTimeAxes(canvas: RgbCanvas, plan: Plan): void {
  const { spec, layout } = plan;
  const pxPerSecond = spec.scaleX / frameSeconds(spec);
  let lastRight = -Infinity;
  layout.panels.forEach((panel, c) => {
    const start = chunkStart(spec, c);
    const bottom = panel.y + panel.height; // the frame row
    const minLeft = c === 0 ? 0 : panel.x - GAP / 2;
    const maxRight = c === layout.panels.length - 1 ? layout.colorBar.x - 4 : panel.x + panel.width + GAP / 2;
    for (const t of ticksIn(start, chunkEnd(spec, c), plan.timeStep)) {
      const x = panel.x + Math.round((t - start) * pxPerSecond);
      canvas.vline(x, bottom + 1, bottom + TICK, FRAME);
      const label = formatTick(t, plan.timeDecimals);
      const left = Math.round(x - textWidth(label) / 2);
      const right = left + textWidth(label);
      if (left < Math.max(minLeft, lastRight + 6) || right > maxRight) continue;
      canvas.drawText(left, plan.timeLabelY, label, INK);
      lastRight = right;
    }
  });
  const first = plan.layout.panels[0];
  const last = plan.layout.panels[plan.layout.panels.length - 1];
  if (first && last) drawCentred(canvas, (first.x + last.x + last.width) / 2, plan.timeTitleY, 'time (s)', INK);
}

/** Hz labels left of the first panel; the other panels get bare ticks so rows can be followed across. */
function drawMelAxis(canvas: RgbCanvas, plan: Plan): void {
  const title = melAxisTitle(plan.layout.panels[0]?.height ?? 0);
  plan.layout.panels.forEach((panel, c) => {
    for (const tick of plan.melTicks) {
      canvas.hline(panel.x - 1 - TICK, panel.x - 2, tick.pos, FRAME);
      if (c === 0) canvas.drawText(panel.x - 1 - TICK - LABEL_GAP - textWidth(tick.label), tick.pos - (GLYPH_HEIGHT >> 1), tick.label, INK);
    }
  });
  const first = plan.layout.panels[0];
  if (first && title) canvas.drawTextVertical(plan.melTitleX, Math.round(first.y + (first.height - textWidth(title)) / 2), title, INK);
}

function drawColorBar(canvas: RgbCanvas, plan: Plan): void {
  const bar = plan.layout.colorBar;
  for (let row = 0; row < bar.height; row++) {
    const t = bar.height === 1 ? 1 : 1 - row / (bar.height - 1);
    canvas.fillRect(bar.x, bar.y + row, bar.width, 1, COLORMAP_LUT[colormapIndex(t)] ?? INK);
  }
  canvas.strokeRect(bar.x - 1, bar.y - 1, bar.width + 2, bar.height + 2, FRAME);
  const right = bar.x + bar.width;
  for (const tick of plan.dbTicks) {
    canvas.hline(right + 1, right + TICK, tick.pos, FRAME);
    canvas.drawText(right + TICK + LABEL_GAP, tick.pos - (GLYPH_HEIGHT >> 1), tick.label, INK);
  }
  canvas.drawText(bar.x, bar.y - GLYPH_HEIGHT - 6, 'dB', INK);
}

function render(data: Float32Array, plan: Plan): RgbCanvas {
  const canvas = new RgbCanvas(plan.layout.width, plan.layout.height, BACKGROUND);
  drawHeadings(canvas, plan);
  drawPanelLabels(canvas, plan);
  plan.layout.panels.forEach((panel, c) => {
    drawPanelCells(canvas, data, plan.spec, c, panel);
    drawPanelFrame(canvas, panel);
  });
  drawTimeAxes(canvas, plan);
  drawMelAxis(canvas, plan);
  drawColorBar(canvas, plan);
  return canvas;
}

// ---------------------------------------------------------------- specs

function chunkSpec(data: Float32Array, shape: unknown, options: unknown): Spec {
  const o = checkObject('options', options);
  checkKnownKeys('options', o, CHUNK_KEYS);
  const [chunks, mels, frames] = checkShape(shape, ['chunks', 'mels', 'frames'], data.length) as [number, number, number];
  const audio = checkAudioOptions(o);
  const chunkStride = checkPositiveInteger('chunkStride', o.chunkStride);
  const grid = { chunks, mels, frames };
  const [scaleX, scaleY] = o.pixelScale === undefined ? autoScale(grid) : checkPixelScale(o.pixelScale);
  const dbRange = o.dbRange === undefined ? dataRange(data) : checkRange('dbRange', o.dbRange);
  const base = { ...grid, ...audio, chunkStride, startTime: 0, title: checkTitle(o.title, 'mel-spectrogram chunks'), dbRange, scaleX, scaleY };
  const overlap = Math.max(0, Math.round((100 * (frames - chunkStride)) / frames));
  const subtitle =
    `${count(chunks, 'chunk')} \u00d7 ${count(mels, 'mel band')} \u00d7 ${count(frames, 'frame')}, ` +
    `stride ${count(chunkStride, 'frame')} (${overlap}% overlap), ` +
    audioSummary(base) + nanNote(data);
  const spec: Spec = { ...base, subtitle, panelLabels: [] };
  spec.panelLabels = chunkPanelLabels(spec, frames * scaleX);
  return spec;
}

function spectrogramSpec(data: Float32Array, shape: unknown, options: unknown): Spec {
  const o = checkObject('options', options);
  checkKnownKeys('options', o, SPECTROGRAM_KEYS);
  const [mels, frames] = checkShape(shape, ['mels', 'frames'], data.length) as [number, number];
  const audio = checkAudioOptions(o);
  const startTime = o.startTime === undefined ? 0 : checkFinite('startTime', o.startTime);
  const grid = { chunks: 1, mels, frames };
  const [scaleX, scaleY] = o.pixelScale === undefined ? autoScale(grid) : checkPixelScale(o.pixelScale);
  const dbRange = o.dbRange === undefined ? dataRange(data) : checkRange('dbRange', o.dbRange);
  const base = { ...grid, ...audio, chunkStride: frames, startTime, title: checkTitle(o.title, 'mel-spectrogram'), dbRange, scaleX, scaleY };
  const subtitle = `${count(mels, 'mel band')} \u00d7 ${count(frames, 'frame')}, ` + audioSummary(base) + nanNote(data);
  const spec: Spec = { ...base, subtitle, panelLabels: [] };
  spec.panelLabels = [[spanLabel(spec, 0)]];
  return spec;
}

/** Mentions the NaN colour only when there is missing data to explain. */
function nanNote(data: Float32Array): string {
  return data.some(Number.isNaN) ? ', grey = NaN' : '';
}

// ---------------------------------------------------------------- public

/**
 * Where {@link renderMelChunksPng} would place the panels and colour bar for
 * these arguments, without drawing anything. Useful to locate a chunk's pixels.
 *
 * @throws Same as {@link renderMelChunksPng}.
 */
export function layoutMelChunks(data: Float32Array, shape: readonly [number, number, number], opts: MelChunksOptions): MelChunksLayout {
  return planLayout(chunkSpec(checkData(data), shape, opts)).layout;
}

/**
 * Draws chunked mel-spectrograms side by side as a PNG: one framed panel per
 * chunk (low mel bands at the bottom) labelled with its number and time span,
 * time axes in seconds under each panel, the mel axis in Hz (HTK mel band
 * centres) on the left, a colour bar in dB on the right, and the title on top.
 *
 * @param data - Values (normally dB), chunk-major: `data[(c * mels + m) * frames + t]`.
 * @param shape - `[chunks, mels, frames]`, e.g. `[7, 128, 128]`.
 * @param opts - Audio parameters the features were computed with, plus optional
 *   title, colour range and pixel scale. Values outside `dbRange` are clamped to
 *   its ends; NaN cells are drawn grey.
 * @returns The PNG file.
 * @throws TypeError for arguments of the wrong type or unknown options,
 *   RangeError for out-of-range values or a shape that does not match `data.length`.
 */
export function renderMelChunksPng(data: Float32Array, shape: readonly [number, number, number], opts: MelChunksOptions): Buffer {
  const checked = checkData(data);
  return render(checked, planLayout(chunkSpec(checked, shape, opts))).toPng();
}

/**
 * Draws one mel-spectrogram (mel × frame, low bands at the bottom) as a PNG
 * with the same axes and colour bar as {@link renderMelChunksPng}.
 *
 * @param data - Values (normally dB), band-major: `data[m * frames + t]`.
 * @param shape - `[mels, frames]`.
 * @param opts - Audio parameters, plus optional title, colour range, start time and pixel scale.
 * @returns The PNG file.
 * @throws TypeError / RangeError as {@link renderMelChunksPng}.
 */
export function renderSpectrogramPng(data: Float32Array, shape: readonly [number, number], opts: SpectrogramOptions): Buffer {
  const checked = checkData(data);
  return render(checked, planLayout(spectrogramSpec(checked, shape, opts))).toPng();
}
