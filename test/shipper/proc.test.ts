import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { decodeAddress, parseNetTable, parseStat } from '../../src/shipper/collectors/proc.ts';
import { ProcessCollector, snapshotProcesses } from '../../src/shipper/collectors/processes.ts';
import { NetworkCollector, readConnections } from '../../src/shipper/collectors/network.ts';
import { TelemetryCollector } from '../../src/shipper/collectors/telemetry.ts';
import { journalEntryToSyslogLine, JournaldCollector } from '../../src/shipper/collectors/journald.ts';
import { parsePackageList, SoftwareInventoryCollector } from '../../src/shipper/collectors/software.ts';
import type { CommandRunner } from '../../src/shipper/collectors/command.ts';
import { validateEvent } from '../../src/ingest/event-contract.ts';
import { MemorySink, testContext } from './support.ts';

function assertContract(event: unknown): void {
  const v = validateEvent({ ...(event as object), seq: 7 });
  assert.ok(v.ok, v.ok ? '' : `${v.field}: ${v.reason}`);
}

test('/proc/<pid>/stat with spaces and parentheses in the name', () => {
  const s = parseStat('4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 123456 1000 50');
  assert.deepEqual(s, { name: 'my (odd) name', ppid: 1, startTicks: 123456 });
});

test('/proc/net addresses: IPv4, IPv6 and IPv4-mapped IPv6', () => {
  assert.deepEqual(decodeAddress('0100007F:1F90'), { ip: '127.0.0.1', port: 8080 });
  assert.deepEqual(decodeAddress('00000000000000000000000001000000:0016'), { ip: '::1', port: 22 });
  assert.deepEqual(decodeAddress('0000000000000000FFFF00000A00000A:01BB'), { ip: '10.0.0.10', port: 443 });
  const table = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0
   1: 0A00000A:0016 4D7100CB:C350 01 00000000:00000000 02:000A7D8A 00000000     0        0 23456 4 0000000000000000 20 4 30 10 -1`;
  const rows = parseNetTable(table, 'tcp');
  assert.equal(rows[0]?.state, 'listen');
  assert.equal(rows[1]?.state, 'established');
  assert.equal(rows[1]?.remoteIp, '203.0.113.77');
  assert.equal(rows[1]?.remotePort, 50000);
});

test('process snapshot on this machine: this test process, its command line, user and parent chain', async () => {
  const sink = new MemorySink();
  const c = new ProcessCollector('proc', 60_000, testContext(sink));
  c.poll();
  const me = sink.events.find((e) => e.pid === process.pid);
  assert.ok(me, 'the first poll reports running processes');
  assert.match(String(me.cmd), /node/);
  assert.equal(me.ppid, process.ppid);
  assert.ok(Array.isArray(me.parent_chain) && me.parent_chain.length >= 1);
  assert.equal(typeof me.user, 'string');
  assertContract(me);
  // Only processes started since the last poll come next time.
  const before = sink.events.length;
  const { spawn } = await import('node:child_process');
  const child = spawn('sleep', ['5']);
  await new Promise((r) => setTimeout(r, 50));
  c.poll();
  const fresh = sink.events.slice(before);
  child.kill();
  assert.ok(fresh.some((e) => e.pid === child.pid && e.name === 'sleep'), 'the new process is reported');
  assert.ok(!fresh.some((e) => e.pid === process.pid), 'old processes are not reported again');
  assert.ok(snapshotProcesses().length > 3);
});

test('network connections joined to their process through socket inodes; new listeners as events', async () => {
  const sink = new MemorySink();
  const c = new NetworkCollector('net', 60_000, testContext(sink));
  c.poll();
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  try {
    assert.ok(readConnections().some((s) => s.localPort === port && s.state === 'listen'));
    const before = sink.events.length;
    c.poll();
    const mine = sink.events.slice(before).find((e) => e.dst_port === port);
    assert.ok(mine, 'the new listener is an event');
    assert.equal(mine.pid, process.pid);
    assert.equal(mine.state, 'listen');
    assert.equal(mine.transport, 'tcp');
    assertContract(mine);
  } finally {
    server.close();
  }
});

test('telemetry: cpu, ram, disk and network as maps of numbers (the contract)', async () => {
  const sink = new MemorySink();
  const t = new TelemetryCollector('tel', 60_000, testContext(sink));
  await t.start();
  await new Promise((r) => setTimeout(r, 100));
  await t.stop();
  const e = sink.events[0];
  assert.ok(e);
  const ram = e.ram as { total_bytes: number; pct: number };
  assert.ok(ram.total_bytes > 0 && ram.pct >= 0 && ram.pct <= 100);
  assert.ok((e.disk as { total_bytes: number }).total_bytes > 0);
  assert.equal(typeof (e.net as { rx_bytes: number }).rx_bytes, 'number');
  assertContract(e);
});

test('journald: entries become syslog lines with their cursor; no journalctl → idle', async () => {
  const { line, ts } = journalEntryToSyslogLine({ __CURSOR: 'c1', __REALTIME_TIMESTAMP: '1769860800000000', MESSAGE: 'Failed password for root from 203.0.113.5 port 4242 ssh2', SYSLOG_IDENTIFIER: 'sshd', _PID: '812', _HOSTNAME: 'web1', PRIORITY: '6', SYSLOG_FACILITY: '10' }, 'x');
  assert.equal(line, '<86>Jan 31 12:00:00 web1 sshd[812]: Failed password for root from 203.0.113.5 port 4242 ssh2');
  assert.equal(ts, '2026-01-31T12:00:00.000Z');
  const calls: string[][] = [];
  const run: CommandRunner = async (_cmd, args) => {
    calls.push(args);
    return { code: 0, stdout: `${JSON.stringify({ __CURSOR: 's=abc;i=2', __REALTIME_TIMESTAMP: '1769860800000000', MESSAGE: 'hello', SYSLOG_IDENTIFIER: 'app' })}\n`, stderr: '' };
  };
  const sink = new MemorySink();
  sink.last = { cursor: 's=abc;i=1' };
  const j = new JournaldCollector('j', { poll_ms: 60_000, units: [] }, testContext(sink), run);
  await j.start();
  await j.stop();
  await j.poll();
  assert.ok(calls[0]?.includes('--after-cursor=s=abc;i=1'));
  assert.deepEqual(sink.last, { cursor: 's=abc;i=2' });
  assertContract(sink.events[0]);
  const missing = new JournaldCollector('j2', { poll_ms: 60_000, units: [] }, testContext(new MemorySink()), async () => {
    throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
  });
  await missing.poll();
});

test('software inventory from dpkg-query: installed packages only, once per interval', async () => {
  const pkgs = parsePackageList('openssh-server\t1:9.2p1-2+deb12u3\tamd64\tinstall ok installed\nold-pkg\t1.0\tall\tdeinstall ok config-files\n', 'dpkg');
  assert.deepEqual(pkgs, [{ name: 'openssh-server', version: '1:9.2p1-2+deb12u3', arch: 'amd64', manager: 'dpkg' }]);
  let runs = 0;
  const run: CommandRunner = async () => {
    runs++;
    return { code: 0, stdout: 'bash\t5.2.15-2+b7\tamd64\tinstall ok installed\n', stderr: '' };
  };
  const sink = new MemorySink();
  const s = new SoftwareInventoryCollector('sw', 86_400_000, testContext(sink), run);
  await s.poll();
  await s.poll();
  assert.equal(runs, 1);
  assert.equal(sink.events.length, 1);
  assert.deepEqual(sink.events[0]?.package, { name: 'bash', version: '5.2.15-2+b7', architecture: 'amd64', type: 'deb' });
});

test('software inventory on this machine (dpkg-query) lists real packages', async () => {
  const { listInstalledPackages } = await import('../../src/shipper/collectors/software.ts');
  const pkgs = await listInstalledPackages();
  assert.ok(pkgs && pkgs.length > 10);
  assert.ok(pkgs.some((p) => p.name === 'bash' || p.name === 'dpkg'));
});
