/**
 * Recording conditions for robustness tests: a clip as a telephone, a noisy room, a reverberant
 * room, a lossy codec or a quiet microphone would deliver it. Used by `emo evaluate --condition`
 * to score a model on held-out actors through each of them. Noise and level changes are computed
 * here (seeded, exact SNR); band limits, reverberation and codecs run in sox and ffmpeg.
 * @packageDocumentation
 */
import { spawn } from 'node:child_process';
import { decodeWav } from '../audio';
import { encodeMonoWav } from '../audio/encode';
import { EmoError } from '../errors';
import { ffmpegPath } from '../infer/decode';
import { Rng } from '../random';

/** The conditions, in the order the model card lists them. */
export const CONDITIONS = ['clean', 'telephone', 'pink-10', 'babble-10', 'reverb', 'mp3-64', 'opus-16', 'gain-20'] as const;

/** One of {@link CONDITIONS}. */
export type Condition = (typeof CONDITIONS)[number];

/** What each condition does, for tables and `--help`. */
export const CONDITION_DESCRIPTIONS: Record<Condition, string> = {
  clean: 'the clip as it is',
  telephone: 'telephone band: 300-3400 Hz (100-Hz transition bands), resampled to 8 kHz (sox sinc, rate)',
  'pink-10': 'pink noise at 10 dB SNR over the clip (seeded)',
  'babble-10': 'babble of 6 other speakers\' clips at 10 dB SNR over the clip',
  reverb: 'room reverberation (sox reverb: reverberance 50 %, HF damping 50 %, room scale 100 %, pre-delay 20 ms)',
  'mp3-64': 'MP3 at 64 kbit/s and back (ffmpeg, libmp3lame)',
  'opus-16': 'Opus at 16 kbit/s and back (ffmpeg, libopus)',
  'gain-20': 'level 20 dB lower',
};

/** Options of {@link applyCondition}. */
export interface ConditionOptions {
  /** Seed of the noise (combined with `key`). Default 1. */
  seed?: number;
  /** What makes this clip's noise its own, e.g. its file name. Default ''. */
  key?: string;
  /** For `babble-10`: other speakers' clips at the clip's sample rate (at least one; 6 are used). */
  babble?: Float32Array[];
}

function missingTool(tool: string): EmoError {
  return new EmoError(`${tool} is needed for this recording condition and is not installed (Debian/Ubuntu: apt-get install ${tool})`, 'ERR_MISSING_TOOL');
}

/** Runs a tool on `input` (stdin) and resolves with its stdout. */
function pipeThrough(command: string, args: string[], input: Uint8Array, name: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      if (err.length < 400) err += chunk.toString();
    });
    child.stdin.on('error', () => {});
    child.on('error', (error: NodeJS.ErrnoException) => reject(error.code === 'ENOENT' ? missingTool(name) : error));
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new EmoError(`${name} failed (exit code ${code}): ${err.trim().split('\n').slice(-2).join(' ')}`, 'ERR_AUDIO_DECODE'));
    });
    child.stdin.end(input);
  });
}

/** The clip as mono float samples (channels averaged) and its rate. */
export function monoOf(wav: Uint8Array): { samples: Float32Array; sampleRate: number } {
  const { sampleRate, channels } = decodeWav(wav);
  if (channels.length === 1) return { samples: channels[0] as Float32Array, sampleRate };
  const samples = new Float32Array((channels[0] as Float32Array).length);
  for (const channel of channels) for (let i = 0; i < samples.length; i++) samples[i] = (samples[i] as number) + (channel[i] as number) / channels.length;
  return { samples, sampleRate };
}

function energy(x: Float32Array): number {
  let e = 0;
  for (const v of x) e += v * v;
  return e;
}

/** x + noise scaled so that 10·log10(Σx² / Σnoise²) is exactly `snrDb` (silent x: x unchanged). */
export function mixAtSnr(x: Float32Array, noise: Float32Array, snrDb: number): Float32Array {
  const ex = energy(x), en = energy(noise);
  const out = new Float32Array(x);
  if (ex === 0 || en === 0) return out;
  const scale = Math.sqrt(ex / (en * 10 ** (snrDb / 10)));
  for (let i = 0; i < out.length; i++) out[i] = (x[i] as number) + scale * (noise[i] as number);
  return out;
}

