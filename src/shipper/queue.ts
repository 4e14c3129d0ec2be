import {
  closeSync,
  existsSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { z } from 'zod';
import type { CollectedEvent } from './event.ts';

/**
 * DurableQueue: the shipper's on-disk queue.
 *
 * Layout of its directory:
 *   seg-<first seq>.log  append-only segments; one line per record: `<crc32 hex> <json>`.
 *                        Event records `{s: seq, t: enqueued ms, e: event}`; cursor records
 *                        `{c: collector id, g: generation, v: cursor}` written in the SAME write as
 *                        the events they cover, so a cursor is never durable without its events.
 *   acks.log             append-only, fsync'd: seq ranges that are done (sent / rejected / dropped).
 *   state.json           checkpoint (written to a temp file, fsync'd, renamed): low-water mark, done seqs
 *                        above it, lifetime totals, latest cursors, next seq. Written before any segment
 *                        is deleted, after which acks.log starts over.
 *
 * Guarantees:
 *   - append() returns only after the records are fsync'd; collectors move their cursor only via append().
 *   - seqs are contiguous and never reused (a torn tail record was never acknowledged to anyone).
 *   - a record leaves the queue only through complete() (server said stored/duplicate/rejected) or the cap
 *     policy (counted in totals.dropped, durable).
 *   - after kill -9, reopening replays: everything not yet done is sent again with the same seq, so the
 *     server's seq-derived ids keep storage exactly-once.
 */

export interface QueueRecord {
  seq: number;
  /** Enqueue time (ms since epoch). */
  t: number;
  event: CollectedEvent;
}

export interface QueueOptions {
  maxEvents: number;
  maxBytes: number;
  policy: 'drop_oldest' | 'block';
  segmentBytes: number;
}

export interface QueueTotals {
  sent: number;
  rejected: number;
  dropped: number;
}

export interface QueueStats {
  depth: number;
  bytes: number;
  oldestEnqueuedAt?: number;
  nextSeq: number;
  inFlight: number;
  totals: QueueTotals;
}

export type Outcome = 'sent' | 'rejected' | 'dropped';

export class QueueFullError extends Error {
  constructor(readonly depth: number) {
    super(`queue full (${depth} events)`);
    this.name = 'QueueFullError';
  }
}

const eventLineSchema = z.object({ s: z.number().int().nonnegative(), t: z.number(), e: z.record(z.string(), z.unknown()) });
const cursorLineSchema = z.object({ c: z.string(), g: z.number().int().nonnegative(), v: z.unknown() });
const ackLineSchema = z.object({
  n: z.number().int().nonnegative(),
  k: z.enum(['sent', 'rejected', 'dropped']),
  r: z.array(z.tuple([z.number().int(), z.number().int()])),
});
const stateSchema = z.object({
  version: z.literal(1),
  low: z.number().int().nonnegative(),
  done: z.array(z.number().int().nonnegative()),
  next_seq: z.number().int().nonnegative(),
  gen: z.number().int().nonnegative(),
  /** Ack lines numbered up to here are already in this checkpoint (guards the totals against a crash before acks.log restarts). */
  acks_upto: z.number().int(),
  totals: z.object({ sent: z.number(), rejected: z.number(), dropped: z.number() }),
  cursors: z.record(z.string(), z.object({ g: z.number().int(), v: z.unknown() })),
});

interface Segment {
  name: string;
  firstSeq: number | null;
  lastSeq: number | null;
  bytes: number;
}

interface ParsedLine {
  json: unknown;
  end: number;
}

function encodeLine(value: unknown): string {
  const json = JSON.stringify(value);
  return `${crc32(json).toString(16).padStart(8, '0')} ${json}\n`;
}

/** Parses one `<crc> <json>` line; null when torn or corrupt (bad crc, bad JSON). */
function decodeLine(line: string): unknown {
  if (line.length < 10 || line[8] !== ' ') return null;
  const json = line.slice(9);
  if (crc32(json).toString(16).padStart(8, '0') !== line.slice(0, 8)) return null;
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return null;
  }
}

