import { after, before } from 'node:test';
import { configSchema, type NyxConfig } from '../../src/config/index.ts';
import { connectElastic, type ElasticContext } from '../../src/elastic/connect.ts';
import { runBootstrap } from '../../src/bootstrap/index.ts';
import { createAgentRegistry, type AgentRegistry } from '../../src/agents/index.ts';
import { startIngestApi, type RunningIngestApi } from '../../src/ingest/api/server.ts';
import { testElasticUrl, uniqueNamespace } from '../support/elastic.ts';
import { spawnNyx, type NyxProcess } from '../support/cli.ts';

/** The operator credential every test server gets (NYX_OPERATOR_TOKEN): /metrics asks for it. */
export const TEST_OPERATOR_TOKEN = 'nyx-test-operator-token-0123456789';
export const operatorAuth = { authorization: `Bearer ${TEST_OPERATOR_TOKEN}` };

export function testConfig(serve: Record<string, unknown> = {}, url = testElasticUrl()): NyxConfig {
  return configSchema.parse({ elasticsearch: { url, connect_wait_ms: 5000 }, serve: { port: 0, ...serve } });
}

let bootstrapped: Promise<ElasticContext> | undefined;

/** Connects to the suite's cluster and installs the data model once per test file (idempotent). */
export function bootstrappedCluster(): Promise<ElasticContext> {
  bootstrapped ??= (async () => {
    const config = testConfig();
    const ctx = await connectElastic(config, {});
    await runBootstrap(ctx, config);
    return ctx;
  })();
  return bootstrapped;
}

export interface TestApi {
  url: string;
  namespace: string;
  registry: AgentRegistry;
  ctx: ElasticContext;
  running: RunningIngestApi;
  /** Enrolls a fresh agent in this API's namespace and returns its key. */
  enroll(hostname?: string): Promise<{ agentId: string; key: string }>;
  close(): Promise<void>;
}

/** An in-process ingest API on a free port, over the suite's cluster, with its own namespace. */
export async function startTestApi(serve: Record<string, unknown> = {}): Promise<TestApi> {
  const ctx = await bootstrappedCluster();
  const config = testConfig(serve);
  const running = await startIngestApi(ctx, { config, secrets: { operatorToken: TEST_OPERATOR_TOKEN } });
  const registry = createAgentRegistry(ctx.client, config);
  const namespace = uniqueNamespace('api');
  return {
    url: running.url,
    namespace,
    registry,
    ctx,
    running,
    async enroll(hostname = 'host-a') {
      const { token } = await registry.createToken({ namespace, ttlMs: 3_600_000 });
      const res = await postJson(`${running.url}/api/agents/enroll`, { token, hostname, os: 'linux 6.1', ip: '10.0.0.5', version: '0.1.0' });
      if (res.status !== 201) throw new Error(`enroll failed: ${res.status} ${JSON.stringify(res.body)}`);
      const body = res.body as { agent_id: string; agent_key: string };
      return { agentId: body.agent_id, key: body.agent_key };
    },
    close: () => running.stop(),
  };
}

export interface HttpResult {
  status: number;
  headers: Headers;
  body: unknown;
}

async function readResult(res: Response): Promise<HttpResult> {
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON (metrics text): keep the text
  }
  return { status: res.status, headers: res.headers, body };
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<HttpResult> {
  return readResult(await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) }));
}

export async function postRaw(url: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<HttpResult> {
  return readResult(await fetch(url, { method: 'POST', headers, body: typeof body === 'string' ? body : new Uint8Array(body) }));
}

export async function get(url: string, headers: Record<string, string> = {}): Promise<HttpResult> {
  return readResult(await fetch(url, { headers }));
}

export function agentEvent(fields: Record<string, unknown> = {}): Record<string, unknown> {
  return { ts: '2026-03-01T12:00:00Z', category: 'commandline', host: 'host-a', user: 'alice', cmd: 'id', pid: 100, ...fields };
}

export interface IngestBody {
  namespace: string;
  stored: number;
  duplicates: number;
  rejected: number;
  retry: number;
  results: Array<{ index: number; status: string; field?: string; reason?: string }>;
}

/** A real `nyx serve` process on a free port; resolves once it prints where it listens. */
export async function startServeProcess(env: Record<string, string>): Promise<NyxProcess & { url: string }> {
  const serve = spawnNyx(['serve', '--port', '0'], env);
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    serve.child.stdout?.on('data', (d) => {
      out += d;
      const m = /ingest API on (http:\/\/\S+)/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    serve.child.on('exit', (code) => reject(new Error(`nyx serve exited ${code}: ${serve.output()}`)));
  });
  return { url, ...serve };
}

/**
 * One real `nyx serve` for a whole test file: started (over the bootstrapped suite cluster) before its tests,
 * stopped after them. Its `url` is read inside tests, once the server is up.
 */
export function serveForTestFile(env: Record<string, string>): { readonly url: string } {
  let server: (NyxProcess & { url: string }) | undefined;
  before(async () => {
    await bootstrappedCluster();
    server = await startServeProcess(env);
  });
  after(async () => {
    await server?.stop();
  });
  return {
    get url(): string {
      if (!server) throw new Error('nyx serve is not started yet: read url inside a test');
      return server.url;
    },
  };
}
