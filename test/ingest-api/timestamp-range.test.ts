import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testClient } from '../support/elastic.ts';
import { agentEvent, postJson, startTestApi, type IngestBody, type TestApi } from './support.ts';

// Issue 19 (6c): a year-0001 `ts` was stored as 1901. It is now stored as sent; a time the date mapping cannot
// hold (an offset that takes year 0000 or 9999 past the range in UTC) is rejected with the field and why.
const es = testClient();
let api: TestApi;
let key: Record<string, string>;
let agentId: string;

before(async () => {
  api = await startTestApi();
  const agent = await api.enroll('clock-host');
  key = { 'x-agent-key': agent.key };
  agentId = agent.agentId;
});
after(async () => {
  await api?.close();
  await es.close();
});

test('year 0001 is stored as year 0001; what the mapping cannot hold is rejected naming ts, the rest stored', async () => {
  const events = [
    agentEvent({ ts: '0001-01-01T00:00:00Z', cmd: 'year-one', seq: 1 }),
    agentEvent({ ts: '0099-07-04T10:00:00+02:00', cmd: 'year-ninety-nine', seq: 2 }),
    agentEvent({ ts: '0000-01-01T00:00:00+01:00', cmd: 'before-year-zero', seq: 3 }),
    agentEvent({ ts: '9999-12-31T23:59:59-01:00', cmd: 'after-9999', seq: 4 }),
  ];
  const res = await postJson(`${api.url}/api/ingest`, events, key);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const results = (res.body as IngestBody).results;
  assert.deepEqual(results.map((r) => [r.status, r.field]), [['stored', undefined], ['stored', undefined], ['rejected', 'ts'], ['rejected', 'ts']]);
  assert.match(results[2]?.reason ?? '', /outside what the date mapping can store \(0000-01-01T00:00:00Z to 9999-12-31T23:59:59\.999Z in UTC\)/);

  const index = `logs-endpoint-${api.namespace}`;
  await es.indices.refresh({ index });
  const found = await es.search({ index, query: { ids: { values: [`${agentId}-1`, `${agentId}-2`] } }, docvalue_fields: ['@timestamp'], size: 2 });
  const byId = new Map(found.hits.hits.map((h) => [h._id, { source: (h._source as Record<string, unknown>)['@timestamp'], indexed: (h.fields as Record<string, unknown[]>)['@timestamp']?.[0], tags: (h._source as { tags?: string[] }).tags }]));
  assert.equal(byId.get(`${agentId}-1`)?.source, '0001-01-01T00:00:00.000Z');
  assert.equal(byId.get(`${agentId}-1`)?.indexed, '0001-01-01T00:00:00.000Z');
  assert.equal(byId.get(`${agentId}-2`)?.indexed, '0099-07-04T08:00:00.000Z');
  // Stored as a normal document, not in the mapping-rejected (quarantine) form.
  assert.ok(!(byId.get(`${agentId}-1`)?.tags ?? []).includes('nyx_mapping_rejected'));
  // A range query over year 1 finds it; one over 1901 does not.
  const inYearOne = await es.count({ index, query: { range: { '@timestamp': { gte: '0001-01-01T00:00:00Z', lt: '0002-01-01T00:00:00Z' } } } });
  assert.equal(inYearOne.count, 1);
  const in1901 = await es.count({ index, query: { range: { '@timestamp': { gte: '1901-01-01T00:00:00Z', lt: '1902-01-01T00:00:00Z' } } } });
  assert.equal(in1901.count, 0);
});
