import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IndicatorStore } from '../../src/intel/store/index.ts';
import { RetroHunter, retroHuntOptionsFromConfig, type IndicatorSighting } from '../../src/intel/retro-hunt/index.ts';
import { alertIndex } from '../../src/alerts/index.ts';
import { warningListFromConfig } from '../../src/intel/enrichment/index.ts';
import { uniqueNamespace } from '../support/elastic.ts';
import { bootstrapped, enrichmentConfig, feedIndicator, ingestAgentEvents } from './support.ts';
import { SourcePipelines } from '../../src/ingest/source-pipelines.ts';
import { prepareSourceEvents, sendPreparedEvents } from '../../src/ingest/bulk-writer.ts';

const daysAgo = (d: number): string => new Date(Date.now() - d * 86_400_000).toISOString();

test('a retro-hunt finds older events for new indicators: one alert per indicator and event, and a sighting through the callback', async () => {
  const ctx = await bootstrapped();
  const ns = uniqueNamespace('hunt');
  const config = enrichmentConfig({ retro_hunt: { days: 7, chunk_size: 1, page_size: 1 } }, ns);
  // Events stored before any indicator existed (one is older than the hunt window).
  await ingestAgentEvents(ctx, config, ns, [
    { ts: daysAgo(3), category: 'network', dst_ip: '203.0.113.77', dst_port: 443 },
    { ts: daysAgo(2), category: 'network', dst_ip: '192.0.2.10', domain: 'stage2.bad.example' },
    { ts: daysAgo(2), category: 'file_activity', action: 'download', path: '/tmp/dropper', sha256: 'b'.repeat(64) },
    { ts: daysAgo(1), category: 'network', dst_ip: '198.51.100.9' },
    { ts: daysAgo(1), category: 'network', dst_ip: '203.0.113.77', dst_port: 8443 },
    { ts: daysAgo(20), category: 'network', dst_ip: '203.0.113.77', dst_port: 80 },
    { ts: daysAgo(1), category: 'network', dst_ip: '10.0.0.8' },
    { ts: daysAgo(1), category: 'network', dst_ip: '192.0.2.200', domain: 'clean.example' },
  ]);
  const store = new IndicatorStore(ctx.client, ns);
  await store.upsert([
    feedIndicator('ipv4-addr', '203.0.113.77', { feed: 'misp', provider: 'MISP', source_id: 'attr-uuid-1' }),
    feedIndicator('domain-name', 'stage2.bad.example', { confidence: 60 }),
    feedIndicator('file', 'b'.repeat(64)),
    feedIndicator('ipv4-addr', '198.51.100.0/24', { cidr: true }),
    feedIndicator('ipv4-addr', '10.0.0.8'),
  ]);
  await store.refresh();

  const sightings: IndicatorSighting[] = [];
  const hunter = new RetroHunter(ctx.client, store, retroHuntOptionsFromConfig(config, {
    indices: `logs-*-${ns}`,
    warningList: warningListFromConfig(config),
    onSighting: async (s) => {
      sightings.push(s);
    },
  }));
  const report = await hunter.runOnce();
  assert.ok(report);
  assert.equal(report.hits, 5, 'two IP events in the window, the domain, the hash, the address inside the network; not the 20-day-old one, not the private address');
  assert.equal(report.alertsCreated, 5);
  assert.ok(report.queries > 5, 'values are batched in chunks and results paged');

  await ctx.client.indices.refresh({ index: alertIndex(ns) });
  const alerts = await ctx.client.search<{ rule: { id: string }; nyx: { alert: { entity: string; evidence: { fields: Record<string, string[]> } } } }>({ index: alertIndex(ns), size: 20 });
  assert.equal(alerts.hits.hits.length, 5);
  assert.deepEqual(
    alerts.hits.hits.map((h) => h._source!.nyx.alert.entity).sort(),
    ['198.51.100.9', '203.0.113.77', '203.0.113.77', 'b'.repeat(64), 'stage2.bad.example'],
  );
  assert.ok(alerts.hits.hits.every((h) => h._source!.rule.id === 'nyx-ioc-retro-hunt'));

  assert.equal(sightings.length, 5);
  const misp = sightings.filter((s) => s.indicator.key === 'ipv4-addr:203.0.113.77');
  assert.equal(misp.length, 2);
  assert.deepEqual(misp[0]!.indicator.source_ids, ['attr-uuid-1']);
  assert.deepEqual(misp[0]!.indicator.feeds, ['misp']);
  const inNetwork = sightings.find((s) => s.observed === '198.51.100.9');
  assert.equal(inNetwork?.indicator.value, '198.51.100.0/24');

  // Running again (a retry, or another replica) finds the alerts stored and reports no sighting twice.
  const again = await new RetroHunter(ctx.client, store, retroHuntOptionsFromConfig(config, { indices: `logs-*-${ns}`, warningList: warningListFromConfig(config), onSighting: async (s) => void sightings.push(s) })).runOnce();
  assert.equal(again?.alertsCreated, 0);
  assert.equal(sightings.length, 5, 'no sighting reported twice');
  const { retroHunt } = await import('../../src/intel/retro-hunt/index.ts');
  const all: Parameters<typeof retroHunt>[1] = [];
  for await (const i of store.activeIndicators()) all.push(i);
  const rerun = await retroHunt(ctx.client, all, retroHuntOptionsFromConfig(config, { indices: `logs-*-${ns}`, onSighting: async (s) => void sightings.push(s) }));
  assert.equal(rerun.alertsCreated, 1, 'without a warning list the private-address event is new');
  assert.equal(rerun.alertsExisting, 5);
  assert.equal(sightings.length, 6, 'only the newly created alert gets a sighting');
});

