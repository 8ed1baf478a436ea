import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { stringify as toCsv } from 'csv-stringify/sync';
import { EmoError } from '../errors';
import { loadClassifier, type Classifier, type EmotionResult, type Provider, type TimelineSegment } from '../infer/classifier';
import { decodeWithFfmpeg, looksLikeWav } from '../infer/decode';
import { scanWav } from '../infer/wav-layout';
import { formatDuration, ProgressBar } from './progress';
import { collectAudioFiles } from './walk';
import { numberFlag, parseCommandLine, UsageError } from './usage';

const DEFAULT_EXTENSIONS = ['wav', 'flac', 'mp3', 'ogg', 'opus', 'm4a', 'aac', 'webm'];
const FORMATS = ['table', 'csv', 'jsonl'] as const;
type Format = (typeof FORMATS)[number];

export const CLASSIFY_USAGE = `Usage: emo classify <file | dir...> [--model FILE] [--provider cpu|cuda|auto] [--threads N]
                    [--batch 32] [--format table|csv|jsonl] [--out FILE] [--resume]
                    [--timeline] [--window 3] [--hop 1.5] [--ext ${DEFAULT_EXTENSIONS.join(',')}]

Labels the emotion of every recording: files as given, folders walked recursively in
sorted order for the --ext extensions. WAV is decoded natively; other formats through
the system's ffmpeg (EMO_FFMPEG overrides its path). A file is classified on the 3 s
after its first 0.5 s; a longer file (or any file with --timeline) also gets the
emotions of windows of --window seconds every --hop seconds.

Output (default: a table on a terminal, else jsonl; --out FILE picks by extension):
  jsonl  one object per file: {"file","label","confidence","probabilities","attention"}
         (+"segments" [{start,end,label,confidence}]), or {"file","error":{code,message}}
  csv    file,label,confidence,<8 labels>,start,end,error; one row per file, then one
         per window (start and end filled in)
  table  for reading
Rows are written whole as files finish; --resume (with --out) skips the files the
output already has. Exit code 0 when every file was classified, 1 when any failed,
2 for usage errors.

  --model FILE     an .onnx file from 'emo export' (default: the bundled model)
  --batch N        clips per pipeline step (default 32)`;

/** One output record: a classified file, or a failed one. */
interface Row {
  file: string;
  result?: EmotionResult;
  segments?: TimelineSegment[];
  error?: { code: string; message: string };
}

const round = (x: number) => Number(x.toPrecision(6));
const roundAll = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, round(v)]));

function errorOf(error: unknown): { code: string; message: string } {
  if (error instanceof EmoError) return { code: error.code, message: error.message };
  return { code: 'ERR_UNEXPECTED', message: (error as Error)?.message ?? String(error) };
}

/** Formats rows; each call returns the whole text of one file's row(s), written in one piece. */
interface Formatter {
  header(): string;
  row(row: Row): string;
}

function jsonlFormatter(): Formatter {
  return {
    header: () => '',
    row({ file, result, segments, error }) {
      if (error) return `${JSON.stringify({ file, error })}\n`;
      const r = result as EmotionResult;
      const out: Record<string, unknown> = { file, label: r.label, confidence: round(r.confidence), probabilities: roundAll(r.probabilities), attention: r.attention.map(round) };
      if (r.truncated) out.truncated = true;
      if (segments) out.segments = segments.map((s) => ({ start: s.start, end: s.end, label: s.label, confidence: round(s.confidence) }));
      return `${JSON.stringify(out)}\n`;
    },
  };
}

function csvFormatter(labels: readonly string[]): Formatter {
  return {
    header: () => toCsv([['file', 'label', 'confidence', ...labels, 'start', 'end', 'error']]),
    row({ file, result, segments, error }) {
      if (error) return toCsv([[file, '', '', ...labels.map(() => ''), '', '', `${error.code}: ${error.message}`]]);
      const r = result as EmotionResult;
      const line = (x: EmotionResult, start: number | string, end: number | string) => [file, x.label, round(x.confidence), ...labels.map((l) => round(x.probabilities[l] as number)), start, end, ''];
      return toCsv([line(r, '', ''), ...(segments ?? []).map((s) => line(s, s.start, s.end))]);
    },
  };
}

function tableFormatter(width: number): Formatter {
  const pct = (p: number) => `${(100 * p).toFixed(1).padStart(5)}%`;
  const runnerUp = (r: EmotionResult) => {
    const [, second] = Object.entries(r.probabilities).sort((a, b) => b[1] - a[1]);
    return second ? `${second[0]} ${pct(second[1]).trim()}` : '';
  };
  return {
    header: () => `${'file'.padEnd(width)}  ${'label'.padEnd(9)}  confidence  runner-up\n`,
    row({ file, result, segments, error }) {
      if (error) return `${file.padEnd(width)}  error: ${error.message} (${error.code})\n`;
      const r = result as EmotionResult;
      let text = `${file.padEnd(width)}  ${r.label.padEnd(9)}  ${pct(r.confidence).padStart(10)}  ${runnerUp(r)}${r.truncated ? '  (truncated file)' : ''}\n`;
      for (const s of segments ?? []) text += `${''.padEnd(width)}    ${`${s.start.toFixed(1)}-${s.end.toFixed(1)} s`.padEnd(12)} ${s.label.padEnd(9)} ${pct(s.confidence)}\n`;
      return text;
    },
  };
}

