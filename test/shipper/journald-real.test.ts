// The journald input against the REAL journalctl reading a REAL journal. systemd is not PID 1 here (no
// journald runs), so the journal is written by systemd's own systemd-journal-remote, which turns the
// journal export format on its stdin into a .journal file (Debian package systemd-journal-remote; .ci/run
// installs it). journalctl then reads that directory exactly as it reads /var/log/journal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadShipperConfig } from '../../src/shipper/config.ts';
import { DurableQueue } from '../../src/shipper/queue.ts';
import { JournaldCollector } from '../../src/shipper/collectors/journald.ts';
import { startStubIngest } from './stub-ingest.ts';
import { MemorySink, testContext } from './support.ts';

const NYX = fileURLToPath(new URL('../../bin/nyx.js', import.meta.url));
const JOURNAL_REMOTE = ['/lib/systemd/systemd-journal-remote', '/usr/lib/systemd/systemd-journal-remote'].find((p) => existsSync(p));
const HAS_JOURNALCTL = spawnSync('journalctl', ['--version']).status === 0;
const SKIP = !HAS_JOURNALCTL
  ? 'journalctl is not installed (Debian package systemd)'
  : !JOURNAL_REMOTE
    ? 'systemd-journal-remote is not installed (Debian package systemd-journal-remote; .ci/run installs it)'
    : false;
const BOOT_ID = '6a3f0c1e9b2d4e7f8a1b2c3d4e5f6a7b';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Entry {
  message: string | Buffer;
  ident?: string;
  pid?: number;
  hostname?: string;
  priority?: number;
  facility?: number;
  /** Microseconds since the epoch. */
  realtimeUs: bigint;
}

/** One entry in the journal export format (https://systemd.io/JOURNAL_EXPORT_FORMATS/); binary-safe fields for multi-line or non-UTF-8 values. */
function exportEntry(e: Entry, monotonicUs: bigint): Buffer {
  const parts: Buffer[] = [Buffer.from(`__REALTIME_TIMESTAMP=${e.realtimeUs}\n__MONOTONIC_TIMESTAMP=${monotonicUs}\n_BOOT_ID=${BOOT_ID}\n`)];
  const field = (name: string, value: string | Buffer): void => {
    const data = typeof value === 'string' ? Buffer.from(value) : value;
    if (typeof value === 'string' && !value.includes('\n')) return void parts.push(Buffer.from(`${name}=${value}\n`));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(data.length));
    parts.push(Buffer.from(`${name}\n`), len, data, Buffer.from('\n'));
  };
  field('MESSAGE', e.message);
  if (e.ident) field('SYSLOG_IDENTIFIER', e.ident);
  if (e.pid !== undefined) field('_PID', String(e.pid));
  if (e.hostname) field('_HOSTNAME', e.hostname);
  field('PRIORITY', String(e.priority ?? 6));
  field('SYSLOG_FACILITY', String(e.facility ?? 1));
  parts.push(Buffer.from('\n'));
  return Buffer.concat(parts);
}

let monotonic = 1_000_000n;
/** Appends entries to `file` (created on first use) through systemd-journal-remote. */
function appendToJournal(file: string, entries: Entry[]): void {
  const input = Buffer.concat(entries.map((e) => exportEntry(e, (monotonic += 1000n))));
  const r = spawnSync(JOURNAL_REMOTE as string, [`--output=${file}`, '-'], { input });
  assert.equal(r.status, 0, `systemd-journal-remote failed: ${r.stderr.toString()}`);
}

/** What real journalctl reads from the directory: every entry's cursor and message, oldest first. */
function journalctl(dir: string): Array<{ __CURSOR: string; MESSAGE: unknown }> {
  const r = spawnSync('journalctl', [`--directory=${dir}`, '-o', 'json', '--no-pager'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { __CURSOR: string; MESSAGE: unknown });
}

/** The syslog line the collector makes: `<PRI>Mmm dd hh:mm:ss host ident[pid]: message`, in UTC. */
function expectedLine(e: Entry, fallbackHost: string): string {
  const at = new Date(Number(e.realtimeUs / 1000n));
  const month = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][at.getUTCMonth()];
  const stamp = `${month} ${String(at.getUTCDate()).padStart(2, ' ')} ${at.toISOString().slice(11, 19)}`;
  const message = typeof e.message === 'string' ? e.message : e.message.toString('utf8');
  const pri = (e.facility ?? 1) * 8 + (e.priority ?? 6);
  return `<${pri}>${stamp} ${e.hostname ?? fallbackHost} ${e.ident ?? 'journal'}${e.pid !== undefined ? `[${e.pid}]` : ''}: ${message}`;
}

