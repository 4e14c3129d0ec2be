import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DurableQueue, QueueFullError, type QueueOptions } from '../../src/shipper/queue.ts';
import type { CollectedEvent } from '../../src/shipper/event.ts';

const OPTS: QueueOptions = { maxEvents: 1_000_000, maxBytes: 1 << 30, policy: 'drop_oldest', segmentBytes: 1 << 20 };

function ev(n: number): CollectedEvent {
  return { ts: new Date(0).toISOString(), category: 'syslog', host: 'h', raw: `line ${n}` };
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'nyx-queue-'));
}

/** Everything pending, in order, by taking it all (and releasing it again). */
function drain(q: DurableQueue): Array<{ seq: number; raw: unknown }> {
  const all = q.take(1_000_000);
  q.release(all.map((r) => r.seq));
  return all.map((r) => ({ seq: r.seq, raw: r.event.raw }));
}

test('queued events survive a reopen until the server acknowledges them; seqs never repeat', () => {
  const dir = tmp();
  let q = DurableQueue.open(dir, OPTS);
  q.append([ev(0), ev(1), ev(2)], { id: 'files', value: { offset: 30 } });
  const batch = q.take(2);
  assert.deepEqual(batch.map((r) => r.seq), [0, 1]);
  q.complete([0], 'sent');
  q.release([1]);
  q.close();
  q = DurableQueue.open(dir, OPTS);
  assert.deepEqual(drain(q), [
    { seq: 1, raw: 'line 1' },
    { seq: 2, raw: 'line 2' },
  ]);
  assert.deepEqual(q.cursor('files'), { offset: 30 });
  const more = q.append([ev(3)]);
  assert.equal(more[0]?.seq, 3, 'a seq is never reused');
  assert.equal(q.stats().totals.sent, 1);
});

test('failed items are retried before newer ones; rejected ones leave the queue and are counted', () => {
  const q = DurableQueue.open(tmp(), OPTS);
  q.append([0, 1, 2, 3, 4].map(ev));
  const first = q.take(3);
  q.complete([0, 2], 'sent');
  q.complete([1], 'rejected');
  assert.equal(first.length, 3);
  const next = q.take(3);
  assert.deepEqual(next.map((r) => r.seq), [3, 4]);
  q.release([4]);
  assert.deepEqual(q.take(5).map((r) => r.seq), [4]);
  const s = q.stats();
  assert.equal(s.depth, 2);
  assert.equal(s.totals.rejected, 1);
  assert.equal(s.totals.sent, 2);
});

test('a cursor outlives the segments that carried it (checkpointed before deletion)', () => {
  const dir = tmp();
  let q = DurableQueue.open(dir, { ...OPTS, segmentBytes: 2_000 });
  for (let i = 0; i < 40; i++) q.append([ev(i)], { id: 'f', value: { offset: i } });
  while (q.stats().depth) q.complete(q.take(7).map((r) => r.seq), 'sent');
  q.append([ev(40)]);
  const segs = readdirSync(dir).filter((n) => n.startsWith('seg-'));
  assert.ok(segs.length <= 2, `done segments are deleted (left: ${segs.join(',')})`);
  q.close();
  q = DurableQueue.open(dir, OPTS);
  assert.deepEqual(q.cursor('f'), { offset: 39 });
  assert.deepEqual(drain(q).map((r) => r.seq), [40]);
  assert.equal(q.stats().totals.sent, 40);
});

test('drop_oldest: past max_events the oldest are dropped, and the count survives a restart', () => {
  const dir = tmp();
  let q = DurableQueue.open(dir, { ...OPTS, maxEvents: 10 });
  for (let i = 0; i < 25; i++) q.append([ev(i)]);
  assert.equal(q.stats().depth, 10);
  assert.equal(q.stats().totals.dropped, 15);
  assert.deepEqual(drain(q).map((r) => r.seq), [15, 16, 17, 18, 19, 20, 21, 22, 23, 24]);
  q.close();
  q = DurableQueue.open(dir, { ...OPTS, maxEvents: 10 });
  assert.equal(q.stats().totals.dropped, 15);
  assert.equal(q.stats().depth, 10);
});

test('block: a full queue refuses new events (nothing written) so the collector keeps its cursor', () => {
  const q = DurableQueue.open(tmp(), { ...OPTS, maxEvents: 3, policy: 'block' });
  q.append([ev(0), ev(1), ev(2)], { id: 'f', value: 1 });
  assert.throws(() => q.append([ev(3)], { id: 'f', value: 2 }), QueueFullError);
  assert.equal(q.cursor('f'), 1);
  assert.equal(q.stats().depth, 3);
});

test('a torn tail (a write that never returned) is cut off on reopen', () => {
  const dir = tmp();
  let q = DurableQueue.open(dir, OPTS);
  q.append([ev(0), ev(1)], { id: 'f', value: 'a' });
  q.close();
  const seg = readdirSync(dir).find((n) => n.startsWith('seg-')) as string;
  appendFileSync(join(dir, seg), '0badc0de {"s":2,"t":1,"e":{"ts":"x"');
  q = DurableQueue.open(dir, OPTS);
  assert.deepEqual(drain(q).map((r) => r.seq), [0, 1]);
  assert.equal(q.append([ev(2)])[0]?.seq, 2);
  assert.equal(q.cursor('f'), 'a');
});

const CRASH_CHILD = fileURLToPath(new URL('./queue-crash-child.ts', import.meta.url));

test('kill -9 mid-write: every append that returned is there, once, with its cursor; acks stay acked', async () => {
  const dir = tmp();
  for (let round = 0; round < 3; round++) {
    const child = spawn(process.execPath, ['--import', 'tsx', CRASH_CHILD, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    // Let it write (and ack) for a while, then kill it wherever it is.
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if ((out.match(/^appended /gm) ?? []).length > 30 + round * 30) {
          clearInterval(check);
          child.kill('SIGKILL');
          resolve();
        }
      }, 5);
    });
    await new Promise((r) => child.on('exit', r));
    const lastAppended = Math.max(...[...out.matchAll(/^appended (\d+)$/gm)].map((m) => Number(m[1])));
    const acked = new Set([...out.matchAll(/^acked (\d+)$/gm)].map((m) => Number(m[1])));
    const q = DurableQueue.open(dir, OPTS);
    const cursor = q.cursor('gen') as { n: number };
    assert.ok(cursor.n >= lastAppended, `cursor ${cursor.n} covers every append that returned (${lastAppended})`);
    const pending = drain(q);
    const pendingLines = pending.map((r) => Number(String(r.raw).split(' ')[1]));
    for (const a of acked) assert.ok(!pendingLines.includes(a), `acked line ${a} is not sent again`);
    // Every line up to the cursor is either acked (done) or pending: none lost.
    const done = q.stats().totals.sent;
    assert.equal(done + pending.length, cursor.n, 'each line is acked or pending, exactly once');
    assert.equal(new Set(pending.map((r) => r.seq)).size, pending.length);
    q.close();
  }
});
