/**
 * Adapters: what a model trained with `adapt: 'speaker'` needs to hear a new voice and microphone
 * the way it heard its training speakers. An adapter learns per-mel-band statistics from unlabelled
 * recordings of one speaker and recording chain (a folder of one person's clips, one long
 * recording, a session at the live page), and the classifier moves every clip from those
 * statistics onto the training speakers' average before the network.
 *
 * Below {@link DEFAULT_MIN_SPEECH_SECONDS} of speech the statistics are too noisy to trust: the
 * classifier then does not adapt, and says so in every result.
 *
 * Statistics of a voice are derived from that voice: they are personal data wherever recordings
 * of it are.
 *
 * @packageDocumentation
 */
import { decodeWav } from '../audio';
import { EmoError } from '../errors';
import { BandAccumulator, MIN_STATISTIC_VARIANCE, speechFrames, type SpeakerBands } from '../features/adaptation';
import { melChunksBatch, type MelChunks } from '../features';
import { resolveFeatureOptions, type FeatureOptions } from '../features/options';
import { checkKnownKeys, checkNumber, checkPlainObject, invalidType } from '../validate';
import { isSingleClip, prepareInput, type PreparedInput } from './clips';
import type { StatisticsStandardisation } from './onnx-model';
import { sliceWav } from './wav-layout';

/** Seconds of speech an adapter needs before it is used (see docs/ravdess-experiments.md for the measurement). */
export const DEFAULT_MIN_SPEECH_SECONDS = 10;

/** A sample at or above this magnitude, next to another of the same sign, is clipped. */
export const CLIP_LEVEL = 0.99;

/** The feature options that define what a band and a frame are; statistics carry them. */
const BAND_KEYS = ['sampleRate', 'nFft', 'winLength', 'hopLength', 'nMels', 'fMin', 'fMax', 'amin'] as const;

/** Fields of a model's feature descriptor that are not options. */
const DESCRIPTOR_ONLY = ['window', 'melScale', 'melNorm', 'db', 'shape'];

/** What defines the bands and frames of a set of statistics (a subset of the feature options). */
export type BandDefinition = Record<(typeof BAND_KEYS)[number], number>;

/** An adapter's statistics as JSON: save them, and load them later for the same speaker and microphone. */
export interface AdaptationStatistics {
  format: 'emo-adaptation';
  version: 1;
  /** The pipeline the bands come from (must match the model's). */
  bands: BandDefinition;
  /** Speech frames counted. */
  frames: number;
  /** Seconds of speech counted (frames × hop). */
  speechSeconds: number;
  /** Per band mean of the speech frames, dB. */
  mean: number[];
  /** Per band standard deviation (population), dB. */
  std: number[];
  /**
   * For a statistics network trained with `adapt: 'speaker-statistics'` (an adapter from
   * `classifier.createAdapter()` of such a model): the clips counted, and the mean and population
   * variance of each of the network's per-clip statistics over them.
   */
  statistics?: { clips: number; mean: number[]; variance: number[] };
}

/**
 * Each clip's statistics as a statistics network computes them (one array per clip, in order): what
 * an adapter of such a model learns from besides the bands. `classifier.createAdapter()` gives it.
 */
export type StatisticsSource = (clips: MelChunks[]) => Promise<Float32Array[]>;

/** Running sums of per-clip statistics. */
interface StatisticsMoments {
  clips: number;
  sum: Float64Array;
  sumSq: Float64Array;
}

/** Options of {@link createAdapter} and {@link loadAdapter}. */
export interface AdapterOptions {
  /** Seconds of speech below which the adapter is not used. Default {@link DEFAULT_MIN_SPEECH_SECONDS}. */
  minSpeechSeconds?: number;
  /** The feature pipeline (default: the reference pipeline). Use the model's: `classifier.metadata.features`. */
  features?: FeatureOptions;
}

/** Options of {@link Adapter.update}. */
export interface AdapterUpdateOptions {
  /** Sample rate of `Float32Array` inputs, Hz (default 48000). */
  sampleRate?: number;
  /** Seconds skipped at the start of each input (default: the pipeline's, 0.5 s), as `classify` does. */
  offsetSeconds?: number;
}

/** What {@link Adapter.update} did. */
export interface AdapterUpdate {
  /** Seconds of speech this update added. */
  added: number;
  /** Seconds of speech the adapter holds now. */
  speechSeconds: number;
  /** Inputs that could not be read, with why (`index` in the update's list). */
  failed: Array<{ index: number; error: EmoError }>;
}

