import type { Client } from '@elastic/elasticsearch';
import type { NyxConfig } from '../config/index.ts';
import { AgentRegistry, type AgentRegistryOptions } from './registry.ts';

export {
  AgentRegistry,
  AgentAuthError,
  EnrollmentContendedError,
  parseTtl,
  parseMaxUses,
  AGENTS_INDEX,
  TOKENS_INDEX,
  MAX_TOKEN_USES,
  type AgentAuthFailure,
  type AgentIdentity,
  type AgentRecord,
  type TokenRecord,
  type AgentStatus,
  type TokenStatus,
} from './registry.ts';
export { BoundedCache } from './bounded-cache.ts';

/** The registry as configured (auth caches, stale threshold): CLI and server build it the same way. */
export function createAgentRegistry(client: Client, config: NyxConfig, extra: Pick<AgentRegistryOptions, 'onLookup'> = {}): AgentRegistry {
  const auth = config.serve.auth_rate_limit;
  return new AgentRegistry(client, {
    authCacheMs: config.serve.auth_cache_ms,
    staleAfterMs: config.serve.agent_stale_after_seconds * 1000,
    unknownIdCacheMs: auth.unknown_key_cache_seconds * 1000,
    maxCachedIds: auth.max_tracked,
    ...extra,
  });
}
export { AgentDownloads, DOWNLOADS_INDEX, type DownloadRecord } from './downloads.ts';
