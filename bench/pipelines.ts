// Indexes the same N events (default 100k) per source through Nyx's source pipeline and, side by side,
// raw into a no-pipeline index on the same node; prints events/s for each and their ratio.
import { Client } from '@elastic/elasticsearch';
import { loadConfig, SOURCES, type Source } from '../src/config/index.ts';
import { connectElastic } from '../src/elastic/connect.ts';
import { runBootstrap } from '../src/bootstrap/index.ts';
import { SourcePipelines } from '../src/ingest/source-pipelines.ts';
import { writeSourceEvents } from '../src/ingest/bulk-writer.ts';
import { loadSourceFixtures } from '../test/support/fixtures.ts';

/** The source's test fixtures, as the raw documents a shipper would send. */
function sampleEvents(source: Source): Array<Record<string, unknown>> {
  return loadSourceFixtures(source).map((f) => f.doc);
}

export async function run(args: string[]): Promise<object> {
  const total = Number(args.find((a) => /^\d+$/.test(a)) ?? 100_000);
  const batch = 2_000;
  const { config, secrets } = loadConfig({ env: { ELASTICSEARCH_URL: process.env.ELASTICSEARCH_URL! } });
  const ctx = await connectElastic(config, secrets);
  await runBootstrap(ctx, config);
  const pipelines = SourcePipelines.create(config, ctx.caps);
  const client: Client = ctx.client;
  const results: Record<string, unknown> = {};
  let nyxSum = 0;
  let rawSum = 0;
  for (const source of SOURCES) {
    const samples = sampleEvents(source);
    if (samples.length === 0) continue;
    const events = Array.from({ length: total }, (_, i) => structuredClone(samples[i % samples.length]!));
    const ns = `bench${Date.now() % 100000}`;
    const rawIndex = `bench-raw-${source}-${ns}`;
    await client.indices.create({ index: rawIndex, settings: { number_of_replicas: 0 } });

    let t = performance.now();
    for (let i = 0; i < total; i += batch) {
      await client.bulk({ operations: events.slice(i, i + batch).flatMap((doc) => [{ create: { _index: rawIndex } }, doc]) });
    }
    const rawSecs = (performance.now() - t) / 1000;

    t = performance.now();
    for (let i = 0; i < total; i += batch) {
      await writeSourceEvents(client, pipelines, { source, namespace: ns, events: events.slice(i, i + batch).map((doc) => ({ doc })) });
    }
    const nyxSecs = (performance.now() - t) / 1000;
    const nyx = Math.round(total / nyxSecs);
    const raw = Math.round(total / rawSecs);
    nyxSum += nyx;
    rawSum += raw;
    results[source] = { pipeline: pipelines.runsInCluster(source) ? 'elasticsearch' : 'in-process', nyx_events_per_s: nyx, raw_events_per_s: raw, ratio: Number((nyx / raw).toFixed(2)) };
    process.stderr.write(`# ${source}: nyx ${nyx}/s, raw _bulk ${raw}/s\n`);
    await client.indices.delete({ index: rawIndex });
    await client.indices.deleteDataStream?.({ name: `logs-${source}-${ns}` }).catch(() => undefined);
  }
  return { benchmark: 'pipelines', events_per_source: total, sources: results, ratio: Number((nyxSum / rawSum).toFixed(2)) };
}
