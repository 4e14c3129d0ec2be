import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runNyx } from '../support/cli.ts';
import { testClient, testElasticUrl, uniqueNamespace } from '../support/elastic.ts';
import { postJson, serveForTestFile } from './support.ts';

// One real `nyx serve` with an operator token; bundles are downloaded over HTTP as an operator would.
const OPERATOR = `op-${createHash('sha256').update(String(process.pid)).digest('hex')}`;
const env = { ELASTICSEARCH_URL: testElasticUrl(), NYX_OPERATOR_TOKEN: OPERATOR };
const es = testClient();
const server = serveForTestFile(env);
after(() => es.close());

function download(platform: string, query: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.url}/agents/downloads/bundle/${platform}${query}`, { headers });
}

const operator = { authorization: `Bearer ${OPERATOR}`, 'x-nyx-operator': 'alice@soc', 'user-agent': 'nyx-test/1' };

test('agent downloads: no or a wrong operator token is 401, and the token never appears in the answer', async () => {
  const none = await download('linux', '?namespace=acme');
  assert.equal(none.status, 401);
  assert.match(((await none.json()) as { error: string }).error, /operator authentication required/);
  const wrong = await download('linux', '?namespace=acme', { authorization: `Bearer ${OPERATOR}x` });
  assert.equal(wrong.status, 401);
  assert.doesNotMatch(await wrong.text(), new RegExp(OPERATOR));
  const basic = await download('linux', '?namespace=acme', { authorization: `Basic ${Buffer.from(`x:${OPERATOR}`).toString('base64')}` });
  assert.equal(basic.status, 401);
});

test('agent downloads: a wrong platform, a missing or bad namespace and a bad server URL are 400', async () => {
  const platform = await download('macos', '?namespace=acme', operator);
  assert.equal(platform.status, 400);
  assert.match(((await platform.json()) as { error: string }).error, /platform: expected linux or windows/);
  assert.equal((await download('linux', '', operator)).status, 400);
  const bad = await download('linux', '?namespace=Acme%2F..', operator);
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { error: string }).error, /^namespace: /);
  assert.equal((await download('linux', `?namespace=${'a'.repeat(101)}`, operator)).status, 400);
  assert.equal((await download('linux', '?namespace=acme&server=file:///etc/passwd', operator)).status, 400);
  assert.equal((await download('linux', '?namespace=acme&extra=1', operator)).status, 400);
  assert.equal((await download('linux', '?namespace=acme', { ...operator, 'x-nyx-operator': 'bad name\t' })).status, 400);
});

test('agent downloads: a linux bundle unpacks to config, installer, README and shipper with a working 24 h token; the download is audited', async () => {
  const ns = uniqueNamespace('dl');
  const started = Date.now();
  const res = await download('linux', `?namespace=${ns}`, operator);
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(res.headers.get('content-type'), 'application/gzip');
  assert.equal(res.headers.get('content-disposition'), `attachment; filename="nyx-agent-linux-${ns}.tar.gz"`);
  const data = Buffer.from(await res.arrayBuffer());
  const sha = createHash('sha256').update(data).digest('hex');
  assert.equal(res.headers.get('x-checksum-sha256'), sha);

  const dir = mkdtempSync(join(tmpdir(), 'nyx-dl-'));
  writeFileSync(join(dir, 'bundle.tar.gz'), data);
  const untar = spawnSync('tar', ['xzf', 'bundle.tar.gz'], { cwd: dir });
  assert.equal(untar.status, 0, untar.stderr.toString());
  for (const f of ['config.yml', 'install.sh', 'README-quickstart.txt', 'nyx-ship.mjs', 'enrollment.token']) assert.ok(readFileSync(join(dir, 'nyx-ship', f)).length > 0, f);
  // The config points the agent back at the URL the operator reached.
  assert.match(readFileSync(join(dir, 'nyx-ship/config.yml'), 'utf8'), new RegExp(`server: ${server.url.replace(/[.]/g, '\\.')}`));
  assert.match(readFileSync(join(dir, 'nyx-ship/README-quickstart.txt'), 'utf8'), new RegExp(`tenant: ${ns}`));
  // The shipper runs on its own.
  const status = spawnSync(process.execPath, [join(dir, 'nyx-ship/nyx-ship.mjs'), 'ship', 'status', '--config', join(dir, 'nyx-ship/config.yml')], { cwd: dir });
  assert.match(status.stderr.toString(), /nyx-ship: no shipper status in/);

  // The embedded token enrolls an agent into the tenant, once a day's validity is on it.
  const token = readFileSync(join(dir, 'nyx-ship/enrollment.token'), 'utf8').trim();
  const tokenId = token.split('.')[1];
  const enrolled = await postJson(`${server.url}/api/agents/enroll`, { token, hostname: 'dl-host', os: 'linux', ip: '192.0.2.20', version: '0.1.0' });
  assert.equal(enrolled.status, 201, JSON.stringify(enrolled.body));
  assert.equal((enrolled.body as { namespace: string }).namespace, ns);
  const stored = (await es.get({ index: 'nyx-enrollment-tokens', id: tokenId! }))._source as { expires_at: string; created_at: string };
  assert.equal(Date.parse(stored.expires_at) - Date.parse(stored.created_at), 24 * 3_600_000);

  // Who, what, from where, when: in Elasticsearch and in `nyx agents downloads`.
  const audit = await es.search({ index: 'nyx-agent-downloads', query: { term: { namespace: ns } } });
  assert.equal(audit.hits.hits.length, 1);
  const record = audit.hits.hits[0]!._source as Record<string, any>;
  assert.equal(record.download_id, res.headers.get('x-nyx-download-id'));
  assert.equal(record.operator.name, 'alice@soc');
  assert.match(record.operator.credential, /^sha256:[0-9a-f]{16}$/);
  assert.equal(record.client.ip, '127.0.0.1');
  assert.equal(record.client.user_agent, 'nyx-test/1');
  assert.equal(record.platform, 'linux');
  assert.equal(record.token_id, tokenId);
  assert.equal(record.file.sha256, sha);
  assert.equal(record.file.size, data.length);
  assert.ok(Date.parse(record['@timestamp']) >= started - 1000);
  assert.doesNotMatch(JSON.stringify(record), new RegExp(`${token.split('.')[2]}|${OPERATOR}`));

  const cli = await runNyx(['agents', 'downloads', '--namespace', ns, '--json'], { ELASTICSEARCH_URL: testElasticUrl() });
  assert.equal(cli.code, 0, cli.stderr);
  const listed = JSON.parse(cli.stdout) as Array<{ download_id: string; file: { sha256: string } }>;
  assert.deepEqual(listed.map((d) => [d.download_id, d.file.sha256]), [[record.download_id, sha]]);
  const table = await runNyx(['agents', 'downloads', '--namespace', ns], { ELASTICSEARCH_URL: testElasticUrl() });
  assert.match(table.stdout, new RegExp(`alice@soc +127\\.0\\.0\\.1 +linux +${ns} +${tokenId}`));
});

test('agent downloads: a windows bundle is a zip with install.ps1; each download gets its own token', async () => {
  const ns = uniqueNamespace('dlw');
  const first = await download('windows', `?namespace=${ns}&server=https://nyx.example.org:8220`, operator);
  assert.equal(first.status, 200);
  assert.equal(first.headers.get('content-type'), 'application/zip');
  const dir = mkdtempSync(join(tmpdir(), 'nyx-dlw-'));
  writeFileSync(join(dir, 'b.zip'), Buffer.from(await first.arrayBuffer()));
  const py = spawnSync('python3', ['-c', 'import sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; z.extractall(sys.argv[2]); print("\\n".join(z.namelist()))', join(dir, 'b.zip'), dir]);
  assert.equal(py.status, 0, py.stderr.toString());
  for (const f of ['config.yml', 'install.ps1', 'README-quickstart.txt', 'nyx-ship.mjs', 'enrollment.token']) assert.match(py.stdout.toString(), new RegExp(`nyx-ship/${f.replace('.', '\\.')}`));
  assert.match(readFileSync(join(dir, 'nyx-ship/config.yml'), 'utf8'), /server: https:\/\/nyx\.example\.org:8220/);
  const second = await download('windows', `?namespace=${ns}`, operator);
  assert.equal(second.status, 200);
  await second.arrayBuffer();
  await es.indices.refresh({ index: 'nyx-agent-downloads' });
  const audit = await es.search({ index: 'nyx-agent-downloads', query: { term: { namespace: ns } } });
  const tokens = new Set(audit.hits.hits.map((h) => (h._source as { token_id: string }).token_id));
  assert.equal(tokens.size, 2);
});

