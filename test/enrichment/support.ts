import { configSchema, type NyxConfig } from '../../src/config/index.ts';
import { connectElastic, type ElasticContext } from '../../src/elastic/connect.ts';
import { runBootstrap, NYX_VERSION } from '../../src/bootstrap/index.ts';
import { buildDesiredAssets } from '../../src/bootstrap/desired.ts';
import { planAssets, applyPlan } from '../../src/bootstrap/plan.ts';
import { loadAssetCatalog, DEFAULT_ASSETS_DIR } from '../../src/assets/catalog.ts';
import { SourcePipelines } from '../../src/ingest/source-pipelines.ts';
import { prepareSourceEvents, sendPreparedEvents, type WriteReport } from '../../src/ingest/bulk-writer.ts';
import type { IngestHook } from '../../src/ingest/hooks.ts';
import { routeEvent } from '../../src/ingest/agent-events.ts';
import { validateEvent } from '../../src/ingest/event-contract.ts';
import type { FeedIndicator } from '../../src/intel/store/index.ts';
import { testElasticUrl } from '../support/elastic.ts';

export function enrichmentConfig(overrides: Record<string, unknown> = {}, namespace = 'default'): NyxConfig {
  return configSchema.parse({ elasticsearch: { url: testElasticUrl(), connect_wait_ms: 5000 }, namespace, enrichment: overrides });
}

let cluster: Promise<ElasticContext> | undefined;

/** The suite's cluster with the data model installed (once per file). */
export function bootstrapped(): Promise<ElasticContext> {
  cluster ??= (async () => {
    const config = enrichmentConfig();
    const ctx = await connectElastic(config, {});
    try {
      await runBootstrap(ctx, config);
    } catch (err) {
      // Another capability's asset being broken must not hide ours: apply the rest one by one.
      process.stderr.write(`# bootstrap: ${(err as Error).message}; applying the remaining assets one by one\n`);
      const desired = buildDesiredAssets(loadAssetCatalog(DEFAULT_ASSETS_DIR), config, ctx.caps);
      for (const asset of desired) {
        const plan = await planAssets(ctx.client, [asset], ctx.target);
        await applyPlan(ctx.client, [asset], plan, NYX_VERSION, ctx.target).catch(() => undefined);
      }
    }
    return ctx;
  })();
  return cluster;
}

/** A feed report as the indicator store takes it. */
export function feedIndicator(type: FeedIndicator['type'], value: string, extra: Partial<FeedIndicator> = {}): FeedIndicator {
  return { feed: 'testfeed', type, value, provider: 'Test Provider', confidence: 90, ...(type === 'file' ? { hash: 'sha256' as const } : {}), ...extra };
}

/**
 * What `POST /api/ingest` does with agent events, minus HTTP: validate, route, run the endpoint pipeline
 * in process, run `hook.onEvents`, then bulk-create. Returns the write report.
 */
export async function ingestAgentEvents(ctx: ElasticContext, config: NyxConfig, namespace: string, events: Array<Record<string, unknown>>, hook?: IngestHook): Promise<WriteReport> {
  const pipelines = SourcePipelines.create(config, ctx.caps);
  const agent = { agentId: 'agent-test', namespace, hostname: 'host-a' };
  const routed = events.map((e, i) => {
    const checked = validateEvent({ seq: i, host: 'host-a', ...e });
    if (!checked.ok) throw new Error(`test event invalid: ${checked.field}: ${checked.reason}`);
    const r = routeEvent(agent, checked.event);
    if (!r.ok) throw new Error(r.reason);
    return { doc: r.doc, id: `${namespace}-${i}-${Date.now()}` };
  });
  const prepared = prepareSourceEvents(pipelines, { source: 'endpoint', namespace, events: routed });
  const normalised = !pipelines.runsInCluster('endpoint');
  await hook?.onEvents?.(prepared.docs.map((d) => d.doc), { namespace, source: 'endpoint', dataStream: prepared.dataStream, agentId: agent.agentId, normalised });
  return sendPreparedEvents(ctx.client, prepared, 'wait_for');
}

export async function storedEvents(ctx: ElasticContext, namespace: string): Promise<Array<Record<string, unknown>>> {
  const res = await ctx.client.search<Record<string, unknown>>({ index: `logs-endpoint-${namespace}`, size: 100, sort: [{ '@timestamp': 'asc' }] });
  return res.hits.hits.map((h) => h._source!);
}
