import * as fs from 'node:fs';
import * as path from 'node:path';
import { FeatureCache } from '../data';
import { exportOnnx, SUPPORTED_OPSETS } from '../export';
import type { FeatureOptions, MelChunks } from '../features';
import { featureOptionsFromNative } from '../features/options';
import { inspectOnnx, readEmoMetadata } from '../infer/onnx-model';
import type { NativeConfig } from '../native';
import { loadModel, useBestBackend } from '../nn';
import { writeFileAtomic } from './files';
import { resolveTrainedModel, type TrainedModelFolder } from './run-dir';
import { parseCommandLine, UsageError } from './usage';
import { EmoError } from '../errors';
import type { ClassificationMetrics } from '../train';

export const EXPORT_USAGE = `Usage: emo export <run dir | model dir> [--out FILE] [--opset 17] [--crossval FILE]

Writes the trained network as one ONNX file (default <run dir>/model.onnx; a run
folder exports its best model): input 'mel' [batch, 7, 128, 128] (melChunks dB,
the training normalisation inside the graph), outputs 'probabilities' [batch, 8]
and 'attention' [batch, 7], metadata emo.labels/features/version/training.
Before writing, the graph is run in onnxruntime on the run's validation clips
(generated clips when the run's feature cache is not at hand) and compared with
TensorFlow.js; a largest difference above 1e-4 fails and writes nothing.

  --opset N        ONNX opset of the default domain, ${SUPPORTED_OPSETS[0]}-${SUPPORTED_OPSETS[SUPPORTED_OPSETS.length - 1]} (default 17)
  --crossval FILE  an emo crossval summary (crossval.json) of the model's recipe, recorded in
                   emo.training as crossValidation: folds, per-fold and mean +- sd scores`;

/** What `emo.training.crossValidation` records of a `crossval.json`. */
export function crossValidationSummary(file: string): Record<string, unknown> {
  let summary: Record<string, unknown>;
  try {
    summary = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new EmoError(`--crossval ${file}: not a readable crossval.json (${(error as Error).message})`, 'ERR_FILE_READ');
  }
  const folds = summary.folds as Array<{ plan: { fold: number; test: number[]; val: number[] }; bestEpoch: number; test: ClassificationMetrics }> | undefined;
  if (!Array.isArray(folds) || summary.uar === undefined) throw new EmoError(`--crossval ${file}: not an emo crossval summary (no folds or scores)`, 'ERR_FILE_READ');
  return {
    folds: folds.map((f) => ({ fold: f.plan.fold, test: f.plan.test, val: f.plan.val, bestEpoch: f.bestEpoch, accuracy: f.test.accuracy, uar: f.test.uar, macroF1: f.test.macroF1 })),
    accuracy: summary.accuracy,
    uar: summary.uar,
    macroF1: summary.macroF1,
    recipe: summary.recipe,
  };
}

// More validation clips than this add time, not confidence: 32 clips are 224 chunk images.
const MAX_VERIFY_CLIPS = 32;

/** What `emo.training` records: enough to know what the model saw and how well it did. */
export function trainingSummary(folder: TrainedModelFolder): Record<string, unknown> {
  const { run, metrics } = folder;
  if (run === null) return {};
  const score = (split: 'train' | 'val' | 'test') => {
    const m = metrics?.metrics[split];
    return m ? { clips: m.count, accuracy: m.accuracy, uar: m.uar, macroF1: m.macroF1 } : undefined;
  };
  return {
    corpus: path.basename(run.dir),
    split: run.split ? { train: run.split.train, val: run.split.val, test: run.split.test, leaksSpeakers: run.split.leaksSpeakers ?? false } : undefined,
    splitOptions: run.options.split ?? {},
    seed: run.options.seed,
    // Everything that made the run except where it came from and went to.
    recipe: Object.fromEntries(Object.entries(run.options).filter(([key, value]) => !['split', 'cache', 'resume'].includes(key) && value !== undefined)),
    epochs: metrics?.history.length,
    bestEpoch: metrics?.bestEpoch,
    scores: metrics ? { train: score('train'), val: score('val'), test: score('test') } : undefined,
    backend: run.backend,
  };
}

/** The run's validation clips from its feature cache, or null when the cache is gone or unreadable. */
function validationClips(folder: TrainedModelFolder): MelChunks[] | null {
  const file = folder.run?.options.cache;
  if (file === undefined || !fs.existsSync(file)) return null;
  let cache: FeatureCache | undefined;
  try {
    cache = FeatureCache.open(file);
    const shape = [...cache.header.shape] as [number, number, number];
    const chosen = cache
      .records()
      .map((r, index) => ({ ...r, index }))
      .filter((r) => r.entry.split === 'val' && r.variant === 'original')
      .slice(0, MAX_VERIFY_CLIPS);
    const open = cache;
    return chosen.length > 0 ? chosen.map((r) => ({ data: open.read(r.index), shape })) : null;
  } catch {
    return null;
  } finally {
    cache?.close();
  }
}

export async function runExport(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(
    argv,
    { out: { type: 'string' }, opset: { type: 'string' }, crossval: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } },
    EXPORT_USAGE,
  );
  if (values.help) {
    process.stdout.write(`${EXPORT_USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('emo export needs one run or model folder', EXPORT_USAGE);
  const opset = values.opset === undefined ? 17 : Number(values.opset);
  if (!(SUPPORTED_OPSETS as readonly number[]).includes(opset)) throw new UsageError(`--opset must be one of ${SUPPORTED_OPSETS.join(', ')}, not '${values.opset}'`, EXPORT_USAGE);

  const crossValidation = values.crossval === undefined ? undefined : crossValidationSummary(values.crossval);
  const folder = resolveTrainedModel(positionals[0] as string);
  const out = values.out ?? path.join(folder.runDir, 'model.onnx');
  const features: FeatureOptions | undefined = folder.run?.pipeline ? featureOptionsFromNative(folder.run.pipeline as unknown as NativeConfig) : undefined;
  const backend = await useBestBackend();
  const model = await loadModel(folder.modelDir);
  try {
    const clips = validationClips(folder);
    const bytes = await exportOnnx(model, folder.normalisation, {
      opset,
      features,
      training: crossValidation === undefined ? trainingSummary(folder) : { ...trainingSummary(folder), crossValidation },
      ...(clips ? { verifyClips: clips, verifySource: 'validation' } : {}),
    });
    writeFileAtomic(out, bytes);
    const info = inspectOnnx(bytes, out);
    const parity = readEmoMetadata(info, out).parity;
    process.stdout.write(
      `wrote ${out} (${(bytes.length / 1e6).toFixed(2)} MB): opset ${info.opset}, IR ${info.irVersion}, input mel [batch, ${readEmoMetadata(info).features.shape.join(', ')}]\n` +
        `parity with TensorFlow.js (${backend} backend) on ${parity?.clips} ${parity?.source} clips: largest difference ${parity?.probabilities.toExponential(2)} in probabilities, ${parity?.attention.toExponential(2)} in attention (limit 1e-4)\n`,
    );
    return 0;
  } finally {
    model.dispose();
  }
}
