import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BoundedCache } from '../../src/agents/bounded-cache.ts';

test('a flood of distinct keys keeps at most maxEntries, the least recently used dropped first', () => {
  const cache = new BoundedCache<number>(100, 60_000);
  cache.set('kept', 1);
  for (let i = 0; i < 100_000; i++) {
    cache.set(`flood-${i}`, i);
    if (i % 50 === 0) cache.get('kept');
  }
  assert.equal(cache.size, 100);
  assert.equal(cache.get('kept'), 1, 'an entry in use survives the flood');
  assert.equal(cache.get('flood-0'), undefined);
  assert.equal(cache.get('flood-99999'), 99_999);
});

test('an entry is forgotten ttlMs after it was set', () => {
  let now = 1_000;
  const cache = new BoundedCache<true>(10, 500, () => now);
  cache.set('id', true);
  now += 499;
  assert.equal(cache.has('id'), true);
  now += 1;
  assert.equal(cache.has('id'), false);
  assert.equal(cache.size, 0);
});