/** Files an earlier, possibly killed, run already wrote; cuts a last line left half-written. */
function readDone(file: string, format: Format, labels: readonly string[]): Set<string> {
  const done = new Set<string>();
  if (!fs.existsSync(file)) return done;
  let text = fs.readFileSync(file, 'utf8');
  const complete = text.lastIndexOf('\n') + 1;
  if (complete < text.length) {
    fs.truncateSync(file, Buffer.byteLength(text.slice(0, complete)));
    text = text.slice(0, complete);
  }
  if (format === 'jsonl') {
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      try {
        const row = JSON.parse(line) as { file?: unknown };
        if (typeof row.file === 'string') done.add(row.file);
      } catch {
        throw new EmoError(`${file}: cannot resume, a line is not JSON: ${line.slice(0, 80)}`, 'ERR_FILE_READ');
      }
    }
  } else {
    if (text === '') return done;
    const records = parseCsv(text, { columns: true, relax_column_count: false }) as Array<Record<string, string>>;
    const header = Object.keys(records[0] ?? {});
    const expected = ['file', 'label', 'confidence', ...labels, 'start', 'end', 'error'];
    if (records.length > 0 && header.join(',') !== expected.join(',')) throw new EmoError(`${file}: cannot resume, its columns are not those of emo classify's csv`, 'ERR_FILE_READ');
    for (const r of records) done.add(r.file as string);
  }
  return done;
}

