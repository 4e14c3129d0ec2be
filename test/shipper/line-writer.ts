import { closeSync, openSync, renameSync, writeSync } from 'node:fs';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 250 ms until it returns a value (not undefined), or fails after `timeoutMs`. */
export async function until<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await sleep(250);
  }
}

/**
 * An application writing numbered syslog lines at a steady rate, as a real one would: it keeps its file
 * open, so after a rotation by rename it writes a few more lines into the renamed file before it reopens.
 */
export class LineWriter {
  readonly lines: string[] = [];
  private fd: number;
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private due = 0;

  constructor(
    private readonly path: string,
    private readonly options: { ratePerSecond: number; label: string },
  ) {
    this.fd = openSync(path, 'a');
  }

  start(): void {
    this.startedAt = Date.now();
    this.due = this.lines.length;
    // Catch up on elapsed time every tick, so a slow timer on a busy machine still writes at the rate.
    this.timer = setInterval(() => {
      const target = this.due + Math.floor(((Date.now() - this.startedAt) * this.options.ratePerSecond) / 1000);
      this.write(target - this.lines.length);
    }, 100);
  }

  write(n: number): void {
    let text = '';
    for (let i = 0; i < n; i++) {
      const line = `Jan 31 12:00:00 web1 app[812]: ${this.options.label} line ${String(this.lines.length).padStart(6, '0')}`;
      this.lines.push(line);
      text += `${line}\n`;
    }
    if (text) writeSync(this.fd, text);
  }

  /** logrotate's default: rename, the app writes on through its open descriptor, then reopens the path. */
  rotate(): void {
    renameSync(this.path, `${this.path}.1`);
    this.write(5);
    closeSync(this.fd);
    this.fd = openSync(this.path, 'a');
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  close(): void {
    this.stop();
    closeSync(this.fd);
  }
}
