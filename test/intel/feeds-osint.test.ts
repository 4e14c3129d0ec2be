import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { IndicatorStore, readFeedState, syncFeed, syncFeeds } from '../../src/intel/index.ts';
import { startAbusechStub } from '../stubs/abusech/server.ts';
import { startAbuseipdbStub } from '../stubs/abuseipdb/server.ts';
import { startOtxStub } from '../stubs/otx/server.ts';
import type { StubServer } from './support/stub-http.ts';
import { intelTestEnv, type IntelTestEnv } from './support/setup.ts';

const KEYS = { ABUSECH_AUTH_KEY: 'abusech-key-123', ABUSEIPDB_KEY: 'abuseipdb-key-456', OTX_KEY: 'otx-key-789' };
let env: IntelTestEnv;
let abusech: StubServer;
let abuseipdb: StubServer;
let otx: StubServer;

before(async () => {
  env = await intelTestEnv({ ...KEYS });
  abusech = await startAbusechStub(KEYS.ABUSECH_AUTH_KEY);
  abuseipdb = await startAbuseipdbStub(KEYS.ABUSEIPDB_KEY);
  otx = await startOtxStub(KEYS.OTX_KEY);
});
after(async () => {
  await Promise.all([abusech.close(), abuseipdb.close(), otx.close()]);
});

const urlhaus = () => env.feed({ name: 'urlhaus', kind: 'urlhaus', url: `${abusech.url}/v1/urls/recent/`, auth: { env: 'ABUSECH_AUTH_KEY' }, confidence: 80 });
const threatfox = () => env.feed({ name: 'threatfox', kind: 'threatfox', url: `${abusech.url}/api/v1/`, auth: { env: 'ABUSECH_AUTH_KEY' } });
const feodo = () => env.feed({ name: 'feodo', kind: 'feodo', url: `${abusech.url}/downloads/ipblocklist.json`, auth: { env: 'ABUSECH_AUTH_KEY' }, confidence: 90 });
const abuse = () => env.feed({ name: 'abuseipdb', kind: 'abuseipdb', url: `${abuseipdb.url}/api/v2/blacklist`, auth: { env: 'ABUSEIPDB_KEY' } });
const otxFeed = () => env.feed({ name: 'otx', kind: 'otx', url: `${otx.url}/api/v1/pulses/subscribed`, auth: { env: 'OTX_KEY' }, otx: { initial_days: 100000, limit: 2 } });

test('URLhaus: rows stored with the Auth-Key header; bad rows counted with reasons; private hosts never flag', async () => {
  abusech.requests.length = 0;
  const r = await syncFeed(env.rt, urlhaus());
  assert.equal(r.result, 'ok', r.error);
  assert.equal(r.counts.added, 2);
  assert.equal(r.counts.skipped, 1); // http://192.168.1.20/… is on the private-ranges warning list
  assert.equal(r.counts.rejected, 2); // no url; javascript: URL
  assert.equal(abusech.requests[0]?.headers['auth-key'], KEYS.ABUSECH_AUTH_KEY);
  const store = new IndicatorStore(env.client, env.namespace);
  const doc = await store.get('url:http://198.51.100.23/bins/mozi.m');
  assert.equal(doc?.threat.indicator.url?.full, 'http://198.51.100.23/bins/mozi.m');
  assert.deepEqual(doc?.nyx.indicator.providers, ['abuse.ch URLhaus']);
  assert.equal(doc?.threat.indicator.first_seen, '2023-11-20T10:14:07.000Z');
  const state = await readFeedState(env.client, env.namespace, 'urlhaus');
  assert.equal(state?.result, 'ok');
  assert.equal(state?.counts.rejected, 2);
  assert.match(state?.rejected_samples.join('\n') ?? '', /url: /);

  // A re-sync updates, never duplicates.
  const again = await syncFeed(env.rt, urlhaus());
  assert.equal(again.counts.added, 0);
  assert.equal(again.counts.updated + again.counts.unchanged, 2);
  await store.refresh();
  const n = await env.client.count({ index: store.feedIndex('urlhaus') });
  assert.equal(n.count, 2);
});

