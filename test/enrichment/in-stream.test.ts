import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IndicatorStore } from '../../src/intel/store/index.ts';
import { LiveIndicatorSet, WarningList, indicatorEnrichmentHook, iocPipelineStatus, applyIocPipelineParams, enrichOptionsFromConfig, warningListFromConfig } from '../../src/intel/enrichment/index.ts';
import { uniqueNamespace } from '../support/elastic.ts';
import { bootstrapped, enrichmentConfig, feedIndicator, ingestAgentEvents, storedEvents } from './support.ts';

type Enrichment = { matched: { field: string; atomic: string }; indicator: { type: string; provider: string; confidence: string }; feed?: { name: string } };
const enrichmentsOf = (doc: Record<string, unknown>): Enrichment[] => ((doc.threat as { enrichments?: Enrichment[] } | undefined)?.enrichments ?? []);
const tagsOf = (doc: Record<string, unknown>): string[] => (doc.tags as string[] | undefined) ?? [];

test('an ingested event with a known-bad IP, domain, hash or an IP inside a bad CIDR is enriched, tagged and raised', async () => {
  const ctx = await bootstrapped();
  const ns = uniqueNamespace('enr');
  const config = enrichmentConfig({}, ns);
  const store = new IndicatorStore(ctx.client, ns);
  const sha = 'a'.repeat(64);
  await store.upsert([
    feedIndicator('ipv4-addr', '203.0.113.66', { confidence: 95 }),
    feedIndicator('domain-name', 'evil.example', { confidence: 50, provider: 'OSINT list' }),
    feedIndicator('file', sha, { confidence: 80 }),
    feedIndicator('ipv4-addr', '198.51.100.0/24', { cidr: true, confidence: 40 }),
  ]);
  await store.refresh();
  const live = new LiveIndicatorSet(store, warningListFromConfig(config));
  const first = await live.refresh();
  assert.equal(first.full, true);
  assert.equal(first.added, 4);
  const hook = indicatorEnrichmentHook(live, enrichOptionsFromConfig(config), warningListFromConfig(config));
  await ingestAgentEvents(ctx, config, ns, [
    { ts: '2026-03-01T10:00:00Z', category: 'network', dst_ip: '203.0.113.66', dst_port: 443, severity: 2 },
    { ts: '2026-03-01T10:00:01Z', category: 'network', dst_ip: '192.0.2.1', domain: 'evil.example', dst_port: 80 },
    { ts: '2026-03-01T10:00:02Z', category: 'file_activity', action: 'download', path: '/tmp/x', sha256: sha },
    { ts: '2026-03-01T10:00:03Z', category: 'network', dst_ip: '198.51.100.23', dst_port: 22 },
    { ts: '2026-03-01T10:00:04Z', category: 'network', dst_ip: '192.0.2.99', domain: 'fine.example', dst_port: 22 },
  ], hook);
  const [ip, domain, file, cidr, clean] = await storedEvents(ctx, ns);

  assert.deepEqual(enrichmentsOf(ip!).map((e) => [e.matched.field, e.matched.atomic, e.indicator.type, e.indicator.provider, e.indicator.confidence, e.feed?.name]), [
    ['destination.ip', '203.0.113.66', 'ipv4-addr', 'Test Provider', 'High', 'testfeed'],
  ]);
  assert.ok(tagsOf(ip!).includes('ioc:ip'));
  assert.ok(tagsOf(ip!).includes('ioc:high_confidence'));
  assert.equal((ip!.event as { severity: number }).severity, 73, 'a high-confidence match raises event.severity');

  assert.deepEqual(enrichmentsOf(domain!).map((e) => [e.matched.field, e.matched.atomic, e.indicator.confidence]), [['destination.domain', 'evil.example', 'Medium']]);
  assert.ok(tagsOf(domain!).includes('ioc:domain'));
  assert.notEqual((domain!.event as { severity?: number }).severity, 73, 'a medium-confidence match does not raise severity');

  assert.deepEqual(enrichmentsOf(file!).map((e) => [e.matched.field, e.indicator.type]), [['file.hash.sha256', 'file']]);
  assert.ok(tagsOf(file!).includes('ioc:hash'));

  assert.deepEqual(enrichmentsOf(cidr!).map((e) => [e.matched.field, e.matched.atomic, e.indicator.type]), [['destination.ip', '198.51.100.23', 'ipv4-addr']]);
  assert.ok(tagsOf(cidr!).includes('ioc:ip'));

  assert.deepEqual(enrichmentsOf(clean!), []);
  assert.ok(!tagsOf(clean!).some((t) => t.startsWith('ioc:')));

  // The same question Kibana would ask: events tagged by the match.
  const tagged = await ctx.client.count({ index: `logs-endpoint-${ns}`, query: { term: { tags: 'ioc:ip' } } });
  assert.equal(tagged.count, 2);
});

