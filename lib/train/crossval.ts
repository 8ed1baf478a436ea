/**
 * Speaker-independent cross-validation: K folds of whole actors, each fold a
 * self-contained unit of work (corpus, actors, recipe, seed → a run folder),
 * and a summary over the folds.
 * @packageDocumentation
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EMOTIONS, formatActors, indexRavdess } from '../data';
import { EmoError } from '../errors';
import { writeJsonAtomicSync } from '../atomic';
import { checkInteger, checkKnownKeys, checkPlainObject } from '../validate';
import { classificationMetrics, type ClassificationMetrics } from './metrics';
import { RECIPE_KEYS, trainModel, type TrainOptions, type TrainProgress, type TrainResult } from './trainer';

/** The actors of one fold. Test actors are the fold's own; validation actors come from its training side. */
export interface FoldPlan {
  /** 1-based fold number. */
  fold: number;
  test: number[];
  val: number[];
  train: number[];
}

/** What a fold is trained with: {@link TrainOptions} without what the fold itself decides. */
export type FoldRecipe = Omit<TrainOptions, 'out' | 'split' | 'cache' | 'resume' | 'onProgress'>;

/** One fold as a unit of work: everything needed to train and score it, and where its run goes. */
export interface FoldJob {
  /** The corpus folder (RAVDESS layout). */
  dir: string;
  plan: FoldPlan;
  recipe: FoldRecipe;
  /** The fold's run folder (`emo train` artefacts plus `fold.json`). */
  out: string;
  /** Continue from the fold's checkpoint when it has one; a finished fold is read back, not retrained. */
  resume?: boolean;
  /** Delete the fold's feature cache once the fold is finished (it is rebuilt if needed). Default true. */
  dropCache?: boolean;
  /**
   * `false`: train and score the validation actors only, leaving the test actors unscored (for
   * choosing a recipe); a later job with the default scores the finished fold without retraining.
   * Default true.
   */
  scoreTest?: boolean;
  onProgress?: (event: TrainProgress) => void;
}

/** The scores of one finished fold (`fold.json` in its run folder). */
export interface FoldResult {
  plan: FoldPlan;
  bestEpoch: number;
  epochs: number;
  /** Scores of the best epoch's model on the fold's test actors (original clips); absent while they are held back (`scoreTest: false`). */
  test?: ClassificationMetrics;
  /** ... and on its validation actors. */
  val: ClassificationMetrics;
  seconds: number;
  /** True when the fold was finished by an earlier run and read back. */
  reused: boolean;
}

/** Mean and sample standard deviation (n - 1) over the folds. */
export interface MeanSd {
  mean: number;
  sd: number;
}

/** Result of {@link crossValidate} (also `crossval.json` in its output folder). */
export interface CrossValidationSummary {
  dir: string;
  folds: FoldResult[];
  recipe: FoldRecipe;
  /** Accuracy (weighted accuracy, WA), UAR (unweighted accuracy, UA) and macro-F1 of the test folds. */
  accuracy: MeanSd;
  uar: MeanSd;
  macroF1: MeanSd;
  /** The test folds' confusion matrices added up: confusion[true][predicted]. */
  confusion: number[][];
  /** Metrics of all test predictions pooled (per-class precision and recall, overall scores). */
  pooled: ClassificationMetrics;
  labels: readonly string[];
  seconds: number;
  /**
   * False when only some folds ran (`only`) or their test actors were held back
   * (`validationOnly`): the scores above then cover the folds with test scores, and are NaN
   * when there are none.
   */
  complete: boolean;
}

/**
 * Progress of {@link crossValidate}: a fold starts, a training event within it, a fold ends.
 * `folds` is the number of folds in the plan, `runs` how many of them this call runs (fewer with `only`).
 */
export type CrossValidationProgress =
  | { kind: 'fold-start'; plan: FoldPlan; folds: number; runs: number; resumed: boolean }
  | { kind: 'train'; plan: FoldPlan; folds: number; runs: number; event: TrainProgress }
  | { kind: 'fold-end'; result: FoldResult; folds: number; runs: number; done: number };

