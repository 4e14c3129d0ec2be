/**
 * Issue 19, class 1, against a real `nyx serve` process and the real Elasticsearch: a Cowrie event whose `raw`
 * JSON string carries `__proto__` (and `constructor.prototype`) keys must not change the server's objects. Before
 * the fix the pipeline runner merged those keys onto Object.prototype, every later Elasticsearch request carried
 * them as query parameters, and every tenant's ingest and /api/health answered 503 until a restart.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { runNyx } from '../support/cli.ts';
import { testClient, testElasticUrl, uniqueNamespace } from '../support/elastic.ts';
import { agentEvent, get, type IngestBody, postJson, serveForTestFile } from './support.ts';

const env = { ELASTICSEARCH_URL: testElasticUrl(), NYX__SERVE__AUTH_CACHE_MS: '0' };
const es = testClient();
const server = serveForTestFile(env);
after(() => es.close());

async function enrolledAgentKey(namespace: string): Promise<string> {
  const token = await runNyx(['agents', 'token', 'create', '--namespace', namespace, '--ttl', '1h'], env);
  assert.equal(token.code, 0, token.stderr);
  const res = await postJson(`${server.url}/api/agents/enroll`, { token: token.stdout.trim(), hostname: 'honeypot-01', os: 'linux 6.1', ip: '192.0.2.10', version: '0.1.0' });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return (res.body as { agent_key: string }).agent_key;
}

/** Cowrie's own line, as an attacker-controlled honeypot agent would forward it: JSON text, so the outer body has no `__proto__` key. */
const POISONED_RAW =
  '{"eventid":"cowrie.login.failed","src_ip":"203.0.113.66","username":"root","password":"x","session":"p1",' +
  '"timestamp":"2026-03-01T12:00:00.000000Z","__proto__":{"revoked_at":"2026-03-01T12:00:00Z"},' +
  '"constructor":{"prototype":{"revoked_at":"2026-03-01T12:00:00Z"}}}';
/** The same without the top-level `__proto__` (which the ingest edge refuses as a server-owned `_` name): it reaches the pipeline. */
const CONSTRUCTOR_RAW =
  '{"eventid":"cowrie.login.failed","src_ip":"203.0.113.67","username":"root","password":"x","session":"p2",' +
  '"timestamp":"2026-03-01T12:00:01.000000Z","constructor":{"prototype":{"revoked_at":"2026-03-01T12:00:00Z"}}}';

test('a cowrie raw string with __proto__ keys is refused at the edge, one with constructor.prototype ends stored with error.message; both tenants keep ingesting and /api/health stays 200', async () => {
  const nsA = uniqueNamespace('pp');
  const nsB = uniqueNamespace('pp');
  const keyA = await enrolledAgentKey(nsA);
  const keyB = await enrolledAgentKey(nsB);

  const poisoned = await postJson(
    `${server.url}/api/ingest`,
    [
      { ts: '2026-03-01T12:00:00Z', category: 'cowrie', raw: POISONED_RAW, seq: 1 },
      { ts: '2026-03-01T12:00:01Z', category: 'cowrie', raw: CONSTRUCTOR_RAW, seq: 2 },
    ],
    { 'x-agent-key': keyA },
  );
  assert.equal(poisoned.status, 200, JSON.stringify(poisoned.body));
  // A top-level `__proto__` in the record is refused at the edge, naming it; the constructor.prototype one goes through the pipeline.
  const [edge, piped] = (poisoned.body as IngestBody).results;
  assert.equal(edge?.status, 'rejected', JSON.stringify(edge));
  assert.equal(edge?.field, 'raw.__proto__');
  assert.equal(piped?.status, 'stored', JSON.stringify(piped));

  // The pollution showed seconds later, on the next Elasticsearch requests: poll a bounded number of times.
  for (let poll = 0; poll < 10; poll++) {
    const health = await get(`${server.url}/api/health`);
    assert.equal(health.status, 200, `poll ${poll}: /api/health ${JSON.stringify(health.body)}`);
    for (const [key, label] of [[keyA, 'A'], [keyB, 'B']] as const) {
      const res = await postJson(`${server.url}/api/ingest`, agentEvent({ cmd: `poll ${poll}`, seq: 100 + poll }), { 'x-agent-key': key });
      assert.equal(res.status, 200, `poll ${poll}: tenant ${label} ingest ${JSON.stringify(res.body)}`);
      assert.equal((res.body as IngestBody).stored, 1, `poll ${poll}: tenant ${label} ${JSON.stringify(res.body)}`);
    }
    await sleep(1000);
  }

  // Each tenant's ten events are all there.
  for (const ns of [nsA, nsB]) {
    await es.indices.refresh({ index: `logs-endpoint-${ns}` });
    assert.equal((await es.count({ index: `logs-endpoint-${ns}` })).count, 10);
  }

  // The poisoned event: stored in A's cowrie stream, marked by the pipeline's on_failure with the reason.
  await es.indices.refresh({ index: `logs-cowrie-${nsA}` });
  const hits = (await es.search({ index: `logs-cowrie-${nsA}`, size: 10 })).hits.hits;
  assert.equal(hits.length, 1);
  const stored = hits[0]!._source as { event?: { kind?: string; original?: string }; error?: { message?: string }; revoked_at?: unknown };
  assert.equal(stored.event?.kind, 'pipeline_error');
  assert.match(stored.error?.message ?? '', /json processor \[parse-(message|raw)-json\] failed: .*field path \[constructor(\.prototype)?\] uses the reserved name \[(constructor|prototype)\]/);
  assert.equal(stored.revoked_at, undefined);
  assert.ok(stored.event?.original?.includes('constructor'), 'the input is kept in event.original');
  // Nothing of it reached tenant B.
  const inB = await es.count({ index: `logs-cowrie-${nsB}`, ignore_unavailable: true, allow_no_indices: true });
  assert.equal(inB.count, 0);
});
