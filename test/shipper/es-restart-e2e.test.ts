import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startLocalNode, stopLocalNode } from '../../src/elastic/local-node.ts';
import { connectElastic, type ElasticContext } from '../../src/elastic/connect.ts';
import { runBootstrap } from '../../src/bootstrap/index.ts';
import { readStatus, type ShipperStatus } from '../../src/shipper/status.ts';
import { runNyx, spawnNyx, type NyxProcess } from '../support/cli.ts';
import { uniqueNamespace } from '../support/elastic.ts';
import { get, operatorAuth, startServeProcess, testConfig, TEST_OPERATOR_TOKEN } from '../ingest-api/support.ts';
import { storedLines, waitForCount, writeShipperConfig } from './support.ts';
import { LineWriter, sleep, until } from './line-writer.ts';

/**
 * Issue 3: the real thing, not a cut TCP relay. A dedicated Elasticsearch node (the suite's shared one is
 * never disturbed) is stopped for 30 s and started again on the same URL under a running `nyx serve`,
 * while `nyx ship` tails a file that is appended to all along, rotated, and whose shipper is killed -9.
 */

const NODE = 'restart-e2e';
const VERSION = process.env.NYX_ES_VERSION ?? '9.2.8';
const HEAP = '512m';
const RATE_PER_S = 50;
const OUTAGE_MS = 30_000;

