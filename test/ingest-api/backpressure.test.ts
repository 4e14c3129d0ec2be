import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createTcpServer, connect, type Server as TcpServer, type Socket } from 'node:net';
import { createServer as createHttpServer, request as httpRequest, type Server as HttpServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { runNyx } from '../support/cli.ts';
import { testClient, testElasticUrl, uniqueNamespace } from '../support/elastic.ts';
import { connectElastic } from '../../src/elastic/connect.ts';
import { startIngestApi } from '../../src/ingest/api/server.ts';
import { createAgentRegistry } from '../../src/agents/index.ts';
import { agentEvent, bootstrappedCluster, get, operatorAuth, postJson, startServeProcess, testConfig, TEST_OPERATOR_TOKEN, type IngestBody } from './support.ts';

const es = testClient();
const target = new URL(testElasticUrl());

/** A TCP relay to the suite's Elasticsearch that can be cut (connections refused) and restored. */
class SwitchableRelay {
  private server: TcpServer | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  async open(): Promise<void> {
    this.server = createTcpServer((client) => {
      const upstream = connect(Number(target.port), target.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server?.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async cut(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

before(async () => {
  await bootstrappedCluster();
});
after(async () => {
  await es.close();
});

async function countStored(ns: string): Promise<number> {
  const index = `logs-endpoint-${ns}`;
  await es.indices.refresh({ index, ignore_unavailable: true, allow_no_indices: true });
  return (await es.count({ index, ignore_unavailable: true, allow_no_indices: true })).count;
}

test('Elasticsearch down: `nyx serve` answers 503 with Retry-After, acknowledges nothing, and stores the resent batch once', async () => {
  const relay = new SwitchableRelay();
  await relay.open();
  const env = { ELASTICSEARCH_URL: `http://127.0.0.1:${relay.port}`, NYX__SERVE__RETRY_AFTER_SECONDS: '7', NYX__ELASTICSEARCH__REQUEST_TIMEOUT_MS: '3000' };
  const server = await startServeProcess(env);
  try {
    const ns = uniqueNamespace('down');
    const token = (await runNyx(['agents', 'token', 'create', '--namespace', ns], env)).stdout.trim();
    const enrolled = await postJson(`${server.url}/api/agents/enroll`, { token, hostname: 'h', os: 'linux', ip: '10.1.1.1', version: '1' });
    const key = { 'x-agent-key': (enrolled.body as { agent_key: string }).agent_key };
    const warm = await postJson(`${server.url}/api/ingest`, agentEvent({ seq: 1 }), key);
    assert.equal(warm.status, 200);

    await relay.cut();
    const batch = [agentEvent({ seq: 2 }), agentEvent({ seq: 3 }), agentEvent({ category: 'unknown-while-down', seq: 4 })];
    const refused = await postJson(`${server.url}/api/ingest`, batch, key);
    assert.equal(refused.status, 503, JSON.stringify(refused.body));
    assert.equal(refused.headers.get('retry-after'), '7');
    assert.match(String((refused.body as { error: string }).error), /nothing|unavailable|unreachable/i);
    assert.equal((refused.body as Partial<IngestBody>).results, undefined, 'no per-event acknowledgement while down');
    const health = await get(`${server.url}/api/health`);
    assert.equal(health.status, 503);
    assert.equal((health.body as { elasticsearch: { reachable: boolean } }).elasticsearch.reachable, false);

    await relay.open();
    const resent = await postJson(`${server.url}/api/ingest`, batch, key);
    assert.equal(resent.status, 200, JSON.stringify(resent.body));
    assert.deepEqual((resent.body as IngestBody).results.map((r) => r.status), ['stored', 'stored', 'rejected']);
    assert.equal(await countStored(ns), 3);
  } finally {
    await server.stop();
    await relay.cut();
  }
});

/** Passes everything to Elasticsearch except _bulk, which it answers as an overloaded cluster would. */
function overloadedStub(mode: { bulk: 'pass' | 'http-429' | 'item-429' }): Promise<{ server: HttpServer; url: string }> {
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.url?.startsWith('/_bulk') && mode.bulk !== 'pass') {
        res.setHeader('content-type', 'application/json');
        res.setHeader('x-elastic-product', 'Elasticsearch');
        if (mode.bulk === 'http-429') {
          res.statusCode = 429;
          return res.end(JSON.stringify({ error: { type: 'es_rejected_execution_exception', reason: 'rejected execution' }, status: 429 }));
        }
        const ops = body.toString('utf8').split('\n').filter((l) => l.trim() !== '').length / 2;
        const items = Array.from({ length: ops }, () => ({ create: { status: 429, error: { type: 'es_rejected_execution_exception', reason: 'queue full' } } }));
        return res.end(JSON.stringify({ took: 1, errors: true, items }));
      }
      const upstream = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      upstream.end(body);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })));
}

test('Elasticsearch answers 429 (whole bulk or per item): 503 with Retry-After, nothing stored is claimed', async () => {
  const mode: { bulk: 'pass' | 'http-429' | 'item-429' } = { bulk: 'pass' };
  const stub = await overloadedStub(mode);
  const config = testConfig({}, stub.url);
  const ctx = await connectElastic(config, {});
  const api = await startIngestApi(ctx, { config, secrets: { operatorToken: TEST_OPERATOR_TOKEN } });
  try {
    const ns = uniqueNamespace('busy');
    const registry = createAgentRegistry(ctx.client, config);
    const { token } = await registry.createToken({ namespace: ns, ttlMs: 60_000 });
    const { agent_key } = await registry.enroll({ token, hostname: 'h', os: 'linux', ip: '10.0.0.1', version: '1' });
    const key = { 'x-agent-key': agent_key };

    mode.bulk = 'http-429';
    const whole = await postJson(`${api.url}/api/ingest`, [agentEvent({ seq: 1 })], key);
    assert.equal(whole.status, 503);
    assert.equal(whole.headers.get('retry-after'), '5');

    mode.bulk = 'item-429';
    const items = await postJson(`${api.url}/api/ingest`, [agentEvent({ seq: 1 }), agentEvent({ seq: 2 })], key);
    assert.equal(items.status, 503);
    assert.ok(items.headers.get('retry-after'));
    assert.deepEqual((items.body as IngestBody).results.map((r) => r.status), ['retry', 'retry']);
    assert.equal(await countStored(ns), 0);

    mode.bulk = 'pass';
    const ok = await postJson(`${api.url}/api/ingest`, [agentEvent({ seq: 1 }), agentEvent({ seq: 2 })], key);
    assert.equal(ok.status, 200);
    assert.equal(await countStored(ns), 2);
    const metrics = await get(`${api.url}/metrics`, operatorAuth);
    assert.match(String(metrics.body), /nyx_ingest_request_rejections_total\{reason="backpressure"\} 2/);
  } finally {
    await api.stop();
    await ctx.client.close();
    await new Promise((r) => stub.server.close(r));
  }
});
