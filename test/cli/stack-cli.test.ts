import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { cpSync, mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runNyx } from '../support/cli.ts';
import { testElasticUrl } from '../support/elastic.ts';
import { DEFAULT_ASSETS_DIR } from '../../src/assets/catalog.ts';

const ES = { ELASTICSEARCH_URL: testElasticUrl() };

/** A stand-in that answers like Elasticsearch does, with a chosen status and node version. */
async function fakeElasticsearch(status: number, version = '9.2.8'): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    res.setHeader('x-elastic-product', 'Elasticsearch');
    res.setHeader('content-type', 'application/json');
    if (status !== 200) {
      res.statusCode = status;
      res.end(JSON.stringify({ error: { type: 'security_exception', reason: 'unable to authenticate user [nyx]' }, status }));
      return;
    }
    if (req.url?.startsWith('/_cluster/health')) res.end(JSON.stringify({ status: 'green' }));
    else if (req.url?.startsWith('/_nodes')) res.end(JSON.stringify({ nodes: { a: { version, build_flavor: 'default', modules: [], ingest: { processors: [] } } } }));
    else res.end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address() as { port: number };
  return { url: `http://127.0.0.1:${addr.port}`, server };
}

test('nyx plan --json prints one JSON array of {asset, kind, action}', async () => {
  const r = await runNyx(['plan', '--json'], ES);
  assert.equal(r.code, 0, r.stderr);
  const plan = JSON.parse(r.stdout) as Array<{ asset: string; kind: string; action: string }>;
  assert.ok(plan.length > 20);
  for (const e of plan) assert.match(e.action, /^(create|update|unchanged|drifted|skip)$/);
  assert.ok(plan.some((e) => e.asset === 'logs-endpoint' && e.kind === 'index_template'));
});

test('nyx plan shows the data streams layout: replicas auto 0-1 by default, a fixed count when configured', async () => {
  const r = await runNyx(['plan'], ES);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Data streams: 1 shard, replicas auto \(0-1: one copy once the cluster has a second node\), retention 30 d$/m);
  const fixed = await runNyx(['plan'], { ...ES, NYX__SOURCES__COWRIE__REPLICAS: '1' });
  assert.equal(fixed.code, 0, fixed.stderr);
  assert.match(fixed.stdout, /^ {2}cowrie: 1 shard, 1 replica, retention 30 d$/m);
  assert.match(fixed.stdout, /^ {2}syslog, netflow, endpoint, filebeat, packetbeat, winlogbeat: 1 shard, replicas auto/m);
});

test('several node URLs (ELASTICSEARCH_URL comma-separated): a node that is down is passed over', async () => {
  const r = await runNyx(['plan', '--json'], { ELASTICSEARCH_URL: `http://127.0.0.1:9,${testElasticUrl()}`, NYX__ELASTICSEARCH__CONNECT_WAIT_MS: '15000' });
  assert.equal(r.code, 0, r.stderr);
  assert.ok((JSON.parse(r.stdout) as unknown[]).length > 20);
});

test('a list of node URLs in nyx.yml: a bad one is named by its position', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nyx-cfg-'));
  writeFileSync(join(dir, 'nyx.yml'), 'elasticsearch:\n  url:\n    - http://127.0.0.1:9200\n    - es2:9200 and more\n');
  const r = await runNyx(['plan'], {}, dir);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^nyx: nyx\.yml: elasticsearch\.url\.1: expected a URL/);
});

test('nyx status shows capabilities, assets and data streams', async () => {
  const r = await runNyx(['status'], ES);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Elasticsearch 9\.\d+\.\d+/);
  assert.match(r.stdout, /machine learning: +unavailable/);
  assert.match(r.stdout, /logs-cowrie-\* +\d+ documents/);
});

test('an unreachable cluster: one line naming the URL after a bounded wait, exit 1', async () => {
  const r = await runNyx(['plan'], { ELASTICSEARCH_URL: 'http://127.0.0.1:9', NYX__ELASTICSEARCH__CONNECT_WAIT_MS: '1500' });
  assert.equal(r.code, 1);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^nyx: cannot reach Elasticsearch at http:\/\/127\.0\.0\.1:9/);
  assert.match(lines[0]!, /waited 2s|waited 1s/);
});

