import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SplitOptions } from '../data';
import { EmoError } from '../errors';
import type { ClassificationMetrics, Normalisation } from '../train';

/** The parts of `run.json` the CLI reads back. */
export interface RunRecord {
  dir: string;
  /** The training options (the recipe, the split, the cache, resume). */
  options: { split?: SplitOptions; cache?: string; seed?: number; epochs?: number; mixup?: number; warp?: unknown; masking?: unknown; resume?: boolean } & Record<string, unknown>;
  pipeline?: Record<string, number | null>;
  split?: { train: number[]; val: number[]; test: number[]; leaksSpeakers?: boolean };
  backend?: string;
}

/** The parts of `metrics.json` the CLI reads back. */
export interface MetricsRecord {
  bestEpoch: number;
  history: unknown[];
  metrics: { train: ClassificationMetrics; val: ClassificationMetrics; test?: ClassificationMetrics };
}

/** A trained model on disk: a run folder (`emo train --out`) or a bare tfjs model folder. */
export interface TrainedModelFolder {
  /** The run folder, or the model folder itself when it is not inside a run. */
  runDir: string;
  /** The tfjs model folder (`model.json` + `weights.bin`): a run's `best/`, or the folder given. */
  modelDir: string;
  normalisation: Normalisation;
  /** `run.json`, when the model belongs to a run. */
  run: RunRecord | null;
  /** `metrics.json`, when the run finished. */
  metrics: MetricsRecord | null;
}

function readJson<T>(file: string): T | null {
  if (!fs.existsSync(file)) return null;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch (error) {
    throw new EmoError(`${file}: not valid JSON (${(error as Error).message})`, 'ERR_FILE_READ');
  }
}

/**
 * Finds the model, its normalisation and its run records from what a user names on the command
 * line: a run folder (its best model), or a tfjs model folder (the normalisation beside it or in
 * the run folder above it).
 *
 * @throws {@link EmoError} `ERR_FILE_READ` when there is no model or no `normalization.json`.
 */
export function resolveTrainedModel(given: string): TrainedModelFolder {
  let modelDir: string;
  let runDir: string;
  if (fs.existsSync(path.join(given, 'best', 'model.json'))) {
    runDir = given;
    modelDir = path.join(given, 'best');
  } else if (fs.existsSync(path.join(given, 'model.json'))) {
    modelDir = given;
    const parent = path.dirname(path.resolve(given));
    runDir = fs.existsSync(path.join(given, 'normalization.json')) || !fs.existsSync(path.join(parent, 'normalization.json')) ? given : parent;
  } else {
    throw new EmoError(`${given}: neither a run folder (best/model.json) nor a model folder (model.json)`, 'ERR_FILE_READ');
  }
  const normFile = [path.join(modelDir, 'normalization.json'), path.join(runDir, 'normalization.json')].find((f) => fs.existsSync(f));
  if (normFile === undefined) throw new EmoError(`no normalization.json beside the model in ${modelDir} or in ${runDir}`, 'ERR_FILE_READ');
  const normalisation = readJson<Normalisation>(normFile) as Normalisation;
  const { mean, std, centre, adapt } = normalisation;
  return {
    runDir,
    modelDir,
    normalisation: { mean, std, ...(centre === undefined ? {} : { centre }), ...(adapt === undefined ? {} : { adapt }) },
    run: readJson<RunRecord>(path.join(runDir, 'run.json')),
    metrics: readJson<MetricsRecord>(path.join(runDir, 'metrics.json')),
  };
}
