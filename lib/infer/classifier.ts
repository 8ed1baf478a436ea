/**
 * Emotion recognition on an exported model: audio in, typed results out.
 *
 * Every input takes one path — WAV bytes (a sample array becomes a float WAV) → `melChunksBatch`
 * on the native pool → onnxruntime in batches — so `classify`, `classifyBatch` and `timeline`
 * give the same numbers for the same audio. Long recordings are cut into windows by byte range
 * and decoded one batch at a time, so memory stays flat on any length.
 *
 * @packageDocumentation
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EmoError } from '../errors';
import { melChunksBatch, type MelChunks } from '../features';
import { checkInteger, checkKnownKeys, checkNumber, checkPlainObject, invalidRange, invalidType } from '../validate';
import { openOnnxModel, type EmoModelMetadata, type OnnxEmotionModel } from './onnx-model';
import { adaptChunks } from '../features/adaptation';
import { Adapter, fillAdapter, type AdapterOptions, type AdaptationReport, type StatisticsSource } from './adapter';
import type { StatisticsStandardisation } from './onnx-model';
import { isSingleClip, prepareInput, type PreparedInput } from './clips';
import { sliceWav } from './wav-layout';
export { isSingleClip, SINGLE_CLIP_SECONDS } from './clips';

/** Where onnxruntime runs the model. `'auto'`: CUDA when its provider loads, else the CPU. */
export type Provider = 'cpu' | 'cuda' | 'auto';

/** Options of {@link loadClassifier}. */
export interface ClassifierOptions {
  /** Execution provider (default `'cpu'`). */
  provider?: Provider;
  /** Threads onnxruntime uses within one run (default: one per core). */
  threads?: number;
  /**
   * Clips per pipeline step of `classifyBatch` and `timeline` (default 32): one `melChunksBatch`
   * call on the native pool, overlapped with the model on the previous step's clips. On the CPU
   * the model runs them 4 at a time (same speed, a quarter of the memory); on CUDA all at once.
   */
  batchSize?: number;
  /**
   * Run the model in worker threads, so that a run never blocks the event loop (a server's
   * requests, a live stream, timers): `true` for one thread, a number for a pool of that many,
   * each with its own session of `threads` threads (runs go to the least busy). Features already
   * run off the event loop, on the native pool. Default `false`: the model runs on the calling
   * thread (onnxruntime-node's `run` is synchronous inside its promise).
   */
  worker?: boolean | number;
}

/** Options of {@link Classifier.classify} and {@link Classifier.classifyBatch}. */
export interface ClassifyOptions {
  /** Sample rate of `Float32Array` inputs, Hz (default 48000); they are resampled like files. */
  sampleRate?: number;
  /**
   * Seconds skipped at the start of the input before the clip (default: the model's, 0.5 s, like
   * training). `0` classifies the input from its first sample: a live stream's last 3 s, say.
   * In {@link Classifier.timeline} it is where the first window starts.
   */
  offsetSeconds?: number;
  /**
   * The speaker's and microphone's statistics ({@link Classifier.createAdapter}), for a model
   * trained with speaker adaptation (`metadata.adaptation`): every clip is moved onto the training
   * speakers' average first. While the adapter holds less than its `minSpeechSeconds` of speech,
   * clips are classified without it; each result's `adaptation` says which happened.
   */
  adapter?: Adapter;
}

/** Options of {@link Classifier.timeline}. */
export interface TimelineOptions extends ClassifyOptions {
  /** Window length, seconds: at most the model's clip (3 s); shorter windows are zero-padded. Default 3. */
  window?: number;
  /** Seconds between window starts. Default 1.5. */
  hop?: number;
  /**
   * Recordings up to this long, seconds, get one window, identical to {@link Classifier.classify}.
   * Default {@link SINGLE_CLIP_SECONDS} with the model's window, 0 with a shorter `window` (then only
   * audio within one window of the offset is one window).
   */
  singleClipSeconds?: number;
}