/** How an adapter took part in a result: present when one was given. */
export interface AdaptationReport {
  /** Whether the clip was adapted (false: too little speech yet, classified without). */
  applied: boolean;
  /** Seconds of speech the adapter held. */
  speechSeconds: number;
}

/** A window of an input: its WAV bytes, and where the features' clip starts in them, seconds. */
interface AdapterWindow {
  wav: Uint8Array;
  offset: number;
}

/**
 * Statistics of one speaker and recording chain, learnt from unlabelled audio. Create one with
 * {@link createAdapter} (or `classifier.createAdapter()`), feed it with {@link Adapter.update}, and
 * pass it to `classify(x, { adapter })`; save it with `JSON.stringify(adapter)`.
 */
export class Adapter {
  /** Seconds of speech below which the adapter is not used. */
  readonly minSpeechSeconds: number;
  /** What defines its bands and frames. */
  readonly bands: BandDefinition;
  private readonly features: FeatureOptions;
  private readonly stride: number;
  private readonly shape: [number, number, number];
  /** The pipeline's offset and clip length, seconds (as resolved, defaults included). */
  private readonly offsetSeconds: number;
  private readonly clipSeconds: number;
  private accumulator: BandAccumulator;
  /** With a source: the statistics network's per-clip statistics, summed (null before the first clip). */
  private moments: StatisticsMoments | null = null;

  /**
   * @internal use {@link createAdapter} or {@link loadAdapter}, or a classifier's
   * `createAdapter`/`loadAdapter` (which give `source` for a model that adapts its statistics).
   */
  constructor(
    options: AdapterOptions = {},
    private readonly source?: StatisticsSource,
  ) {
    const o = checkPlainObject('options', options);
    checkKnownKeys('options', o, ['minSpeechSeconds', 'features']);
    this.minSpeechSeconds = o.minSpeechSeconds === undefined ? DEFAULT_MIN_SPEECH_SECONDS : checkNumber('options.minSpeechSeconds', o.minSpeechSeconds, 0, 86400);
    // A model's feature descriptor carries fixed choices besides the options: keep the options.
    const given = checkPlainObject('options.features', o.features ?? {});
    this.features = Object.fromEntries(Object.entries(given).filter(([k]) => !DESCRIPTOR_ONLY.includes(k))) as FeatureOptions;
    const resolved = resolveFeatureOptions(this.features, 'options.features');
    const n = resolved.native;
    this.bands = { sampleRate: n.sampleRate, nFft: n.nFft, winLength: n.winLength, hopLength: n.hopLength, nMels: n.nMels, fMin: n.fMin, fMax: n.fMax, amin: n.amin };
    this.stride = n.chunkStride;
    this.shape = resolved.chunkShape;
    this.offsetSeconds = n.offset / n.sampleRate;
    this.clipSeconds = n.length / n.sampleRate;
    this.accumulator = new BandAccumulator(n.nMels);
  }

  /** Seconds of speech counted so far. */
  get speechSeconds(): number {
    return (this.accumulator.frames * this.bands.hopLength) / this.bands.sampleRate;
  }

  /** Whether it holds enough speech ({@link minSpeechSeconds}) to be used. */
  get ready(): boolean {
    return this.accumulator.frames > 0 && this.speechSeconds >= this.minSpeechSeconds;
  }

  /** The per-band statistics so far (zeros before any speech). */
  statistics(): SpeakerBands {
    return this.accumulator.bands();
  }

  /** Whether it learns a statistics network's statistics too (made by such a model's classifier). */
  get learnsStatistics(): boolean {
    return this.source !== undefined;
  }

  /** Clips whose statistics it holds (0 when it learns none). */
  get statisticsClips(): number {
    return this.moments?.clips ?? 0;
  }

  /**
   * The speaker's mean and variance (at least {@link MIN_STATISTIC_VARIANCE}) of the statistics
   * network's statistics, as the model's graph takes them; null before any clip, or when it learns none.
   */
  standardisation(): StatisticsStandardisation | null {
    const m = this.moments;
    if (m === null || m.clips === 0) return null;
    const mean = Float32Array.from(m.sum, (s) => s / m.clips);
    const variance = Float32Array.from(m.sumSq, (s, k) => Math.max(s / m.clips - (m.sum[k] as number / m.clips) ** 2, MIN_STATISTIC_VARIANCE));
    return { mean, variance };
  }