test('wrong credentials: one line saying so, without the secret', async () => {
  const fake = await fakeElasticsearch(401);
  try {
    const r = await runNyx(['plan'], { ELASTICSEARCH_URL: fake.url, ELASTICSEARCH_API_KEY: 'c2VjcmV0LWtleQ==' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /rejected the credentials \(401\)/);
    assert.doesNotMatch(r.stderr + r.stdout, /c2VjcmV0LWtleQ==/);
  } finally {
    fake.server.close();
  }
});

test('an unsupported Elasticsearch version is refused by name', async () => {
  const fake = await fakeElasticsearch(200, '8.19.2');
  try {
    const r = await runNyx(['plan'], { ELASTICSEARCH_URL: fake.url });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^nyx: Elasticsearch 8\.19\.2 at .* is not supported: Nyx needs 9\.x/);
  } finally {
    fake.server.close();
  }
});

test('a malformed asset file is named with the path inside it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nyx-assets-'));
  cpSync(DEFAULT_ASSETS_DIR, dir, { recursive: true });
  const file = join(dir, 'cowrie.yml');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/^version:\s*\d+/m, 'version: two'));
  const r = await runNyx(['plan'], { ...ES, NYX_ASSETS_DIR: dir });
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`^nyx: ${file.replace(/[.]/g, '\\.')}:\\d+: version: `));
});

test('an asset the cluster rejects is named with the cluster reason and what was not applied', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nyx-assets-'));
  cpSync(DEFAULT_ASSETS_DIR, dir, { recursive: true });
  const file = join(dir, '_ecs.yml');
  const text = readFileSync(file, 'utf8').replace(/^version:\s*(\d+)/m, (_m, v: string) => `version: ${Number(v) + 1}`);
  writeFileSync(file, text.replace(/^(\s+)properties:\n/m, '$1properties:\n$1  broken_field: { type: no_such_type }\n'));
  const r = await runNyx(['bootstrap'], { ...ES, NYX_ASSETS_DIR: dir });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /the cluster rejected component_template nyx-ecs@package: .*no_such_type/);
  assert.match(r.stderr, /not applied: nyx-ecs@package/);
  // Restore the shipped assets for the rest of the suite.
  const back = await runNyx(['bootstrap'], ES);
  assert.equal(back.code, 0, back.stderr);
});

test('a wrong config value names the key and what is expected', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nyx-cfg-'));
  writeFileSync(join(dir, 'nyx.yml'), 'elasticsearch:\n  url: not a url\nsources:\n  syslog:\n    retention_days: 0\n');
  const r = await runNyx(['plan'], {}, dir);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^nyx: nyx\.yml: elasticsearch\.url: expected a URL/);
});

test('a secret in the YAML is refused and not echoed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nyx-cfg-'));
  writeFileSync(join(dir, 'nyx.yml'), 'elasticsearch:\n  url: http://127.0.0.1:9200\n  password: hunter2hunter2\n');
  const r = await runNyx(['plan'], {}, dir);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /elasticsearch\.password: secrets are not read from YAML \(set ELASTICSEARCH_PASSWORD/);
  assert.doesNotMatch(r.stderr, /hunter2/);
});

test('nyx es start|stop|status --name takes a plain name, never a path; --nodes a whole number from 1 to 9', async () => {
  for (const args of [['es', 'status', '--name', '../../etc'], ['es', 'stop', '--name', 'a/b'], ['es', 'start', '--name', 'X'.repeat(5)], ['es', 'start', '--nodes', '0'], ['es', 'start', '--nodes', '2; rm -rf /']]) {
    const res = await runNyx(args);
    assert.equal(res.code, 1, `${args.join(' ')}: ${res.stdout}${res.stderr}`);
    assert.match(res.stderr, /^nyx: --(name|nodes): expected /m, args.join(' '));
  }
});
