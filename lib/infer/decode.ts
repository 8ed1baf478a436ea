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

/** What a file's first bytes say it is: see {@link sniffAudio}. */
export type AudioKind =
  /** RIFF/WAVE in PCM or IEEE float: the native decoder's. */
  | 'wav'
  /** RIFF/WAVE in another codec (A-law, mu-law, ADPCM, MP3, ...): ffmpeg's. */
  | 'wav-codec'
  /** Another audio container: AIFF, FLAC, MP3, Ogg, MP4/M4A, WebM/Matroska, CAF, AU, AMR. */
  | 'container'
  /** Nothing recognised. */
  | 'unknown';

const WAV_NATIVE_FORMATS = new Set([0x0001, 0x0003, 0xfffe]); // PCM, IEEE float, extensible (its subformat is checked natively)

/**
 * What `bytes` are, from their first bytes alone, so that a file is decoded by what it is and not
 * by its name: an MP3 named `.wav` goes to ffmpeg, a WAV named `.mp3` to the native decoder.
 */
export function sniffAudio(bytes: Uint8Array): AudioKind {
  const at = (offset: number, text: string) => bytes.length >= offset + text.length && String.fromCharCode(...bytes.subarray(offset, offset + text.length)) === text;
  if (looksLikeWav(bytes)) {
    const tag = wavFormatTag(bytes);
    return tag < 0 || WAV_NATIVE_FORMATS.has(tag) ? 'wav' : 'wav-codec';
  }
  const b0 = bytes[0] ?? 0, b1 = bytes[1] ?? 0;
  const mpegSync = b0 === 0xff && (b1 & 0xe0) === 0xe0; // MPEG audio or ADTS AAC frame
  if ((at(0, 'FORM') && (at(8, 'AIFF') || at(8, 'AIFC'))) || at(0, 'fLaC') || at(0, 'ID3') || mpegSync || at(0, 'OggS') || at(4, 'ftyp') ||
      (b0 === 0x1a && b1 === 0x45 && bytes[2] === 0xdf && bytes[3] === 0xa3) || at(0, 'caff') || at(0, '.snd') || at(0, '#!AMR') ||
      at(0, 'RF64') || at(0, 'BW64')) {
    return 'container';
  }
  return 'unknown';
}

/**
 * A RIFF/WAVE file's format tag (1 PCM, 3 IEEE float, 6 A-law, 7 mu-law, ...), read from its `fmt `
 * chunk when that comes first, as every writer puts it; -1 otherwise (the native decoder then judges).
 */
export function wavFormatTag(bytes: Uint8Array): number {
  if (bytes.length < 22 || String.fromCharCode(...bytes.subarray(12, 16)) !== 'fmt ') return -1;
  return (bytes[20] as number) | ((bytes[21] as number) << 8);
}

/**
 * Whether a file goes to ffmpeg rather than the native WAV decoder: by its content, and by its
 * name only when the content says nothing (then `.wav`, or `declaredWav`, keeps it native, so
 * that a broken WAV gets the native decoder's precise error).
 */
export function needsFfmpeg(bytes: Uint8Array, name: string, declaredWav = false): boolean {
  if (bytes.length === 0) return false;
  const kind = sniffAudio(bytes);
  if (kind === 'wav') return false;
  if (kind === 'unknown') return !(declaredWav || path.extname(name).toLowerCase() === '.wav');
  return true;
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