test('the set refreshes incrementally: a new indicator is picked up and an expired one dropped without a full reload', async () => {
  const ctx = await bootstrapped();
  const ns = uniqueNamespace('inc');
  const config = enrichmentConfig({}, ns);
  const store = new IndicatorStore(ctx.client, ns);
  const many = Array.from({ length: 300 }, (_, i) => feedIndicator('ipv4-addr', `203.0.${Math.floor(i / 250)}.${(i % 250) + 1}`));
  await store.upsert([...many, feedIndicator('domain-name', 'old-bad.example')]);
  await store.refresh();
  // No re-read overlap here (the test refreshes the store itself), so the second read is exactly the changes.
  const live = new LiveIndicatorSet(store, warningListFromConfig(config), { overlapMs: 0 });
  const first = await live.refresh();
  assert.equal(first.read, 301);
  const hook = indicatorEnrichmentHook(live, enrichOptionsFromConfig(config));

  // A new indicator arrives and another one expires (its feed now says so).
  await store.upsert([feedIndicator('domain-name', 'new-bad.example'), feedIndicator('domain-name', 'old-bad.example', { expires_at: new Date(Date.now() - 60_000).toISOString() })]);
  await store.refresh();
  const second = await live.refresh();
  assert.equal(second.full, false);
  assert.ok(second.read < 10, `read only the changes, not the ${first.read} indicators again (read ${second.read})`);
  assert.equal(second.added, 1);
  assert.equal(second.removed, 1);

  await ingestAgentEvents(ctx, config, ns, [
    { ts: '2026-03-01T10:00:00Z', category: 'network', dst_ip: '192.0.2.1', domain: 'new-bad.example' },
    { ts: '2026-03-01T10:00:01Z', category: 'network', dst_ip: '192.0.2.2', domain: 'old-bad.example' },
    { ts: '2026-03-01T10:00:02Z', category: 'network', dst_ip: '203.0.1.50' },
  ], hook);
  const [fresh, expired, kept] = await storedEvents(ctx, ns);
  assert.deepEqual(enrichmentsOf(fresh!).map((e) => e.matched.atomic), ['new-bad.example']);
  assert.deepEqual(enrichmentsOf(expired!), [], 'an expired indicator no longer flags');
  assert.deepEqual(enrichmentsOf(kept!).map((e) => e.matched.atomic), ['203.0.1.50']);

  // Expiry passing with no store change at all: dropped locally at the next refresh.
  await store.upsert([feedIndicator('ipv4-addr', '203.0.113.200', { expires_at: new Date(Date.now() + 1500).toISOString() })]);
  await store.refresh();
  await live.refresh();
  assert.ok(live.set.matchIpv4((203 << 24) | (113 << 8) | 200) >= 0);
  assert.equal(live.set.expire(Date.now() + 5_000), 1, 'the expiry passing is applied in memory, no store read needed');
  assert.equal(live.set.matchIpv4((203 << 24) | (113 << 8) | 200), -1);
});

