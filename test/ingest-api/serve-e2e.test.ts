import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { runNyx } from '../support/cli.ts';
import { testClient, testElasticUrl, uniqueNamespace } from '../support/elastic.ts';
import { agentEvent, get, type IngestBody, operatorAuth, postJson, postRaw, serveForTestFile, TEST_OPERATOR_TOKEN } from './support.ts';

// One real `nyx serve` process; agents and tokens are made with the real `nyx agents` commands.
const env = { ELASTICSEARCH_URL: testElasticUrl(), NYX__SERVE__AUTH_CACHE_MS: '0', NYX_OPERATOR_TOKEN: TEST_OPERATOR_TOKEN };
const es = testClient();
const server = serveForTestFile(env);
after(() => es.close());

async function createToken(namespace: string, ttl = '1h'): Promise<string> {
  const res = await runNyx(['agents', 'token', 'create', '--namespace', namespace, '--ttl', ttl], env);
  assert.equal(res.code, 0, res.stderr);
  return res.stdout.trim();
}

async function enroll(token: string, hostname = 'web-01') {
  return postJson(`${server.url}/api/agents/enroll`, { token, hostname, os: 'linux 6.1', ip: '192.0.2.10', version: '0.1.0' });
}

async function enrolledAgent(namespace: string, hostname?: string): Promise<{ agent_id: string; agent_key: string }> {
  const res = await enroll(await createToken(namespace), hostname);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body as { agent_id: string; agent_key: string };
}

async function storedDocs(index: string): Promise<Array<{ _id: string; _source: Record<string, unknown> }>> {
  await es.indices.refresh({ index, ignore_unavailable: true, allow_no_indices: true });
  const res = await es.search({ index, size: 1000, sort: [{ '@timestamp': 'asc' }], ignore_unavailable: true, allow_no_indices: true });
  return res.hits.hits.map((h) => ({ _id: h._id as string, _source: h._source as Record<string, unknown> }));
}

test('enroll, then ingest one event, an array, NDJSON and gzip: ECS documents land in logs-endpoint-<namespace>', async () => {
  const ns = uniqueNamespace('e2e');
  const agent = await enrolledAgent(ns);
  assert.match(agent.agent_key, /^nyxak\./);
  const key = { 'x-agent-key': agent.agent_key };

  const single = await postJson(`${server.url}/api/ingest`, agentEvent({ cmd: 'whoami', seq: 1 }), key);
  assert.equal(single.status, 200, JSON.stringify(single.body));
  assert.deepEqual((single.body as IngestBody).results, [{ index: 0, status: 'stored' }]);

  const array = await postJson(`${server.url}/api/ingest`, [agentEvent({ cmd: 'uname -a', seq: 2 }), agentEvent({ category: 'network', dst_ip: '198.51.100.7', dst_port: 443, ip: '192.0.2.10', seq: 3 })], { authorization: `ApiKey ${agent.agent_key}` });
  assert.equal((array.body as IngestBody).stored, 2);

  const ndjson = [agentEvent({ cmd: 'ls /tmp', seq: 4 }), agentEvent({ category: 'service', service_name: 'sshd', action: 'stop', seq: 5 })].map((e) => JSON.stringify(e)).join('\n');
  const nd = await postRaw(`${server.url}/api/ingest`, ndjson, { ...key, 'content-type': 'application/x-ndjson' });
  assert.equal((nd.body as IngestBody).stored, 2);

  const gz = await postRaw(`${server.url}/api/ingest`, gzipSync(JSON.stringify([agentEvent({ category: 'user_activity', action: 'failed_login', user: 'bob', seq: 6 })])), { ...key, 'content-type': 'application/json', 'content-encoding': 'gzip' });
  assert.equal((gz.body as IngestBody).stored, 1, JSON.stringify(gz.body));

  const docs = await storedDocs(`logs-endpoint-${ns}`);
  assert.equal(docs.length, 6);
  const byId = new Map(docs.map((d) => [d._id, d._source]));
  const whoami = byId.get(`${agent.agent_id}-1`) as { process?: { command_line?: string }; host?: { name?: string }; agent?: { id?: string }; data_stream?: { namespace?: string } };
  assert.equal(whoami.process?.command_line, 'whoami');
  assert.equal(whoami.host?.name, 'host-a');
  assert.equal(whoami.agent?.id, agent.agent_id);
  assert.equal(whoami.data_stream?.namespace, ns);
  const net = byId.get(`${agent.agent_id}-3`) as { destination?: { ip?: string; port?: number } };
  assert.equal(net.destination?.ip, '198.51.100.7');
  assert.equal(net.destination?.port, 443);
  const failed = byId.get(`${agent.agent_id}-6`) as { event?: { outcome?: string }; user?: { name?: string } };
  assert.equal(failed.event?.outcome, 'failure');
  assert.equal(failed.user?.name, 'bob');
});

