import { checkCorpus, readManifest } from '../data/manifest';
import { ProgressBar } from './progress';
import { parseCommandLine, UsageError } from './usage';

export const CHECK_CORPUS_USAGE = `Usage: emo check-corpus <corpus dir> [--manifest ravdess-speech | FILE]

Compares a copy of a corpus with a manifest of its files (relative path, bytes,
SHA-256): every listed file must be there, byte for byte, and no other .wav file.
The default manifest, ravdess-speech, lists the 1 440 files of the RAVDESS speech set
(Audio_Speech_Actors_01-24): point it at the folder that holds Actor_01 ... Actor_24.
Prints what differs (missing, extra, other size, other content); exit code 0 when the
copy matches, 1 when it does not.`;

// Differences printed one per line; the rest are counted.
const SHOWN = 20;

export async function runCheckCorpus(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(
    argv,
    { manifest: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } },
    CHECK_CORPUS_USAGE,
  );
  if (values.help) {
    process.stdout.write(`${CHECK_CORPUS_USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('emo check-corpus needs one corpus folder', CHECK_CORPUS_USAGE);
  const dir = positionals[0] as string;
  const manifest = readManifest(values.manifest ?? 'ravdess-speech');
  const bar = new ProgressBar(manifest.entries.length, 'check', { unit: 'files' });
  const result = await checkCorpus(dir, manifest, () => bar.tick());
  bar.finish();
  if (result.ok) {
    process.stdout.write(`${dir}: all ${result.checked} files match ${manifest.source}\n`);
    return 0;
  }
  const lines = result.differences.slice(0, SHOWN).map((d) => {
    const detail = d.expected !== undefined ? `: expected ${d.expected}, found ${d.actual}` : '';
    return `  ${d.problem.padEnd(7)} ${d.path}${detail}`;
  });
  if (result.differences.length > SHOWN) lines.push(`  ... and ${result.differences.length - SHOWN} more`);
  const count = (problem: string) => result.differences.filter((d) => d.problem === problem).length;
  const summary = `${dir} differs from ${manifest.source}: ${count('missing')} missing, ${count('extra')} extra, ` +
    `${count('size') + count('content')} changed (${manifest.entries.length} listed)`;
  process.stdout.write(`${summary}\n${lines.join('\n')}\n`);
  if (result.checked === 0) process.stdout.write('No listed file was found: is this the folder that holds Actor_01 ... Actor_24?\n');
  return 1;
}
