import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { stringify as toCsv } from 'csv-stringify/sync';
import { EMOTIONS } from '../data/ravdess';
import { EmoError } from '../errors';
import { loadClassifier, type Classifier, type EmotionResult, type Provider } from '../infer/classifier';
import { ADAPT_MODES, loadRecordings, rowsOf, type AdaptMode, type RecordingRow, type RowOptions } from '../infer/recordings';
import { DEFAULT_MIN_SPEECH_SECONDS } from '../infer/adapter';
import { formatDuration, ProgressBar } from './progress';
import { collectAudioFiles } from './walk';
import { numberFlag, parseCommandLine, UsageError } from './usage';

const DEFAULT_EXTENSIONS = ['wav', 'flac', 'mp3', 'ogg', 'opus', 'm4a', 'aac', 'webm'];
const FORMATS = ['table', 'csv', 'jsonl'] as const;
type Format = (typeof FORMATS)[number];

export const CLASSIFY_USAGE = `Usage: emo classify <file | dir...> [--model FILE] [--provider cpu|cuda|auto] [--threads N]
                    [--batch 32] [--format table|csv|jsonl] [--out FILE] [--resume]
                    [--timeline] [--window 3] [--hop 1.5] [--ext ${DEFAULT_EXTENSIONS.join(',')}]
                    [--adapt none|file|folder] [--min-speech ${DEFAULT_MIN_SPEECH_SECONDS}]
                    [--redis URL [--queue emo-classify] [--ship-audio] [--redis-wait 60]]

Labels the emotion of every recording: files as given, folders walked recursively in
sorted order for the --ext extensions. WAV is decoded natively; other formats through
the system's ffmpeg (EMO_FFMPEG overrides its path). A file up to 6 s is one clip,
labelled on the 3 s after its first 0.5 s (as the model was trained and scored); a longer
file (or any file with --timeline) is labelled by the mean over windows of --window
seconds every --hop seconds, each window in the output.

Speaker adaptation (models that adapt: trained with emo train --adapt speaker, or a
statistics network): --adapt folder
(their default) learns the statistics of the speech in each folder's files, without
labels, and classifies that folder's files with them: put one speaker's (and one
microphone's) recordings in a folder. --adapt file adapts each file to itself (one
long recording). Below --min-speech seconds of speech a folder or file is classified
without adaptation, and its rows say so ("adaptation": {"applied": false, ...}).
With --redis the default is none (this machine does not know the workers' model):
--adapt folder has workers learn each folder's statistics first, then classify it.

Output (default: a table on a terminal, else jsonl; --out FILE picks by extension):
  jsonl  one object per file: {"file","label","confidence","probabilities","attention"}
         (+"segments" [{start,end,label,confidence}]), or {"file","error":{code,message}}
  csv    file,label,confidence,<8 labels>,start,end,error; one row per file, then one
         per window (start and end filled in)
  table  for reading
Rows are written whole as files finish; --resume (with --out) skips the files the
output already has. Exit code 0 when every file was classified, 1 when any failed,
2 for usage errors.

  --model FILE     an .onnx file from 'emo export', or a bundled model by name: ravdess, synth
                   (default: ravdess, trained on human speech)
  --batch N        clips per pipeline step (default 32)

Scaling out: with --redis, the files are queued in jobs of a few dozen on a BullMQ
queue and classified by 'emo worker's on any machines (they read the files by path
from storage they share); rows are written as jobs finish, same rows, exit codes and
--resume. --model, --provider, --threads and --batch are then the workers' options.
  --redis URL      redis://host:port of the queue's Redis
  --queue NAME     queue name (default emo-classify), the workers' --queue
  --ship-audio     put each file's bytes in its job (files up to 16 MiB) for workers
                   without the shared storage
  --redis-wait S   seconds to keep trying when Redis goes away mid-run (default 60)`;

const round = (x: number) => Number(x.toPrecision(6));
const roundAll = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, round(v)]));

/** Formats rows; each call returns the whole text of one file's row(s), written in one piece. */
interface Formatter {
  header(): string;
  row(row: RecordingRow): string;
}