  /**
   * Learns from recordings of the speaker (no labels): each input as `classify` would see it — a
   * recording up to 6 s is the clip after the offset; a longer one, every clip-length window of
   * it in turn. Only speech frames count (not silence, pauses, padding or frames near clipped
   * samples). An input that cannot be read is reported in `failed` and the others still count.
   *
   * @param inputs - WAV bytes or `Float32Array`s of mono samples, one or a list.
   */
  async update(inputs: Uint8Array | Float32Array | ReadonlyArray<Uint8Array | Float32Array>, options: AdapterUpdateOptions = {}): Promise<AdapterUpdate> {
    const list = inputs instanceof Uint8Array || inputs instanceof Float32Array ? [inputs] : inputs;
    if (!Array.isArray(list)) throw invalidType('inputs', 'WAV bytes, a Float32Array, or an array of them', inputs);
    if (this.source === undefined && this.moments !== null) throw new TypeError("update: this adapter holds a statistics network's statistics but cannot compute more (load it with the model's classifier.loadAdapter)");
    const o = checkPlainObject('options', options);
    checkKnownKeys('options', o, ['sampleRate', 'offsetSeconds']);
    const offset = o.offsetSeconds === undefined ? this.offsetSeconds : checkNumber('options.offsetSeconds', o.offsetSeconds, 0, 86400);
    const prepared = list.map((input, i) => prepareInput(input, o as AdapterUpdateOptions, `inputs[${i}]`));
    const before = this.speechSeconds;
    const failed: AdapterUpdate['failed'] = [];
    const windows: Array<AdapterWindow & { input: number }> = [];
    prepared.forEach((p, input) => windows.push(...this.windowsOf(p, offset).map((w) => ({ ...w, input }))));
    // Bounded memory on long recordings: a few dozen windows' features at a time.
    for (let first = 0; first < windows.length; first += 32) {
      const part = windows.slice(first, first + 32);
      const byOffset = new Map<number, typeof part>();
      for (const w of part) byOffset.set(w.offset, [...(byOffset.get(w.offset) ?? []), w]);
      for (const [windowOffset, group] of byOffset) {
        const features = await melChunksBatch(group.map((w) => w.wav), { ...this.features, offsetSeconds: windowOffset, errors: 'return' });
        const good: MelChunks[] = [];
        features.forEach((f, j) => {
          const w = group[j] as (typeof group)[number];
          if (f instanceof EmoError) {
            if (!failed.some((x) => x.index === w.input)) failed.push({ index: w.input, error: Object.assign(f, { index: w.input }) });
            return;
          }
          this.addBands(f, this.clippedFrames(w));
          good.push(f);
        });
        if (this.source !== undefined && good.length > 0) this.addStatistics(await this.source(good));
      }
    }
    failed.sort((a, b) => a.index - b.index);
    return { added: this.speechSeconds - before, speechSeconds: this.speechSeconds, failed };
  }

  /**
   * Learns from one clip's features (`melChunks` output of this adapter's pipeline): its speech
   * frames, less those `excluded` marks (one flag per frame of the clip, in time order).
   *
   * @returns seconds of speech added.
   */
  addFeatures(chunks: MelChunks, excluded?: Uint8Array): number {
    if (this.source !== undefined) throw new TypeError("addFeatures: this adapter also learns the statistics network's statistics, which need the model: use update");
    return this.addBands(chunks, excluded);
  }

  private addBands(chunks: MelChunks, excluded?: Uint8Array): number {
    if (chunks.shape.some((d, i) => d !== this.shape[i])) throw new TypeError(`Expected features of shape [${this.shape}] but received [${chunks.shape}]`);
    const mask = speechFrames(chunks.data, chunks.shape, this.stride, this.bands.amin, excluded);
    const before = this.accumulator.frames;
    this.accumulator.addClip(chunks.data, chunks.shape, this.stride, mask);
    return ((this.accumulator.frames - before) * this.bands.hopLength) / this.bands.sampleRate;
  }

  /** Adds clips' statistics (one array per clip, all of one length). */
  private addStatistics(list: readonly Float32Array[]): void {
    for (const values of list) {
      this.moments ??= { clips: 0, sum: new Float64Array(values.length), sumSq: new Float64Array(values.length) };
      const m = this.moments;
      if (values.length !== m.sum.length) throw new TypeError(`Expected ${m.sum.length} statistics per clip but received ${values.length}`);
      m.clips++;
      values.forEach((v, k) => {
        m.sum[k] = (m.sum[k] as number) + v;
        m.sumSq[k] = (m.sumSq[k] as number) + v * v;
      });
    }
  }

