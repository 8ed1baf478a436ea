/**
 * What travels through the queue, and how files are cut into jobs.
 *
 * Jobs are a few dozen files. Where one job ends is decided by the files themselves (a file
 * whose path hashes to a boundary starts a new job), not by their position in the list, so the
 * same files make the same jobs on every submission even when files were added, removed or
 * already done (`--resume`); a job's id is a hash of its files' paths, sizes and modification
 * times and of the row options, so a re-submission finds the jobs already queued or finished
 * instead of adding new ones.
 *
 * @packageDocumentation
 */
import { createHash } from 'node:crypto';
import type { AdaptationStatistics } from '../infer/adapter';
import type { RecordingRow, RowOptions } from '../infer/recordings';

/** One file of a job: the name its row carries, where the workers read it, and its bytes with `--ship-audio`. */
export interface JobFile {
  /** The file as named to `emo classify` (the row's `file`). */
  file: string;
  /** Absolute path on the storage the machines share. */
  path: string;
  /** The file's bytes, base64, when they are shipped in the job. */
  audio?: string;
}

/** How the rows of a job are made: {@link RowOptions} as they travel (no adapter object). */
export type JobRowOptions = Omit<RowOptions, 'adapter'>;

/** The data of a classification job. */
export interface ClassifyJobData {
  /** Format of this object; workers refuse others. */
  version: 1;
  files: JobFile[];
  options: JobRowOptions;
  /** With `options.adapt` `'folder'`: the statistics of the files' folder, learnt by statistics jobs. */
  statistics?: AdaptationStatistics;
}

/** The data of a statistics job: files of one folder whose speech statistics a worker learns (`--adapt folder`). */
export interface StatisticsJobData {
  version: 1;
  kind: 'statistics';
  files: JobFile[];
}

/** What a worker returns for a statistics job: nothing when its model does not adapt. */
export interface StatisticsJobResult {
  adapts: boolean;
  statistics?: AdaptationStatistics;
}

/** What a worker returns for a job: a row per file, in the job's order, and the labels of its model. */
export interface ClassifyJobResult {
  labels: string[];
  rows: RecordingRow[];
}

/** Fewest files in a job before a boundary may end it (the last job of a run may have fewer). */
export const MIN_FILES_PER_JOB = 8;
/** Most files in a job. */
export const MAX_FILES_PER_JOB = 64;
/** One path in this many is a boundary: with the minimum, jobs average about 32 files. */
const BOUNDARY_EVERY = 24;

/** Largest file `--ship-audio` carries, bytes. */
export const MAX_SHIPPED_FILE_BYTES = 16 * 2 ** 20;
/** Most audio bytes in one job with `--ship-audio` (a job is one Redis value). */
export const MAX_SHIPPED_JOB_BYTES = 32 * 2 ** 20;

/** True when the file at `absolutePath` starts a new job (once the job has its minimum). */
export function isJobBoundary(absolutePath: string): boolean {
  return createHash('sha1').update(absolutePath).digest().readUInt32BE(0) % BOUNDARY_EVERY === 0;
}

/** A file's identity for job ids: where it is, how long it is, when it was last written. */
export interface FileStamp {
  path: string;
  size: number;
  mtimeMs: number;
}

/**
 * The job id of these files classified with these options (the same on every machine and run);
 * `kind` and the adaptation (mode and statistics) are part of it when they are not the plain ones.
 */
export function jobIdOf(stamps: readonly FileStamp[], options: JobRowOptions, shipAudio: boolean, extra?: { kind?: 'statistics'; statistics?: AdaptationStatistics }): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ format: 1, options: [options.timeline, options.window, options.hop], shipAudio }));
  if ((options.adapt ?? 'none') !== 'none' || extra?.kind !== undefined) {
    hash.update(JSON.stringify({ kind: extra?.kind ?? 'classify', adapt: options.adapt, minSpeechSeconds: options.minSpeechSeconds, statistics: extra?.statistics ?? null }));
  }
  for (const s of stamps) hash.update(`\n${JSON.stringify([s.path, s.size, s.mtimeMs])}`);
  return `emo-${hash.digest('hex')}`;
}

/** Checks a job's data before a worker trusts it (any program may add jobs to a queue). */
export function isClassifyJobData(data: unknown): data is ClassifyJobData {
  const d = data as ClassifyJobData;
  return (
    typeof d === 'object' &&
    d !== null &&
    d.version === 1 &&
    Array.isArray(d.files) &&
    d.files.every((f) => typeof f === 'object' && f !== null && typeof f.file === 'string' && typeof f.path === 'string' && (f.audio === undefined || typeof f.audio === 'string')) &&
    typeof d.options === 'object' &&
    d.options !== null &&
    typeof d.options.timeline === 'boolean' &&
    typeof d.options.window === 'number' &&
    typeof d.options.hop === 'number' &&
    (d.options.adapt === undefined || ['none', 'file', 'folder'].includes(d.options.adapt)) &&
    (d.options.minSpeechSeconds === undefined || (typeof d.options.minSpeechSeconds === 'number' && d.options.minSpeechSeconds >= 0)) &&
    (d.options.adapt !== 'folder' || (typeof d.statistics === 'object' && d.statistics !== null))
  );
}

/** Checks a statistics job's data. */
export function isStatisticsJobData(data: unknown): data is StatisticsJobData {
  const d = data as StatisticsJobData;
  return typeof d === 'object' && d !== null && d.version === 1 && d.kind === 'statistics' && Array.isArray(d.files) && d.files.every((f) => typeof f === 'object' && f !== null && typeof f.file === 'string' && typeof f.path === 'string' && (f.audio === undefined || typeof f.audio === 'string'));
}
