import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { alertIndex } from '../../src/alerts/index.ts';
import { IndicatorStore } from '../../src/intel/index.ts';
import { runNyx } from '../support/cli.ts';
import { testElasticUrl, uniqueNamespace } from '../support/elastic.ts';
import { bootstrapped, enrichmentConfig, ingestAgentEvents } from '../enrichment/support.ts';
import { eventually, startNyx, type NyxProcess } from '../watch/support.ts';
import { startMispStub, type MispStub } from '../stubs/misp/server.ts';
import { validateMispRequest } from './support/openapi.ts';

/**
 * The chain, end to end, with real processes over a real Elasticsearch: `nyx feeds sync misp`
 * against the MISP stub → indicators in the store → `nyx serve` (with enrichment) → an agent's event with
 * a known-bad IP is stored enriched → the retro-hunt finds an older event for another MISP indicator and
 * raises an alert → both matches are sighted back to MISP (`POST /sightings/add`), each exactly once.
 */

const KEY = 'misp-e2e-key-0123456789abcdef0123456789';
const closers: Array<() => Promise<void>> = [];
after(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
});

const wholeSecondsAgo = (s: number): string => new Date(Math.floor(Date.now() / 1000 - s) * 1000).toISOString();
const epoch = (iso: string): string => String(Date.parse(iso) / 1000);

