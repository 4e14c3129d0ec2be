import { z } from 'zod';
import type { CollectedEvent } from '../event.ts';
import { bootId, bootTimeMs, parseNetTable, readProcess, readText, socketOwners, userNames, type SocketEntry } from './proc.ts';
import { baseEvent, PollLoop, type Collector, type CollectorContext } from './types.ts';

const networkCursorSchema = z.object({ boot_id: z.string(), seen: z.array(z.string()) });
/** Bounds the cursor: a host with more live sockets than this re-reports some after a restart. */
const MAX_REMEMBERED = 20_000;

export function connectionKey(s: SocketEntry): string {
  return `${s.protocol}|${s.state}|${s.localIp}:${s.localPort}|${s.remoteIp}:${s.remotePort}|${s.inode}`;
}

/** Listening sockets and established connections from /proc/net/{tcp,tcp6,udp,udp6}. */
export function readConnections(procRoot = '/proc'): SocketEntry[] {
  const out: SocketEntry[] = [];
  for (const protocol of ['tcp', 'tcp6', 'udp', 'udp6'] as const) {
    const text = readText(`${procRoot}/net/${protocol}`);
    if (text) out.push(...parseNetTable(text, protocol).filter((s) => s.state !== 'other'));
  }
  return out;
}

/**
 * NetworkCollector: new listening sockets and established connections since the last poll become
 * `network` events, joined to their owning process through the socket inode in /proc/<pid>/fd.
 */
export class NetworkCollector implements Collector {
  private readonly loop: PollLoop;
  private seen: Set<string> | null = null;

  constructor(
    readonly id: string,
    intervalMs: number,
    private readonly ctx: CollectorContext,
  ) {
    this.loop = new PollLoop(intervalMs, () => this.poll(), (err) => ctx.log.warn({ err }, 'network poll failed'));
  }

  async start(): Promise<void> {
    const parsed = networkCursorSchema.safeParse(this.ctx.sink.cursor());
    if (parsed.success && parsed.data.boot_id === bootId()) this.seen = new Set(parsed.data.seen);
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }

  poll(): void {
    const conns = readConnections();
    const keys = conns.map(connectionKey);
    const fresh = conns.filter((_, i) => !this.seen?.has(keys[i] as string));
    if (!fresh.length && this.seen && this.seen.size === keys.length) return;
    const owners = fresh.length ? socketOwners() : new Map<number, number>();
    const users = userNames();
    const boot = bootTimeMs();
    const ts = new Date().toISOString();
    const events: CollectedEvent[] = fresh.map((s) => {
      const pid = owners.get(s.inode);
      const proc = pid !== undefined ? readProcess(pid, users, boot) : null;
      const listen = s.state === 'listen';
      const fields = {
        transport: s.protocol.replace('6', ''),
        transport_family: s.protocol.endsWith('6') ? 'ipv6' : 'ipv4',
        state: s.state,
        src_ip: s.localIp,
        src_port: s.localPort,
        // A listener has no peer: its own address is what others connect to.
        dst_ip: listen ? s.localIp : s.remoteIp,
        dst_port: listen ? s.localPort : s.remotePort,
        ...(proc ? { pid: proc.pid, process_name: proc.name, ...(proc.exe ? { process_path: proc.exe } : {}) } : {}),
      };
      const event = baseEvent(this.ctx.host, 'network', ts);
      Object.assign(event, fields);
      event.user = users.get(s.uid) ?? String(s.uid);
      event.raw = JSON.stringify({ ...fields, inode: s.inode, uid: s.uid });
      event.message = listen
        ? `${fields.transport} listening on ${s.localIp}:${s.localPort}${proc ? ` by ${proc.name}` : ''}`
        : `${fields.transport} ${s.localIp}:${s.localPort} -> ${s.remoteIp}:${s.remotePort}${proc ? ` by ${proc.name}` : ''}`;
      return event;
    });
    const seen = new Set(keys.slice(0, MAX_REMEMBERED));
    if (this.ctx.sink.write(events, { boot_id: bootId(), seen: [...seen] })) this.seen = seen;
  }
}