  /** @internal Adds saved statistics: `frames` frames of per-band `mean` and `std`, and `statistics` when given. */
  absorb(frames: number, mean: readonly number[], std: readonly number[], statistics?: AdaptationStatistics['statistics']): void {
    this.accumulator.merge(frames, mean, std.map((s) => s * s * frames));
    if (statistics === undefined || statistics.clips === 0) return;
    const { clips } = statistics;
    this.moments ??= { clips: 0, sum: new Float64Array(statistics.mean.length), sumSq: new Float64Array(statistics.mean.length) };
    const m = this.moments;
    if (statistics.mean.length !== m.sum.length) throw new EmoError(`adapter statistics of ${statistics.mean.length} statistics per clip cannot join ones of ${m.sum.length}`, 'ERR_ADAPTATION_INVALID');
    m.clips += clips;
    statistics.mean.forEach((x, k) => {
      m.sum[k] = (m.sum[k] as number) + x * clips;
      m.sumSq[k] = (m.sumSq[k] as number) + ((statistics.variance[k] as number) + x * x) * clips;
    });
  }

  /** Forgets everything learnt (a new speaker at the same microphone, say). */
  reset(): void {
    this.accumulator = new BandAccumulator(this.bands.nMels);
    this.moments = null;
  }

  /** The statistics as JSON ({@link AdaptationStatistics}); `JSON.stringify(adapter)` calls it. */
  toJSON(): AdaptationStatistics {
    const { frames, mean, std } = this.statistics();
    const json: AdaptationStatistics = { format: 'emo-adaptation', version: 1, bands: { ...this.bands }, frames, speechSeconds: this.speechSeconds, mean, std };
    const m = this.moments;
    if (m !== null && m.clips > 0) {
      const means = Array.from(m.sum, (s) => s / m.clips);
      json.statistics = { clips: m.clips, mean: means, variance: Array.from(m.sumSq, (s, k) => Math.max(s / m.clips - (means[k] as number) ** 2, 0)) };
    }
    return json;
  }

  /** The clips of one input as `classify` would see them: the clip after the offset, or consecutive clip-length windows. */
  private windowsOf(p: PreparedInput, offset: number): AdapterWindow[] {
    const layout = p.layout;
    const seconds = layout ? layout.frames / layout.sampleRate : 0;
    if (layout === null || isSingleClip(seconds, offset, this.clipSeconds, this.clipSeconds)) return [{ wav: p.wav, offset }];
    const windows: AdapterWindow[] = [];
    for (let start = offset; start < seconds; start += this.clipSeconds) {
      windows.push({ wav: sliceWav(p.wav, layout, Math.round(start * layout.sampleRate), Math.round((start + this.clipSeconds) * layout.sampleRate)), offset: 0 });
    }
    return windows;
  }

  /** Flags of the frames of a window's clip that lie within half an FFT of a clipped sample. */
  private clippedFrames(w: AdapterWindow): Uint8Array | undefined {
    let audio;
    try {
      audio = decodeWav(w.wav);
    } catch {
      return undefined; // the features were computed, so the decoder read it; nothing more to learn here
    }
    const frames = (this.shape[0] - 1) * Math.min(this.stride, this.shape[2]) + this.shape[2];
    let flags: Uint8Array | undefined;
    const hop = this.bands.hopLength / this.bands.sampleRate;
    const half = this.bands.nFft / 2 / this.bands.sampleRate;
    for (const channel of audio.channels) {
      for (let i = 1; i < channel.length; i++) {
        const a = channel[i - 1] as number;
        const b = channel[i] as number;
        if (!((a >= CLIP_LEVEL && b >= CLIP_LEVEL) || (a <= -CLIP_LEVEL && b <= -CLIP_LEVEL))) continue;
        const t = i / audio.sampleRate - w.offset;
        const from = Math.max(0, Math.ceil((t - half) / hop));
        const to = Math.min(frames - 1, Math.floor((t + half) / hop));
        if (from > to) continue;
        flags ??= new Uint8Array(frames);
        flags.fill(1, from, to + 1);
      }
    }
    return flags;
  }
}

