import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

/**
 * Two network namespaces (attacker, target) joined by a veth pair with private addresses that exist
 * only inside them, a TCP listener in the target, and a connect probe from the attacker. Test traffic
 * never leaves these namespaces. Everything is argv-only and removed by cleanup().
 */

const run = promisify(execFile);

export interface NetnsPair {
  attacker: string;
  target: string;
  attackerV4: string;
  targetV4: string;
  attackerV6: string;
  targetV6: string;
  cleanup(): Promise<void>;
}

/** Why the real-firewall tests cannot run here, or undefined when they can. */
export async function netnsUnavailableReason(): Promise<string | undefined> {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'creating network namespaces needs root';
  for (const tool of [['ip', '-V'], ['nft', '--version']] as const) {
    try {
      await run(tool[0], [tool[1]]);
    } catch {
      return `${tool[0]} is not installed (Debian ${tool[0] === 'ip' ? 'iproute2' : 'nftables'})`;
    }
  }
  const probe = `nyxprobe-${randomBytes(3).toString('hex')}`;
  try {
    await run('ip', ['netns', 'add', probe]);
    await run('ip', ['netns', 'exec', probe, 'nft', 'list', 'ruleset']);
  } catch (err) {
    return `no network namespace / nftables support here: ${(err as Error).message.split('\n')[0]}`;
  } finally {
    await run('ip', ['netns', 'del', probe]).catch(() => undefined);
  }
  return undefined;
}

async function ip(args: string[]): Promise<void> {
  await run('ip', args, { timeout: 10_000 });
}

export async function createNetnsPair(): Promise<NetnsPair> {
  const id = randomBytes(3).toString('hex');
  const attacker = `nyx-att-${id}`;
  const target = `nyx-tgt-${id}`;
  const octet = 1 + (randomBytes(1)[0]! % 250);
  // 1000..ffff: four hex digits with no leading zero, so the address is already in canonical form.
  const hex = (0x1000 + (randomBytes(2).readUInt16BE(0) % 0xf000)).toString(16);
  const pair: NetnsPair = {
    attacker,
    target,
    attackerV4: `10.213.${octet}.1`,
    targetV4: `10.213.${octet}.2`,
    attackerV6: `fd00:${hex}::1`,
    targetV6: `fd00:${hex}::2`,
    async cleanup() {
      // Deleting a namespace removes its end of the veth, and with it the peer.
      for (const ns of [attacker, target]) await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    },
  };
  try {
    await ip(['netns', 'add', attacker]);
    await ip(['netns', 'add', target]);
    const vethA = `nyxa${id}`;
    const vethT = `nyxt${id}`;
    await ip(['link', 'add', vethA, 'netns', attacker, 'type', 'veth', 'peer', 'name', vethT, 'netns', target]);
    for (const [ns, dev, v4, v6] of [
      [attacker, vethA, pair.attackerV4, pair.attackerV6],
      [target, vethT, pair.targetV4, pair.targetV6],
    ] as const) {
      await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
      await ip(['-n', ns, 'addr', 'add', `${v4}/24`, 'dev', dev]);
      // nodad: the address is usable at once instead of tentative for a second or two.
      await ip(['-n', ns, '-6', 'addr', 'add', `${v6}/64`, 'dev', dev, 'nodad']);
      await ip(['-n', ns, 'link', 'set', dev, 'up']);
    }
  } catch (err) {
    await pair.cleanup();
    throw err;
  }
  return pair;
}

export interface Listener {
  stop(): Promise<void>;
}

const LISTENER = `
const net = require('node:net');
const hosts = process.argv.slice(1, -1);
const port = Number(process.argv[process.argv.length - 1]);
let ready = 0;
for (const host of hosts) {
  net.createServer((s) => s.end('ok')).listen(port, host, () => { if (++ready === hosts.length) console.log('listening'); });
}
setTimeout(() => process.exit(0), 10 * 60 * 1000).unref();
`;

/** A TCP server in `ns` answering "ok" on each host:port; resolves once it listens. */
export async function startListener(ns: string, hosts: string[], port: number): Promise<Listener> {
  const child: ChildProcess = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', LISTENER, '--', ...hosts, String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  };
  await new Promise<void>((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`listener in ${ns} did not start: ${err}`)), 15_000);
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('listening')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`listener in ${ns} exited (${code}): ${err}`));
    });
  }).catch(async (e: unknown) => {
    await stop();
    throw e;
  });
  return { stop };
}

const PROBE = `
const net = require('node:net');
const [host, port, ms] = process.argv.slice(1);
const s = net.connect({ host, port: Number(port) });
let got = '';
const t = setTimeout(() => { s.destroy(); process.exit(2); }, Number(ms));
s.on('data', (d) => (got += d));
s.on('end', () => { clearTimeout(t); process.exit(got === 'ok' ? 0 : 3); });
s.on('error', () => { clearTimeout(t); process.exit(1); });
`;

/** Whether a TCP connection from `ns` to host:port gets the listener's answer within `timeoutMs`. */
export async function canConnect(ns: string, host: string, port: number, timeoutMs = 1500): Promise<boolean> {
  try {
    await run('ip', ['netns', 'exec', ns, process.execPath, '-e', PROBE, '--', host, String(port), String(timeoutMs)], { timeout: timeoutMs + 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** Polls `check` until it returns true or the deadline passes (a bounded wait, not a timing assertion). */
export async function waitFor(check: () => Promise<boolean>, deadlineMs: number, intervalMs = 250): Promise<boolean> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return check();
}