function jsonlFormatter(): Formatter {
  return {
    header: () => '',
    row({ file, result, segments, error }) {
      if (error) return `${JSON.stringify({ file, error })}\n`;
      const r = result as EmotionResult;
      const out: Record<string, unknown> = { file, label: r.label, confidence: round(r.confidence), probabilities: roundAll(r.probabilities), attention: r.attention.map(round) };
      if (r.truncated) out.truncated = true;
      if (r.adaptation) out.adaptation = { applied: r.adaptation.applied, speechSeconds: round(r.adaptation.speechSeconds) };
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
      const notAdapted = r.adaptation && !r.adaptation.applied ? `  (not adapted: ${r.adaptation.speechSeconds.toFixed(1)} s of speech)` : '';
      let text = `${file.padEnd(width)}  ${r.label.padEnd(9)}  ${pct(r.confidence).padStart(10)}  ${runnerUp(r)}${r.truncated ? '  (truncated file)' : ''}${notAdapted}\n`;
      for (const s of segments ?? []) text += `${''.padEnd(width)}    ${`${s.start.toFixed(1)}-${s.end.toFixed(1)} s`.padEnd(12)} ${s.label.padEnd(9)} ${pct(s.confidence)}\n`;
      return text;
    },
  };
}

const csvColumns = (labels: readonly string[]) => ['file', 'label', 'confidence', ...labels, 'start', 'end', 'error'];

/**
 * Files an earlier, possibly killed, run already wrote; cuts a last line left half-written. For
 * csv, also the labels of its columns: checked against `labels` when they are known here, else
 * returned for the rows still to come (with --redis, only the workers know the model).
 */
function readDone(file: string, format: Format, labels: readonly string[] | null): { done: Set<string>; labels: string[] | null } {
  const done = new Set<string>();
  if (!fs.existsSync(file)) return { done, labels: null };
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
    return { done, labels: null };
  }
  if (text === '') return { done, labels: null };
  const [header = []] = parseCsv(text.slice(0, text.indexOf('\n') + 1)) as string[][];
  const fileLabels = header.slice(3, -3);
  const expected = csvColumns(labels ?? fileLabels);
  if (header.join(',') !== expected.join(',')) throw new EmoError(`${file}: cannot resume, its columns are not those of emo classify's csv`, 'ERR_FILE_READ');
  const records = parseCsv(text, { columns: true, relax_column_count: false }) as Array<Record<string, string>>;
  for (const r of records) done.add(r.file as string);
  return { done, labels: fileLabels };
}

/** The rows of some files, and the labels of the model that made them (null: error rows only). */
interface RowBatch {
  labels: readonly string[] | null;
  rows: RecordingRow[];
}

/**
 * Writes rows as they come, each file's rows in one write (so a killed run leaves whole rows), and
 * counts them. The csv formatter needs the model's labels: with --redis they arrive with the first
 * classified rows, and error rows before them wait (a few, in memory).
 */
class RowWriter {
  classified = 0;
  failed = 0;
  private formatter: Formatter | null = null;
  private held: RecordingRow[] = [];
  private readonly fd: number | null;

  constructor(
    private readonly format: Format,
    private readonly out: string | undefined,
    private readonly fresh: boolean,
    private labels: readonly string[] | null,
    private readonly tableWidth: number,
    private readonly bar: ProgressBar | null,
    private readonly resumedLabels: boolean,
  ) {
    if (out !== undefined) {
      fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
      this.fd = fs.openSync(out, fresh ? 'w' : 'a');
    } else this.fd = null;
    if (format !== 'csv' || labels !== null) this.start(labels);
  }

  /** Picks the formatter (csv: once the labels are known) and writes the header of a fresh output. */
  private start(labels: readonly string[] | null): void {
    if (labels !== null) this.labels = labels;
    this.formatter = this.format === 'jsonl' ? jsonlFormatter() : this.format === 'csv' ? csvFormatter(labels as readonly string[]) : tableFormatter(this.tableWidth);
    if (this.fresh) this.emit(this.formatter.header());
  }

  private emit(text: string): void {
    if (text === '') return;
    if (this.fd === null) process.stdout.write(text);
    else fs.writeSync(this.fd, text);
  }

  /** Writes a batch; rows made by a model with other labels than the first rows' become errors. */
  write(batch: RowBatch): void {
    let rows = batch.rows;
    if (batch.labels !== null) {
      if (this.format === 'csv' && this.formatter === null) this.start(batch.labels);
      else if (this.labels === null) this.labels = batch.labels;
      else if (batch.labels.join(',') !== this.labels.join(',')) {
        if (this.resumedLabels && this.classified === 0) {
          throw new EmoError(`--resume: ${this.out} has columns for the labels ${this.labels.join(',')}, the workers' model has ${batch.labels.join(',')}`, 'ERR_RESUME_MISMATCH');
        }
        const message = `classified by a model with the labels ${batch.labels.join(',')}, not ${this.labels.join(',')} like the other rows: give every worker the same --model`;
        rows = rows.map(({ file }) => ({ file, error: { code: 'ERR_QUEUE_JOB_FAILED', message } }));
      }
    }
    if (this.formatter === null) {
      this.held.push(...rows);
      return;
    }
    for (const row of rows) this.put(row);
  }

