// Events/s through `POST /api/ingest` (a real `nyx serve` process, enrolled agent, 1,000-event batches) vs a
// raw `_bulk` of the same normalised documents into the same node, run side by side (alternating rounds);
// their ratio, and p50/p95/p99 acknowledgement latency of both.
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import type { Client } from '@elastic/elasticsearch';
import { loadConfig } from '../src/config/index.ts';
import { connectElastic } from '../src/elastic/connect.ts';
import { runBootstrap } from '../src/bootstrap/index.ts';
import { enrollBenchAgent, startBenchServe } from './_serve.ts';
import { SourcePipelines } from '../src/ingest/source-pipelines.ts';
import { prepareSourceEvents } from '../src/ingest/bulk-writer.ts';
import { routeEvent } from '../src/ingest/agent-events.ts';
import { validateEvent, type AgentEvent } from '../src/ingest/event-contract.ts';

function option(args: string[], name: string, fallback: number): number {
  const at = args.indexOf(`--${name}`);
  return at >= 0 && args[at + 1] ? Number(args[at + 1]) : fallback;
}

/** A realistic mix of agent events, each distinct (seq) so nothing deduplicates. */
function agentEvents(total: number): Array<Record<string, unknown>> {
  const kinds = [
    (i: number) => ({ category: 'commandline', cmd: `/usr/bin/curl -s https://example.org/${i}`, parent: '/bin/bash', pid: 1000 + (i % 30000) }),
    (i: number) => ({ category: 'network', ip: '10.0.0.5', dst_ip: `198.51.100.${i % 250}`, dst_port: 443, transport: 'TCP', domain: 'example.org' }),
    (i: number) => ({ category: 'user_activity', action: i % 3 ? 'failed_login' : 'login', user: `user${i % 50}` }),
    (_i: number) => ({ category: 'telemetry', cpu: { percent: 12.5 }, ram: { used: 2_000_000_000, total: 8_000_000_000 }, net: { rx_bytes: 1234, tx_bytes: 4321 } }),
    (i: number) => ({ category: 'process', pid: 2000 + i, ppid: 1, name: 'sshd', path: '/usr/sbin/sshd', cmd: 'sshd -D' }),
  ];
  return Array.from({ length: total }, (_, i) => ({ ts: new Date(Date.UTC(2026, 2, 1) + i * 10).toISOString(), host: 'bench-host', user: 'root', seq: i, ...kinds[i % kinds.length]!(i) }));
}

/**
 * CPU seconds Elasticsearch has used so far: from /proc when the node runs on this machine (exact at any
 * moment), else from its own process stats (refreshed only about once a second).
 */
async function elasticCpuReader(client: Client): Promise<() => Promise<number>> {
  const info = await client.nodes.info({ metric: 'process' });
  const pids = Object.values(info.nodes).map((n) => n.process?.id);
  if (pids.length > 0 && pids.every((pid) => pid !== undefined && processCpuSeconds(pid) > 0)) {
    return async () => pids.reduce<number>((sum, pid) => sum + processCpuSeconds(pid), 0);
  }
  return async () => {
    const stats = await client.nodes.stats({ metric: 'process' });
    return Object.values(stats.nodes).reduce((sum, n) => sum + (n.process?.cpu?.total_in_millis ?? 0), 0) / 1000;
  };
}

/** CPU seconds (user + system) a local process has used so far; 0 where /proc is not there. */
function processCpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
    // After "pid (comm) ": state is field 0, utime 11, stime 12, in clock ticks (100/s on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return Number(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!.toFixed(1));
}

function latency(ms: number[]): { p50_ms: number; p95_ms: number; p99_ms: number } {
  const sorted = [...ms].sort((a, b) => a - b);
  return { p50_ms: percentile(sorted, 50), p95_ms: percentile(sorted, 95), p99_ms: percentile(sorted, 99) };
}

