/**
 * Charts as Vega-Lite specifications, rendered by Vega to SVG and rasterised by resvg where a PNG
 * is wanted (`emo train`, `emo evaluate`, `emo crossval`): the confusion matrix and the training
 * curves. A chart is a spec first, so the same spec serves an SVG for a page and a PNG for a file.
 * Text is set in DejaVu Sans (Debian `fonts-dejavu-core`) when the system has it.
 *
 * @packageDocumentation
 */
import type { TopLevelSpec } from 'vega-lite';
import { checkKnownKeys, checkNumber, checkPlainObject, invalidRange, invalidType } from '../validate';

/** Options of {@link confusionChart}. */
export interface ConfusionOptions {
  /** Heading (default "confusion matrix"). */
  title?: string;
  /**
   * Colour each cell by its count divided by its row's total — the recall of the true class — and
   * label it with that percentage (default true). When false, by count / largest count and the
   * percentage of all examples.
   */
  normalize?: boolean;
}

/** One epoch of training history; a missing or non-finite value leaves a gap in its curve. */
export interface TrainingHistoryEntry {
  epoch: number;
  trainLoss: number;
  valLoss?: number;
  trainAccuracy: number;
  valAccuracy?: number;
  valMacroF1?: number;
}

/** Options of {@link curvesChart}. */
export interface CurvesOptions {
  /** Heading (default "training curves"). */
  title?: string;
  /** Epoch to mark with a vertical rule, e.g. the checkpoint that was kept. */
  bestEpoch?: number;
}

const FONT = 'DejaVu Sans, sans-serif';
/** Fonts, sizes and background every chart shares. */
export const CHART_CONFIG = { font: FONT, background: 'white', view: { stroke: '#282828' }, axis: { labelFontSize: 12, titleFontSize: 13 }, title: { fontSize: 17 } };

/**
 * A k × k confusion matrix (rows: true class, columns: predicted) as a heat map, each cell with its
 * count and its percentage; a row without examples grey.
 *
 * @throws TypeError/RangeError for a matrix that is not k × k counts for `labels`.
 */
export function confusionChart(confusion: number[][], labels: readonly string[], options: ConfusionOptions = {}): TopLevelSpec {
  checkKnownKeys('options', checkPlainObject('options', options), ['title', 'normalize']);
  checkLabels(labels);
  const k = labels.length;
  if (!Array.isArray(confusion) || confusion.length !== k || confusion.some((row) => !Array.isArray(row) || row.length !== k)) {
    throw invalidRange('confusion', `a ${k} × ${k} matrix of counts`, confusion);
  }
  if (confusion.some((row) => row.some((n) => !Number.isInteger(n) || n < 0))) throw invalidRange('confusion', 'non-negative integer counts', confusion);
  const normalize = options.normalize !== false;
  const total = confusion.flat().reduce((a, b) => a + b, 0);
  const largest = Math.max(1, ...confusion.flat());
  const cells = confusion.flatMap((row, t) => {
    const rowTotal = row.reduce((a, b) => a + b, 0);
    return row.map((count, p) => {
      // A row without examples has no recall: grey, and a dash.
      const empty = normalize && rowTotal === 0;
      const share = empty ? 0 : normalize ? count / rowTotal : count / largest;
      const percent = normalize ? share : total > 0 ? count / total : 0;
      return { truth: labels[t], predicted: labels[p], count, share, empty, text: empty ? '–' : `${count}\n${(100 * percent).toFixed(0)}%` };
    });
  });
  const size = Math.max(44, Math.min(96, Math.floor(560 / k)));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: options.title ?? 'confusion matrix',
    config: CHART_CONFIG,
    width: size * k,
    height: size * k,
    data: { values: cells },
    encoding: {
      x: { field: 'predicted', type: 'nominal', sort: [...labels], title: 'predicted', axis: { labelAngle: -40, orient: 'top' } },
      y: { field: 'truth', type: 'nominal', sort: [...labels], title: 'true' },
    },
    layer: [
      {
        mark: { type: 'rect', stroke: 'white', strokeWidth: 1 },
        encoding: {
          color: {
            condition: { test: 'datum.empty', value: '#969696' },
            field: 'share',
            type: 'quantitative',
            scale: { scheme: 'viridis', domain: [0, 1] },
            title: normalize ? 'recall' : 'of largest',
            legend: { format: '.0%' },
          },
        },
      },
      {
        mark: { type: 'text', lineBreak: '\n', fontSize: 12 },
        encoding: {
          text: { field: 'text', type: 'nominal' },
          color: { condition: { test: 'datum.empty || datum.share > 0.55', value: '#222222' }, value: 'white' },
        },
      },
    ],
  } as TopLevelSpec;
}

