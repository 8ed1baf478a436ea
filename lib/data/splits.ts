import type { RavdessEntry } from './ravdess';
import { checkInteger, checkKnownKeys, checkNumber, checkPlainObject, invalidRange, invalidType } from '../validate';
import { Mulberry32 } from '../random';

/** Options of {@link splitByActor}. */
export interface SplitOptions {
  /** Actors held out for testing. Default 21–24 (two male, two female). */
  testActors?: number[];
  /** Actors for validation (model selection). Default 19–20. */
  valActors?: number[];
  /** Actors for training. Default: every actor in neither list (1–18 by default, balanced by sex). */
  trainActors?: number[];
  /**
   * k-fold over actors: fold `fold` (0-based) is the test set, fold `fold + 1`
   * (mod k) the validation set, the rest train. Folds interleave male and
   * female actors so each is balanced by sex. Excludes the explicit lists.
   */
  folds?: number;
  fold?: number;
  /**
   * Splits utterances at random, so the same speakers appear in training and
   * test. Only for comparing with published numbers that did this: it
   * overstates accuracy on new speakers. Requires `seed`.
   */
  leakSpeakersRandomUtteranceSplit?: { seed: number; testFraction?: number; valFraction?: number };
}

/** Result of {@link splitByActor}. */
export interface Split<T extends { actor: number } = RavdessEntry> {
  train: T[];
  val: T[];
  test: T[];
  /** Which actors each split holds (sorted); empty lists in the leaking utterance split. */
  actors: { train: number[]; val: number[]; test: number[] };
  /** True only for the leaking random utterance split. */
  leaksSpeakers: boolean;
}

const SPLIT_KEYS = ['testActors', 'valActors', 'trainActors', 'folds', 'fold', 'leakSpeakersRandomUtteranceSplit'];

function actorList(name: string, value: unknown): number[] {
  if (!Array.isArray(value)) throw invalidType(name, 'an array of actor numbers', value);
  return value.map((a, i) => checkInteger(`${name}[${i}]`, a, 1, 999));
}

function actorsOf<T extends { actor: number }>(entries: T[]): number[] {
  return [...new Set(entries.map((e) => e.actor))].sort((a, b) => a - b);
}

/** The split's actors as a compact string: "1-18", "19,20", "21-24". */
export function formatActors(actors: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < actors.length; ) {
    let j = i;
    while (j + 1 < actors.length && (actors[j + 1] as number) === (actors[j] as number) + 1) j++;
    parts.push(j > i + 1 ? `${actors[i]}-${actors[j]}` : actors.slice(i, j + 1).join(','));
    i = j + 1;
  }
  return parts.join(',');
}

/**
 * Splits entries by speaker so that no actor appears in two splits (the only
 * honest way to estimate accuracy on new voices). Default: test actors 21–24,
 * validation 19–20, training 1–18.
 */
export function splitByActor<T extends { actor: number }>(entries: T[], options?: SplitOptions): Split<T> {
  if (!Array.isArray(entries)) throw invalidType('entries', 'an array of entries', entries);
  const o = checkPlainObject('options', options);
  checkKnownKeys('options', o, SPLIT_KEYS);

  if (o.leakSpeakersRandomUtteranceSplit !== undefined) return leakingSplit(entries, o.leakSpeakersRandomUtteranceSplit);

  const present = actorsOf(entries);
  let test: number[];
  let val: number[];
  let train: number[];
  if (o.folds !== undefined || o.fold !== undefined) {
    if (o.testActors || o.valActors || o.trainActors) throw new TypeError('options.folds cannot be combined with explicit actor lists');
    const k = checkInteger('options.folds', o.folds, 3, present.length);
    const fold = checkInteger('options.fold', o.fold, 0, k - 1);
    // Interleave sexes (odd actors male) so each fold gets both.
    const ordered = [...present.filter((a) => a % 2 === 1), ...present.filter((a) => a % 2 === 0)];
    const foldOf = new Map(ordered.map((a, i) => [a, i % k]));
    test = present.filter((a) => foldOf.get(a) === fold);
    val = present.filter((a) => foldOf.get(a) === (fold + 1) % k);
    train = present.filter((a) => !test.includes(a) && !val.includes(a));
  } else {
    test = o.testActors === undefined ? [21, 22, 23, 24] : actorList('options.testActors', o.testActors);
    val = o.valActors === undefined ? [19, 20] : actorList('options.valActors', o.valActors);
    train = o.trainActors === undefined ? present.filter((a) => !test.includes(a) && !val.includes(a)) : actorList('options.trainActors', o.trainActors);
    const seen = new Map<number, string>();
    for (const [name, list] of [['testActors', test], ['valActors', val], ['trainActors', train]] as const) {
      for (const a of list) {
        const other = seen.get(a);
        if (other && other !== name) throw invalidRange(`options.${name}`, `actors not already in ${other}`, a);
        seen.set(a, name);
      }
    }
  }
  const pick = (actors: number[]) => entries.filter((e) => actors.includes(e.actor));
  const result = { train: pick(train), val: pick(val), test: pick(test) };
  return {
    ...result,
    actors: { train: actorsOf(result.train), val: actorsOf(result.val), test: actorsOf(result.test) },
    leaksSpeakers: false,
  };
}

function leakingSplit<T extends { actor: number }>(entries: T[], value: unknown): Split<T> {
  const o = checkPlainObject('options.leakSpeakersRandomUtteranceSplit', value);
  checkKnownKeys('options.leakSpeakersRandomUtteranceSplit', o, ['seed', 'testFraction', 'valFraction']);
  const seed = checkInteger('options.leakSpeakersRandomUtteranceSplit.seed', o.seed, 0, 2 ** 32 - 1);
  const testFraction = o.testFraction === undefined ? 0.2 : checkNumber('options.leakSpeakersRandomUtteranceSplit.testFraction', o.testFraction, 0, 1);
  const valFraction = o.valFraction === undefined ? 0.1 : checkNumber('options.leakSpeakersRandomUtteranceSplit.valFraction', o.valFraction, 0, 1 - testFraction);
  // Seeded Fisher–Yates.
  const generator = new Mulberry32(seed);
  const random = () => generator.next();
  const shuffled = [...entries];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j] as T, shuffled[i] as T];
  }
  const nTest = Math.round(testFraction * shuffled.length);
  const nVal = Math.round(valFraction * shuffled.length);
  return {
    test: shuffled.slice(0, nTest),
    val: shuffled.slice(nTest, nTest + nVal),
    train: shuffled.slice(nTest + nVal),
    actors: { train: [], val: [], test: [] },
    leaksSpeakers: true,
  };
}
