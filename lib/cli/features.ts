import * as fs from 'node:fs';
import * as path from 'node:path';
import { EmoError } from '../errors';
import { ensureFeatureCache, formatActors, type FeatureCacheOptions } from '../data';
import { melChunksBatch, resolveFeatureOptions, type MelChunks } from '../features';
import { renderMelChunksPng } from '../plot';
import { collectWavFiles, writeFileAtomic } from './files';
import { ProgressBar } from './progress';
import { parseSplitSpec, SPLIT_SPEC_HELP } from './split-spec';
import { numberFlag, parseCommandLine, UsageError } from './usage';

export const FEATURES_USAGE = `Usage: emo features <wav or dir...> [--json] [--png out.png] [--top-db N] [--threads N]
       emo features <dataset dir> --cache FILE [--split SPEC] [--augment-seed N] [--dtype float16|float32]

Computes the model's input features (7 x 128 x 128 dB mel chunks) of each WAV and
prints its shape and dB range. Directories are searched recursively for .wav files.

  --json         one JSON object per file on stdout instead of the table
  --png PATH     draw the chunked mel spectrogram; with several files PATH is a
                 directory that receives <name>.png for each
  --top-db N     floor the dB values at (maximum - N)
  --threads N    native threads (default: all CPUs)

With --cache, the argument is a RAVDESS-style folder: its clips are indexed and split
by actor, and the features of every clip (training clips also in their 3 augmented
variants) are written to FILE for training; an up-to-date FILE is reused.
  --split SPEC   ${SPLIT_SPEC_HELP}
  --augment-seed N  seed of the training augmentation (default 1)
  --dtype T      float16 (default, half the size) or float32 (exact)

Bad files are reported (path and reason) and skipped; the exit code is 1 if any failed.`;

/** Summary of one file's features, as printed by `emo features --json`. */
export interface FeatureSummary {
  file: string;
  shape: [number, number, number];
  minDb: number;
  maxDb: number;
  meanDb: number;
  png?: string;
}

function summarise(file: string, chunks: MelChunks): FeatureSummary {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const v of chunks.data) {
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  return { file, shape: chunks.shape, minDb: min, maxDb: max, meanDb: sum / chunks.data.length };
}

// Reading a batch at a time bounds memory for folders of thousands of clips.
const FILES_PER_BATCH = 64;