/** Options of {@link crossValidate}: the recipe, plus the folds and where they go. */
export interface CrossValidationOptions extends FoldRecipe {
  /** Output folder: `fold-1` … `fold-K`, `crossval.json`. */
  out: string;
  /** Number of folds, at least 2. Default 6 (four actors each on RAVDESS). */
  folds?: number;
  /** Validation actors per fold, taken from the fold's training actors. Default 2. */
  valActors?: number;
  /** Skip finished folds and continue interrupted ones from their checkpoints. */
  resume?: boolean;
  /** Keep each fold's feature cache (about 1 GB each on RAVDESS). Default false. */
  keepCaches?: boolean;
  /**
   * Run only these folds (1-based): the others are neither trained nor summarised, and no
   * `crossval.json` is written. A later run of every fold with `resume` reuses them. Default: all.
   */
  only?: number[];
  /**
   * Hold the test actors back: the folds are trained and scored on their validation actors only,
   * for choosing a recipe inside the training folds (see {@link FoldJob.scoreTest}). Default false.
   */
  validationOnly?: boolean;
  onProgress?: (event: CrossValidationProgress) => void;
  /**
   * What trains a fold: {@link trainFold} here (the default), or another runner of the same unit
   * of work — `emo crossval --redis` hands each fold to the queue's workers.
   */
  runFold?: (job: FoldJob) => Promise<FoldResult>;
  /** Folds trained at once (default 1; more only makes sense when `runFold` sends them elsewhere). */
  parallel?: number;
}

/**
 * The fixed folds of whole actors: the actors, sorted, cut into `folds`
 * consecutive groups (as equal as they divide; on RAVDESS's 24 actors, six
 * groups of four: 1–4, 5–8, …, 21–24, two men and two women each, as odd
 * actors are male). Fold i tests on group i; its validation actors are the
 * last `valActors` of the group before it (of the last group for fold 1:
 * 23–24 on RAVDESS, one man and one woman; fold 6 gets 19–20, the default
 * split's), and it trains on every other actor.
 *
 * @throws RangeError when the actors cannot make that many folds with a
 *   training side left.
 */
export function planFolds(actors: readonly number[], folds = 6, valActors = 2): FoldPlan[] {
  if (!Array.isArray(actors)) throw new TypeError('Expected an array of actor numbers for actors');
  const sorted = [...new Set(actors.map((a, i) => checkInteger(`actors[${i}]`, a, 1, 999)))].sort((a, b) => a - b);
  const k = checkInteger('folds', folds, 2, 999);
  const v = checkInteger('valActors', valActors, 1, 999);
  if (sorted.length < k) throw new RangeError(`${k} folds need at least ${k} actors; there are ${sorted.length}`);
  const groups = Array.from({ length: k }, (_, f) => sorted.slice(Math.floor((f * sorted.length) / k), Math.floor(((f + 1) * sorted.length) / k)));
  return groups.map((test, f) => {
    const before = groups[(f + k - 1) % k] as number[];
    const val = before.slice(Math.max(0, before.length - v));
    const train = sorted.filter((a) => !test.includes(a) && !val.includes(a));
    if (train.length === 0) throw new RangeError(`fold ${f + 1} has no training actors left: use fewer folds or fewer validation actors`);
    return { fold: f + 1, test, val, train };
  });
}

interface FoldRecord extends Omit<FoldResult, 'reused'> {
  /** What the fold was trained with: a resumed cross-validation must agree. */
  recipe: FoldRecipe;
  dir: string;
}

/**
 * The fold of `job` as an earlier run finished it (its `fold.json`), or null when it is not
 * finished or must be trained further (its test actors held back and now wanted scored).
 *
 * @throws {@link EmoError} `ERR_RESUME_MISMATCH` when `job.out` holds the fold made otherwise.
 */
export function readFinishedFold(job: FoldJob): FoldResult | null {
  const done = finishedFold(job);
  if (done === null || (done.test === undefined && job.scoreTest !== false)) return null;
  return { ...foldResult(done), reused: true };
}

/** A finished fold's record, if `out` holds one made with this plan and recipe. */
function finishedFold(job: FoldJob): FoldRecord | null {
  const file = path.join(job.out, 'fold.json');
  if (!fs.existsSync(file)) return null;
  // JSON has no NaN (a metric of a class never predicted, or absent): it comes back as null.
  const metricKeys = new Set(['accuracy', 'uar', 'macroF1', 'precision', 'recall', 'f1']);
  const record = JSON.parse(fs.readFileSync(file, 'utf8'), (key, value: unknown) => (value === null && metricKeys.has(key) ? NaN : value)) as FoldRecord;
  const same = JSON.stringify(record.plan) === JSON.stringify(job.plan) && JSON.stringify(record.recipe) === JSON.stringify(job.recipe);
  if (!same) {
    throw new EmoError(`cannot resume: ${job.out} holds fold ${record.plan.fold} trained with other actors or options (start without --resume, or use another --out)`, 'ERR_RESUME_MISMATCH');
  }
  return record;
}

