import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { IndicatorStore, MispClient, readFeedState, syncFeed } from '../../src/intel/index.ts';
import { startMispStub, type MispStub } from '../stubs/misp/server.ts';
import { validateMispRequest } from './support/openapi.ts';
import { intelTestEnv, type IntelTestEnv } from './support/setup.ts';

const KEY = 'misp-key-0123456789abcdef0123456789abcdef';
let env: IntelTestEnv;
let misp: MispStub;

before(async () => {
  env = await intelTestEnv({ NYX_MISP_KEY: KEY });
  misp = await startMispStub(KEY);
});
after(() => misp.close());

const mispFeed = (over: Record<string, unknown> = {}) =>
  env.feed({ name: 'misp', kind: 'misp', url: misp.url, auth: { env: 'NYX_MISP_KEY' }, misp: { page_limit: 4, initial_days: 100000, ...(over.misp as object) }, ...over });

test('MISP restSearch: paged by timestamp, every request body valid against the OpenAPI spec', async () => {
  misp.requests.length = 0;
  const r = await syncFeed(env.rt, mispFeed());
  assert.equal(r.result, 'ok', r.error);
  const searches = misp.requests.filter((q) => q.path === '/attributes/restSearch');
  // 12 live attributes + 1 broken row in pages of 4 → 4 pages; then 1 page of deleted ones.
  assert.equal(searches.length, 5);
  for (const q of searches) {
    assert.deepEqual(validateMispRequest('restSearchAttributes', q.body), []);
    assert.equal(q.headers.authorization, KEY);
  }
  assert.deepEqual(
    searches.map((q) => (q.body as { page: number }).page),
    [1, 2, 3, 4, 1],
  );
  assert.deepEqual(
    searches.map((q) => (q.body as { deleted: boolean }).deleted),
    [false, false, false, false, true],
  );

  const store = new IndicatorStore(env.client, env.namespace);
  const ip = await store.get('ipv4-addr:203.0.113.10');
  assert.equal(ip?.nyx.indicator.confidence_score, 82.5, 'decay score used as confidence');
  assert.equal(ip?.threat.indicator.marking?.tlp, 'GREEN', 'event tag tlp:green');
  assert.match(ip?.threat.indicator.reference ?? '', /\/events\/view\/17$/);
  assert.equal((await store.get('domain-name:bad-domain.test'))?.threat.indicator.marking?.tlp, 'AMBER');
  assert.ok(await store.get(`file:${'a'.repeat(64)}`), 'filename|sha256 → the hash');
  assert.equal((await store.get('ipv4-addr:198.51.100.0/24'))?.nyx.indicator.cidr, '198.51.100.0/24');
  assert.ok(await store.get('ipv4-addr:203.0.113.11'), 'ip-dst|port → the IP');
  assert.ok(await store.get('email-addr:phisher@bad-domain.test'));
  assert.equal(await store.get('ipv4-addr:203.0.113.66'), undefined, 'TLP:RED never imported');
  assert.equal(await store.get('ipv4-addr:10.1.2.3'), undefined, 'private range never flags');
  assert.equal((await store.get('domain-name:old-bad.test'))?.nyx.indicator.active, false, 'decayed attribute is not active');
  assert.equal((await store.get('ipv4-addr:203.0.113.99'))?.nyx.indicator.revoked, true, 'deleted attribute is revoked');
  assert.equal(r.counts.skipped, 2);
  assert.equal(r.counts.rejected, 2, 'not-an-ip and the row without a value');

  // The newest stored attribute; the malformed row after it is counted and skipped, never retried.
  const state = await readFeedState(env.client, env.namespace, 'misp');
  assert.equal(state?.cursor, '1700000320');
});

