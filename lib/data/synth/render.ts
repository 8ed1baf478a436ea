/**
 * Rendering one clip: espeak-ng (or festival) speaks, sox resamples to 48 kHz,
 * scales the vocal tract, colours the voice and applies the recording chain,
 * and the final assembly (level, silences, room and background noise, 16-bit
 * quantisation) happens here in TypeScript so that it is exact and repeatable.
 */
import { spawn } from 'node:child_process';
import { encodeMonoWav } from '../../audio/encode';
import { EmoError } from '../../errors';
import { chainEffects, FESTIVAL_VOICES, SAMPLE_RATE, ssml, STATEMENTS, type ClipPlan, type SynthEngine } from './plan';
import { FESTIVAL_INSTALL_HINT, FestivalSession } from './festival';
import { Rng } from '../../random';

/** The external programs. */
export const TOOLS = ['espeak-ng', 'sox', 'festival'] as const;
/** The install command for every engine's tools. */
export const INSTALL_HINT = `apt-get install -y espeak-ng sox ${FESTIVAL_INSTALL_HINT.replace('apt-get install -y ', '')}`;

/** Longest clip the corpus may contain, seconds (the real recordings are 3–5 s). */
export const MAX_SECONDS = 6;

function missingTool(tools: readonly string[]): EmoError {
  const list = tools.length > 1 ? `${tools.slice(0, -1).join(', ')} and ${tools.at(-1) as string}` : (tools[0] as string);
  const packages = tools.map((t) => (t === 'festival' ? FESTIVAL_INSTALL_HINT.replace('apt-get install -y ', '') : t)).join(' ');
  return new EmoError(
    `the synthetic corpus needs ${list}, but ${tools.length > 1 ? 'they are' : 'it is'} not installed (not found on PATH); on Debian or Ubuntu: apt-get install -y ${packages} (or choose other engines)`,
    'ERR_MISSING_TOOL',
  );
}

/** Runs a program to completion, feeding `input` to its stdin; resolves with its stdout. */
export function runTool(command: string, args: readonly string[], input?: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    // A tool that exits early closes its stdin; the exit status reports why.
    child.stdin.on('error', () => {});
    child.on('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'ENOENT' ? missingTool([command]) : error);
    });
    child.on('close', (code, signal) => {
      if (code === 0) resolve(Buffer.concat(out));
      else {
        const message = Buffer.concat(err).toString('utf8').trim().split('\n').slice(-3).join(' | ');
        reject(new Error(`${command} failed (${signal ? `signal ${signal}` : `exit code ${code}`})${message ? `: ${message}` : ''}`));
      }
    });
    child.stdin.end(input);
  });
}

/**
 * Checks the tools the engines need are installed (and festival's voices) and returns their
 * versions (recorded in the manifest: another version may render different bytes).
 * @throws {@link EmoError} `ERR_MISSING_TOOL` naming the missing tools and the install command.
 */
export async function toolVersions(engines: readonly SynthEngine[]): Promise<Record<string, string>> {
  const needed = TOOLS.filter((tool) => tool === 'sox' || (tool === 'espeak-ng' ? engines.includes('espeak') : engines.includes('festival')));
  const results = await Promise.allSettled(needed.map((tool) => runTool(tool, ['--version'])));
  const missing = needed.filter((_, i) => {
    const r = results[i] as PromiseSettledResult<Buffer>;
    return r.status === 'rejected' && r.reason instanceof EmoError;
  });
  if (missing.length > 0) throw missingTool(missing);
  const patterns: Record<string, RegExp> = { 'espeak-ng': /text-to-speech:\s*(\S+)/, sox: /SoX v?(\S+)/, festival: /System:\s*([\d.]+)/ };
  const versions: Record<string, string> = {};
  for (const [i, tool] of needed.entries()) {
    const r = results[i] as PromiseSettledResult<Buffer>;
    if (r.status === 'rejected') throw r.reason;
    versions[tool] = patterns[tool]?.exec(r.value.toString('utf8'))?.[1] ?? 'unknown';
  }
  if (engines.includes('festival')) {
    const listed = (await runTool('festival', ['--pipe'], Buffer.from('(print (voice.list))\n'))).toString('utf8');
    const absent = FESTIVAL_VOICES.filter((voice) => !new RegExp(`\\b${voice}\\b`).test(listed));
    if (absent.length > 0) {
      throw new EmoError(`festival is installed but not its voice${absent.length > 1 ? 's' : ''} ${absent.join(', ')}; on Debian or Ubuntu: ${FESTIVAL_INSTALL_HINT}`, 'ERR_MISSING_TOOL');
    }
  }
  return versions;
}

