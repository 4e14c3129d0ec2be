// In-stream indicator enrichment against a large active set:
//  - ingest events/s through the in-process ingest path (endpoint pipeline → hook → _bulk create) with the
//    enrichment hook on vs off, alternating rounds on the same node (target ratio ≥ 0.9);
//  - memory of the indicator set (heap + typed arrays, after GC) for N indicators (target < 300 MB at 1M);
//  - time to apply an incremental update of 10,000 indicators, in memory and through the indicator store.
// Args: [--indicators 1000000] [--events 40000] [--batch 1000] [--rounds 4] [--update 10000]
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { configSchema } from '../src/config/index.ts';
import { connectElastic } from '../src/elastic/connect.ts';
import { runBootstrap } from '../src/bootstrap/index.ts';
import { SourcePipelines } from '../src/ingest/source-pipelines.ts';
import { prepareSourceEvents, sendPreparedEvents } from '../src/ingest/bulk-writer.ts';
import { routeEvent } from '../src/ingest/agent-events.ts';
import { validateEvent } from '../src/ingest/event-contract.ts';
import { IndicatorStore, type FeedIndicator } from '../src/intel/store/index.ts';
import { LiveIndicatorSet, enrichDocument, indicatorEnrichmentHook, warningListFromConfig, type LatestIndicator } from '../src/intel/enrichment/index.ts';

function option(args: string[], name: string, fallback: number): number {
  const at = args.indexOf(`--${name}`);
  return at >= 0 && args[at + 1] ? Number(args[at + 1]) : fallback;
}

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
function settledMemory(): number {
  for (let i = 0; i < 3; i++) gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

const hex = (n: number, len: number): string => n.toString(16).padStart(len, '0').slice(-len);
/** Indicator i of a realistic mix: 55% IPv4, 1% IPv4 /24 networks, 22% domains, 8% URLs, 14% SHA-256. */
function syntheticIndicator(i: number, stamp: string, expires: string): LatestIndicator {
  const r = i % 100;
  let fields: Record<string, unknown>;
  let type: LatestIndicator['threat']['indicator']['type'];
  let value: string;
  let cidr: string | undefined;
  if (r < 55) {
    type = 'ipv4-addr';
    value = `${45 + ((i >>> 16) & 127)}.${(i >>> 8) & 255}.${i & 255}.${(i * 7) & 255}`;
    fields = { ip: value };
  } else if (r < 56) {
    type = 'ipv4-addr';
    value = `${180 + (i % 20)}.${(i >>> 8) & 255}.${i & 255}.0/24`;
    cidr = value;
    fields = {};
  } else if (r < 78) {
    type = 'domain-name';
    value = `m${hex(i * 2654435761, 8)}.bad-${i % 997}.example`;
    fields = { domain: value };
  } else if (r < 86) {
    type = 'url';
    value = `http://d${hex(i, 6)}.example/payload/${hex(i * 40503, 8)}.bin`;
    fields = { url: { full: value } };
  } else {
    type = 'file';
    value = hex(i * 2654435761, 8).repeat(8);
    fields = { file: { hash: { sha256: value } } };
  }
  return {
    '@timestamp': stamp,
    threat: { indicator: { ...fields, type, provider: [`provider-${i % 7}`], confidence: 'High', first_seen: stamp, last_seen: stamp, modified_at: stamp } } as LatestIndicator['threat'],
    nyx: { indicator: { key: `${type}:${value}`, value, providers: [`provider-${i % 7}`], feeds: [`feed${i % 5}`], confidence_score: 30 + (i % 70), expires_at: expires, active: true, revoked: false, ...(cidr ? { cidr } : {}) } },
  };
}

function* indicators(from: number, to: number): Generator<LatestIndicator> {
  const stamp = new Date().toISOString();
  const expires = new Date(Date.now() + 30 * 86_400_000).toISOString();
  for (let i = from; i < to; i++) yield syntheticIndicator(i, stamp, expires);
}

/** Agent events of the usual mix; about 1 in 100 carries a value from the indicator set. */
function agentEvents(total: number, indicatorCount: number): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  const stamp = new Date().toISOString();
  for (let i = 0; i < total; i++) {
    const hit = i % 100 === 0 ? syntheticIndicator((i * 7919) % indicatorCount, stamp, stamp) : undefined;
    const ts = new Date(Date.UTC(2026, 2, 1) + i * 10).toISOString();
    const base = { ts, host: 'bench-host', user: 'root', seq: i };
    if (i % 4 === 0) out.push({ ...base, category: 'network', ip: '10.0.0.5', dst_ip: hit?.threat.indicator.ip ?? `198.51.100.${i % 250}`, dst_port: 443, transport: 'TCP', domain: hit?.threat.indicator.domain ?? `cdn${i % 50}.example.org` });
    else if (i % 4 === 1) out.push({ ...base, category: 'file_activity', action: 'download', path: `/tmp/f${i}`, sha256: hit?.threat.indicator.file?.hash.sha256 ?? hex(i, 8).repeat(8), url: hit?.threat.indicator.url?.full ?? `https://example.org/${i}` });
    else if (i % 4 === 2) out.push({ ...base, category: 'commandline', cmd: `/usr/bin/curl -s https://example.org/${i}`, parent: '/bin/bash', pid: 1000 + (i % 30000) });
    else out.push({ ...base, category: 'user_activity', action: i % 3 ? 'failed_login' : 'login', user: `user${i % 50}` });
  }
  return out;
}