/** One prediction. */
export interface EmotionResult {
  /** The most probable emotion. */
  label: string;
  /** Its probability. */
  confidence: number;
  /** Every label's probability (they sum to 1). */
  probabilities: Record<string, number>;
  /** Attention weights over the clip's chunks (7 for 3-s clips, summing to 1): where the model listened. */
  attention: number[];
  /** Present and true when the WAV's data chunk was shorter than its header declared (the frames present were used). */
  truncated?: true;
  /** Present when an adapter was given: whether it was used, and how much speech it held. */
  adaptation?: AdaptationReport;
}

/** One window of a {@link TimelineResult}. */
export interface TimelineSegment extends EmotionResult {
  /** Start of the window in the recording, seconds. */
  start: number;
  /** End of the window's audio, seconds. */
  end: number;
}

/** The emotions of a recording over time. */
export interface TimelineResult {
  /** The label with the highest mean probability over the windows. */
  label: string;
  /** Its mean probability. */
  confidence: number;
  /** Mean of the windows' probabilities. */
  probabilities: Record<string, number>;
  /** The windows in time order; windows of digital silence are left out. */
  segments: TimelineSegment[];
  truncated?: true;
}

/** A failed clip of {@link Classifier.classifyBatch}, in its place. */
export interface ClassifyFailure {
  error: EmoError;
}

const PROVIDERS: readonly Provider[] = ['cpu', 'cuda', 'auto'];
// See Classifier.runClips.
const CPU_RUN_CLIPS = 4;

/**
 * The models shipped in the package's `models/` folder, by name: `loadClassifier('synth')`,
 * `emo classify --model synth`. A model argument that is exactly one of these names means that
 * model; a file of that name is reached by a path (`./synth`).
 *
 * - `ravdess`: `emo-ravdess.onnx`, trained on human speech (RAVDESS actors 1–20; CC BY-NC-SA 4.0,
 *   see `models/README.md`), the default.
 * - `synth`: `emo-synth.onnx`, trained on the synthetic corpus of `emo synth` (MIT; `models/emo-synth.md`).
 */
export const BUNDLED_MODELS: Readonly<Record<string, string>> = Object.freeze({
  ravdess: path.join(__dirname, '..', '..', 'models', 'emo-ravdess.onnx'),
  synth: path.join(__dirname, '..', '..', 'models', 'emo-synth.onnx'),
});

/** The name of the model used when none is given: the one trained on human speech. */
export const DEFAULT_MODEL_NAME = 'ravdess';

/** The path of the model used when none is given (in the package's `models/` folder). */
export const BUNDLED_MODEL = BUNDLED_MODELS[DEFAULT_MODEL_NAME] as string;

/** A model argument with bundled names resolved to their paths (undefined: the default model). */
export function resolveModel(model: string | Uint8Array | undefined): string | Uint8Array {
  const name = model ?? DEFAULT_MODEL_NAME;
  if (typeof name !== 'string' || !Object.hasOwn(BUNDLED_MODELS, name)) return name;
  const file = BUNDLED_MODELS[name] as string;
  if (!fs.existsSync(file)) {
    throw new EmoError(`the bundled model '${name}' (${path.basename(file)}) is missing from this copy of emo-native: pass the path of an .onnx file made with \`emo train\` and \`emo export\``, 'ERR_MODEL_NOT_BUNDLED');
  }
  return file;
}

function cudaProviderInstalled(): boolean {
  const ortDir = path.dirname(require.resolve('onnxruntime-node/package.json'));
  const binDir = path.join(ortDir, 'bin', 'napi-v6', process.platform, process.arch);
  return ['libonnxruntime_providers_cuda.so', 'onnxruntime_providers_cuda.dll'].some((f) => fs.existsSync(path.join(binDir, f)));
}

const CUDA_HINT =
  "onnxruntime-node's CUDA provider is not installed: reinstall onnxruntime-node with `npm install onnxruntime-node --onnxruntime-node-install=cuda12` on a machine with internet access (it downloads the CUDA 12 provider libraries), with CUDA 12 and cuDNN 9 on the machine";

