import * as fs from 'node:fs';
import * as path from 'node:path';
import { EmoError } from '../errors';
import { invalidType } from '../validate';

/** The eight RAVDESS emotions, in the dataset's order (emotion code 01–08). */
export const EMOTIONS = ['neutral', 'calm', 'happy', 'sad', 'angry', 'fearful', 'disgust', 'surprised'] as const;

/** One of {@link EMOTIONS}. */
export type Emotion = (typeof EMOTIONS)[number];

/** A RAVDESS speech clip, parsed from its file name `03-01-EE-II-SS-RR-AA.wav`. */
export interface RavdessEntry {
  /** Path of the file, as found under the indexed folder. */
  path: string;
  emotion: Emotion;
  /** 0-based index into {@link EMOTIONS} (the class label). */
  emotionId: number;
  /** 1 normal, 2 strong (neutral has only 1). */
  intensity: number;
  /** 1 "Kids are talking by the door", 2 "Dogs are sitting by the door". */
  statement: number;
  /** 1 or 2. */
  repetition: number;
  /** Actor number, 1–24. */
  actor: number;
  /** Odd actors are male, even actors female. */
  sex: 'male' | 'female';
}

/** A `.wav` file the indexer did not accept, and why. */
export interface SkippedFile {
  path: string;
  reason: string;
}

/** Result of {@link indexRavdess}. */
export interface RavdessIndex {
  /** Accepted clips, sorted by path. */
  entries: RavdessEntry[];
  /** Every other `.wav` file, sorted by path. */
  skipped: SkippedFile[];
}

const FIELD_RANGES: Array<[name: string, lo: number, hi: number]> = [
  ['modality', 1, 3],
  ['vocal channel', 1, 2],
  ['emotion', 1, 8],
  ['intensity', 1, 2],
  ['statement', 1, 2],
  ['repetition', 1, 2],
  ['actor', 1, 24],
];

/**
 * Parses a RAVDESS file name. Returns the entry, or the reason it is not a
 * speech audio-only clip (song, video, a bad field, a wrong number of fields).
 */
export function parseRavdessName(file: string): Omit<RavdessEntry, 'path'> | { reason: string } {
  const stem = path.basename(file).replace(/\.wav$/i, '');
  const fields = stem.split('-');
  if (fields.length !== 7) return { reason: `wrong number of fields: ${fields.length}, expected 7 (03-01-EE-II-SS-RR-AA)` };
  const values: number[] = [];
  for (const [i, field] of fields.entries()) {
    const [name, lo, hi] = FIELD_RANGES[i] as [string, number, number];
    if (!/^\d\d$/.test(field)) return { reason: `bad ${name} field '${field}' (expected two digits)` };
    const value = Number(field);
    if (value < lo || value > hi) return { reason: `bad ${name} field '${field}' (expected ${String(lo).padStart(2, '0')}-${String(hi).padStart(2, '0')})` };
    values.push(value);
  }
  const [modality, channel, emotion, intensity, statement, repetition, actor] = values as [number, number, number, number, number, number, number];
  if (modality !== 3) return { reason: `video, not audio-only (modality ${fields[0]})` };
  if (channel !== 1) return { reason: 'song, not speech (vocal channel 02)' };
  if (emotion === 1 && intensity === 2) return { reason: 'bad intensity field: neutral has no strong intensity (02)' };
  return {
    emotion: EMOTIONS[emotion - 1] as Emotion,
    emotionId: emotion - 1,
    intensity,
    statement,
    repetition,
    actor,
    sex: actor % 2 === 1 ? 'male' : 'female',
  };
}

/**
 * Indexes a RAVDESS-style folder: walks it recursively (any depth, `Actor_XX`
 * folders or the flat layout), accepts speech audio-only files
 * `03-01-EE-II-SS-RR-AA.wav` (extension in any case), and lists every other
 * `.wav` in `skipped` with a reason. Files that are not `.wav` are ignored.
 *
 * @throws {@link EmoError} `ERR_DATASET_NOT_FOUND` if `dir` is missing or not a
 *   folder, `ERR_DATASET_EMPTY` if it holds no `.wav` file at all.
 */
export function indexRavdess(dir: string): RavdessIndex {
  if (typeof dir !== 'string' || dir.length === 0) throw invalidType('dir', 'a folder path', dir);
  const stat = fs.statSync(dir, { throwIfNoEntry: false });
  if (!stat) throw new EmoError(`dataset folder not found: ${dir}`, 'ERR_DATASET_NOT_FOUND');
  if (!stat.isDirectory()) throw new EmoError(`not a folder: ${dir}`, 'ERR_DATASET_NOT_FOUND');

  const entries: RavdessEntry[] = [];
  const skipped: SkippedFile[] = [];
  const visit = (folder: string): void => {
    for (const item of fs.readdirSync(folder, { withFileTypes: true })) {
      const full = path.join(folder, item.name);
      // Symlinked folders are not followed, so a link cycle cannot loop forever.
      if (item.isDirectory()) visit(full);
      else if ((item.isFile() || item.isSymbolicLink()) && /\.wav$/i.test(item.name)) {
        const parsed = parseRavdessName(item.name);
        if ('reason' in parsed) skipped.push({ path: full, reason: parsed.reason });
        else entries.push({ path: full, ...parsed });
      }
    }
  };
  visit(dir);
  if (entries.length === 0 && skipped.length === 0) throw new EmoError(`no .wav files in ${dir}`, 'ERR_DATASET_EMPTY');
  const byPath = (a: { path: string }, b: { path: string }) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
  entries.sort(byPath);
  skipped.sort(byPath);
  return { entries, skipped };
}
