import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { testClient } from '../support/elastic.ts';
import { agentEvent, postJson, postRaw, startTestApi, type IngestBody, type TestApi } from './support.ts';

// Each hostile input is answered precisely, and nothing else in the batch is lost.
const BODY_LIMIT = 2 * 1024 * 1024;
const es = testClient();
let api: TestApi;
let key: Record<string, string>;
let agentId: string;

before(async () => {
  api = await startTestApi({ body_limit_bytes: BODY_LIMIT, rate_limit: { requests_per_second: 1000, burst: 1000 } });
  const agent = await api.enroll();
  key = { 'x-agent-key': agent.key };
  agentId = agent.agentId;
});
after(async () => {
  await api?.close();
  await es.close();
});

async function count(index: string, query: Record<string, unknown> = { match_all: {} }): Promise<number> {
  await es.indices.refresh({ index, ignore_unavailable: true, allow_no_indices: true });
  return (await es.count({ index, query, ignore_unavailable: true, allow_no_indices: true })).count;
}

async function deadLetters(): Promise<Array<{ error: { field: string; message: string; type: string }; event: { original: string } }>> {
  const index = `nyx-dead-letter-${api.namespace}`;
  await es.indices.refresh({ index, ignore_unavailable: true, allow_no_indices: true });
  const res = await es.search({ index, size: 100, ignore_unavailable: true, allow_no_indices: true });
  return res.hits.hits.map((h) => h._source as { error: { field: string; message: string; type: string }; event: { original: string } });
}

test('oversized body: 413 naming the limit, nothing stored', async () => {
  const big = JSON.stringify([agentEvent({ cmd: 'x'.repeat(BODY_LIMIT) })]);
  const res = await postRaw(`${api.url}/api/ingest`, big, { ...key, 'content-type': 'application/json' });
  assert.equal(res.status, 413);
  assert.match(String((res.body as { error: string }).error), /too large|exceeds/i);
});

test('invalid JSON: 400 naming the parse error', async () => {
  const res = await postRaw(`${api.url}/api/ingest`, '{"ts": "2026-03-01T12:00:00Z", "category": ', { ...key, 'content-type': 'application/json' });
  assert.equal(res.status, 400);
  assert.match(String((res.body as { error: string }).error), /^invalid JSON: /);
  const array = await postRaw(`${api.url}/api/ingest`, '[{"a":1},', { ...key, 'content-type': 'application/json' });
  assert.equal(array.status, 400);
});

test('one bad NDJSON line costs only itself', async () => {
  const lines = [JSON.stringify(agentEvent({ cmd: 'nd-good-1', seq: 9001 })), '{"ts": not json}', JSON.stringify(agentEvent({ cmd: 'nd-good-2', seq: 9002 }))].join('\n');
  const res = await postRaw(`${api.url}/api/ingest`, lines, { ...key, 'content-type': 'application/x-ndjson' });
  assert.equal(res.status, 200);
  const body = res.body as IngestBody;
  assert.deepEqual(body.results.map((r) => r.status), ['stored', 'rejected', 'stored']);
  assert.equal(body.results[1]?.field, '(event)');
  assert.match(body.results[1]?.reason ?? '', /invalid JSON/);
  assert.ok((await deadLetters()).some((d) => d.event.original === '{"ts": not json}'));
});

test('unknown category: rejected naming the field and the categories, dead-lettered with the original', async () => {
  const res = await postJson(`${api.url}/api/ingest`, agentEvent({ category: 'keylogger', cmd: 'unknown-category-marker' }), key);
  assert.equal(res.status, 422);
  const [result] = (res.body as IngestBody).results;
  assert.equal(result?.status, 'rejected');
  assert.equal(result?.field, 'category');
  assert.match(result?.reason ?? '', /unknown category; expected one of telemetry, .*windows_event, syslog, cowrie/);
  const letter = (await deadLetters()).find((d) => d.event.original.includes('unknown-category-marker'));
  assert.equal(letter?.error.field, 'category');
  assert.equal(letter?.error.type, 'validation');
});

test('a field of the wrong type: rejected with the field path and the expected type', async () => {
  const res = await postJson(`${api.url}/api/ingest`, [agentEvent({ category: 'network', dst_port: 'https', seq: 1 }), agentEvent({ severity: 'high', seq: 2 }), agentEvent({ ts: 'yesterday', seq: 3 }), agentEvent({ category: 'process', processes: [{ pid: 'one' }], seq: 4 })], key);
  const results = (res.body as IngestBody).results;
  assert.deepEqual(results.map((r) => [r.status, r.field]), [['rejected', 'dst_port'], ['rejected', 'severity'], ['rejected', 'ts'], ['rejected', 'processes.0.pid']]);
  assert.match(results[0]?.reason ?? '', /expected number, received string/);
  assert.match(results[2]?.reason ?? '', /ISO 8601/);
});

test('10,000 events with one bad: only that one is rejected, 9,999 stored', async () => {
  const events = Array.from({ length: 10_000 }, (_, i) => agentEvent({ cmd: `bulk-${i}`, seq: 100_000 + i }));
  events[4321] = agentEvent({ cmd: 'bad', seq: 'not a number' });
  const res = await postJson(`${api.url}/api/ingest`, events, key);
  assert.equal(res.status, 200);
  const body = res.body as IngestBody;
  assert.equal(body.stored, 9_999);
  assert.equal(body.rejected, 1);
  assert.deepEqual(body.results.filter((r) => r.status === 'rejected').map((r) => [r.index, r.field]), [[4321, 'seq']]);
  assert.equal(await count(`logs-endpoint-${api.namespace}`, { prefix: { 'process.command_line': 'bulk-' } }), 9_999);
});