function checkClassifyOptions(options: unknown, extra: readonly string[] = []): ClassifyOptions {
  if (options === undefined) return {};
  const o = checkPlainObject('options', options);
  checkKnownKeys('options', o, ['sampleRate', 'offsetSeconds', 'adapter', ...extra]);
  if (o.offsetSeconds !== undefined) checkNumber('options.offsetSeconds', o.offsetSeconds, 0, 86400);
  if (o.adapter !== undefined && !(o.adapter instanceof Adapter)) throw invalidType('options.adapter', 'an Adapter (classifier.createAdapter())', o.adapter);
  return o as ClassifyOptions;
}

/**
 * A loaded emotion model. Create it with {@link loadClassifier}; `close()` it when done.
 */
export class Classifier {
  /** The execution provider in use: `'cpu'` or `'cuda'`. */
  readonly provider: 'cpu' | 'cuda';
  /** Clips per pipeline step. */
  readonly batchSize: number;
  private readonly model: OnnxEmotionModel;
  private readonly floorDb: number;
  /**
   * Clips per onnxruntime run. On the CPU throughput is the same from 1 to 32 clips per run
   * (about 400 clips/s on 2 cores) while the activations grow by about 25 MB per clip (the first
   * convolution's output alone is 7.3 MB per clip), and onnxruntime's arena keeps its peak: a
   * 32-clip run holds 900 MB. A GPU wants large runs.
   */
  private readonly runClips: number;

  /** @internal use {@link loadClassifier}. */
  constructor(model: OnnxEmotionModel, provider: 'cpu' | 'cuda', batchSize: number) {
    this.model = model;
    this.provider = provider;
    this.batchSize = batchSize;
    this.runClips = provider === 'cuda' ? batchSize : Math.min(batchSize, CPU_RUN_CLIPS);
    this.floorDb = 10 * Math.log10(model.metadata.features.amin);
  }

  /** The model's labels, in output order. */
  get labels(): readonly string[] {
    return this.model.metadata.labels;
  }

  /** The model's metadata: labels, feature pipeline, version, training record, export parity. */
  get metadata(): EmoModelMetadata {
    return this.model.metadata;
  }

  /** Worker threads the model runs in (0: the calling thread). See {@link ClassifierOptions.worker}. */
  get workers(): number {
    return this.model.workers;
  }

  /** Whether the model takes an adapter: a network trained with speaker adaptation, or any statistics network exported since 2026-12-08. */
  get adapts(): boolean {
    return this.model.metadata.adaptation !== null;
  }

  /**
   * A new, empty adapter for this model's features (see {@link Adapter}): feed it unlabelled
   * recordings of one speaker and microphone, then pass it to `classify(x, { adapter })`.
   *
   * @throws {@link EmoError} `ERR_ADAPTATION_UNSUPPORTED` when the model does not adapt (a CNN-BiLSTM trained without speaker adaptation).
   */
  createAdapter(options: Omit<AdapterOptions, 'features'> = {}): Adapter {
    this.checkAdapts();
    const source = this.model.metadata.adaptation?.mode === 'speaker-statistics' ? this.statisticsOf : undefined;
    return new Adapter({ ...checkPlainObject('options', options), features: this.model.metadata.features }, source);
  }

  /**
   * An adapter for this model from statistics saved earlier (`JSON.stringify(adapter)`, parsed),
   * to go on learning or to classify with at once (see `loadAdapter`).
   *
   * @throws {@link EmoError} `ERR_ADAPTATION_UNSUPPORTED` (the model does not adapt),
   *   `ERR_ADAPTATION_INVALID`, `ERR_MODEL_FEATURES_MISMATCH`.
   */
  loadAdapter(json: unknown, options: Omit<AdapterOptions, 'features'> = {}): Adapter {
    return fillAdapter(this.createAdapter(options), json);
  }

