/**
 * Progress on stderr: count, rate, ETA. On a terminal a one-line bar redrawn in place; elsewhere
 * (a log file, CI) plain lines, one per tenth of the work, so logs stay readable.
 */
export class ProgressBar {
  private done = 0;
  private readonly started = process.hrtime.bigint();
  private lastDraw = 0;
  private readonly enabled: boolean;
  private lastTenth = 0;

  constructor(
    private readonly total: number,
    private readonly label: string,
    options: { enabled?: boolean; unit?: string } = {},
  ) {
    this.enabled = options.enabled ?? Boolean(process.stderr.isTTY);
    this.unit = options.unit ?? 'items';
  }

  private readonly unit: string;

  private suffix = '';

  /** Text shown after the rate (e.g. a running loss). */
  setSuffix(text: string): void {
    this.suffix = text;
  }

  /** Marks `n` more items done. */
  tick(n = 1): void {
    this.done += n;
    const now = Date.now();
    if (this.enabled && (now - this.lastDraw > 100 || this.done >= this.total)) {
      this.lastDraw = now;
      this.draw();
    } else if (!this.enabled && this.total > 0) {
      const tenth = Math.floor((10 * this.done) / this.total);
      if (tenth > this.lastTenth) {
        this.lastTenth = tenth;
        process.stderr.write(`${this.status()}\n`);
      }
    }
  }

  /** Prints a line above the bar without breaking it. */
  log(line: string): void {
    if (this.enabled) process.stderr.write('\r\x1b[2K');
    process.stderr.write(`${line}\n`);
    if (this.enabled && this.done < this.total) this.draw();
  }

  /** Clears the bar. */
  finish(): void {
    if (this.enabled) process.stderr.write('\r\x1b[2K');
  }

  /** `label done/total rate ETA suffix`, without the bar. */
  private status(bar = ''): string {
    const seconds = Number(process.hrtime.bigint() - this.started) / 1e9;
    const rate = seconds > 0 ? this.done / seconds : 0;
    const eta = rate > 0 ? (this.total - this.done) / rate : 0;
    return `${this.label} ${bar}${this.done}/${this.total} ${rate.toFixed(1)} ${this.unit}/s ETA ${formatDuration(eta)}${this.suffix ? ` ${this.suffix}` : ''}`;
  }

  private draw(): void {
    const width = 28;
    const filled = this.total > 0 ? Math.round((width * this.done) / this.total) : width;
    process.stderr.write(`\r\x1b[2K${this.status(`${'█'.repeat(filled)}${'░'.repeat(width - filled)} `)}`);
  }
}

/** "1h02m", "3m05s", "12.3s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(s % 60).padStart(2, '0')}s`;
}
