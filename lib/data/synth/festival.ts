/**
 * festival as a child process that renders phrases: `festival --pipe` gets the commands on stdin
 * and says it is done with a marker line on stdout. (The corpus starts one per clip: see
 * synthesizeCorpus.)
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EmoError } from '../../errors';

/** The Debian packages of festival and the voices the corpus uses. */
export const FESTIVAL_INSTALL_HINT = 'apt-get install -y festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts';

/** One phrase to render: festival's voice, F0 target (diphone voices), range, duration stretch. */
export interface FestivalPhrase {
  voice: string;
  text: string;
  /** Mean F0 target, Hz (used by the diphone voices' linear-regression intonation). */
  f0Hz: number;
  /** F0 standard deviation target, Hz. */
  f0StdHz: number;
  /** Duration stretch: above 1 is slower. */
  stretch: number;
}

// Text reaches festival inside a Scheme string: only letters, spaces and light punctuation.
const SAFE_TEXT = /^[A-Za-z ,.!?']+$/;

/** A `festival --pipe` process that renders phrases to WAV files, one request at a time. */
export class FestivalSession {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly dir: string;
  private stdout = '';
  private stderr = '';
  private waiting: { marker: string; resolve: () => void; reject: (e: Error) => void } | undefined;
  private exited: Error | undefined;
  private requests = 0;

  constructor() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emo-festival-'));
    this.child = spawn('festival', ['--pipe'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdin.on('error', () => {});
    this.child.stdout.setEncoding('utf8');
    this.child.stderr.setEncoding('utf8');
    this.child.stdout.on('data', (text: string) => {
      this.stdout += text;
      const w = this.waiting;
      if (w && this.stdout.includes(w.marker)) {
        this.stdout = '';
        this.waiting = undefined;
        w.resolve();
      }
    });
    this.child.stderr.on('data', (text: string) => {
      this.stderr = (this.stderr + text).slice(-2000);
    });
    const fail = (error: Error): void => {
      this.exited ??= error;
      const w = this.waiting;
      this.waiting = undefined;
      w?.reject(this.exited);
    };
    this.child.on('error', (error: NodeJS.ErrnoException) => {
      fail(error.code === 'ENOENT' ? new EmoError(`the festival engine of the synthetic corpus is not installed (festival not found on PATH); on Debian or Ubuntu: ${FESTIVAL_INSTALL_HINT}`, 'ERR_MISSING_TOOL') : error);
    });
    this.child.on('close', (code, signal) => fail(new Error(`festival exited (${signal ? `signal ${signal}` : `exit code ${code}`})${this.stderr ? `: ${this.stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`)));
  }

  /** Renders the phrases; resolves with each phrase's WAV bytes. */
  async render(phrases: readonly FestivalPhrase[]): Promise<Buffer[]> {
    if (this.exited) throw this.exited;
    if (this.waiting) throw new Error('FestivalSession.render: one request at a time');
    const id = ++this.requests;
    const files = phrases.map((_, i) => path.join(this.dir, `${id}-${i}.wav`));
    let script = '';
    for (const [i, p] of phrases.entries()) {
      if (!SAFE_TEXT.test(p.text)) throw new Error(`festival phrase has characters outside [A-Za-z ,.!?']: ${JSON.stringify(p.text)}`);
      if (!/^[a-z0-9_]+$/.test(p.voice)) throw new Error(`bad festival voice name ${JSON.stringify(p.voice)}`);
      // Every setting is given again for every phrase, so no state carries over from the previous clip.
      script +=
        `(voice_${p.voice})\n` +
        `(set! int_lr_params '((target_f0_mean ${p.f0Hz.toFixed(2)}) (target_f0_std ${p.f0StdHz.toFixed(2)}) (model_f0_mean 170) (model_f0_std 34)))\n` +
        `(Parameter.set 'Duration_Stretch ${p.stretch.toFixed(4)})\n` +
        `(utt.save.wave (SynthText "${p.text}") "${files[i] as string}" 'riff)\n`;
    }
    const marker = `emo-done-${id}`;
    const done = new Promise<void>((resolve, reject) => {
      this.waiting = { marker, resolve, reject };
    });
    this.stderr = '';
    // festival block-buffers a piped stdout: flush, or the marker arrives only at exit.
    this.child.stdin.write(`${script}(print "${marker}")\n(fflush nil)\n`);
    await done;
    return files.map((file, i) => {
      try {
        const bytes = fs.readFileSync(file);
        fs.rmSync(file, { force: true });
        return bytes;
      } catch {
        const detail = this.stderr.trim().split('\n').slice(-2).join(' | ');
        throw new EmoError(
          `festival did not render voice ${(phrases[i] as FestivalPhrase).voice}${detail ? ` (${detail})` : ''}; is the voice installed? On Debian or Ubuntu: ${FESTIVAL_INSTALL_HINT}`,
          'ERR_MISSING_TOOL',
        );
      }
    });
  }

  /** Ends the process and removes its scratch folder. */
  close(): void {
    this.child.stdin.end();
    if (!this.exited) this.child.kill();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
