/**
 * The picture of `emo features --png`: chunked mel-spectrograms side by side as a Vega-Lite chart.
 * The cells are a raster (one PNG per chunk, encoded by pngjs, coloured with Vega's `magma` scheme)
 * placed by an image mark; Vega draws the axes, titles and the dB legend with the same scheme, so
 * legend and cells agree by construction. Rendered like every chart by {@link renderPng}.
 *
 * @packageDocumentation
 */
import { PNG } from 'pngjs';
import type { TopLevelSpec } from 'vega-lite';
import { hzToMel } from '../features/mel-scale';
import { checkFinite, checkKnownKeys, checkNonNegativeNumber, checkObject, checkPositiveInteger, checkPositiveNumber, invalidRange, invalidType } from '../validate';
import { CHART_CONFIG, renderPng } from './charts';

/** Options of {@link melChunksChart}. */
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
  /** Heading (default "mel-spectrogram chunks"). */
  title?: string;
  /** Values mapped to the dark and light ends of the colour scheme (default: the data's finite min and max). */
  dbRange?: readonly [number, number];
  /** Integer magnification [horizontal, vertical] of each cell (default: the data area about 1150 px wide). */
  pixelScale?: readonly [number, number];
}

/** The colour scheme of the cells and the legend (perceptually uniform, dark = quiet). */
export const SPECTROGRAM_SCHEME = 'magma';
/** Colour of a NaN cell: a grey that the scheme never reaches. */
export const NAN_RGB: readonly [number, number, number] = [150, 150, 150];

const KEYS = ['sampleRate', 'hopLength', 'chunkStride', 'fMin', 'fMax', 'title', 'dbRange', 'pixelScale'] as const;
const TARGET_WIDTH = 1150;
const TARGET_PANEL_HEIGHT = 256;
const MAX_SCALE = 16;
const MIN_TICK_SPACING = 16; // pixels between frequency labels
const HZ_TICKS = [0, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000];

/**
 * Chunked mel-spectrograms (chunks × mel × frame) as a Vega-Lite spec: one panel per chunk, low bands
 * at the bottom, headed by its number and time span; time axes in seconds, the frequency axis in Hz
 * on the mel scale, a dB legend. NaN cells are grey; values outside `dbRange` take its end colours.
 *
 * @param data - Values (normally dB), chunk-major: `data[(c * mels + m) * frames + t]`.
 * @param shape - `[chunks, mels, frames]`.
 * @throws TypeError for arguments of the wrong type or unknown options, RangeError for out-of-range
 *   values or a shape that does not match `data.length`.
 */
