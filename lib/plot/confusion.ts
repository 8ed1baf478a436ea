// Renders a confusion matrix as a PNG for `emo train`: true classes as rows,
// predicted classes as columns, each cell coloured by its (row-normalised)
// value and labelled with its count and percentage.
import { RgbCanvas } from './canvas';
import { COLORMAP_LUT, colormapIndex, type Rgb } from './colormap';
import { LINE_HEIGHT, textHeight, textWidth } from './font';
import type { PlotRect } from './melchunks';
import { checkObject, invalidRange, invalidType } from '../validate';

/** Options for {@link renderConfusionPng}. */
export interface ConfusionOptions {
  /** Heading drawn at the top (default "confusion matrix"). */
  title?: string;
  /**
   * Colour each cell by its count divided by its row's total, i.e. the recall
   * of the true class, and label it with that percentage (default true).
   * When false, cells are coloured by count / largest count and labelled with
   * the percentage of all examples.
   */
  normalize?: boolean;
}

/** Where {@link renderConfusionPng} puts things. */
export interface ConfusionLayout {
  /** Image width in pixels. */
  width: number;
  /** Image height in pixels. */
  height: number;
  /** Side of one cell in pixels. */
  cellSize: number;
  /** The k × k grid; cell (row r, column c) starts at (x + c·cellSize, y + r·cellSize). */
  grid: PlotRect;
  /** The colour bar; its top row is 100 %. */
  colorBar: PlotRect;
}

// ---------------------------------------------------------------- style

const INK: Rgb = [34, 34, 34];
const LIGHT_INK: Rgb = [255, 255, 255];
const MUTED: Rgb = [105, 105, 105];
const FRAME: Rgb = [40, 40, 40];
/** Colour of the cells of a row with no examples (outside the colour map). */
export const CONFUSION_EMPTY_COLOR: Rgb = [150, 150, 150];

const PAD = 16;
const TITLE_SCALE = 2;
const AXIS_GAP = 6;
const BAR_GAP = 24;
const BAR_WIDTH = 14;
const TICK = 4;
const CELL_MAX = 96;
const CELL_MIN = 44;
const CELL_TEXT_MARGIN = 6;
const TARGET_GRID = 560;

const KNOWN_KEYS = ['title', 'normalize'] as const;

// ---------------------------------------------------------------- input

function checkMatrix(confusion: unknown): number[][] {
  if (!Array.isArray(confusion) || confusion.length === 0) throw invalidType('confusion', 'a non-empty square array of arrays of counts', confusion);
  const k = confusion.length;
  return confusion.map((row: unknown, r) => {
    if (!Array.isArray(row)) throw invalidType(`confusion[${r}]`, `an array of ${k} counts`, row);
    if (row.length !== k) throw invalidRange(`confusion[${r}].length`, `${k} (the matrix must be square)`, row.length);
    return row.map((v: unknown, c) => {
      if (typeof v !== 'number') throw invalidType(`confusion[${r}][${c}]`, 'a non-negative count', v);
      if (!(Number.isFinite(v) && v >= 0)) throw invalidRange(`confusion[${r}][${c}]`, 'a non-negative count', v);
      return v;
    });
  });
}

function checkLabels(labels: unknown, k: number): string[] {
  if (!Array.isArray(labels)) throw invalidType('labels', `an array of ${k} class names`, labels);
  if (labels.length !== k) throw invalidRange('labels.length', `${k} (one per row of confusion)`, labels.length);
  return labels.map((l: unknown, i) => {
    if (typeof l !== 'string') throw invalidType(`labels[${i}]`, 'a string', l);
    return l;
  });
}

interface ConfusionSpec {
  title: string;
  normalize: boolean;
}

function checkOptions(opts: unknown): ConfusionSpec {
  if (opts === undefined) return { title: 'confusion matrix', normalize: true };
  const o = checkObject('opts', opts);
  for (const key of Object.keys(o)) {
    if (!(KNOWN_KEYS as readonly string[]).includes(key)) throw new TypeError(`Unknown option '${key}' in opts; known options: ${KNOWN_KEYS.join(', ')}`);
  }
  if (o.title !== undefined && typeof o.title !== 'string') throw invalidType('title', 'a string', o.title);
  if (o.normalize !== undefined && typeof o.normalize !== 'boolean') throw invalidType('normalize', 'a boolean', o.normalize);
  return { title: (o.title as string | undefined) ?? 'confusion matrix', normalize: (o.normalize as boolean | undefined) ?? true };
}

