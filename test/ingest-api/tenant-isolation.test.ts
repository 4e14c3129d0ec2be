import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { runNyx } from '../support/cli.ts';
import { testClient, testElasticUrl, uniqueNamespace } from '../support/elastic.ts';
import { agentEvent, type IngestBody, postJson, serveForTestFile } from './support.ts';
import { configSchema } from '../../src/config/index.ts';
import { SourcePipelines } from '../../src/ingest/source-pipelines.ts';
import { prepareSourceEvents } from '../../src/ingest/bulk-writer.ts';

// Issue 19, class 2: an event of tenant A that claims tenant B's namespace, B's agent, an indicator match or an
// Elasticsearch metadata field, in any spelling, against a real `nyx serve` and Elasticsearch.
const env = { ELASTICSEARCH_URL: testElasticUrl(), NYX__SERVE__AUTH_CACHE_MS: '0' };
const es = testClient();
const server = serveForTestFile(env);
after(() => es.close());

async function enrolledAgent(namespace: string, hostname: string): Promise<{ agent_id: string; agent_key: string }> {
  const token = await runNyx(['agents', 'token', 'create', '--namespace', namespace, '--ttl', '1h'], env);
  assert.equal(token.code, 0, token.stderr);
  const res = await postJson(`${server.url}/api/agents/enroll`, { token: token.stdout.trim(), hostname, os: 'linux 6.1', ip: '192.0.2.10', version: '0.1.0' });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body as { agent_id: string; agent_key: string };
}

async function search(index: string, query: Record<string, unknown> = { match_all: {} }): Promise<Array<{ _id: string; _index: string; _source: Record<string, unknown> }>> {
  await es.indices.refresh({ index, ignore_unavailable: true, allow_no_indices: true });
  const res = await es.search({ index, size: 1000, query, ignore_unavailable: true, allow_no_indices: true });
  return res.hits.hits.map((h) => ({ _id: h._id as string, _index: h._index, _source: h._source as Record<string, unknown> }));
}

