import type { Client } from '@elastic/elasticsearch';
import type { NyxConfig } from '../config/index.ts';
import { AgentRegistry } from './registry.ts';

export { AgentRegistry, AgentAuthError, parseTtl, AGENTS_INDEX, TOKENS_INDEX, type AgentIdentity, type AgentRecord, type TokenRecord, type AgentStatus, type TokenStatus } from './registry.ts';

/** The registry as configured (auth cache, stale threshold): CLI and server build it the same way. */
export function createAgentRegistry(client: Client, config: NyxConfig): AgentRegistry {
  return new AgentRegistry(client, { authCacheMs: config.serve.auth_cache_ms, staleAfterMs: config.serve.agent_stale_after_seconds * 1000 });
}
export { AgentDownloads, DOWNLOADS_INDEX, type DownloadRecord } from './downloads.ts';
