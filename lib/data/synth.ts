/**
 * A synthetic speech-emotion corpus in RAVDESS layout and naming, made with
 * espeak-ng, festival and sox: for tests, demos and the bundled model, where
 * RAVDESS itself cannot be downloaded.
 *
 * `<outDir>/Actor_AA/03-01-EE-II-SS-RR-AA.wav`: 8 emotions (neutral at normal
 * intensity only), 2 statements, 2 repetitions, 60 clips per actor, 48 kHz mono
 * 16-bit PCM with ~0.5 s of room-noise lead-in. Odd actors are male, even
 * actors female; with both engines, actors 1–2 speak with espeak-ng, 3–4 with
 * festival, and so on. Each clip has its own recording chain (reverberation,
 * bandwidth, telephone channel, microphone colour, background noise, gain),
 * drawn independently of its emotion. The same seed gives byte-identical files.
 * @packageDocumentation
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EmoError } from '../errors';
import { checkInteger, checkKnownKeys, checkPlainObject, invalidRange, invalidType } from '../validate';
import { actorVoices, CHAIN_EFFECTS, ENGINES, MAX_ACTORS, planClips, prosodyTable, SAMPLE_RATE, STATEMENTS, STRONG, type ActorVoice, type ChainEffect, type ClipPlan, type SynthEngine } from './synth/plan';
import { FestivalSession } from './synth/festival';
import { INSTALL_HINT, MAX_SECONDS, renderClip, toolVersions } from './synth/render';
import { writeFileAtomic } from '../atomic';

export { CHAIN_EFFECTS, ENGINES, MAX_ACTORS, ravdessName, STATEMENTS, type ActorVoice, type ChainEffect, type Prosody, type RecordingChain, type SynthEngine } from './synth/plan';

/** Changes whenever the recipe changes, so an old corpus is not taken for a new one. */
export const SYNTH_FORMAT_VERSION = 2;

/** Name of the manifest, written last: a corpus without it is incomplete. */
export const MANIFEST_NAME = 'synth.json';

// Written first and removed last: says which corpus a half-written directory belongs to, so a
// re-run with the same settings resumes (the clips are written atomically) and another refuses.
const PENDING_NAME = '.synth-pending.json';

/** Progress of {@link synthesizeCorpus}, reported after each clip. */
export interface SynthProgress {
  /** Clips written so far in this run. */
  done: number;
  /** Clips this run writes (clips left by an interrupted run with the same settings are not redone). */
  total: number;
  /** Path of the clip just written, relative to the corpus directory. */
  file: string;
}

/** Options of {@link synthesizeCorpus}. */
export interface SynthOptions {
  /** Number of actors, 1–24 (60 clips each). Default 24. */
  actors?: number;
  /** Integer in [0, 2^53); the same seed gives byte-identical files. Default 1. */
  seed?: number;
  /** Concurrent clips (each runs espeak-ng or festival, then sox), 1–256. Default: the number of CPUs. */
  jobs?: number;
  /**
   * Speech engines, default both (`['espeak', 'festival']`): with both, pairs of actors (one male,
   * one female) alternate between them, starting with espeak-ng.
   */
  engines?: readonly SynthEngine[];
  /**
   * Recording-chain effects drawn per clip, independently of the emotion (see {@link CHAIN_EFFECTS}).
   * Default all; `[]` records every clip dry, with only the room tone.
   */
  chain?: readonly ChainEffect[];
  /** Replace a different corpus (or unrelated `Actor_*` folders) in `outDir`, or redo the same one. Default false. */
  force?: boolean;
  /** Called after each clip is written. */
  onProgress?: (progress: SynthProgress) => void;
}

/** Result of {@link synthesizeCorpus}. */
export interface SynthResult {
  /** Clips in the corpus. */
  files: number;
  /** Clips written by this call (fewer than `files` when it resumed an interrupted run, 0 when skipped). */
  written: number;
  /** Wall-clock time of the call. */
  seconds: number;
  /** The corpus directory (absolute). */
  dir: string;
  /** True when `dir` already held this corpus and nothing was written. */
  skipped: boolean;
}