test("tenant A's events cannot claim tenant B, B's agent, an indicator match or a metadata field, in any spelling", async () => {
  const nsA = uniqueNamespace('tena');
  const nsB = uniqueNamespace('tenb');
  const a = await enrolledAgent(nsA, 'a-host');
  const b = await enrolledAgent(nsB, 'b-host');

  const bGood = await postJson(`${server.url}/api/ingest`, agentEvent({ seq: 1, cmd: 'b-own' }), { 'x-agent-key': b.agent_key });
  assert.equal((bGood.body as IngestBody).stored, 1, JSON.stringify(bGood.body));

  // [event, the field the rejection must name]
  const hostile: Array<[Record<string, unknown>, string]> = [
    [{ 'data_stream.namespace': nsB }, 'data_stream.namespace'],
    [{ data_stream: { namespace: nsB } }, 'data_stream'],
    [{ data_stream: { type: 'logs', dataset: 'endpoint', namespace: nsB } }, 'data_stream'],
    [{ 'data_stream.dataset': 'cowrie' }, 'data_stream.dataset'],
    [{ agent: { id: b.agent_id } }, 'agent'],
    [{ 'agent.id': b.agent_id }, 'agent.id'],
    [{ 'agent.name': 'b-host' }, 'agent.name'],
    [{ 'event.ingested': '2020-01-01T00:00:00Z' }, 'event.ingested'],
    [{ event: { ingested: '2020-01-01T00:00:00Z' } }, 'event.ingested'],
    [{ event: { 'ingested.at': 'x' } }, 'event.ingested.at'],
    [{ event: { original: 'forged original' } }, 'event.original'],
    [{ 'event.original': 'forged original' }, 'event.original'],
    [{ tags: ['ioc:malicious_ip'] }, 'tags'],
    [{ tags: 'IOC:high_confidence' }, 'tags'],
    [{ tags: ['nyx_mapping_rejected'] }, 'tags'],
    [{ 'threat.indicator.ip': '203.0.113.66' }, 'threat.indicator.ip'],
    [{ threat: { enrichments: [{ matched: { atomic: '203.0.113.66' } }] } }, 'threat'],
    [{ _index: `logs-endpoint-${nsB}` }, '_index'],
    [{ _id: 'chosen-id' }, '_id'],
    [{ category: 'cowrie', raw: { eventid: 'cowrie.login.failed', src_ip: '203.0.113.9', 'data_stream.namespace': nsB } }, 'raw.data_stream.namespace'],
    [{ category: 'cowrie', raw: { eventid: 'cowrie.login.failed', src_ip: '203.0.113.9', agent: { id: b.agent_id } } }, 'raw.agent'],
    [{ category: 'cowrie', raw: JSON.stringify({ eventid: 'cowrie.login.failed', src_ip: '203.0.113.9', data_stream: { namespace: nsB } }) }, 'raw.data_stream'],
    [{ category: 'cowrie', raw: JSON.stringify({ eventid: 'cowrie.login.failed', src_ip: '203.0.113.9', 'agent.id': b.agent_id }) }, 'raw.agent.id'],
    // A key spelt with a JSON escape is the same key once parsed.
    [{ category: 'cowrie', raw: `{"eventid":"cowrie.login.failed","src_ip":"203.0.113.9","\\u0061gent":{"id":"${b.agent_id}"}}` }, 'raw.agent'],
    [{ category: 'syslog', raw: '<38>Mar  1 12:00:00 web-01 sshd[812]: hello', 'data_stream.namespace': nsB }, 'data_stream.namespace'],
  ];
  const good = [agentEvent({ seq: 100, cmd: 'a-own', tags: ['mine'] }), agentEvent({ seq: 101, cmd: 'a-other', namespace: nsB })];
  const batch = [good[0]!, ...hostile.map(([fields], n) => agentEvent({ seq: n + 1, cmd: `hostile-${n}`, ...fields })), good[1]!];
  const res = await postJson(`${server.url}/api/ingest`, batch, { 'x-agent-key': a.agent_key });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const body = res.body as IngestBody;
  assert.equal(body.namespace, nsA);
  assert.deepEqual(body.results[0], { index: 0, status: 'stored' });
  assert.deepEqual(body.results.at(-1), { index: batch.length - 1, status: 'stored' }, 'nothing else in the batch is lost');
  hostile.forEach(([, field], n) => {
    const r = body.results[n + 1]!;
    assert.equal(r.status, 'rejected', `event ${n + 1} (${field}): ${JSON.stringify(r)}`);
    assert.equal(r.field, field, JSON.stringify(r));
    assert.match(r.reason ?? '', /server-owned|reserved|metadata/, JSON.stringify(r));
  });

  // A's documents are in A, as A's agent, with A's namespace; nothing of A is in B, nor found by a namespace term.
  const inA = await search(`logs-*-${nsA}`);
  assert.equal(inA.length, 2);
  for (const d of inA) {
    assert.deepEqual(d._source.data_stream, { type: 'logs', dataset: 'endpoint', namespace: nsA });
    assert.equal((d._source.agent as { id?: string }).id, a.agent_id);
    assert.ok(d._id.startsWith(a.agent_id), d._id);
  }
  const own = inA.find((d) => d._id === `${a.agent_id}-100`)!;
  assert.deepEqual(own._source.tags, ['mine'], "a tag Nyx does not reserve is the agent's to set");
  const inB = await search(`logs-*-${nsB}`);
  assert.deepEqual(inB.map((d) => d._id), [`${b.agent_id}-1`]);
  const byTerm = await search('logs-*', { term: { 'data_stream.namespace': nsB } });
  assert.deepEqual(byTerm.map((d) => d._id), [`${b.agent_id}-1`]);
  const byAgent = await search('logs-*', { term: { 'agent.id': b.agent_id } });
  assert.deepEqual(byAgent.map((d) => d._id), [`${b.agent_id}-1`]);

  // Each refused event is on record in A's dead-letter store with the field and the reason.
  const letters = await search(`nyx-dead-letter-${nsA}`);
  assert.equal(letters.length, hostile.length);
  assert.deepEqual(new Set(letters.map((l) => (l._source.error as { field: string }).field)), new Set(hostile.map(([, f]) => f)));
});

test('the data_stream stamp is set after the pipeline ran: a record merged into the root by the pipeline cannot replace it', () => {
  // Belt and braces behind the per-event refusal: a source pipeline's `json` processor (add_to_root) writes what a
  // record says at the document's root; the stamp and the owned roots are set again after it.
  const pipelines = SourcePipelines.offline(configSchema.parse({}));
  const record = JSON.stringify({ eventid: 'cowrie.login.failed', src_ip: '203.0.113.9', timestamp: '2026-03-01T12:00:01Z', data_stream: { namespace: 'b' }, 'data_stream.type': 'metrics', agent: { id: 'b-agent' } });
  const prepared = prepareSourceEvents(pipelines, { source: 'cowrie', namespace: 'a', events: [{ doc: { message: record }, owned: { agent: { id: 'a-agent', name: 'a-host', type: 'nyx' } } }] });
  const doc = prepared.docs[0]!.doc;
  assert.deepEqual(doc.data_stream, { type: 'logs', dataset: 'cowrie', namespace: 'a' });
  assert.deepEqual(doc.agent, { id: 'a-agent', name: 'a-host', type: 'nyx' });
  assert.equal(doc['data_stream.type'], undefined);
  assert.equal((doc.event as { action?: string }).action, 'cowrie.login.failed');
});
