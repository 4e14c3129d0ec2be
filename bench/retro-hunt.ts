// Retro-hunt sweep: N stored events (default 1,000,000, written straight into a data stream as ECS documents)
// swept for M new indicators (default 100,000; about 1 in 100 present in the events) with Nyx's batched
// terms queries, vs one naive terms query per indicator on the same node. The naive baseline runs on a sample
// (--naive-sample, default 3,000 indicators) and is extrapolated linearly to M; --naive-full runs all M.
// Args: [--events 1000000] [--indicators 100000] [--chunk 10000] [--page 5000] [--naive-sample 3000] [--naive-full] [--keep]
import { configSchema } from '../src/config/index.ts';
import { connectElastic } from '../src/elastic/connect.ts';
import { runBootstrap } from '../src/bootstrap/index.ts';
import { retroHunt } from '../src/intel/retro-hunt/index.ts';
import { ENRICHED_FIELDS, type LatestIndicator } from '../src/intel/enrichment/index.ts';

function option(args: string[], name: string, fallback: number): number {
  const at = args.indexOf(`--${name}`);
  return at >= 0 && args[at + 1] ? Number(args[at + 1]) : fallback;
}

const hex = (n: number, len: number): string => (n >>> 0).toString(16).padStart(len, '0').slice(-len);
const ipOf = (i: number): string => `${20 + ((i >>> 16) & 127)}.${(i >>> 8) & 255}.${i & 255}.${(i * 13) & 255}`;
const domainOf = (i: number): string => `h${hex(i * 2654435761, 8)}.example`;
const hashOf = (i: number): string => hex(i * 40503, 8).repeat(8);

function indicatorOf(i: number, now: string, expires: string): LatestIndicator {
  const kind = i % 3;
  const [type, value, fields] =
    kind === 0 ? (['ipv4-addr', ipOf(i), { ip: ipOf(i) }] as const) : kind === 1 ? (['domain-name', domainOf(i), { domain: domainOf(i) }] as const) : (['file', hashOf(i), { file: { hash: { sha256: hashOf(i) } } }] as const);
  return {
    '@timestamp': now,
    threat: { indicator: { ...fields, type, provider: ['bench'], confidence: 'High', first_seen: now, last_seen: now, modified_at: now } } as LatestIndicator['threat'],
    nyx: { indicator: { key: `${type}:${value}`, value, providers: ['bench'], feeds: ['bench'], confidence_score: 80, expires_at: expires, active: true, revoked: false } },
  };
}