test('warning lists never flag: private ranges, own addresses, allowlisted domains, an allowlisted IP inside a bad CIDR', async () => {
  const ctx = await bootstrapped();
  const ns = uniqueNamespace('warn');
  const config = enrichmentConfig({ warning_list: { own_addresses: ['203.0.113.10'], allow: ['good.example', '198.51.100.7'] } }, ns);
  const store = new IndicatorStore(ctx.client, ns);
  await store.upsert([
    feedIndicator('ipv4-addr', '10.1.2.3'),
    feedIndicator('ipv4-addr', '203.0.113.10'),
    feedIndicator('domain-name', 'cdn.good.example'),
    feedIndicator('ipv4-addr', '198.51.100.0/24', { cidr: true }),
    feedIndicator('ipv6-addr', 'fe80::1'),
  ]);
  await store.refresh();
  const warning = warningListFromConfig(config);
  const live = new LiveIndicatorSet(store, warning);
  const report = await live.refresh();
  assert.equal(report.warningListed, 4, 'listed values are not even loaded');
  await ingestAgentEvents(ctx, config, ns, [
    { ts: '2026-03-01T10:00:00Z', category: 'network', dst_ip: '10.1.2.3' },
    { ts: '2026-03-01T10:00:01Z', category: 'network', dst_ip: '203.0.113.10' },
    { ts: '2026-03-01T10:00:02Z', category: 'network', dst_ip: '192.0.2.5', domain: 'cdn.good.example' },
    { ts: '2026-03-01T10:00:03Z', category: 'network', dst_ip: '198.51.100.7' },
    { ts: '2026-03-01T10:00:04Z', category: 'network', dst_ip: '198.51.100.8' },
  ], indicatorEnrichmentHook(live, enrichOptionsFromConfig(config), warning));
  const docs = await storedEvents(ctx, ns);
  assert.deepEqual(docs.map((d) => enrichmentsOf(d).length), [0, 0, 0, 0, 1], 'only the non-allowlisted address in the bad network flags');
  assert.ok(new WarningList({ private_ranges: true, own_addresses: [], allow: [] }).explain({ kind: 'ipv4', ip: (192 << 24) | (168 << 16) | 1, text: '192.168.0.1' }));
});

test('pipeline params keep the highest-confidence indicators within the bound, say so for nyx status, and feed the in-process twin', async () => {
  const ctx = await bootstrapped();
  const ns = uniqueNamespace('pipe');
  const config = enrichmentConfig({ pipeline_max_indicators: 3 }, ns);
  const store = new IndicatorStore(ctx.client, ns);
  await store.upsert([
    feedIndicator('ipv4-addr', '203.0.113.1', { confidence: 20 }),
    feedIndicator('ipv4-addr', '203.0.113.2', { confidence: 95 }),
    feedIndicator('domain-name', 'twin-bad.example', { confidence: 90 }),
    feedIndicator('ipv4-addr', '198.51.100.0/24', { cidr: true, confidence: 85 }),
    feedIndicator('url', 'http://bad.example/payload', { confidence: 30 }),
  ]);
  await store.refresh();
  const live = new LiveIndicatorSet(store);
  await live.refresh();
  const state = await applyIocPipelineParams(ctx, live.set, config.enrichment.pipeline_max_indicators);
  assert.equal(state.kept, 3);
  assert.equal(state.dropped, 2);
  assert.equal(state.min_score_kept, 85);
  assert.equal(state.applied_in_cluster, ctx.caps.painless);
  if (!ctx.caps.painless) assert.match(state.skip_reason ?? '', /no Painless/);
  const status = await iocPipelineStatus(ctx.client);
  assert.match(status?.line ?? '', /3 of 5 indicators \(bound 3; 2 lowest-confidence left out, kept score ≥ 85\)/);

  // No hook: only the pipeline twin (run in process by the endpoint pipeline) sees these events.
  await ingestAgentEvents(ctx, config, ns, [
    { ts: '2026-03-01T10:00:00Z', category: 'network', dst_ip: '203.0.113.2' },
    { ts: '2026-03-01T10:00:01Z', category: 'network', dst_ip: '198.51.100.77' },
    { ts: '2026-03-01T10:00:02Z', category: 'network', dst_ip: '203.0.113.1', domain: 'twin-bad.example' },
  ]);
  const [exact, network, mixed] = await storedEvents(ctx, ns);
  assert.deepEqual(enrichmentsOf(exact!).map((e) => e.matched.atomic), ['203.0.113.2']);
  assert.deepEqual(enrichmentsOf(network!).map((e) => e.matched.atomic), ['198.51.100.77']);
  assert.deepEqual(enrichmentsOf(mixed!).map((e) => e.matched.atomic), ['twin-bad.example'], 'the low-confidence IP fell outside the bound');
  assert.ok(tagsOf(mixed!).includes('ioc:domain'));
});