/**
 * Training curves: loss per epoch (train, validation) and accuracy per epoch (train, validation,
 * validation macro-F1) side by side, the best epoch marked.
 *
 * @throws TypeError/RangeError for an empty or malformed history.
 */
export function curvesChart(history: readonly TrainingHistoryEntry[], options: CurvesOptions = {}): TopLevelSpec {
  checkKnownKeys('options', checkPlainObject('options', options), ['title', 'bestEpoch']);
  if (!Array.isArray(history) || history.length === 0) throw invalidRange('history', 'a non-empty array of epochs', history);
  history.forEach((h, i) => {
    if (typeof h !== 'object' || h === null || !Number.isFinite(h.epoch)) throw invalidType(`history[${i}]`, 'an epoch record with a finite epoch', h);
  });
  const finite = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? v : null);
  const rows = (panel: string, series: Array<[string, keyof TrainingHistoryEntry]>) =>
    history.flatMap((h) => series.map(([name, key]) => ({ panel, series: name, epoch: h.epoch, value: finite(h[key] as number | undefined) })));
  const loss = rows('loss', [['train', 'trainLoss'], ['validation', 'valLoss']]);
  const accuracy = rows('accuracy', [['train', 'trainAccuracy'], ['validation', 'valAccuracy'], ['validation macro-F1', 'valMacroF1']]);
  const best = options.bestEpoch;
  const panel = (values: object[], title: string, format: string) => ({
    width: 440,
    height: 280,
    data: { values },
    layer: [
      {
        mark: { type: 'line', point: history.length <= 40, strokeWidth: 2 },
        encoding: {
          x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1, format: 'd' } },
          y: { field: 'value', type: 'quantitative', title, axis: { format } },
          color: { field: 'series', type: 'nominal', title: null, scale: { domain: ['train', 'validation', 'validation macro-F1'], range: ['#1f77b4', '#e67800', '#289628'] } },
        },
      },
      ...(best === undefined ? [] : [{ data: { values: [{ epoch: best }] }, mark: { type: 'rule', color: '#c82828', strokeDash: [4, 3] }, encoding: { x: { field: 'epoch', type: 'quantitative' } } }]),
    ],
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `${options.title ?? 'training curves'}${best === undefined ? '' : ` (best epoch ${best})`}`,
    config: { ...CHART_CONFIG, legend: { orient: 'bottom' } },
    hconcat: [panel(loss, 'loss', '.2f'), panel(accuracy, 'accuracy', '.0%')],
    resolve: { scale: { color: 'shared' } },
  } as unknown as TopLevelSpec;
}

/** A Vega-Lite spec drawn as an SVG document (Vega, no browser). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const vega = await import('vega');
  const { compile } = await import('vega-lite');
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** A Vega-Lite spec as PNG bytes: its SVG rasterised by resvg at `scale` (default 1.5) with the system's fonts. */
export async function renderPng(spec: TopLevelSpec, scale = 1.5): Promise<Buffer> {
  const svg = await renderSvg(spec);
  const { Resvg } = await import('@resvg/resvg-js');
  const image = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
  });
  return Buffer.from(image.render().asPng());
}

