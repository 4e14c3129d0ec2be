import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getLogger } from '../../src/log/logger.ts';
import { DurableQueue } from '../../src/shipper/queue.ts';
import { BatchSender, backoffDelay, type EventOutput } from '../../src/shipper/sender.ts';
import { interpretIngestResponse, parseRetryAfter } from '../../src/shipper/client.ts';

test('per-event results as `nyx serve` answers them (totals beside the results list)', () => {
  const body = {
    namespace: 'acme',
    stored: 1,
    duplicates: 1,
    dropped: 0,
    rejected: 1,
    retry: 1,
    results: [
      { index: 0, status: 'stored' },
      { index: 1, status: 'duplicate' },
      { index: 2, status: 'rejected', field: 'ts', reason: 'expected an ISO 8601 timestamp' },
      { index: 3, status: 'retry', reason: 'es_rejected_execution_exception' },
    ],
  };
  assert.deepEqual(interpretIngestResponse(4, body), [
    { kind: 'done' },
    { kind: 'done' },
    { kind: 'rejected', field: 'ts', reason: 'expected an ISO 8601 timestamp' },
    { kind: 'retry', reason: 'es_rejected_execution_exception' },
  ]);
  assert.equal(typeof interpretIngestResponse(1, { error: 'x' }), 'string', 'no results: not taken as success');
});

test('Retry-After in seconds or as an HTTP date; backoff grows, is jittered and capped', () => {
  assert.equal(parseRetryAfter('3'), 3000);
  const inFive = parseRetryAfter(new Date(Date.now() + 5000).toUTCString()) ?? 0;
  assert.ok(inFive > 3000 && inFive <= 5000);
  assert.equal(backoffDelay(0, 500, 60_000, () => 0), 250);
  assert.equal(backoffDelay(3, 500, 60_000, () => 1), 4000);
  assert.equal(backoffDelay(20, 500, 60_000, () => 1), 60_000);
});

test('events arriving during a backoff do not cut it short: the server\'s Retry-After is honoured; stop() still ends it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nyx-sender-'));
  const queue = DurableQueue.open(join(dir, 'queue'), { maxEvents: 10_000, maxBytes: 1 << 24, policy: 'drop_oldest', segmentBytes: 1 << 20 });
  let requests = 0;
  // Elasticsearch is down behind the server: every request is answered 503 with Retry-After: 30.
  const output: EventOutput = { ingest: async () => (requests++, { kind: 'retry', status: 503, reason: 'HTTP 503', retryAfterMs: 30_000 }) };
  const sender = new BatchSender(queue, output, () => 'key', { batchSize: 10, flushIntervalMs: 20, backoffInitialMs: 10, backoffMaxMs: 50, stateDir: dir }, getLogger('test'));
  const line = (n: number) => ({ ts: new Date().toISOString(), category: 'syslog' as const, host: 'h', raw: `line ${n}` });
  try {
    queue.append([line(0)]);
    sender.start();
    // A tailed file keeps growing, as the collector would: append and notify every 20 ms for about a second.
    for (let n = 1; n <= 50; n++) {
      queue.append([line(n)]);
      sender.notify();
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(requests, 1, 'one request, then silence until Retry-After has passed');
    assert.equal(sender.state, 'backing_off');
    const stopping = Date.now();
    await sender.stop();
    assert.ok(Date.now() - stopping < 5_000, 'stop() does not wait out the backoff');
  } finally {
    await sender.stop();
    queue.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