export async function runFeatures(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(
    argv,
    {
      json: { type: 'boolean', default: false },
      png: { type: 'string' },
      'top-db': { type: 'string' },
      threads: { type: 'string' },
      cache: { type: 'string' },
      split: { type: 'string' },
      'augment-seed': { type: 'string' },
      dtype: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    FEATURES_USAGE,
  );
  if (values.help) {
    process.stdout.write(`${FEATURES_USAGE}\n`);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('emo features needs at least one WAV file or directory', FEATURES_USAGE);
  const featureOptions = values['top-db'] === undefined ? {} : { topDb: numberFlag('top-db', values['top-db'], FEATURES_USAGE, { min: 0, max: 1000 }) };
  const pipeline = resolveFeatureOptions(featureOptions, '--top-db');
  const threads = numberFlag('threads', values.threads, FEATURES_USAGE, { integer: true, min: 1, max: 256 });
  if (values.cache !== undefined) {
    if (positionals.length !== 1) throw new UsageError('--cache takes exactly one dataset folder', FEATURES_USAGE);
    return runCache(positionals[0] as string, values.cache, {
      features: featureOptions,
      split: parseSplitSpec(values.split, FEATURES_USAGE),
      augmentSeed: numberFlag('augment-seed', values['augment-seed'], FEATURES_USAGE, { integer: true, min: 0, max: 2 ** 53 - 1 }),
      dtype: values.dtype as 'float16' | 'float32' | undefined,
      threads,
    });
  }
  for (const flag of ['split', 'augment-seed', 'dtype'] as const) {
    if (values[flag] !== undefined) throw new UsageError(`--${flag} needs --cache`, FEATURES_USAGE);
  }

  const files = collectWavFiles(positionals);
  if (files.length === 0) throw new UsageError(`no .wav files found in ${positionals.join(', ')}`, FEATURES_USAGE);
  const pngTarget = values.png;
  const pngIsDir = pngTarget !== undefined && files.length > 1;

  const progress = new ProgressBar(files.length, 'features', { unit: 'files', enabled: Boolean(process.stderr.isTTY) && files.length > 1 });
  const rows: FeatureSummary[] = [];
  let failures = 0;
  for (let start = 0; start < files.length; start += FILES_PER_BATCH) {
    const group = files.slice(start, start + FILES_PER_BATCH);
    const inputs: Uint8Array[] = [];
    const readable: string[] = [];
    for (const file of group) {
      try {
        inputs.push(fs.readFileSync(file));
        readable.push(file);
      } catch (error) {
        failures++;
        report(progress, values.json, file, new EmoError(`cannot read ${file}: ${(error as Error).message}`, 'ERR_FILE_READ'));
        progress.tick();
      }
    }
    const results = await melChunksBatch(inputs, { ...featureOptions, threads, errors: 'return' });
    for (const [i, result] of results.entries()) {
      const file = readable[i] as string;
      progress.tick();
      if (result instanceof EmoError) {
        failures++;
        report(progress, values.json, file, result);
        continue;
      }
      const summary = summarise(file, result);
      if (pngTarget !== undefined) {
        const out = pngIsDir ? path.join(pngTarget, `${path.basename(file, path.extname(file))}.png`) : pngTarget;
        const png = await renderMelChunksPng(result.data, result.shape, {
          sampleRate: pipeline.native.sampleRate,
          hopLength: pipeline.native.hopLength,
          chunkStride: pipeline.native.chunkStride,
          fMin: pipeline.native.fMin,
          fMax: pipeline.native.fMax,
          title: path.basename(file),
        });
        try {
          writeFileAtomic(out, png);
          summary.png = out;
        } catch (error) {
          // One picture that cannot be written (a full disk, a folder in the way) is reported; the rest go on.
          failures++;
          report(progress, values.json, file, new EmoError(`cannot write ${out}: ${(error as Error).message}`, 'ERR_FILE_WRITE'));
        }
      }
      if (values.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
      else rows.push(summary);
    }
  }
  progress.finish();
  if (!values.json) printTable(rows);
  if (failures > 0) process.stderr.write(`${failures} of ${files.length} files failed\n`);
  return failures > 0 ? 1 : 0;
}

async function runCache(dir: string, file: string, options: FeatureCacheOptions): Promise<number> {
  let progress: ProgressBar | undefined;
  let progressDone = 0;
  const { cache, rebuilt, reason } = await ensureFeatureCache(dir, file, {
    ...options,
    onProgress: (done, total) => {
      progress ??= new ProgressBar(total, 'features', { unit: 'clips' });
      progress.tick(done - progressDone);
      progressDone = done;
    },
  });
  progress?.finish();
  try {
    const h = cache.header;
    const count = (split: string) => h.entries.filter((e) => e.split === split).length;
    const records = (split: string) => h.entries.filter((e) => e.split === split).reduce((n, e) => n + e.variants, 0);
    const mb = (fs.statSync(file).size / 2 ** 20).toFixed(1);
    process.stdout.write(
      `${rebuilt ? `built ${file} (${reason}) in ${h.buildSeconds.toFixed(1)} s` : `reused ${file} (up to date)`}: ${h.recordCount} records, ${h.dtype}, ${mb} MiB\n` +
        `  train ${count('train')} clips x 4 variants = ${records('train')} records (actors ${formatActors(h.split.train)})\n` +
        `  val   ${count('val')} clips (actors ${formatActors(h.split.val)})\n` +
        `  test  ${count('test')} clips (actors ${formatActors(h.split.test)})\n`,
    );
    for (const f of h.failed) process.stderr.write(`error: ${f.path}: ${f.message} (${f.code})\n`);
    if (h.skipped.length > 0) process.stderr.write(`${h.skipped.length} .wav files are not RAVDESS speech clips and were skipped (e.g. ${h.skipped[0]?.path}: ${h.skipped[0]?.reason})\n`);
    return h.failed.length > 0 ? 1 : 0;
  } finally {
    cache.close();
  }
}

function report(progress: ProgressBar, json: boolean | undefined, file: string, error: EmoError): void {
  if (json) process.stdout.write(`${JSON.stringify({ file, error: { code: error.code, message: error.message } })}\n`);
  progress.log(`error: ${file}: ${error.message} (${error.code})`);
}

function printTable(rows: FeatureSummary[]): void {
  if (rows.length === 0) return;
  const width = Math.max(4, ...rows.map((r) => r.file.length));
  process.stdout.write(`${'file'.padEnd(width)}  shape         dB min    dB max   dB mean${rows.some((r) => r.png) ? '  png' : ''}\n`);
  for (const r of rows) {
    const shape = r.shape.join('x').padEnd(12);
    const nums = [r.minDb, r.maxDb, r.meanDb].map((v) => v.toFixed(1).padStart(8)).join('  ');
    process.stdout.write(`${r.file.padEnd(width)}  ${shape}  ${nums}${r.png ? `  ${r.png}` : ''}\n`);
  }
}