  private put(row: RecordingRow): void {
    // Rows on the terminal that also shows the bar: clear the bar's line first (it redraws on the next tick).
    if (this.bar && this.fd === null) process.stderr.write('\r\x1b[2K');
    this.emit((this.formatter as Formatter).row(row));
    if (row.error) {
      this.failed++;
      const message = `${row.file}: ${row.error.message} (${row.error.code})`;
      if (this.bar) this.bar.log(`emo: ${message}`);
      else if (this.fd !== null || this.format !== 'table') process.stderr.write(`emo: ${message}\n`);
    } else this.classified++;
    this.bar?.setSuffix(this.failed > 0 ? `${this.failed} failed` : '');
    this.bar?.tick();
  }

  /** Writes what waited for the labels (none came: no file was classified, so the csv names the standard ones) and closes the output. */
  close(): void {
    if (this.formatter === null) this.start(this.labels ?? EMOTIONS);
    for (const row of this.held.splice(0)) this.put(row);
    if (this.fd !== null) fs.closeSync(this.fd);
  }
}

/** Rows classified here: the next files are read (and ffmpeg-decoded) while these are classified. */
async function* classifyHere(clf: Classifier, files: readonly string[], options: RowOptions, batch: number): AsyncGenerator<RowBatch> {
  const decoders = Math.max(2, os.availableParallelism());
  // Files per group: several pipeline steps, so classifyBatch overlaps features and the model.
  const groupSize = batch * 4;
  const load = (group: readonly string[]) => loadRecordings(group.map((file) => ({ file })), decoders);
  let pending = files.length > 0 ? load(files.slice(0, groupSize)) : null;
  for (let first = 0; first < files.length; first += groupSize) {
    const group = files.slice(first, first + groupSize);
    const loaded = await (pending as ReturnType<typeof load>);
    pending = first + groupSize < files.length ? load(files.slice(first + groupSize, first + 2 * groupSize)) : null;
    yield { labels: clf.labels, rows: await rowsOf(clf, group, loaded, options) };
  }
}

/**
 * Rows classified here with one adapter per folder: each folder's statistics are learnt from all
 * its files (`all`, those done before a resume included), then its files still to do are classified.
 */