  /** Each clip's statistics from the graph (a statistics network that adapts them): an adapter's {@link StatisticsSource}. */
  private readonly statisticsOf: StatisticsSource = async (clips) => {
    const size = this.model.clipSize;
    const found: Float32Array[] = [];
    for (let first = 0; first < clips.length; first += this.runClips) {
      const part = clips.slice(first, first + this.runClips);
      const input = new Float32Array(part.length * size);
      part.forEach((clip, j) => input.set(clip.data, j * size));
      const { statistics } = await this.model.run(input, part.length);
      if (statistics === undefined) throw new EmoError('the model gives no statistics', 'ERR_MODEL_INVALID');
      const width = statistics.length / part.length;
      part.forEach((_, j) => found.push(statistics.slice(j * width, (j + 1) * width)));
    }
    return found;
  };

  private checkAdapts(): void {
    if (!this.adapts) throw new EmoError('this model does not adapt to a speaker (a CNN-BiLSTM trained without emo train --adapt speaker): it takes no adapter', 'ERR_ADAPTATION_UNSUPPORTED');
  }

  /** Checks that an adapter fits this model: a model that adapts, statistics of its bands. */
  private checkAdapter(adapter: Adapter | undefined): void {
    if (adapter === undefined) return;
    this.checkAdapts();
    const features = this.model.metadata.features as unknown as Record<string, unknown>;
    const differences = Object.entries(adapter.bands).filter(([k, v]) => features[k] !== v).map(([k, v]) => `${k}: ${v} (the model's: ${String(features[k])})`);
    if (differences.length > 0) throw new EmoError(`the adapter's statistics come from other features than the model's: ${differences.join(', ')}`, 'ERR_MODEL_FEATURES_MISMATCH');
    const adaptation = this.model.metadata.adaptation;
    if (adaptation?.mode === 'speaker-statistics') {
      const held = adapter.standardisation();
      if (!adapter.learnsStatistics && held === null) {
        throw new EmoError("this model adapts its statistics, and the adapter holds none: make it with the model's classifier.createAdapter() or classifier.loadAdapter()", 'ERR_ADAPTATION_INVALID');
      }
      if (held !== null && held.mean.length !== adaptation.statistics) throw new EmoError(`the adapter holds ${held.mean.length} statistics per clip, the model has ${adaptation.statistics}`, 'ERR_ADAPTATION_INVALID');
    }
  }

  /**
   * The emotion of one clip: the 3 s after the first 0.5 s, like training (`options.offsetSeconds`
   * changes the 0.5 s).
   *
   * @param input - WAV bytes, or a `Float32Array` of mono samples at `options.sampleRate`.
   * @throws {@link EmoError} for unusable audio (`ERR_WAV_*`, `ERR_TOO_SHORT` when it ends before
   *   the offset, `ERR_SILENT` for digital silence, `ERR_NON_FINITE_SAMPLES`); TypeError/RangeError for misuse.
   */
  async classify(input: Uint8Array | Float32Array, options?: ClassifyOptions): Promise<EmotionResult> {
    const checked = checkClassifyOptions(options);
    this.checkAdapter(checked.adapter);
    const [result] = await this.classifyPrepared([prepareInput(input, checked, 'input')], this.offsetOf(checked), checked.adapter);
    if (result === undefined || 'error' in result) throw (result as ClassifyFailure).error;
    return result;
  }

  /**
   * {@link classify} for many clips, pipelined: features on the native pool overlap onnxruntime
   * runs of `batchSize` clips. Results are in input order and equal `classify` clip by clip; a
   * clip that fails is `{ error }` in its place (the error's `index` says which) and the others
   * carry on.
   */
  async classifyBatch(inputs: ReadonlyArray<Uint8Array | Float32Array>, options?: ClassifyOptions): Promise<Array<EmotionResult | ClassifyFailure>> {
    if (!Array.isArray(inputs)) throw invalidType('inputs', 'an array of WAV buffers or Float32Arrays', inputs);
    const checked = checkClassifyOptions(options);
    this.checkAdapter(checked.adapter);
    const results: Array<EmotionResult | ClassifyFailure> = [];
    const prepared = inputs.map((input, i) => prepareInput(input, checked, `inputs[${i}]`));
    const groups: PreparedInput[][] = [];
    for (let i = 0; i < prepared.length; i += this.batchSize) groups.push(prepared.slice(i, i + this.batchSize) as PreparedInput[]);
    const offsetSeconds = this.offsetOf(checked);
    let next = groups.length > 0 ? this.featuresOf(groups[0] as PreparedInput[], offsetSeconds) : null;
    for (let g = 0; g < groups.length; g++) {
      const features = await (next as Promise<Array<MelChunks | EmoError>>);
      // Start the next group's features on the native pool while onnxruntime runs this one.
      next = g + 1 < groups.length ? this.featuresOf(groups[g + 1] as PreparedInput[], offsetSeconds) : null;
      results.push(...(await this.predict(groups[g] as PreparedInput[], features, g * this.batchSize, offsetSeconds, checked.adapter)));
    }
    return results;
  }

