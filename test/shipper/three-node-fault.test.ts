import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errors, type Client } from '@elastic/elasticsearch';
import { killClusterNode, restartClusterNode, startLocalCluster, stopLocalCluster, type LocalClusterState } from '../../src/elastic/local-node.ts';
import { connectElastic, type ElasticContext } from '../../src/elastic/connect.ts';
import { createElasticClient } from '../../src/elastic/client.ts';
import { configSchema, type NyxConfig } from '../../src/config/index.ts';
import { runBootstrap } from '../../src/bootstrap/index.ts';
import { createAgentRegistry } from '../../src/agents/index.ts';
import { readStatus } from '../../src/shipper/status.ts';
import { runNyx, spawnNyx, type NyxProcess } from '../support/cli.ts';
import { uniqueNamespace } from '../support/elastic.ts';
import { agentEvent, get, startServeProcess, type IngestBody } from '../ingest-api/support.ts';
import { storedLines, waitForCount, writeShipperConfig } from './support.ts';
import { LineWriter, sleep, until } from './line-writer.ts';

/**
 * Issue 19, faults against the real distributed engine: a three-node local cluster (the launcher's
 * `nyx es start --nodes 3`) under a real `nyx serve` + `nyx ship`, whose node holding the target data
 * stream's primary is killed -9 mid-stream and brought back on the same ports and data.
 * NYX_FAULT_REUSE_CLUSTER=1 keeps the cluster between runs (development only: a run normally starts it fresh).
 */

const CLUSTER = 'fault3';
const MEMBERS = 3;
const VERSION = process.env.NYX_ES_VERSION ?? '9.2.8';
const REUSE = process.env.NYX_FAULT_REUSE_CLUSTER === '1';
const RATE_PER_S = 40;
const DOWN_MS = 20_000;
/** serve.write_wait_seconds (the default): a write in flight when the cluster recovers may still end in a 503 this much later. */
const WRITE_WAIT_S = 5;
/** An agent's own request timeout (the shipper's default): serve must answer before it. */
const AGENT_TIMEOUT_MS = 30_000;
const PROBE_ID = 'fault-probe';

let cluster: LocalClusterState;
let ctx: ElasticContext;
let config: NyxConfig;
let serve: Awaited<ReturnType<typeof startServeProcess>> | undefined;
let ES: Record<string, string>;

before(async () => {
  cluster = await startLocalCluster({ version: VERSION, heap: '512m', name: CLUSTER, nodes: MEMBERS, fresh: !REUSE });
  const urls = cluster.nodes.map((n) => n.url);
  ES = { ELASTICSEARCH_URL: urls.join(',') };
  config = configSchema.parse({ elasticsearch: { url: urls, connect_wait_ms: 30_000 }, serve: { port: 0 } });
  ctx = await connectElastic(config, {});
  await runBootstrap(ctx, config);
  serve = await startServeProcess(ES);
}, { timeout: 420_000 });

after(async () => {
  await serve?.stop();
  await ctx?.client.close();
  if (!REUSE) {
    await stopLocalCluster(CLUSTER);
    if (cluster) rmSync(join(cluster.nodes[0]!.dataDir, '..', '..'), { recursive: true, force: true });
  }
});

interface Sample {
  at: number;
  health: number;
  /** nyx serve's ingest requests answered 503 so far. */
  ingest503: number;
}

interface Probe {
  start: number;
  end: number;
  /** The data stream's primary took the write (201, or 409 for the probe document already there). */
  writable: boolean;
}

/** The count of one metric family's samples, summed over labels. */
function metricSum(text: string, re: RegExp): number {
  return text
    .split('\n')
    .filter((l) => re.test(l))
    .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}