/** Complete lines in buf[0, length); stops at the first line without a newline. */
function* linesIn(buf: Buffer, length: number): Generator<ParsedLine & { ok: boolean }> {
  let start = 0;
  while (start < length) {
    const nl = buf.indexOf(10, start);
    if (nl < 0 || nl >= length) return;
    const json = decodeLine(buf.toString('utf8', start, nl));
    yield { json, end: nl + 1, ok: json !== null };
    start = nl + 1;
  }
}

function toRanges(seqs: number[]): Array<[number, number]> {
  const sorted = [...seqs].sort((a, b) => a - b);
  const out: Array<[number, number]> = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && s === last[1] + 1) last[1] = s;
    else out.push([s, s]);
  }
  return out;
}

function fsyncDir(dir: string): void {
  // Makes a created/renamed/deleted entry durable; not supported on every platform (Windows).
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* best effort */
  }
}

export class DurableQueue {
  private segments: Segment[] = [];
  private writeFd: number | null = null;
  private ackFd: number;
  private ackBytes = 0;
  private ackN = 0;
  private ackUpto = -1;
  private segmentCounter = 0;
  private nextSeq = 0;
  private gen = 0;
  private low = 0;
  private readonly done = new Set<number>();
  private readonly inFlight = new Map<number, QueueRecord>();
  private retry: QueueRecord[] = [];
  private readPos: { segment: string; offset: number } | null = null;
  private readBuf = Buffer.alloc(1024 * 1024);
  /** [first seq of an append, its enqueue time]: enough to tell the age of the oldest pending event. */
  private appendTimes: Array<[number, number]> = [];
  private readonly cursors = new Map<string, { g: number; v: unknown }>();
  private totals: QueueTotals = { sent: 0, rejected: 0, dropped: 0 };

  private constructor(
    readonly dir: string,
    private readonly options: QueueOptions,
  ) {
    mkdirSync(dir, { recursive: true });
    this.recover();
    this.ackFd = openSync(join(dir, 'acks.log'), 'a');
    this.ackBytes = statSync(join(dir, 'acks.log')).size;
  }

  static open(dir: string, options: QueueOptions): DurableQueue {
    return new DurableQueue(dir, options);
  }

  // ---------- recovery ----------

  private recover(): void {
    const statePath = join(this.dir, 'state.json');
    if (existsSync(statePath)) {
      const state = stateSchema.parse(JSON.parse(readFileSync(statePath, 'utf8')));
      this.low = state.low;
      for (const s of state.done) this.done.add(s);
      this.nextSeq = state.next_seq;
      this.gen = state.gen;
      this.ackUpto = state.acks_upto;
      this.ackN = state.acks_upto + 1;
      this.totals = { ...state.totals };
      for (const [id, c] of Object.entries(state.cursors)) this.cursors.set(id, c);
    }
    const names = readdirSync(this.dir)
      .filter((n) => /^seg-\d{16}\.log$/.test(n))
      .sort();
    for (const name of names) this.segments.push(this.scanSegment(name));
    this.segmentCounter = names.length ? Number(names[names.length - 1]!.slice(4, 20)) + 1 : 0;
    for (const seg of this.segments) if (seg.lastSeq !== null) this.nextSeq = Math.max(this.nextSeq, seg.lastSeq + 1);
    this.replayAcks();
    this.advanceLow();
    this.appendTimes = this.appendTimes.filter((_, i, a) => (a[i + 1]?.[0] ?? Infinity) > this.low);
    const first = this.segments[0];
    this.readPos = first ? { segment: first.name, offset: 0 } : null;
  }

