import * as fs from 'node:fs';
import * as path from 'node:path';
import { EMOTIONS, formatActors } from '../data';
import { confusionChart, curvesChart, renderPng } from '../plot/charts';
import { crossValidate, type CrossValidationSummary, type EpochRecord, type FoldResult } from '../train';
import { writeFileAtomic } from './files';
import { formatDuration } from './progress';
import { pct, RECIPE_FLAGS, recipeFromFlags, trainProgressPrinter } from './train';
import { numberFlag, parseCommandLine, UsageError } from './usage';

export const CROSSVAL_USAGE = `Usage: emo crossval <dataset dir> [--folds 6] [--val-actors 2] [--out DIR] [--resume] [--keep-caches]
                    [--epochs N] [--batch 32] [--lr 0.001] [--seed 1] [--patience 6] [--lr-patience 2]
                    [--lr-schedule plateau|cosine]
                    [--optimizer adam|sgd] [--momentum 0.8] [--weight-decay 0]
                    [--no-masking] [--no-warp] [--mixup 0.4] [--balance-classes] [--init-from RUN]
                    [--centre none|utterance] [--adapt none|speaker] [--recording-chain] [--variants LIST]
                    [--network reference|statistics]
                    [--only LIST] [--validation-only] [--redis URL [--queue emo-train] [--redis-wait 60]]

Speaker-independent cross-validation of a training recipe on a RAVDESS-style folder.
The actors, sorted, are cut into --folds consecutive groups (RAVDESS: 1-4, 5-8, ...,
21-24, two men and two women each). Fold i tests on group i; the epoch is chosen on
--val-actors actors from its training side (the last ones of the group before: 23-24
for fold 1, 19-20 for fold 6), never on its test actors; it trains on every other actor.
Each fold is an 'emo train' run (same recipe flags and defaults) in <out>/fold-<i>,
scored once on its test actors. Prints and writes (<out>/crossval.json) accuracy (WA),
UAR (UA) and macro-F1 as mean +- sd over folds, per-fold scores, per-class recall and
the summed confusion matrix (<out>/confusion.png); each fold folder gets its own
confusion.png and curves.png. --resume skips finished folds and
continues an interrupted one from its last epoch. Default --out: runs/<folder>-crossval.
Each fold's feature cache is deleted when the fold ends (--keep-caches keeps them).

--only 6 (or 1,6) trains only those folds; --validation-only holds their test actors
back, scoring the validation actors alone: the way to choose a recipe inside the
training folds. A later run of every fold with --resume reuses them, scoring a held-back
fold's test actors without training it again.

--redis URL trains the folds on 'emo worker --queue emo-train' machines, all at once,
each fold a job: the corpus must be at the same path on every machine (a shared
mount); each fold's run folder comes back into --out, its epochs print here as they
finish, and the summary is a local run's. A fold whose worker dies is retried by
another, from its last epoch when the workers' --work-dir is shared.`;

function foldLine(r: FoldResult): string {
  const p = r.plan;
  const scores = r.test === undefined
    ? `validation: accuracy ${pct(r.val.accuracy)}  UAR ${pct(r.val.uar)}  macro-F1 ${pct(r.val.macroF1)}  (test actors held back)`
    : `accuracy ${pct(r.test.accuracy)}  UAR ${pct(r.test.uar)}  macro-F1 ${pct(r.test.macroF1)}`;
  return `fold ${p.fold}  test ${formatActors(p.test).padEnd(7)} val ${formatActors(p.val).padEnd(6)} best epoch ${String(r.bestEpoch).padStart(3)}/${r.epochs}` +
    `  ${scores}${r.reused ? '  (finished earlier)' : ''}`;
}

