// Child for the kill -9 test: appends numbered lines with a cursor, acks some, and says what returned.
import { DurableQueue } from '../../src/shipper/queue.ts';

const dir = process.argv[2] as string;
const q = DurableQueue.open(dir, { maxEvents: 1_000_000, maxBytes: 1 << 30, policy: 'drop_oldest', segmentBytes: 64 * 1024 });
let n = (q.cursor('gen') as { n: number } | undefined)?.n ?? 0;
for (;;) {
  const events = Array.from({ length: 20 }, (_, i) => ({ ts: new Date().toISOString(), category: 'syslog' as const, host: 'h', raw: `line ${n + i} ${'x'.repeat(200)}` }));
  q.append(events, { id: 'gen', value: { n: n + events.length } });
  n += events.length;
  process.stdout.write(`appended ${n}\n`);
  const batch = q.take(15);
  const ok = batch.filter((r) => r.seq % 3 !== 0);
  q.complete(ok.map((r) => r.seq), 'sent');
  q.release(batch.filter((r) => r.seq % 3 === 0).map((r) => r.seq));
  for (const r of ok) process.stdout.write(`acked ${String(r.event.raw).split(' ')[1]}\n`);
  await new Promise((r) => setImmediate(r));
}
