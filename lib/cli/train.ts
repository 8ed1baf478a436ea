import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { EMOTIONS, indexRavdess, splitByActor, VARIANTS, type SplitOptions, type Variant } from '../data';
import { applyCondition, CONDITION_DESCRIPTIONS, CONDITIONS, monoOf, type Condition } from '../data/conditions';
import { EmoError } from '../errors';
import { CENTRINGS, melChunksBatch, type MelChunks } from '../features';
import { TRAINING_ADAPTATIONS } from '../features/adaptation';
import { speakerStatisticsAdaptation, stackClips } from '../export';
import { openOnnxModel } from '../infer/onnx-model';
import { loadClassifier, type Classifier } from '../infer/classifier';
import { Adapter, DEFAULT_MIN_SPEECH_SECONDS, type StatisticsSource } from '../infer/adapter';
import { adaptChunks } from '../features/adaptation';
import type { ModelAdaptation, SpeakerBandsAdaptation, StatisticsStandardisation } from '../infer/onnx-model';
import { Mulberry32 } from '../random';
import { loadModel, NETWORKS, networkOf, setStatisticsStandardisation, STATISTICS_STANDARDISATION_LAYER, statisticsModel, useBestBackend } from '../nn';
import { confusionChart, curvesChart, renderPng, type TrainingHistoryEntry } from '../plot/charts';
import { classificationMetrics, LR_SCHEDULES, trainModel, type ClassificationMetrics, type FoldRecipe, type Normalisation, type TrainProgress } from '../train';
import { writeFileAtomic } from './files';
import { formatDuration, ProgressBar } from './progress';
import { parseSplitSpec, SPLIT_SPEC_HELP } from './split-spec';
import { resolveTrainedModel } from './run-dir';
import { numberFlag, parseCommandLine, UsageError } from './usage';

export const TRAIN_USAGE = `Usage: emo train <dataset dir> [--out DIR] [--epochs N] [--batch 32] [--lr 0.001] [--seed 1]
                 [--optimizer adam|sgd] [--momentum 0.8] [--weight-decay 0]
                 [--split SPEC] [--patience 6] [--lr-patience 2] [--lr-schedule plateau|cosine]
                 [--no-masking] [--no-warp] [--mixup 0.4] [--balance-classes] [--init-from RUN]
                 [--centre none|utterance] [--adapt none|speaker] [--recording-chain]
                 [--variants LIST] [--network reference|statistics] [--cache FILE] [--resume]
                 [--redis URL [--queue emo-train] [--redis-wait 60]]

Trains the CNN-BiLSTM-attention network on a RAVDESS-style folder, split by actor,
with augmentation on the training split only; keeps the epoch with the best
validation macro-F1 and stops after --patience epochs without a better one; halves
the learning rate after --lr-patience such epochs (--lr-schedule cosine instead lowers
it after every batch along half a cosine to 1/64 of --lr at the end of --epochs).
Training batches get a vocal tract length perturbation (--no-warp: none), SpecAugment-style frequency
and time masks (--no-masking: none) and mixup with Beta(alpha, alpha) weights
(--mixup 0: none). Writes to --out (default runs/<folder name>): best/ and last/
(tfjs models), metrics.json, run.json, normalization.json, confusion.png, curves.png,
checkpoint/ (after every epoch; --resume continues from it). --optimizer sgd trains with SGD
and momentum (--momentum, default 0.8; --lr then defaults to 0.01) as the reference recipe
does; --weight-decay adds PyTorch's weight_decay (L2) to either optimizer. --balance-classes
repeats the smaller classes' training clips so every class is as frequent as the largest.
--init-from starts from an earlier run's (or model folder's) weights, e.g. a model
pre-trained on the synthetic corpus, with a fresh optimizer. --centre utterance subtracts
each clip's own mean of every mel band before the training-set normalisation (in training
and inside the exported model), which takes out the recording's level and steady colour.
--adapt speaker instead normalises every clip with its speaker's statistics (per actor and
training variant, from the speech frames of their clips, no labels): the exported model
then expects an adapter's statistics at inference (emo classify --adapt file|folder).
--recording-chain adds a fifth variant of each training clip: the clip through a recording
chain drawn for it (room reverberation, telephone band, band limit, microphone colour,
background noise, gain — the synthetic corpus's chain; needs sox). --variants trains on
some of the training variants only (comma-separated: original, noise, tempo, preemphasis,
chain; default all): with --centre utterance, preemphasis is nearly a copy of the original.
--network statistics trains a small network instead of the CNN-BiLSTM: per-band mean,
spread and frame-to-frame change of the speech frames and one softmax layer (same input and
outputs, exports the same way, trains in minutes).

  --split SPEC   ${SPLIT_SPEC_HELP}
  --redis URL    train on an 'emo worker --queue emo-train' machine (the corpus at the same
                 path there); the run folder comes back into --out (as emo crossval --redis)`;

