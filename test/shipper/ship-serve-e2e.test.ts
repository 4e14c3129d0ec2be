import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runNyx, spawnNyx, type NyxProcess } from '../support/cli.ts';
import { testClient, testElasticUrl, uniqueNamespace } from '../support/elastic.ts';
import { startServeProcess } from '../ingest-api/support.ts';
import { storedLines, waitForCount, writeShipperConfig } from './support.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('end to end with the real `nyx serve` and Elasticsearch: enroll, ship, kill -9, restart: each line stored once', async () => {
  const ES = { ELASTICSEARCH_URL: testElasticUrl() };
  const ns = uniqueNamespace('ship');
  const token = await runNyx(['agents', 'token', 'create', '--namespace', ns], ES);
  assert.equal(token.code, 0, token.stderr);
  const serve = await startServeProcess(ES);
  const dir = mkdtempSync(join(tmpdir(), 'nyx-e2e-'));
  let shipper: NyxProcess | undefined;
  try {
    const { config, logs } = writeShipperConfig(dir, serve.url, token.stdout.trim());
    const log = join(logs, 'auth.log');
    writeFileSync(log, '');
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
    shipper = spawnNyx(['ship', '--config', config]);
    for (let i = 0; i < 10; i++) {
      write(50);
      await sleep(100);
    }
    await shipper.stop('SIGKILL');
    write(100);
    shipper = spawnNyx(['ship', '--config', config]);
    for (let i = 0; i < 5; i++) {
      write(50);
      await sleep(100);
    }
    const es = testClient();
    const index = `logs-syslog-${ns}`;
    await waitForCount(es, index, lines.length, 60_000);
    await sleep(1000);
    const stored = await storedLines(es, index);
    assert.equal(stored.length, lines.length, `count in ${index}`);
    assert.equal(new Set(stored.map((s) => s.id)).size, stored.length);
    const seen = new Set(stored.map((s) => s.line));
    for (const l of lines) assert.ok(seen.has(l), `stored: ${l}`);
  } finally {
    await shipper?.stop();
    await serve.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
