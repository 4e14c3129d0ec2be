import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { IndicatorStore } from '../../src/intel/store/index.ts';
import { startIndicatorEnrichment, iocPipelineStatus } from '../../src/intel/enrichment/index.ts';
import { agentEvent, postJson, startTestApi, type TestApi } from '../ingest-api/support.ts';
import { uniqueNamespace } from '../support/elastic.ts';
import { enrichmentConfig, feedIndicator } from './support.ts';

const closers: Array<() => Promise<void>> = [];
after(async () => {
  for (const close of closers.reverse()) await close();
});

test('through the real ingest API: the enrichment service enriches posted events and picks up a new indicator at its next refresh', async () => {
  const api: TestApi = await startTestApi();
  closers.push(() => api.close());
  const intelNs = uniqueNamespace('intel');
  const config = enrichmentConfig({ refresh_seconds: 3600, retro_hunt: { indices: `logs-*-${api.namespace}` } }, intelNs);
  const store = new IndicatorStore(api.ctx.client, intelNs);
  await store.upsert([feedIndicator('ipv4-addr', '203.0.113.99', { confidence: 90 })]);
  await store.refresh();
  const running = await startIndicatorEnrichment(api.ctx, { config, secrets: {} });
  closers.push(() => running.stop());
  assert.match(running.describe, /indicator enrichment: 1 active values/);
  assert.match((await iocPipelineStatus(api.ctx.client))?.line ?? '', /ioc_enrichment pipeline: \d+ of \d+ indicators/);

  const { key } = await api.enroll();
  const post = (seq: number, dst: string) => postJson(`${api.url}/api/ingest`, [{ ...agentEvent({ seq }), category: 'network', dst_ip: dst, dst_port: 443 }], { 'x-agent-key': key });
  assert.equal((await post(1, '203.0.113.99')).status, 200);

  await store.upsert([feedIndicator('ipv4-addr', '203.0.113.100', { confidence: 90 })]);
  await store.refresh();
  const refreshed = await running.live.refresh();
  assert.equal(refreshed.full, false);
  assert.equal(refreshed.added, 1);
  assert.equal((await post(2, '203.0.113.100')).status, 200);

  await api.ctx.client.indices.refresh({ index: `logs-endpoint-${api.namespace}` });
  const res = await api.ctx.client.search<{ destination: { ip: string }; tags?: string[]; event: { severity: number }; threat?: { enrichments: Array<{ matched: { atomic: string } }> } }>({
    index: `logs-endpoint-${api.namespace}`,
    sort: [{ '@timestamp': 'asc' }],
    query: { term: { tags: 'ioc:ip' } },
  });
  assert.deepEqual(res.hits.hits.map((h) => h._source!.threat?.enrichments.map((e) => e.matched.atomic)).sort(), [['203.0.113.100'], ['203.0.113.99']]);
  assert.ok(res.hits.hits.every((h) => h._source!.event.severity === 73));
});
