import * as os from 'node:os';
import { MAX_ACTORS, synthesizeCorpus } from '../data/synth';
import { formatDuration, ProgressBar } from './progress';
import { numberFlag, parseCommandLine, UsageError } from './usage';

export const SYNTH_USAGE = `Usage: emo synth <outDir> [--actors N] [--seed S] [--jobs N] [--force]

Writes a synthetic speech-emotion corpus in RAVDESS layout and naming, spoken by
espeak-ng and coloured with sox: <outDir>/Actor_01/03-01-EE-II-SS-RR-AA.wav ...,
8 emotions x intensities x 2 statements x 2 repetitions = 60 clips per actor,
48 kHz mono 16-bit, with synth.json (seed, voices, prosody) written last.

  --actors N   actors, 1-${MAX_ACTORS} (default ${MAX_ACTORS}); odd actors male, even female
  --seed S     integer seed; the same seed gives byte-identical files (default 1)
  --jobs N     concurrent espeak-ng/sox processes (default: number of CPUs)
  --force      replace a different corpus (or stray Actor_* folders) in outDir

Re-running into a finished corpus with the same settings does nothing; an
interrupted run resumes. Needs espeak-ng and sox (apt-get install -y espeak-ng sox).`;

export async function runSynth(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(
    argv,
    {
      actors: { type: 'string' },
      seed: { type: 'string' },
      jobs: { type: 'string' },
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

  let progress: ProgressBar | undefined;
  const result = await synthesizeCorpus(outDir, {
    actors,
    seed,
    jobs,
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
