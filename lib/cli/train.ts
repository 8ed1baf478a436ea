import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { EMOTIONS, indexRavdess, splitByActor, type SplitOptions } from '../data';
import { EmoError } from '../errors';
import { melChunksBatch } from '../features';
import { loadModel, useBestBackend } from '../nn';
import { renderConfusionPng, renderCurvesPng } from '../plot';
import { classificationMetrics, normaliseChunks, trainModel, type ClassificationMetrics, type Normalisation } from '../train';
import { writeFileAtomic } from './files';
import { formatDuration, ProgressBar } from './progress';
import { parseSplitSpec, SPLIT_SPEC_HELP } from './split-spec';
import { parseCommandLine, UsageError } from './usage';

export const TRAIN_USAGE = `Usage: emo train <dataset dir> [--out DIR] [--epochs N] [--batch 32] [--lr 0.001] [--seed 1]
                 [--split SPEC] [--patience 6] [--lr-patience 2] [--no-masking] [--no-warp]
                 [--mixup 0.4] [--cache FILE] [--resume]

Trains the CNN-BiLSTM-attention network on a RAVDESS-style folder, split by actor,
with augmentation on the training split only; keeps the epoch with the best
validation macro-F1 and stops after --patience epochs without a better one; halves
the learning rate after --lr-patience such epochs. Training batches get a
vocal tract length perturbation (--no-warp: none), SpecAugment-style frequency
and time masks (--no-masking: none) and mixup with Beta(alpha, alpha) weights
(--mixup 0: none). Writes to --out (default runs/<folder name>): best/ and last/
(tfjs models), metrics.json, run.json, normalization.json, confusion.png, curves.png,
checkpoint/ (after every epoch; --resume continues from it).

  --split SPEC   ${SPLIT_SPEC_HELP}`;

export const EVALUATE_USAGE = `Usage: emo evaluate <run dir | model dir> <dataset dir> [--split test|val|train|all]

Prints accuracy, unweighted average recall, macro-F1, per-class precision/recall and
the confusion matrix of a trained model on a RAVDESS-style folder, using the split the
run was trained with (--split all: every clip), and writes confusion-<split>.png.`;

function pct(x: number): string {
  return Number.isNaN(x) ? '   -  ' : `${(100 * x).toFixed(1).padStart(5)}%`;
}