/** Contents of `synth.json`. */
export interface SynthManifest {
  generator: 'emo-native synth';
  formatVersion: number;
  seed: number;
  actors: number;
  files: number;
  sampleRate: number;
  bitsPerSample: 16;
  channels: 1;
  statements: string[];
  engines: SynthEngine[];
  chain: ChainEffect[];
  /** Intensity 02 multiplies every cue of intensity 01 by this. */
  strongFactor: number;
  voices: ActorVoice[];
  /** Per emotion and intensity ('01', '02'): the prosody for a reference voice (pitch 50, 175 wpm). */
  emotions: ReturnType<typeof prosodyTable>;
  tools: Record<string, string>;
}

/** The options that define a corpus (what {@link synthesizeCorpus} and {@link planCorpus} share), checked, with defaults. */
function corpusOptions(o: Record<string, unknown>): { actors: number; seed: number; engines: SynthEngine[]; chain: ChainEffect[] } {
  return {
    actors: o.actors === undefined ? MAX_ACTORS : checkInteger('options.actors', o.actors, 1, MAX_ACTORS),
    seed: o.seed === undefined ? 1 : checkInteger('options.seed', o.seed, 0, Number.MAX_SAFE_INTEGER),
    engines: o.engines === undefined ? [...ENGINES] : checkNames('options.engines', o.engines, ENGINES, false),
    chain: o.chain === undefined ? [...CHAIN_EFFECTS] : checkNames('options.chain', o.chain, CHAIN_EFFECTS, true),
  };
}

const KNOWN_OPTIONS = ['actors', 'seed', 'jobs', 'engines', 'chain', 'force', 'onProgress'];

/** Checks a list option: a non-empty (or, with `allowEmpty`, possibly empty) array of known names, returned in canonical order without repeats. */
function checkNames<T extends string>(name: string, value: unknown, known: readonly T[], allowEmpty: boolean): T[] {
  if (!Array.isArray(value)) throw invalidType(name, `an array of ${known.map((k) => `'${k}'`).join(', ')}`, value);
  for (const [i, item] of value.entries()) if (!known.includes(item as T)) throw invalidRange(`${name}[${i}]`, `one of ${known.map((k) => `'${k}'`).join(', ')}`, item);
  if (!allowEmpty && value.length === 0) throw invalidRange(name, 'a non-empty list', value);
  return known.filter((k) => value.includes(k));
}

/**
 * Writes a synthetic RAVDESS-style corpus into `outDir`, running espeak-ng and
 * sox as `jobs` concurrent child processes.
 *
 * Each clip is written under a temporary name and renamed, and `synth.json`
 * (seed, actors, voices, per-emotion prosody, tool versions) is written last,
 * so an interrupted run leaves no complete-looking corpus; running again with
 * the same settings resumes it. If `outDir` already holds this corpus the call
 * returns at once (`skipped: true`); if it holds a different one it throws,
 * unless `force`.
 *
 * @param outDir - corpus directory; created if missing.
 * @returns the number of clips, the time taken, and the absolute directory.
 * @throws {@link EmoError} `ERR_MISSING_TOOL` when espeak-ng or sox is not installed;
 *   `ERR_INVALID_CONFIG` when `outDir` holds a different corpus and `force` is not set;
 *   TypeError/RangeError for bad arguments.
 * @example
 * ```js
 * const { synth } = require('emo-native');
 * const { files, seconds } = await synth.synthesizeCorpus('corpus', { actors: 4, seed: 7 });
 * ```
 */
