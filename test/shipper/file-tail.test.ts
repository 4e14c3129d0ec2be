import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, mkdtempSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileTailCollector, expandGlob } from '../../src/shipper/collectors/file-tail.ts';
import { fileInputFor } from './file-input.ts';
import { MemorySink, testContext } from './support.ts';

function setup(format: 'syslog' | 'cowrie' = 'syslog', closeInactiveMs = 0): { dir: string; file: string; sink: MemorySink; make: () => FileTailCollector } {
  const dir = mkdtempSync(join(tmpdir(), 'nyx-tail-'));
  const file = join(dir, 'app.log');
  const sink = new MemorySink();
  const make = (): FileTailCollector => new FileTailCollector('files', fileInputFor([join(dir, '*.log')], format, closeInactiveMs), testContext(sink));
  return { dir, file, sink, make };
}

async function started(c: FileTailCollector): Promise<FileTailCollector> {
  // start() restores the cursor; the test steps poll() itself, so stop the timer loop at once.
  await c.start();
  await c.stop();
  return c;
}

test('appended lines are read once; a partial last line waits for its newline', async () => {
  const { file, sink, make } = setup();
  writeFileSync(file, 'one\ntwo\nthr');
  const c = await started(make());
  await c.poll();
  assert.deepEqual(sink.raws(), ['one', 'two']);
  appendFileSync(file, 'ee\r\nfour\n');
  await c.poll();
  await c.poll();
  assert.deepEqual(sink.raws(), ['one', 'two', 'three', 'four']);
  assert.equal(sink.events[0]?.category, 'syslog');
  assert.equal(sink.events[0]?.host, 'test-host');
});

test('rotation by rename: the old file is drained to its end, then the new one is read from its start', async () => {
  const { file, sink, make } = setup('syslog', 0);
  writeFileSync(file, 'a1\na2\n');
  const c = await started(make());
  await c.poll();
  appendFileSync(file, 'a3\n');
  renameSync(file, `${file}.1`);
  appendFileSync(`${file}.1`, 'a4 (written by the app before it reopened)\n');
  writeFileSync(file, 'b1\n');
  await c.poll();
  await c.poll();
  appendFileSync(file, 'b2\n');
  await c.poll();
  assert.deepEqual(sink.raws(), ['a1', 'a2', 'a3', 'a4 (written by the app before it reopened)', 'b1', 'b2']);
});

test('copytruncate and plain truncation: reading starts over at the beginning', async () => {
  const { file, sink, make } = setup();
  writeFileSync(file, 'old1\nold2\n');
  const c = await started(make());
  await c.poll();
  copyFileSync(file, `${file}.1`);
  truncateSync(file, 0);
  await c.poll();
  appendFileSync(file, 'new1\n');
  await c.poll();
  truncateSync(file, 0);
  appendFileSync(file, 'n2\n');
  await c.poll();
  assert.deepEqual(sink.raws(), ['old1', 'old2', 'new1', 'n2']);
});

test('a restart resumes from the durable cursor, even when the file was rotated while stopped', async () => {
  const { file, sink, make } = setup('syslog', 0);
  writeFileSync(file, 'x1\nx2\n');
  const first = await started(make());
  await first.poll();
  appendFileSync(file, 'x3\n');
  renameSync(file, `${file}.1`);
  writeFileSync(file, 'y1\n');
  const second = await started(make());
  await second.poll();
  await second.poll();
  assert.deepEqual(sink.raws(), ['x1', 'x2', 'x3', 'y1']);
});

test('a refused write (full queue) leaves the cursor, so the lines come again later', async () => {
  const { file, sink, make } = setup();
  writeFileSync(file, 'k1\n');
  const c = await started(make());
  sink.refuse = true;
  await c.poll();
  sink.refuse = false;
  await c.poll();
  assert.deepEqual(sink.raws(), ['k1']);
});

test('cowrie format: each JSON line is a cowrie event with the record time', async () => {
  const { file, sink, make } = setup('cowrie');
  writeFileSync(file, '{"eventid":"cowrie.login.failed","timestamp":"2026-01-31T12:00:00.123456Z","src_ip":"203.0.113.5"}\n');
  const c = await started(make());
  await c.poll();
  assert.equal(sink.events[0]?.category, 'cowrie');
  assert.equal(sink.events[0]?.ts, '2026-01-31T12:00:00.123456Z');
});

test('globs expand in any path component', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nyx-glob-'));
  writeFileSync(join(dir, 'a.log'), '');
  writeFileSync(join(dir, 'b.log'), '');
  writeFileSync(join(dir, 'c.txt'), '');
  assert.deepEqual(expandGlob(join(dir, '*.log')), [join(dir, 'a.log'), join(dir, 'b.log')]);
  assert.deepEqual(expandGlob(join(dir, '[ab].log')), [join(dir, 'a.log'), join(dir, 'b.log')]);
});
