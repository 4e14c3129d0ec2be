import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runNyx } from '../support/cli.ts';
import { testClient, testElasticUrl, uniqueNamespace } from '../support/elastic.ts';
import { bootstrappedCluster } from '../ingest-api/support.ts';
import { loadShipperConfig } from '../../src/shipper/config.ts';
import { shipperStatusSchema, type ShipperStatus } from '../../src/shipper/status.ts';
import { buildShipperScript } from '../../src/shipper/bundle.ts';

const NYX = fileURLToPath(new URL('../../bin/nyx.js', import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A tiny relay in front of the (security-less) dev node that does what a secured cluster does with an
 * API key: anything without `Authorization: ApiKey <key>` gets a 401, the rest is passed through.
 */
interface Relay {
  url: string;
  seen: string[];
  close(): Promise<void>;
}

async function startRelay(key: string): Promise<Relay> {
  const target = new URL(testElasticUrl());
  const seen: string[] = [];
  const server: Server = createServer((req, res) => {
    const auth = req.headers.authorization ?? '(none)';
    seen.push(auth);
    if (auth !== `ApiKey ${key}`) {
      req.resume();
      res.writeHead(401, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch', 'www-authenticate': 'ApiKey' });
      res.end(JSON.stringify({ error: { type: 'security_exception', reason: 'unable to authenticate with provided credentials' }, status: 401 }));
      return;
    }
    const headers: IncomingHttpHeaders = { ...req.headers, host: target.host };
    delete headers.authorization;
    const upstream = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A port nothing listens on (bound, read, released). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function writeConfig(dir: string, es: { url: string; namespace: string; key: { env: string } | { file: string } }): string {
  const file = join(dir, 'ship.yml');
  const key = 'env' in es.key ? `api_key_env: ${es.key.env}` : `api_key_file: ${es.key.file}`;
  writeFileSync(
    file,
    `state_dir: ./state
hostname: direct-host
inputs:
  - type: files
    id: auth
    paths: ['./logs/auth.log']
    poll_ms: 100
  - type: files
    id: cowrie
    paths: ['./logs/cowrie.json']
    format: cowrie
    poll_ms: 100
output:
  batch_size: 40
  flush_interval_ms: 200
  backoff_initial_ms: 100
  backoff_max_ms: 800
  elasticsearch:
    url: ${es.url}
    namespace: ${es.namespace}
    ${key}
status_interval_ms: 200
`,
  );
  return file;
}

interface Running {
  child: ChildProcess;
  stderr: () => string;
}

function startShipper(config: string, env: Record<string, string> = {}): Running {
  let err = '';
  const child = spawn(process.execPath, [NYX, 'ship', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env } });
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return { child, stderr: () => err };
}

async function stop(r: Running | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!r || r.child.exitCode !== null || r.child.signalCode !== null) return;
  const exited = new Promise((resolve) => r.child.once('exit', resolve));
  r.child.kill(signal);
  await exited;
}

async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, ms = 60_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

function readStatusFile(dir: string): ShipperStatus | undefined {
  const path = join(dir, 'state', 'status.json');
  if (!existsSync(path)) return undefined;
  const parsed = shipperStatusSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  return parsed.success ? parsed.data : undefined;
}

/** Writes auth.log lines and Cowrie records, remembering each. */
class Writer {
  readonly auth: string[] = [];
  readonly cowrie: Array<{ line: string; user: string; ip: string }> = [];
  constructor(private readonly dir: string) {
    mkdirSync(join(dir, 'logs'), { recursive: true });
    writeFileSync(join(dir, 'logs', 'auth.log'), '');
    writeFileSync(join(dir, 'logs', 'cowrie.json'), '');
  }
  authLines(n: number): void {
    let text = '';
    for (let i = 0; i < n; i++) {
      const k = this.auth.length;
      const line = `Jan 31 12:00:00 web1 sshd[812]: Failed password for invalid user u${k} from 203.0.113.5 port ${1000 + k} ssh2`;
      this.auth.push(line);
      text += `${line}\n`;
    }
    appendFileSync(join(this.dir, 'logs', 'auth.log'), text);
  }
  cowrieLine(): void {
    const k = this.cowrie.length;
    const user = `root${k}`;
    const ip = `198.51.100.${(k % 250) + 1}`;
    const rec = { eventid: 'cowrie.login.failed', username: user, password: `pw${k}`, message: `login attempt [${user}/pw${k}] failed`, sensor: 'hp1', timestamp: `2026-01-31T12:00:${String(k % 60).padStart(2, '0')}.000000Z`, src_ip: ip, src_port: 40000 + k, session: `s${k}` };
    const line = JSON.stringify(rec);
    this.cowrie.push({ line, user, ip });
    appendFileSync(join(this.dir, 'logs', 'cowrie.json'), `${line}\n`);
  }
  badCowrieLine(line: string): void {
    appendFileSync(join(this.dir, 'logs', 'cowrie.json'), `${line}\n`);
  }
}

type Doc = { event?: { original?: string; action?: string; outcome?: string }; source?: { ip?: string }; user?: { name?: string }; agent?: { id?: string; name?: string }; data_stream?: { dataset?: string; namespace?: string } };

async function stored(index: string): Promise<Array<{ id: string; doc: Doc }>> {
  const es = testClient();
  await es.indices.refresh({ index }).catch(() => undefined);
  const res = await es.search<Doc>({ index, size: 10_000, ignore_unavailable: true }).catch(() => undefined);
  return (res?.hits.hits ?? []).map((h) => ({ id: h._id as string, doc: h._source as Doc }));
}

async function count(index: string): Promise<number> {
  const es = testClient();
  await es.indices.refresh({ index }).catch(() => undefined);
  return (await es.count({ index }).catch(() => ({ count: 0 }))).count;
}

test('config: output.elasticsearch is the alternative to server; the key comes from env or a file, never the YAML', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nyx-direct-cfg-'));
  const file = join(dir, 'ship.yml');
  const load = (yaml: string): string => {
    writeFileSync(file, yaml);
    try {
      loadShipperConfig(file);
      return 'ok';
    } catch (err) {
      return (err as Error).message;
    }
  };
  assert.equal(load('output:\n  elasticsearch:\n    url: http://127.0.0.1:9200\n    namespace: acme\n    api_key_file: ./key\n'), 'ok');
  assert.match(load('output:\n  elasticsearch:\n    url: http://127.0.0.1:9200\n    namespace: acme\n    api_key: c2VjcmV0\n'), /secrets never go in the YAML/);
  assert.doesNotMatch(load('output:\n  elasticsearch:\n    url: http://127.0.0.1:9200\n    namespace: acme\n    api_key: c2VjcmV0\n'), /c2VjcmV0/);
  assert.match(load('output:\n  elasticsearch:\n    url: http://127.0.0.1:9200\n    namespace: acme\n'), /exactly one of api_key_env or api_key_file/);
  assert.match(load('output:\n  elasticsearch:\n    url: http://elastic:pw@127.0.0.1:9200\n    namespace: acme\n    api_key_env: K\n'), /must not carry credentials/);
  assert.match(load('server: http://127.0.0.1:8080\noutput:\n  elasticsearch:\n    url: http://127.0.0.1:9200\n    namespace: acme\n    api_key_env: K\n'), /either server or output.elasticsearch/);
  assert.match(load('inputs: []\n'), /server/);
  const config = (writeFileSync(file, 'output:\n  elasticsearch:\n    url: http://127.0.0.1:9200\n    namespace: acme\n    api_key_file: ./key\n'), loadShipperConfig(file));
  assert.equal(config.output.elasticsearch?.api_key_file, join(dir, 'key'), 'relative to the config file');
});

test('direct mode with a real `nyx ship`: kill -9 mid-stream and restart; every line stored once, normalised, with the API key', async () => {
  await bootstrappedCluster();
  const ns = uniqueNamespace('direct');
  const key = 'VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==';
  const relay = await startRelay(key);
  const dir = mkdtempSync(join(tmpdir(), 'nyx-direct-'));
  writeFileSync(join(dir, 'es.key'), `${key}\n`, { mode: 0o600 });
  const config = writeConfig(dir, { url: relay.url, namespace: ns, key: { file: './es.key' } });
  const w = new Writer(dir);
  let shipper: Running | undefined;
  try {
    shipper = startShipper(config);
    for (let i = 0; i < 10; i++) {
      w.authLines(30);
      if (i % 3 === 0) w.cowrieLine();
      await sleep(80);
    }
    // Something has reached Elasticsearch, more is on its way: kill -9 now.
    await waitFor('the first events stored', async () => (await count(`logs-syslog-${ns}`)) > 0);
    await stop(shipper, 'SIGKILL');
    w.authLines(60);
    w.cowrieLine();
    shipper = startShipper(config);
    for (let i = 0; i < 5; i++) {
      w.authLines(20);
      w.cowrieLine();
      await sleep(80);
    }
    w.badCowrieLine('this is not a Cowrie record');

    const syslogIndex = `logs-syslog-${ns}`;
    const cowrieIndex = `logs-cowrie-${ns}`;
    await waitFor('every line stored', async () => (await count(syslogIndex)) >= w.auth.length && (await count(cowrieIndex)) >= w.cowrie.length);
    const agentId = (JSON.parse(readFileSync(join(dir, 'state', 'direct-agent.json'), 'utf8')) as { agent_id: string }).agent_id;
    // The queue is empty and the shipper has settled everything (including the bad line), so nothing more can arrive.
    const status = await waitFor('an empty queue', () => {
      const s = readStatusFile(dir);
      return s && s.queue.depth === 0 && s.queue.rejected_total >= 1 ? s : undefined;
    });
    assert.equal(status.output, 'elasticsearch');
    assert.equal(status.agent_id, agentId);

    const syslog = await stored(syslogIndex);
    assert.equal(syslog.length, w.auth.length, 'each auth.log line stored exactly once');
    assert.equal(new Set(syslog.map((d) => d.id)).size, syslog.length);
    const byOriginal = new Map(syslog.map((d) => [d.doc.event?.original, d]));
    for (const [k, line] of w.auth.entries()) {
      const d = byOriginal.get(line);
      assert.ok(d, `stored: ${line}`);
      assert.match(d.id, new RegExp(`^${agentId}-\\d+$`), 'id = agent id + seq');
      assert.equal(d.doc.source?.ip, '203.0.113.5');
      assert.equal(d.doc.user?.name, `u${k}`);
      assert.equal(d.doc.event?.outcome, 'failure');
      assert.deepEqual(d.doc.data_stream, { type: 'logs', dataset: 'syslog', namespace: ns });
      assert.deepEqual(d.doc.agent, { id: agentId, name: 'direct-host', type: 'nyx' });
    }

    const cowrie = await stored(cowrieIndex);
    assert.equal(cowrie.length, w.cowrie.length, 'each Cowrie record stored exactly once');
    assert.equal(new Set(cowrie.map((d) => d.id)).size, cowrie.length);
    for (const c of w.cowrie) {
      const d = cowrie.find((x) => x.doc.event?.original === c.line || x.doc.user?.name === c.user);
      assert.ok(d, `stored: ${c.line}`);
      assert.equal(d.doc.event?.action, 'cowrie.login.failed');
      assert.equal(d.doc.source?.ip, c.ip);
      assert.equal(d.doc.user?.name, c.user);
      assert.equal(d.doc.data_stream?.dataset, 'cowrie');
    }

    // The invalid record is dead-lettered locally with the reason, never stored.
    const dead = readFileSync(join(dir, 'state', 'dead-letter.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { reason: string; event: { raw: string } });
    assert.equal(dead.length, 1);
    assert.equal(dead[0]!.event.raw, 'this is not a Cowrie record');
    assert.match(dead[0]!.reason, /Cowrie JSON record/);

    // Every request carried the API key, and the key appears in no status or output.
    assert.ok(relay.seen.length > 0);
    assert.ok(relay.seen.every((h) => h === `ApiKey ${key}`), 'Authorization: ApiKey on every request');
    assert.ok(!readFileSync(join(dir, 'state', 'status.json'), 'utf8').includes(key));
    const shown = await runNyx(['ship', 'status', '--config', config]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, new RegExp(`output: +elasticsearch ${relay.url.replace(/[.]/g, '\\.')} \\(namespace ${ns}\\) as agent ${agentId}`));
    assert.ok(!shown.stdout.includes(key) && !shipper.stderr().includes(key));
  } finally {
    await stop(shipper);
    await relay.close();
  }
});

test('direct mode: a wrong API key or an unreachable URL keeps events queued (status says why); the right one delivers them once', async () => {
  await bootstrappedCluster();
  const ns = uniqueNamespace('direct');
  const key = 'cmlnaHQta2V5OnJpZ2h0LXNlY3JldA==';
  const wrong = 'd3Jvbmcta2V5Ondyb25nLXNlY3JldA==';
  const relay = await startRelay(key);
  const dir = mkdtempSync(join(tmpdir(), 'nyx-direct-'));
  const w = new Writer(dir);
  const index = `logs-syslog-${ns}`;
  let shipper: Running | undefined;
  try {
    // 1. The wrong key: refused, nothing acknowledged, the status says the API key was refused.
    const config = writeConfig(dir, { url: relay.url, namespace: ns, key: { env: 'NYX_TEST_ES_API_KEY' } });
    shipper = startShipper(config, { NYX_TEST_ES_API_KEY: wrong });
    w.authLines(25);
    w.cowrieLine();
    let s = await waitFor('the unauthorized state', () => {
      const st = readStatusFile(dir);
      return st?.state === 'unauthorized' && st.queue.depth === 26 ? st : undefined;
    });
    assert.match(s.last_error ?? '', /Elasticsearch refused the API key \(HTTP 401\)/);
    assert.ok(!JSON.stringify(s).includes(wrong), 'the key is not in the status');
    assert.equal(s.queue.sent_total, 0);
    assert.equal(await count(index), 0);
    const shown = await runNyx(['ship', 'status', '--config', config]);
    assert.match(shown.stdout, /unauthorized/);
    assert.match(shown.stdout, /depth 26/);
    await stop(shipper);
    assert.ok(!shipper.stderr().includes(wrong));

    // 2. The right key, but a URL nothing answers on: still queued, backing off, the status says unreachable.
    writeConfig(dir, { url: `http://127.0.0.1:${await closedPort()}`, namespace: ns, key: { env: 'NYX_TEST_ES_API_KEY' } });
    shipper = startShipper(config, { NYX_TEST_ES_API_KEY: key });
    w.authLines(10);
    s = await waitFor(
      'the backing-off state',
      () => {
        const st = readStatusFile(dir);
        return st?.state === 'backing_off' && st.queue.depth === 36 && /cannot reach Elasticsearch|unreachable/.test(st.last_error ?? '') ? st : undefined;
      },
      30_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(readStatusFile(dir))} ${shipper?.stderr() ?? ''}`);
    });
    assert.equal(s.queue.sent_total, 0);
    await stop(shipper);

    // 3. The right URL: everything queued arrives, once.
    writeConfig(dir, { url: relay.url, namespace: ns, key: { env: 'NYX_TEST_ES_API_KEY' } });
    shipper = startShipper(config, { NYX_TEST_ES_API_KEY: key });
    w.authLines(5);
    await waitFor('an empty queue', () => {
      const st = readStatusFile(dir);
      return st?.state === 'running' && st.queue.depth === 0 && st.queue.sent_total === 41;
    });
    const docs = await stored(index);
    assert.equal(docs.length, w.auth.length);
    assert.deepEqual(new Set(docs.map((d) => d.doc.event?.original)), new Set(w.auth));
    assert.equal(await count(`logs-cowrie-${ns}`), 1);
    assert.ok(relay.seen.includes(`ApiKey ${wrong}`) && relay.seen.includes(`ApiKey ${key}`), 'the relay saw the configured keys in Authorization');
  } finally {
    await stop(shipper);
    await relay.close();
  }
});

test('the standalone nyx-ship.mjs leaves direct mode out and says so in one line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nyx-direct-bundle-'));
  const script = join(dir, 'nyx-ship.mjs');
  writeFileSync(script, await buildShipperScript());
  writeFileSync(join(dir, 'ship.yml'), 'state_dir: ./state\noutput:\n  elasticsearch:\n    url: http://127.0.0.1:9\n    namespace: acme\n    api_key_env: NYX_TEST_ES_API_KEY\n');
  const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    let stderr = '';
    const child = spawn(process.execPath, [script, 'ship', '--config', join(dir, 'ship.yml')], { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH ?? '', NYX_TEST_ES_API_KEY: 'secret-key' } });
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stderr }));
  });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^nyx-ship: output\.elasticsearch \(direct mode\) is not in the standalone nyx-ship\.mjs: run "nyx ship"/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
});