  /** Reads a segment, keeps its valid prefix (truncating a torn tail), and learns seqs, times and cursors. */
  private scanSegment(name: string): Segment {
    const path = join(this.dir, name);
    const buf = readFileSync(path);
    const seg: Segment = { name, firstSeq: null, lastSeq: null, bytes: 0 };
    let lastT = -1;
    for (const line of linesIn(buf, buf.length)) {
      if (!line.ok) break;
      const ev = eventLineSchema.safeParse(line.json);
      if (ev.success) {
        seg.firstSeq ??= ev.data.s;
        seg.lastSeq = ev.data.s;
        if (ev.data.t !== lastT) this.appendTimes.push([ev.data.s, ev.data.t]);
        lastT = ev.data.t;
      } else {
        const cur = cursorLineSchema.safeParse(line.json);
        if (!cur.success) break;
        const known = this.cursors.get(cur.data.c);
        if (!known || known.g <= cur.data.g) this.cursors.set(cur.data.c, { g: cur.data.g, v: cur.data.v });
        this.gen = Math.max(this.gen, cur.data.g + 1);
      }
      seg.bytes = line.end;
    }
    if (seg.bytes < buf.length) {
      // A torn tail: the write never returned, so nobody was told it was durable. Cut it off.
      const fd = openSync(path, 'r+');
      try {
        ftruncateSync(fd, seg.bytes);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    return seg;
  }

  private replayAcks(): void {
    const path = join(this.dir, 'acks.log');
    if (!existsSync(path)) return;
    const buf = readFileSync(path);
    let valid = 0;
    for (const line of linesIn(buf, buf.length)) {
      if (!line.ok) break;
      const ack = ackLineSchema.safeParse(line.json);
      if (!ack.success) break;
      valid = line.end;
      this.ackN = Math.max(this.ackN, ack.data.n + 1);
      if (ack.data.n <= this.ackUpto) continue;
      for (const [a, b] of ack.data.r) {
        for (let s = a; s <= b; s++) if (s >= this.low && s < this.nextSeq && !this.done.has(s)) this.done.add(s);
      }
      this.totals[ack.data.k] += ack.data.r.reduce((sum, [a, b]) => sum + (b - a + 1), 0);
    }
    if (valid < buf.length) {
      const fd = openSync(path, 'r+');
      try {
        ftruncateSync(fd, valid);
      } finally {
        closeSync(fd);
      }
    }
  }

  private advanceLow(): void {
    while (this.done.has(this.low)) {
      this.done.delete(this.low);
      this.low++;
    }
  }

  // ---------- writing ----------

  /** Events not yet done (queued or in flight). */
  depth(): number {
    return this.nextSeq - this.low - this.done.size;
  }

  private totalBytes(): number {
    return this.segments.reduce((sum, s) => sum + s.bytes, 0);
  }

  /**
   * Appends events (and optionally the collector cursor they advance to) durably.
   * Returns after fsync; only then may the collector consider them acknowledged.
   * Under the `block` policy a full queue throws QueueFullError and writes nothing.
   */
  append(events: CollectedEvent[], cursor?: { id: string; value: unknown }): QueueRecord[] {
    if (events.length === 0 && !cursor) return [];
    if (this.options.policy === 'block' && events.length > 0) {
      if (this.depth() + events.length > this.options.maxEvents || this.totalBytes() > this.options.maxBytes) throw new QueueFullError(this.depth());
    }
    const t = Date.now();
    const records: QueueRecord[] = [];
    let text = '';
    for (const event of events) {
      const rec: QueueRecord = { seq: this.nextSeq + records.length, t, event };
      records.push(rec);
      text += encodeLine({ s: rec.seq, t, e: event });
    }
    if (cursor) text += encodeLine({ c: cursor.id, g: this.gen, v: cursor.value });
    const seg = this.writableSegment();
    const bytes = Buffer.from(text, 'utf8');
    let written = 0;
    while (written < bytes.length) written += writeSync(this.writeFd as number, bytes, written, bytes.length - written);
    fsyncSync(this.writeFd as number);
    // Durable from here on.
    seg.bytes += bytes.length;
    if (records.length) {
      seg.firstSeq ??= records[0]!.seq;
      seg.lastSeq = records[records.length - 1]!.seq;
      this.appendTimes.push([records[0]!.seq, t]);
      this.nextSeq += records.length;
    }
    if (cursor) {
      this.cursors.set(cursor.id, { g: this.gen, v: cursor.value });
      this.gen++;
    }
    if (this.options.policy === 'drop_oldest') this.enforceCap();
    return records;
  }

  cursor(id: string): unknown {
    return this.cursors.get(id)?.v;
  }

  private writableSegment(): Segment {
    const seg = this.segments[this.segments.length - 1];
    if (seg && this.writeFd !== null && seg.bytes < this.options.segmentBytes) return seg;
    if (seg && this.writeFd === null && seg.bytes < this.options.segmentBytes) {
      this.writeFd = openSync(join(this.dir, seg.name), 'a');
      return seg;
    }
    return this.roll();
  }

  /** Starts a new segment; names carry a counter so they sort in write order. */
  private roll(): Segment {
    if (this.writeFd !== null) closeSync(this.writeFd);
    const name = `seg-${String(this.segmentCounter++).padStart(16, '0')}.log`;
    this.writeFd = openSync(join(this.dir, name), 'a');
    fsyncDir(this.dir);
    const seg: Segment = { name, firstSeq: null, lastSeq: null, bytes: 0 };
    this.segments.push(seg);
    this.readPos ??= { segment: seg.name, offset: 0 };
    return seg;
  }

  /** drop_oldest: past the cap, the oldest events not in flight are marked dropped (durably, and counted). */
  private enforceCap(): void {
    const dropped = new Set<number>();
    let over = this.depth() - this.options.maxEvents;
    for (let s = this.low; over > 0 && s < this.nextSeq; s++) {
      if (this.done.has(s) || this.inFlight.has(s)) continue;
      dropped.add(s);
      over--;
    }
    if (this.totalBytes() > this.options.maxBytes) {
      // Bytes are reclaimed a segment at a time: drop what is left of the oldest full segments.
      let bytes = this.totalBytes();
      for (const seg of this.segments.slice(0, -1)) {
        if (bytes <= this.options.maxBytes) break;
        if (seg.firstSeq !== null && seg.lastSeq !== null) {
          for (let s = Math.max(seg.firstSeq, this.low); s <= seg.lastSeq; s++) {
            if (!this.done.has(s) && !this.inFlight.has(s)) dropped.add(s);
          }
        }
        bytes -= seg.bytes;
      }
    }
    if (dropped.size) this.markDone([...dropped], 'dropped');
  }

  // ---------- reading ----------

  /** Up to `max` pending records, oldest first (earlier failures first); they are in flight until complete() or release(). */
  take(max: number): QueueRecord[] {
    const out: QueueRecord[] = [];
    while (this.retry.length && out.length < max) {
      const rec = this.retry.shift() as QueueRecord;
      if (this.isDone(rec.seq)) continue;
      this.inFlight.set(rec.seq, rec);
      out.push(rec);
    }
    while (out.length < max && this.readPos) {
      const batch = this.readFromDisk(max - out.length);
      if (batch === null) break;
      for (const rec of batch) {
        this.inFlight.set(rec.seq, rec);
        out.push(rec);
      }
    }
    return out;
  }

  private isDone(seq: number): boolean {
    return seq < this.low || this.done.has(seq);
  }

  /** Reads forward from readPos; null when there is nothing more on disk right now. */
  private readFromDisk(max: number): QueueRecord[] | null {
    const pos = this.readPos as { segment: string; offset: number };
    let index = this.segments.findIndex((s) => s.name === pos.segment);
    if (index < 0) {
      // Our segment was deleted (everything in it done): continue at the oldest remaining one.
      const first = this.segments[0];
      if (!first) return null;
      this.readPos = { segment: first.name, offset: 0 };
      index = 0;
    }
    const seg = this.segments[index] as Segment;
    const at = (this.readPos as { offset: number }).offset;
    if (at >= seg.bytes) {
      const next = this.segments[index + 1];
      if (!next) return null;
      this.readPos = { segment: next.name, offset: 0 };
      return [];
    }
    const want = Math.min(seg.bytes - at, this.readBuf.length);
    const fd = openSync(join(this.dir, seg.name), 'r');
    let got: number;
    try {
      got = readSync(fd, this.readBuf, 0, want, at);
    } finally {
      closeSync(fd);
    }
    const out: QueueRecord[] = [];
    let consumed = 0;
    for (const line of linesIn(this.readBuf, got)) {
      consumed = line.end;
      const ev = eventLineSchema.safeParse(line.json);
      if (ev.success && !this.isDone(ev.data.s) && !this.inFlight.has(ev.data.s)) {
        out.push({ seq: ev.data.s, t: ev.data.t, event: ev.data.e as CollectedEvent });
        if (out.length >= max) break;
      }
    }
    if (consumed === 0) {
      // One record larger than the buffer: grow it and try again.
      this.readBuf = Buffer.alloc(this.readBuf.length * 2);
      return [];
    }
    this.readPos = { segment: seg.name, offset: at + consumed };
    return out;
  }

  /** Failed items go back to the front of the line, to be retried before newer ones. */
  release(seqs: number[]): void {
    const back: QueueRecord[] = [];
    for (const s of seqs) {
      const rec = this.inFlight.get(s);
      if (!rec) continue;
      this.inFlight.delete(s);
      if (!this.isDone(s)) back.push(rec);
    }
    this.retry = [...back, ...this.retry].sort((a, b) => a.seq - b.seq);
  }

  /** Server acknowledged these (stored, duplicate or rejected): durably done, never sent again. */
  complete(seqs: number[], outcome: Exclude<Outcome, 'dropped'>): void {
    for (const s of seqs) this.inFlight.delete(s);
    this.markDone(
      seqs.filter((s) => !this.isDone(s)),
      outcome,
    );
  }

  private markDone(seqs: number[], kind: Outcome): void {
    if (!seqs.length) return;
    const line = Buffer.from(encodeLine({ n: this.ackN++, k: kind, r: toRanges(seqs) }));
    writeSync(this.ackFd, line);
    fsyncSync(this.ackFd);
    this.ackBytes += line.length;
    for (const s of seqs) this.done.add(s);
    this.totals[kind] += seqs.length;
    this.retry = this.retry.filter((r) => !this.done.has(r.seq));
    this.advanceLow();
    this.compact();
  }

  // ---------- reclaiming space ----------

  /** Deletes fully-done segments after checkpointing state (cursors included), and restarts acks.log. */
  private compact(force = false): void {
    const last = this.segments[this.segments.length - 1];
    // A quiet, fully-done current segment is rolled so its space can go too.
    if (last && this.depth() === 0 && last.bytes > 1024 * 1024) this.roll();
    const deletable = this.segments.slice(0, -1).filter((s) => s.lastSeq === null || s.lastSeq < this.low);
    if (!deletable.length && !force && this.ackBytes < 4 * 1024 * 1024) return;
    this.checkpoint();
    for (const seg of deletable) {
      unlinkSync(join(this.dir, seg.name));
      this.segments = this.segments.filter((s) => s !== seg);
    }
    if (deletable.length) fsyncDir(this.dir);
    this.appendTimes = this.appendTimes.filter((_, i, a) => (a[i + 1]?.[0] ?? Infinity) > this.low);
  }

  private checkpoint(): void {
    const state: z.infer<typeof stateSchema> = {
      version: 1,
      low: this.low,
      done: [...this.done],
      next_seq: this.nextSeq,
      gen: this.gen,
      acks_upto: this.ackN - 1,
      totals: this.totals,
      cursors: Object.fromEntries(this.cursors),
    };
    const tmp = join(this.dir, 'state.json.tmp');
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, JSON.stringify(state));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, join(this.dir, 'state.json'));
    fsyncDir(this.dir);
    // The checkpoint holds every ack so far (and their totals): the log starts over.
    ftruncateSync(this.ackFd, 0);
    fsyncSync(this.ackFd);
    this.ackBytes = 0;
    this.ackUpto = this.ackN - 1;
  }

  stats(): QueueStats {
    let oldest: number | undefined;
    if (this.depth() > 0) {
      for (let i = 0; i < this.appendTimes.length; i++) {
        const [first, t] = this.appendTimes[i]!;
        const nextFirst = this.appendTimes[i + 1]?.[0] ?? this.nextSeq;
        if (nextFirst > this.low && first < this.nextSeq) {
          oldest = t;
          break;
        }
      }
    }
    return {
      depth: this.depth(),
      bytes: this.totalBytes(),
      ...(oldest !== undefined ? { oldestEnqueuedAt: oldest } : {}),
      nextSeq: this.nextSeq,
      inFlight: this.inFlight.size,
      totals: { ...this.totals },
    };
  }

  close(): void {
    this.checkpoint();
    if (this.writeFd !== null) closeSync(this.writeFd);
    this.writeFd = null;
    closeSync(this.ackFd);
  }
}