test('sync → store → serve enriches → retro-hunt alert for an older event → sightings pushed to MISP', async () => {
  const ctx = await bootstrapped();
  const ns = uniqueNamespace('chain');
  const misp: MispStub = await startMispStub(KEY);
  closers.push(() => misp.close());

  // The operator's feed definition: the stub as MISP, the key only in the environment.
  const feedsDir = mkdtempSync(join(tmpdir(), 'nyx-e2e-feeds-'));
  writeFileSync(
    join(feedsDir, 'misp.yml'),
    toYaml({ name: 'misp', kind: 'misp', url: misp.url, auth: { env: 'NYX_MISP_KEY' }, expiry_days: 3650, limits: { timeout_ms: 5000, retries: 0 }, misp: { page_limit: 5, initial_days: 100000 } }),
  );
  const env = {
    ELASTICSEARCH_URL: testElasticUrl(),
    NYX_NAMESPACE: ns,
    NYX_MISP_KEY: KEY,
    NYX__INTEL__FEEDS_DIR: feedsDir,
    NYX__SERVE__AUTH_CACHE_MS: '0',
    // Only this test's events are swept; no periodic refresh during the test (the first pass hunts the set).
    NYX__ENRICHMENT__RETRO_HUNT__INDICES: `logs-*-${ns}`,
    NYX__ENRICHMENT__REFRESH_SECONDS: '3600',
  };

  // An older event, stored two days ago, before any indicator arrived: an address inside a MISP CIDR.
  const oldTs = wholeSecondsAgo(2 * 86_400);
  const written = await ingestAgentEvents(ctx, enrichmentConfig({}, ns), ns, [{ ts: oldTs, category: 'network', dst_ip: '198.51.100.7', dst_port: 443 }]);
  assert.equal(written.outcomes.filter((o) => o === 'indexed').length, 1);

  // 1. Sync MISP with the real CLI.
  const sync = await runNyx(['feeds', 'sync', 'misp'], env);
  assert.equal(sync.code, 0, sync.stderr);
  assert.match(sync.stdout, /^misp: /m);
  const syncs = misp.requests.filter((r) => r.path === '/attributes/restSearch');
  assert.ok(syncs.length > 0 && syncs.every((r) => r.headers.authorization === KEY));

  // 2. The indicators are in the store.
  const store = new IndicatorStore(ctx.client, ns);
  const ip = await store.get('ipv4-addr:203.0.113.10');
  assert.ok(ip?.nyx.indicator.active, 'the MISP IP is an active indicator');
  assert.deepEqual(ip.nyx.indicator.feeds, ['misp']);
  assert.ok((await store.get('ipv4-addr:198.51.100.0/24'))?.nyx.indicator.active, 'the MISP network too');
  assert.equal(misp.sightings.length, 0, 'syncing sights nothing');

  // 3. A real `nyx serve`, enrichment and retro-hunt inside.
  const serve: NyxProcess = startNyx(['serve', '--port', '0'], env);
  closers.push(() => serve.stop());
  const url = (await serve.waitFor(/ingest API on (http:\/\/\S+)/))[1]!;
  assert.match(serve.stderr(), /indicator enrichment: \d+ active values.*MISP sightings to feed misp/);

  // 4. The retro-hunt's first pass finds the older event: an alert in this tenant's alert index.
  const alerts = await eventually(async () => {
    const res = await ctx.client.search<{ rule: { id: string }; nyx: { alert: { entity: string; reason: string; evidence: { event_ids: string[]; indices: string[] } } } }>({ index: alertIndex(ns), ignore_unavailable: true, size: 10 }).catch(() => undefined);
    return res?.hits.hits.length ? res.hits.hits : undefined;
  }, 'the retro-hunt alert');
  assert.equal(alerts.length, 1);
  const alert = alerts[0]!._source!;
  assert.equal(alert.rule.id, 'nyx-ioc-retro-hunt');
  assert.equal(alert.nyx.alert.entity, '198.51.100.7');
  assert.match(alert.nyx.alert.reason, /198\.51\.100\.0\/24/);
  const old = await ctx.client.search({ index: `logs-endpoint-${ns}`, query: { ids: { values: alert.nyx.alert.evidence.event_ids } } });
  assert.equal((old.hits.hits[0]?._source as { destination?: { ip?: string } })?.destination?.ip, '198.51.100.7', 'the evidence is the older event');

  // 5. An agent enrolls and posts an event with the known-bad IP.
  const token = await runNyx(['agents', 'token', 'create', '--namespace', ns, '--ttl', '1h'], env);
  assert.equal(token.code, 0, token.stderr);
  const enrolled = await fetch(`${url}/api/agents/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: token.stdout.trim(), hostname: 'web-07', os: 'linux 6.1', ip: '192.0.2.7', version: '0.1.0' }) });
  assert.equal(enrolled.status, 201);
  const { agent_key } = (await enrolled.json()) as { agent_key: string };
  const newTs = wholeSecondsAgo(60);
  const post = async (): Promise<{ stored: number; duplicates: number }> => {
    const res = await fetch(`${url}/api/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-agent-key': agent_key },
      body: JSON.stringify([{ ts: newTs, category: 'network', host: 'web-07', dst_ip: '203.0.113.10', dst_port: 443, seq: 1 }]),
    });
    assert.equal(res.status, 200);
    return (await res.json()) as { stored: number; duplicates: number };
  };
  assert.equal((await post()).stored, 1);

  // 6. The stored document carries the enrichment and the ioc tags.
  await ctx.client.indices.refresh({ index: `logs-endpoint-${ns}` });
  const stored = await ctx.client.search<{ tags?: string[]; event: { severity?: number }; threat?: { enrichments?: unknown[] } }>({
    index: `logs-endpoint-${ns}`,
    query: { term: { 'destination.ip': '203.0.113.10' } },
  });
  assert.equal(stored.hits.hits.length, 1);
  const doc = stored.hits.hits[0]!._source!;
  assert.deepEqual(doc.threat?.enrichments, [
    { matched: { field: 'destination.ip', atomic: '203.0.113.10', type: 'indicator_match_rule' }, indicator: { type: 'ipv4-addr', provider: ip.threat.indicator.provider.join(','), confidence: ip.threat.indicator.confidence }, feed: { name: 'misp' } },
  ]);
  assert.ok(doc.tags?.includes('ioc:ip'), `tags: ${doc.tags?.join(',')}`);
  assert.ok(doc.tags?.includes('ioc:high_confidence'), 'decay score 82.5 is high confidence');
  assert.equal(doc.event.severity, 73);

  // 7. MISP received one sighting per first-time match, in its documented shape, at the events' times.
  await eventually(async () => (misp.sightings.length >= 2 ? true : undefined), 'two sightings at the MISP stub');
  const bodies = misp.requests.filter((r) => r.path === '/sightings/add');
  assert.ok(bodies.every((r) => r.method === 'POST' && r.headers.authorization === KEY));
  const byValue = (a: unknown, b: unknown): number => JSON.stringify(a).localeCompare(JSON.stringify(b));
  assert.deepEqual([...misp.sightings].sort(byValue), [
    { values: ['198.51.100.0/24'], timestamp: epoch(oldTs) },
    { values: ['203.0.113.10'], timestamp: epoch(newTs) },
  ]);
  for (const body of misp.sightings) assert.deepEqual(validateMispRequest('addSightingByValue', body), []);

  // 8. The agent retries the same batch: stored once, so sighted once; stopping drains and adds nothing.
  assert.deepEqual(await post().then((r) => [r.stored, r.duplicates]), [0, 1]);
  await serve.stop();
  assert.equal(serve.child.exitCode, 0, serve.stderr().slice(-1000));
  assert.equal(misp.sightings.length, 2, 'no sighting twice');
});
