import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, SOURCES, type Source } from '../../src/config/index.ts';
import { connectElastic, type ElasticContext } from '../../src/elastic/connect.ts';
import { runBootstrap } from '../../src/bootstrap/index.ts';
import { SourcePipelines } from '../../src/ingest/source-pipelines.ts';
import { writeSourceEvents, prepareSourceEvents } from '../../src/ingest/bulk-writer.ts';
import { loadSourceFixtures } from '../support/fixtures.ts';
import { testElasticUrl, uniqueNamespace } from '../support/elastic.ts';

// Every fixture of every source goes through the source's pipeline into its real data stream and is
// read back: nothing is lost, nothing is rejected by the mappings, and the stored document is exactly
// what the pipeline produced (so the per-source pipeline tests hold for what is stored, too).

const { config, secrets } = loadConfig({ env: { ELASTICSEARCH_URL: testElasticUrl() } });
let ctx: ElasticContext;
let pipelines: SourcePipelines;

before(async () => {
  ctx = await connectElastic(config, secrets);
  await runBootstrap(ctx, config);
  pipelines = SourcePipelines.create(config, ctx.caps);
});

async function roundTrip(source: Source): Promise<{ ns: string; stored: Map<string, Record<string, unknown>>; expected: Map<string, Record<string, unknown>> }> {
  const fixtures = loadSourceFixtures(source);
  assert.ok(fixtures.length >= 20, `${source}: at least 20 fixtures (has ${fixtures.length})`);
  const ns = uniqueNamespace(source);
  const events = fixtures.map((f, i) => ({ doc: f.doc, id: `${source}-${i}` }));
  const report = await writeSourceEvents(ctx.client, pipelines, { source, namespace: ns, events, refresh: 'wait_for' });
  assert.deepEqual(report.rejected, [], `${source}: documents the cluster rejected`);
  assert.equal(report.indexed + report.dropped, fixtures.length);
  assert.equal(report.dropped, 0, `${source}: nothing is dropped`);

  const res = await ctx.client.search<Record<string, unknown>>({ index: `logs-${source}-${ns}`, size: 1000, query: { match_all: {} } });
  const stored = new Map(res.hits.hits.map((h) => [h._id!, h._source!]));
  const prepared = prepareSourceEvents(pipelines, { source, namespace: ns, events });
  const expected = new Map(prepared.docs.map((d) => [d.id!, d.doc]));
  return { ns, stored, expected };
}

for (const source of SOURCES) {
  test(`${source}: every fixture is stored in logs-${source}-<ns> exactly as the pipeline shaped it`, async () => {
    const { stored, expected } = await roundTrip(source);
    assert.equal(stored.size, expected.size);
    for (const [id, doc] of expected) {
      const got = stored.get(id);
      assert.ok(got, `${id} stored`);
      assert.ok(got['@timestamp'], `${id} has @timestamp`);
      if ((got.tags as string[] | undefined)?.includes('nyx_mapping_rejected')) {
        // The mappings refused the pipeline's output (a field of the wrong type): kept whole with the reason.
        assert.match((got.error as { message: string }).message, /mappings refused the document: /);
        assert.ok((got.event as { original?: string }).original, `${id} keeps its original`);
        continue;
      }
      const { '@timestamp': _a, 'event': gotEvent, ...gotRest } = got;
      const { '@timestamp': _b, 'event': wantEvent, ...wantRest } = doc;
      // event.ingested is the time of the run: compare everything else.
      const strip = (e: unknown) => {
        const { ingested: _i, ...rest } = (e ?? {}) as Record<string, unknown>;
        return rest;
      };
      assert.deepEqual(gotRest, wantRest, `${id}`);
      assert.deepEqual(strip(gotEvent), strip(wantEvent), `${id} event.*`);
    }
    const failed = [...stored.values()].filter((d) => (d.error as { message?: string } | undefined)?.message);
    for (const d of failed) {
      assert.equal((d.event as { kind?: string }).kind, 'pipeline_error');
      assert.ok((d.event as { original?: string }).original, 'a failed document keeps its original');
    }
  });
}

test('mappings hold in the stored data: ip fields answer CIDR queries, byte counts sum as numbers', async () => {
  const { ns } = await roundTrip('netflow');
  const agg = await ctx.client.search({
    index: `logs-netflow-${ns}`,
    size: 0,
    aggs: { bytes: { sum: { field: 'network.bytes' } }, v4: { filter: { term: { 'source.ip': '0.0.0.0/0' } } } },
  });
  const aggs = agg.aggregations as { bytes: { value: number }; v4: { doc_count: number } };
  assert.ok(aggs.bytes.value > 0, 'network.bytes is numeric');
  assert.ok(aggs.v4.doc_count > 0, 'source.ip is an ip field');
});

test('syslog auth events are searchable by ECS fields', async () => {
  const { ns } = await roundTrip('syslog');
  const failed = await ctx.client.count({
    index: `logs-syslog-${ns}`,
    query: { bool: { filter: [{ term: { 'event.category': 'authentication' } }, { term: { 'event.outcome': 'failure' } }, { exists: { field: 'source.ip' } }] } },
  });
  assert.ok(failed.count >= 3, `failed logins with a source ip: ${failed.count}`);
});