export const EVALUATE_USAGE = `Usage: emo evaluate <run dir | model dir | model.onnx> <dataset dir> [--split test|val|train|all]
                    [--predictions FILE.jsonl] [--condition LIST|all] [--protocol offset|windows] [--out DIR]
                    [--adapt none|folder|file] [--adapt-group N] [--adapt-mix N] [--min-speech SECONDS] [--seed 1]

Prints accuracy, unweighted average recall, macro-F1, per-class precision/recall and
the confusion matrix of a trained model on a RAVDESS-style folder, using the split the
run was trained with (for an .onnx file: the split its emo.training metadata records;
--split all: every clip), and writes confusion-<split>.png into --out (default: the
current folder; never beside the model). An .onnx
file runs in onnxruntime, a run or model folder in TensorFlow.js; both give the same
metrics. --predictions (relative to --out) writes one JSON line per clip: {"file", "truth", "predicted",
"probabilities": [8, in label order]}.

--protocol windows labels each clip as emo classify labels a recording longer than 6 s:
the mean of the probabilities of 3-s windows every 1.5 s from 0.5 s on (.onnx models
only); the default, offset, scores the 3 s after the first 0.5 s, as training does and as
emo classify, classify() and the server label a recording up to 6 s.

--condition scores the clips as a recording condition delivers them (comma-separated, or
all; default clean), each with its metrics and confusion-<split>-<condition>.png, then a
table with the change in UAR from clean:
${CONDITIONS.map((c) => `  ${c.padEnd(10)} ${CONDITION_DESCRIPTIONS[c]}`).join('\n')}
telephone and reverb need sox, mp3-64 and opus-16 ffmpeg.

--adapt (models that adapt: trained with emo train --adapt speaker or speaker-statistics,
or any statistics network; default folder for them, none otherwise): folder adapts to each actor's clips of the split as a condition delivers
them (the statistics of their speech frames, never their labels), as emo classify
--adapt folder adapts to a folder; file to each clip alone. --adapt-group N cuts each
actor's clips into groups of N (in an order drawn with --seed) that adapt to
themselves: how much speech adaptation needs. --adapt-mix N puts N actors' clips in
one group (actors in order: 21 with 22, 23 with 24): what a folder of mixed speakers
costs. A group with less speech than
--min-speech (default ${DEFAULT_MIN_SPEECH_SECONDS} s, as emo classify) is scored without adaptation.`;

export function pct(x: number): string {
  return Number.isNaN(x) ? '   -  ' : `${(100 * x).toFixed(1).padStart(5)}%`;
}

