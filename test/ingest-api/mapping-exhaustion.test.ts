import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compileMappedRuleQuery, compileRuleMatcher, loadFieldMappings, mapSigmaRule, parseSigmaRule } from '../../src/detection/sigma/index.ts';
import { testClient } from '../support/elastic.ts';
import { agentEvent, postJson, startTestApi, type IngestBody, type TestApi } from './support.ts';

// Issue 19, class 4: one agent must not be able to use up its tenant's mapping. Events with hundreds of
// invented fields (at the top level, in labels, in Windows event data) are stored, but add no mapping past
// the budget; the tenant's normal agent and Sysmon events after them are stored as normal documents with
// their ECS fields, and a Sigma rule run as an Elasticsearch query still finds them.
const RULES = fileURLToPath(new URL('../../rules', import.meta.url));
const es = testClient();
let api: TestApi;
let key: Record<string, string>;

before(async () => {
  api = await startTestApi({ rate_limit: { requests_per_second: 1000, burst: 1000 } });
  key = { 'x-agent-key': (await api.enroll('ws-fin-07')).key };
});
after(async () => {
  await api?.close();
  await es.close();
});

function invented(prefix: string, n: number): Record<string, string> {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, `v${i}`]));
}

/** The first Sysmon process-creation record of the endpoint fixtures (powershell -enc), as an agent sends it. */
function sysmonEvent(): Record<string, unknown> {
  const line = readFileSync(fileURLToPath(new URL('../fixtures/endpoint/windows-evtx_dump.ndjson', import.meta.url)), 'utf8').split('\n')[0]!;
  return { ts: '2026-03-01T12:00:00Z', category: 'windows_event', raw: JSON.parse(line) };
}

function leafFieldCount(properties: Record<string, { properties?: Record<string, unknown>; type?: string }>): number {
  let n = 0;
  for (const v of Object.values(properties)) n += v.properties ? leafFieldCount(v.properties as never) : 1;
  return n;
}

test('900 invented fields, three times over, then normal events: stored whole, not quarantined, found by a Sigma query', async () => {
  const sysmonWithJunk = sysmonEvent();
  const eventData = ((sysmonWithJunk.raw as { Event: { EventData: Record<string, unknown> } }).Event.EventData = { ...(sysmonWithJunk.raw as { Event: { EventData: Record<string, unknown> } }).Event.EventData, ...invented('Junk', 900) });
  assert.ok(Object.keys(eventData).length > 900);
  const flood = [agentEvent({ cmd: 'flood-top', ...invented('x_', 900) }), agentEvent({ cmd: 'flood-labels', labels: invented('l_', 900) }), sysmonWithJunk];
  const first = await postJson(`${api.url}/api/ingest`, flood, key);
  assert.equal(first.status, 200, JSON.stringify(first.body).slice(0, 500));
  assert.deepEqual((first.body as IngestBody).results.map((r) => r.status), ['stored', 'stored', 'stored']);

  const normal = await postJson(`${api.url}/api/ingest`, [agentEvent({ cmd: 'whoami /all', seq: 1 }), sysmonEvent()], key);
  assert.equal(normal.status, 200, JSON.stringify(normal.body));
  assert.deepEqual((normal.body as IngestBody).results.map((r) => r.status), ['stored', 'stored']);

  const index = `logs-endpoint-${api.namespace}`;
  await es.indices.refresh({ index });
  const all = await es.search({ index, size: 20, query: { match_all: {} } });
  assert.equal(all.hits.hits.length, 5);
  for (const hit of all.hits.hits) {
    const doc = hit._source as { tags?: string[]; error?: { type?: string }; event?: { kind?: string } };
    assert.ok(!(doc.tags ?? []).includes('nyx_mapping_rejected'), `stored as a normal document, not quarantined: ${JSON.stringify(doc).slice(0, 300)}`);
    assert.notEqual(doc.event?.kind, 'pipeline_error');
  }
  // The invented fields are kept in _source but did not grow the mapping.
  const mapping = await es.indices.getMapping({ index });
  for (const backing of Object.values(mapping)) {
    const properties = backing.mappings.properties as Record<string, { properties?: Record<string, unknown> }>;
    assert.equal(properties.x_0, undefined, 'a top-level invented field is not mapped');
    assert.ok(leafFieldCount(properties as never) <= 1000, `mapped fields: ${leafFieldCount(properties as never)}`);
  }
  const flooded = await es.search({ index, size: 1, query: { term: { 'process.command_line': 'flood-top' } } });
  assert.equal((flooded.hits.hits[0]?._source as Record<string, unknown> | undefined)?.x_899, 'v899', 'kept in _source');

  // ECS fields of the normal events are searchable.
  assert.equal((await es.count({ index, query: { term: { 'process.command_line': 'whoami /all' } } })).count, 1);
  assert.equal((await es.count({ index, query: { term: { 'winlog.event_data.IntegrityLevel': 'Medium' } } })).count, 2);

  // A Sigma rule, as the watcher runs it (a query, confirmed by the matcher when inexact), sees both Sysmon events.
  const mappings = loadFieldMappings(`${RULES}/mappings`);
  const rule = parseSigmaRule(readFileSync(`${RULES}/sigma/windows/win_ps_encoded_command.yml`, 'utf8'), 'win_ps_encoded_command.yml');
  const { query, exact } = compileMappedRuleQuery(mapSigmaRule(rule, mappings));
  const hits = await es.search({ index, size: 10, query: query as never });
  const matcher = compileRuleMatcher(rule, mappings);
  const seen = hits.hits.hits.filter((h) => exact || matcher(h._source as never) !== null);
  assert.equal(seen.length, 2, `the rule finds the Sysmon events: ${JSON.stringify(query).slice(0, 300)}`);
});
