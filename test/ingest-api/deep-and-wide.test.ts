import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testClient } from '../support/elastic.ts';
import { agentEvent, get, postJson, postRaw, startTestApi, type IngestBody, type TestApi } from './support.ts';

// Issue 19, class 3: one deeply nested (or very wide, or hostile-keyed) event costs only itself. The rest of its
// batch is stored, it is rejected with the path where it passed the bound and dead-lettered with its original,
// the answer is never a 500 and the server goes on serving.
const es = testClient();
let api: TestApi;
let key: Record<string, string>;

before(async () => {
  // A body limit above today's 10 MiB default is not needed: every payload here is under it.
  api = await startTestApi({ rate_limit: { requests_per_second: 1000, burst: 1000 } });
  key = { 'x-agent-key': (await api.enroll('deep-host')).key };
});
after(async () => {
  await api?.close();
  await es.close();
});

/** `{"a":{"a":…1…}}`, `levels` objects deep, as text (JSON.stringify of such a value would overflow the stack). */
function nestedText(levels: number, key = 'a'): string {
  return `${`{"${key}":`.repeat(levels)}1${'}'.repeat(levels)}`;
}

/** An agent event with a field nested `levels` deep, as text. */
function deepEventText(marker: string, levels: number): string {
  const good = JSON.stringify(agentEvent({ cmd: marker }));
  return `${good.slice(0, -1)},"extra":${nestedText(levels)}}`;
}

async function storedCommands(prefix: string): Promise<string[]> {
  const index = `logs-endpoint-${api.namespace}`;
  await es.indices.refresh({ index, ignore_unavailable: true, allow_no_indices: true });
  const res = await es.search({ index, size: 100, query: { prefix: { 'process.command_line': prefix } }, ignore_unavailable: true, allow_no_indices: true });
  return res.hits.hits.map((h) => (h._source as { process: { command_line: string } }).process.command_line).sort();
}

interface DeadLetter {
  error: { field: string; message: string; type: string };
  event: { original: string; truncated?: boolean };
}

async function deadLetterMatching(marker: string): Promise<DeadLetter | undefined> {
  const index = `nyx-dead-letter-${api.namespace}`;
  await es.indices.refresh({ index, ignore_unavailable: true, allow_no_indices: true });
  const res = await es.search({ index, size: 200, ignore_unavailable: true, allow_no_indices: true });
  return res.hits.hits.map((h) => h._source as DeadLetter).find((d) => d.event.original.includes(marker));
}

/** The server still takes a plain event from the same agent and says it is healthy. */
async function assertStillServing(marker: string): Promise<void> {
  const res = await postJson(`${api.url}/api/ingest`, agentEvent({ cmd: marker }), key);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal((res.body as IngestBody).stored, 1);
  assert.equal((await get(`${api.url}/api/health`)).status, 200);
}

const DEPTH_PATH = Array.from({ length: 63 }, () => 'a').join('.');

test('a JSON array of 3 good events and one nested 20,000 deep: 200, the 3 stored, the deep one rejected at its path and dead-lettered', async () => {
  const body = `[${[JSON.stringify(agentEvent({ cmd: 'arr-good-1' })), deepEventText('arr-deep', 20_000), JSON.stringify(agentEvent({ cmd: 'arr-good-2' })), JSON.stringify(agentEvent({ cmd: 'arr-good-3' }))].join(',')}]`;
  const res = await postRaw(`${api.url}/api/ingest`, body, { ...key, 'content-type': 'application/json' });
  assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 500));
  const answer = res.body as IngestBody;
  assert.deepEqual(answer.results.map((r) => r.status), ['stored', 'rejected', 'stored', 'stored']);
  assert.equal(answer.results[1]?.field, `extra.${DEPTH_PATH}`);
  assert.match(answer.results[1]?.reason ?? '', /nested deeper than the limit of 64 levels \(serve\.max_event_depth\)/);
  assert.deepEqual(await storedCommands('arr-'), ['arr-good-1', 'arr-good-2', 'arr-good-3']);
  const letter = await deadLetterMatching('arr-deep');
  assert.equal(letter?.error.field, `extra.${DEPTH_PATH}`);
  assert.ok(letter?.event.original.startsWith('{"ts"'), 'the dead letter keeps the element as it was sent');
  assert.ok(letter?.event.original.endsWith('}'.repeat(100)));
  await assertStillServing('arr-after');
});

test('the same in NDJSON: only the deep line is rejected', async () => {
  const body = [JSON.stringify(agentEvent({ cmd: 'nd-good-1' })), deepEventText('nd-deep', 20_000), JSON.stringify(agentEvent({ cmd: 'nd-good-2' })), JSON.stringify(agentEvent({ cmd: 'nd-good-3' }))].join('\n');
  const res = await postRaw(`${api.url}/api/ingest`, body, { ...key, 'content-type': 'application/x-ndjson' });
  assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 500));
  assert.deepEqual((res.body as IngestBody).results.map((r) => [r.status, r.field]), [['stored', undefined], ['rejected', `extra.${DEPTH_PATH}`], ['stored', undefined], ['stored', undefined]]);
  assert.deepEqual(await storedCommands('nd-'), ['nd-good-1', 'nd-good-2', 'nd-good-3']);
  assert.equal((await deadLetterMatching('nd-deep'))?.error.type, 'validation');
  await assertStillServing('nd-after');
});

