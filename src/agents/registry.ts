import { errors, type Client } from '@elastic/elasticsearch';
import { z } from 'zod';
import { NyxError } from '../errors.ts';
import { getLogger } from '../log/logger.ts';
import { issueSecret, parseSecret, secretMatches } from './secrets.ts';

export const AGENTS_INDEX = 'nyx-agents';
export const TOKENS_INDEX = 'nyx-enrollment-tokens';

const namespaceSchema = z.string().regex(/^[a-z0-9_]{1,100}$/, 'expected lowercase letters, digits and _ (a data-stream namespace)');

/** Stored documents are validated on the way out too: a hand-edited record fails loudly, not strangely. */
const tokenRecordSchema = z.object({
  token_id: z.string(),
  token_hash: z.string(),
  namespace: namespaceSchema,
  description: z.string().optional(),
  created_at: z.string(),
  expires_at: z.string(),
  revoked_at: z.string().optional(),
});
export type TokenRecord = z.infer<typeof tokenRecordSchema>;

const agentRecordSchema = z.object({
  agent_id: z.string(),
  key_hash: z.string(),
  namespace: namespaceSchema,
  hostname: z.string(),
  os: z.string(),
  ip: z.string(),
  version: z.string(),
  token_id: z.string(),
  enrolled_at: z.string(),
  last_seen: z.string().optional(),
  revoked_at: z.string().optional(),
});
export type AgentRecord = z.infer<typeof agentRecordSchema>;

/** What an agent sends to enroll. Strings are bounded so a hostile client cannot store megabytes. */
export const enrollRequestSchema = z
  .object({
    token: z.string().min(1).max(256),
    hostname: z.string().min(1).max(255),
    os: z.string().min(1).max(255),
    ip: z.string().min(1).max(64),
    version: z.string().min(1).max(64),
  })
  .strict();
export type EnrollRequest = z.infer<typeof enrollRequestSchema>;

export type AgentStatus = 'online' | 'stale' | 'revoked';
export type TokenStatus = 'active' | 'expired' | 'revoked';

/** Why a token or key was refused; the API maps it to 401/403 and a message that names it. */
export class AgentAuthError extends Error {
  constructor(readonly reason: 'malformed' | 'unknown' | 'expired' | 'revoked', what: 'enrollment token' | 'agent key') {
    super(reason === 'malformed' ? `${what} is malformed` : `${what} is ${reason === 'unknown' ? 'not known' : reason}`);
    this.name = 'AgentAuthError';
  }
}

/** The authenticated sender of an ingest request. */
export interface AgentIdentity {
  agentId: string;
  namespace: string;
  hostname: string;
}

export interface AgentRegistryOptions {
  /** How long a verified key's record is reused before it is read again. */
  authCacheMs?: number;
  staleAfterMs?: number;
  /** last_seen is written at most this often per agent. */
  touchEveryMs?: number;
  now?: () => Date;
}

const TTL_PATTERN = /^(\d+)\s*(s|m|h|d)$/;
const TTL_UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
export const MAX_TOKEN_TTL_MS = 30 * 86_400_000;

/** "24h", "30m", "7d" → milliseconds; bounded so a token cannot live forever by accident. */
export function parseTtl(ttl: string): number {
  const m = TTL_PATTERN.exec(ttl.trim());
  if (!m) throw new NyxError(`--ttl ${ttl}: expected a duration such as 30m, 24h or 7d`);
  const ms = Number(m[1]) * TTL_UNIT_MS[m[2] as keyof typeof TTL_UNIT_MS];
  if (ms <= 0 || ms > MAX_TOKEN_TTL_MS) throw new NyxError(`--ttl ${ttl}: expected between 1s and 30d`);
  return ms;
}

function isNotFound(err: unknown): boolean {
  return err instanceof errors.ResponseError && err.statusCode === 404;
}

/**
 * Enrollment tokens and agents, stored in Elasticsearch (services stay stateless, replicas share them).
 * Secrets are kept only as hashes and compared in constant time.
 */
export class AgentRegistry {
  private readonly cache = new Map<string, { record: AgentRecord; fetchedAt: number }>();
  private readonly touchedAt = new Map<string, number>();
  private readonly authCacheMs: number;
  private readonly staleAfterMs: number;
  private readonly touchEveryMs: number;
  private readonly now: () => Date;
  private readonly log = getLogger('agents');

  constructor(private readonly client: Client, options: AgentRegistryOptions = {}) {
    this.authCacheMs = options.authCacheMs ?? 5_000;
    this.staleAfterMs = options.staleAfterMs ?? 600_000;
    this.touchEveryMs = options.touchEveryMs ?? 30_000;
    this.now = options.now ?? (() => new Date());
  }

  async createToken(input: { namespace: string; ttlMs: number; description?: string }): Promise<{ token: string; record: TokenRecord }> {
    const namespace = namespaceSchema.safeParse(input.namespace);
    if (!namespace.success) throw new NyxError(`--namespace ${input.namespace}: ${namespace.error.issues[0]?.message ?? 'invalid'}`);
    const issued = issueSecret('nyxet');
    const created = this.now();
    const record: TokenRecord = {
      token_id: issued.id,
      token_hash: issued.hash,
      namespace: namespace.data,
      ...(input.description ? { description: input.description } : {}),
      created_at: created.toISOString(),
      expires_at: new Date(created.getTime() + input.ttlMs).toISOString(),
    };
    await this.client.create({ index: TOKENS_INDEX, id: issued.id, document: record, refresh: 'wait_for' });
    return { token: issued.secret, record };
  }

