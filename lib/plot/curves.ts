// Renders training curves as a PNG for `emo train`: loss per epoch and
// accuracy per epoch side by side, train against validation, with the best
// epoch marked.
import { RgbCanvas } from './canvas';
import type { Rgb } from './colormap';
import { LINE_HEIGHT, textHeight, textWidth } from './font';
import { decimalsFor, formatTick, niceStep, ticksIn } from './ticks';
import { checkObject, invalidRange, invalidType } from '../validate';

/** One epoch of training history; missing or non-finite values leave a gap in their curve. */
export interface TrainingHistoryEntry {
  epoch: number;
  trainLoss: number;
  valLoss?: number;
  trainAccuracy: number;
  valAccuracy?: number;
  valMacroF1?: number;
}

/** Options for {@link renderCurvesPng}. */
export interface CurvesOptions {
  /** Heading drawn at the top (default "training curves"). */
  title?: string;
  /** Epoch to mark with a vertical line, e.g. the checkpoint that was kept. */
  bestEpoch?: number;
}

// ---------------------------------------------------------------- style

const INK: Rgb = [34, 34, 34];
const MUTED: Rgb = [105, 105, 105];
const FRAME: Rgb = [40, 40, 40];
const GRID: Rgb = [230, 230, 230];
const BEST: Rgb = [200, 40, 40];
/** Curve colours: train, validation, validation macro-F1. */
export const CURVE_COLORS: Readonly<Record<'train' | 'validation' | 'macroF1', Rgb>> = Object.freeze({
  train: [31, 119, 180] as Rgb,
  validation: [230, 120, 0] as Rgb,
  macroF1: [40, 150, 40] as Rgb,
});

const PAD = 16;
const TITLE_SCALE = 2;
const PANEL_WIDTH = 440;
const PANEL_HEIGHT = 280;
const PANEL_GAP = 70;
const Y_LABEL_SPACE = 58; // tick labels plus the vertical axis title
const TICK = 4;
const LEGEND_SWATCH = 18;

const KNOWN_KEYS = ['title', 'bestEpoch'] as const;

// ---------------------------------------------------------------- input

function optionalNumber(name: string, value: unknown): number {
  if (value === undefined || value === null) return NaN;
  if (typeof value !== 'number') throw invalidType(name, 'a number (or undefined)', value);
  return value;
}

function checkHistory(history: unknown): TrainingHistoryEntry[] {
  if (!Array.isArray(history) || history.length === 0) throw invalidType('history', 'a non-empty array of epoch records', history);
  let previous = -Infinity;
  return history.map((entry: unknown, i) => {
    const e = checkObject(`history[${i}]`, entry);
    if (typeof e.epoch !== 'number') throw invalidType(`history[${i}].epoch`, 'a finite number', e.epoch);
    if (!Number.isFinite(e.epoch)) throw invalidRange(`history[${i}].epoch`, 'a finite number', e.epoch);
    if (!(e.epoch > previous)) throw invalidRange(`history[${i}].epoch`, `a number greater than the previous epoch (${previous})`, e.epoch);
    previous = e.epoch;
    if (typeof e.trainLoss !== 'number') throw invalidType(`history[${i}].trainLoss`, 'a number', e.trainLoss);
    if (typeof e.trainAccuracy !== 'number') throw invalidType(`history[${i}].trainAccuracy`, 'a number', e.trainAccuracy);
    return {
      epoch: e.epoch,
      trainLoss: e.trainLoss,
      trainAccuracy: e.trainAccuracy,
      valLoss: optionalNumber(`history[${i}].valLoss`, e.valLoss),
      valAccuracy: optionalNumber(`history[${i}].valAccuracy`, e.valAccuracy),
      valMacroF1: optionalNumber(`history[${i}].valMacroF1`, e.valMacroF1),
    };
  });
}

function checkOptions(opts: unknown): { title: string; bestEpoch: number | undefined } {
  if (opts === undefined) return { title: 'training curves', bestEpoch: undefined };
  const o = checkObject('opts', opts);
  for (const key of Object.keys(o)) {
    if (!(KNOWN_KEYS as readonly string[]).includes(key)) throw new TypeError(`Unknown option '${key}' in opts; known options: ${KNOWN_KEYS.join(', ')}`);
  }
  if (o.title !== undefined && typeof o.title !== 'string') throw invalidType('title', 'a string', o.title);
  if (o.bestEpoch !== undefined) {
    if (typeof o.bestEpoch !== 'number') throw invalidType('bestEpoch', 'a finite number', o.bestEpoch);
    if (!Number.isFinite(o.bestEpoch)) throw invalidRange('bestEpoch', 'a finite number', o.bestEpoch);
  }
  return { title: (o.title as string | undefined) ?? 'training curves', bestEpoch: o.bestEpoch as number | undefined };
}

// ---------------------------------------------------------------- drawing helpers