/**
 * A new, empty adapter for one speaker and recording chain.
 *
 * @example
 * const clf = await loadClassifier();
 * const adapter = clf.createAdapter();
 * await adapter.update(myClips);                       // unlabelled recordings of one person
 * const result = await clf.classify(clip, { adapter }); // result.adaptation.applied
 * fs.writeFileSync('alice.json', JSON.stringify(adapter));
 */
export function createAdapter(options?: AdapterOptions): Adapter {
  return new Adapter(options);
}

/**
 * An adapter from statistics saved earlier (`JSON.stringify(adapter)`, parsed), to go on learning
 * or to classify with at once.
 *
 * @throws {@link EmoError} `ERR_ADAPTATION_INVALID` when `json` is not adapter statistics, or
 *   `ERR_MODEL_FEATURES_MISMATCH` when its bands come from another pipeline than `options.features`.
 */
export function loadAdapter(json: unknown, options?: AdapterOptions): Adapter {
  return fillAdapter(new Adapter(options), json);
}

/** @internal {@link loadAdapter} into a given (new) adapter: a classifier's, with its statistics source. */
export function fillAdapter(adapter: Adapter, json: unknown): Adapter {
  const j = json as Partial<AdaptationStatistics> | null;
  const mels = adapter.bands.nMels;
  const list = (v: unknown, positive: boolean) => Array.isArray(v) && v.length === mels && v.every((x) => Number.isFinite(x) && (!positive || x >= 0));
  if (j === null || typeof j !== 'object' || j.format !== 'emo-adaptation' || j.version !== 1 || typeof j.bands !== 'object' || j.bands === null) {
    throw new EmoError('not adapter statistics (expected the JSON of an emo-native adapter: format "emo-adaptation", version 1)', 'ERR_ADAPTATION_INVALID');
  }
  if (!(Number.isInteger(j.frames) && (j.frames as number) >= 0) || !list(j.mean, false) || !list(j.std, true)) {
    throw new EmoError(`adapter statistics need a frame count and ${mels} means and deviations`, 'ERR_ADAPTATION_INVALID');
  }
  const differences = BAND_KEYS.filter((k) => (j.bands as Record<string, unknown>)[k] !== adapter.bands[k]).map((k) => `${k}: ${String((j.bands as Record<string, unknown>)[k])} (this pipeline: ${adapter.bands[k]})`);
  if (differences.length > 0) throw new EmoError(`the statistics come from another feature pipeline: ${differences.join(', ')}`, 'ERR_MODEL_FEATURES_MISMATCH');
  const s = j.statistics as AdaptationStatistics['statistics'] | undefined;
  if (s !== undefined) {
    const values = (v: unknown, positive: boolean) => Array.isArray(v) && v.length > 0 && v.every((x) => Number.isFinite(x) && (!positive || x >= 0));
    if (s === null || typeof s !== 'object' || !(Number.isInteger(s.clips) && s.clips >= 0) || !values(s.mean, false) || !values(s.variance, true) || s.mean.length !== s.variance.length) {
      throw new EmoError('adapter statistics: "statistics" needs a clip count and as many means as variances', 'ERR_ADAPTATION_INVALID');
    }
  }
  adapter.absorb(j.frames as number, j.mean as number[], j.std as number[], s);
  return adapter;
}

/**
 * One set of statistics from several learnt apart (the same speaker's sessions, or the parts of a
 * folder that several workers read): as if one adapter had learnt them all.
 *
 * @throws {@link EmoError} `ERR_ADAPTATION_INVALID` for an empty list or one that is not adapter
 *   statistics; `ERR_MODEL_FEATURES_MISMATCH` when they come from different pipelines.
 */
export function mergeAdaptationStatistics(list: readonly AdaptationStatistics[]): AdaptationStatistics {
  const first = list[0];
  if (first === undefined) throw new EmoError('no statistics to merge', 'ERR_ADAPTATION_INVALID');
  const bands = first.bands ?? ({} as BandDefinition);
  const merged = loadAdapter(first, { features: { sampleRate: bands.sampleRate, nFft: bands.nFft, winLength: bands.winLength, hopLength: bands.hopLength, nMels: bands.nMels, fMin: bands.fMin, fMax: bands.fMax, amin: bands.amin } });
  for (const other of list.slice(1)) {
    const part = loadAdapter(other, { features: { ...merged.bands } });
    const { frames, mean, std } = part.statistics();
    merged.absorb(frames, mean, std, part.toJSON().statistics);
  }
  return merged.toJSON();
}