/** Reads sox's raw little-endian float output. */
export function floats(raw: Buffer): Float32Array {
  const samples = new Float32Array(raw.length >> 2);
  for (let i = 0; i < samples.length; i++) samples[i] = raw.readFloatLE(i * 4);
  return samples;
}

export const RAW_FLOAT = ['-t', 'raw', '-e', 'floating-point', '-b', '32', '-L', '-c', '1'];

/**
 * sox effects that scale the vocal tract by `factor` and keep F0: `speed` scales formants and
 * pitch together, `pitch` moves the pitch back (plus `cents` more).
 */
function vocalTractEffects(factor: number, cents = 0): string[] {
  const shift = cents - 1200 * Math.log2(factor);
  return [...(factor === 1 ? [] : ['speed', factor.toFixed(4)]), ...(Math.abs(shift) < 0.5 ? [] : ['pitch', shift.toFixed(1)])];
}

/** A WAV file from an engine, resampled to 48 kHz float with the given vocal tract, pitch shift and tempo. */
async function toFloat48k(wav: Buffer, vocalTract: number, cents = 0, tempo = 1): Promise<Float32Array> {
  const tempoEffect = Math.abs(tempo - 1) < 1e-4 ? [] : ['tempo', '-s', tempo.toFixed(4)];
  return floats(await runTool('sox', ['-R', '-D', '-V1', '-t', 'wav', '-', ...RAW_FLOAT, '-r', String(SAMPLE_RATE), '-', ...vocalTractEffects(vocalTract, cents), ...tempoEffect, 'rate', '-v', String(SAMPLE_RATE)], wav));
}

/** espeak-ng: the SSML spoken, resampled to 48 kHz with the actor's vocal tract. */
async function speakEspeak(plan: ClipPlan): Promise<Float32Array> {
  const p = plan.prosody;
  const wav = await runTool('espeak-ng', ['-m', '-v', plan.actor.voice, '-p', String(p.pitch), '-s', String(p.speed), '-g', String(p.wordGap), '--stdout', ssml(plan)]);
  return toFloat48k(wav, plan.actor.vocalTract);
}

// Median F0 of festival's HTS voice (measured); its F0 comes from its own model, so pitch is moved with sox.
const HTS_F0_HZ = 177;
// Lowest F0 target given to festival's diphone voices (see speakFestival).
const DIPHONE_MIN_F0_HZ = 95;

/**
 * festival: each phrase rendered with its own pitch and rate (the contour), joined with the
 * clip's pause. The diphone voices take the F0 mean and range and the duration stretch as
 * targets; the HTS voice keeps its own intonation and timing (it ignores both), so sox shifts
 * its pitch and changes its tempo.
 */
async function speakFestival(plan: ClipPlan, session: FestivalSession): Promise<Float32Array> {
  const p = plan.prosody;
  const [subject, place] = STATEMENTS[plan.statement - 1] as readonly [string, string];
  const hts = plan.actor.voice.endsWith('_hts');
  const parts = [
    { text: `${subject},`, phrase: p.head },
    { text: `${place}${p.punctuation}`, phrase: p.tail },
  ];
  const targets = parts.map(({ phrase }) => p.pitch * (1 + phrase.pitch / 100));
  const phrases = parts.map(({ text, phrase }, i) => {
    // The diphone voices abort (heap corruption) on F0 targets near 80 Hz: lower pitches are
    // rendered at the floor and shifted down with sox.
    const f0Hz = Math.max(targets[i] as number, DIPHONE_MIN_F0_HZ);
    // A standard deviation of 25 % of the mean at range 100: a lively reading voice.
    return { voice: plan.actor.voice, text, f0Hz, f0StdHz: f0Hz * 0.25 * (p.range / 100), stretch: hts ? 1 : 1 / (p.speed * (phrase.rate / 100)) };
  });
  const wavs = await session.render(phrases);
  const pieces: Float32Array[] = [];
  for (const [i, wav] of wavs.entries()) {
    const cents = 1200 * Math.log2((targets[i] as number) / (hts ? HTS_F0_HZ : (phrases[i] as { f0Hz: number }).f0Hz));
    const tempo = hts ? p.speed * ((parts[i] as { phrase: { rate: number } }).phrase.rate / 100) : 1;
    // festival ends each phrase with its own silence; trimmed, so the pause is the clip's.
    pieces.push(trimSilence(await toFloat48k(wav, plan.actor.vocalTract, cents, tempo)));
  }
  const [a, b] = pieces as [Float32Array, Float32Array];
  const gap = Math.round((0.08 + p.wordGap * 0.01) * SAMPLE_RATE);
  const out = new Float32Array(a.length + gap + b.length);
  out.set(a, 0);
  out.set(b, a.length + gap);
  return out;
}

