/**
 * Recordings → result rows: the one place that turns files (read from disk, or their bytes shipped
 * from elsewhere) into the rows `emo classify` writes. The local command and the queue worker
 * both call it, so a file gets the same row whichever machine classified it.
 *
 * @packageDocumentation
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EmoError } from '../errors';
import type { Adapter } from './adapter';
import { isSingleClip, type Classifier, type EmotionResult, type TimelineSegment } from './classifier';
import { decodeWithFfmpeg, needsFfmpeg, sniffAudio, wavFormatTag } from './decode';
import { scanWav } from './wav-layout';

/** One output record: a classified file, or a failed one. Plain data (it travels as JSON between machines). */
export interface RecordingRow {
  /** The file as it was named to `emo classify`. */
  file: string;
  /** The whole file's result (for long files: the mean over its windows). */
  result?: EmotionResult;
  /** The windows of a long file (or of every file with `timeline`). */
  segments?: TimelineSegment[];
  /** Why the file has no result. */
  error?: { code: string; message: string };
}

/** A recording to classify: its name, where to read it, or its bytes when they were shipped instead. */
export interface RecordingSource {
  /** The name its row carries. */
  file: string;
  /** Where to read it (default: `file`). */
  path?: string;
  /** Its bytes, when they came from elsewhere; then nothing is read. */
  bytes?: Uint8Array;
}

/** How rows are made; the same for every file of a run. */
export interface RowOptions {
  /** Windows for every file, not only for files longer than `window` + the offset. */
  timeline: boolean;
  /** Window length, seconds. */
  window: number;
  /** Seconds between window starts. */
  hop: number;
  /**
   * Speaker adaptation (models trained with it): `'file'` adapts each file to itself, `'folder'`
   * classifies with `adapter` (the caller learnt it from the files' folder). Default `'none'`.
   */
  adapt?: AdaptMode;
  /** The folder's adapter, for `adapt: 'folder'`. */
  adapter?: Adapter;
  /** Seconds of speech an adapter needs before it is used (default: the adapter's default). */
  minSpeechSeconds?: number;
}

/** How `emo classify` adapts: not at all, each file to itself, or each folder's files to their folder. */
export type AdaptMode = 'none' | 'file' | 'folder';

/** The adapt modes {@link AdaptMode} knows. */
export const ADAPT_MODES: readonly AdaptMode[] = ['none', 'file', 'folder'];

/** An error as a row carries it: a stable code and a message. */
export function errorOf(error: unknown): { code: string; message: string } {
  if (error instanceof EmoError) return { code: error.code, message: error.message };
  return { code: 'ERR_UNEXPECTED', message: (error as Error)?.message ?? String(error) };
}

/** Decodes non-WAV bytes that arrived without their file: ffmpeg reads them from a private temporary copy. */
async function decodeShipped(file: string, bytes: Uint8Array): Promise<Uint8Array> {
  // A temporary file rather than a pipe: MP4/M4A keep their index at the end, which ffmpeg cannot seek to on a pipe.
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'emo-audio-'));
  try {
    const copy = path.join(dir, `audio${path.extname(file).toLowerCase()}`);
    await fs.promises.writeFile(copy, bytes);
    return await decodeWithFfmpeg(copy);
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}

/**
 * The audio of a recording as WAV bytes: PCM or float WAV as it is, anything else through ffmpeg,
 * decided by the bytes ({@link needsFfmpeg}): an MP3 or FLAC named `.wav` is decoded by ffmpeg, a
 * WAV in a codec other than PCM or float (A-law, mu-law, ADPCM) too. Only bytes that are no
 * known audio at all go by the name: a `.wav` then gets the native decoder's error.
 *
 * @throws {@link EmoError} `ERR_FILE_READ`, `ERR_MISSING_TOOL`, `ERR_AUDIO_DECODE`.
 */