  /**
   * The emotions of a recording of any length: windows of `window` seconds every `hop` seconds,
   * from the 0.5-s offset on (the last one zero-padded), each classified; the overall result is
   * the mean of the windows' probabilities. A recording up to {@link SINGLE_CLIP_SECONDS} (with the
   * model's window; see `singleClipSeconds`) gives one window, identical to {@link classify}. Memory stays bounded: windows are cut from the bytes and
   * decoded `batchSize` at a time.
   */
  async timeline(input: Uint8Array | Float32Array, options?: TimelineOptions): Promise<TimelineResult> {
    const o = checkClassifyOptions(options, ['window', 'hop', 'singleClipSeconds']) as TimelineOptions;
    this.checkAdapter(o.adapter);
    const clipSeconds = this.model.metadata.features.durationSeconds;
    const offset = this.offsetOf(o);
    const window = o.window === undefined ? clipSeconds : checkNumber('options.window', o.window, 0.1, clipSeconds);
    const hop = o.hop === undefined ? 1.5 : checkNumber('options.hop', o.hop, 0.05, 3600);
    const single = o.singleClipSeconds === undefined ? undefined : checkNumber('options.singleClipSeconds', o.singleClipSeconds, 0, 3600);
    const source = prepareInput(input, o, 'input');
    const layout = source.layout;
    const duration = layout ? layout.frames / layout.sampleRate : 0;
    if (layout === null || isSingleClip(duration, offset, window, clipSeconds, single)) {
      const result = await this.classify(input, { ...(o.sampleRate === undefined ? {} : { sampleRate: o.sampleRate }), offsetSeconds: offset, ...(o.adapter === undefined ? {} : { adapter: o.adapter }) });
      const segment: TimelineSegment = { start: offset, end: Math.min(offset + window, Math.max(duration, offset)), ...result };
      return { label: result.label, confidence: result.confidence, probabilities: result.probabilities, segments: [segment], ...(result.truncated ? { truncated: true as const } : {}) };
    }
    // Windows every hop until one reaches the end; never one that starts after it (a hop longer
    // than the recording gives the first window alone).
    const count = Math.min(Math.ceil((duration - offset - window) / hop - 1e-9) + 1, Math.floor((duration - offset) / hop - 1e-9) + 1);
    const rate = layout.sampleRate;
    const segments: TimelineSegment[] = [];
    const sums = new Float64Array(this.labels.length);
    for (let first = 0; first < count; first += this.batchSize) {
      const windows: PreparedInput[] = [];
      const spans: Array<[number, number]> = [];
      for (let k = first; k < Math.min(count, first + this.batchSize); k++) {
        const start = offset + k * hop;
        const end = Math.min(start + window, duration);
        windows.push({ wav: sliceWav(source.wav, layout, Math.round(start * rate), Math.round(end * rate)), layout: null });
        spans.push([start, end]);
      }
      const features = await this.featuresOf(windows, 0);
      const results = await this.predict(windows, features, first, 0, o.adapter);
      results.forEach((r, j) => {
        if ('error' in r) {
          if (r.error.code === 'ERR_SILENT') return;
          throw r.error;
        }
        const [start, end] = spans[j] as [number, number];
        segments.push({ start: round3(start), end: round3(end), ...r });
        this.labels.forEach((l, c) => (sums[c] = (sums[c] as number) + (r.probabilities[l] as number)));
      });
    }
    if (segments.length === 0) throw new EmoError('the recording is digital silence: nothing to classify', 'ERR_SILENT');
    const probabilities = Object.fromEntries(this.labels.map((l, c) => [l, (sums[c] as number) / segments.length]));
    const best = this.labels.reduce((a, b) => ((probabilities[b] as number) > (probabilities[a] as number) ? b : a));
    return { label: best, confidence: probabilities[best] as number, probabilities, segments, ...(layout.truncated ? { truncated: true as const } : {}) };
  }