/** The samples between the first and last 10 ms frame within 45 dB of the loudest. */
function trimSilence(x: Float32Array): Float32Array {
  const frames = frameRms(x);
  let loudest = 0;
  for (const v of frames) loudest = Math.max(loudest, v);
  const floor = loudest * 10 ** (-45 / 20);
  let first = 0;
  while (first < frames.length - 1 && (frames[first] as number) < floor) first++;
  let last = frames.length - 1;
  while (last > first && (frames[last] as number) < floor) last--;
  return x.subarray(first * FRAME, Math.min(x.length, (last + 1) * FRAME));
}

/**
 * The voice quality of the emotion, then the recording chain, in one sox pass over the dry
 * speech. 12 dB of headroom first so boosting effects never clip; the level is set afterwards.
 * -R: repeatable (sox seeds its own randomness the same way every run); -D: no dither.
 */
async function colour(plan: ClipPlan, speech: Float32Array): Promise<Float32Array> {
  const effects = [...plan.prosody.effects, ...chainEffects(plan.chain)];
  const input = Buffer.alloc(speech.length * 4);
  for (let i = 0; i < speech.length; i++) input.writeFloatLE(speech[i] as number, i * 4);
  return floats(await runTool('sox', ['-R', '-D', '-V1', ...RAW_FLOAT, '-r', String(SAMPLE_RATE), '-', ...RAW_FLOAT, '-r', String(SAMPLE_RATE), '-', 'gain', '-12', ...effects.flat()], input));
}

const FRAME = SAMPLE_RATE / 100; // 10 ms

/** Frame RMS values of x. */
function frameRms(x: Float32Array): Float64Array {
  const frames = new Float64Array(Math.ceil(x.length / FRAME));
  for (let f = 0; f < frames.length; f++) {
    let sum = 0;
    const end = Math.min(x.length, (f + 1) * FRAME);
    for (let i = f * FRAME; i < end; i++) sum += (x[i] as number) * (x[i] as number);
    frames[f] = Math.sqrt(sum / FRAME);
  }
  return frames;
}

/** Soft limiter: linear below 0.9, then bends smoothly towards (never reaching) full scale. */
function limit(v: number): number {
  const a = Math.abs(v);
  if (a <= 0.9) return v;
  const t = (a - 0.9) / 0.1;
  return Math.sign(v) * (0.9 + (0.1 * t) / (1 + t));
}

/**
 * Trims the synthesiser's silences, sets the speech level (RMS over voiced
 * frames), and lays the speech over a room-noise floor after ~0.5 s of lead-in,
 * like the real recordings (never digital zero: a trained model must not key
 * on perfect silence).
 */
export function assemble(plan: ClipPlan, speech: Float32Array): Int16Array {
  const frames = frameRms(speech);
  let loudest = 0;
  for (const v of frames) loudest = Math.max(loudest, v);
  if (!(loudest > 0)) throw new Error(`${plan.actor.engine} produced silence for ${plan.file}`);
  const floor = loudest * 10 ** (-45 / 20);
  let first = 0;
  while ((frames[first] as number) < floor) first++;
  let last = frames.length - 1;
  while ((frames[last] as number) < floor) last--;
  const start = Math.max(0, (first - 1) * FRAME);
  const end = Math.min(speech.length, (last + 2) * FRAME);

  // Level over voiced frames (within 20 dB of the loudest), so pauses do not lower it.
  let energy = 0;
  let count = 0;
  for (let f = first; f <= last; f++) {
    const v = frames[f] as number;
    if (v >= loudest * 0.1) {
      energy += v * v;
      count++;
    }
  }
  const level = 10 ** ((plan.prosody.levelDb + plan.chain.gainDb) / 20);
  const gain = level / Math.sqrt(energy / count);

  const lead = Math.round(plan.leadSeconds * SAMPLE_RATE);
  const body = end - start;
  const minTrail = Math.round(0.2 * SAMPLE_RATE);
  let trail = Math.max(Math.round(plan.trailSeconds * SAMPLE_RATE), Math.round(plan.minSeconds * SAMPLE_RATE) - lead - body);
  trail = Math.max(minTrail, Math.min(trail, MAX_SECONDS * SAMPLE_RATE - lead - body));
  const length = lead + body + trail;
  if (length > MAX_SECONDS * SAMPLE_RATE) throw new Error(`${plan.file} would be ${(length / SAMPLE_RATE).toFixed(2)} s long, more than ${MAX_SECONDS} s`);

  const noise = roomNoise(length, plan);
  const background = plan.chain.noise ? colouredNoise(length, plan.chain.noise.colour, level * 10 ** (-plan.chain.noise.snrDb / 20), new Rng(plan.noiseSeed, 'background')) : undefined;
  const out = new Int16Array(length);
  for (let i = 0; i < length; i++) {
    const j = i - lead;
    const s = j >= 0 && j < body ? (speech[start + j] as number) * gain : 0;
    const v = limit(s + (noise[i] as number) + (background ? (background[i] as number) : 0));
    out[i] = Math.max(-32768, Math.min(32767, Math.round(v * 32767)));
  }
  return out;
}