export async function loadRecording(source: RecordingSource): Promise<Uint8Array> {
  const where = source.path ?? source.file;
  let bytes = source.bytes;
  if (bytes === undefined) {
    try {
      bytes = await fs.promises.readFile(where);
    } catch (error) {
      throw new EmoError(`cannot read the file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, 'ERR_FILE_READ');
    }
  }
  if (!needsFfmpeg(bytes, source.file)) return bytes;
  try {
    return await (source.bytes === undefined ? decodeWithFfmpeg(where) : decodeShipped(source.file, bytes));
  } catch (error) {
    // A WAV in a codec ffmpeg does not know either: say which codec, not what ffmpeg's probe said.
    if (sniffAudio(bytes) === 'wav-codec' && error instanceof EmoError && error.code === 'ERR_AUDIO_DECODE') {
      const tag = wavFormatTag(bytes);
      throw new EmoError(`WAV in an unsupported encoding (format tag 0x${tag.toString(16).padStart(4, '0')}): neither the native decoder (PCM, IEEE float) nor ffmpeg decodes it`, 'ERR_WAV_UNSUPPORTED_FORMAT');
    }
    throw error;
  }
}

/** A loaded recording, or why it could not be loaded. */
export type LoadedRecording = Uint8Array | { failed: unknown };

/** Loads recordings with at most `parallel` reads (and ffmpeg processes) at a time; results in order, failures in place. */
export async function loadRecordings(sources: readonly RecordingSource[], parallel: number): Promise<LoadedRecording[]> {
  const results: LoadedRecording[] = new Array(sources.length);
  let next = 0;
  const lane = async () => {
    while (next < sources.length) {
      const i = next++;
      try {
        results[i] = await loadRecording(sources[i] as RecordingSource);
      } catch (failed) {
        results[i] = { failed };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, sources.length) }, lane));
  return results;
}

/**
 * Classifies loaded recordings into rows, in order: the short ones in one `classifyBatch` (the
 * model's pipeline overlaps features and inference), the long ones (or all with `timeline`)
 * through `timeline`. A file that fails gets a row with its error; only a programming error throws.
 */
export async function rowsOf(clf: Classifier, files: readonly string[], loaded: readonly LoadedRecording[], options: RowOptions): Promise<RecordingRow[]> {
  const offset = clf.metadata.features.offsetSeconds;
  const rows: RecordingRow[] = files.map((file) => ({ file }));
  const short: number[] = [];
  const long: number[] = [];
  loaded.forEach((audio, i) => {
    if (!(audio instanceof Uint8Array)) {
      (rows[i] as RecordingRow).error = errorOf(audio.failed);
      return;
    }
    const layout = scanWav(audio);
    const seconds = layout ? layout.frames / layout.sampleRate : 0;
    (options.timeline || !isSingleClip(seconds, offset, options.window, clf.metadata.features.durationSeconds) ? long : short).push(i);
  });
  if (options.adapt === 'file') {
    // Each file its own adapter: one at a time (a file's statistics come from the whole file first).
    for (const i of [...short, ...long]) {
      try {
        const adapter = clf.createAdapter(options.minSpeechSeconds === undefined ? {} : { minSpeechSeconds: options.minSpeechSeconds });
        const audio = loaded[i] as Uint8Array;
        const update = await adapter.update(audio);
        if (update.failed.length > 0 && short.includes(i)) throw (update.failed[0] as { error: EmoError }).error;
        await classifyInto(rows[i] as RecordingRow, clf, audio, short.includes(i), options, adapter);
      } catch (error) {
        if (!(error instanceof EmoError)) throw error;
        (rows[i] as RecordingRow).error = errorOf(error);
      }
    }
    return rows;
  }
  const adapter = options.adapt === 'folder' ? options.adapter : undefined;
  const results = await clf.classifyBatch(short.map((i) => loaded[i] as Uint8Array), adapter === undefined ? undefined : { adapter });
  short.forEach((i, j) => {
    const r = results[j] as EmotionResult | { error: EmoError };
    if ('error' in r) (rows[i] as RecordingRow).error = errorOf(r.error);
    else (rows[i] as RecordingRow).result = r;
  });
  for (const i of long) {
    try {
      await classifyInto(rows[i] as RecordingRow, clf, loaded[i] as Uint8Array, false, options, adapter);
    } catch (error) {
      if (!(error instanceof EmoError)) throw error;
      (rows[i] as RecordingRow).error = errorOf(error);
    }
  }
  return rows;
}

/** Classifies one recording into its row: as one clip, or as a timeline of windows. */
async function classifyInto(row: RecordingRow, clf: Classifier, audio: Uint8Array, single: boolean, options: RowOptions, adapter: Adapter | undefined): Promise<void> {
  const withAdapter = adapter === undefined ? {} : { adapter };
  if (single) {
    row.result = await clf.classify(audio, withAdapter);
    return;
  }
  const t = await clf.timeline(audio, { window: options.window, hop: options.hop, ...withAdapter });
  const first = t.segments[0] as TimelineSegment;
  row.result = { label: t.label, confidence: t.confidence, probabilities: t.probabilities, attention: first.attention, ...(t.truncated ? { truncated: true as const } : {}), ...(first.adaptation ? { adaptation: first.adaptation } : {}) };
  row.segments = t.segments;
}

/** {@link loadRecordings} then {@link rowsOf}: recordings → rows in one call. */
export async function classifyRecordings(clf: Classifier, sources: readonly RecordingSource[], options: RowOptions & { parallel: number }): Promise<RecordingRow[]> {
  const loaded = await loadRecordings(sources, options.parallel);
  return rowsOf(
    clf,
    sources.map((s) => s.file),
    loaded,
    options,
  );
}