test("a retro-hunt alert goes to the tenant whose data stream holds the event, not the one its data_stream.namespace field names", async () => {
  const ctx = await bootstrapped();
  const nsA = uniqueNamespace('rha');
  const nsB = uniqueNamespace('rhb');
  const config = enrichmentConfig({ retro_hunt: { days: 7 } }, nsA);
  // A document in A's data stream whose field says B: what an agent of A got stored before the ingest path owned
  // data_stream, and what any other writer of the data stream can still store.
  const pipelines = SourcePipelines.create(config, ctx.caps);
  const prepared = prepareSourceEvents(pipelines, {
    source: 'endpoint',
    namespace: nsA,
    events: [{ doc: { ts: daysAgo(1), category: 'network', dst_ip: '203.0.113.78', dst_port: 443, source: 'agent', severity: 3, agent: { id: 'agent-a' } }, id: `${nsA}-1` }],
  });
  prepared.docs[0]!.doc.data_stream = { type: 'logs', dataset: 'endpoint', namespace: nsB };
  assert.equal((await sendPreparedEvents(ctx.client, prepared, 'wait_for')).indexed, 1);
  const store = new IndicatorStore(ctx.client, nsA);
  await store.upsert([feedIndicator('ipv4-addr', '203.0.113.78')]);
  await store.refresh();

  const report = await new RetroHunter(ctx.client, store, retroHuntOptionsFromConfig(config, { indices: `logs-*-${nsA}` })).runOnce();
  assert.equal(report?.alertsCreated, 1);
  await ctx.client.indices.refresh({ index: [alertIndex(nsA), alertIndex(nsB)], ignore_unavailable: true, allow_no_indices: true });
  const inB = await ctx.client.search({ index: alertIndex(nsB), ignore_unavailable: true, allow_no_indices: true, size: 10 });
  assert.equal(inB.hits.hits.length, 0, "nothing in B's alerts");
  const inA = await ctx.client.search<{ nyx: { alert: { namespace: string; entity: string } } }>({ index: alertIndex(nsA), size: 10 });
  assert.deepEqual(inA.hits.hits.map((h) => [h._source!.nyx.alert.namespace, h._source!.nyx.alert.entity]), [[nsA, '203.0.113.78']]);
});