  /** Releases the onnxruntime session. */
  async close(): Promise<void> {
    await this.model.close();
  }

  private offsetOf(options: ClassifyOptions): number {
    return options.offsetSeconds ?? this.model.metadata.features.offsetSeconds;
  }

  private async classifyPrepared(inputs: PreparedInput[], offsetSeconds: number, adapter: Adapter | undefined): Promise<Array<EmotionResult | ClassifyFailure>> {
    return this.predict(inputs, await this.featuresOf(inputs, offsetSeconds), 0, offsetSeconds, adapter);
  }

  private featuresOf(inputs: PreparedInput[], offsetSeconds: number): Promise<Array<MelChunks | EmoError>> {
    return melChunksBatch(
      inputs.map((i) => i.wav),
      { offsetSeconds, errors: 'return' },
    ) as Promise<Array<MelChunks | EmoError>>;
  }

  /**
   * Checks each clip's audio and features, adapts the good ones when an adapter is given and
   * ready, and runs them through the model in one batch.
   */
  private async predict(inputs: PreparedInput[], features: Array<MelChunks | EmoError>, firstIndex: number, offsetSeconds: number, adapter?: Adapter): Promise<Array<EmotionResult | ClassifyFailure>> {
    const out: Array<EmotionResult | ClassifyFailure | null> = features.map((f, i) => {
      const fail = (error: EmoError): ClassifyFailure => {
        error.index = firstIndex + i;
        return { error };
      };
      if (f instanceof EmoError) return fail(f);
      const layout = (inputs[i] as PreparedInput).layout;
      if (layout && layout.frames / layout.sampleRate <= offsetSeconds) {
        return fail(new EmoError(`the audio ends at ${(layout.frames / layout.sampleRate).toFixed(3)} s, before the ${offsetSeconds} s that the pipeline skips: nothing to classify`, 'ERR_TOO_SHORT'));
      }
      if (f.data.every((v) => v <= this.floorDb + 1e-3)) return fail(new EmoError('the clip is digital silence: nothing to classify', 'ERR_SILENT'));
      return null;
    });
    const good = features.flatMap((_, i) => (out[i] === null ? [i] : []));
    const adaptation = this.model.metadata.adaptation;
    // A statistics network takes the speaker's standardisation of its statistics; the reference
    // network's input is moved onto the training speakers' bands.
    const standardisation: StatisticsStandardisation | null = adapter !== undefined && adapter.ready && adaptation?.mode === 'speaker-statistics' ? adapter.standardisation() : null;
    const report: AdaptationReport | undefined = adapter === undefined ? undefined : { applied: adapter.ready && (adaptation?.mode !== 'speaker-statistics' || standardisation !== null), speechSeconds: adapter.speechSeconds };
    if (report?.applied && adaptation?.mode === 'speaker') {
      const speaker = (adapter as Adapter).statistics();
      for (const i of good) adaptChunks((features[i] as MelChunks).data, (features[i] as MelChunks).shape, speaker, adaptation.reference);
    }
    if (good.length > 0) {
      const size = this.model.clipSize;
      const probabilities = new Float32Array(good.length * this.labels.length);
      const attention = new Float32Array(good.length * this.model.metadata.features.shape[0]);
      // One run per `runClips` clips; with a pool of worker threads they run side by side.
      const runs: Array<Promise<void>> = [];
      for (let first = 0; first < good.length; first += this.runClips) {
        const part = good.slice(first, first + this.runClips);
        const input = new Float32Array(part.length * size);
        part.forEach((i, j) => input.set((features[i] as MelChunks).data, j * size));
        const run = this.model.run(input, part.length, standardisation ?? undefined).then((out) => {
          probabilities.set(out.probabilities, first * this.labels.length);
          attention.set(out.attention, first * this.model.metadata.features.shape[0]);
        });
        runs.push(run);
        if (this.model.workers <= 1) await run;
      }
      await Promise.all(runs);
      const labels = this.labels;
      const chunks = attention.length / good.length;
      good.forEach((i, j) => {
        const row = probabilities.subarray(j * labels.length, (j + 1) * labels.length);
        let best = 0;
        for (let k = 1; k < row.length; k++) if ((row[k] as number) > (row[best] as number)) best = k;
        const result: EmotionResult = {
          label: labels[best] as string,
          confidence: row[best] as number,
          probabilities: Object.fromEntries(labels.map((l, k) => [l, row[k] as number])),
          attention: Array.from(attention.subarray(j * chunks, (j + 1) * chunks)),
        };
        if ((inputs[i] as PreparedInput).layout?.truncated) result.truncated = true;
        if (report !== undefined) result.adaptation = { ...report };
        out[i] = result;
      });
    }
    return out as Array<EmotionResult | ClassifyFailure>;
  }
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

function createSession(model: string | Uint8Array, provider: 'cpu' | 'cuda', threads: number | undefined, workers: number): Promise<OnnxEmotionModel> {
  return openOnnxModel(model, { threads, provider, workers });
}

/**
 * Loads an exported emotion model into onnxruntime-node.
 *
 * @param model - path of an `.onnx` file from `emo export`, its bytes, or the name of a model in
 *   the package's `models/` folder ({@link BUNDLED_MODELS}: `'ravdess'`, `'synth'`). Omitted: the default
 *   bundled model ({@link DEFAULT_MODEL_NAME}).
 * @throws {@link EmoError} `ERR_MODEL_NOT_BUNDLED` (a bundled model asked for, by name or by
 *   default, is missing from this copy),
 *   `ERR_MODEL_INVALID`, `ERR_MODEL_FEATURES_MISMATCH`, `ERR_FILE_READ`,
 *   `ERR_PROVIDER_UNAVAILABLE` (CUDA asked for but not installed or not working);
 *   RangeError for an unknown provider or a bad number.
 * @example
 * const clf = await loadClassifier('model.onnx');
 * const { label, confidence } = await clf.classify(fs.readFileSync('clip.wav'));
 * await clf.close();
 */
export async function loadClassifier(model?: string | Uint8Array, options: ClassifierOptions = {}): Promise<Classifier> {
  const o = checkPlainObject('options', options);
  checkKnownKeys('options', o, ['provider', 'threads', 'batchSize', 'worker']);
  const provider = (o.provider ?? 'cpu') as Provider;
  if (!PROVIDERS.includes(provider)) throw invalidRange('options.provider', `one of ${PROVIDERS.map((p) => `'${p}'`).join(', ')}`, provider);
  const threads = o.threads === undefined ? undefined : checkInteger('options.threads', o.threads, 1, 1024);
  const batchSize = o.batchSize === undefined ? 32 : checkInteger('options.batchSize', o.batchSize, 1, 4096);
  const workers = o.worker === undefined || o.worker === false ? 0 : o.worker === true ? 1 : checkInteger('options.worker', o.worker, 0, 256);
  const source = resolveModel(model);
  if (provider === 'cpu') return new Classifier(await createSession(source, 'cpu', threads, workers), 'cpu', batchSize);
  if (!cudaProviderInstalled()) {
    if (provider === 'auto') return new Classifier(await createSession(source, 'cpu', threads, workers), 'cpu', batchSize);
    throw new EmoError(CUDA_HINT, 'ERR_PROVIDER_UNAVAILABLE');
  }
  try {
    return new Classifier(await createSession(source, 'cuda', threads, workers), 'cuda', batchSize);
  } catch (error) {
    if (error instanceof EmoError && error.code !== 'ERR_PROVIDER_UNAVAILABLE') throw error;
    if (provider === 'auto') return new Classifier(await createSession(source, 'cpu', threads, workers), 'cpu', batchSize);
    throw error;
  }
}