export async function melChunksChart(data: Float32Array, shape: readonly [number, number, number], options: MelChunksOptions): Promise<TopLevelSpec> {
  if (!(data instanceof Float32Array)) throw invalidType('data', 'a Float32Array', data);
  const o = checkObject('options', options);
  checkKnownKeys('options', o, KEYS);
  const [chunks, mels, frames] = checkShape(shape, data.length);
  const sampleRate = checkPositiveNumber('sampleRate', o.sampleRate);
  const hopLength = checkPositiveInteger('hopLength', o.hopLength);
  const chunkStride = checkPositiveInteger('chunkStride', o.chunkStride);
  const fMin = checkNonNegativeNumber('fMin', o.fMin);
  if (typeof o.fMax !== 'number' || !Number.isFinite(o.fMax) || !(o.fMax > fMin)) throw invalidRange('fMax', `a number greater than fMin (${fMin})`, o.fMax);
  const fMax = o.fMax;
  if (o.title !== undefined && typeof o.title !== 'string') throw invalidType('title', 'a string', o.title);
  const dbRange = o.dbRange === undefined ? dataRange(data) : checkRange(o.dbRange);
  const [scaleX, scaleY] = o.pixelScale === undefined ? autoScale(chunks, mels, frames) : checkPixelScale(o.pixelScale);

  const colours = await schemeTable();
  const frameSeconds = hopLength / sampleRate;
  // Band m is centred on the (m + 1)-th of mels + 2 equally spaced mel points; its row spans half a step either side.
  const melStep = (hzToMel(fMax) - hzToMel(fMin)) / (mels + 1);
  const melDomain: [number, number] = [hzToMel(fMin) + melStep / 2, hzToMel(fMax) - melStep / 2];
  const width = frames * scaleX;
  const height = mels * scaleY;
  const hzTicks = frequencyTicks(melDomain, height);
  const overlap = Math.max(0, Math.round((100 * (frames - chunkStride)) / frames));
  const subtitle =
    `${count(chunks, 'chunk')} × ${count(mels, 'mel band')} × ${count(frames, 'frame')}, stride ${count(chunkStride, 'frame')} (${overlap}% overlap), ` +
    `hop ${hopLength} at ${sampleRate} Hz, mel ${Math.round(fMin)}–${Math.round(fMax)} Hz${data.some(Number.isNaN) ? ', grey = NaN' : ''}`;

  const panels = Array.from({ length: chunks }, (_, c) => {
    const start = c * chunkStride * frameSeconds;
    const end = start + frames * frameSeconds;
    const raster = chunkRaster(data.subarray(c * mels * frames, (c + 1) * mels * frames), mels, frames, scaleX, scaleY, dbRange, colours);
    const last = c === chunks - 1;
    return {
      title: { text: `chunk ${c + 1}`, subtitle: `${start.toFixed(2)}–${end.toFixed(2)} s`, fontSize: 12, subtitleFontSize: 11 },
      width,
      height,
      layer: [
        {
          data: { values: [{}] },
          mark: { type: 'image', width, height, aspect: false, align: 'left', baseline: 'top', smooth: false },
          encoding: { url: { value: `data:image/png;base64,${raster.toString('base64')}` }, x: { value: 0 }, y: { value: 0 } },
        },
        {
          // Invisible corners that give the panel its scales (and the last panel the dB legend).
          data: { values: [{ time: start, mel: melDomain[0], db: dbRange[0] }, { time: end, mel: melDomain[1], db: dbRange[1] }] },
          mark: { type: 'point', opacity: 0 },
          encoding: {
            x: { field: 'time', type: 'quantitative', title: 'time (s)', scale: { domain: [start, end], nice: false, zero: false } },
            y: {
              field: 'mel',
              type: 'quantitative',
              scale: { domain: melDomain, nice: false, zero: false },
              axis: c === 0 ? { title: 'frequency (Hz, mel scale)', values: hzTicks, labelExpr: "format(700 * (pow(10, datum.value / 2595) - 1), '.3~s')" } : { title: null, values: hzTicks, labels: false },
            },
            ...(last ? { color: { field: 'db', type: 'quantitative', title: 'dB', scale: { scheme: SPECTROGRAM_SCHEME, domain: dbRange }, legend: { gradientLength: Math.max(60, height - 20) } } } : {}),
          },
        },
      ],
    };
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: o.title ?? 'mel-spectrogram chunks', subtitle },
    config: { ...CHART_CONFIG, concat: { spacing: 10 } },
    hconcat: panels,
  } as unknown as TopLevelSpec;
}

/** {@link melChunksChart} as PNG bytes at one image pixel per raster pixel. */
export async function renderMelChunksPng(data: Float32Array, shape: readonly [number, number, number], options: MelChunksOptions): Promise<Buffer> {
  return renderPng(await melChunksChart(data, shape, options), 1);
}

/** Round frequencies inside the domain (as mel values), from the top down, none closer than a label's height. */
function frequencyTicks([lo, hi]: [number, number], height: number): number[] {
  const pixelsPerMel = height / (hi - lo);
  const ticks: number[] = [];
  for (const mel of HZ_TICKS.map(hzToMel).reverse()) {
    if (mel < lo || mel > hi) continue;
    if (ticks.length === 0 || (ticks[ticks.length - 1] - mel) * pixelsPerMel >= MIN_TICK_SPACING) ticks.push(mel);
  }
  return ticks;
}

// ---------------------------------------------------------------- raster

let schemeBytes: Promise<Uint8Array> | undefined;

/** The scheme sampled at 256 levels as RGB bytes, from Vega itself; made once per process. */
function schemeTable(): Promise<Uint8Array> {
  schemeBytes ??= sampleScheme();
  return schemeBytes;
}

async function sampleScheme(): Promise<Uint8Array> {
  const vega = await import('vega');
  const interpolate = vega.scheme(SPECTROGRAM_SCHEME) as (t: number) => string;
  const table = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) table.set(parseRgb(interpolate(i / 255)), 3 * i);
  return table;
}