/** Writes the same probe document again and again: 409 means the primary answered, so the stream takes writes. */
async function probeWrite(client: Client, index: string): Promise<boolean> {
  try {
    await client.create({ index, id: PROBE_ID, document: { '@timestamp': new Date().toISOString(), message: PROBE_ID }, timeout: `${WRITE_WAIT_S}s` }, { requestTimeout: (WRITE_WAIT_S + 5) * 1000, maxRetries: 2 });
    return true;
  } catch (err) {
    return err instanceof errors.ResponseError && err.statusCode === 409;
  }
}

/** Windows where the probe could not write, merged. */
function unwritableWindows(probes: Probe[]): Array<[number, number]> {
  const windows: Array<[number, number]> = [];
  for (const p of probes.filter((x) => !x.writable)) {
    const last = windows[windows.length - 1];
    if (last && p.start <= last[1] + 1_000) last[1] = Math.max(last[1], p.end);
    else windows.push([p.start, p.end]);
  }
  return windows;
}

test('three-node cluster: the node holding the primary is killed -9 mid-stream and brought back; every line stored once, 503 only while writes cannot be taken', { timeout: 600_000 }, async (t) => {
  const log = (line: string): void => t.diagnostic(line);
  const es = ctx.client;
  const dir = mkdtempSync(join(tmpdir(), 'nyx-fault3-'));
  const probeClient = createElasticClient(config, {});
  let shipper: NyxProcess | undefined;
  let writer: LineWriter | undefined;
  let monitoring = true;
  const samples: Sample[] = [];
  const probes: Probe[] = [];
  const monitors: Array<Promise<void>> = [];
  try {
    const ns = uniqueNamespace('fault');
    const index = `logs-syslog-${ns}`;
    const token = await runNyx(['agents', 'token', 'create', '--namespace', ns], ES);
    assert.equal(token.code, 0, token.stderr);
    const ship = writeShipperConfig(dir, serve!.url, token.stdout.trim());
    writer = new LineWriter(join(ship.logs, 'app.log'), { ratePerSecond: RATE_PER_S, label: 'fault3' });
    shipper = spawnNyx(['ship', '--config', ship.config]);
    writer.start();
    assert.ok((await waitForCount(es, index, 1, 60_000)) > 0, 'the shipper enrolled and its first lines are stored');

    // The replica default: one copy of the primary on a second node, started.
    type ShardRow = { prirep?: string; state?: string; node?: string | null };
    const shards = await until('the data stream to have a started primary and replica', 60_000, async () => {
      const rows = (await es.cat.shards({ index, format: 'json' })) as ShardRow[];
      return rows.length === 2 && rows.every((r) => r.state === 'STARTED') ? rows : undefined;
    }).catch(async (err: Error) => assert.fail(`${err.message}: ${JSON.stringify(await es.cat.shards({ index, format: 'json' }))}`));
    const primaryNode = shards.find((r) => r.prirep === 'p')!.node!;
    const replicaNode = shards.find((r) => r.prirep === 'r')!.node!;
    assert.notEqual(primaryNode, replicaNode);
    const victim = cluster.nodes.findIndex((n) => n.name === primaryNode);
    assert.ok(victim >= 0, `the primary's node ${primaryNode} is one the launcher started`);

    // What serve answers and what the cluster takes, sampled side by side until the end.
    monitors.push(
      (async () => {
        while (monitoring) {
          const at = Date.now();
          const health = await get(`${serve!.url}/api/health`).catch(() => ({ status: 0 }));
          const metrics = String((await get(`${serve!.url}/metrics`)).body);
          samples.push({ at, health: health.status, ingest503: metricSum(metrics, /^nyx_ingest_requests_total\{route="\/api\/ingest",status="503"\}/) });
          await sleep(300);
        }
      })(),
      (async () => {
        while (monitoring) {
          const start = Date.now();
          const writable = await probeWrite(probeClient, index);
          probes.push({ start, end: Date.now(), writable });
          await sleep(300);
        }
      })(),
    );
    await sleep(3_000);

    const master = ((await es.cat.master({ format: 'json' })) as Array<{ node?: string }>)[0]?.node;
    const killedAt = Date.now();
    const linesBefore = writer.lines.length;
    await killClusterNode(CLUSTER, victim);
    log(`killed -9 ${primaryNode} (primary of ${index}; replica on ${replicaNode}; ${master === primaryNode ? 'also the elected master' : `master ${master}`}) after ${linesBefore} lines`);
    await sleep(DOWN_MS);
    const node = await restartClusterNode(CLUSTER, victim);
    const backAt = Date.now();
    log(`${node.name} back on ${node.url} and joined: down ${Math.round((backAt - killedAt) / 1000)} s, ${writer.lines.length - linesBefore} lines written meanwhile`);
    await es.cluster.health({ index, wait_for_status: 'green', timeout: '60s' });

    await sleep(3_000);
    writer.stop();
    const stoppedAt = Date.now();
    const written = writer.lines.length;
    // Every written line plus the one probe document.
    const count = await waitForCount(es, index, written + 1, 120_000);
    const caughtUpAt = Date.now();
    const settled = await until('the shipper queue to empty', 30_000, () => {
      const s = readStatus(ship.stateDir);
      return s && s.queue.depth === 0 && s.queue.in_flight === 0 ? s : undefined;
    });
    // A late resend would show up as a second document: give it a moment before counting for good.
    await sleep(2_000);
    monitoring = false;
    await Promise.all(monitors);

    const stored = (await storedLines(es, index)).filter((s) => s.line !== PROBE_ID);
    const windows = unwritableWindows(probes);
    const unwritableMs = windows.reduce((n, [a, b]) => n + (b - a), 0);
    const final503 = samples[samples.length - 1]?.ingest503 ?? 0;
    const healthSeen = new Map<number, number>();
    for (const s of samples) healthSeen.set(s.health, (healthSeen.get(s.health) ?? 0) + 1);
    log(
      `figures: ${written} lines, ${count - 1} stored; node down ${Math.round((backAt - killedAt) / 1000)} s; cluster unable to write ${(unwritableMs / 1000).toFixed(1)} s in ${windows.length} window(s) ` +
        `(${probes.length} probes); ingest 503s ${final503}; /api/health ${[...healthSeen].map(([s, n]) => `${s}×${n}`).join(', ')}; caught up ${((caughtUpAt - stoppedAt) / 1000).toFixed(1)} s after the writer stopped`,
    );

    assert.equal(stored.length, written, `documents in ${index} (besides the probe)`);
    assert.equal(new Set(stored.map((s) => s.id)).size, stored.length, 'every _id once');
    const storedSet = new Set(stored.map((s) => s.line));
    assert.equal(storedSet.size, stored.length, 'every line once');
    assert.deepEqual(writer.lines.filter((l) => !storedSet.has(l)), [], 'every written line stored');
    assert.deepEqual([...storedSet].filter((l) => !writer!.lines.includes(l as string)), [], 'nothing stored that was not written');
    assert.equal(settled.queue.rejected_total, 0, 'nothing dead-lettered');
    assert.equal(settled.queue.dropped_total, 0, 'nothing dropped');

    // 503 (ingest or health) only while the cluster could not take writes: each sample that saw one falls in a
    // window where the probe could not write, widened by one bounded write wait (a request in flight at its edge).
    const slack = (WRITE_WAIT_S + 2) * 1000;
    const during = (from: number, to: number): boolean => windows.some(([a, b]) => from <= b + slack && to >= a - slack);
    for (let i = 1; i < samples.length; i++) {
      const prev = samples[i - 1]!;
      const s = samples[i]!;
      if (s.ingest503 > prev.ingest503) assert.ok(during(prev.at, s.at), `nyx serve answered 503 between ${new Date(prev.at).toISOString()} and ${new Date(s.at).toISOString()} while the cluster took writes (windows ${JSON.stringify(windows)})`);
      if (s.health !== 200) assert.ok(during(s.at, s.at + 3_000), `/api/health answered ${s.health} at ${new Date(s.at).toISOString()} while the cluster took writes (windows ${JSON.stringify(windows)})`);
    }
  } catch (err) {
    if (serve) console.log(`# nyx serve output:\n${serve.output().slice(-4000)}`);
    if (shipper) console.log(`# nyx ship output:\n${shipper.output().slice(-4000)}`);
    throw err;
  } finally {
    monitoring = false;
    await Promise.allSettled(monitors);
    writer?.close();
    await shipper?.stop();
    await probeClient.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a primary with no copy anywhere: nyx serve answers 503 + Retry-After before an agent times out, /api/health says so, and the resend is stored once the shard is back', { timeout: 180_000 }, async () => {
  const es = ctx.client;
  const ns = uniqueNamespace('noprimary');
  const template = `nyx-test-unassigned-${ns}`;
  // Only this namespace's data streams: their shards may live on no node, so their primary is unavailable.
  await es.indices.putIndexTemplate({ name: template, index_patterns: [`logs-*-${ns}`], data_stream: {}, priority: 1000, template: { settings: { 'index.routing.allocation.require._name': 'no-such-node' } } });
  try {
    const registry = createAgentRegistry(es, config);
    const { token } = await registry.createToken({ namespace: ns, ttlMs: 3_600_000 });
    const enrolled = await fetch(`${serve!.url}/api/agents/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, hostname: 'host-a', os: 'linux 6.1', ip: '10.0.0.5', version: '0.1.0' }) });
    assert.equal(enrolled.status, 201);
    const { agent_key: key } = (await enrolled.json()) as { agent_key: string };
    const events = [1, 2, 3].map((n) => agentEvent({ pid: n, seq: n }));
    const send = (): Promise<Response> =>
      fetch(`${serve!.url}/api/ingest`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `ApiKey ${key}` }, body: JSON.stringify(events), signal: AbortSignal.timeout(AGENT_TIMEOUT_MS) });

    // The first write also creates the data stream (its shard unassignable); the second meets it as it is.
    for (const attempt of ['creating the data stream', 'writing to it']) {
      const held = await send();
      const heldBody = (await held.json()) as Partial<IngestBody>;
      assert.equal(held.status, 503, `${attempt}: ${JSON.stringify(heldBody)}`);
      assert.ok(Number(held.headers.get('retry-after')) > 0, `${attempt}: Retry-After`);
      assert.ok(!heldBody.stored, `${attempt}: nothing acknowledged as stored`);
      if (heldBody.results) assert.deepEqual(heldBody.results.map((r) => r.status), ['retry', 'retry', 'retry'], attempt);
    }
    const health = await get(`${serve!.url}/api/health`);
    assert.equal(health.status, 503);
    assert.equal((health.body as { elasticsearch: { status?: string } }).elasticsearch.status, 'red');

    // The shard may go anywhere again: the agent's resend (same ids) is stored once.
    await es.indices.putSettings({ index: `logs-*-${ns}`, settings: { 'index.routing.allocation.require._name': null }, expand_wildcards: 'all' });
    await es.cluster.health({ wait_for_status: 'yellow', timeout: '60s' });
    const resent = await send();
    const resentBody = (await resent.json()) as IngestBody;
    assert.equal(resent.status, 200, JSON.stringify(resentBody));
    assert.equal(resentBody.stored + resentBody.duplicates, events.length);
    await until('/api/health to recover', 30_000, async () => ((await get(`${serve!.url}/api/health`)).status === 200 ? true : undefined));
  } finally {
    // Never leave the cluster red for what runs next.
    await es.indices.putSettings({ index: `logs-*-${ns}`, settings: { 'index.routing.allocation.require._name': null }, expand_wildcards: 'all' }).catch(() => undefined);
    await es.indices.deleteIndexTemplate({ name: template }).catch(() => undefined);
  }
});
