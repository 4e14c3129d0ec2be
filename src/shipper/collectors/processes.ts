import { z } from 'zod';
import type { CollectedEvent } from '../event.ts';
import { bootId, bootTimeMs, listPids, readProcess, userNames, type ProcInfo } from './proc.ts';
import { baseEvent, PollLoop, type Collector, type CollectorContext } from './types.ts';

/** The newest start time seen (clock ticks since boot), and the pids started at that very tick. */
const processCursorSchema = z.object({ boot_id: z.string(), max_start: z.number(), at_max: z.array(z.number()) });
type ProcessCursor = z.infer<typeof processCursorSchema>;

/** The parent chain, nearest first, up to init (bounded against pid loops). */
export function parentChain(proc: ProcInfo, byPid: Map<number, ProcInfo>): Array<{ pid: number; name: string }> {
  const chain: Array<{ pid: number; name: string }> = [];
  let cur = byPid.get(proc.ppid);
  while (cur && chain.length < 32) {
    chain.push({ pid: cur.pid, name: cur.name });
    if (cur.ppid === 0 || cur.ppid === cur.pid) break;
    cur = byPid.get(cur.ppid);
  }
  return chain;
}

/** Every process now running, read from /proc. */
export function snapshotProcesses(procRoot = '/proc'): ProcInfo[] {
  const users = userNames();
  const boot = bootTimeMs(procRoot);
  const out: ProcInfo[] = [];
  for (const pid of listPids(procRoot)) {
    const p = readProcess(pid, users, boot, procRoot);
    if (p) out.push(p);
  }
  return out;
}

/**
 * ProcessCollector: polls /proc; processes started since the last poll become `process` events.
 * "New" is decided by start time (ticks since boot), so the cursor stays tiny and a restart does
 * not resend every running process. A reboot (new boot id) starts over.
 */
export class ProcessCollector implements Collector {
  private readonly loop: PollLoop;
  private cursor: ProcessCursor | null = null;

  constructor(
    readonly id: string,
    intervalMs: number,
    private readonly ctx: CollectorContext,
  ) {
    this.loop = new PollLoop(intervalMs, () => this.poll(), (err) => ctx.log.warn({ err }, 'process poll failed'));
  }

  async start(): Promise<void> {
    const parsed = processCursorSchema.safeParse(this.ctx.sink.cursor());
    this.cursor = parsed.success && parsed.data.boot_id === bootId() ? parsed.data : null;
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }

  toEvent(p: ProcInfo, byPid: Map<number, ProcInfo>, ts: string): CollectedEvent {
    const event = baseEvent(this.ctx.host, 'process', ts);
    const parent = byPid.get(p.ppid);
    const fields = {
      pid: p.pid,
      ppid: p.ppid,
      name: p.name,
      ...(p.exe ? { path: p.exe } : {}),
      cmd: p.cmdline,
      start_time: p.startTime,
      ...(parent ? { parent: parent.name } : {}),
      parent_chain: parentChain(p, byPid),
    };
    Object.assign(event, fields);
    event.user = p.user;
    event.raw = JSON.stringify({ ...fields, uid: p.uid, user: p.user });
    event.message = `process started: ${p.name} (pid ${p.pid}) by ${p.user}`;
    return event;
  }

  poll(): void {
    const procs = snapshotProcesses();
    const byPid = new Map(procs.map((p) => [p.pid, p]));
    const prev = this.cursor;
    const fresh = procs.filter((p) => !prev || p.startTicks > prev.max_start || (p.startTicks === prev.max_start && !prev.at_max.includes(p.pid)));
    if (prev && !fresh.length) return;
    const maxStart = Math.max(prev?.max_start ?? 0, ...procs.map((p) => p.startTicks));
    const cursor: ProcessCursor = { boot_id: bootId(), max_start: maxStart, at_max: procs.filter((p) => p.startTicks === maxStart).map((p) => p.pid) };
    const ts = new Date().toISOString();
    fresh.sort((a, b) => a.startTicks - b.startTicks);
    if (this.ctx.sink.write(
      fresh.map((p) => this.toEvent(p, byPid, ts)),
      cursor,
    )) this.cursor = cursor;
  }
}
