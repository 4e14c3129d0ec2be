import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { runNyx } from '../support/cli.ts';
import { testClient, testElasticUrl, uniqueNamespace } from '../support/elastic.ts';
import { agentEvent, bootstrappedCluster, operatorAuth, startServeProcess, TEST_OPERATOR_TOKEN } from './support.ts';

// Real `nyx serve` processes over the suite's Elasticsearch; tokens are made with the real `nyx agents` commands.
const es = testClient();
const baseEnv = { ELASTICSEARCH_URL: testElasticUrl(), NYX_OPERATOR_TOKEN: TEST_OPERATOR_TOKEN };
/** Tenant limit low enough that five agents exceed it at once; failures high enough that refusals here never block. */
const mainEnv = { ...baseEnv, NYX__SERVE__RATE_LIMIT__TENANT_REQUESTS_PER_SECOND: '0.1', NYX__SERVE__RATE_LIMIT__TENANT_BURST: '10', NYX__SERVE__AUTH_RATE_LIMIT__FAILURES: '100' };
/** Five failures per ten minutes (once used up, nothing refills during the test); 127.0.0.1 is a trusted proxy. */
const floodEnv = { ...baseEnv, NYX__SERVE__AUTH_RATE_LIMIT__FAILURES: '5', NYX__SERVE__AUTH_RATE_LIMIT__PER_SECONDS: '600', NYX__SERVE__TRUST_PROXY: '127.0.0.1' };
let main: Awaited<ReturnType<typeof startServeProcess>>;
let flood: Awaited<ReturnType<typeof startServeProcess>>;

before(async () => {
  await bootstrappedCluster();
  [main, flood] = await Promise.all([startServeProcess(mainEnv), startServeProcess(floodEnv)]);
});
after(async () => {
  await Promise.all([main?.stop(), flood?.stop()]);
  await es.close();
});

interface Answer {
  status: number;
  retryAfter: string | undefined;
  body: unknown;
}

/**
 * One HTTP request from a chosen loopback address (127.0.0.2 is a different client than 127.0.0.1 to the
 * server, as two hosts behind no proxy would be).
 */
