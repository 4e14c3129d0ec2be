import type { Client } from '@elastic/elasticsearch';
import type { NyxConfig, Secrets } from '../config/index.ts';
import { createElasticClient, describeTarget, waitForCluster } from './client.ts';
import { detectCapabilities, type ClusterCapabilities } from './capabilities.ts';

/** A connected cluster: the client, where it points (for messages) and what it can do. */
export interface ElasticContext {
  client: Client;
  target: string;
  caps: ClusterCapabilities;
}

/** Connects with a bounded wait, then detects capabilities. Errors are one line naming the URL. */
export async function connectElastic(config: NyxConfig, secrets: Secrets, urlOverride?: string | string[]): Promise<ElasticContext> {
  const client = createElasticClient(config, secrets, urlOverride);
  const target = describeTarget(config, urlOverride);
  await waitForCluster(client, target, config.elasticsearch.connect_wait_ms);
  const caps = await detectCapabilities(client, target);
  return { client, target, caps };
}
