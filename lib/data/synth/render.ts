/**
 * Rendering one clip: espeak-ng speaks the SSML, sox resamples it to 48 kHz and
 * colours the voice, and the final assembly (level, silences, room noise,
 * 16-bit quantisation) happens here in TypeScript so that it is exact and
 * repeatable.
 */
import { spawn } from 'node:child_process';
import { EmoError } from '../../errors';
import { SAMPLE_RATE, ssml, type ClipPlan } from './plan';
import { Rng } from '../../random';

/** The external programs, with the install hint every missing-tool error gives. */
export const TOOLS = ['espeak-ng', 'sox'] as const;
export const INSTALL_HINT = 'apt-get install -y espeak-ng sox';

/** Longest clip the corpus may contain, seconds (the real recordings are 3–5 s). */
export const MAX_SECONDS = 6;

function missingTool(tools: readonly string[]): EmoError {
  const list = tools.join(' and ');
  return new EmoError(
    `the synthetic corpus needs espeak-ng and sox, but ${list} ${tools.length > 1 ? 'are' : 'is'} not installed (not found on PATH); on Debian or Ubuntu: ${INSTALL_HINT}`,
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
 * Checks both tools are installed and returns their versions (recorded in the
 * manifest: another version may render different bytes).
 * @throws {@link EmoError} `ERR_MISSING_TOOL` naming the missing tools and the install command.
 */
export async function toolVersions(): Promise<Record<(typeof TOOLS)[number], string>> {
  const results = await Promise.allSettled(TOOLS.map((tool) => runTool(tool, ['--version'])));
  const missing = TOOLS.filter((_, i) => {
    const r = results[i] as PromiseSettledResult<Buffer>;
    return r.status === 'rejected' && r.reason instanceof EmoError;
  });
  if (missing.length > 0) throw missingTool(missing);
  const version = (i: number, pattern: RegExp): string => {
    const r = results[i] as PromiseSettledResult<Buffer>;
    if (r.status === 'rejected') throw r.reason;
    return pattern.exec(r.value.toString('utf8'))?.[1] ?? 'unknown';
  };
  return { 'espeak-ng': version(0, /text-to-speech:\s*(\S+)/), sox: version(1, /SoX v?(\S+)/) };
}

/** espeak-ng then sox: the coloured speech at 48 kHz, float samples, silences not yet trimmed. */
async function speak(plan: ClipPlan): Promise<Float32Array> {
  const p = plan.prosody;
  const wav = await runTool('espeak-ng', ['-m', '-v', plan.actor.voice, '-p', String(p.pitch), '-s', String(p.speed), '-g', String(p.wordGap), '--stdout', ssml(plan)]);
  // -R: repeatable (sox seeds its own randomness the same way every run); -D: no dither.
  // 12 dB of headroom first so boosting effects never clip; the level is set afterwards.
  const raw = await runTool(
    'sox',
    ['-R', '-D', '-V1', '-t', 'wav', '-', '-t', 'raw', '-e', 'floating-point', '-b', '32', '-L', '-c', '1', '-r', String(SAMPLE_RATE), '-', 'gain', '-12', 'rate', '-v', String(SAMPLE_RATE), ...p.effects.flat()],
    wav,
  );
  const samples = new Float32Array(raw.length >> 2);
  for (let i = 0; i < samples.length; i++) samples[i] = raw.readFloatLE(i * 4);
  return samples;
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
  if (!(loudest > 0)) throw new Error(`espeak-ng produced silence for ${plan.file}`);
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
  const gain = 10 ** (plan.prosody.levelDb / 20) / Math.sqrt(energy / count);

  const lead = Math.round(plan.leadSeconds * SAMPLE_RATE);
  const body = end - start;
  const minTrail = Math.round(0.2 * SAMPLE_RATE);
  let trail = Math.max(Math.round(plan.trailSeconds * SAMPLE_RATE), Math.round(plan.minSeconds * SAMPLE_RATE) - lead - body);
  trail = Math.max(minTrail, Math.min(trail, MAX_SECONDS * SAMPLE_RATE - lead - body));
  const length = lead + body + trail;
  if (length > MAX_SECONDS * SAMPLE_RATE) throw new Error(`${plan.file} would be ${(length / SAMPLE_RATE).toFixed(2)} s long, more than ${MAX_SECONDS} s`);

  const noise = roomNoise(length, plan);
  const breath = plan.prosody.breath > 0 ? breathNoise(speech, start, body, gain * plan.prosody.breath, plan) : undefined;
  const out = new Int16Array(length);
  for (let i = 0; i < length; i++) {
    const j = i - lead;
    const s = j >= 0 && j < body ? limit((speech[start + j] as number) * gain + (breath ? (breath[j] as number) : 0)) : 0;
    out[i] = Math.max(-32768, Math.min(32767, Math.round(((noise[i] as number) + s) * 32767)));
  }
  return out;
}

/**
 * Breathiness: differenced (high-tilted) noise shaped by the speech's 10 ms RMS
 * envelope, so it rises and falls with the voice like turbulent airflow, and
 * fills the band above the synthesiser's 11 kHz ceiling.
 */
function breathNoise(speech: Float32Array, start: number, body: number, amount: number, plan: ClipPlan): Float64Array {
  const rng = new Rng(plan.noiseSeed, 'breath');
  const out = new Float64Array(body);
  const alpha = 1 / (SAMPLE_RATE / 100);
  let power = 0;
  let previous = 0;
  for (let j = 0; j < body; j++) {
    const v = speech[start + j] as number;
    power += alpha * (v * v - power);
    const w = rng.gauss();
    // A first difference has twice the variance of its input: 1/sqrt(2) keeps unit RMS.
    out[j] = amount * Math.sqrt(power) * (w - previous) * 0.7071067811865476;
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

/** A 16-bit mono PCM WAV file. */
export function encodeWav(samples: Int16Array, sampleRate = SAMPLE_RATE): Buffer {
  const data = samples.length * 2;
  const buf = Buffer.alloc(44 + data);
  buf.write('RIFF', 0, 'latin1');
  buf.writeUInt32LE(36 + data, 4);
  buf.write('WAVE', 8, 'latin1');
  buf.write('fmt ', 12, 'latin1');
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20); // PCM
  buf.writeUInt16LE(1, 22); // mono
  buf.writeUInt32LE(sampleRate, 24);
  buf.writeUInt32LE(sampleRate * 2, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36, 'latin1');
  buf.writeUInt32LE(data, 40);
  for (let i = 0; i < samples.length; i++) buf.writeInt16LE(samples[i] as number, 44 + 2 * i);
  return buf;
}

/** The finished WAV bytes of one clip. */
export async function renderClip(plan: ClipPlan): Promise<Buffer> {
  return encodeWav(assemble(plan, await speak(plan)));
}