export async function synthesizeCorpus(outDir: string, options?: SynthOptions): Promise<SynthResult> {
  const started = process.hrtime.bigint();
  if (typeof outDir !== 'string' || outDir.length === 0) throw invalidType('outDir', 'a directory path string', outDir);
  const o = checkPlainObject('options', options);
  checkKnownKeys('options', o, KNOWN_OPTIONS);
  const { actors, seed, engines, chain } = corpusOptions(o);
  const jobs = o.jobs === undefined ? os.availableParallelism() : checkInteger('options.jobs', o.jobs, 1, 256);
  if (o.force !== undefined && typeof o.force !== 'boolean') throw invalidType('options.force', 'a boolean', o.force);
  const force = o.force === true;
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') throw invalidType('options.onProgress', 'a function', o.onProgress);
  const onProgress = o.onProgress as SynthOptions['onProgress'];

  const dir = path.resolve(outDir);
  const elapsed = (): number => Number(process.hrtime.bigint() - started) / 1e9;
  const tools = await toolVersions(engines);
  const voices = actorVoices(seed, actors, engines);
  const clips = planClips(seed, voices, chain);
  const wanted = { formatVersion: SYNTH_FORMAT_VERSION, seed, actors, engines, chain };

  const stat = fs.statSync(dir, { throwIfNoEntry: false });
  if (stat && !stat.isDirectory()) throw invalidRange('outDir', 'a directory (or a path to create one at)', outDir);
  const manifest = readJson(path.join(dir, MANIFEST_NAME));
  const pending = readJson(path.join(dir, PENDING_NAME));
  const existing = manifest ?? pending;
  const same = existing !== undefined && sameCorpus(existing, wanted);

  if (!force) {
    if (existing !== undefined && !same) {
      throw new EmoError(
        `${outDir} already holds a different synthetic corpus (${describe(existing)}; asked for ${describe(wanted)}); pass force (--force) to replace it, or choose another directory`,
        'ERR_INVALID_CONFIG',
      );
    }
    if (existing === undefined && actorDirs(dir).length > 0) {
      throw new EmoError(`${outDir} holds Actor_* folders but no ${MANIFEST_NAME}: not a corpus made by emo synth; pass force (--force) to replace them, or choose another directory`, 'ERR_INVALID_CONFIG');
    }
    if (manifest !== undefined && same && clips.every((c) => isFile(path.join(dir, c.file)))) {
      return { files: clips.length, written: 0, seconds: elapsed(), dir, skipped: true };
    }
  }

  // From here the directory is being (re)written: drop the manifest first, so an
  // interruption cannot leave it claiming a complete corpus.
  fs.mkdirSync(dir, { recursive: true });
  fs.rmSync(path.join(dir, MANIFEST_NAME), { force: true });
  if (force || !same) removeClips(dir);
  removePartials(dir);
  await writeFileAtomic(path.join(dir, PENDING_NAME), `${JSON.stringify(wanted)}\n`);

  // Resume: a clip on disk was renamed into place complete, by a run with these settings.
  const todo = clips.filter((c) => !isFile(path.join(dir, c.file)));
  for (const actor of new Set(todo.map((c) => path.dirname(c.file)))) fs.mkdirSync(path.join(dir, actor), { recursive: true });
  let done = 0;
  // festival gets a fresh process for every clip: in a long-lived one, a clip's bytes came to
  // depend, rarely, on which clips that process had rendered before (and so on timing), and
  // festival 2.5 can abort with a corrupted heap after a few hundred utterances in one process.
  // A process costs about a second of CPU per festival clip.
  const render = async (clip: ClipPlan): Promise<Buffer> => {
    if (clip.actor.engine !== 'festival') return renderClip(clip);
    const festival = new FestivalSession();
    try {
      return await renderClip(clip, festival);
    } finally {
      festival.close();
    }
  };
  await runPool(todo, jobs, async (clip) => {
    await writeFileAtomic(path.join(dir, clip.file), await render(clip));
    done++;
    onProgress?.({ done, total: todo.length, file: clip.file });
  });

  const result: SynthManifest = {
    generator: 'emo-native synth',
    formatVersion: SYNTH_FORMAT_VERSION,
    seed,
    actors,
    files: clips.length,
    sampleRate: SAMPLE_RATE,
    bitsPerSample: 16,
    channels: 1,
    statements: STATEMENTS.map((s) => `${s[0]} ${s[1]}`),
    engines,
    chain,
    strongFactor: STRONG,
    voices,
    emotions: prosodyTable(),
    tools,
  };
  await writeFileAtomic(path.join(dir, MANIFEST_NAME), `${JSON.stringify(result, null, 2)}\n`);
  fs.rmSync(path.join(dir, PENDING_NAME), { force: true });
  return { files: clips.length, written: todo.length, seconds: elapsed(), dir, skipped: false };
}