  async listTokens(): Promise<Array<Omit<TokenRecord, 'token_hash'> & { status: TokenStatus }>> {
    const records = await this.searchAll(TOKENS_INDEX, tokenRecordSchema, 'created_at');
    return records.map(({ token_hash: _hash, ...t }) => ({ ...t, status: this.tokenStatus(t) }));
  }

  async revokeToken(tokenId: string): Promise<boolean> {
    return this.markRevoked(TOKENS_INDEX, tokenId);
  }

  /** Exchanges a valid enrollment token for a new agent id and key (the key is returned once, never stored). */
  async enroll(request: EnrollRequest): Promise<{ agent_id: string; agent_key: string; namespace: string }> {
    const parsed = parseSecret('nyxet', request.token);
    if (!parsed) throw new AgentAuthError('malformed', 'enrollment token');
    const token = await this.getRecord(TOKENS_INDEX, parsed.id, tokenRecordSchema);
    if (!token || !secretMatches(parsed.secret, token.token_hash)) throw new AgentAuthError('unknown', 'enrollment token');
    const status = this.tokenStatus(token);
    if (status !== 'active') throw new AgentAuthError(status, 'enrollment token');
    const issued = issueSecret('nyxak');
    const at = this.now().toISOString();
    const agent: AgentRecord = {
      agent_id: issued.id,
      key_hash: issued.hash,
      namespace: token.namespace,
      hostname: request.hostname,
      os: request.os,
      ip: request.ip,
      version: request.version,
      token_id: token.token_id,
      enrolled_at: at,
      last_seen: at,
    };
    await this.client.create({ index: AGENTS_INDEX, id: issued.id, document: agent, refresh: 'wait_for' });
    return { agent_id: issued.id, agent_key: issued.secret, namespace: token.namespace };
  }

  /** Verifies an agent key. Throws AgentAuthError; Elasticsearch errors propagate (the API answers 503). */
  async authenticate(presentedKey: string): Promise<AgentIdentity> {
    const parsed = parseSecret('nyxak', presentedKey);
    if (!parsed) throw new AgentAuthError('malformed', 'agent key');
    const record = await this.agentRecord(parsed.id);
    if (!record || !secretMatches(parsed.secret, record.key_hash)) throw new AgentAuthError('unknown', 'agent key');
    if (record.revoked_at) throw new AgentAuthError('revoked', 'agent key');
    this.touch(record.agent_id);
    return { agentId: record.agent_id, namespace: record.namespace, hostname: record.hostname };
  }

  async listAgents(): Promise<Array<Omit<AgentRecord, 'key_hash'> & { status: AgentStatus }>> {
    const records = await this.searchAll(AGENTS_INDEX, agentRecordSchema, 'enrolled_at');
    return records.map(({ key_hash: _hash, ...a }) => ({ ...a, status: this.agentStatus(a) }));
  }

  async revokeAgent(agentId: string): Promise<boolean> {
    this.cache.delete(agentId);
    return this.markRevoked(AGENTS_INDEX, agentId);
  }

  agentStatus(agent: Pick<AgentRecord, 'revoked_at' | 'last_seen' | 'enrolled_at'>): AgentStatus {
    if (agent.revoked_at) return 'revoked';
    const seen = Date.parse(agent.last_seen ?? agent.enrolled_at);
    return this.now().getTime() - seen <= this.staleAfterMs ? 'online' : 'stale';
  }

  tokenStatus(token: Pick<TokenRecord, 'revoked_at' | 'expires_at'>): TokenStatus {
    if (token.revoked_at) return 'revoked';
    return Date.parse(token.expires_at) <= this.now().getTime() ? 'expired' : 'active';
  }

  private async agentRecord(agentId: string): Promise<AgentRecord | undefined> {
    const cached = this.cache.get(agentId);
    const nowMs = Date.now();
    if (cached && nowMs - cached.fetchedAt < this.authCacheMs) return cached.record;
    const record = await this.getRecord(AGENTS_INDEX, agentId, agentRecordSchema);
    if (record && this.authCacheMs > 0) this.cache.set(agentId, { record, fetchedAt: nowMs });
    return record;
  }

  /** Records last_seen without holding up the request; a failed write only delays the "online" status. */
  private touch(agentId: string): void {
    const nowMs = Date.now();
    if (nowMs - (this.touchedAt.get(agentId) ?? 0) < this.touchEveryMs) return;
    this.touchedAt.set(agentId, nowMs);
    this.client
      .update({ index: AGENTS_INDEX, id: agentId, doc: { last_seen: this.now().toISOString() }, retry_on_conflict: 3 })
      .catch((err: Error) => this.log.warn({ err, agent: { id: agentId } }, 'could not record last_seen'));
  }

  private async getRecord<T>(index: string, id: string, schema: z.ZodType<T>): Promise<T | undefined> {
    try {
      const res = await this.client.get({ index, id });
      if (!res.found) return undefined;
      const parsed = schema.safeParse(res._source);
      if (!parsed.success) throw new NyxError(`${index}/${id}: stored record is invalid: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`);
      return parsed.data;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private async searchAll<T>(index: string, schema: z.ZodType<T>, sortField: string): Promise<T[]> {
    try {
      const res = await this.client.search({ index, size: 10_000, sort: [{ [sortField]: 'asc' }], query: { match_all: {} } });
      return res.hits.hits.flatMap((h) => {
        const parsed = schema.safeParse(h._source);
        return parsed.success ? [parsed.data] : [];
      });
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
  }

  private async markRevoked(index: string, id: string): Promise<boolean> {
    try {
      await this.client.update({ index, id, doc: { revoked_at: this.now().toISOString() }, refresh: 'wait_for' });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }
}