export async function run(args: string[]): Promise<object> {
  const eventCount = option(args, 'events', 1_000_000);
  const indicatorCount = option(args, 'indicators', 100_000);
  const chunk = option(args, 'chunk', 10_000);
  const page = option(args, 'page', 5_000);
  const naiveSample = args.includes('--naive-full') ? indicatorCount : Math.min(option(args, 'naive-sample', 3_000), indicatorCount);
  const config = configSchema.parse({ elasticsearch: { url: process.env.ELASTICSEARCH_URL } });
  const ctx = await connectElastic(config, {});
  await runBootstrap(ctx, config).catch((err: Error) => process.stderr.write(`# bootstrap: ${err.message} (continuing)\n`));
  const ns = `bench_rh_${Date.now() % 1_000_000}`;
  const stream = `logs-endpoint-${ns}`;
  const now = Date.now();

  // Events: every 100th carries a value of one of the indicators (index (i/100)*(M/(N/100)) spread over M).
  let t = performance.now();
  const step = Math.max(1, Math.floor(indicatorCount / Math.max(1, Math.floor(eventCount / 100))));
  let planted = 0;
  for (let from = 0; from < eventCount; from += 5_000) {
    const operations: unknown[] = [];
    for (let i = from; i < Math.min(eventCount, from + 5_000); i++) {
      const ts = new Date(now - 86_400_000 * 5 + Math.floor((i / eventCount) * 86_400_000 * 4)).toISOString();
      const bad = i % 100 === 0 ? ((i / 100) * step) % indicatorCount : -1;
      if (bad >= 0) planted++;
      const k = bad >= 0 ? bad % 3 : i % 3;
      const doc: Record<string, unknown> = { '@timestamp': ts, host: { name: `host-${i % 200}` }, event: { kind: 'event', category: ['network'] }, source: { ip: `10.${(i >>> 8) & 255}.${i & 255}.1` } };
      // Unrelated values come from a different range than the indicators (offset), so only planted ones match.
      if (k === 0) doc.destination = { ip: bad >= 0 ? ipOf(bad) : ipOf(indicatorCount * 3 + i), port: 443 };
      else if (k === 1) doc.destination = { ip: '192.0.2.1', domain: bad >= 0 ? domainOf(bad) : `ok${i}.example.org` };
      else doc.file = { hash: { sha256: bad >= 0 ? hashOf(bad) : hex(i * 7 + 3, 16).repeat(4) } };
      operations.push({ create: { _index: stream } }, doc);
    }
    const res = await ctx.client.bulk({ operations });
    if (res.errors) throw new Error(`event load failed: ${JSON.stringify(res.items.find((x) => x.create?.error)?.create?.error)}`);
    if ((from / 5_000) % 40 === 0) process.stderr.write(`# stored ${Math.min(eventCount, from + 5_000)}/${eventCount} events\n`);
  }
  await ctx.client.indices.refresh({ index: stream });
  await ctx.client.indices.forcemerge({ index: stream, max_num_segments: 1 }).catch(() => undefined);
  const loadS = Math.round((performance.now() - t) / 100) / 10;
  process.stderr.write(`# ${eventCount} events stored in ${loadS}s (${planted} carry an indicator value)\n`);

  const stamp = new Date().toISOString();
  const expires = new Date(now + 30 * 86_400_000).toISOString();
  const indicators = Array.from({ length: indicatorCount }, (_, i) => indicatorOf(i, stamp, expires));

  t = performance.now();
  const report = await retroHunt(ctx.client, indicators, { indices: `logs-*-${ns}`, days: 30, chunkSize: chunk, pageSize: page, namespace: ns, writeAlerts: false, progress: (l) => process.stderr.write(`# ${l}\n`) });
  const sweepS = (performance.now() - t) / 1000;
  process.stderr.write(`# batched sweep: ${report.hits} hits, ${report.queries} queries, ${sweepS.toFixed(2)}s\n`);

  // Naive: one terms query per indicator value over its fields (what a per-indicator rule does).
  const fieldsOf: Record<string, string[]> = { ip: [], domain: [], url: [], hash: [], email: [] };
  for (const [f, k] of ENRICHED_FIELDS) fieldsOf[k]!.push(f);
  const since = new Date(now - 30 * 86_400_000).toISOString();
  let naiveHits = 0;
  const latencies: number[] = [];
  t = performance.now();
  for (let i = 0; i < naiveSample; i++) {
    const ind = indicators[(Math.floor((i * indicatorCount) / naiveSample) + 7) % indicatorCount]!;
    const group = ind.threat.indicator.type === 'ipv4-addr' ? 'ip' : ind.threat.indicator.type === 'domain-name' ? 'domain' : 'hash';
    const q = performance.now();
    const res = await ctx.client.search({
      index: `logs-*-${ns}`,
      size: 100,
      track_total_hits: false,
      query: { bool: { filter: [{ range: { '@timestamp': { gte: since } } }], should: fieldsOf[group]!.map((f) => ({ terms: { [f]: [ind.nyx.indicator.value] } })), minimum_should_match: 1 } },
    });
    latencies.push(performance.now() - q);
    naiveHits += res.hits.hits.length;
  }
  const naiveS = (performance.now() - t) / 1000;
  const naiveExtrapolated = (naiveS * indicatorCount) / naiveSample;
  latencies.sort((a, b) => a - b);
  const pct = (p: number): number => Math.round(latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]! * 10) / 10;
  process.stderr.write(`# naive: ${naiveSample} queries in ${naiveS.toFixed(1)}s (${naiveHits} hits) → ${naiveExtrapolated.toFixed(0)}s for ${indicatorCount}\n`);

  if (!args.includes('--keep')) await ctx.client.indices.deleteDataStream({ name: stream }).catch(() => undefined);
  return {
    bench: 'retro-hunt',
    events: eventCount,
    new_indicators: indicatorCount,
    events_with_indicator_values: planted,
    batched: { seconds: Math.round(sweepS * 100) / 100, queries: report.queries, hits: report.hits, chunk, page },
    naive: { indicators_queried: naiveSample, seconds_measured: Math.round(naiveS * 100) / 100, seconds_for_all: Math.round(naiveExtrapolated * 10) / 10, extrapolated: naiveSample < indicatorCount, p50_ms: pct(50), p95_ms: pct(95), p99_ms: pct(99) },
    speedup_vs_naive: Math.round((naiveExtrapolated / sweepS) * 10) / 10,
    event_load_seconds: loadS,
  };
}
