import { closeSync, fstatSync, openSync, readdirSync, readSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, join, sep } from 'node:path';
import { z } from 'zod';
import type { FileInputConfig } from '../config.ts';
import type { CollectedEvent } from '../event.ts';
import { baseEvent, PollLoop, type Collector, type CollectorContext } from './types.ts';

const fileCursorSchema = z.object({
  files: z.array(z.object({ path: z.string(), dev: z.number(), ino: z.number(), offset: z.number().int().nonnegative() })),
});
export type FileCursor = z.infer<typeof fileCursorSchema>;

interface TrackedFile {
  path: string;
  dev: number;
  ino: number;
  /** Byte position just after the last complete line taken (the durable cursor). */
  offset: number;
  fd: number | null;
  /** Renamed away or deleted: drained until quiet, then closed. */
  rotated: boolean;
  lastGrowth: number;
}

const READ_CHUNK = 256 * 1024;
/** Per file per poll, so one busy file cannot starve the others or the sender. */
const MAX_READ_PER_POLL = 4 * 1024 * 1024;

function globToRegExp(part: string): RegExp {
  let re = '';
  for (let i = 0; i < part.length; i++) {
    const c = part[i] as string;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = part.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re += `[${part.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Expands `*`, `?` and `[...]` in any path component (absolute paths). Non-matching → []. */
export function expandGlob(pattern: string): string[] {
  if (!/[*?[]/.test(pattern)) return [pattern];
  const parts = pattern.split(sep);
  let bases = [parts[0] === '' ? sep : (parts[0] as string)];
  for (const part of parts.slice(1)) {
    if (part === '') continue;
    const next: string[] = [];
    for (const base of bases) {
      if (!/[*?[]/.test(part)) {
        next.push(join(base, part));
        continue;
      }
      const re = globToRegExp(part);
      let names: string[] = [];
      try {
        names = readdirSync(base);
      } catch {
        continue;
      }
      for (const n of names.sort()) if (re.test(n)) next.push(join(base, n));
    }
    bases = next;
  }
  return bases;
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

/**
 * FileTailCollector: tails files and globs. Follows rotation by rename (the old inode is drained
 * to its end before it is let go), copytruncate and truncation (size below our offset → start over),
 * and holds a partial last line until its newline arrives. Its cursor (inode + offset per file)
 * is written with the events in the same durable queue write.
 */
export class FileTailCollector implements Collector {
  readonly id: string;
  private readonly files: TrackedFile[] = [];
  private readonly loop: PollLoop;
  private firstPoll = true;

  constructor(
    id: string,
    private readonly config: FileInputConfig,
    private readonly ctx: CollectorContext,
  ) {
    this.id = id;
    this.loop = new PollLoop(config.poll_ms, () => this.poll(), (err) => ctx.log.warn({ err, input: id }, 'file input poll failed'));
  }

  async start(): Promise<void> {
    this.restoreCursor();
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    for (const f of this.files) if (f.fd !== null) closeSync(f.fd);
  }

  private restoreCursor(): void {
    const parsed = fileCursorSchema.safeParse(this.ctx.sink.cursor());
    if (!parsed.success) return;
    this.firstPoll = false;
    for (const c of parsed.data.files) {
      const found = this.locate(c.path, c.dev, c.ino);
      if (!found) {
        this.ctx.log.warn({ file: c.path }, 'a file in the cursor is gone (rotated away and deleted?); its unread tail is lost');
        continue;
      }
      this.files.push({ path: found, dev: c.dev, ino: c.ino, offset: c.offset, fd: null, rotated: found !== c.path, lastGrowth: Date.now() });
    }
  }

  /** The path now holding inode dev:ino: the same path, or a sibling it was renamed to (app.log → app.log.1). */
  private locate(path: string, dev: number, ino: number): string | null {
    const st = statOrNull(path);
    if (st && st.dev === dev && st.ino === ino) return path;
    const dir = dirname(path);
    const stem = basename(path);
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      return null;
    }
    // Likely rotation names first, then anything else in the directory.
    names.sort((a, b) => Number(!a.startsWith(stem)) - Number(!b.startsWith(stem)));
    for (const n of names) {
      const s = statOrNull(join(dir, n));
      if (s && s.isFile() && s.dev === dev && s.ino === ino) return join(dir, n);
    }
    return null;
  }

  private discover(): void {
    const now = Date.now();
    for (const pattern of this.config.paths) {
      for (const path of expandGlob(pattern)) {
        const st = statOrNull(path);
        if (!st || !st.isFile()) continue;
        const same = this.files.find((f) => f.dev === st.dev && f.ino === st.ino);
        if (same) {
          if (same.path !== path && !same.rotated) same.path = path;
          continue;
        }
        const previous = this.files.find((f) => f.path === path && !f.rotated);
        if (previous) {
          // The path has a new inode: rotation by rename (or delete + create).
          previous.rotated = true;
          previous.lastGrowth = now;
        }
        const fromEnd = this.firstPoll && this.config.start_at === 'end';
        this.files.push({ path, dev: st.dev, ino: st.ino, offset: fromEnd ? st.size : 0, fd: null, rotated: false, lastGrowth: now });
      }
    }
    for (const f of this.files) {
      if (f.rotated) continue;
      const st = statOrNull(f.path);
      if (!st || st.dev !== f.dev || st.ino !== f.ino) {
        f.rotated = true;
        f.lastGrowth = now;
      }
    }
    this.firstPoll = false;
  }

  private open(f: TrackedFile): number | null {
    if (f.fd !== null) return f.fd;
    try {
      const fd = openSync(f.path, 'r');
      const st = fstatSync(fd);
      if (st.dev !== f.dev || st.ino !== f.ino) {
        closeSync(fd);
        return null;
      }
      f.fd = fd;
      return fd;
    } catch {
      return null;
    }
  }

  /** Reads complete lines from f at its offset; returns the lines and the offset after them. */
  private readLines(f: TrackedFile, fd: number, flushPartial: boolean): { lines: string[]; offset: number } {
    const size = fstatSync(fd).size;
    let offset = f.offset;
    if (size < offset) {
      // Truncated in place (copytruncate, or `> file`): start over from the beginning.
      this.ctx.log.info({ file: f.path, offset, size }, 'file truncated; reading from its start');
      offset = 0;
    }
    const lines: string[] = [];
    let pending: Buffer = Buffer.alloc(0);
    let pos = offset;
    const limit = Math.min(size, offset + MAX_READ_PER_POLL);
    const buf = Buffer.allocUnsafe(READ_CHUNK);
    while (pos < limit) {
      const n = readSync(fd, buf, 0, Math.min(READ_CHUNK, limit - pos), pos);
      if (n <= 0) break;
      pos += n;
      let chunk = pending.length ? Buffer.concat([pending, buf.subarray(0, n)]) : buf.subarray(0, n);
      let start = 0;
      for (let nl = chunk.indexOf(10, start); nl >= 0; nl = chunk.indexOf(10, start)) {
        lines.push(chunk.toString('utf8', start, nl > start && chunk[nl - 1] === 13 ? nl - 1 : nl));
        start = nl + 1;
      }
      offset += start;
      pending = Buffer.from(chunk.subarray(start));
      if (pending.length >= this.config.max_line_bytes) {
        // An endless line: send what we have rather than hold it forever.
        lines.push(pending.toString('utf8'));
        offset += pending.length;
        pending = Buffer.alloc(0);
      }
      chunk = Buffer.alloc(0);
    }
    if (flushPartial && pending.length) {
      lines.push(pending.toString('utf8'));
      offset += pending.length;
    }
    return { lines, offset };
  }

  private toEvent(line: string, now: string): CollectedEvent {
    const event = baseEvent(this.ctx.host, this.config.format, now);
    event.raw = line;
    if (this.config.format === 'cowrie') {
      try {
        const rec = JSON.parse(line) as { timestamp?: unknown; eventid?: unknown };
        if (typeof rec.timestamp === 'string' && !Number.isNaN(Date.parse(rec.timestamp))) event.ts = rec.timestamp;
      } catch {
        /* sent as is; the server dead-letters what it cannot parse */
      }
    }
    return event;
  }

  /** One pass: discover, read, write; public so tests can step it. */
  async poll(): Promise<void> {
    this.discover();
    const now = Date.now();
    const ts = new Date(now).toISOString();
    const events: CollectedEvent[] = [];
    const newOffsets = new Map<TrackedFile, number>();
    const closing: TrackedFile[] = [];
    // Rotated files first: their lines are older than the new file's.
    const order = [...this.files.filter((f) => f.rotated), ...this.files.filter((f) => !f.rotated)];
    for (const f of order) {
      const fd = this.open(f);
      if (fd === null) {
        if (f.rotated) closing.push(f);
        continue;
      }
      const quiet = f.rotated && now - f.lastGrowth > this.config.close_inactive_ms;
      const { lines, offset } = this.readLines(f, fd, quiet);
      if (offset !== f.offset) {
        newOffsets.set(f, offset);
        f.lastGrowth = now;
      }
      for (const line of lines) if (line.length) events.push(this.toEvent(line, ts));
      if (quiet && offset === f.offset) closing.push(f);
    }
    if (!newOffsets.size && !closing.length) return;
    const remaining = this.files.filter((f) => !closing.includes(f));
    const cursor: FileCursor = {
      files: remaining.map((f) => ({ path: f.path, dev: f.dev, ino: f.ino, offset: newOffsets.get(f) ?? f.offset })),
    };
    if (!this.ctx.sink.write(events, cursor)) return; // queue full (block policy): read again later
    for (const [f, offset] of newOffsets) f.offset = offset;
    for (const f of closing) {
      if (f.fd !== null) closeSync(f.fd);
      this.files.splice(this.files.indexOf(f), 1);
    }
  }
}