/**
 * Trains and scores one fold: {@link trainModel} on the fold's actors
 * (explicit train, validation and test lists), written to `job.out` with a
 * `fold.json` of its scores last. With `resume`, a finished fold is read back
 * and an interrupted one continues from its checkpoint. The unit of work a
 * cross-validation is made of, locally or on a queue.
 */
export async function trainFold(job: FoldJob): Promise<FoldResult> {
  const started = process.hrtime.bigint();
  const scoreTest = job.scoreTest !== false;
  if (job.resume) {
    // A fold trained with its test actors held back and now wanted scored goes on below: its
    // checkpoint is the last epoch, so trainModel only scores it.
    const done = readFinishedFold(job);
    if (done !== null) return done;
  }
  const cache = path.join(job.out, 'features.cache');
  const hasCheckpoint = fs.existsSync(path.join(job.out, 'checkpoint', 'state.json')) || fs.existsSync(path.join(job.out, 'checkpoint.old', 'state.json'));
  fs.rmSync(path.join(job.out, 'fold.json'), { force: true });
  const result: TrainResult = await trainModel(job.dir, {
    ...job.recipe,
    out: job.out,
    split: { testActors: job.plan.test, valActors: job.plan.val, trainActors: job.plan.train },
    cache,
    resume: Boolean(job.resume) && hasCheckpoint,
    scoreTest,
    ...(job.onProgress ? { onProgress: job.onProgress } : {}),
  });
  const record: FoldRecord = {
    plan: job.plan,
    recipe: job.recipe,
    dir: path.resolve(job.dir),
    bestEpoch: result.bestEpoch,
    epochs: result.history.length,
    test: result.metrics.test,
    val: result.metrics.val,
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
  };
  writeJsonAtomicSync(path.join(job.out, 'fold.json'), record);
  if (job.dropCache !== false) fs.rmSync(cache, { force: true });
  return { ...foldResult(record), reused: false };
}

function foldResult(r: FoldRecord): Omit<FoldResult, 'reused'> {
  const { plan, bestEpoch, epochs, test, val, seconds } = r;
  return test === undefined ? { plan, bestEpoch, epochs, val, seconds } : { plan, bestEpoch, epochs, test, val, seconds };
}

function meanSd(values: number[]): MeanSd {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const sd = values.length > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1)) : NaN;
  return { mean, sd };
}

/**
 * Summarises finished folds: mean ± sample sd of accuracy, UAR and macro-F1
 * over the test folds, the summed confusion matrix and pooled per-class metrics.
 */
export function summariseFolds(folds: FoldResult[], labels: readonly string[] = EMOTIONS): Pick<CrossValidationSummary, 'accuracy' | 'uar' | 'macroF1' | 'confusion' | 'pooled'> {
  if (folds.length === 0) throw new RangeError('no folds to summarise');
  const unscored = folds.find((f) => f.test === undefined);
  if (unscored !== undefined) throw new RangeError(`fold ${unscored.plan.fold} has no test scores (its test actors were held back)`);
  const tests = folds.map((f) => f.test as ClassificationMetrics);
  const k = labels.length;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const truth: number[] = [];
  const predicted: number[] = [];
  for (const test of tests) {
    test.confusion.forEach((row, t) =>
      row.forEach((count, p) => {
        (confusion[t] as number[])[p] = ((confusion[t] as number[])[p] as number) + count;
        for (let i = 0; i < count; i++) {
          truth.push(t);
          predicted.push(p);
        }
      }),
    );
  }
  return {
    accuracy: meanSd(tests.map((t) => t.accuracy)),
    uar: meanSd(tests.map((t) => t.uar)),
    macroF1: meanSd(tests.map((t) => t.macroF1)),
    confusion,
    pooled: classificationMetrics(truth, predicted, labels),
  };
}

const CROSSVAL_KEYS = ['out', 'folds', 'valActors', 'resume', 'keepCaches', 'only', 'validationOnly', 'onProgress', 'runFold', 'parallel', ...RECIPE_KEYS];