function printSummary(s: CrossValidationSummary): void {
  const ms = (m: { mean: number; sd: number }) => `${(100 * m.mean).toFixed(1)} ± ${(100 * m.sd).toFixed(1)} %`;
  const lines = [`${s.folds.length}-fold speaker-independent cross-validation of ${s.dir}`];
  for (const r of s.folds) lines.push(`  ${foldLine(r)}`);
  lines.push(`accuracy (WA) ${ms(s.accuracy)}   UAR (UA) ${ms(s.uar)}   macro-F1 ${ms(s.macroF1)}   (mean ± sd over folds)`);
  lines.push(`per-class recall, all test folds pooled:`);
  for (const c of s.pooled.perClass) lines.push(`  ${c.label.padEnd(10)} ${pct(c.recall)}  of ${c.support}`);
  lines.push(`  confusion (rows true, columns predicted): ${EMOTIONS.map((e) => e.slice(0, 3)).join(' ')}`);
  s.confusion.forEach((row, i) => lines.push(`    ${(EMOTIONS[i] as string).padEnd(10)} ${row.map((v) => String(v).padStart(3)).join(' ')}`));
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** A finished fold's pictures, as emo train draws them: its test confusion matrix and its curves (kept when already there). */
async function foldPictures(dir: string, result: FoldResult): Promise<void> {
  const confusion = path.join(dir, 'confusion.png');
  const curves = path.join(dir, 'curves.png');
  const scored = result.test !== undefined;
  if (result.reused && fs.existsSync(curves) && (!scored || fs.existsSync(confusion))) return;
  const { history } = JSON.parse(fs.readFileSync(path.join(dir, 'metrics.json'), 'utf8')) as { history: EpochRecord[] };
  writeFileAtomic(curves, await renderPng(curvesChart(history, { title: `fold ${result.plan.fold}`, bestEpoch: result.bestEpoch })));
  if (result.test === undefined) return;
  writeFileAtomic(confusion, await renderPng(confusionChart(result.test.confusion, EMOTIONS, { title: `fold ${result.plan.fold}, test actors ${formatActors(result.plan.test)}` })));
}

export async function runCrossval(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(
    argv,
    {
      ...RECIPE_FLAGS,
      folds: { type: 'string' },
      'val-actors': { type: 'string' },
      out: { type: 'string' },
      resume: { type: 'boolean', default: false },
      'keep-caches': { type: 'boolean', default: false },
      only: { type: 'string' },
      'validation-only': { type: 'boolean', default: false },
      redis: { type: 'string' },
      queue: { type: 'string' },
      'redis-wait': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    CROSSVAL_USAGE,
  );
  if (values.help) {
    process.stdout.write(`${CROSSVAL_USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('emo crossval needs one dataset folder', CROSSVAL_USAGE);
  const dir = positionals[0] as string;
  const recipe = recipeFromFlags(values, CROSSVAL_USAGE);
  const folds = numberFlag('folds', values.folds, CROSSVAL_USAGE, { integer: true, min: 2, max: 999 }) ?? 6;
  const valActors = numberFlag('val-actors', values['val-actors'], CROSSVAL_USAGE, { integer: true, min: 1, max: 999 }) ?? 2;
  const out = values.out ?? path.join('runs', `${path.basename(path.resolve(dir))}-crossval`);
  const only = values.only === undefined ? undefined : values.only.split(',').map((f) => {
    const n = numberFlag('only', f.trim(), CROSSVAL_USAGE, { integer: true, min: 1, max: folds });
    if (n === undefined) throw new UsageError(`--only takes fold numbers like 6 or 1,6, not '${values.only}'`, CROSSVAL_USAGE);
    return n;
  });
  const redis = values.redis;
  if (redis === undefined) {
    for (const flag of ['queue', 'redis-wait'] as const) if (values[flag] !== undefined) throw new UsageError(`--${flag} goes with --redis URL`, CROSSVAL_USAGE);
  } else if (!/^rediss?:\/\/./.test(redis)) throw new UsageError(`--redis must be a URL like redis://host:6379, not '${redis}'`, CROSSVAL_USAGE);
  const redisWait = numberFlag('redis-wait', values['redis-wait'], CROSSVAL_USAGE, { min: 1, max: 86400 });
  const producer = redis === undefined ? null : await (await import('../queue/folds')).FoldProducer.connect(redis, { ...(values.queue === undefined ? {} : { queue: values.queue }), ...(redisWait === undefined ? {} : { redisWaitSeconds: redisWait }) });
  // One printer per fold: with --redis the folds train at once, and only their epochs are printed.
  const printers = new Map<number, ReturnType<typeof trainProgressPrinter>>();
  // Each finished fold's pictures, drawn while the next folds train.
  const pictures: Array<Promise<void>> = [];
  const started = Date.now();
  try {
    const summary = await crossValidate(dir, {
      ...recipe,
      out,
      folds,
      valActors,
      resume: values.resume,
      keepCaches: values['keep-caches'],
      ...(only === undefined ? {} : { only }),
      validationOnly: values['validation-only'],
      ...(producer === null ? {} : { runFold: producer.runFold, parallel: folds }),
      onProgress: (event) => {
        if (event.kind === 'fold-start') {
          const p = event.plan;
          printers.set(p.fold, trainProgressPrinter(`[fold ${p.fold}/${event.folds}] `));
          process.stdout.write(`fold ${p.fold}/${event.folds}: test actors ${formatActors(p.test)}, validation ${formatActors(p.val)}, training ${formatActors(p.train)}${event.resumed ? ' (resuming)' : ''}${producer ? ' (queued)' : ''}\n`);
        } else if (event.kind === 'train') {
          if (producer === null || event.event.kind === 'epoch') printers.get(event.plan.fold)?.(event.event);
        }
        else {
          pictures.push(foldPictures(path.join(out, `fold-${event.result.plan.fold}`), event.result));
          const elapsed = (Date.now() - started) / 1000;
          // Finished-earlier folds took no time here: the estimate counts the folds trained in this run.
          const trained = event.done - (event.result.reused ? 1 : 0);
          const eta = trained > 0 && event.done < event.runs ? `, about ${formatDuration((elapsed / trained) * (event.runs - event.done))} to go` : '';
          const of = event.runs === event.folds ? `${event.folds}` : `${event.runs} (of ${event.folds})`;
          process.stdout.write(`${foldLine(event.result)}\noverall: ${event.done}/${of} folds done in ${formatDuration(elapsed)}${eta}\n`);
        }
      },
    });
    await Promise.all(pictures);
    if (!summary.complete) {
      process.stdout.write(`${summary.folds.length} of ${folds} folds${values['validation-only'] ? ', test actors held back' : ''}: no cross-validation summary (run every fold with --resume for it)\n`);
      for (const r of summary.folds) process.stdout.write(`  ${foldLine(r)}\n`);
      return 0;
    }
    writeFileAtomic(path.join(out, 'confusion.png'), await renderPng(confusionChart(summary.confusion, EMOTIONS, { title: `${summary.folds.length}-fold cross-validation, test folds summed` })));
    printSummary(summary);
    process.stdout.write(`summary: ${path.join(out, 'crossval.json')}, confusion matrix: ${path.join(out, 'confusion.png')}; ${formatDuration(summary.seconds)}\n`);
    return 0;
  } finally {
    await producer?.close();
  }
}
