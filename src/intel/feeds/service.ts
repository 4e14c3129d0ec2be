import type { LoadedConfig } from '../../config/index.ts';
import type { ElasticContext } from '../../elastic/connect.ts';
import type { NyxService, RunningService } from '../../services/index.ts';
import { loadWarningLists } from '../normalize/index.ts';
import { loadFeedDefinitions } from './definitions.ts';
import { FeedScheduler } from './scheduler.ts';
import type { FeedRuntime } from './runner.ts';

export function feedRuntime(ctx: ElasticContext, loaded: LoadedConfig, progress?: (line: string) => void): FeedRuntime {
  const intel = loaded.config.intel;
  return {
    client: ctx.client,
    namespace: loaded.config.namespace,
    intel,
    warnings: loadWarningLists(intel.feeds_dir, { addresses: intel.own_addresses, domains: intel.own_domains }),
    env: process.env,
    ...(progress ? { progress } : {}),
  };
}

export async function startFeedSchedule(ctx: ElasticContext, loaded: LoadedConfig, options: { runNow?: boolean } = {}): Promise<RunningService & { scheduler: FeedScheduler }> {
  const feeds = loadFeedDefinitions(loaded.config.intel.feeds_dir);
  const scheduler = new FeedScheduler(feedRuntime(ctx, loaded), feeds);
  scheduler.start(options);
  const enabled = feeds.filter((f) => f.enabled).length;
  return { describe: `threat-intel feeds: ${enabled} on schedule (from ${loaded.config.intel.feeds_dir}/)`, stop: () => scheduler.stop(), scheduler };
}

/** `nyx up` runs the feed schedule as one of its services. */
export const feedsService: NyxService = {
  name: 'feeds',
  start: (ctx, loaded) => startFeedSchedule(ctx, loaded),
};
