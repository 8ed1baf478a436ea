/**
 * Charts as Vega-Lite specifications, rendered by Vega to SVG and rasterised by resvg where a PNG
 * is wanted (`emo train`, `emo evaluate`, `emo crossval`): the confusion matrix and the training
 * curves. A chart is a spec first, so the same spec serves an SVG for a page and a PNG for a file.
 * Text is set in DejaVu Sans (Debian `fonts-dejavu-core`) when the system has it.
 *
 * @packageDocumentation
 */
import type { TopLevelSpec } from 'vega-lite';
import { checkKnownKeys, checkPlainObject, invalidRange, invalidType } from '../validate';

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
  if (!Array.isArray(labels) || labels.length === 0 || labels.some((l) => typeof l !== 'string')) throw invalidType('labels', 'a non-empty array of strings', labels);
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