test('a retried batch is stored exactly once (agent id + seq, or a content hash)', async () => {
  const ns = uniqueNamespace('e2e');
  const agent = await enrolledAgent(ns);
  const key = { 'x-agent-key': agent.agent_key };
  const batch = [agentEvent({ cmd: 'a', seq: 10 }), agentEvent({ cmd: 'b', seq: 11 }), agentEvent({ cmd: 'no seq: hashed' })];
  const first = await postJson(`${server.url}/api/ingest`, batch, key);
  assert.equal((first.body as IngestBody).stored, 3);
  const retry = await postJson(`${server.url}/api/ingest`, batch, key);
  assert.equal(retry.status, 200);
  assert.equal((retry.body as IngestBody).stored, 0);
  assert.equal((retry.body as IngestBody).duplicates, 3);
  const docs = await storedDocs(`logs-endpoint-${ns}`);
  assert.equal(docs.length, 3);
  assert.ok(docs.some((d) => d._id === `${agent.agent_id}-10`));
});

test('namespace comes from the agent, never from the body', async () => {
  const ns = uniqueNamespace('e2e');
  const other = uniqueNamespace('e2e');
  const agent = await enrolledAgent(ns);
  // A plain `namespace` field is the agent's own; `data_stream` is the server's: that event is refused, with why.
  const res = await postJson(`${server.url}/api/ingest`, [agentEvent({ seq: 1, namespace: other }), agentEvent({ seq: 2, data_stream: { namespace: other } })], { 'x-agent-key': agent.agent_key });
  assert.equal((res.body as IngestBody).namespace, ns);
  assert.deepEqual((res.body as IngestBody).results.map((r) => [r.status, r.field]), [['stored', undefined], ['rejected', 'data_stream']]);
  assert.equal((await storedDocs(`logs-endpoint-${ns}`)).length, 1);
  assert.equal((await storedDocs(`logs-endpoint-${other}`)).length, 0);
});

test('syslog lines and Cowrie records go to their own data streams', async () => {
  const ns = uniqueNamespace('e2e');
  const agent = await enrolledAgent(ns);
  const res = await postJson(
    `${server.url}/api/ingest`,
    [
      { ts: '2026-03-01T12:00:00Z', category: 'syslog', raw: '<38>Mar  1 12:00:00 web-01 sshd[812]: Failed password for invalid user admin from 203.0.113.9 port 52022 ssh2' },
      { ts: '2026-03-01T12:00:01Z', category: 'cowrie', raw: { eventid: 'cowrie.login.failed', src_ip: '203.0.113.9', username: 'root', password: 'toor', session: 's1', timestamp: '2026-03-01T12:00:01.000000Z' } },
    ],
    { 'x-agent-key': agent.agent_key },
  );
  assert.equal((res.body as IngestBody).stored, 2, JSON.stringify(res.body));
  const [syslog] = await storedDocs(`logs-syslog-${ns}`);
  assert.equal((syslog?._source.source as { ip?: string } | undefined)?.ip, '203.0.113.9');
  const [cowrie] = await storedDocs(`logs-cowrie-${ns}`);
  assert.equal((cowrie?._source.event as { action?: string } | undefined)?.action, 'cowrie.login.failed');
});