// ---------------------------------------------------------------- layout

function formatCount(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

function formatPercent(fraction: number): string {
  return `${(100 * fraction).toFixed(1)}%`;
}

interface Geometry extends ConfusionLayout {
  rowLabelWidth: number;
  verticalColumnLabels: boolean;
  columnLabelHeight: number;
  titleY: number;
}

function geometry(k: number, labels: readonly string[], cellTextWidth: number, title: string): Geometry {
  const cellSize = Math.max(CELL_MIN, cellTextWidth + 2 * CELL_TEXT_MARGIN, Math.min(CELL_MAX, Math.floor(TARGET_GRID / k)));
  const widestLabel = Math.max(0, ...labels.map((l) => textWidth(l)));
  const verticalColumnLabels = widestLabel > cellSize - 4;
  const columnLabelHeight = verticalColumnLabels ? widestLabel : textHeight('Ag');
  const rowLabelWidth = widestLabel;
  const titleHeight = title ? textHeight(title, TITLE_SCALE) + 14 : 0;
  const trueTitleWidth = LINE_HEIGHT; // vertical "true"
  const gridX = PAD + trueTitleWidth + AXIS_GAP + rowLabelWidth + AXIS_GAP;
  const gridY = PAD + titleHeight;
  const side = k * cellSize;
  const barX = gridX + side + BAR_GAP;
  const width = barX + BAR_WIDTH + TICK + 3 + textWidth('100%') + PAD;
  const height = gridY + side + AXIS_GAP + columnLabelHeight + AXIS_GAP + LINE_HEIGHT + PAD;
  return {
    width: Math.max(width, PAD * 2 + textWidth(title, TITLE_SCALE)),
    height,
    cellSize,
    grid: { x: gridX, y: gridY, width: side, height: side },
    colorBar: { x: barX, y: gridY, width: BAR_WIDTH, height: side },
    rowLabelWidth,
    verticalColumnLabels,
    columnLabelHeight,
    titleY: PAD,
  };
}

/** Luma-based choice of text colour that stays readable on `bg`. */
function contrastingInk(bg: Rgb): Rgb {
  const luma = 0.2126 * bg[0] + 0.7152 * bg[1] + 0.0722 * bg[2];
  return luma > 140 ? INK : LIGHT_INK;
}

interface Prepared {
  matrix: number[][];
  labels: string[];
  spec: ConfusionSpec;
  geometry: Geometry;
}

function prepare(confusion: unknown, labels: unknown, opts: unknown): Prepared {
  const matrix = checkMatrix(confusion);
  const names = checkLabels(labels, matrix.length);
  const spec = checkOptions(opts);
  let cellText = textWidth('100.0%');
  for (const row of matrix) for (const v of row) cellText = Math.max(cellText, textWidth(formatCount(v)));
  return { matrix, labels: names, spec, geometry: geometry(matrix.length, names, cellText, spec.title) };
}

/**
 * Where {@link renderConfusionPng} would draw the grid and colour bar for
 * these arguments (validated the same way), e.g. to find a cell's pixels.
 */
export function layoutConfusion(confusion: number[][], labels: readonly string[], opts?: ConfusionOptions): ConfusionLayout {
  const { width, height, cellSize, grid, colorBar } = prepare(confusion, labels, opts).geometry;
  return { width, height, cellSize, grid, colorBar };
}

// ---------------------------------------------------------------- drawing

/**
 * Renders a confusion matrix as a PNG: true classes as rows (top to bottom in
 * `labels` order), predicted classes as columns. Each cell is coloured with
 * the colour map at its normalised value (see {@link ConfusionOptions.normalize})
 * and labelled with its count and percentage in a colour that contrasts with
 * the cell. Rows without examples are drawn grey and marked "no examples".
 *
 * @param confusion - k × k non-negative counts; `confusion[t][p]` is the number of examples of class t predicted as p.
 * @param labels - The k class names.
 * @param opts - See {@link ConfusionOptions}.
 * @returns The PNG file.
 * @throws TypeError / RangeError if the matrix is not square with non-negative finite counts, the labels do not match, or an option is invalid.
 */
export function renderConfusionPng(confusion: number[][], labels: readonly string[], opts?: ConfusionOptions): Buffer {
  const { matrix, labels: names, spec, geometry: g } = prepare(confusion, labels, opts);
  const k = matrix.length;
  const img = new RgbCanvas(g.width, g.height);
  const { x: gx, y: gy } = g.grid;
  const cs = g.cellSize;

  if (spec.title) img.drawText(Math.round((g.width - textWidth(spec.title, TITLE_SCALE)) / 2), g.titleY, spec.title, INK, TITLE_SCALE);

  const rowTotals = matrix.map((row) => row.reduce((a, b) => a + b, 0));
  const total = rowTotals.reduce((a, b) => a + b, 0);
  const maxCount = Math.max(0, ...matrix.flat());

  for (let r = 0; r < k; r++) {
    const y = gy + r * cs;
    if (rowTotals[r] === 0) {
      img.fillRect(gx, y, k * cs, cs, CONFUSION_EMPTY_COLOR);
      const text = textWidth('no examples') <= k * cs - 8 ? 'no examples' : 'no\nexamples';
      img.drawText(gx + Math.round((k * cs - textWidth(text)) / 2), y + Math.round((cs - textHeight(text)) / 2), text, INK);
      continue;
    }
    for (let c = 0; c < k; c++) {
      const v = matrix[r][c];
      const t = spec.normalize ? v / rowTotals[r] : maxCount > 0 ? v / maxCount : 0;
      const share = spec.normalize ? v / rowTotals[r] : total > 0 ? v / total : 0;
      const bg = COLORMAP_LUT[colormapIndex(t)];
      const x = gx + c * cs;
      img.fillRect(x, y, cs, cs, bg);
      const ink = contrastingInk(bg);
      const count = formatCount(v);
      const pct = formatPercent(share);
      const blockHeight = LINE_HEIGHT + textHeight(pct);
      const top = y + Math.round((cs - blockHeight) / 2);
      img.drawText(x + Math.round((cs - textWidth(count)) / 2), top, count, ink);
      img.drawText(x + Math.round((cs - textWidth(pct)) / 2), top + LINE_HEIGHT, pct, ink);
    }
  }
  // Thin white separators between cells, then the frame.
  for (let i = 1; i < k; i++) {
    img.hline(gx, gx + k * cs - 1, gy + i * cs, [255, 255, 255]);
    for (let r = 0; r < k; r++) if (rowTotals[r] > 0) img.vline(gx + i * cs, gy + r * cs, gy + (r + 1) * cs - 1, [255, 255, 255]);
  }
  img.strokeRect(gx - 1, gy - 1, k * cs + 2, k * cs + 2, FRAME);

  // Row labels (right-aligned), column labels (centred, or vertical if too wide).
  for (let i = 0; i < k; i++) {
    const name = names[i];
    img.drawText(gx - AXIS_GAP - textWidth(name), gy + i * cs + Math.round((cs - textHeight(name)) / 2), name, INK);
    const labelTop = gy + k * cs + AXIS_GAP;
    if (g.verticalColumnLabels) {
      img.drawTextVertical(gx + i * cs + Math.round((cs - textHeight(name)) / 2), labelTop + g.columnLabelHeight - textWidth(name), name, INK);
    } else {
      img.drawText(gx + i * cs + Math.round((cs - textWidth(name)) / 2), labelTop, name, INK);
    }
  }
  // Axis titles.
  const predicted = 'predicted';
  img.drawText(gx + Math.round((k * cs - textWidth(predicted)) / 2), gy + k * cs + AXIS_GAP + g.columnLabelHeight + AXIS_GAP, predicted, MUTED);
  const trueTitle = 'true';
  img.drawTextVertical(PAD, gy + Math.round((k * cs - textWidth(trueTitle)) / 2), trueTitle, MUTED);

  // Colour bar, 0 % at the bottom.
  const bar = g.colorBar;
  for (let row = 0; row < bar.height; row++) {
    const t = bar.height > 1 ? 1 - row / (bar.height - 1) : 1;
    img.fillRect(bar.x, bar.y + row, bar.width, 1, COLORMAP_LUT[colormapIndex(t)]);
  }
  img.strokeRect(bar.x - 1, bar.y - 1, bar.width + 2, bar.height + 2, FRAME);
  for (const frac of [0, 0.25, 0.5, 0.75, 1]) {
    const y = bar.y + Math.round((1 - frac) * (bar.height - 1));
    img.hline(bar.x + bar.width, bar.x + bar.width + TICK - 1, y, FRAME);
    const label = spec.normalize ? `${Math.round(frac * 100)}%` : formatCount(Math.round(frac * maxCount * 10) / 10);
    img.drawText(bar.x + bar.width + TICK + 3, y - 3, label, INK);
  }
  return img.toPng();
}
