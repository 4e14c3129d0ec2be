/**
 * Indicator enrichment: in stream (an ingest hook over an in-memory set kept current from the indicator
 * store) and at ingest in Elasticsearch (the nyx-ioc-enrichment pipeline's params, and its in-process twin).
 */
import type { LoadedConfig, NyxConfig } from '../../config/index.ts';
import { LeaseStore } from '../../coordination/index.ts';
import type { ElasticContext } from '../../elastic/connect.ts';
import { registerIngestHook } from '../../ingest/hooks.ts';
import { getLogger } from '../../log/logger.ts';
import type { NyxService, RunningService } from '../../services/index.ts';
import { IndicatorStore } from '../store/index.ts';
import { indicatorEnrichmentHook } from './hook.ts';
import { LiveIndicatorSet } from './live-set.ts';
import { applyIocPipelineParams, buildIocPipelineParams } from './pipeline-params.ts';
import { setIocMatchParams } from '../../ingest/ioc-match.ts';
import { WarningList } from './warning-list.ts';
import { RetroHunter, retroHuntOptionsFromConfig, type SightingCallback } from '../retro-hunt/index.ts';
import { mispSightingsFromConfig, type MispSightingPusher } from '../misp/sightings.ts';

export { IndicatorSet, type IndicatorHit } from './indicator-set.ts';
export { LiveIndicatorSet, type RefreshReport } from './live-set.ts';
export { WarningList } from './warning-list.ts';
export { enrichDocument, findMatches, ENRICHED_FIELDS, type EnrichmentMatch, type ThreatEnrichment, type EnrichOptions } from './enrich.ts';
export { indicatorEnrichmentHook } from './hook.ts';
export { buildIocPipelineParams, applyIocPipelineParams, iocPipelineStatus, type IocPipelineParams, type IocPipelineState } from './pipeline-params.ts';
export { indicatorAtoms, type IndicatorSource, type LatestIndicator } from './indicators.ts';

export function warningListFromConfig(config: NyxConfig): WarningList {
  return new WarningList(config.enrichment.warning_list);
}

export function enrichOptionsFromConfig(config: NyxConfig): { highConfidence: number; raisedSeverity: number } {
  return { highConfidence: config.enrichment.high_confidence, raisedSeverity: config.enrichment.raised_severity };
}

export interface RunningEnrichment extends RunningService {
  live: LiveIndicatorSet;
  /** Sightings pushed to MISP (when `intel.sightings` found an enabled misp feed with its key). */
  sightings?: MispSightingPusher;
}

/**
 * Starts in-stream enrichment for this process: loads the active set, registers the ingest hook, keeps the
 * set current, and after each change regenerates the pipeline params (one replica at a time, by lease;
 * every replica feeds its own in-process twin). `onChange` lets a caller (the retro-hunt) react too.
 * Sightings go to the configured MISP (`intel.sightings`, key from env) unless `onSighting` replaces them.
 */
export async function startIndicatorEnrichment(
  ctx: ElasticContext,
  loaded: LoadedConfig,
  options: { onChange?: () => Promise<void>; holder?: string; onSighting?: SightingCallback; env?: NodeJS.ProcessEnv } = {},
): Promise<RunningEnrichment> {
  const { config } = loaded;
  const log = getLogger('enrichment');
  const warningList = warningListFromConfig(config);
  const live = new LiveIndicatorSet(new IndicatorStore(ctx.client, config.namespace), warningList, { log });
  const first = await live.refresh();
  const leases = new LeaseStore(ctx.client, options.holder ?? `enrichment:${process.pid}:${Math.random().toString(36).slice(2, 8)}`);
  const regenerate = async (): Promise<void> => {
    const lease = await leases.acquire(`ioc-pipeline-${config.namespace}`, 5 * 60_000);
    if (lease) {
      const state = await applyIocPipelineParams(ctx, live.set, config.enrichment.pipeline_max_indicators);
      if (state.skip_reason) log.info(state.skip_reason);
      await leases.release(lease.name);
    } else {
      // Another replica writes the cluster pipeline; this one still feeds its own twin.
      setIocMatchParams(buildIocPipelineParams(live.set, config.enrichment.pipeline_max_indicators).params as unknown as Record<string, unknown>);
    }
  };
  await regenerate();
  const misp = options.onSighting ? undefined : mispSightingsFromConfig(config, options.env ?? process.env);
  const sightings = misp?.pusher;
  if (misp) log.info(misp.reason);
  const onSighting = options.onSighting ?? sightings?.retroHuntCallback();
  const hunter = config.enrichment.retro_hunt.enabled
    ? new RetroHunter(ctx.client, new IndicatorStore(ctx.client, config.namespace), retroHuntOptionsFromConfig(config, { warningList, ...(onSighting ? { onSighting } : {}) }))
    : undefined;
  const hunt = async (): Promise<void> => {
    const report = await hunter?.runOnce();
    if (report?.hits) log.info({ retro_hunt: { indicators: report.indicators, hits: report.hits, alerts: report.alertsCreated } }, 'retro-hunt found past events for new indicators');
  };
  // The first pass hunts the active set once (its cursor then makes later passes incremental).
  void hunt().catch((err: unknown) => log.warn({ err }, 'retro-hunt failed; it runs again at the next change'));
  const unregister = config.enrichment.in_stream ? registerIngestHook(indicatorEnrichmentHook(live, enrichOptionsFromConfig(config), warningList, config.intel.sightings.in_stream ? sightings : undefined)) : () => undefined;
  live.start(config.enrichment.refresh_seconds * 1000, async () => {
    await regenerate();
    await hunt().catch((err: unknown) => log.warn({ err }, 'retro-hunt failed; it runs again at the next change'));
    await options.onChange?.();
  });
  return {
    live,
    ...(sightings ? { sightings } : {}),
    describe: `indicator enrichment: ${live.set.size} active values${config.enrichment.in_stream ? '' : ' (in-stream matching off)'}, refresh every ${config.enrichment.refresh_seconds}s (first read ${first.read}); ${misp?.reason ?? 'sightings to the caller'}`,
    async stop() {
      unregister();
      await live.stop();
      if (sightings) {
        const stats = await sightings.stop();
        log.info({ misp_sightings: stats }, 'MISP sightings stopped');
      }
    },
  };
}

/** `nyx up` runs this beside the ingest API, so `nyx serve`'s hooks see it in the same process. */
export const indicatorEnrichmentService: NyxService = {
  name: 'indicator-enrichment',
  start: (ctx, loaded) => startIndicatorEnrichment(ctx, loaded),
};