// ---------------------------------------------------------------- the page's charts

/** The colour of each RAVDESS emotion on the page and in its charts. */
export const EMOTION_COLOURS: Readonly<Record<string, string>> = Object.freeze({
  neutral: '#8c8c8c',
  calm: '#4d9de0',
  happy: '#f2b134',
  sad: '#3d5a80',
  angry: '#d1495b',
  fearful: '#8e6cbf',
  disgust: '#6a994e',
  surprised: '#f07c2b',
});
// For labels of other models: Vega's 'tableau10', in label order.
const FALLBACK_COLOURS = ['#4c78a8', '#f58518', '#e45756', '#72b7b2', '#54a24b', '#eeca3b', '#b279a2', '#ff9da6', '#9d755d', '#bab0ac'];

/** One colour per label: the emotion's own, else the next of a categorical palette. */
export function labelColours(labels: readonly string[]): string[] {
  checkLabels(labels);
  return labels.map((label, i) => EMOTION_COLOURS[label] ?? (FALLBACK_COLOURS[i % FALLBACK_COLOURS.length] as string));
}

/** One column of {@link timelineChart}: the probabilities of one window, drawn from `start` to `end` seconds. */
export interface TimelineColumn {
  start: number;
  end: number;
  probabilities: Readonly<Record<string, number>>;
}

/** Options of {@link timelineChart}. */
export interface TimelineOptions {
  /** The time axis from `from` to `to` seconds (default 0 and 30); the page moves it through the signals `from` and `to`. */
  from?: number;
  to?: number;
  /** Plot width in pixels (default 860). */
  width?: number;
}

/**
 * Probability of each label as a horizontal bar with its percentage, labels in model order. Its data
 * set `probabilities` ({label, probability} rows) is what the page replaces on each reading.
 */