function printMetrics(name: string, m: ClassificationMetrics): void {
  const lines = [`${name}: ${m.count} clips  accuracy ${pct(m.accuracy)}  UAR ${pct(m.uar)}  macro-F1 ${pct(m.macroF1)}`];
  lines.push(`  ${'class'.padEnd(10)} precision  recall  support`);
  for (const c of m.perClass) lines.push(`  ${c.label.padEnd(10)} ${pct(c.precision)}    ${pct(c.recall)}  ${String(c.support).padStart(6)}`);
  lines.push(`  confusion (rows true, columns predicted): ${EMOTIONS.map((e) => e.slice(0, 3)).join(' ')}`);
  m.confusion.forEach((row, i) => lines.push(`    ${(EMOTIONS[i] as string).padEnd(10)} ${row.map((v) => String(v).padStart(3)).join(' ')}`));
  if (m.missingClasses.length > 0) lines.push(`  no examples of: ${m.missingClasses.join(', ')} (left out of UAR)`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

export async function runTrain(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(
    argv,
    {
      out: { type: 'string' },
      epochs: { type: 'string' },
      batch: { type: 'string' },
      lr: { type: 'string' },
      seed: { type: 'string' },
      split: { type: 'string' },
      patience: { type: 'string' },
      'lr-patience': { type: 'string' },
      'no-masking': { type: 'boolean', default: false },
      'no-warp': { type: 'boolean', default: false },
      mixup: { type: 'string' },
      cache: { type: 'string' },
      resume: { type: 'boolean', default: false },
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
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  const out = values.out ?? path.join('runs', path.basename(path.resolve(dir)));
  let bar: ProgressBar | undefined;
  let cacheBar: ProgressBar | undefined;
  let cacheDone = 0;
  const result = await trainModel(dir, {
    out,
    epochs: num(values.epochs),
    batch: num(values.batch),
    learningRate: num(values.lr),
    seed: num(values.seed),
    patience: num(values.patience),
    lrPatience: num(values['lr-patience']),
    masking: values['no-masking'] ? false : undefined,
    warp: values['no-warp'] ? false : undefined,
    mixup: num(values.mixup),
    split: parseSplitSpec(values.split, TRAIN_USAGE),
    cache: values.cache,
    resume: values.resume,
    onProgress: (event) => {
      if (event.kind === 'cache') {
        cacheBar ??= new ProgressBar(event.total, 'features', { unit: 'clips' });
        cacheBar.tick(event.done - cacheDone);
        cacheDone = event.done;
        if (event.done === event.total) cacheBar.finish();
      } else if (event.kind === 'batch') {
        if (event.batch === 1) bar = new ProgressBar(event.batches, `epoch ${event.epoch}`, { unit: 'batches' });
        bar?.tick();
        bar?.setSuffix(`loss ${event.loss.toFixed(3)} ${event.samplesPerSecond.toFixed(1)} samples/s`);
      } else {
        bar?.finish();
        const r = event.record;
        process.stdout.write(
          `epoch ${String(r.epoch).padStart(3)}  loss ${r.trainLoss.toFixed(3)}  acc ${pct(r.trainAccuracy)}  ` +
            `val loss ${r.valLoss.toFixed(3)}  val acc ${pct(r.valAccuracy)}  val macro-F1 ${pct(r.valMacroF1)}  lr ${r.learningRate.toPrecision(2)}  ` +
            `${formatDuration(r.seconds)} ${r.samplesPerSecond.toFixed(1)} samples/s${event.best ? '  best' : ''}\n`,
        );
      }
    },
  });
  writeFileAtomic(path.join(out, 'confusion.png'), renderConfusionPng(result.metrics.test.confusion, EMOTIONS, { title: `test split, best epoch ${result.bestEpoch}` }));
  writeFileAtomic(path.join(out, 'curves.png'), renderCurvesPng(result.history, { title: path.basename(path.resolve(dir)), bestEpoch: result.bestEpoch }));
  for (const split of ['train', 'val', 'test'] as const) printMetrics(split, result.metrics[split]);
  process.stdout.write(`best epoch ${result.bestEpoch}; ${result.failedFiles} files failed; backend ${result.backend}; ${formatDuration(result.seconds)}; artefacts in ${out}\n`);
  return 0;
}

export async function runEvaluate(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, { split: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } }, EVALUATE_USAGE);
  if (values.help) {
    process.stdout.write(`${EVALUATE_USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 2) throw new UsageError('emo evaluate needs a run (or model) folder and a dataset folder', EVALUATE_USAGE);
  const [runOrModel, dir] = positionals as [string, string];
  const which = values.split ?? 'test';
  if (!['test', 'val', 'train', 'all'].includes(which)) throw new UsageError(`--split must be test, val, train or all, not '${which}'`, EVALUATE_USAGE);
  const runDir = fs.existsSync(path.join(runOrModel, 'best', 'model.json')) ? runOrModel : path.dirname(path.resolve(runOrModel));
  const modelDir = fs.existsSync(path.join(runOrModel, 'model.json')) ? runOrModel : path.join(runOrModel, 'best');
  const normFile = path.join(runDir, 'normalization.json');
  if (!fs.existsSync(normFile)) throw new EmoError(`no normalization.json beside the model in ${runDir}`, 'ERR_DATASET_NOT_FOUND');
  const norm = JSON.parse(fs.readFileSync(normFile, 'utf8')) as Normalisation;
  const runFile = path.join(runDir, 'run.json');
  const splitOptions: SplitOptions = fs.existsSync(runFile) ? ((JSON.parse(fs.readFileSync(runFile, 'utf8')) as { options: { split: SplitOptions } }).options.split ?? {}) : {};

  await useBestBackend();
  const { entries, skipped } = indexRavdess(dir);
  const chosen = which === 'all' ? entries : splitByActor(entries, splitOptions)[which as 'test' | 'val' | 'train'];
  if (chosen.length === 0) throw new EmoError(`no clips of the ${which} split in ${dir}`, 'ERR_DATASET_EMPTY');
  const model = await loadModel(modelDir);
  const truth: number[] = [];
  const predicted: number[] = [];
  let failed = 0;
  const bar = new ProgressBar(chosen.length, 'evaluate', { unit: 'clips' });
  for (let i = 0; i < chosen.length; i += 64) {
    const group = chosen.slice(i, i + 64);
    const inputs = group.map((e) => fs.readFileSync(e.path));
    const results = await melChunksBatch(inputs, { errors: 'return' });
    results.forEach((r, j) => {
      const entry = group[j] as (typeof group)[number];
      bar.tick();
      if (r instanceof EmoError) {
        failed++;
        bar.log(`error: ${entry.path}: ${r.message} (${r.code})`);
        return;
      }
      const [chunks, mels, frames] = r.shape;
      normaliseChunks(r.data, r.shape, norm);
      const probs = tf.tidy(() => (model.predict(tf.tensor(r.data, [1, chunks, mels, frames, 1])) as tf.Tensor).dataSync());
      let best = 0;
      for (let k = 1; k < probs.length; k++) if ((probs[k] as number) > (probs[best] as number)) best = k;
      truth.push(entry.emotionId);
      predicted.push(best);
    });
  }
  bar.finish();
  const metrics = classificationMetrics(truth, predicted, EMOTIONS);
  printMetrics(which, metrics);
  if (failed > 0 || skipped.length > 0) process.stdout.write(`${failed} clips failed; ${skipped.length} .wav files were not RAVDESS speech clips\n`);
  const png = path.join(runDir, `confusion-${which}.png`);
  writeFileAtomic(png, renderConfusionPng(metrics.confusion, EMOTIONS, { title: `${which} split of ${path.basename(path.resolve(dir))}` }));
  process.stdout.write(`confusion matrix: ${png}\n`);
  model.dispose();
  return failed > 0 ? 1 : 0;
}