/**
 * Background noise of the recording chain at `rms`: white, pink (Paul Kellet's economy
 * filter, -3 dB/octave) or brown (leaky integrator, -6 dB/octave), drawn from `rng`.
 */
export function colouredNoise(length: number, colour: 'white' | 'pink' | 'brown', rms: number, rng: Rng): Float64Array {
  const out = new Float64Array(length);
  let b0 = 0;
  let b1 = 0;
  let b2 = 0;
  let energy = 0;
  for (let i = 0; i < length; i++) {
    const w = rng.gauss();
    let v = w;
    if (colour === 'pink') {
      b0 = 0.99765 * b0 + w * 0.099046;
      b1 = 0.963 * b1 + w * 0.2965164;
      b2 = 0.57 * b2 + w * 1.0526913;
      v = b0 + b1 + b2 + w * 0.1848;
    } else if (colour === 'brown') {
      b0 = 0.998 * b0 + w;
      v = b0;
    }
    out[i] = v;
    energy += v * v;
  }
  const scale = rms / Math.sqrt(energy / length);
  for (let i = 0; i < length; i++) out[i] = (out[i] as number) * scale;
  return out;
}

/**
 * Breathiness, added to the dry speech: differenced (high-tilted) noise shaped by the speech's 10 ms RMS
 * envelope, so it rises and falls with the voice like turbulent airflow, and
 * fills the band above the synthesiser's 11 kHz ceiling.
 */
function withBreath(speech: Float32Array, amount: number, plan: ClipPlan): Float32Array {
  const rng = new Rng(plan.noiseSeed, 'breath');
  const out = new Float32Array(speech.length);
  const alpha = 1 / (SAMPLE_RATE / 100);
  let power = 0;
  let previous = 0;
  for (let j = 0; j < speech.length; j++) {
    const v = speech[j] as number;
    power += alpha * (v * v - power);
    const w = rng.gauss();
    // A first difference has twice the variance of its input: 1/sqrt(2) keeps unit RMS.
    out[j] = v + amount * Math.sqrt(power) * (w - previous) * 0.7071067811865476;
    previous = w;
  }
  return out;
}

/** Room tone: white hiss plus low rumble (one-pole low-passed noise), at the actor's floor. */
function roomNoise(length: number, plan: ClipPlan): Float64Array {
  const rng = new Rng(plan.noiseSeed, 'room');
  const white = new Float64Array(length);
  const rumble = new Float64Array(length);
  let state = 0;
  let ew = 0;
  let er = 0;
  for (let i = 0; i < length; i++) {
    const w = rng.gauss();
    state = 0.995 * state + rng.gauss();
    white[i] = w;
    rumble[i] = state;
    ew += w * w;
    er += state * state;
  }
  const mixWhite = plan.actor.noiseWhite / Math.sqrt(ew / length);
  const mixRumble = (1 - plan.actor.noiseWhite) / Math.sqrt(er / length);
  let e = 0;
  for (let i = 0; i < length; i++) {
    const v = mixWhite * (white[i] as number) + mixRumble * (rumble[i] as number);
    white[i] = v;
    e += v * v;
  }
  const scale = 10 ** (plan.actor.noiseDb / 20) / Math.sqrt(e / length);
  for (let i = 0; i < length; i++) white[i] = (white[i] as number) * scale;
  return white;
}

/** The finished WAV bytes of one clip. */
export async function renderClip(plan: ClipPlan, festival?: FestivalSession): Promise<Buffer> {
  let speech: Float32Array;
  if (plan.actor.engine === 'espeak') speech = await speakEspeak(plan);
  else {
    if (!festival) throw new Error(`renderClip: ${plan.file} is spoken by festival and needs a FestivalSession`);
    speech = await speakFestival(plan, festival);
  }
  if (plan.prosody.breath > 0) speech = withBreath(speech, plan.prosody.breath, plan);
  return encodeMonoWav(assemble(plan, await colour(plan, speech)), SAMPLE_RATE);
}