test('ThreatFox: ip:port, domain and sha256 rows with their confidence; a non-numeric confidence is rejected', async () => {
  const r = await syncFeed(env.rt, threatfox());
  assert.equal(r.result, 'ok', r.error);
  assert.equal(r.counts.added, 3);
  assert.equal(r.counts.rejected, 1);
  const body = abusech.requests.find((q) => q.path === '/api/v1/')?.body as { query: string; days: number };
  assert.deepEqual(body, { query: 'get_iocs', days: 7 });
  const store = new IndicatorStore(env.client, env.namespace);
  const ip = await store.get('ipv4-addr:203.0.113.45');
  assert.equal(ip?.nyx.indicator.confidence_score, 100);
  const hash = await store.get('file:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.equal(hash?.threat.indicator.file?.hash.sha256, 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  // The cursor moved to this run: next run asks for 1 day.
  const state = await readFeedState(env.client, env.namespace, 'threatfox');
  assert.ok(state?.cursor);
  await syncFeed(env.rt, threatfox());
  const last = abusech.requests.filter((q) => q.path === '/api/v1/').at(-1)?.body as { days: number };
  assert.equal(last.days, 1);
});

test('Feodo Tracker and AbuseIPDB: IP lists with their scores, IPv6 included', async () => {
  const f = await syncFeed(env.rt, feodo());
  assert.equal(f.result, 'ok', f.error);
  assert.equal(f.counts.added, 2);
  assert.equal(f.counts.rejected, 2);
  const a = await syncFeed(env.rt, abuse());
  assert.equal(a.result, 'ok', a.error);
  assert.equal(a.counts.added, 3); // v4, v6 and 203.0.113.10
  assert.equal(a.counts.rejected, 1); // "100%"
  const req = abuseipdb.requests.at(-1);
  assert.equal(req?.headers.key, KEYS.ABUSEIPDB_KEY);
  assert.equal(req?.query.get('confidenceMinimum'), '90');
  const store = new IndicatorStore(env.client, env.namespace);
  const v6 = await store.get('ipv6-addr:2001:db8:dead:beef::1');
  assert.equal(v6?.threat.indicator.type, 'ipv6-addr');
  assert.equal(v6?.nyx.indicator.confidence_score, 95);
});

test('OTX: subscribed pulses since the cursor, following next pages; inactive and expired indicators leave the active set', async () => {
  const r = await syncFeed(env.rt, otxFeed());
  assert.equal(r.result, 'ok', r.error);
  const first = otx.requests[0];
  assert.equal(first?.headers['x-otx-api-key'], KEYS.OTX_KEY);
  assert.ok(first?.query.get('modified_since'));
  assert.equal(otx.requests.length, 2);
  assert.equal(r.counts.rejected, 2); // YARA indicator, broken pulse
  const store = new IndicatorStore(env.client, env.namespace);
  assert.equal((await store.get('ipv4-addr:203.0.113.150'))?.nyx.indicator.active, true);
  assert.equal((await store.get('ipv4-addr:203.0.113.151'))?.nyx.indicator.active, false);
  assert.equal((await store.get('ipv4-addr:203.0.113.152'))?.nyx.indicator.active, false);
  assert.equal((await store.get('ipv4-addr:198.51.100.128/25'))?.nyx.indicator.cidr, '198.51.100.128/25');
  assert.equal((await store.get('email-addr:decrypt@ransom.test'))?.threat.indicator.marking?.tlp, 'AMBER');
  const state = await readFeedState(env.client, env.namespace, 'otx');
  assert.equal(state?.cursor, '2023-11-20T08:30:00');
  otx.requests.length = 0;
  await syncFeed(env.rt, otxFeed());
  assert.equal(otx.requests[0]?.query.get('modified_since'), '2023-11-20T08:30:00');
});

test('faults: 401, 402, 429, HTML, timeout and a down server each show in status; the cursor never moves; other feeds carry on', async () => {
  const cases: Array<[StubServer, () => ReturnType<typeof otxFeed>, StubServer['fault'], string]> = [
    [abusech, urlhaus, '401', 'unauthorized'],
    [abuseipdb, abuse, '402', 'payment_required'],
    [abuseipdb, abuse, '429', 'rate_limited'],
    [otx, otxFeed, 'html', 'html'],
    [otx, otxFeed, 'hang', 'timeout'],
  ];
  for (const [stub, def, fault, failure] of cases) {
    const feed = def();
    const before = await readFeedState(env.client, env.namespace, feed.name);
    stub.fault = fault;
    const results = await syncFeeds(env.rt, [feed, stub === abusech ? abuse() : feodo()]);
    stub.fault = 'none';
    assert.equal(results[0]?.result, 'error', `${fault}`);
    assert.equal(results[0]?.failure, failure, `${fault}: ${results[0]?.error}`);
    assert.equal(results[1]?.result, 'ok', 'the next feed still runs');
    const after = await readFeedState(env.client, env.namespace, feed.name);
    assert.equal(after?.result, 'error');
    assert.equal(after?.failure, failure);
    assert.ok(after?.last_error);
    assert.equal(after?.cursor, before?.cursor, `${fault}: cursor unchanged`);
    assert.ok(!after?.last_error?.includes(KEYS.ABUSEIPDB_KEY) && !after?.last_error?.includes(KEYS.OTX_KEY));
  }
  const down = await syncFeed(env.rt, env.feed({ name: 'down', kind: 'feodo', url: 'http://127.0.0.1:1/downloads/ipblocklist.json' }));
  assert.equal(down.failure, 'unreachable');
  const noKey = await syncFeed({ ...env.rt, env: {} }, abuse());
  assert.equal(noKey.failure, 'missing_secret');
  assert.match(noKey.error ?? '', /ABUSEIPDB_KEY/);
});

test('a 429 with a short Retry-After is waited out and the sync succeeds', async () => {
  abuseipdb.requests.length = 0;
  let calls = 0;
  const original = abuseipdb.fault;
  abuseipdb.fault = '429';
  abuseipdb.retryAfter = 1;
  // Clear the fault after the first answer.
  const timer = setInterval(() => {
    if (abuseipdb.requests.length > calls) {
      calls = abuseipdb.requests.length;
      abuseipdb.fault = original;
    }
  }, 10);
  const r = await syncFeed(env.rt, env.feed({ name: 'abuseipdb_retry', kind: 'abuseipdb', url: `${abuseipdb.url}/api/v2/blacklist`, auth: { env: 'ABUSEIPDB_KEY' }, limits: { retries: 2, max_retry_after_s: 5, timeout_ms: 3000 } }));
  clearInterval(timer);
  assert.equal(r.result, 'ok', r.error);
  assert.equal(abuseipdb.requests.length, 2);
});
