import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** Small readers of Linux /proc, shared by the telemetry, process and network collectors. */

export function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** Clock ticks per second: 100 on every mainstream Linux build (CONFIG_HZ is not USER_HZ). */
export const CLOCK_TICKS = 100;

export function bootTimeMs(procRoot = '/proc'): number {
  const m = /^btime (\d+)$/m.exec(readText(`${procRoot}/stat`) ?? '');
  return m ? Number(m[1]) * 1000 : 0;
}

export function bootId(procRoot = '/proc'): string {
  return (readText(`${procRoot}/sys/kernel/random/boot_id`) ?? '').trim();
}

/** uid → user name from /etc/passwd (no libc lookup: NSS users show as their uid). */
export function userNames(passwd = '/etc/passwd'): Map<number, string> {
  const map = new Map<number, string>();
  for (const line of (readText(passwd) ?? '').split('\n')) {
    const f = line.split(':');
    if (f.length >= 3 && f[0]) map.set(Number(f[2]), f[0]);
  }
  return map;
}

export interface ProcInfo {
  pid: number;
  ppid: number;
  name: string;
  exe?: string;
  cmdline: string;
  uid: number;
  user: string;
  /** Start time in clock ticks since boot (stable identity with the pid). */
  startTicks: number;
  startTime: string;
}

/** Parses /proc/<pid>/stat: the name sits in parentheses and may itself contain spaces and ')'. */
export function parseStat(text: string): { name: string; ppid: number; startTicks: number } | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < 0) return null;
  const rest = text.slice(close + 2).split(' ');
  // rest[0] is field 3 (state); ppid is field 4, starttime field 22.
  return { name: text.slice(open + 1, close), ppid: Number(rest[1]), startTicks: Number(rest[19]) };
}

export function listPids(procRoot = '/proc'): number[] {
  return readdirSync(procRoot)
    .filter((n) => /^\d+$/.test(n))
    .map(Number);
}

export function readProcess(pid: number, users: Map<number, string>, bootMs: number, procRoot = '/proc'): ProcInfo | null {
  const stat = readText(`${procRoot}/${pid}/stat`);
  const parsed = stat ? parseStat(stat) : null;
  if (!parsed) return null;
  const status = readText(`${procRoot}/${pid}/status`) ?? '';
  const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? -1);
  const cmdline = (readText(`${procRoot}/${pid}/cmdline`) ?? '').replace(/\0+$/, '').split('\0').join(' ');
  let exe: string | undefined;
  try {
    exe = readlinkSync(`${procRoot}/${pid}/exe`);
  } catch {
    exe = undefined; // kernel threads, or another user's process without privileges
  }
  return {
    pid,
    ppid: parsed.ppid,
    name: parsed.name,
    ...(exe ? { exe } : {}),
    cmdline,
    uid,
    user: users.get(uid) ?? String(uid),
    startTicks: parsed.startTicks,
    startTime: new Date(bootMs + (parsed.startTicks / CLOCK_TICKS) * 1000).toISOString(),
  };
}

/** socket inode → pid, from the /proc/<pid>/fd links (`socket:[12345]`). */
export function socketOwners(procRoot = '/proc'): Map<number, number> {
  const owners = new Map<number, number>();
  for (const pid of listPids(procRoot)) {
    let fds: string[];
    try {
      fds = readdirSync(`${procRoot}/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`${procRoot}/${pid}/fd/${fd}`));
        if (m && !owners.has(Number(m[1]))) owners.set(Number(m[1]), pid);
      } catch {
        /* closed meanwhile */
      }
    }
  }
  return owners;
}

export interface SocketEntry {
  protocol: 'tcp' | 'tcp6' | 'udp' | 'udp6';
  localIp: string;
  localPort: number;
  remoteIp: string;
  remotePort: number;
  state: 'listen' | 'established' | 'other';
  inode: number;
  uid: number;
}

/** Hex address from /proc/net/tcp: IPv4 is one little-endian word; IPv6 four of them. */
export function decodeAddress(hex: string): { ip: string; port: number } {
  const [addr = '', port = '0'] = hex.split(':');
  let ip: string;
  if (addr.length === 8) {
    ip = [6, 4, 2, 0].map((i) => parseInt(addr.slice(i, i + 2), 16)).join('.');
  } else {
    const bytes: number[] = [];
    for (let w = 0; w < 4; w++) {
      const word = addr.slice(w * 8, w * 8 + 8);
      for (const i of [6, 4, 2, 0]) bytes.push(parseInt(word.slice(i, i + 2), 16));
    }
    if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 255 && bytes[11] === 255) ip = bytes.slice(12).join('.');
    else {
      const groups: string[] = [];
      for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
      ip = groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::').replace(/:{3,}/, '::');
    }
  }
  return { ip, port: parseInt(port, 16) };
}

export function parseNetTable(text: string, protocol: SocketEntry['protocol']): SocketEntry[] {
  const out: SocketEntry[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const local = decodeAddress(f[1] as string);
    const remote = decodeAddress(f[2] as string);
    const st = f[3];
    const tcp = protocol.startsWith('tcp');
    // TCP: 0A = LISTEN, 01 = ESTABLISHED. UDP: 07 (unconnected) is a bound "listener", 01 connected.
    const state = tcp ? (st === '0A' ? 'listen' : st === '01' ? 'established' : 'other') : st === '01' ? 'established' : 'listen';
    out.push({ protocol, localIp: local.ip, localPort: local.port, remoteIp: remote.ip, remotePort: remote.port, state, inode: Number(f[9]), uid: Number(f[7]) });
  }
  return out;
}