/** 'rgb(r, g, b)' or '#rrggbb' to bytes. */
export function parseRgb(colour: string): [number, number, number] {
  const rgb = /^rgb\((\d+),\s*(\d+),\s*(\d+)\)$/.exec(colour);
  if (rgb) return [Number(rgb[1]), Number(rgb[2]), Number(rgb[3])];
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(colour);
  if (hex) return [parseInt(hex[1], 16), parseInt(hex[2], 16), parseInt(hex[3], 16)];
  throw new Error(`unexpected colour '${colour}' from the colour scheme`);
}

/** One chunk (mels × frames, band-major) as a PNG, each cell scaleX × scaleY pixels, band 0 at the bottom. */
function chunkRaster(values: Float32Array, mels: number, frames: number, scaleX: number, scaleY: number, [lo, hi]: [number, number], colours: Uint8Array): Buffer {
  const png = new PNG({ width: frames * scaleX, height: mels * scaleY, colorType: 2, inputHasAlpha: true });
  const rowBytes = png.width * 4;
  for (let m = 0; m < mels; m++) {
    const top = (mels - 1 - m) * scaleY;
    for (let t = 0; t < frames; t++) {
      const v = values[m * frames + t];
      const at0 = 3 * level(v, lo, hi);
      const rgb = Number.isNaN(v) ? NAN_RGB : colours.subarray(at0, at0 + 3);
      for (let dx = 0; dx < scaleX; dx++) {
        const at = top * rowBytes + (t * scaleX + dx) * 4;
        png.data[at] = rgb[0];
        png.data[at + 1] = rgb[1];
        png.data[at + 2] = rgb[2];
        png.data[at + 3] = 255;
      }
    }
    // The other rows of the band repeat its first row.
    for (let dy = 1; dy < scaleY; dy++) png.data.copy(png.data, (top + dy) * rowBytes, top * rowBytes, (top + 1) * rowBytes);
  }
  return PNG.sync.write(png, { colorType: 2 });
}

/** The scheme level (0–255) of a value, clamped to the range. */
function level(v: number, lo: number, hi: number): number {
  const t = (v - lo) / (hi - lo);
  return t >= 1 ? 255 : t > 0 ? Math.round(t * 255) : 0;
}

// ---------------------------------------------------------------- input

function checkShape(shape: unknown, dataLength: number): [number, number, number] {
  const names = ['chunks', 'mels', 'frames'];
  if (!Array.isArray(shape)) throw invalidType('shape', 'an array of 3 positive integers [chunks, mels, frames]', shape);
  if (shape.length !== 3) throw invalidRange('shape.length', '3', shape.length);
  const dims = shape.map((dim: unknown, i) => checkPositiveInteger(`shape[${i}] (${names[i]})`, dim)) as [number, number, number];
  const size = dims[0] * dims[1] * dims[2];
  if (size !== dataLength) throw invalidRange('data.length', `${dims.join(' × ')} = ${size} values`, dataLength);
  return dims;
}

function checkRange(value: unknown): [number, number] {
  if (!Array.isArray(value) || value.length !== 2) throw invalidType('dbRange', 'an array [low, high]', value);
  const lo = checkFinite('dbRange[0]', value[0]);
  const hi = checkFinite('dbRange[1]', value[1]);
  if (!(hi > lo)) throw invalidRange('dbRange[1]', `a number greater than dbRange[0] (${lo})`, hi);
  return [lo, hi];
}

function checkPixelScale(value: unknown): [number, number] {
  if (!Array.isArray(value) || value.length !== 2) throw invalidType('pixelScale', 'an array [x, y]', value);
  return [checkPositiveInteger('pixelScale[0]', value[0], MAX_SCALE), checkPositiveInteger('pixelScale[1]', value[1], MAX_SCALE)];
}

/** The finite min and max, widened around a constant so the colour range never has zero width. */
function dataRange(data: Float32Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of data) {
    if (!Number.isFinite(v)) continue; // NaN and ±Infinity would swallow the range
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo > hi) return [0, 1];
  if (hi - lo < 1e-6 * Math.max(1, Math.abs(lo), Math.abs(hi))) return [lo - 1, hi + 1];
  return [lo, hi];
}

/** Integer cell magnification that brings the data area near the target size. */
function autoScale(chunks: number, mels: number, frames: number): [number, number] {
  const sx = Math.floor(TARGET_WIDTH / (chunks * frames));
  const sy = Math.round(TARGET_PANEL_HEIGHT / mels);
  return [Math.min(MAX_SCALE, Math.max(1, sx)), Math.min(MAX_SCALE, Math.max(1, sy))];
}

const count = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;
