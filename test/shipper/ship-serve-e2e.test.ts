import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runNyx } from '../support/cli.ts';
import { testClient, testElasticUrl, uniqueNamespace } from '../support/elastic.ts';

const NYX = fileURLToPath(new URL('../../bin/nyx.js', import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function nyx(args: string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [NYX, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env } });
}

test('end to end with the real `nyx serve` and Elasticsearch: enroll, ship, kill -9, restart: each line stored once', async () => {
  const ES = { ELASTICSEARCH_URL: testElasticUrl() };
  const ns = uniqueNamespace('ship');
  const token = await runNyx(['agents', 'token', 'create', '--namespace', ns], ES);
  assert.equal(token.code, 0, token.stderr);
  const serve = nyx(['serve', '--port', '0'], ES);
  let out = '';
  serve.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  const dir = mkdtempSync(join(tmpdir(), 'nyx-e2e-'));
  let shipper: ChildProcess | undefined;
  try {
    const until = Date.now() + 60_000;
    while (!/http:\/\/[\d.]+:\d+/.test(out)) {
      if (Date.now() > until || serve.exitCode !== null) throw new Error(`nyx serve did not start: ${out}`);
      await sleep(100);
    }
    const url = /http:\/\/[\d.]+:\d+/.exec(out)![0];
    mkdirSync(join(dir, 'logs'));
    const log = join(dir, 'logs', 'auth.log');
    writeFileSync(log, '');
    writeFileSync(join(dir, 'token'), token.stdout.trim());
    const config = join(dir, 'ship.yml');
    writeFileSync(config, `server: ${url}\nenrollment_token_file: ./token\nstate_dir: ./state\ninputs:\n  - type: files\n    paths: ['./logs/*.log']\n    poll_ms: 100\noutput:\n  batch_size: 100\n  flush_interval_ms: 200\n  backoff_initial_ms: 100\n  backoff_max_ms: 1000\n`);
    const lines: string[] = [];
    const write = (n: number): void => {
      let text = '';
      for (let i = 0; i < n; i++) {
        const line = `Jan 31 12:00:00 web1 sshd[812]: Failed password for invalid user u${lines.length} from 203.0.113.5 port ${1000 + lines.length} ssh2`;
        lines.push(line);
        text += `${line}\n`;
      }
      appendFileSync(log, text);
    };
    shipper = nyx(['ship', '--config', config], {});
    for (let i = 0; i < 10; i++) {
      write(50);
      await sleep(100);
    }
    shipper.kill('SIGKILL');
    await new Promise((r) => shipper!.once('exit', r));
    write(100);
    shipper = nyx(['ship', '--config', config], {});
    for (let i = 0; i < 5; i++) {
      write(50);
      await sleep(100);
    }
    const es = testClient();
    const index = `logs-syslog-${ns}`;
    let count = 0;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      await es.indices.refresh({ index }).catch(() => undefined);
      count = (await es.count({ index }).catch(() => ({ count: 0 }))).count;
      if (count >= lines.length) break;
      await sleep(500);
    }
    await sleep(1000);
    await es.indices.refresh({ index });
    const res = await es.search<{ message?: string; event?: { original?: string } }>({ index, size: 10_000, _source: ['message', 'event.original'] });
    const ids = res.hits.hits.map((h) => h._id);
    assert.equal(res.hits.hits.length, lines.length, `count in ${index}`);
    assert.equal(new Set(ids).size, ids.length);
    const seen = new Set(res.hits.hits.map((h) => h._source?.event?.original ?? h._source?.message));
    for (const l of lines) assert.ok(seen.has(l), `stored: ${l}`);
  } finally {
    shipper?.kill('SIGTERM');
    serve.kill('SIGTERM');
    await sleep(300);
  }
});