test('more events than the per-request limit: 413 asking to split', async () => {
  const small = await startTestApi({ max_events_per_request: 5 });
  try {
    const { key: k } = await small.enroll();
    const res = await postJson(`${small.url}/api/ingest`, Array.from({ length: 6 }, () => agentEvent()), { 'x-agent-key': k });
    assert.equal(res.status, 413);
    assert.match(String((res.body as { error: string }).error), /6 events exceed the limit of 5/);
  } finally {
    await small.close();
  }
});

test('control characters and injection attempts are stored verbatim, nothing executed', async () => {
  const hostile = [
    'ctl:\u0000\u0001\u0007\u001b[31mred\u001b[0m\r\n\t\u2028\u2029\ud83d\ude00',
    "'; DROP TABLE agents; --",
    '{{{_source}}} {{#toJson}}ctx{{/toJson}} ${process.exit(1)} `rm -rf /` $(reboot)',
    '<script>alert(1)</script>',
    'ctx._source.remove("message"); params.x',
    '"}, {"index": {"_index": "nyx-agents"}}\n{"agent_id": "injected"}',
    '../../../../etc/passwd',
  ];
  const events = hostile.map((cmd, i) => agentEvent({ cmd, user: cmd.slice(0, 50), seq: 500 + i }));
  const res = await postJson(`${api.url}/api/ingest`, events, key);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal((res.body as IngestBody).stored, hostile.length);
  const index = `logs-endpoint-${api.namespace}`;
  await es.indices.refresh({ index });
  // A data stream has no GET by id: search its backing indices by _id.
  const ids = hostile.map((_, i) => `${agentId}-${500 + i}`);
  const found = await es.search({ index, query: { ids: { values: ids } }, size: ids.length });
  const byId = new Map(found.hits.hits.map((h) => [h._id, (h._source as { process?: { command_line?: string } }).process?.command_line]));
  for (const [i, cmd] of hostile.entries()) assert.equal(byId.get(ids[i]), cmd, `stored verbatim: ${JSON.stringify(cmd)}`);
  assert.equal((await es.get({ index: 'nyx-agents', id: 'injected' }).catch(() => ({ found: false }))).found, false);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  // A "__proto__" key is refused, never merged into a prototype; it costs its own event (422 when it is the
  // only one, with the field), not the request (issue 19: it was a 400 for the whole body).
  const proto = await postRaw(`${api.url}/api/ingest`, '{"ts":"2026-03-01T12:00:00Z","category":"detection","__proto__":{"polluted":true}}', { ...key, 'content-type': 'application/json' });
  assert.equal(proto.status, 422);
  assert.equal((proto.body as IngestBody).results[0]?.field, '__proto__');
  assert.match((proto.body as IngestBody).results[0]?.reason ?? '', /__proto__/);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('gzip bomb: a small body that inflates past the limit is refused with 413', async () => {
  const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20), { level: 9 });
  assert.ok(bomb.length < BODY_LIMIT / 10, `the bomb itself is small (${bomb.length} bytes)`);
  const res = await postRaw(`${api.url}/api/ingest`, bomb, { ...key, 'content-type': 'application/json', 'content-encoding': 'gzip' });
  assert.equal(res.status, 413);
  assert.match(String((res.body as { error: string }).error), /decompressed body exceeds the limit of 2097152 bytes/);
  const garbage = await postRaw(`${api.url}/api/ingest`, Buffer.from('not gzip at all'), { ...key, 'content-encoding': 'gzip' });
  assert.equal(garbage.status, 400);
  const unknown = await postRaw(`${api.url}/api/ingest`, Buffer.from('{}'), { ...key, 'content-encoding': 'br' });
  assert.equal(unknown.status, 415);
});

test('per-agent rate limit: 429 with Retry-After, other agents unaffected', async () => {
  const limited = await startTestApi({ rate_limit: { requests_per_second: 0.2, burst: 2 } });
  try {
    const a = await limited.enroll('noisy');
    const b = await limited.enroll('quiet');
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 3; i++) {
      last = await postJson(`${limited.url}/api/ingest`, agentEvent({ seq: i }), { 'x-agent-key': a.key });
      statuses.push(last.status);
    }
    assert.deepEqual(statuses, [200, 200, 429]);
    assert.ok(Number(last?.headers.get('retry-after')) >= 1);
    assert.match(String((last?.body as { error: string }).error), /rate limit/);
    const other = await postJson(`${limited.url}/api/ingest`, agentEvent({ seq: 1 }), { 'x-agent-key': b.key });
    assert.equal(other.status, 200);
  } finally {
    await limited.close();
  }
});

test('enrollment with a malformed body or token: 400 / 401, naming the problem', async () => {
  const missing = await postJson(`${api.url}/api/agents/enroll`, { token: 'nyxet.x.y', hostname: 'h' });
  assert.equal(missing.status, 400);
  assert.match(String((missing.body as { error: string }).error), /^os: /);
  const bogus = await postJson(`${api.url}/api/agents/enroll`, { token: 'nyxet.AAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB', hostname: 'h', os: 'linux', ip: '10.0.0.1', version: '1' });
  assert.equal(bogus.status, 401);
});
