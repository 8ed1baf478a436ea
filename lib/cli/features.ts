import * as fs from 'node:fs';
import * as path from 'node:path';
import { EmoError } from '../errors';
import { melChunksBatch, resolveFeatureOptions, type MelChunks } from '../features';
import { renderMelChunksPng } from '../plot';
import { collectWavFiles, writeFileAtomic } from './files';
import { ProgressBar } from './progress';
import { parseCommandLine, UsageError } from './usage';

export const FEATURES_USAGE = `Usage: emo features <wav or dir...> [--json] [--png out.png] [--top-db N] [--threads N]

Computes the model's input features (7 x 128 x 128 dB mel chunks) of each WAV and
prints its shape and dB range. Directories are searched recursively for .wav files.

  --json         one JSON object per file on stdout instead of the table
  --png PATH     draw the chunked mel spectrogram; with several files PATH is a
                 directory that receives <name>.png for each
  --top-db N     floor the dB values at (maximum - N)
  --threads N    native threads (default: all CPUs)

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
      help: { type: 'boolean', short: 'h', default: false },
    },
    FEATURES_USAGE,
  );
  if (values.help) {
    process.stdout.write(`${FEATURES_USAGE}\n`);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('emo features needs at least one WAV file or directory', FEATURES_USAGE);
  const featureOptions = values['top-db'] === undefined ? {} : { topDb: Number(values['top-db']) };
  const pipeline = resolveFeatureOptions(featureOptions, '--top-db');
  const threads = values.threads === undefined ? undefined : Number(values.threads);

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
    results.forEach((result, i) => {
      const file = readable[i] as string;
      progress.tick();
      if (result instanceof EmoError) {
        failures++;
        report(progress, values.json, file, result);
        return;
      }
      const summary = summarise(file, result);
      if (pngTarget !== undefined) {
        const out = pngIsDir ? path.join(pngTarget, `${path.basename(file, path.extname(file))}.png`) : pngTarget;
        const png = renderMelChunksPng(result.data, result.shape, {
          sampleRate: pipeline.native.sampleRate,
          hopLength: pipeline.native.hopLength,
          chunkStride: pipeline.native.chunkStride,
          fMin: pipeline.native.fMin,
          fMax: pipeline.native.fMax,
          title: path.basename(file),
        });
        writeFileAtomic(out, png);
        summary.png = out;
      }
      if (values.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
      else rows.push(summary);
    });
  }
  progress.finish();
  if (!values.json) printTable(rows);
  if (failures > 0) process.stderr.write(`${failures} of ${files.length} files failed\n`);
  return failures > 0 ? 1 : 0;
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
