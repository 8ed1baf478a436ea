/**
 * Audio files other than WAV, decoded by the system's ffmpeg in a child process.
 *
 * ffmpeg writes the samples as a mono 32-bit float WAV to a pipe, at the file's own sample rate,
 * so resampling stays with the package's torchaudio-exact resampler and the result takes the
 * same path as any WAV.
 *
 * @packageDocumentation
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { EmoError } from '../errors';

/** The ffmpeg executable: `EMO_FFMPEG` when set, else `ffmpeg` from the PATH. */
export function ffmpegPath(): string {
  return process.env.EMO_FFMPEG || 'ffmpeg';
}

/** True when `bytes` start like a WAV file (RIFF/WAVE): such files are decoded natively. */
export function looksLikeWav(bytes: Uint8Array): boolean {
  return bytes.length >= 12 && String.fromCharCode(...bytes.subarray(0, 4)) === 'RIFF' && String.fromCharCode(...bytes.subarray(8, 12)) === 'WAVE';
}

// ffmpeg's messages can be long; the first lines say what went wrong.
const MAX_MESSAGE = 300;

/** Options of {@link decodeWithFfmpeg}. */
export interface FfmpegDecodeOptions {
  /** Decode at most this many seconds (ffmpeg's `-t`): bounds the output of a small, very long file. */
  maxSeconds?: number;
}

/**
 * Decodes an audio file with ffmpeg into a mono float WAV.
 *
 * @throws {@link EmoError} `ERR_MISSING_TOOL` when ffmpeg is not installed, `ERR_AUDIO_DECODE`
 *   when it cannot decode the file.
 */
export function decodeWithFfmpeg(file: string, options: FfmpegDecodeOptions = {}): Promise<Uint8Array> {
  const limit = options.maxSeconds === undefined ? [] : ['-t', String(options.maxSeconds)];
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpegPath(), ['-nostdin', '-hide_banner', '-loglevel', 'error', '-i', file, '-vn', ...limit, '-ac', '1', '-c:a', 'pcm_f32le', '-f', 'wav', 'pipe:1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      if (err.length < MAX_MESSAGE) err += chunk.toString();
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'ENOENT'
          ? new EmoError(`ffmpeg is needed to decode ${path.extname(file) || 'this'} files and is not installed (Debian/Ubuntu: apt-get install ffmpeg; or set EMO_FFMPEG to its path)`, 'ERR_MISSING_TOOL')
          : new EmoError(`ffmpeg could not be started: ${error.message}`, 'ERR_MISSING_TOOL'),
      );
    });
    child.on('close', (code) => {
      if (code === 0 && out.length > 0) resolve(Buffer.concat(out));
      else reject(new EmoError(`ffmpeg cannot decode it: ${err.trim().split('\n').slice(0, 2).join(' ').slice(0, MAX_MESSAGE) || `exit code ${code}`}`, 'ERR_AUDIO_DECODE'));
    });
  });
}