/** The audio of a file as WAV bytes: WAV as it is, anything else through ffmpeg. The name never decides the format. */
async function loadAudio(file: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.promises.readFile(file);
  } catch (error) {
    throw new EmoError(`cannot read the file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, 'ERR_FILE_READ');
  }
  // A .wav file is decoded natively whatever it holds, so a non-WAV .wav is an error for that file.
  if (looksLikeWav(bytes) || path.extname(file).toLowerCase() === '.wav' || bytes.length === 0) return bytes;
  return decodeWithFfmpeg(file);
}

/** Runs `task` over `items` with at most `limit` at a time, results in order, failures in place. */
async function mapLimited<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<Array<R | { failed: unknown }>> {
  const results: Array<R | { failed: unknown }> = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = await task(items[i] as T);
      } catch (failed) {
        results[i] = { failed };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export async function runClassify(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(
    argv,
    {
      model: { type: 'string' },
      provider: { type: 'string' },
      threads: { type: 'string' },
      batch: { type: 'string' },
      format: { type: 'string' },
      out: { type: 'string' },
      resume: { type: 'boolean', default: false },
      timeline: { type: 'boolean', default: false },
      window: { type: 'string' },
      hop: { type: 'string' },
      ext: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    CLASSIFY_USAGE,
  );
  if (values.help) {
    process.stdout.write(`${CLASSIFY_USAGE}\n`);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('emo classify needs at least one file or folder', CLASSIFY_USAGE);
  const provider = (values.provider ?? 'cpu') as Provider;
  if (!['cpu', 'cuda', 'auto'].includes(provider)) throw new UsageError(`--provider must be cpu, cuda or auto, not '${values.provider}'`, CLASSIFY_USAGE);
  const threads = numberFlag('threads', values.threads, CLASSIFY_USAGE, { integer: true, min: 1, max: 1024 });
  const batch = numberFlag('batch', values.batch, CLASSIFY_USAGE, { integer: true, min: 1, max: 4096 }) ?? 32;
  const window = numberFlag('window', values.window, CLASSIFY_USAGE, { min: 0.1, max: 3 }) ?? 3;
  const hop = numberFlag('hop', values.hop, CLASSIFY_USAGE, { min: 0.05, max: 3600 }) ?? 1.5;
  const extensions = values.ext === undefined ? DEFAULT_EXTENSIONS : values.ext.split(',').map((e) => e.trim().replace(/^\./, '')).filter((e) => e !== '');
  if (extensions.length === 0) throw new UsageError('--ext needs at least one extension', CLASSIFY_USAGE);
  let format: Format;
  if (values.format !== undefined) {
    if (!(FORMATS as readonly string[]).includes(values.format)) throw new UsageError(`--format must be table, csv or jsonl, not '${values.format}'`, CLASSIFY_USAGE);
    format = values.format as Format;
  } else if (values.out !== undefined) format = /\.csv$/i.test(values.out) ? 'csv' : /\.txt$/i.test(values.out) ? 'table' : 'jsonl';
  else format = process.stdout.isTTY ? 'table' : 'jsonl';
  if (values.resume && values.out === undefined) throw new UsageError('--resume needs --out FILE (the output to continue)', CLASSIFY_USAGE);
  if (values.resume && format === 'table') throw new UsageError('--resume works with --format csv or jsonl', CLASSIFY_USAGE);

  const started = process.hrtime.bigint();
  const { files, problems } = collectAudioFiles(positionals, extensions);
  const clf: Classifier = await loadClassifier(values.model, { provider, batchSize: batch, ...(threads === undefined ? {} : { threads }) });
  try {
    const labels = clf.labels;
    const formatter = format === 'jsonl' ? jsonlFormatter() : format === 'csv' ? csvFormatter(labels) : tableFormatter(Math.min(60, Math.max(4, ...files.map((f) => f.length))));
    const done = values.resume && values.out !== undefined ? readDone(values.out, format, labels) : new Set<string>();
    const todo = files.filter((f) => !done.has(f));

    // Output: appended line by line (each file's rows in one write), so a killed run leaves whole rows.
    let fd: number | null = null;
    if (values.out !== undefined) {
      const fresh = !values.resume || !fs.existsSync(values.out) || fs.statSync(values.out).size === 0;
      fs.mkdirSync(path.dirname(path.resolve(values.out)), { recursive: true });
      fd = fs.openSync(values.out, fresh ? 'w' : 'a');
      if (fresh) fs.writeSync(fd, formatter.header());
    } else process.stdout.write(formatter.header());
    const write = (text: string) => (fd === null ? process.stdout.write(text) : fs.writeSync(fd, text));

    const bar = process.stderr.isTTY ? new ProgressBar(todo.length, 'classify', { unit: 'files', enabled: true }) : null;
    let failed = 0;
    for (const p of problems) {
      const message = `${p.path}: ${p.message}`;
      if (bar) bar.log(`emo: ${message}`);
      else process.stderr.write(`emo: ${message}\n`);
    }
    if (done.size > 0) process.stderr.write(`resuming: ${files.length - todo.length} of ${files.length} files are already in ${values.out}\n`);

    const offset = clf.metadata.features.offsetSeconds;
    const decoders = Math.max(2, os.availableParallelism());
    // Files per group: several pipeline steps, so classifyBatch overlaps features and the model;
    // the next group is read (and ffmpeg-decoded) while this one is classified.
    const groupSize = batch * 4;
    const load = (group: string[]) => mapLimited(group, decoders, loadAudio);
    let pending = todo.length > 0 ? load(todo.slice(0, groupSize)) : null;
    let classified = 0;
    for (let first = 0; first < todo.length; first += groupSize) {
      const group = todo.slice(first, first + groupSize);
      const loaded = await (pending as ReturnType<typeof load>);
      pending = first + groupSize < todo.length ? load(todo.slice(first + groupSize, first + 2 * groupSize)) : null;

      const rows: Row[] = group.map((file) => ({ file }));
      const short: number[] = [];
      const long: number[] = [];
      loaded.forEach((audio, i) => {
        if (audio !== undefined && typeof audio === 'object' && 'failed' in audio) {
          (rows[i] as Row).error = errorOf(audio.failed);
          return;
        }
        const layout = scanWav(audio as Uint8Array);
        const seconds = layout ? layout.frames / layout.sampleRate : 0;
        (values.timeline || seconds > offset + window ? long : short).push(i);
      });
      const results = await clf.classifyBatch(short.map((i) => loaded[i] as Uint8Array));
      short.forEach((i, j) => {
        const r = results[j] as EmotionResult | { error: EmoError };
        if ('error' in r) (rows[i] as Row).error = errorOf(r.error);
        else (rows[i] as Row).result = r;
      });
      for (const i of long) {
        try {
          const t = await clf.timeline(loaded[i] as Uint8Array, { window, hop });
          const first = t.segments[0] as TimelineSegment;
          (rows[i] as Row).result = { label: t.label, confidence: t.confidence, probabilities: t.probabilities, attention: first.attention, ...(t.truncated ? { truncated: true as const } : {}) };
          (rows[i] as Row).segments = t.segments;
        } catch (error) {
          if (!(error instanceof EmoError)) throw error;
          (rows[i] as Row).error = errorOf(error);
        }
      }
      for (const row of rows) {
        // Rows on the terminal that also shows the bar: clear the bar's line first (it redraws on the next tick).
        if (bar && fd === null) process.stderr.write('\r\x1b[2K');
        write(formatter.row(row));
        if (row.error) {
          failed++;
          const message = `${row.file}: ${row.error.message} (${row.error.code})`;
          if (bar) bar.log(`emo: ${message}`);
          else if (fd !== null || format !== 'table') process.stderr.write(`emo: ${message}\n`);
        } else classified++;
        bar?.setSuffix(failed > 0 ? `${failed} failed` : '');
        bar?.tick();
      }
    }
    bar?.finish();
    if (fd !== null) fs.closeSync(fd);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    process.stderr.write(
      `${todo.length} files: ${classified} classified, ${failed} failed${done.size > 0 ? ` (${done.size} done before)` : ''}` +
        `${problems.length > 0 ? `; ${problems.length} folder${problems.length === 1 ? '' : 's'} not read` : ''}; ${formatDuration(seconds)}, ${(todo.length / seconds).toFixed(1)} files/s` +
        `${values.out ? `; rows in ${values.out}` : ''}\n`,
    );
    return failed > 0 || problems.length > 0 ? 1 : 0;
  } finally {
    await clf.close();
  }
}
