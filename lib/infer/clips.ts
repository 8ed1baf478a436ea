/**
 * What inference calls a clip: the one protocol by which a recording becomes one clip or a
 * timeline of windows, and how every input becomes WAV bytes. Shared by the classifier and the
 * adapters, so both see a recording the same way.
 *
 * @packageDocumentation
 */
import { checkInteger, invalidRange, invalidType } from '../validate';
import { floatWav, scanWav, type WavLayout } from './wav-layout';

/**
 * A recording up to this long, seconds, is one clip: it gets one label from the 3 s after its first
 * 0.5 s, as training sees a clip — in {@link Classifier.classify}, {@link Classifier.timeline},
 * `emo classify`, `emo evaluate` and the server alike. Longer recordings get a timeline of
 * windows. (RAVDESS clips last 2.9–5.3 s. On validation actors, one window scored as well as or
 * better than the mean over 3-s windows every 1.5 s: docs/ravdess-experiments.md.)
 */
export const SINGLE_CLIP_SECONDS = 6;

/**
 * Whether a recording of `seconds` is labelled as one clip (one window after `offset`) rather than
 * as a timeline of `window`-second windows: see {@link SINGLE_CLIP_SECONDS}.
 */
export function isSingleClip(seconds: number, offset: number, window: number, clipSeconds: number, singleClipSeconds?: number): boolean {
  const single = singleClipSeconds ?? (window >= clipSeconds ? SINGLE_CLIP_SECONDS : 0);
  return seconds <= Math.max(offset + window, single);
}

/** The input as WAV bytes plus its layout (null when the headers cannot be read: the decoder will say why). */
export interface PreparedInput {
  wav: Uint8Array;
  layout: WavLayout | null;
}

/** WAV bytes as they are; a `Float32Array` of mono samples at `options.sampleRate` (default 48 kHz) as a float WAV. */
export function prepareInput(input: unknown, options: { sampleRate?: number } | undefined, name: string): PreparedInput {
  if (input instanceof Float32Array) {
    if (input.length === 0) throw invalidRange(name, 'a non-empty Float32Array of samples', input);
    const rate = options?.sampleRate === undefined ? 48000 : checkInteger('options.sampleRate', options.sampleRate, 1000, 768000);
    const wav = floatWav(input, rate);
    return { wav, layout: scanWav(wav) };
  }
  if (input instanceof Uint8Array) return { wav: input, layout: scanWav(input) };
  throw invalidType(name, 'a Buffer or Uint8Array holding a WAV file, or a Float32Array of mono samples', input);
}