/** A thick line from (x0, y0) to (x1, y1); `dash` is [on, off] in pixels along the line. */
function drawLine(img: RgbCanvas, x0: number, y0: number, x1: number, y1: number, color: Rgb, dash?: readonly [number, number], phase = 0): number {
  const dx = x1 - x0;
  const dy = y1 - y0;
  const steps = Math.max(1, Math.ceil(Math.max(Math.abs(dx), Math.abs(dy))));
  const length = Math.hypot(dx, dy);
  for (let s = 0; s <= steps; s++) {
    const along = phase + (length * s) / steps;
    if (dash && along % (dash[0] + dash[1]) >= dash[0]) continue;
    const x = Math.round(x0 + (dx * s) / steps);
    const y = Math.round(y0 + (dy * s) / steps);
    img.fillRect(x - 1, y - 1, 2, 2, color);
  }
  return phase + length;
}

interface Series {
  name: string;
  color: Rgb;
  dash?: readonly [number, number];
  values: number[];
}

interface Panel {
  x: number;
  y: number;
  title: string;
  yTitle: string;
  yRange: [number, number];
  series: Series[];
}

function valueRange(series: Series[], floorAtZero: boolean, fixed?: [number, number]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of series) {
    for (const v of s.values) {
      if (!Number.isFinite(v)) continue;
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  if (fixed) {
    if (lo > hi) return fixed;
    return [Math.min(fixed[0], lo), Math.max(fixed[1], hi)];
  }
  if (lo > hi) return [0, 1];
  if (floorAtZero && lo >= 0) lo = 0;
  if (hi - lo < 1e-9 * Math.max(1, Math.abs(hi))) return [lo - 0.5, hi + 0.5];
  return [lo, hi + 0.05 * (hi - lo)];
}

function drawPanel(img: RgbCanvas, p: Panel, epochs: number[], xRange: [number, number], bestEpoch: number | undefined): void {
  const W = PANEL_WIDTH;
  const H = PANEL_HEIGHT;
  const toX = (e: number): number => p.x + ((e - xRange[0]) / (xRange[1] - xRange[0])) * (W - 1);
  const toY = (v: number): number => p.y + (1 - (v - p.yRange[0]) / (p.yRange[1] - p.yRange[0])) * (H - 1);

  img.drawText(p.x + Math.round((W - textWidth(p.title)) / 2), p.y - LINE_HEIGHT - 4, p.title, INK);

  // Y ticks and grid.
  const yStep = niceStep((p.yRange[1] - p.yRange[0]) / 6);
  const yDecimals = decimalsFor(yStep);
  let widestTick = 0;
  for (const v of ticksIn(p.yRange[0], p.yRange[1], yStep)) {
    const y = Math.round(toY(v));
    img.hline(p.x, p.x + W - 1, y, GRID);
    img.hline(p.x - TICK, p.x - 1, y, FRAME);
    const label = formatTick(v, yDecimals);
    widestTick = Math.max(widestTick, textWidth(label));
    img.drawText(p.x - TICK - 3 - textWidth(label), y - 3, label, INK);
  }
  img.drawTextVertical(p.x - TICK - 3 - widestTick - 6 - LINE_HEIGHT + 2, p.y + Math.round((H - textWidth(p.yTitle)) / 2), p.yTitle, MUTED);

  // X ticks (whole epochs) and grid.
  const xStep = Math.max(1, niceStep((xRange[1] - xRange[0]) / 8));
  for (const e of ticksIn(xRange[0], xRange[1], xStep)) {
    const x = Math.round(toX(e));
    img.vline(x, p.y, p.y + H - 1, GRID);
    img.vline(x, p.y + H, p.y + H + TICK - 1, FRAME);
    const label = formatTick(e, decimalsFor(xStep));
    img.drawText(x - Math.round(textWidth(label) / 2), p.y + H + TICK + 3, label, INK);
  }
  img.drawText(p.x + Math.round((W - textWidth('epoch')) / 2), p.y + H + TICK + 3 + LINE_HEIGHT + 2, 'epoch', MUTED);

  // Best-epoch marker, dashed, under the curves.
  if (bestEpoch !== undefined && bestEpoch >= xRange[0] && bestEpoch <= xRange[1]) {
    const x = Math.round(toX(bestEpoch));
    for (let y = p.y; y < p.y + H; y++) if ((y - p.y) % 8 < 5) img.fillRect(x, y, 1, 1, BEST);
  }

  // Curves: segments between consecutive finite points, a dot at every point.
  for (const s of p.series) {
    let phase = 0;
    for (let i = 0; i < epochs.length; i++) {
      const v = s.values[i];
      if (!Number.isFinite(v)) continue;
      const x = toX(epochs[i]);
      const y = toY(v);
      const next = s.values[i + 1];
      if (i + 1 < epochs.length && Number.isFinite(next)) phase = drawLine(img, x, y, toX(epochs[i + 1]), toY(next), s.color, s.dash, phase);
      img.fillRect(Math.round(x) - 2, Math.round(y) - 2, 5, 5, s.color);
    }
  }
  // The marker's label goes over the curves on a white patch so it stays legible.
  if (bestEpoch !== undefined && bestEpoch >= xRange[0] && bestEpoch <= xRange[1]) {
    const x = Math.round(toX(bestEpoch));
    const label = `best ${formatTick(bestEpoch, Number.isInteger(bestEpoch) ? 0 : 2)}`;
    const lx = x + 5 + textWidth(label) < p.x + W - 2 ? x + 5 : x - 5 - textWidth(label);
    img.fillRect(lx - 2, p.y + 2, textWidth(label) + 4, LINE_HEIGHT + 1, [255, 255, 255]);
    img.drawText(lx, p.y + 4, label, BEST);
  }
  img.strokeRect(p.x - 1, p.y - 1, W + 2, H + 2, FRAME);

  // Legend below the axis title.
  let lx = p.x;
  const ly = p.y + H + TICK + 3 + 2 * LINE_HEIGHT + 8;
  for (const s of p.series) {
    const any = s.values.some(Number.isFinite);
    drawLine(img, lx, ly + 3, lx + LEGEND_SWATCH, ly + 3, any ? s.color : GRID, s.dash);
    const label = any ? s.name : `${s.name} (none)`;
    img.drawText(lx + LEGEND_SWATCH + 5, ly, label, any ? INK : MUTED);
    lx += LEGEND_SWATCH + 5 + textWidth(label) + 16;
  }
}

/**
 * Renders training curves as a PNG: loss per epoch (train vs validation) on
 * the left and accuracy per epoch (train vs validation, plus validation
 * macro-F1 dashed) on the right, with ticks, axis titles, a legend and an
 * optional dashed marker at the best epoch. Missing, NaN or infinite values
 * leave gaps; a single epoch is drawn as dots.
 *
 * @param history - Epoch records in increasing epoch order; accuracies and F1 as fractions in [0, 1].
 * @param opts - See {@link CurvesOptions}.
 * @returns The PNG file.
 * @throws TypeError / RangeError if `history` is empty or malformed, epochs do not increase, or an option is invalid.
 */
export function renderCurvesPng(history: readonly TrainingHistoryEntry[], opts?: CurvesOptions): Buffer {
  const entries = checkHistory(history);
  const { title, bestEpoch } = checkOptions(opts);
  const epochs = entries.map((e) => e.epoch);
  let xRange: [number, number] = [epochs[0], epochs[epochs.length - 1]];
  if (bestEpoch !== undefined) xRange = [Math.min(xRange[0], bestEpoch), Math.max(xRange[1], bestEpoch)];
  if (xRange[1] - xRange[0] < 1) xRange = [xRange[0] - 0.5, xRange[1] + 0.5];
  else {
    const margin = 0.03 * (xRange[1] - xRange[0]);
    xRange = [xRange[0] - margin, xRange[1] + margin];
  }

  const lossSeries: Series[] = [
    { name: 'train', color: CURVE_COLORS.train, values: entries.map((e) => e.trainLoss) },
    { name: 'validation', color: CURVE_COLORS.validation, values: entries.map((e) => e.valLoss ?? NaN) },
  ];
  const accSeries: Series[] = [
    { name: 'train', color: CURVE_COLORS.train, values: entries.map((e) => e.trainAccuracy) },
    { name: 'validation', color: CURVE_COLORS.validation, values: entries.map((e) => e.valAccuracy ?? NaN) },
    { name: 'val macro-F1', color: CURVE_COLORS.macroF1, dash: [7, 5], values: entries.map((e) => e.valMacroF1 ?? NaN) },
  ];

  const titleHeight = title ? textHeight(title, TITLE_SCALE) + 14 : 0;
  const top = PAD + titleHeight + LINE_HEIGHT + 4;
  const left = PAD + Y_LABEL_SPACE;
  const width = left + PANEL_WIDTH + PANEL_GAP + Y_LABEL_SPACE - 40 + PANEL_WIDTH + PAD;
  const height = top + PANEL_HEIGHT + TICK + 3 + 2 * LINE_HEIGHT + 8 + LINE_HEIGHT + PAD;
  const img = new RgbCanvas(width, height);
  if (title) img.drawText(Math.round((width - textWidth(title, TITLE_SCALE)) / 2), PAD, title, INK, TITLE_SCALE);

  drawPanel(img, { x: left, y: top, title: 'loss', yTitle: 'loss', yRange: valueRange(lossSeries, true), series: lossSeries }, epochs, xRange, bestEpoch);
  const accX = left + PANEL_WIDTH + PANEL_GAP + Y_LABEL_SPACE - 40;
  drawPanel(img, { x: accX, y: top, title: 'accuracy', yTitle: 'accuracy / F1', yRange: valueRange(accSeries, true, [0, 1]), series: accSeries }, epochs, xRange, bestEpoch);
  return img.toPng();
}
