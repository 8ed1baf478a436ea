import * as os from 'node:os';
import { CHAIN_EFFECTS, ENGINES, MAX_ACTORS, synthesizeCorpus, type ChainEffect, type SynthEngine } from '../data/synth';
import { formatDuration, ProgressBar } from './progress';
import { numberFlag, parseCommandLine, UsageError } from './usage';

export const SYNTH_USAGE = `Usage: emo synth <outDir> [--actors N] [--seed S] [--engines LIST] [--chain LIST]
                 [--jobs N] [--force]

Writes a synthetic speech-emotion corpus in RAVDESS layout and naming, spoken by
espeak-ng and festival and coloured with sox: <outDir>/Actor_01/03-01-EE-II-SS-RR-AA.wav
..., 8 emotions x intensities x 2 statements x 2 repetitions = 60 clips per actor,
48 kHz mono 16-bit, with synth.json (seed, voices, prosody, chain) written last.
The emotion is in the prosody and voice quality; each clip's recording chain is
drawn independently of its emotion.

  --actors N      actors, 1-${MAX_ACTORS} (default ${MAX_ACTORS}); odd actors male, even female
  --seed S        integer seed; the same seed gives byte-identical files (default 1)
  --engines LIST  comma-separated: ${ENGINES.join(',')} (default both: actor pairs alternate,
                  1-2 espeak-ng, 3-4 festival, ...)
  --chain LIST    recording-chain effects, comma-separated: ${CHAIN_EFFECTS.join(',')}
                  (default all), or none for dry clips with room tone only
  --jobs N        concurrent clips (default: number of CPUs)
  --force         replace a different corpus (or stray Actor_* folders) in outDir

Re-running into a finished corpus with the same settings does nothing; an
interrupted run resumes. Needs sox, espeak-ng for --engines espeak, and festival
with its voices for --engines festival:
  apt-get install -y sox espeak-ng festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts`;

/** Parses a comma-separated list flag against its known names. */
function listFlag<T extends string>(name: string, text: string | undefined, known: readonly T[], none: boolean): T[] | undefined {
  if (text === undefined) return undefined;
  if (none && text === 'none') return [];
  const items = text.split(',').map((item) => item.trim());
  for (const item of items) {
    if (!known.includes(item as T)) throw new UsageError(`--${name}: unknown '${item}'; choose from ${known.join(', ')}${none ? ', or none' : ''}`, SYNTH_USAGE);
  }
  return items as T[];
}

export async function runSynth(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(
    argv,
    {
      actors: { type: 'string' },
      seed: { type: 'string' },
      jobs: { type: 'string' },
      engines: { type: 'string' },
      chain: { type: 'string' },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    SYNTH_USAGE,
  );
  if (values.help) {
    process.stdout.write(`${SYNTH_USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'emo synth needs an output directory' : `emo synth takes one output directory, got ${positionals.length}`, SYNTH_USAGE);
  const outDir = positionals[0] as string;
  const actors = numberFlag('actors', values.actors, SYNTH_USAGE, { integer: true, min: 1, max: MAX_ACTORS }) ?? MAX_ACTORS;
  const seed = numberFlag('seed', values.seed, SYNTH_USAGE, { integer: true, min: 0, max: Number.MAX_SAFE_INTEGER }) ?? 1;
  const jobs = numberFlag('jobs', values.jobs, SYNTH_USAGE, { integer: true, min: 1, max: 256 }) ?? os.availableParallelism();
  const engines = listFlag<SynthEngine>('engines', values.engines, ENGINES, false);
  const chain = listFlag<ChainEffect>('chain', values.chain, CHAIN_EFFECTS, true);

  let progress: ProgressBar | undefined;
  const result = await synthesizeCorpus(outDir, {
    actors,
    seed,
    jobs,
    ...(engines ? { engines } : {}),
    ...(chain ? { chain } : {}),
    force: values.force,
    onProgress: ({ done, total }) => {
      progress ??= new ProgressBar(total, 'synth', { unit: 'clips' });
      progress.tick();
      if (done === total) progress.finish();
    },
  });
  const who = `${actors} actor${actors === 1 ? '' : 's'}`;
  if (result.skipped) process.stdout.write(`${outDir} already holds this corpus (seed ${seed}, ${who}, ${result.files} clips); nothing to do\n`);
  else {
    const resumed = result.written < result.files ? ` (resumed: ${result.files - result.written} were already there)` : '';
    process.stdout.write(`wrote ${result.written} clips${resumed} (${who}, seed ${seed}) to ${outDir} in ${formatDuration(result.seconds)} with ${jobs} job${jobs === 1 ? '' : 's'}\n`);
  }
  return 0;
}
