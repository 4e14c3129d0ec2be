import { existsSync } from 'node:fs';
import { z } from 'zod';
import type { CollectedEvent } from '../event.ts';
import { isMissingProgram, runCommand, type CommandRunner } from './command.ts';
import { baseEvent, PollLoop, type Collector, type CollectorContext } from './types.ts';

const journalCursorSchema = z.object({ cursor: z.string() });

/** The journal fields we use; journald gives bytes arrays for non-UTF-8 values. */
const journalEntrySchema = z
  .object({
    __CURSOR: z.string(),
    __REALTIME_TIMESTAMP: z.string().optional(),
    MESSAGE: z.union([z.string(), z.array(z.number())]).optional(),
    SYSLOG_IDENTIFIER: z.string().optional(),
    _COMM: z.string().optional(),
    _PID: z.string().optional(),
    _HOSTNAME: z.string().optional(),
    PRIORITY: z.string().optional(),
    SYSLOG_FACILITY: z.string().optional(),
  })
  .passthrough();

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A journal entry as the classic syslog line (`<PRI>Mmm dd hh:mm:ss host ident[pid]: msg`) the server's syslog path parses. */
export function journalEntryToSyslogLine(e: z.infer<typeof journalEntrySchema>, fallbackHost: string): { line: string; ts: string } {
  const at = new Date(e.__REALTIME_TIMESTAMP ? Number(BigInt(e.__REALTIME_TIMESTAMP) / 1000n) : Date.now());
  const msg = Array.isArray(e.MESSAGE) ? Buffer.from(e.MESSAGE).toString('utf8') : (e.MESSAGE ?? '');
  const pri = Number(e.SYSLOG_FACILITY ?? 1) * 8 + Number(e.PRIORITY ?? 6);
  const stamp = `${MONTHS[at.getUTCMonth()]} ${String(at.getUTCDate()).padStart(2, ' ')} ${at.toISOString().slice(11, 19)}`;
  const ident = e.SYSLOG_IDENTIFIER ?? e._COMM ?? 'journal';
  return { line: `<${pri}>${stamp} ${e._HOSTNAME ?? fallbackHost} ${ident}${e._PID ? `[${e._PID}]` : ''}: ${msg}`, ts: at.toISOString() };
}

/**
 * JournaldCollector: `journalctl -o json --after-cursor` each poll, sent as `syslog` lines. The system
 * journal, or the journal files of one directory (`directory`). journalctl runs without a shell, its
 * arguments one argv element each. Without journalctl (or a journal) it logs once and stays idle; a
 * configured directory that does not exist yet is looked for again on every poll.
 */
export class JournaldCollector implements Collector {
  private readonly loop: PollLoop;
  private cursor: string | undefined;
  private disabled = false;
  private saidMissingDirectory = false;

  constructor(
    readonly id: string,
    private readonly config: { poll_ms: number; units: string[]; directory?: string; batch?: number },
    private readonly ctx: CollectorContext,
    private readonly run: CommandRunner = runCommand,
  ) {
    this.loop = new PollLoop(config.poll_ms, () => this.poll(), (err) => ctx.log.warn({ err }, 'journald poll failed'));
  }

  async start(): Promise<void> {
    const parsed = journalCursorSchema.safeParse(this.ctx.sink.cursor());
    if (parsed.success) this.cursor = parsed.data.cursor;
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }

  async poll(): Promise<void> {
    if (this.disabled) return;
    const { directory } = this.config;
    if (directory && !existsSync(directory)) {
      if (!this.saidMissingDirectory) this.ctx.log.info({ directory }, 'journal directory does not exist (yet); journald input waits for it');
      this.saidMissingDirectory = true;
      return;
    }
    // -n counts forward from --after-cursor / --since: the oldest unsent entries come first.
    const args = ['-o', 'json', '--no-pager', '-n', String(this.config.batch ?? 5_000)];
    if (directory) args.push(`--directory=${directory}`);
    if (this.cursor) args.push(`--after-cursor=${this.cursor}`);
    else args.push('--since=-1min'); // first start: recent entries only, not the whole history
    for (const u of this.config.units) args.push('-u', u);
    let out: string;
    try {
      const r = await this.run('journalctl', args);
      if (r.code !== 0 && !r.stdout) {
        this.ctx.log.info({ stderr: r.stderr.trim().slice(0, 200) }, 'journalctl failed; journald input idle');
        this.disabled = true;
        return;
      }
      out = r.stdout;
    } catch (err) {
      if (isMissingProgram(err)) {
        this.ctx.log.info('journalctl not found; journald input skipped');
        this.disabled = true;
        return;
      }
      throw err;
    }
    const events: CollectedEvent[] = [];
    let last: string | undefined;
    for (const text of out.split('\n')) {
      if (!text.trim()) continue;
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        continue;
      }
      const entry = journalEntrySchema.safeParse(json);
      if (!entry.success) continue;
      const { line, ts } = journalEntryToSyslogLine(entry.data, this.ctx.host.hostname);
      const event = baseEvent(this.ctx.host, 'syslog', ts);
      event.raw = line;
      events.push(event);
      last = entry.data.__CURSOR;
    }
    if (last && this.ctx.sink.write(events, { cursor: last })) this.cursor = last;
  }
}
