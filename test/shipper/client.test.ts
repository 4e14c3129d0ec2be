import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay } from '../../src/shipper/sender.ts';
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