test('nyx agent bundle linux --namespace <tenant>: creates its own 24 h token, prints SHA-256 and path; the token enrolls', async () => {
  const ns = uniqueNamespace('cli');
  const dir = mkdtempSync(join(tmpdir(), 'nyx-clibundle-'));
  const out = join(dir, 'agent.tar.gz');
  const r = await runNyx(['agent', 'bundle', 'linux', '--namespace', ns, '--server', server.url, '--out', out], { ELASTICSEARCH_URL: testElasticUrl() });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), `${createHash('sha256').update(readFileSync(out)).digest('hex')}  ${out}`);
  assert.match(r.stderr, new RegExp(`enrollment token \\S+ for ${ns}, expires `));
  spawnSync('tar', ['xzf', out, '-C', dir]);
  const token = readFileSync(join(dir, 'nyx-ship/enrollment.token'), 'utf8').trim();
  assert.doesNotMatch(r.stderr + r.stdout, new RegExp(token.split('.')[2]!));
  const enrolled = await postJson(`${server.url}/api/agents/enroll`, { token, hostname: 'cli-host', os: 'linux', ip: '192.0.2.21', version: '0.1.0' });
  assert.equal(enrolled.status, 201, JSON.stringify(enrolled.body));
  assert.equal((enrolled.body as { namespace: string }).namespace, ns);
});