/**
 * Speaker-independent K-fold cross-validation of a training recipe on a
 * RAVDESS-style folder ({@link planFolds}): every fold is trained with the same
 * recipe and seed by {@link trainFold} into `<out>/fold-<i>`, its epoch chosen
 * on its validation actors, and scored once on its test actors. Writes
 * `<out>/crossval.json` (the {@link CrossValidationSummary}) at the end.
 *
 * @throws {@link EmoError} `ERR_DATASET_NOT_FOUND` / `ERR_DATASET_EMPTY` for an
 *   unusable folder, `ERR_RESUME_MISMATCH` when `resume` meets folds made otherwise.
 */
export async function crossValidate(dir: string, options: CrossValidationOptions): Promise<CrossValidationSummary> {
  const o = checkPlainObject('options', options);
  checkKnownKeys('options', o, CROSSVAL_KEYS);
  if (typeof o.out !== 'string' || o.out === '') throw new TypeError('Expected a folder path for options.out');
  const { out, folds, valActors, resume, keepCaches, only, validationOnly, onProgress, runFold = trainFold, parallel, ...recipe } = options;
  if (typeof runFold !== 'function') throw new TypeError('Expected a function for options.runFold');
  const lanes = parallel === undefined ? 1 : checkInteger('options.parallel', parallel, 1, 999);
  if (validationOnly !== undefined && typeof validationOnly !== 'boolean') throw new TypeError(`Expected a boolean for options.validationOnly but received ${String(validationOnly)}`);
  if (only !== undefined && (!Array.isArray(only) || only.length === 0)) throw new TypeError('Expected a non-empty array of fold numbers for options.only');
  const started = process.hrtime.bigint();
  const { entries } = indexRavdess(dir);
  if (entries.length === 0) throw new EmoError(`no RAVDESS speech clips in ${dir}`, 'ERR_DATASET_EMPTY');
  const allPlans = planFolds([...new Set(entries.map((e) => e.actor))], folds ?? 6, valActors ?? 2);
  only?.forEach((f, i) => checkInteger(`options.only[${i}]`, f, 1, allPlans.length));
  const plans = only === undefined ? allPlans : allPlans.filter((p) => only.includes(p.fold));
  fs.mkdirSync(out, { recursive: true });
  fs.rmSync(path.join(out, 'crossval.json'), { force: true });
  const byFold = new Map<number, FoldResult>();
  let next = 0;
  // `lanes` folds at a time; the results in fold order whatever order they finish in.
  const lane = async () => {
    while (next < plans.length) {
      const plan = plans[next++] as FoldPlan;
      const job: FoldJob = { dir, plan, recipe, out: path.join(out, `fold-${plan.fold}`), resume: Boolean(resume), dropCache: !keepCaches, scoreTest: validationOnly !== true };
      const counts = { folds: allPlans.length, runs: plans.length };
      onProgress?.({ kind: 'fold-start', plan, ...counts, resumed: Boolean(resume) && fs.existsSync(job.out) });
      job.onProgress = (event) => onProgress?.({ kind: 'train', plan, ...counts, event });
      const result = await runFold(job);
      byFold.set(plan.fold, result);
      onProgress?.({ kind: 'fold-end', result, ...counts, done: byFold.size });
    }
  };
  await Promise.all(Array.from({ length: Math.min(lanes, plans.length) }, lane));
  const results = plans.map((p) => byFold.get(p.fold) as FoldResult);
  const scored = results.filter((r) => r.test !== undefined);
  const unscored: ReturnType<typeof summariseFolds> = {
    accuracy: { mean: NaN, sd: NaN },
    uar: { mean: NaN, sd: NaN },
    macroF1: { mean: NaN, sd: NaN },
    confusion: EMOTIONS.map(() => new Array<number>(EMOTIONS.length).fill(0)),
    pooled: classificationMetrics([], [], EMOTIONS),
  };
  const complete = plans.length === allPlans.length && scored.length === results.length;
  const summary: CrossValidationSummary = {
    dir: path.resolve(dir),
    folds: results,
    recipe,
    ...(scored.length > 0 ? summariseFolds(scored) : unscored),
    labels: EMOTIONS,
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
    complete,
  };
  if (!complete) return summary;
  writeJsonAtomicSync(path.join(out, 'crossval.json'), {
    ...summary,
    foldActors: results.map((r) => ({ fold: r.plan.fold, test: formatActors(r.plan.test), val: formatActors(r.plan.val), train: formatActors(r.plan.train) })),
    note: 'sd is the sample standard deviation over folds (n - 1); accuracy is WA, uar is UA',
  });
  return summary;
}
