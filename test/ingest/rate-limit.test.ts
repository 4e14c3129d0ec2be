import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateLimiter } from '../../src/ingest/rate-limit.ts';

test('failures from a flood of distinct addresses keep at most maxKeys buckets', () => {
  const limiter = new RateLimiter(10 / 60, 10, () => 0, 1_000);
  for (let i = 0; i < 50_000; i++) limiter.take(`198.51.${i >> 8}.${i & 255}`);
  assert.equal(limiter.size, 1_000);
});

test('peek never takes a token and never remembers an address that only asks', () => {
  let now = 0;
  const limiter = new RateLimiter(1, 2, () => now);
  for (let i = 0; i < 5; i++) assert.deepEqual(limiter.peek('quiet'), { allowed: true });
  assert.equal(limiter.size, 0);
  limiter.take('noisy');
  limiter.take('noisy');
  assert.deepEqual(limiter.peek('noisy'), { allowed: false, retryAfterSeconds: 1 });
  now += 1_000;
  assert.deepEqual(limiter.peek('noisy'), { allowed: true });
});