function entries(from: number, n: number, startUs: bigint): Entry[] {
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    return {
      message: `journal entry ${i}: Failed password for root from 203.0.113.${i % 250} port ${40000 + i} ssh2`,
      ident: i % 3 === 0 ? 'sshd' : 'nyx-journal-test',
      pid: 4000 + i,
      ...(i % 5 === 4 ? {} : { hostname: 'web1' }), // some without _HOSTNAME: the shipper's own name then
      priority: i % 7,
      facility: i % 2 === 0 ? 4 : 10,
      realtimeUs: startUs + BigInt(k) * 1000n + 123n, // sub-millisecond part: truncated, not rounded
    };
  });
}

function startShipper(config: string): ChildProcess {
  return spawn(process.execPath, [NYX, 'ship', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' } });
}

async function stopShipper(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

async function waitFor(what: string, check: () => boolean, ms = 60_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

test('journald input: `directory` is resolved against the config file; an empty one is refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nyx-journal-cfg-'));
  try {
    const file = join(dir, 'ship.yml');
    writeFileSync(file, 'server: http://127.0.0.1:1\ninputs:\n  - type: journald\n    directory: ./journal\n    batch: 50\n');
    const input = loadShipperConfig(file).inputs[0];
    assert.equal(input?.type, 'journald');
    assert.equal(input?.type === 'journald' ? input.directory : undefined, join(dir, 'journal'));
    writeFileSync(file, "server: http://127.0.0.1:1\ninputs:\n  - type: journald\n    directory: ''\n");
    assert.throws(() => loadShipperConfig(file), /inputs\.0\.directory/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('real journal, real journalctl: paging by cursor, multi-line and non-UTF-8 messages, a directory that appears later', { skip: SKIP }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nyx-journal-'));
  const journalDir = join(dir, 'journal');
  const sink = new MemorySink();
  const collector = new JournaldCollector('j', { poll_ms: 60_000, units: [], directory: journalDir, batch: 7 }, testContext(sink));
  try {
    await collector.poll(); // no directory yet: idle, and not disabled for good
    assert.equal(sink.events.length, 0);
    mkdirSync(journalDir);
    const now = BigInt(Date.now()) * 1000n;
    const list: Entry[] = [
      { message: 'two hours old: before the first start, not sent', ident: 'old', realtimeUs: now - 7_200_000_000n },
      ...entries(0, 18, now - 5_000_000n),
      { message: 'line one\nline two', ident: 'multi', pid: 1, hostname: 'web1', realtimeUs: now - 1_000_000n },
      { message: Buffer.from([0x62, 0x61, 0x64, 0x20, 0xff, 0x20, 0x75, 0x74, 0x66, 0x38]), ident: 'binary', hostname: 'web1', realtimeUs: now - 999_000n },
    ];
    appendToJournal(join(journalDir, 'remote.journal'), list);
    const real = journalctl(journalDir);
    assert.equal(real.length, list.length, 'journalctl reads every entry written');
    assert.deepEqual(real.at(-1)?.MESSAGE, [0x62, 0x61, 0x64, 0x20, 0xff, 0x20, 0x75, 0x74, 0x66, 0x38], 'journalctl gives non-UTF-8 values as byte arrays');
    // 20 new entries at 7 per poll: three polls, oldest first, each cursor following the last.
    for (let i = 0; i < 4; i++) await collector.poll();
    const sent = list.slice(1);
    assert.deepEqual(
      sink.raws(),
      sent.map((e) => expectedLine(e, 'test-host')),
    );
    assert.match(sink.raws().at(-2) ?? '', / multi\[1\]: line one\nline two$/, 'a multi-line message is kept whole');
    assert.match(sink.raws().at(-1) ?? '', / binary: bad \uFFFD utf8$/);
    assert.deepEqual(sink.last, { cursor: real.at(-1)?.__CURSOR });
  } finally {
    await collector.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('nyx ship with a journald input over a real journal: every entry once with its fields, cursor persisted, a restart sends only new entries', { skip: SKIP }, async () => {
  const stub = await startStubIngest();
  const dir = mkdtempSync(join(tmpdir(), 'nyx-ship-journal-'));
  const journalDir = join(dir, 'journal');
  mkdirSync(journalDir);
  const journalFile = join(journalDir, 'remote.journal');
  const config = join(dir, 'ship.yml');
  writeFileSync(
    config,
    `server: ${stub.url}
enrollment_token: nyxet_test_token
hostname: test-endpoint
state_dir: ./state
inputs:
  - type: journald
    id: journal
    directory: ./journal
    poll_ms: 200
    batch: 25
output:
  batch_size: 50
  flush_interval_ms: 200
  backoff_initial_ms: 100
  backoff_max_ms: 1000
status_interval_ms: 300
`,
  );
  const now = BigInt(Date.now()) * 1000n;
  const old: Entry = { message: 'written an hour before the shipper first started', ident: 'old', hostname: 'web1', realtimeUs: now - 3_600_000_000n };
  const first = entries(0, 60, now - 10_000_000n);
  appendToJournal(journalFile, [old, ...first]);
  let shipper = startShipper(config);
  let stderr = '';
  shipper.stderr?.on('data', (d) => (stderr += d));
  const byRaw = (): Map<string, Record<string, unknown>> => new Map([...stub.stored.values()].map((e) => [String(e.raw), e]));
  try {
    await waitFor('the first 60 entries', () => stub.stored.size >= first.length).catch((err: Error) => {
      throw new Error(`${err.message}: ${stub.stored.size} stored; shipper said: ${stderr.slice(-2000)}`);
    });
    await sleep(1000); // anything extra (the old entry, a duplicate) would arrive now
    assert.equal(stub.stored.size, first.length, 'the entry from before the first start is not sent');
    const stored = byRaw();
    for (const e of first) {
      const line = expectedLine(e, 'test-endpoint');
      const got = stored.get(line);
      assert.ok(got, `entry stored: ${line}`);
      assert.equal(got.category, 'syslog');
      assert.equal(got.host, 'test-endpoint', 'the shipping host');
      assert.equal(got.ts, new Date(Number(e.realtimeUs / 1000n)).toISOString(), 'the entry timestamp, to the millisecond');
    }
    assert.ok([...stored.keys()].some((l) => / sshd\[4003\]: journal entry 3: /.test(l)), 'SYSLOG_IDENTIFIER and _PID in the line');
    await stopShipper(shipper);

    // The cursor is in the queue's durable state: the last entry journalctl has.
    const real = journalctl(journalDir);
    const queue = DurableQueue.open(join(dir, 'state', 'queue'), { maxEvents: 1_000_000, maxBytes: 512 * 1024 * 1024, policy: 'drop_oldest', segmentBytes: 16 * 1024 * 1024 });
    try {
      assert.deepEqual(queue.cursor('journal'), { cursor: real.at(-1)?.__CURSOR });
    } finally {
      queue.close();
    }

    // More entries while the shipper is down, and more once it runs again: only those are sent.
    const later = entries(1000, 30, now + 1_000_000n);
    appendToJournal(journalFile, later.slice(0, 20));
    shipper = startShipper(config);
    shipper.stderr?.on('data', (d) => (stderr += d));
    await waitFor('the 20 entries written while stopped', () => stub.stored.size >= first.length + 20);
    appendToJournal(journalFile, later.slice(20));
    await waitFor('the 10 entries written while running', () => stub.stored.size >= first.length + later.length);
    await sleep(1000);
    assert.equal(stub.stored.size, first.length + later.length, 'every entry exactly once');
    assert.equal(stub.duplicates, 0, 'nothing resent after the restart');
    const all = byRaw();
    for (const e of later) assert.ok(all.has(expectedLine(e, 'test-endpoint')), `new entry stored: ${e.message as string}`);
    assert.equal(readdirSync(journalDir).filter((f) => f.endsWith('.journal')).length, 1, 'one journal file, appended to');
  } finally {
    await stopShipper(shipper);
    await stub.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
