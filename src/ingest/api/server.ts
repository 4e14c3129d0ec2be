import type { FastifyInstance } from 'fastify';
import type { LoadedConfig } from '../../config/index.ts';
import type { ElasticContext } from '../../elastic/connect.ts';
import type { NyxService, RunningService } from '../../services/index.ts';
import { AgentDownloads, createAgentRegistry } from '../../agents/index.ts';
import { issueAgentBundle } from '../../shipper/bundle.ts';
import { SourcePipelines } from '../source-pipelines.ts';
import { EventIngestor } from '../event-ingestor.ts';
import { ingestHooks } from '../hooks.ts';
import { IngestMetrics } from '../metrics.ts';
import { buildIngestApi } from './app.ts';

export interface RunningIngestApi extends RunningService {
  url: string;
  app: FastifyInstance;
}

/** Builds the ingest API over a connected cluster and listens where config says (or `listen` overrides). */
export async function startIngestApi(ctx: ElasticContext, loaded: LoadedConfig, listen: { host?: string; port?: number } = {}): Promise<RunningIngestApi> {
  const { config, secrets } = loaded;
  const settings = { ...config.serve, ...(listen.host ? { host: listen.host } : {}), ...(listen.port !== undefined ? { port: listen.port } : {}) };
  const metrics = new IngestMetrics();
  const shape = { maxDepth: config.serve.max_event_depth, maxFields: config.serve.max_event_fields };
  const ingestor = new EventIngestor({
    client: ctx.client,
    pipelines: SourcePipelines.create(config, ctx.caps),
    hooks: ingestHooks,
    metrics,
    shape,
    writeWaitSeconds: settings.write_wait_seconds,
  });
  const registry = createAgentRegistry(ctx.client, config, { onLookup: (what, found) => metrics.authLookups.inc({ what, found: String(found) }) });
  const downloads = new AgentDownloads(ctx.client);
  const app = await buildIngestApi({
    settings,
    client: ctx.client,
    registry,
    ingestor,
    metrics,
    ...(secrets.operatorToken ? { operatorToken: secrets.operatorToken } : {}),
    bundles: secrets.operatorToken
      ? {
          operatorToken: secrets.operatorToken,
          // The same bundle as `nyx agent bundle`, with a fresh 24 h token made for this download.
          builder: {
            async build({ platform, namespace, server, operator }) {
              const bundle = await issueAgentBundle(registry, { platform, namespace, server, description: `agent bundle (${platform}) downloaded by ${operator}` });
              if (!bundle.tokenId || !bundle.tokenExpiresAt) throw new Error('the bundle carries no fresh token');
              return { ...bundle, tokenId: bundle.tokenId, tokenExpiresAt: bundle.tokenExpiresAt };
            },
            revokeToken: (tokenId) => registry.revokeToken(tokenId),
          },
          audit: downloads,
        }
      : {},
  });
  await app.listen({ host: settings.host, port: settings.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : settings.port;
  const host = settings.host.includes(':') ? `[${settings.host}]` : settings.host;
  const url = `http://${host}:${port}`;
  return { url, app, describe: `ingest API on ${url}`, stop: () => app.close() };
}

/** `nyx up` runs this; `nyx serve` runs it alone. */
export const ingestApiService: NyxService = {
  name: 'ingest API',
  start: (ctx, loaded) => startIngestApi(ctx, loaded),
};
