import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { IndicatorStore, type FeedIndicator, type LatestIndicator } from '../../src/intel/store/index.ts';
import { intelTestEnv, type IntelTestEnv } from './support/setup.ts';

let env: IntelTestEnv;
before(async () => {
  env = await intelTestEnv();
});

const ind = (feed: string, over: Partial<FeedIndicator>): FeedIndicator => ({ feed, type: 'ipv4-addr', value: '203.0.113.7', provider: feed, confidence: 50, tlp: 'GREEN', ...over });

async function collect(it: AsyncIterable<LatestIndicator>): Promise<LatestIndicator[]> {
  const out: LatestIndicator[] = [];
  for await (const x of it) out.push(x);
  return out;
}

test('re-upserting the same indicator updates it: one per-feed document, first_seen kept', async () => {
  const store = new IndicatorStore(env.client, env.namespace);
  const t0 = new Date('2026-01-01T00:00:00Z');
  const r1 = await store.upsert([ind('alpha', { value: '203.0.113.1', last_seen: t0.toISOString() })], t0);
  assert.equal(r1.added, 1);
  const t1 = new Date('2026-01-02T00:00:00Z');
  const r2 = await store.upsert([ind('alpha', { value: '203.0.113.1', last_seen: t1.toISOString(), confidence: 60 })], t1);
  assert.equal(r2.added, 0);
  assert.equal(r2.updated, 1);
  await store.refresh();
  const count = await env.client.count({ index: store.feedIndex('alpha'), query: { term: { 'nyx.indicator.key': 'ipv4-addr:203.0.113.1' } } });
  assert.equal(count.count, 1);
  const latest = await store.get('ipv4-addr:203.0.113.1');
  assert.equal(latest?.threat.indicator.first_seen, t0.toISOString());
  assert.equal(latest?.threat.indicator.last_seen, t1.toISOString());
  assert.equal(latest?.threat.indicator.ip, '203.0.113.1');
});

test('the latest view fuses providers: list, noisy-OR confidence, earliest first_seen, latest last_seen, strictest TLP', async () => {
  const store = new IndicatorStore(env.client, env.namespace);
  const now = new Date('2026-02-01T00:00:00Z');
  await store.upsert([ind('alpha', { value: 'bad.test', type: 'domain-name', confidence: 50, first_seen: '2026-01-10T00:00:00.000Z', last_seen: '2026-01-20T00:00:00.000Z', tlp: 'GREEN' })], now);
  await store.upsert([ind('beta', { value: 'bad.test', type: 'domain-name', confidence: 60, first_seen: '2026-01-05T00:00:00.000Z', last_seen: '2026-01-25T00:00:00.000Z', tlp: 'AMBER', provider: 'Beta Intel' })], now);
  const doc = await store.get('domain-name:bad.test');
  assert.ok(doc);
  assert.deepEqual(doc.nyx.indicator.providers, ['Beta Intel', 'alpha']);
  assert.deepEqual(doc.threat.indicator.provider, ['Beta Intel', 'alpha']);
  assert.equal(doc.nyx.indicator.confidence_score, 80); // 1 - 0.5*0.4
  assert.equal(doc.threat.indicator.confidence, 'High');
  assert.equal(doc.threat.indicator.first_seen, '2026-01-05T00:00:00.000Z');
  assert.equal(doc.threat.indicator.last_seen, '2026-01-25T00:00:00.000Z');
  assert.equal(doc.threat.indicator.marking?.tlp, 'AMBER');
  assert.equal(doc.threat.indicator.domain, 'bad.test');
  assert.equal(doc.nyx.indicator.active, true);
});

test('expiry and revocation take an indicator out of the active set; incremental reads see the change', async () => {
  const store = new IndicatorStore(env.client, env.namespace);
  const t0 = new Date('2026-03-01T00:00:00Z');
  await store.upsert(
    [
      ind('gamma', { value: '203.0.113.20', last_seen: t0.toISOString(), expires_at: '2026-03-02T00:00:00.000Z' }),
      ind('gamma', { value: '203.0.113.21', last_seen: t0.toISOString(), expires_at: '2026-04-01T00:00:00.000Z' }),
      ind('gamma', { value: '198.51.100.0/24', cidr: true, last_seen: t0.toISOString(), expires_at: '2026-04-01T00:00:00.000Z' }),
    ],
    t0,
  );
  await store.refresh();
  const mark = new Date();
  const before = (await collect(store.activeIndicators())).map((d) => d.nyx.indicator.key);
  assert.ok(before.includes('ipv4-addr:203.0.113.20'));
  const cidr = await store.get('ipv4-addr:198.51.100.0/24');
  assert.equal(cidr?.nyx.indicator.cidr, '198.51.100.0/24');
  assert.equal(cidr?.threat.indicator.ip, undefined);

  const expired = await store.expire(new Date('2026-03-03T00:00:00Z'), { feed: 'gamma' });
  assert.equal(expired.byFeed.gamma, 1);
  assert.equal(expired.expired, 1);
  await store.upsert([ind('gamma', { value: '203.0.113.21', last_seen: t0.toISOString(), expires_at: '2026-04-01T00:00:00.000Z', revoked: true })], new Date('2026-03-03T00:00:00Z'));
  await store.refresh();
  const after = (await collect(store.activeIndicators())).map((d) => d.nyx.indicator.key);
  assert.ok(!after.includes('ipv4-addr:203.0.113.20'));
  assert.ok(!after.includes('ipv4-addr:203.0.113.21'));
  const changed = await collect(store.activeIndicators({ since: new Date(mark.getTime() - 1000) }));
  const byKey = new Map(changed.map((d) => [d.nyx.indicator.key, d]));
  assert.equal(byKey.get('ipv4-addr:203.0.113.20')?.nyx.indicator.active, false);
  assert.equal(byKey.get('ipv4-addr:203.0.113.21')?.nyx.indicator.revoked, true);

  // The CIDR can be searched with ip_range semantics.
  const hit = await env.client.search({ index: store.latestIndex, query: { term: { 'nyx.indicator.cidr': '198.51.100.77' } } });
  assert.equal((hit.hits.total as { value: number }).value, 1);
});

test('activeIndicators pages with a resumable cursor', async () => {
  const store = new IndicatorStore(env.client, env.namespace);
  const now = new Date('2026-05-01T00:00:00Z');
  await store.upsert(Array.from({ length: 25 }, (_, i) => ind('paged', { value: `192.0.2.${i + 1}`, last_seen: now.toISOString(), expires_at: '2099-01-01T00:00:00.000Z' })), now);
  await store.refresh();
  const all = (await collect(store.activeIndicators({ pageSize: 7 }))).filter((d) => d.nyx.indicator.feeds.includes('paged'));
  assert.equal(all.length, 25);
  const first10 = all.slice(0, 10);
  const rest = (await collect(store.activeIndicators({ afterCursor: store.cursorOf(first10.at(-1) as LatestIndicator), pageSize: 7 }))).filter((d) => d.nyx.indicator.feeds.includes('paged'));
  assert.deepEqual(
    rest.map((d) => d.nyx.indicator.key),
    all.slice(10).map((d) => d.nyx.indicator.key),
  );
});