async function* classifyFolders(clf: Classifier, all: readonly string[], todo: readonly string[], options: RowOptions, batch: number, report: (folder: string, seconds: number, applied: boolean) => void): AsyncGenerator<RowBatch> {
  const decoders = Math.max(2, os.availableParallelism());
  const groupSize = batch * 4;
  const folders = new Map<string, string[]>();
  for (const file of todo) folders.set(path.dirname(file), [...(folders.get(path.dirname(file)) ?? []), file]);
  for (const [folder, files] of folders) {
    const adapter = clf.createAdapter(options.minSpeechSeconds === undefined ? {} : { minSpeechSeconds: options.minSpeechSeconds });
    const members = all.filter((f) => path.dirname(f) === folder);
    for (let first = 0; first < members.length; first += groupSize) {
      const loaded = await loadRecordings(members.slice(first, first + groupSize).map((file) => ({ file })), decoders);
      await adapter.update(loaded.filter((l): l is Uint8Array => l instanceof Uint8Array));
    }
    report(folder, adapter.speechSeconds, adapter.ready);
    yield* classifyHere(clf, files, { ...options, adapter }, batch);
  }
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
      redis: { type: 'string' },
      queue: { type: 'string' },
      'ship-audio': { type: 'boolean', default: false },
      'redis-wait': { type: 'string' },
      adapt: { type: 'string' },
      'min-speech': { type: 'string' },
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
  const redisWait = numberFlag('redis-wait', values['redis-wait'], CLASSIFY_USAGE, { min: 1, max: 86400 });
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
  const redis = values.redis;
  if (redis === undefined) {
    for (const flag of ['queue', 'ship-audio', 'redis-wait'] as const) if (values[flag] !== undefined && values[flag] !== false) throw new UsageError(`--${flag} goes with --redis URL`, CLASSIFY_USAGE);
  } else {
    for (const flag of ['model', 'provider', 'threads', 'batch'] as const) if (values[flag] !== undefined) throw new UsageError(`--${flag} is an option of the workers with --redis: give it to 'emo worker'`, CLASSIFY_USAGE);
    if (!/^rediss?:\/\/./.test(redis)) throw new UsageError(`--redis must be a URL like redis://host:6379, not '${redis}'`, CLASSIFY_USAGE);
  }
  if (values.adapt !== undefined && !(ADAPT_MODES as readonly string[]).includes(values.adapt)) throw new UsageError(`--adapt must be ${ADAPT_MODES.join(', ')}, not '${values.adapt}'`, CLASSIFY_USAGE);
  const minSpeechSeconds = numberFlag('min-speech', values['min-speech'], CLASSIFY_USAGE, { min: 0, max: 86400 });
  const rowOptions: RowOptions = { timeline: values.timeline, window, hop, ...(minSpeechSeconds === undefined ? {} : { minSpeechSeconds }) };

  const started = process.hrtime.bigint();
  const { files, problems } = collectAudioFiles(positionals, extensions);
  // Whatever can fail at start (no model, no Redis) fails before the output is touched.
  const queue = redis === undefined ? null : await (await import('../queue/producer')).ClassifyProducer.connect(redis, { ...(values.queue === undefined ? {} : { queue: values.queue }), ...(redisWait === undefined ? {} : { redisWaitSeconds: redisWait }) });
  let clf: Classifier | null = null;
  try {
    clf = queue ? null : await loadClassifier(values.model, { provider, batchSize: batch, ...(threads === undefined ? {} : { threads }) });
    // Adaptation: asked for, or the default of a model trained for it (folder); never for one that was not.
    const adapt: AdaptMode = (values.adapt as AdaptMode | undefined) ?? (clf === null || clf.adapts ? 'folder' : 'none');
    if (clf !== null && adapt !== 'none' && !clf.adapts) {
      throw new EmoError(`--adapt ${adapt}: this model does not adapt to a speaker (a CNN-BiLSTM trained without emo train --adapt speaker)`, 'ERR_ADAPTATION_UNSUPPORTED');
    }
    rowOptions.adapt = adapt;
    const resumed = values.resume && values.out !== undefined ? readDone(values.out, format, clf ? clf.labels : null) : { done: new Set<string>(), labels: null };
    const done = resumed.done;
    const todo = files.filter((f) => !done.has(f));

    const fresh = values.out === undefined || !values.resume || !fs.existsSync(values.out) || fs.statSync(values.out).size === 0;
    const bar = process.stderr.isTTY ? new ProgressBar(todo.length, 'classify', { unit: 'files', enabled: true }) : null;
    const tableWidth = Math.min(60, Math.max(4, ...files.map((f) => f.length)));
    const writer = new RowWriter(format, values.out, fresh, clf ? clf.labels : resumed.labels, tableWidth, bar, resumed.labels !== null && !clf);
    for (const p of problems) {
      const message = `${p.path}: ${p.message}`;
      if (bar) bar.log(`emo: ${message}`);
      else process.stderr.write(`emo: ${message}\n`);
    }
    if (done.size > 0) process.stderr.write(`resuming: ${files.length - todo.length} of ${files.length} files are already in ${values.out}\n`);

    try {
      const reportFolder = (folder: string, seconds: number, applied: boolean) => {
        if (applied) return;
        const message = `${folder}: ${seconds.toFixed(1)} s of speech, below the ${minSpeechSeconds ?? DEFAULT_MIN_SPEECH_SECONDS} s adaptation needs: its files are classified without`;
        if (bar) bar.log(`emo: ${message}`);
        else process.stderr.write(`emo: ${message}\n`);
      };
      const batches = queue
        ? queue.classify(todo, {
            timeline: rowOptions.timeline,
            window,
            hop,
            ...(minSpeechSeconds === undefined ? {} : { minSpeechSeconds }),
            // Unset: none (this machine does not know the workers' model); --adapt folder for an adaptive one.
            ...(values.adapt === undefined ? {} : { adapt: values.adapt as AdaptMode }),
            statisticsFiles: files,
            shipAudio: values['ship-audio'],
          })
        : rowOptions.adapt === 'folder'
          ? classifyFolders(clf as Classifier, files, todo, rowOptions, batch, reportFolder)
          : classifyHere(clf as Classifier, todo, rowOptions, batch);
      for await (const b of batches) writer.write(b);
    } finally {
      writer.close();
    }
    bar?.finish();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    process.stderr.write(
      `${todo.length} files: ${writer.classified} classified, ${writer.failed} failed${done.size > 0 ? ` (${done.size} done before)` : ''}` +
        `${problems.length > 0 ? `; ${problems.length} folder${problems.length === 1 ? '' : 's'} not read` : ''}; ${formatDuration(seconds)}, ${(todo.length / seconds).toFixed(1)} files/s` +
        `${values.out ? `; rows in ${values.out}` : ''}\n`,
    );
    return writer.failed > 0 || problems.length > 0 ? 1 : 0;
  } finally {
    await clf?.close();
    await queue?.close();
  }
}