test('MISP: the cursor is the newest attribute timestamp; the next run asks from there; a failure mid-way keeps the old cursor', async () => {
  misp.requests.length = 0;
  await syncFeed(env.rt, mispFeed());
  const first = misp.requests.find((q) => q.path === '/attributes/restSearch');
  assert.equal((first?.body as { timestamp: string }).timestamp, '1700000320');

  // A modified attribute arrives; MISP then fails on the second page.
  misp.attributes.push({ ...(misp.attributes[0] as object), id: '1100', uuid: 'new-attr', value: '203.0.113.12', timestamp: '1700000400' } as (typeof misp.attributes)[number]);
  let calls = 0;
  const before = misp.requests.length;
  const timer = setInterval(() => {
    calls = misp.requests.length - before;
    if (calls >= 1) misp.fault = '500';
  }, 1);
  const r = await syncFeed(env.rt, mispFeed({ misp: { page_limit: 1, initial_days: 100000 } }));
  clearInterval(timer);
  misp.fault = 'none';
  assert.equal(r.result, 'error');
  assert.equal((await readFeedState(env.client, env.namespace, 'misp'))?.cursor, '1700000320');
  const ok = await syncFeed(env.rt, mispFeed());
  assert.equal(ok.result, 'ok', ok.error);
  assert.equal((await readFeedState(env.client, env.namespace, 'misp'))?.cursor, '1700000400');
});

test('MISP: a bad key shows as a refusal in status; allow_tlp_red imports red', async () => {
  const bad = await syncFeed({ ...env.rt, env: { NYX_MISP_KEY: 'wrong' } }, mispFeed());
  assert.equal(bad.failure, 'forbidden');
  assert.ok(!bad.error?.includes('wrong'));
  const red = await syncFeed(env.rt, mispFeed({ name: 'misp_red', allow_tlp_red: true }));
  assert.equal(red.result, 'ok');
  const doc = await new IndicatorStore(env.client, env.namespace).get('ipv4-addr:203.0.113.66');
  assert.equal(doc?.threat.indicator.marking?.tlp, 'RED');
});

test('sightings and events pushed to MISP use the documented request shapes', async () => {
  const client = new MispClient({ url: misp.url, apiKey: KEY });
  await client.addSighting({ values: ['203.0.113.10'], timestamp: 1700001000 });
  const id = await client.createEvent({ info: 'Nyx alert: SSH brute force from 203.0.113.10', threatLevel: 1, attributes: [{ type: 'ip-src', value: '203.0.113.10', comment: 'alert abc' }] });
  assert.equal(id, '101');
  assert.deepEqual(misp.sightings, [{ values: ['203.0.113.10'], timestamp: '1700001000' }]);
  assert.deepEqual(validateMispRequest('addSightingByValue', misp.sightings[0]), []);
  assert.deepEqual(validateMispRequest('addEvent', misp.events[0]), []);
  assert.equal(misp.attributesAdded[0]?.eventId, '101');
  assert.deepEqual(validateMispRequest('addAttribute', misp.attributesAdded[0]?.body), []);
  // The validator does catch a wrong shape.
  assert.notDeepEqual(validateMispRequest('restSearchAttributes', { timestamp: 1700000000, deleted: [0, 1] }), []);
});

test('MISP feed format: manifest.json then changed events, objects included, non-IDS skipped, cursor per event', async () => {
  const feed = env.feed({ name: 'circl', kind: 'misp_feed', url: `${misp.url}/feed/manifest.json` });
  const r = await syncFeed(env.rt, feed);
  assert.equal(r.result, 'ok', r.error);
  assert.equal(r.counts.added, 5); // 192.0.2.200, qakbot-c2.test, md5, login-micros0ft.test, its refanged URL
  assert.equal(r.counts.rejected, 1);
  const store = new IndicatorStore(env.client, env.namespace);
  assert.ok(await store.get('url:https://login-micros0ft.test/owa'));
  assert.equal((await store.get('ipv4-addr:192.0.2.200'))?.threat.indicator.marking?.tlp, 'CLEAR');
  assert.equal((await readFeedState(env.client, env.namespace, 'circl'))?.cursor, '1700090000');
  misp.requests.length = 0;
  await syncFeed(env.rt, feed);
  assert.deepEqual(
    misp.requests.map((q) => q.path),
    ['/feed/manifest.json'],
    'nothing changed: only the manifest is read',
  );
});