export function printMetrics(name: string, m: ClassificationMetrics): void {
  const lines = [`${name}: ${m.count} clips  accuracy ${pct(m.accuracy)}  UAR ${pct(m.uar)}  macro-F1 ${pct(m.macroF1)}`];
  lines.push(`  ${'class'.padEnd(10)} precision  recall  support`);
  for (const c of m.perClass) lines.push(`  ${c.label.padEnd(10)} ${pct(c.precision)}    ${pct(c.recall)}  ${String(c.support).padStart(6)}`);
  lines.push(`  confusion (rows true, columns predicted): ${EMOTIONS.map((e) => e.slice(0, 3)).join(' ')}`);
  m.confusion.forEach((row, i) => lines.push(`    ${(EMOTIONS[i] as string).padEnd(10)} ${row.map((v) => String(v).padStart(3)).join(' ')}`));
  if (m.missingClasses.length > 0) lines.push(`  no examples of: ${m.missingClasses.join(', ')} (left out of UAR)`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** The command-line flags of a training recipe, shared by `emo train` and `emo crossval`. */
export const RECIPE_FLAGS = {
  epochs: { type: 'string' },
  batch: { type: 'string' },
  lr: { type: 'string' },
  optimizer: { type: 'string' },
  momentum: { type: 'string' },
  'weight-decay': { type: 'string' },
  seed: { type: 'string' },
  patience: { type: 'string' },
  'lr-patience': { type: 'string' },
  'lr-schedule': { type: 'string' },
  'no-masking': { type: 'boolean', default: false },
  'no-warp': { type: 'boolean', default: false },
  mixup: { type: 'string' },
  'balance-classes': { type: 'boolean', default: false },
  'init-from': { type: 'string' },
  centre: { type: 'string' },
  adapt: { type: 'string' },
  'recording-chain': { type: 'boolean', default: false },
  variants: { type: 'string' },
  network: { type: 'string' },
} as const;

/** A flag that takes one of `choices`: unset, or one of them; anything else is a usage error. */
function enumFlag<T extends string>(flag: string, choices: readonly T[], text: string | undefined, usage: string): T | undefined {
  if (text === undefined || (choices as readonly string[]).includes(text)) return text as T | undefined;
  throw new UsageError(`--${flag} must be ${choices.join(' or ')}, not '${text}'`, usage);
}

function variantsFlag(text: string | undefined, usage: string): Variant[] | undefined {
  if (text === undefined) return undefined;
  const list = text.split(',').map((v) => v.trim()).filter((v) => v !== '');
  const unknown = list.filter((v) => !(VARIANTS as readonly string[]).includes(v));
  if (list.length === 0 || unknown.length > 0) throw new UsageError(`--variants takes a comma-separated list of ${VARIANTS.join(', ')}, not '${text}'`, usage);
  // In VARIANTS order, so a recipe compares equal however its list was spelled.
  return VARIANTS.filter((v) => list.includes(v));
}

/** The recipe options of {@link trainModel} from parsed {@link RECIPE_FLAGS}; a bad value is a usage error. */
export function recipeFromFlags(values: Record<string, string | boolean | undefined>, usage: string): FoldRecipe {
  const int = (flag: string, min: number, max: number) => numberFlag(flag, values[flag] as string | undefined, usage, { integer: true, min, max });
  const recipe: FoldRecipe = {
    epochs: int('epochs', 1, 10000),
    batch: int('batch', 1, 4096),
    learningRate: numberFlag('lr', values['lr'] as string | undefined, usage, { min: 0, max: 10, exclusiveMin: true }),
    optimizer: enumFlag('optimizer', ['adam', 'sgd'] as const, values['optimizer'] as string | undefined, usage),
    momentum: numberFlag('momentum', values['momentum'] as string | undefined, usage, { min: 0, max: 0.999 }),
    weightDecay: numberFlag('weight-decay', values['weight-decay'] as string | undefined, usage, { min: 0, max: 1 }),
    seed: int('seed', 0, 2 ** 31 - 1),
    patience: int('patience', 1, 10000),
    lrPatience: int('lr-patience', 1, 10000),
    lrSchedule: enumFlag('lr-schedule', LR_SCHEDULES, values['lr-schedule'] as string | undefined, usage),
    masking: values['no-masking'] ? false : undefined,
    warp: values['no-warp'] ? false : undefined,
    mixup: numberFlag('mixup', values['mixup'] as string | undefined, usage, { min: 0, max: 100 }),
    balanceClasses: values['balance-classes'] ? true : undefined,
    initFrom: values['init-from'] as string | undefined,
    centre: enumFlag('centre', CENTRINGS, values['centre'] as string | undefined, usage),
    adapt: enumFlag('adapt', TRAINING_ADAPTATIONS, values['adapt'] as string | undefined, usage),
    recordingChain: values['recording-chain'] ? true : undefined,
    variants: variantsFlag(values['variants'] as string | undefined, usage),
    network: enumFlag('network', NETWORKS, values['network'] as string | undefined, usage),
  };
  // Unset options stay out, so a recipe compares equal however it was spelled.
  for (const key of Object.keys(recipe) as Array<keyof FoldRecipe>) if (recipe[key] === undefined) delete recipe[key];
  return recipe;
}

/**
 * Prints training progress: a progress bar per epoch (stderr) and a line per finished epoch
 * (stdout), each prefixed with `prefix` (a fold's name in a cross-validation).
 */
export function trainProgressPrinter(prefix = ''): (event: TrainProgress) => void {
  let bar: ProgressBar | undefined;
  let cacheBar: ProgressBar | undefined;
  let cacheDone = 0;
  return (event) => {
    if (event.kind === 'cache') {
      cacheBar ??= new ProgressBar(event.total, `${prefix}features`, { unit: 'clips' });
      cacheBar.tick(event.done - cacheDone);
      cacheDone = event.done;
      if (event.done === event.total) cacheBar.finish();
    } else if (event.kind === 'batch') {
      if (event.batch === 1) bar = new ProgressBar(event.batches, `${prefix}epoch ${event.epoch}`, { unit: 'batches' });
      bar?.tick();
      bar?.setSuffix(`loss ${event.loss.toFixed(3)} ${event.samplesPerSecond.toFixed(1)} samples/s`);
    } else {
      bar?.finish();
      const r = event.record;
      process.stdout.write(
        `${prefix}epoch ${String(r.epoch).padStart(3)}  loss ${r.trainLoss.toFixed(3)}  acc ${pct(r.trainAccuracy)}  ` +
          `val loss ${r.valLoss.toFixed(3)}  val acc ${pct(r.valAccuracy)}  val macro-F1 ${pct(r.valMacroF1)}  lr ${r.learningRate.toPrecision(2)}  ` +
          `${formatDuration(r.seconds)} ${r.samplesPerSecond.toFixed(1)} samples/s${event.best ? '  best' : ''}\n`,
      );
    }
  };
}

export async function runTrain(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(
    argv,
    {
      ...RECIPE_FLAGS,
      out: { type: 'string' },
      split: { type: 'string' },
      cache: { type: 'string' },
      resume: { type: 'boolean', default: false },
      redis: { type: 'string' },
      queue: { type: 'string' },
      'redis-wait': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    TRAIN_USAGE,
  );
  if (values.help) {
    process.stdout.write(`${TRAIN_USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('emo train needs one dataset folder', TRAIN_USAGE);
  const dir = positionals[0] as string;
  const out = values.out ?? path.join('runs', path.basename(path.resolve(dir)));
  if (values.redis !== undefined) return trainOnQueue(dir, out, values);
  if (values.queue !== undefined || values['redis-wait'] !== undefined) throw new UsageError('--queue and --redis-wait go with --redis URL', TRAIN_USAGE);
  const result = await trainModel(dir, {
    ...recipeFromFlags(values, TRAIN_USAGE),
    out,
    split: parseSplitSpec(values.split, TRAIN_USAGE),
    cache: values.cache,
    resume: values.resume,
    onProgress: trainProgressPrinter(),
  });
  const test = result.metrics.test as ClassificationMetrics; // emo train always scores its test actors
  writeFileAtomic(path.join(out, 'confusion.png'), await renderPng(confusionChart(test.confusion, EMOTIONS, { title: `test split, best epoch ${result.bestEpoch}` })));
  writeFileAtomic(path.join(out, 'curves.png'), await renderPng(curvesChart(result.history, { title: path.basename(path.resolve(dir)), bestEpoch: result.bestEpoch })));
  for (const [split, m] of [['train', result.metrics.train], ['val', result.metrics.val], ['test', test]] as const) printMetrics(split, m);
  process.stdout.write(`best epoch ${result.bestEpoch}; ${result.failedFiles} files failed; backend ${result.backend}; ${formatDuration(result.seconds)}; artefacts in ${out}\n`);
  return 0;
}

/** `emo train --redis`: the run as one fold job on the queue, its actors the split's. */
async function trainOnQueue(dir: string, out: string, values: Record<string, string | boolean | undefined>): Promise<number> {
  const redis = values.redis as string;
  if (!/^rediss?:\/\/./.test(redis)) throw new UsageError(`--redis must be a URL like redis://host:6379, not '${redis}'`, TRAIN_USAGE);
  if (values.cache !== undefined) throw new UsageError('--cache is the worker\'s business with --redis', TRAIN_USAGE);
  const redisWait = numberFlag('redis-wait', values['redis-wait'] as string | undefined, TRAIN_USAGE, { min: 1, max: 86400 });
  const recipe = recipeFromFlags(values, TRAIN_USAGE);
  const split = splitByActor(indexRavdess(dir).entries, parseSplitSpec(values.split as string | undefined, TRAIN_USAGE));
  const { FoldProducer } = await import('../queue/folds');
  const producer = await FoldProducer.connect(redis, { ...(values.queue === undefined ? {} : { queue: values.queue as string }), ...(redisWait === undefined ? {} : { redisWaitSeconds: redisWait }) });
  try {
    const printer = trainProgressPrinter();
    const plan = { fold: 1, ...split.actors };
    process.stdout.write(`queued: test actors ${plan.test.join(',')}, validation ${plan.val.join(',')}, training ${plan.train.join(',')}\n`);
    const result = await producer.runFold({
      dir,
      plan,
      recipe,
      out,
      resume: Boolean(values.resume),
      onProgress: (event) => {
        if (event.kind === 'epoch') printer(event);
      },
    });
    const { history } = JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8')) as { history: TrainingHistoryEntry[] };
    const test = result.test as ClassificationMetrics;
    writeFileAtomic(path.join(out, 'confusion.png'), await renderPng(confusionChart(test.confusion, EMOTIONS, { title: `test split, best epoch ${result.bestEpoch}` })));
    writeFileAtomic(path.join(out, 'curves.png'), await renderPng(curvesChart(history, { title: path.basename(path.resolve(dir)), bestEpoch: result.bestEpoch })));
    for (const [name, m] of [['val', result.val], ['test', test]] as const) printMetrics(name, m);
    process.stdout.write(`best epoch ${result.bestEpoch}; trained on the queue in ${formatDuration(result.seconds)}; artefacts in ${out}\n`);
    return 0;
  } finally {
    await producer.close();
  }
}

/** A trained model behind one interface: class probabilities (n × labels, row-major) of raw melChunks features. */
interface Predictor {
  /** With `standardisation`, a statistics network standardises its statistics with that speaker's. */
  predict(clips: MelChunks[], standardisation?: StatisticsStandardisation): Promise<Float32Array>;
  /** How the model adapts to a speaker, for a model trained with speaker adaptation; else null. */
  adaptation: ModelAdaptation | null;
  /** Each clip's statistics (a statistics network, unless trained with `adapt: 'speaker'`). */
  statistics?: StatisticsSource;
  /** The probabilities of a whole clip as emo classify labels it: the mean over its windows (.onnx models only). */
  predictWindows?(wav: Uint8Array): Promise<Float32Array>;
  close(): Promise<void>;
}

async function tfjsPredictor(modelDir: string, norm: Normalisation): Promise<Predictor> {
  await useBestBackend();
  const model = await loadModel(modelDir);
  const input = (clips: MelChunks[]) => {
    const [chunks, mels, frames] = (clips[0] as MelChunks).shape;
    return tf.tensor(stackClips(clips, norm), [clips.length, chunks, mels, frames, 1]);
  };
  // A statistics network's statistics can be standardised per speaker, however it was trained (as its export).
  const perSpeaker = norm.adapt !== 'speaker' && networkOf(model) === 'statistics';
  const extractor = perSpeaker ? statisticsModel(model) : null;
  // The standardisation the model was saved with (the training speakers' average, or the training set's), to go back to.
  const saved = perSpeaker ? model.getLayer(STATISTICS_STANDARDISATION_LAYER).getWeights().slice(2).map((w) => w.dataSync().slice()) : [];
  return {
    adaptation: norm.adapt === 'speaker' ? { mode: 'speaker', reference: { mean: [...norm.mean], std: [...norm.std] } } : perSpeaker ? speakerStatisticsAdaptation(model, norm.adapt === 'speaker-statistics') : null,
    async predict(clips, standardisation) {
      if (standardisation !== undefined) setStatisticsStandardisation(model, standardisation.mean, standardisation.variance);
      try {
        const probs = tf.tidy(() => model.predict(input(clips)) as tf.Tensor);
        const values = (await probs.data()) as Float32Array;
        probs.dispose();
        return values;
      } finally {
        if (standardisation !== undefined) setStatisticsStandardisation(model, saved[0] as Float32Array, saved[1] as Float32Array);
      }
    },
    ...(extractor === null
      ? {}
      : {
          async statistics(clips: MelChunks[]) {
            const output = tf.tidy(() => extractor.predict(input(clips)) as tf.Tensor2D);
            const values = (await output.data()) as Float32Array;
            const width = output.shape[1];
            output.dispose();
            return clips.map((_, j) => values.slice(j * width, (j + 1) * width));
          },
        }),
    async close() {
      model.dispose();
    },
  };
}

async function onnxPredictor(file: string): Promise<{ predictor: Predictor; splitOptions: SplitOptions }> {
  const model = await openOnnxModel(file);
  const recorded = model.metadata.training.splitOptions;
  let classifier: Classifier | undefined;
  return {
    splitOptions: recorded !== null && typeof recorded === 'object' ? (recorded as SplitOptions) : {},
    predictor: {
      adaptation: model.metadata.adaptation,
      async predict(clips, standardisation) {
        return (await model.run(stackClips(clips), clips.length, standardisation)).probabilities;
      },
      ...(model.metadata.adaptation?.mode === 'speaker-statistics'
        ? {
            async statistics(clips: MelChunks[]) {
              const { statistics } = await model.run(stackClips(clips), clips.length);
              const width = (statistics as Float32Array).length / clips.length;
              return clips.map((_, j) => (statistics as Float32Array).slice(j * width, (j + 1) * width));
            },
          }
        : {}),
      async predictWindows(wav) {
        classifier ??= await loadClassifier(file);
        // Windows however short the clip: the alternative to the one-clip rule, for comparing the two.
        const { probabilities } = await classifier.timeline(wav, { singleClipSeconds: 0 });
        return Float32Array.from(EMOTIONS, (label) => probabilities[label] as number);
      },
      close: async () => {
        await classifier?.close();
        await model.close();
      },
    },
  };
}

// Clips per forward pass: large enough to amortise a run, small enough to keep memory flat.
const EVALUATE_BATCH = 32;

/** A clip of the evaluated split as read for one condition: its entry, and its bytes or why they failed. */
type EvaluatedEntry = ReturnType<typeof indexRavdess>['entries'][number];

/** The WAV bytes of each clip under `condition` (2 at a time: sox and ffmpeg run as child processes). */
async function conditioned(group: EvaluatedEntry[], all: EvaluatedEntry[], condition: Condition): Promise<Array<Uint8Array | EmoError>> {
  const results: Array<Uint8Array | EmoError> = new Array(group.length);
  let next = 0;
  const lane = async () => {
    while (next < group.length) {
      const i = next++;
      const entry = group[i] as EvaluatedEntry;
      try {
        const bytes = fs.readFileSync(entry.path);
        if (condition === 'clean') {
          results[i] = bytes;
          continue;
        }
        // Babble: clips of six other actors of the split, the same ones for every run.
        const others = condition === 'babble-10' ? all.filter((e) => e.actor !== entry.actor).filter((_, k, list) => k % Math.max(1, Math.floor(list.length / 6)) === 0).slice(0, 6) : [];
        const babble = others.map((e) => monoOf(fs.readFileSync(e.path)).samples);
        results[i] = await applyCondition(bytes, condition, { key: path.basename(entry.path), babble });
      } catch (error) {
        results[i] = error instanceof EmoError ? error : new EmoError(`cannot read the clip: ${(error as Error).message}`, 'ERR_FILE_READ');
      }
    }
  };
  await Promise.all([lane(), lane()]);
  return results;
}

function parseConditions(text: string | undefined): Condition[] {
  if (text === undefined) return ['clean'];
  if (text === 'all') return [...CONDITIONS];
  const list = text.split(',').map((c) => c.trim());
  for (const c of list) if (!(CONDITIONS as readonly string[]).includes(c)) throw new UsageError(`--condition: unknown '${c}'; choose from ${CONDITIONS.join(', ')}, or all`, EVALUATE_USAGE);
  return list as Condition[];
}

/**
 * The clips of an evaluation in the groups that adapt together: all in one (no adaptation), each
 * actor's (folder), each actor's cut into groups of `size` in a seeded order, `mix` actors' clips
 * together (in actor order), or each clip alone (file).
 */
function adaptationUnits(chosen: EvaluatedEntry[], mode: string, grouping: { size?: number | undefined; mix?: number | undefined }, seed: number): EvaluatedEntry[][] {
  if (mode === 'none') return [chosen];
  if (mode === 'file') return chosen.map((e) => [e]);
  const units: EvaluatedEntry[][] = [];
  const rng = new Mulberry32(seed);
  const size = grouping.size;
  const actors = [...new Set(chosen.map((e) => e.actor))].sort((a, b) => a - b);
  if (grouping.mix !== undefined) {
    for (let i = 0; i < actors.length; i += grouping.mix) {
      const mixed = actors.slice(i, i + grouping.mix);
      units.push(chosen.filter((e) => mixed.includes(e.actor)));
    }
    return units;
  }
  for (const actor of actors) {
    const clips = chosen.filter((e) => e.actor === actor);
    if (size === undefined) {
      units.push(clips);
      continue;
    }
    for (let i = clips.length - 1; i > 0; i--) {
      const j = Math.floor(rng.next() * (i + 1));
      [clips[i], clips[j]] = [clips[j] as EvaluatedEntry, clips[i] as EvaluatedEntry];
    }
    for (let i = 0; i < clips.length; i += size) units.push(clips.slice(i, i + size));
  }
  return units;
}

export async function runEvaluate(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(
    argv,
    {
      split: { type: 'string' },
      predictions: { type: 'string' },
      condition: { type: 'string' },
      protocol: { type: 'string' },
      out: { type: 'string' },
      adapt: { type: 'string' },
      'adapt-group': { type: 'string' },
      'adapt-mix': { type: 'string' },
      'min-speech': { type: 'string' },
      seed: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    EVALUATE_USAGE,
  );
  if (values.help) {
    process.stdout.write(`${EVALUATE_USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 2) throw new UsageError('emo evaluate needs a run folder, model folder or .onnx file, and a dataset folder', EVALUATE_USAGE);
  const [given, dir] = positionals as [string, string];
  const which = values.split ?? 'test';
  if (!['test', 'val', 'train', 'all'].includes(which)) throw new UsageError(`--split must be test, val, train or all, not '${which}'`, EVALUATE_USAGE);
  const conditions = parseConditions(values.condition);
  const protocol = values.protocol ?? 'offset';
  if (protocol !== 'offset' && protocol !== 'windows') throw new UsageError(`--protocol must be offset or windows, not '${protocol}'`, EVALUATE_USAGE);
  if (protocol === 'windows' && !/\.onnx$/i.test(given)) throw new UsageError('--protocol windows needs an .onnx model (emo export)', EVALUATE_USAGE);
  if (conditions.length > 1 && values.predictions !== undefined) throw new UsageError('--predictions takes one condition at a time', EVALUATE_USAGE);
  if (values.adapt !== undefined && !['none', 'folder', 'file'].includes(values.adapt)) throw new UsageError(`--adapt must be none, folder or file, not '${values.adapt}'`, EVALUATE_USAGE);
  const adaptGroup = numberFlag('adapt-group', values['adapt-group'], EVALUATE_USAGE, { integer: true, min: 1, max: 1e6 });
  const minSpeechSeconds = numberFlag('min-speech', values['min-speech'], EVALUATE_USAGE, { min: 0, max: 86400 }) ?? DEFAULT_MIN_SPEECH_SECONDS;
  const seed = numberFlag('seed', values.seed, EVALUATE_USAGE, { integer: true, min: 0, max: 2 ** 31 - 1 }) ?? 1;
  const adaptMix = numberFlag('adapt-mix', values['adapt-mix'], EVALUATE_USAGE, { integer: true, min: 1, max: 1000 });
  if ((adaptGroup !== undefined || adaptMix !== undefined) && values.adapt !== undefined && values.adapt !== 'folder') throw new UsageError('--adapt-group and --adapt-mix group the clips of --adapt folder', EVALUATE_USAGE);
  if (adaptGroup !== undefined && adaptMix !== undefined) throw new UsageError('--adapt-group or --adapt-mix, not both', EVALUATE_USAGE);
  if (protocol === 'windows' && values.adapt !== undefined && values.adapt !== 'none') throw new UsageError('--protocol windows scores without adaptation', EVALUATE_USAGE);

  // Files go where the user asks (default: here), never beside the model: that may be the package's own models/.
  const pngDir = path.resolve(values.out ?? '.');
  const predictionsFile = values.predictions === undefined ? undefined : path.resolve(pngDir, values.predictions);
  fs.mkdirSync(pngDir, { recursive: true });
  let predictor: Predictor;
  let splitOptions: SplitOptions;
  if (/\.onnx$/i.test(given)) {
    ({ predictor, splitOptions } = await onnxPredictor(given));
  } else {
    const folder = resolveTrainedModel(given);
    splitOptions = folder.run?.options.split ?? {};
    predictor = await tfjsPredictor(folder.modelDir, folder.normalisation);
  }

  try {
    const { entries, skipped } = indexRavdess(dir);
    const chosen = which === 'all' ? entries : splitByActor(entries, splitOptions)[which as 'test' | 'val' | 'train'];
    if (chosen.length === 0) throw new EmoError(`no clips of the ${which} split in ${dir}`, 'ERR_DATASET_EMPTY');
    if (values.adapt !== undefined && values.adapt !== 'none' && predictor.adaptation === null) {
      throw new EmoError('this model does not adapt to a speaker (a CNN-BiLSTM trained without emo train --adapt speaker): --adapt needs one that does', 'ERR_ADAPTATION_UNSUPPORTED');
    }
    const adaptMode = values.adapt ?? (predictor.adaptation !== null && protocol === 'offset' ? 'folder' : 'none');
    const adapting = adaptMode !== 'none';
    const units = adaptationUnits(chosen, adaptMode, { size: adaptGroup, mix: adaptMix }, seed);
    const table: Array<{ condition: Condition; metrics: ClassificationMetrics; failed: number }> = [];
    let anyFailed = false;
    for (const condition of conditions) {
      const truth: number[] = [];
      const predicted: number[] = [];
      const lines: string[] = [];
      let failed = 0;
      const bar = new ProgressBar(chosen.length, conditions.length > 1 || condition !== 'clean' ? `evaluate ${condition}` : 'evaluate', { unit: 'clips' });
      let adaptedSeconds = 0;
      let unadapted = 0;
      for (const unit of units) {
        // An adaptation unit's clips as the condition delivers them, its statistics from them alone.
        const unitBytes = adapting ? await conditioned(unit, chosen, condition) : null;
        let speaker: ReturnType<Adapter['statistics']> | null = null;
        let standardisation: StatisticsStandardisation | undefined;
        if (unitBytes !== null) {
          const adapter = new Adapter({ minSpeechSeconds }, predictor.statistics);
          await adapter.update(unitBytes.filter((b): b is Uint8Array => !(b instanceof EmoError)));
          if (adapter.ready) {
            if (predictor.adaptation?.mode === 'speaker-statistics') standardisation = adapter.standardisation() ?? undefined;
            else speaker = adapter.statistics();
            adaptedSeconds += adapter.speechSeconds * unit.length;
          } else unadapted += unit.length;
        }
        for (let i = 0; i < unit.length; i += EVALUATE_BATCH) {
          const group = unit.slice(i, i + EVALUATE_BATCH);
          const bytes = unitBytes === null ? await conditioned(group, chosen, condition) : unitBytes.slice(i, i + EVALUATE_BATCH);
          const readable = bytes.map((b) => (b instanceof EmoError ? new Uint8Array(0) : b));
          const results = await melChunksBatch(readable, { errors: 'return' });
          const good: Array<{ entry: EvaluatedEntry; clip: MelChunks }> = [];
          results.forEach((r, j) => {
            const entry = group[j] as EvaluatedEntry;
            const problem = bytes[j] instanceof EmoError ? (bytes[j] as EmoError) : r instanceof EmoError ? r : null;
            if (problem !== null) {
              failed++;
              bar.tick();
              bar.log(`error: ${entry.path}: ${problem.message} (${problem.code})`);
            } else good.push({ entry, clip: r as MelChunks });
          });
          if (good.length === 0) continue;
          if (speaker !== null) for (const g of good) adaptChunks(g.clip.data, g.clip.shape, speaker, (predictor.adaptation as SpeakerBandsAdaptation).reference);
          let probs: Float32Array;
          if (protocol === 'windows') {
            // The whole clip, labelled as emo classify labels it (features recomputed per window).
            probs = new Float32Array(good.length * EMOTIONS.length);
            for (const [j, g] of good.entries()) probs.set(await (predictor.predictWindows as (wav: Uint8Array) => Promise<Float32Array>)(bytes[group.indexOf(g.entry)] as Uint8Array), j * EMOTIONS.length);
          } else probs = await predictor.predict(good.map((g) => g.clip), standardisation);
          const classes = EMOTIONS.length;
          good.forEach(({ entry }, j) => {
            const row = Array.from(probs.subarray(j * classes, (j + 1) * classes));
            let best = 0;
            for (let k = 1; k < classes; k++) if ((row[k] as number) > (row[best] as number)) best = k;
            truth.push(entry.emotionId);
            predicted.push(best);
            if (predictionsFile !== undefined) {
              lines.push(JSON.stringify({ file: entry.path, truth: entry.emotion, predicted: EMOTIONS[best], probabilities: row.map((p) => Number(p.toPrecision(7))) }));
            }
            bar.tick();
          });
        }
      }
      bar.finish();
      const metrics = classificationMetrics(truth, predicted, EMOTIONS);
      const name = condition === 'clean' ? which : `${which}, ${condition}`;
      printMetrics(name, metrics);
      if (adapting) {
        const adapted = chosen.length - unadapted;
        const grouping = adaptGroup !== undefined ? `, groups of ${adaptGroup}` : adaptMix !== undefined ? `, ${adaptMix} actors mixed` : '';
        process.stdout.write(`adaptation (${adaptMode}${grouping}): ${adapted} clips adapted, mean ${(adapted > 0 ? adaptedSeconds / adapted : 0).toFixed(1)} s of speech each; ${unadapted} below the ${minSpeechSeconds} s needed, classified without\n`);
      }
      if (failed > 0) process.stdout.write(`${failed} clips failed\n`);
      anyFailed ||= failed > 0;
      table.push({ condition, metrics, failed });
      if (predictionsFile !== undefined) {
        writeFileAtomic(predictionsFile, lines.length > 0 ? `${lines.join('\n')}\n` : '');
        process.stdout.write(`predictions: ${predictionsFile}\n`);
      }
      const png = path.join(pngDir, condition === 'clean' ? `confusion-${which}.png` : `confusion-${which}-${condition}.png`);
      writeFileAtomic(png, await renderPng(confusionChart(metrics.confusion, EMOTIONS, { title: `${name} of ${path.basename(path.resolve(dir))}` })));
      process.stdout.write(`confusion matrix: ${png}\n`);
    }
    if (skipped.length > 0) process.stdout.write(`${skipped.length} .wav files were not RAVDESS speech clips\n`);
    if (table.length > 1) {
      const clean = table.find((t) => t.condition === 'clean')?.metrics.uar;
      const rows = table.map((t) => `  ${t.condition.padEnd(10)} ${pct(t.metrics.accuracy)}   ${pct(t.metrics.uar)}  ${pct(t.metrics.macroF1)}` +
        `${clean === undefined || t.condition === 'clean' ? '' : `   ${((t.metrics.uar - clean) * 100).toFixed(1).padStart(6)}`}${t.failed ? `   ${t.failed} failed` : ''}`);
      process.stdout.write(`conditions (${which} split): accuracy, UAR, macro-F1${clean === undefined ? '' : ', UAR change from clean (points)'}\n${rows.join('\n')}\n`);
    }
    return anyFailed ? 1 : 0;
  } finally {
    await predictor.close();
  }
}
