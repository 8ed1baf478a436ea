import type { SplitOptions } from '../data';
import { UsageError } from './usage';

export const SPLIT_SPEC_HELP = `default | folds:K:I | actors:TEST/VAL[/TRAIN]
                 default: test actors 21-24, validation 19-20, training 1-18;
                 folds:6:0: fold 0 of 6 over actors is the test set;
                 actors:21-24/19-20: explicit lists (ranges and commas)`;

function actorList(text: string, usage: string): number[] {
  const actors: number[] = [];
  for (const part of text.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new UsageError(`bad actor list '${text}' in --split`, usage);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    // RAVDESS names carry the actor in two digits.
    if (lo < 1 || hi > 99 || hi < lo) throw new UsageError(`bad actor range '${part.trim()}' in --split: actors are 1 to 99`, usage);
    for (let a = lo; a <= hi; a++) actors.push(a);
  }
  return actors;
}

/** Parses the `--split` value of `emo features --cache` and `emo train`. */
export function parseSplitSpec(spec: string | undefined, usage: string): SplitOptions {
  if (spec === undefined || spec === 'default') return {};
  const folds = /^folds:(\d+):(\d+)$/.exec(spec);
  if (folds) return { folds: Number(folds[1]), fold: Number(folds[2]) };
  if (spec.startsWith('actors:')) {
    const [test, val, train] = spec.slice('actors:'.length).split('/');
    if (!test || val === undefined) throw new UsageError(`--split actors: needs TEST/VAL lists, got '${spec}'`, usage);
    const options: SplitOptions = { testActors: actorList(test, usage), valActors: val === '' ? [] : actorList(val, usage) };
    if (train) options.trainActors = actorList(train, usage);
    return options;
  }
  throw new UsageError(`unknown --split '${spec}'`, usage);
}