test('a deep event alone, and a deep array element that is not even an object: 422 / rejected, never 500', async () => {
  const alone = await postRaw(`${api.url}/api/ingest`, deepEventText('alone-deep', 20_000), { ...key, 'content-type': 'application/json' });
  assert.equal(alone.status, 422, JSON.stringify(alone.body).slice(0, 500));
  assert.equal((alone.body as IngestBody).results[0]?.field, `extra.${DEPTH_PATH}`);
  assert.ok(await deadLetterMatching('alone-deep'));
  // 200,000 nested arrays as one element of the batch: the element costs itself.
  const arrays = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
  const mixed = await postRaw(`${api.url}/api/ingest`, `[${JSON.stringify(agentEvent({ cmd: 'mixed-good' }))},${arrays}]`, { ...key, 'content-type': 'application/json' });
  assert.equal(mixed.status, 200, JSON.stringify(mixed.body).slice(0, 500));
  assert.deepEqual((mixed.body as IngestBody).results.map((r) => [r.status, r.field]), [['stored', undefined], ['rejected', '(event)']]);
  await assertStillServing('alone-after');
});

test('a cowrie raw string nesting 500 and 5,000 deep: the other events stored, never 500', async () => {
  const record = (marker: string, levels: number) => `{"eventid":"cowrie.session.connect","src_ip":"203.0.113.7","session":"${marker}","timestamp":"2026-03-01T12:00:00.000000Z","x":${nestedText(levels, 'x')}}`;
  const events = [
    agentEvent({ cmd: 'cowrie-good-1' }),
    { ts: '2026-03-01T12:00:00Z', category: 'cowrie', raw: record('cowrie-deep-500', 500) },
    { ts: '2026-03-01T12:00:00Z', category: 'cowrie', raw: record('cowrie-deep-5000', 5_000) },
    agentEvent({ cmd: 'cowrie-good-2' }),
  ];
  const res = await postJson(`${api.url}/api/ingest`, events, key);
  assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 500));
  const results = (res.body as IngestBody).results;
  assert.equal(results[0]?.status, 'stored');
  assert.equal(results[3]?.status, 'stored');
  // 500 levels parse (Elasticsearch's JSON limit is 1,000), so it is the pipeline's output that passes the
  // bound: refused before it is sent, with the path, and dead-lettered.
  assert.equal(results[1]?.status, 'rejected');
  assert.equal(results[1]?.field, Array.from({ length: 64 }, () => 'x').join('.'));
  assert.match(results[1]?.reason ?? '', /the cowrie pipeline's output: nested deeper than the limit of 64 levels/);
  assert.equal((await deadLetterMatching('cowrie-deep-500'))?.error.type, 'normalisation');
  // 5,000 levels: refused by the output bound, or (where the json processor refuses such depth itself) stored
  // with the pipeline's error; either way with a reason, never a lost batch.
  const deep = results[2];
  assert.ok(deep?.status === 'rejected' || deep?.status === 'stored', JSON.stringify(deep));
  if (deep?.status === 'rejected') assert.ok(await deadLetterMatching('cowrie-deep-5000'));
  assert.deepEqual(await storedCommands('cowrie-good-'), ['cowrie-good-1', 'cowrie-good-2']);
  await assertStillServing('cowrie-after');
});

test('a 100,000-key event: rejected at the key that passed the field limit, the others stored', async () => {
  const wide: Record<string, unknown> = agentEvent({ cmd: 'wide-event' });
  for (let k = 0; k < 100_000; k++) wide[`k${k}`] = k;
  const res = await postJson(`${api.url}/api/ingest`, [agentEvent({ cmd: 'wide-good-1' }), wide, agentEvent({ cmd: 'wide-good-2' })], key);
  assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 500));
  const rejected = (res.body as IngestBody).results[1];
  assert.equal(rejected?.status, 'rejected');
  // The event's own 6 fields come first; the 1,001st distinct field is where the limit was passed.
  assert.equal(rejected?.field, 'k994');
  assert.match(rejected?.reason ?? '', /more than the limit of 1000 distinct fields per event \(serve\.max_event_fields\)/);
  assert.deepEqual(await storedCommands('wide-'), ['wide-good-1', 'wide-good-2']);
  const letter = await deadLetterMatching('"wide-event"');
  assert.equal(letter?.error.field, 'k994');
  await assertStillServing('wide-after');
});

test('reserved keys in any spelling cost only their own event, named by path', async () => {
  const body = `[${[
    JSON.stringify(agentEvent({ cmd: 'reserved-good' })),
    '{"ts":"2026-03-01T12:00:00Z","category":"detection","__proto__":{"polluted":true}}',
    JSON.stringify(agentEvent({ cmd: 'reserved-nested', labels: { constructor: { prototype: 1 } } })),
    JSON.stringify(agentEvent({ cmd: 'reserved-dotted', 'a.__proto__.b': 1 })),
  ].join(',')}]`;
  const res = await postRaw(`${api.url}/api/ingest`, body, { ...key, 'content-type': 'application/json' });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.deepEqual((res.body as IngestBody).results.map((r) => [r.status, r.field]), [
    ['stored', undefined],
    ['rejected', '__proto__'],
    ['rejected', 'labels.constructor'],
    ['rejected', 'a.__proto__.b'],
  ]);
  assert.match((res.body as IngestBody).results[1]?.reason ?? '', /the key "__proto__" is reserved/);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.ok(await deadLetterMatching('"polluted":true'));
});
