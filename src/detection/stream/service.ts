import type { NyxService } from '../../services/index.ts';
import { registerIngestHook } from '../../ingest/hooks.ts';
import { SourcePipelines } from '../../ingest/source-pipelines.ts';
import { getLogger } from '../../log/logger.ts';
import { createStreamDetector } from './hook.ts';
import { loadDetectionSetup } from './setup.ts';

/**
 * Plugs the stream matcher into the ingest API of this process (`nyx up`, `nyx serve`).
 * Start it before the ingest API so no event is taken before the rules are in place.
 */
export const streamDetectionService: NyxService = {
  name: 'stream detection',
  async start(ctx, loaded) {
    const { config } = loaded;
    if (!config.alerts.stream.enabled) return { describe: 'stream detection: off (alerts.stream.enabled)', stop: async () => {} };
    const setup = loadDetectionSetup(config);
    const log = getLogger('stream-detection');
    for (const e of setup.errors) log.warn(`rule not loaded: ${e.message}`);
    // Where Elasticsearch runs the source pipelines, the matcher sees the same pipeline's output computed here.
    const offline = SourcePipelines.offline(config);
    const detector = createStreamDetector({
      client: ctx.client,
      rules: setup.rules,
      correlations: setup.correlations,
      policy: setup.policy,
      refresh: config.alerts.stream.refresh,
      normalise: (source, doc, dataStream) => offline.normalise(source, structuredClone(doc), { _index: dataStream }).doc as Record<string, unknown>,
    });
    const unregister = registerIngestHook(detector);
    return {
      describe: `stream detection: ${setup.rules.length} Sigma rules and ${setup.correlations.correlations.length} correlations on every ingested event${setup.errors.length ? ` (${setup.errors.length} rules not loaded)` : ''}`,
      stop: async () => {
        unregister();
        detector.close();
      },
    };
  },
};