export function probabilitiesChart(labels: readonly string[], probabilities: Readonly<Record<string, number>> = {}): TopLevelSpec {
  const colours = labelColours(labels);
  const values = labels.map((label) => ({ label, probability: checkProbability(`probabilities.${label}`, probabilities[label] ?? 0) }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    config: { ...CHART_CONFIG, view: { stroke: null } },
    width: 190,
    height: { step: 22 },
    data: { name: 'probabilities', values },
    encoding: {
      y: { field: 'label', type: 'nominal', sort: [...labels], title: null, axis: { labelFontSize: 13, ticks: false, domain: false } },
      x: { field: 'probability', type: 'quantitative', scale: { domain: [0, 1] }, title: null, axis: { format: '.0%', tickCount: 5, grid: true } },
    },
    layer: [
      { mark: { type: 'bar', cornerRadiusEnd: 3 }, encoding: { color: { field: 'label', type: 'nominal', scale: { domain: [...labels], range: colours }, legend: null } } },
      { mark: { type: 'text', align: 'left', dx: 4, fontSize: 12 }, encoding: { text: { field: 'probability', type: 'quantitative', format: '.1%' } } },
    ],
  } as unknown as TopLevelSpec;
}

/**
 * The attention weight of each chunk of a window as a bar with its value. Its data set `attention`
 * holds {chunk, weight} rows, chunks numbered from 1.
 */
export function attentionChart(weights: readonly number[] = []): TopLevelSpec {
  if (!Array.isArray(weights)) throw invalidType('weights', 'an array of numbers', weights);
  const values = weights.map((weight, i) => ({ chunk: i + 1, weight: checkProbability(`weights[${i}]`, weight) }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    config: { ...CHART_CONFIG, view: { stroke: null } },
    width: 230,
    height: 120,
    padding: { top: 16, left: 5, right: 5, bottom: 5 },
    data: { name: 'attention', values },
    encoding: {
      x: { field: 'chunk', type: 'ordinal', title: 'chunk', axis: { labelAngle: 0 } },
      y: { field: 'weight', type: 'quantitative', title: 'weight', axis: { format: '.2~f', tickCount: 3 } },
    },
    layer: [
      { mark: { type: 'bar', color: '#1f5fbf' } },
      { mark: { type: 'text', baseline: 'bottom', dy: -2, fontSize: 11 }, encoding: { text: { field: 'weight', type: 'quantitative', format: '.2f' } } },
    ],
  } as unknown as TopLevelSpec;
}

/**
 * Probabilities over time: one column per window, its labels stacked in their colours, with a
 * legend. Its data set `timeline` holds {start, end, label, probability, order} rows (Vega stacks
 * them); the signals `from` and `to` set the time axis.
 */
export function timelineChart(labels: readonly string[], columns: readonly TimelineColumn[] = [], options: TimelineOptions = {}): TopLevelSpec {
  checkKnownKeys('options', checkPlainObject('options', options), ['from', 'to', 'width']);
  const colours = labelColours(labels);
  const from = options.from ?? 0;
  const to = options.to ?? 30;
  if (!Number.isFinite(from) || !Number.isFinite(to) || !(to > from)) throw invalidRange('options.to', `a finite number greater than from (${from})`, to);
  if (!Array.isArray(columns)) throw invalidType('columns', 'an array of {start, end, probabilities}', columns);
  const values = columns.flatMap((column, i) => {
    if (typeof column !== 'object' || column === null || !Number.isFinite(column.start) || !Number.isFinite(column.end)) throw invalidType(`columns[${i}]`, 'a {start, end, probabilities} column', column);
    return labels.map((label, order) => ({ start: column.start, end: column.end, label, order, probability: checkProbability(`columns[${i}].probabilities.${label}`, column.probabilities[label] ?? 0) }));
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    config: { ...CHART_CONFIG, legend: { orient: 'bottom', labelFontSize: 12, symbolType: 'square' } },
    params: [
      { name: 'from', value: from },
      { name: 'to', value: to },
    ],
    width: options.width ?? 860,
    height: 110,
    data: { name: 'timeline', values },
    transform: [{ stack: 'probability', groupby: ['start'], sort: [{ field: 'order' }], as: ['bottom', 'top'] }],
    mark: { type: 'rect', clip: true },
    encoding: {
      x: { field: 'start', type: 'quantitative', title: 'time (s)', scale: { domain: [{ expr: 'from' }, { expr: 'to' }], nice: false, zero: false }, axis: { tickCount: 10 } },
      x2: { field: 'end' },
      y: { field: 'bottom', type: 'quantitative', title: null, scale: { domain: [0, 1] }, axis: { format: '.0%', tickCount: 2 } },
      y2: { field: 'top' },
      color: { field: 'label', type: 'nominal', title: null, scale: { domain: [...labels], range: colours } },
      tooltip: null,
    },
  } as unknown as TopLevelSpec;
}

/** The page's three charts, compiled to Vega for a browser that runs Vega alone, and the label colours. */
export interface PageCharts {
  colours: Record<string, string>;
  probabilities: object;
  attention: object;
  timeline: object;
}

/** {@link probabilitiesChart}, {@link attentionChart} and {@link timelineChart} for `labels`, empty, compiled to Vega specs. */
export async function pageCharts(labels: readonly string[]): Promise<PageCharts> {
  const { compile } = await import('vega-lite');
  const colours = labelColours(labels);
  return {
    colours: Object.fromEntries(labels.map((label, i) => [label, colours[i] as string])),
    probabilities: compile(probabilitiesChart(labels)).spec,
    attention: compile(attentionChart()).spec,
    timeline: compile(timelineChart(labels)).spec,
  };
}

function checkLabels(labels: unknown): asserts labels is readonly string[] {
  if (!Array.isArray(labels) || labels.length === 0 || labels.some((l) => typeof l !== 'string')) throw invalidType('labels', 'a non-empty array of strings', labels);
}

const checkProbability = (name: string, value: unknown): number => checkNumber(name, value, 0, 1);