/** Seeded pink noise (Paul Kellet's three-pole filter of white noise, about -3 dB per octave). */
export function pinkNoise(length: number, rng: Rng): Float32Array {
  const out = new Float32Array(length);
  let b0 = 0, b1 = 0, b2 = 0;
  for (let i = 0; i < length; i++) {
    const white = rng.gauss();
    b0 = 0.99765 * b0 + white * 0.099046;
    b1 = 0.963 * b1 + white * 0.2965164;
    b2 = 0.57 * b2 + white * 1.0526913;
    out[i] = b0 + b1 + b2 + white * 0.1848;
  }
  return out;
}

/** Babble: six of the given clips, each at unit RMS, each started at a seeded offset and looped to `length`. */
export function babbleNoise(length: number, sources: Float32Array[], rng: Rng): Float32Array {
  const usable = sources.filter((s) => s.length > 0 && energy(s) > 0);
  if (usable.length === 0) throw new RangeError('babble needs at least one non-silent clip of another speaker');
  const out = new Float32Array(length);
  for (let k = 0; k < 6; k++) {
    const source = usable[rng.int(0, usable.length - 1)] as Float32Array;
    const gain = 1 / Math.sqrt(energy(source) / source.length);
    const start = rng.int(0, source.length - 1);
    for (let i = 0; i < length; i++) out[i] = (out[i] as number) + gain * (source[(start + i) % source.length] as number);
  }
  return out;
}

const FLOAT_WAV_OUT = ['-t', 'wav', '-e', 'floating-point', '-b', '32', '-'];

/**
 * The clip (WAV bytes) as `condition` delivers it, as WAV bytes: mono 32-bit float, at the clip's
 * rate (8 kHz for `telephone`, 48 kHz after Opus). Deterministic for a given seed and key, except
 * that the codecs are whatever the system's ffmpeg builds.
 *
 * @throws {@link EmoError} `ERR_MISSING_TOOL` when sox (telephone, reverb) or ffmpeg (mp3-64,
 *   opus-16) is missing; the decoder's errors for a clip that is not a readable WAV.
 */
export async function applyCondition(wav: Uint8Array, condition: Condition, options: ConditionOptions = {}): Promise<Uint8Array> {
  if (!(CONDITIONS as readonly string[]).includes(condition)) throw new RangeError(`Expected one of ${CONDITIONS.join(', ')} for condition but received ${String(condition)}`);
  const { samples, sampleRate } = monoOf(wav);
  const rng = new Rng(options.seed ?? 1, `${condition}:${options.key ?? ''}`);
  const asFloat = () => encodeMonoWav(samples, sampleRate);
  const ffmpegRoundTrip = async (encode: string[], format: string) => {
    const coded = await pipeThrough(ffmpegPath(), ['-nostdin', '-hide_banner', '-loglevel', 'error', '-f', 'wav', '-i', 'pipe:0', ...encode, '-f', format, 'pipe:1'], asFloat(), 'ffmpeg');
    return pipeThrough(ffmpegPath(), ['-nostdin', '-hide_banner', '-loglevel', 'error', '-f', format, '-i', 'pipe:0', '-ac', '1', '-c:a', 'pcm_f32le', '-f', 'wav', 'pipe:1'], coded, 'ffmpeg');
  };
  switch (condition) {
    case 'clean':
      return asFloat();
    case 'gain-20':
      return encodeMonoWav(samples.map((v) => v * 0.1), sampleRate);
    case 'pink-10':
      return encodeMonoWav(mixAtSnr(samples, pinkNoise(samples.length, rng), 10), sampleRate);
    case 'babble-10':
      return encodeMonoWav(mixAtSnr(samples, babbleNoise(samples.length, options.babble ?? [], rng), 10), sampleRate);
    case 'telephone':
      // A 100-Hz transition band: sox's default for this band at 48 kHz is so wide that 100 Hz passes at -18 dB.
      return pipeThrough('sox', ['-t', 'wav', '-', ...FLOAT_WAV_OUT, 'sinc', '-t', '100', '300-3400', 'rate', '8000'], asFloat(), 'sox');
    case 'reverb':
      return pipeThrough('sox', ['-t', 'wav', '-', ...FLOAT_WAV_OUT, 'reverb', '50', '50', '100', '100', '20'], asFloat(), 'sox');
    case 'mp3-64':
      return ffmpegRoundTrip(['-c:a', 'libmp3lame', '-b:a', '64k'], 'mp3');
    case 'opus-16':
      return ffmpegRoundTrip(['-c:a', 'libopus', '-b:a', '16k'], 'ogg');
  }
}
