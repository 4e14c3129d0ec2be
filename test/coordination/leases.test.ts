import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { LeaseStore, StateStore } from '../../src/coordination/index.ts';
import { z } from 'zod';
import { testClient, uniqueNamespace } from '../support/elastic.ts';

const client = testClient();
const index = `nyx-leases-test-${uniqueNamespace()}`;
before(async () => {
  await client.indices.create({ index, mappings: { dynamic: false } });
});

test('exactly one of many racing replicas gets a lease', async () => {
  const name = uniqueNamespace('lease');
  const replicas = Array.from({ length: 8 }, (_, i) => new LeaseStore(client, `replica-${i}`, index));
  const results = await Promise.all(replicas.map((r) => r.acquire(name, 60_000)));
  assert.equal(results.filter(Boolean).length, 1);
});

test('the holder renews; another takes over only after expiry or release', async () => {
  const name = uniqueNamespace('lease');
  const a = new LeaseStore(client, 'a', index);
  const b = new LeaseStore(client, 'b', index);
  const t0 = Date.now();
  assert.ok(await a.acquire(name, 1_000, t0));
  assert.equal(await b.acquire(name, 1_000, t0 + 500), undefined, 'held by a');
  assert.ok(await a.acquire(name, 1_000, t0 + 600), 'a renews');
  assert.equal(await b.acquire(name, 1_000, t0 + 1_500), undefined, 'renewal moved the expiry');
  assert.ok(await b.acquire(name, 1_000, t0 + 1_700), 'expired: b takes it');
  assert.equal(await b.holderOf(name, t0 + 1_800), 'b');
  await b.release(name);
  assert.equal(await a.holderOf(name), undefined);
  assert.ok(await a.acquire(name, 1_000));
});

test('state survives and is validated on read', async () => {
  const store = new StateStore(client, `nyx-state-test-${uniqueNamespace()}`);
  const key = uniqueNamespace('cursor');
  await store.put(key, 'cursor', { at: '2026-01-01T00:00:00Z', n: 3 });
  assert.deepEqual(await store.get(key, z.object({ at: z.string(), n: z.number() })), { at: '2026-01-01T00:00:00Z', n: 3 });
  assert.equal(await store.get(key, z.object({ other: z.string() })), undefined, 'a value of the wrong shape reads as absent');
  await store.delete(key);
  assert.equal(await store.get(key, z.object({ at: z.string() })), undefined);
});