test('wrong key: 401; revoked key: 403, and `nyx agents list` shows the agent revoked', async () => {
  const ns = uniqueNamespace('e2e');
  const agent = await enrolledAgent(ns, 'db-07');
  const wrong = await postJson(`${server.url}/api/ingest`, agentEvent(), { 'x-agent-key': `${agent.agent_key.slice(0, -4)}AAAA` });
  assert.equal(wrong.status, 401);
  assert.match(String((wrong.body as { error: string }).error), /agent key is not known/);
  const none = await postJson(`${server.url}/api/ingest`, agentEvent());
  assert.equal(none.status, 401);

  const listed = await runNyx(['agents', 'list', '--json'], env);
  const mine = (JSON.parse(listed.stdout) as Array<{ agent_id: string; status: string; hostname: string; os: string; ip: string; version: string; namespace: string }>).find((a) => a.agent_id === agent.agent_id);
  assert.deepEqual(mine && { status: mine.status, hostname: mine.hostname, os: mine.os, ip: mine.ip, version: mine.version, namespace: mine.namespace }, { status: 'online', hostname: 'db-07', os: 'linux 6.1', ip: '192.0.2.10', version: '0.1.0', namespace: ns });

  const revoked = await runNyx(['agents', 'revoke', agent.agent_id], env);
  assert.equal(revoked.code, 0, revoked.stderr);
  const refused = await postJson(`${server.url}/api/ingest`, agentEvent(), { 'x-agent-key': agent.agent_key });
  assert.equal(refused.status, 403);
  assert.match(String((refused.body as { error: string }).error), /revoked/);
  const after = await runNyx(['agents', 'list'], env);
  assert.match(after.stdout, new RegExp(`${agent.agent_id}.*db-07.*revoked`));
});

test('expired and revoked enrollment tokens are refused; the key is stored only as a hash', async () => {
  const ns = uniqueNamespace('e2e');
  const shortLived = await createToken(ns, '1s');
  await new Promise((r) => setTimeout(r, 1500));
  const expired = await enroll(shortLived);
  assert.equal(expired.status, 403);
  assert.match(String((expired.body as { error: string }).error), /expired/);

  const token = await createToken(ns);
  const tokenId = token.split('.')[1] as string;
  const list = await runNyx(['agents', 'token', 'list', '--json'], env);
  const listed = (JSON.parse(list.stdout) as Array<Record<string, unknown>>).find((t) => t.token_id === tokenId);
  assert.equal(listed?.status, 'active');
  assert.ok(!JSON.stringify(listed).includes(token.split('.')[2] as string), 'token list never shows the secret');
  const revoked = await runNyx(['agents', 'token', 'revoke', tokenId], env);
  assert.equal(revoked.code, 0, revoked.stderr);
  const refused = await enroll(token);
  assert.equal(refused.status, 403);
  assert.match(String((refused.body as { error: string }).error), /revoked/);

  const agent = await enrolledAgent(ns);
  const stored = await es.get({ index: 'nyx-agents', id: agent.agent_id });
  assert.ok(!JSON.stringify(stored._source).includes(agent.agent_key.split('.')[2] as string));
});

test('health and Prometheus metrics', async () => {
  const health = await get(`${server.url}/api/health`);
  assert.equal(health.status, 200);
  assert.deepEqual((health.body as { elasticsearch: { reachable: boolean } }).elasticsearch.reachable, true);
  assert.equal(typeof (health.body as { queue: { events: number } }).queue.events, 'number');
  const metrics = await get(`${server.url}/metrics`, operatorAuth);
  assert.match(String(metrics.body), /# TYPE nyx_ingest_events_total counter/);
  assert.match(String(metrics.body), /nyx_ingest_events_total\{namespace="e2e_[0-9a-f]+",outcome="stored"\} \d+/);
  assert.match(String(metrics.body), /nyx_ingest_bulk_duration_seconds_bucket\{le="\+Inf"\} \d+/);
});