function send(url: string, options: { method?: string; from?: string; headers?: Record<string, string>; body?: unknown } = {}): Promise<Answer> {
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method: options.method ?? (payload === undefined ? 'GET' : 'POST'),
        localAddress: options.from ?? '127.0.0.1',
        headers: { ...(payload === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // metrics text stays text
          }
          const retryAfter = res.headers['retry-after'];
          resolve({ status: res.statusCode ?? 0, retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, body });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

function errorOf(answer: Answer): string {
  return String((answer.body as { error?: unknown }).error);
}

async function createToken(namespace: string, maxUses?: number): Promise<string> {
  const res = await runNyx(['agents', 'token', 'create', '--namespace', namespace, ...(maxUses ? ['--max-uses', String(maxUses)] : [])], baseEnv);
  assert.equal(res.code, 0, res.stderr);
  return res.stdout.trim();
}

function enroll(server: string, token: string, hostname: string, from?: string): Promise<Answer> {
  return send(`${server}/api/agents/enroll`, { ...(from ? { from } : {}), body: { token, hostname, os: 'linux 6.1', ip: '192.0.2.10', version: '0.1.0' } });
}

async function enrolled(server: string, token: string, hostname: string): Promise<{ agent_id: string; agent_key: string }> {
  const res = await enroll(server, token, hostname);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body as { agent_id: string; agent_key: string };
}

function ingest(server: string, key: string, seq: number, from?: string): Promise<Answer> {
  return send(`${server}/api/ingest`, { ...(from ? { from } : {}), headers: { 'x-agent-key': key }, body: agentEvent({ seq }) });
}

/** A well-formed agent key whose id no one was ever given. */
function madeUpKey(id = randomBytes(12).toString('base64url')): string {
  return `nyxak.${id}.${randomBytes(32).toString('base64url')}`;
}

async function unknownKeyLookups(server: string): Promise<number> {
  const metrics = await send(`${server}/metrics`, { headers: operatorAuth });
  assert.equal(metrics.status, 200);
  const line = String(metrics.body)
    .split('\n')
    .find((l) => l.startsWith('nyx_auth_lookups_total{found="false",what="agent key"}'));
  return line ? Number(line.split(' ').pop()) : 0;
}

test('a 1-use enrollment token enrolls one agent; the second is refused 403 saying why, and `token list` shows 1/1', async () => {
  const ns = uniqueNamespace('auth');
  const token = await createToken(ns);
  const tokenId = token.split('.')[1] as string;
  await enrolled(main.url, token, 'first');
  const second = await enroll(main.url, token, 'second');
  assert.equal(second.status, 403);
  assert.match(errorOf(second), /enrollment token is used up \(1 of 1 enrollments made\)/);

  const list = await runNyx(['agents', 'token', 'list'], baseEnv);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout.split('\n')[0] ?? '', /^TOKEN\s+NAMESPACE\s+CREATED\s+EXPIRES\s+USES\s+STATUS/);
  const row = list.stdout.split('\n').find((l) => l.startsWith(tokenId));
  assert.match(row ?? '', new RegExp(`^${tokenId}\\s+${ns}\\s+\\S+\\s+\\S+\\s+1/1\\s+used up`));
});

test('the same agent instance enrolling again (its key was lost) gets a new key for the same agent without using the token again', async () => {
  const ns = uniqueNamespace('auth');
  const token = await createToken(ns);
  const instance_id = randomBytes(24).toString('base64url');
  const body = (hostname: string, id = instance_id): Record<string, string> => ({ token, hostname, os: 'linux 6.1', ip: '192.0.2.10', version: '0.1.0', instance_id: id });
  const first = await send(`${main.url}/api/agents/enroll`, { body: body('re-1') });
  assert.equal(first.status, 201, JSON.stringify(first.body));
  const again = await send(`${main.url}/api/agents/enroll`, { body: body('re-1') });
  assert.equal(again.status, 201, JSON.stringify(again.body));
  const a = first.body as { agent_id: string; agent_key: string };
  const b = again.body as { agent_id: string; agent_key: string };
  assert.equal(b.agent_id, a.agent_id, 'the same agent');
  assert.notEqual(b.agent_key, a.agent_key, 'a new key');
  assert.equal((await ingest(main.url, b.agent_key, 1)).status, 200);
  assert.equal((await ingest(main.url, a.agent_key, 2)).status, 401, 'the lost key no longer works');
  // A hostile instance id (a path, a huge string, a non-string) is refused naming the field, and costs no use.
  for (const bad of ['../../etc/passwd', 'x'.repeat(10_000), 'short', 42]) {
    const refused = await send(`${main.url}/api/agents/enroll`, { body: { ...body('re-bad'), instance_id: bad } });
    assert.equal(refused.status, 400, JSON.stringify(refused.body).slice(0, 200));
    assert.match(errorOf(refused), /^instance_id: /);
  }
  // Another instance with the same one-use token is a second agent: refused.
  const other = await send(`${main.url}/api/agents/enroll`, { body: body('re-2', randomBytes(24).toString('base64url')) });
  assert.equal(other.status, 403);
  assert.match(errorOf(other), /used up \(1 of 1/);
  // A revoked agent cannot come back through its instance id.
  const revoke = await runNyx(['agents', 'revoke', '--', a.agent_id], baseEnv);
  assert.equal(revoke.code, 0, revoke.stderr);
  const revoked = await send(`${main.url}/api/agents/enroll`, { body: body('re-1') });
  assert.equal(revoked.status, 403, JSON.stringify(revoked.body));
});

test('eight agents enrolling at once with a 3-use token: exactly three are enrolled', async () => {
  const ns = uniqueNamespace('auth');
  const token = await createToken(ns, 3);
  const tokenId = token.split('.')[1] as string;
  const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => enroll(main.url, token, `rush-${i}`)));
  const statuses = answers.map((a) => a.status).sort();
  assert.deepEqual(statuses, [201, 201, 201, 403, 403, 403, 403, 403], JSON.stringify(answers.map((a) => a.body)));
  for (const refused of answers.filter((a) => a.status === 403)) assert.match(errorOf(refused), /used up \(3 of 3/);

  await es.indices.refresh({ index: 'nyx-agents' });
  const stored = await es.count({ index: 'nyx-agents', query: { term: { token_id: tokenId } } });
  assert.equal(stored.count, 3, 'agents stored with this token');
  const list = await runNyx(['agents', 'token', 'list', '--json'], baseEnv);
  const mine = (JSON.parse(list.stdout) as Array<{ token_id: string; uses: number; max_uses: number; status: string }>).find((t) => t.token_id === tokenId);
  assert.deepEqual(mine && { uses: mine.uses, max_uses: mine.max_uses, status: mine.status }, { uses: 3, max_uses: 3, status: 'used up' });
});

test('failed key attempts from one address: 429 + Retry-After after the limit, while good agents keep ingesting', async () => {
  const ns = uniqueNamespace('auth');
  const token = await createToken(ns, 2);
  const known = await enrolled(flood.url, token, 'known');
  const elsewhere = await enrolled(flood.url, token, 'elsewhere');
  assert.equal((await ingest(flood.url, known.agent_key, 1)).status, 200, 'the known agent ingests before the flood');
  const lookupsBefore = await unknownKeyLookups(flood.url);

  const answers: Answer[] = [];
  for (let i = 0; i < 20; i++) answers.push(await ingest(flood.url, madeUpKey(), 100 + i));
  assert.deepEqual(
    answers.map((a) => a.status),
    [...Array<number>(5).fill(401), ...Array<number>(15).fill(429)],
  );
  const blocked = answers[answers.length - 1] as Answer;
  assert.ok(Number(blocked.retryAfter) >= 1, `Retry-After: ${blocked.retryAfter}`);
  assert.match(errorOf(blocked), /too many failed authentication attempts from this address/);
  // What the flood cost Elasticsearch: one look-up per failure allowed, none once the address was throttled.
  assert.ok((await unknownKeyLookups(flood.url)) - lookupsBefore <= 5);

  // Only failures count: a key this server has verified still works from the throttled address…
  assert.equal((await ingest(flood.url, known.agent_key, 2)).status, 200);
  // …another client is not throttled at all, even with a key the server has not seen yet…
  assert.equal((await ingest(flood.url, elsewhere.agent_key, 1, '127.0.0.2')).status, 200);
  // …and the throttled address cannot try enrollment tokens either.
  const enrollBlocked = await enroll(flood.url, await createToken(ns), 'late');
  assert.equal(enrollBlocked.status, 429);
  assert.ok(Number(enrollBlocked.retryAfter) >= 1);
});

test('an agent-key id Elasticsearch does not know costs one look-up per window, however often it is tried', async () => {
  const id = randomBytes(12).toString('base64url');
  const before = await unknownKeyLookups(flood.url);
  // From an address of its own, and no more attempts than its failure limit: every answer is a plain 401.
  for (let i = 0; i < 5; i++) {
    const res = await ingest(flood.url, madeUpKey(id), i, '127.0.0.3');
    assert.equal(res.status, 401);
    assert.match(errorOf(res), /agent key is not known/);
  }
  assert.equal((await unknownKeyLookups(flood.url)) - before, 1);

  // 127.0.0.3 has used up its failures now. It is no proxy, so the client it names is not believed…
  const spoofed = await send(`${flood.url}/api/ingest`, { from: '127.0.0.3', headers: { 'x-agent-key': madeUpKey(), 'x-forwarded-for': '198.51.100.11' }, body: agentEvent() });
  assert.equal(spoofed.status, 429);
  // …while the trusted proxy (127.0.0.1, itself throttled above) forwards a client with a clean record.
  const forwarded = await send(`${flood.url}/api/ingest`, { from: '127.0.0.1', headers: { 'x-agent-key': madeUpKey(), 'x-forwarded-for': '198.51.100.12' }, body: agentEvent() });
  assert.equal(forwarded.status, 401);
});

test('per-tenant limit: five agents of one tenant at full speed are held to it, another tenant is unaffected', async () => {
  const busy = uniqueNamespace('auth');
  const calm = uniqueNamespace('auth');
  const busyToken = await createToken(busy, 5);
  const agents = await Promise.all(Array.from({ length: 5 }, (_, i) => enrolled(main.url, busyToken, `busy-${i}`)));
  const calmAgent = await enrolled(main.url, await createToken(calm), 'calm');

  const started = Date.now();
  // Six requests each: within every agent's own limit (burst 40), thirty together against a tenant burst of 10.
  const perAgent = await Promise.all(
    agents.map(async (a) => {
      const statuses: Answer[] = [];
      for (let seq = 0; seq < 6; seq++) statuses.push(await ingest(main.url, a.agent_key, seq));
      return statuses;
    }),
  );
  const elapsedSeconds = (Date.now() - started) / 1000;
  const all = perAgent.flat();
  const accepted = all.filter((a) => a.status === 200).length;
  const limited = all.filter((a) => a.status === 429);
  assert.equal(accepted + limited.length, 30, JSON.stringify(all.filter((a) => a.status !== 200 && a.status !== 429)));
  // The tenant's bucket: 10 at once, then 0.1 per second.
  assert.ok(accepted <= 10 + Math.ceil(elapsedSeconds * 0.1), `${accepted} accepted in ${elapsedSeconds}s`);
  assert.ok(limited.length > 0);
  assert.match(errorOf(limited[0] as Answer), new RegExp(`rate limit of 0.1 requests/s for tenant ${busy} \\(all its agents\\) exceeded`));
  assert.ok(Number(limited[0]?.retryAfter) >= 1);

  for (let seq = 0; seq < 5; seq++) assert.equal((await ingest(main.url, calmAgent.agent_key, seq)).status, 200, 'the other tenant is not limited');
});

test('/metrics names tenants: it answers only with the operator token', async () => {
  const none = await send(`${main.url}/metrics`);
  assert.equal(none.status, 401);
  assert.match(errorOf(none), /operator authentication required/);
  const wrong = await send(`${main.url}/metrics`, { headers: { authorization: `Bearer ${TEST_OPERATOR_TOKEN}x` } });
  assert.equal(wrong.status, 401);
  assert.doesNotMatch(JSON.stringify(wrong.body), /nyx_ingest/);
  const operator = await send(`${main.url}/metrics`, { headers: operatorAuth });
  assert.equal(operator.status, 200);
  assert.match(String(operator.body), /# TYPE nyx_ingest_requests_total counter/);
});