export async function run(args: string[]): Promise<object> {
  const indicatorCount = option(args, 'indicators', 1_000_000);
  const total = option(args, 'events', 40_000);
  const batchSize = option(args, 'batch', 1_000);
  const rounds = option(args, 'rounds', 4);
  const updateCount = option(args, 'update', 10_000);
  const config = configSchema.parse({ elasticsearch: { url: process.env.ELASTICSEARCH_URL } });
  const ctx = await connectElastic(config, {});
  await runBootstrap(ctx, config).catch((err: Error) => process.stderr.write(`# bootstrap: ${err.message} (continuing)\n`));
  const stamp = Date.now() % 1_000_000;
  const ns = `bench_enr_${stamp}`;
  const store = new IndicatorStore(ctx.client, ns);
  const live = new LiveIndicatorSet(store, warningListFromConfig(config));
  await live.refresh(); // empty store: sets the cursor, so later reads are incremental

  // 1. Memory of the set.
  const before = settledMemory();
  let t = performance.now();
  let n = 0;
  const chunk: LatestIndicator[] = [];
  for (const ind of indicators(0, indicatorCount)) {
    chunk.push(ind);
    if (chunk.length === 10_000) {
      live.apply(chunk);
      n += chunk.length;
      chunk.length = 0;
      if (n % 200_000 === 0) process.stderr.write(`# loaded ${n}/${indicatorCount} indicators\n`);
    }
  }
  live.apply(chunk);
  const loadMs = performance.now() - t;
  const setBytes = settledMemory() - before;
  const setMb = Math.round((setBytes / 1024 / 1024) * 10) / 10;
  process.stderr.write(`# ${live.set.size} values in ${Math.round(loadMs)} ms, ${setMb} MB\n`);

  // 2. Ingest with vs without the hook, alternating rounds over disjoint event slices.
  const events = agentEvents(total, indicatorCount);
  const pipelines = SourcePipelines.create(config, ctx.caps);
  const agent = { agentId: 'bench-agent', namespace: ns, hostname: 'bench-host' };
  const routed = events.map((e) => {
    const checked = validateEvent(e);
    if (!checked.ok) throw new Error(`bench event invalid: ${checked.field}: ${checked.reason}`);
    const r = routeEvent(agent, checked.event);
    if (!r.ok) throw new Error(r.reason);
    return { doc: r.doc, id: r.id };
  });
  const hook = indicatorEnrichmentHook(live, { highConfidence: 75, raisedSeverity: 73 }, warningListFromConfig(config));
  // Warm-up: both data streams exist and the pipeline is compiled before anything is timed.
  for (const mode of ['on', 'off']) await sendPreparedEvents(ctx.client, prepareSourceEvents(pipelines, { source: 'endpoint', namespace: `${ns}_${mode}`, events: routed.slice(0, 200).map((e) => ({ doc: e.doc, id: `warm-${e.id}` })) }));
  const times = { on: 0, off: 0 };
  const counts = { on: 0, off: 0 };
  let tagged = 0;
  const perRound = Math.ceil(routed.length / rounds / 2);
  for (let r = 0; r < rounds; r++) {
    for (const mode of (r % 2 ? ['off', 'on'] : ['on', 'off']) as Array<'on' | 'off'>) {
      const startAt = (r * 2 + (mode === 'on' ? 0 : 1)) * perRound;
      const slice = routed.slice(startAt, startAt + perRound);
      const nsMode = `${ns}_${mode}`;
      t = performance.now();
      for (let i = 0; i < slice.length; i += batchSize) {
        const prepared = prepareSourceEvents(pipelines, { source: 'endpoint', namespace: nsMode, events: slice.slice(i, i + batchSize) });
        if (mode === 'on') await hook.onEvents!(prepared.docs.map((d) => d.doc), { namespace: nsMode, source: 'endpoint', dataStream: prepared.dataStream, agentId: agent.agentId, normalised: true });
        if (mode === 'on') tagged += prepared.docs.filter((d) => Array.isArray(d.doc.tags) && (d.doc.tags as string[]).some((x) => x.startsWith('ioc:'))).length;
        const report = await sendPreparedEvents(ctx.client, prepared);
        counts[mode] += report.indexed;
      }
      times[mode] += (performance.now() - t) / 1000;
    }
    process.stderr.write(`# round ${r + 1}/${rounds}: on ${Math.round(counts.on / times.on)}/s, off ${Math.round(counts.off / times.off)}/s\n`);
  }
  // The matcher alone, no pipeline, no Elasticsearch: what the hook costs per event.
  const docs = prepareSourceEvents(pipelines, { source: 'endpoint', namespace: ns, events: routed.slice(0, 20_000) }).docs.map((d) => d.doc);
  t = performance.now();
  for (const d of docs) enrichDocument(d, live.set, { highConfidence: 75, raisedSeverity: 73 });
  const matcherRate = Math.round(docs.length / ((performance.now() - t) / 1000));

  // 3. Incremental update of `updateCount` indicators: in memory, and read through the store.
  const update = [...indicators(indicatorCount, indicatorCount + updateCount)];
  t = performance.now();
  live.apply(update);
  const applyMs = Math.round((performance.now() - t) * 10) / 10;
  const feedRows: FeedIndicator[] = [...indicators(indicatorCount + updateCount, indicatorCount + 2 * updateCount)].map((ind) => ({
    feed: 'bench',
    type: ind.threat.indicator.type,
    value: ind.nyx.indicator.value,
    provider: 'bench',
    confidence: ind.nyx.indicator.confidence_score,
    ...(ind.nyx.indicator.cidr ? { cidr: true } : {}),
    ...(ind.threat.indicator.type === 'file' ? { hash: 'sha256' as const } : {}),
  }));
  t = performance.now();
  for (let i = 0; i < feedRows.length; i += 2_000) await store.upsert(feedRows.slice(i, i + 2_000));
  await store.refresh();
  const upsertMs = Math.round(performance.now() - t);
  t = performance.now();
  const refreshed = await live.refresh();
  const refreshMs = Math.round(performance.now() - t);
  process.stderr.write(`# incremental: ${updateCount} applied in memory in ${applyMs} ms; store read of ${refreshed.read} changes + apply in ${refreshMs} ms (full reload: ${refreshed.full})\n`);

  await ctx.client.indices.deleteDataStream({ name: `logs-endpoint-${ns}_*` }).catch(() => undefined);
  await ctx.client.indices.delete({ index: `nyx-ti-latest-${ns},logs-ti_nyx.*-${ns}`, ignore_unavailable: true }).catch(() => undefined);
  const on = Math.round(counts.on / times.on);
  const off = Math.round(counts.off / times.off);
  return {
    bench: 'enrichment',
    indicators: indicatorCount,
    values_in_set: live.set.size,
    set_memory_mb: setMb,
    set_memory_target_mb: 300,
    set_load_ms: Math.round(loadMs),
    events_per_round_mode: perRound,
    ingest_events_per_s_enrichment_on: on,
    ingest_events_per_s_enrichment_off: off,
    ratio_on_vs_off: Math.round((on / off) * 1000) / 1000,
    ratio_target: 0.9,
    events_tagged: tagged,
    matcher_only_events_per_s: matcherRate,
    incremental_update: { indicators: updateCount, apply_in_memory_ms: applyMs, store_upsert_ms: upsertMs, store_read_and_apply_ms: refreshMs, read: refreshed.read, full_reload: refreshed.full },
  };
}