/** The install command printed by the missing-tool error. */
export const SYNTH_INSTALL_HINT = INSTALL_HINT;

/** Longest clip, seconds. */
export const SYNTH_MAX_SECONDS = MAX_SECONDS;

/**
 * Runs `work` over `items` with at most `jobs` in flight. The first failure
 * stops new work, waits for the running items, and rejects with that failure.
 */
async function runPool<T>(items: readonly T[], jobs: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const item = items[next++] as T;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, items.length) }, worker));
  if (failure !== undefined) throw failure.error;
}

function readJson(file: string): Record<string, unknown> | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {}; // unreadable: a corpus, but not one we can match
  }
}

function sameCorpus(a: Record<string, unknown>, b: { formatVersion: number; seed: number; actors: number; engines: string[]; chain: string[] }): boolean {
  return a.formatVersion === b.formatVersion && a.seed === b.seed && a.actors === b.actors && String(a.engines) === String(b.engines) && String(a.chain) === String(b.chain);
}

function describe(m: Record<string, unknown>): string {
  if (typeof m.seed !== 'number' || typeof m.actors !== 'number') return 'an unreadable manifest';
  const version = m.formatVersion === SYNTH_FORMAT_VERSION ? '' : `, format ${String(m.formatVersion)}`;
  const engines = Array.isArray(m.engines) ? `, engines ${m.engines.join('+')}` : '';
  const chain = Array.isArray(m.chain) ? `, chain ${m.chain.length ? m.chain.join('+') : 'none'}` : '';
  return `seed ${m.seed}, ${actorCount(m.actors)}${engines}${chain}${version}`;
}

function actorCount(n: number): string {
  return `${n} actor${n === 1 ? '' : 's'}`;
}

const ACTOR_DIR = /^Actor_\d\d$/;
const CLIP_NAME = /^03-01-\d\d-\d\d-\d\d-\d\d-\d\d\.wav$/;
// The temporary names writeFileAtomic (lib/atomic) gives our own files, and nothing else.
const PARTIAL_NAME = /^\.(03-01-\d\d-\d\d-\d\d-\d\d-\d\d\.wav|synth\.json|\.synth-pending\.json)\.\d+\.\d+\.partial$/;

function actorDirs(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && ACTOR_DIR.test(e.name))
      .map((e) => path.join(dir, e.name));
  } catch {
    return [];
  }
}

/** Removes the clips of an earlier corpus (only files named like ours), and Actor folders left empty. */
function removeClips(dir: string): void {
  for (const actor of actorDirs(dir)) {
    for (const name of fs.readdirSync(actor)) if (CLIP_NAME.test(name)) fs.rmSync(path.join(actor, name), { force: true });
    if (fs.readdirSync(actor).length === 0) fs.rmdirSync(actor);
  }
}

/** Removes temporary files an interrupted run left behind. */
function removePartials(dir: string): void {
  for (const folder of [dir, ...actorDirs(dir)]) {
    for (const name of fs.readdirSync(folder)) if (PARTIAL_NAME.test(name)) fs.rmSync(path.join(folder, name), { force: true });
  }
}

function isFile(file: string): boolean {
  return fs.statSync(file, { throwIfNoEntry: false })?.isFile() ?? false;
}

/** The clip plan, for tools that want to know how each file was made without rendering it. */
export function planCorpus(options?: Pick<SynthOptions, 'actors' | 'seed' | 'engines' | 'chain'>): ClipPlan[] {
  const o = checkPlainObject('options', options);
  checkKnownKeys('options', o, ['actors', 'seed', 'engines', 'chain']);
  const { actors, seed, engines, chain } = corpusOptions(o);
  return planClips(seed, actorVoices(seed, actors, engines), chain);
}

export type { ClipPlan } from './synth/plan';