test('Elasticsearch really stopped for 30 s and restarted under `nyx serve` while `nyx ship` tails a rotated file and is killed -9: every line stored exactly once', { timeout: 300_000 }, async (t) => {
  const log = (line: string): void => t.diagnostic(line);
  const node = await startLocalNode({ version: VERSION, heap: HEAP, name: NODE, fresh: true });
  const port = Number(new URL(node.url).port);
  log(`dedicated Elasticsearch ${node.url} (pid ${node.pid})`);
  const dir = mkdtempSync(join(tmpdir(), 'nyx-es-restart-'));
  let ctx: ElasticContext | undefined;
  let serve: Awaited<ReturnType<typeof startServeProcess>> | undefined;
  let shipper: NyxProcess | undefined;
  let writer: LineWriter | undefined;
  try {
    const config = testConfig({}, node.url);
    ctx = await connectElastic(config, {});
    await runBootstrap(ctx, config);
    const es = ctx.client;
    const ES = { ELASTICSEARCH_URL: node.url };
    const ns = uniqueNamespace('restart');
    const index = `logs-syslog-${ns}`;
    const token = await runNyx(['agents', 'token', 'create', '--namespace', ns], ES);
    assert.equal(token.code, 0, token.stderr);
    serve = await startServeProcess({ ...ES, NYX_OPERATOR_TOKEN: TEST_OPERATOR_TOKEN });
    const health = async (): Promise<{ status: number; body: { status?: string; elasticsearch?: { reachable?: boolean } } }> => {
      const res = await get(`${serve!.url}/api/health`);
      return { status: res.status, body: res.body as { status?: string; elasticsearch?: { reachable?: boolean } } };
    };
    assert.equal((await health()).status, 200);

    const ship = writeShipperConfig(dir, serve.url, token.stdout.trim());
    const status = (): ShipperStatus | null => readStatus(ship.stateDir);
    const path = join(ship.logs, 'app.log');
    writer = new LineWriter(path, { ratePerSecond: RATE_PER_S, label: 'restart-e2e' });
    shipper = spawnNyx(['ship', '--config', ship.config]);
    writer.start();

    // Enrolled and shipping.
    assert.ok((await waitForCount(es, index, 1, 30_000)) > 0, 'the shipper enrolled and its first lines are stored');
    await sleep(2_000);
    writer.rotate();
    log(`rotated ${path} after ${writer.lines.length} lines`);
    await sleep(3_000);

    await shipper.stop('SIGKILL');
    log(`killed the shipper (-9) after ${writer.lines.length} lines`);
    await sleep(1_500);
    shipper = spawnNyx(['ship', '--config', ship.config]);
    await sleep(3_000);

    // The outage: the node really stops (SIGTERM to its process group), the writer carries on.
    const outageStarted = Date.now();
    const linesBefore = writer.lines.length;
    await stopLocalNode(NODE);
    log(`stopped Elasticsearch after ${linesBefore} lines (stop took ${Date.now() - outageStarted} ms)`);

    const down = await until('/api/health to report Elasticsearch unavailable', 15_000, async () => {
      const h = await health();
      return h.status === 503 ? h : undefined;
    });
    assert.equal(down.body.status, 'unavailable');
    assert.equal(down.body.elasticsearch?.reachable, false);

    const backingOff = await until('the shipper to back off', 20_000, () => {
      const s = status();
      return s?.state === 'backing_off' ? s : undefined;
    });
    const grown = await until('the shipper queue to grow while Elasticsearch is down', 20_000, () => {
      const s = status();
      return s && s.queue.depth >= backingOff.queue.depth + RATE_PER_S ? s : undefined;
    });
    assert.equal(grown.state, 'backing_off');
    assert.match(grown.last_error ?? '', /503/);

    // kill -9 again in the middle of the outage, with the backlog on disk: the new process takes it over.
    await shipper.stop('SIGKILL');
    const killedPid = grown.pid;
    log(`killed the shipper (-9) during the outage, queue depth ${grown.queue.depth}`);
    shipper = spawnNyx(['ship', '--config', ship.config]);

    const remaining = OUTAGE_MS - (Date.now() - outageStarted);
    if (remaining > 0) await sleep(remaining);
    // What an operator sees: `nyx ship status` of the restarted shipper, backing off with a longer queue.
    const seenByCli = await until('`nyx ship status` to show the restarted shipper backing off', 30_000, async () => {
      const cli = await runNyx(['ship', 'status', '--config', ship.config, '--json']);
      assert.equal(cli.code, 0, cli.stderr);
      const s = JSON.parse(cli.stdout) as ShipperStatus;
      return s.pid !== killedPid && s.state === 'backing_off' ? s : undefined;
    });
    assert.ok(seenByCli.queue.depth > grown.queue.depth, `queue depth ${seenByCli.queue.depth} kept growing past ${grown.queue.depth} across the kill`);
    assert.equal((await health()).status, 503, 'still unavailable at the end of the outage');

    const restartAt = Date.now();
    const again = await startLocalNode({ version: VERSION, heap: HEAP, name: NODE, port });
    assert.equal(again.url, node.url, 'restarted on the URL `nyx serve` is configured with');
    const upAt = Date.now();
    log(`restarted Elasticsearch: down ${Math.round((upAt - outageStarted) / 1000)} s (start took ${Math.round((upAt - restartAt) / 1000)} s), queue depth ${seenByCli.queue.depth}, ${writer.lines.length - linesBefore} lines written while down`);
    await until('/api/health to recover', 30_000, async () => ((await health()).status === 200 ? true : undefined));

    await sleep(3_000);
    writer.stop();
    const written = writer.lines.length;
    const count = await waitForCount(es, index, written, 120_000);
    const drainedAt = Date.now();
    log(`${written} lines written; ${count} stored ${Math.round((drainedAt - upAt) / 1000)} s after Elasticsearch was back`);
    // A late resend would show up as a second document: give it a moment before counting for good.
    const settled = await until('the shipper queue to empty', 30_000, () => {
      const s = status();
      return s && s.queue.depth === 0 && s.queue.in_flight === 0 ? s : undefined;
    });
    await sleep(1_000);
    const metrics = String((await get(`${serve.url}/metrics`, operatorAuth)).body).split('\n');
    const sum = (re: RegExp): number => metrics.filter((l) => re.test(l)).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
    log(`nyx serve: ${sum(/^nyx_ingest_requests_total\{route="\/api\/ingest",status="503"\}/)} ingest requests answered 503, ${sum(/^nyx_ingest_events_total\{.*outcome="duplicate"\}/)} resent events recognised as duplicates`);

    const stored = await storedLines(es, index);
    assert.equal(stored.length, written, `documents in ${index}`);
    assert.equal(new Set(stored.map((s) => s.id)).size, stored.length, 'every _id once');
    const storedSet = new Set(stored.map((s) => s.line));
    assert.equal(storedSet.size, stored.length, 'every line once');
    const missing = writer.lines.filter((l) => !storedSet.has(l));
    assert.deepEqual(missing, [], 'every written line stored');
    assert.equal(settled.queue.rejected_total, 0, 'nothing dead-lettered');
    assert.equal(settled.queue.dropped_total, 0, 'nothing dropped');
  } catch (err) {
    if (serve) console.log(`# nyx serve output:\n${serve.output().slice(-4000)}`);
    if (shipper) console.log(`# nyx ship output:\n${shipper.output().slice(-4000)}`);
    throw err;
  } finally {
    writer?.close();
    await shipper?.stop();
    await serve?.stop();
    await ctx?.client.close();
    await stopLocalNode(NODE);
    rmSync(dirname(node.dataDir), { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
});