/** Runs `work` over batches with `concurrency` in flight; returns per-batch latencies and the wall time. */
async function drive<T>(batches: T[], concurrency: number, work: (b: T) => Promise<void>): Promise<{ seconds: number; latencies: number[] }> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < batches.length) {
        const batch = batches[next++]!;
        const t = performance.now();
        await work(batch);
        latencies.push(performance.now() - t);
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000, latencies };
}

export async function run(args: string[]): Promise<object> {
  const total = Number(args.find((a) => /^\d+$/.test(a)) ?? 50_000);
  const batchSize = option(args, 'batch', 1_000);
  const concurrency = option(args, 'concurrency', 2);
  const rounds = option(args, 'rounds', 5);
  const gzip = args.includes('--gzip');
  const env = { ELASTICSEARCH_URL: process.env.ELASTICSEARCH_URL ?? '' };
  const { config, secrets } = loadConfig({ env });
  const ctx = await connectElastic(config, secrets);
  await runBootstrap(ctx, config);
  const stamp = Date.now() % 1_000_000;
  const nsApi = `bench_api_${stamp}`;
  const nsRaw = `bench_raw_${stamp}`;

  // --profile <dir>: the server writes a V8 CPU profile there when it stops (open it in Chrome DevTools).
  const profileAt = args.indexOf('--profile');
  const profileDir = profileAt >= 0 ? args[profileAt + 1] : undefined;
  const serve = await startBenchServe(env.ELASTICSEARCH_URL, { nodeArgs: profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [], echo: true });
  const { url, process: server } = serve;
  try {
    const enrolled = await enrollBenchAgent(ctx.client, config, url, nsApi, 'bench-host');
    process.stderr.write(`# nyx serve at ${url}; ${total} events, batches of ${batchSize}, ${concurrency} in flight, ${rounds} alternating rounds${gzip ? ', gzip' : ''}\n`);

    const events = agentEvents(total);
    // The baseline gets exactly the documents the API stores: same routing, same pipeline, same ids.
    const pipelines = SourcePipelines.create(config, ctx.caps);
    const agent = { agentId: enrolled.agent_id, namespace: nsRaw, hostname: 'bench-host' };
    const routed = events.map((e) => {
      const checked = validateEvent(e);
      if (!checked.ok) throw new Error(`bench event invalid: ${checked.field}: ${checked.reason}`);
      const r = routeEvent(agent, checked.event as AgentEvent);
      if (!r.ok) throw new Error(r.reason);
      return { doc: r.doc, id: r.id };
    });
    const pipelineStarted = performance.now();
    const prepared = prepareSourceEvents(pipelines, { source: 'endpoint', namespace: nsRaw, events: routed });
    // What the in-process pipeline alone costs per event: the API pays it, the pre-normalised baseline does not.
    const pipelineRate = Math.round(total / ((performance.now() - pipelineStarted) / 1000));
    const rawOps = prepared.docs.map((d) => [{ create: { _index: prepared.dataStream, _id: d.id } }, d.doc]);

    const apiBatches: Array<string | Uint8Array<ArrayBuffer>> = [];
    const rawBatches: unknown[][] = [];
    for (let i = 0; i < total; i += batchSize) {
      const body = JSON.stringify(events.slice(i, i + batchSize));
      apiBatches.push(gzip ? new Uint8Array(gzipSync(body)) : body);
      rawBatches.push(rawOps.slice(i, i + batchSize).flat());
    }
    const headers: Record<string, string> = { 'x-agent-key': enrolled.agent_key, 'content-type': 'application/json', ...(gzip ? { 'content-encoding': 'gzip' } : {}) };
    const apiTimes = { seconds: 0, latencies: [] as number[] };
    const rawTimes = { seconds: 0, latencies: [] as number[] };
    let apiStored = 0;
    // CPU each party spends, per phase: where the API's time goes (the server vs Elasticsearch vs this client).
    const cpu = { api: { server: 0, elasticsearch: 0, client: 0 }, raw: { elasticsearch: 0, client: 0 } };
    const elasticCpuSeconds = await elasticCpuReader(ctx.client);
    const snapshot = async () => ({ server: processCpuSeconds(server.pid), elasticsearch: await elasticCpuSeconds(), client: process.cpuUsage() });
    const clientSeconds = (from: NodeJS.CpuUsage) => {
      const used = process.cpuUsage(from);
      return (used.user + used.system) / 1e6;
    };
    const perRound = Math.ceil(apiBatches.length / rounds);
    for (let r = 0; r < rounds; r++) {
      const slice = [r * perRound, (r + 1) * perRound] as const;
      const beforeApi = await snapshot();
      const api = await drive(apiBatches.slice(...slice), concurrency, async (body) => {
        const res = await fetch(`${url}/api/ingest`, { method: 'POST', headers, body });
        const out = (await res.json()) as { stored?: number; error?: string };
        if (res.status !== 200) throw new Error(`ingest answered ${res.status}: ${out.error}`);
        apiStored += out.stored ?? 0;
      });
      const afterApi = await snapshot();
      cpu.api.server += afterApi.server - beforeApi.server;
      cpu.api.elasticsearch += afterApi.elasticsearch - beforeApi.elasticsearch;
      cpu.api.client += clientSeconds(beforeApi.client);
      const beforeRaw = await snapshot();
      const raw = await drive(rawBatches.slice(...slice), concurrency, async (operations) => {
        const res = await ctx.client.bulk({ operations });
        if (res.errors) throw new Error('raw _bulk had item errors');
      });
      const afterRaw = await snapshot();
      cpu.raw.elasticsearch += afterRaw.elasticsearch - beforeRaw.elasticsearch;
      cpu.raw.client += clientSeconds(beforeRaw.client);
      apiTimes.seconds += api.seconds;
      apiTimes.latencies.push(...api.latencies);
      rawTimes.seconds += raw.seconds;
      rawTimes.latencies.push(...raw.latencies);
      process.stderr.write(`# round ${r + 1}/${rounds}: api ${Math.round((api.latencies.length * batchSize) / api.seconds)}/s, raw _bulk ${Math.round((raw.latencies.length * batchSize) / raw.seconds)}/s\n`);
    }
    if (apiStored !== total) throw new Error(`the API stored ${apiStored} of ${total} events`);
    const perEvent = (seconds: number) => Math.round((seconds * 1e6) / total);
    const apiRate = Math.round(total / apiTimes.seconds);
    const rawRate = Math.round(total / rawTimes.seconds);
    return {
      benchmark: 'ingest',
      events: total,
      batch: batchSize,
      concurrency,
      gzip,
      pipeline: pipelines.runsInCluster('endpoint') ? 'elasticsearch' : 'in-process',
      pipeline_alone_events_per_s: pipelineRate,
      api_events_per_s: apiRate,
      raw_bulk_events_per_s: rawRate,
      ratio: Number((apiRate / rawRate).toFixed(2)),
      api_ack_latency: latency(apiTimes.latencies),
      raw_bulk_latency: latency(rawTimes.latencies),
      // Microseconds of CPU per event, by party: the server's share is what Nyx adds.
      cpu_us_per_event: {
        api: { server: perEvent(cpu.api.server), elasticsearch: perEvent(cpu.api.elasticsearch), client: perEvent(cpu.api.client) },
        raw_bulk: { elasticsearch: perEvent(cpu.raw.elasticsearch), client: perEvent(cpu.raw.client) },
      },
    };
  } finally {
    await serve.stop();
    for (const ds of [`logs-endpoint-${nsApi}`, `logs-endpoint-${nsRaw}`]) await ctx.client.indices.deleteDataStream({ name: ds }).catch(() => undefined);
    await ctx.client.close();
  }
}
