import { readEnvSecret } from '../../config/index.ts';
import type { NyxConfig } from '../../config/index.ts';
import { loadFeedDefinitions } from '../feeds/definitions.ts';
import { MispClient } from './client.ts';

/**
 * The MISP client of the configured `kind: misp` feed (the named one, or the first enabled), with its key
 * from the env var the feed names — for pushing sightings and alert events without handling secrets.
 * Undefined when no MISP feed is configured or its key is not set.
 */
export function mispClientFromConfig(config: NyxConfig, env: NodeJS.ProcessEnv = process.env, feedName?: string): MispClient | undefined {
  const feed = loadFeedDefinitions(config.intel.feeds_dir).find((f) => f.kind === 'misp' && (feedName ? f.name === feedName : f.enabled));
  if (!feed?.auth) return undefined;
  let key: string | undefined;
  try {
    key = readEnvSecret(env, feed.auth.env);
  } catch {
    return undefined;
  }
  if (!key) return undefined;
  return new MispClient({ url: feed.url, apiKey: key, timeoutMs: feed.limits.timeout_ms, retries: feed.limits.retries, maxRetryAfterS: feed.limits.max_retry_after_s, authEnv: feed.auth.env });
}
