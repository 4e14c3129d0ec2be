import { createHash } from 'node:crypto';
import { errors, type Client } from '@elastic/elasticsearch';
import { z } from 'zod';
import { NyxError } from '../errors.ts';
import { getLogger } from '../log/logger.ts';
import { BoundedCache } from './bounded-cache.ts';
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
  /** How many agents may enroll with it; a record from before uses were counted allows one. */
  max_uses: z.number().int().positive().default(1),
  uses: z.number().int().min(0).default(0),
  last_used_at: z.string().optional(),
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
    /**
     * A random id the agent keeps from before its first enrollment (its state directory). Enrolling again with
     * the same token and instance id gets the same agent a new key without using the token again, so an agent
     * killed between the server's answer and saving its key does not burn a one-use token.
     */
    instance_id: z
      .string()
      .regex(/^[A-Za-z0-9_-]{22,128}$/, 'expected 22-128 characters of A-Z, a-z, 0-9, _ or - (a random id the agent keeps)')
      .optional(),
  })
  .strict();
export type EnrollRequest = z.infer<typeof enrollRequestSchema>;

export type AgentStatus = 'online' | 'stale' | 'revoked';
export type TokenStatus = 'active' | 'used up' | 'expired' | 'revoked';

export type AgentAuthFailure = 'malformed' | 'unknown' | 'expired' | 'revoked' | 'used up';

const FAILURE_WORDING: Record<AgentAuthFailure, string> = {
  malformed: 'is malformed',
  unknown: 'is not known',
  expired: 'has expired',
  revoked: 'is revoked',
  'used up': 'is used up',
};

/** Why a token or key was refused; the API maps it to 401/403 and a message that names it. */
export class AgentAuthError extends Error {
  constructor(readonly reason: AgentAuthFailure, what: 'enrollment token' | 'agent key', detail?: string) {
    super(`${what} ${FAILURE_WORDING[reason]}${detail ? ` (${detail})` : ''}`);
    this.name = 'AgentAuthError';
  }
}

/** A token whose uses could not be counted because other enrollments kept winning the race; try again. */
export class EnrollmentContendedError extends Error {
  constructor(tokenId: string) {
    super(`enrollment token ${tokenId} is being used by many agents at once`);
    this.name = 'EnrollmentContendedError';
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
  /** How long an id Elasticsearch does not know is answered "not known" from memory. */
  unknownIdCacheMs?: number;
  /** At most this many unknown ids (and, separately, known agents) are remembered. */
  maxCachedIds?: number;
  /** Called for every Elasticsearch read of a token or agent record: what it cost, for /metrics. */
  onLookup?: (what: 'enrollment token' | 'agent key', found: boolean) => void;
  staleAfterMs?: number;
  /** last_seen is written at most this often per agent. */
  touchEveryMs?: number;
  now?: () => Date;
}

const TTL_PATTERN = /^(\d+)\s*(s|m|h|d)$/;
const TTL_UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
export const MAX_TOKEN_TTL_MS = 30 * 86_400_000;
export const MAX_TOKEN_USES = 10_000;
/** Rounds of read, check, conditional write before an enrollment gives up on a contended token. */
const MAX_CLAIM_ATTEMPTS = 25;
/** A known agent's record stays in memory this long after it was last read (revocation is re-read sooner). */
const KNOWN_AGENT_MS = 3_600_000;

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

function isVersionConflict(err: unknown): boolean {
  return err instanceof errors.ResponseError && err.statusCode === 409;
}

/** How many enrollments a token may allow: a whole number from 1 to MAX_TOKEN_USES. */
function isValidMaxUses(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= MAX_TOKEN_USES;
}

/** "--max-uses 5" → 5; whole numbers from 1 to MAX_TOKEN_USES. */
export function parseMaxUses(text: string): number {
  const n = Number(text);
  if (!isValidMaxUses(n)) throw new NyxError(`--max-uses ${text}: expected a whole number from 1 to ${MAX_TOKEN_USES}`);
  return n;
}

/**
 * Enrollment tokens and agents, stored in Elasticsearch (services stay stateless, replicas share them).
 * Secrets are kept only as hashes and compared in constant time.
 */
export class AgentRegistry {
  /** Agents whose record was read here: reused for authCacheMs, remembered (bounded) to recognise their keys. */
  private readonly agents: BoundedCache<{ record: AgentRecord; fetchedAt: number }>;
  /** Token and agent ids Elasticsearch did not know: a flood of made-up keys costs one read per id and window. */
  private readonly unknownIds: BoundedCache<true>;
  private readonly touchedAt: BoundedCache<number>;
  private readonly authCacheMs: number;
  private readonly staleAfterMs: number;
  private readonly touchEveryMs: number;
  private readonly now: () => Date;
  private readonly onLookup: NonNullable<AgentRegistryOptions['onLookup']>;
  private readonly log = getLogger('agents');

  constructor(private readonly client: Client, options: AgentRegistryOptions = {}) {
    this.authCacheMs = options.authCacheMs ?? 5_000;
    this.staleAfterMs = options.staleAfterMs ?? 600_000;
    this.touchEveryMs = options.touchEveryMs ?? 30_000;
    this.now = options.now ?? (() => new Date());
    this.onLookup = options.onLookup ?? (() => undefined);
    const maxIds = options.maxCachedIds ?? 10_000;
    const clock = (): number => this.now().getTime();
    this.agents = new BoundedCache(maxIds, KNOWN_AGENT_MS, clock);
    this.unknownIds = new BoundedCache(maxIds, options.unknownIdCacheMs ?? 60_000, clock);
    this.touchedAt = new BoundedCache(maxIds, this.touchEveryMs, clock);
  }

  async createToken(input: { namespace: string; ttlMs: number; maxUses?: number; description?: string }): Promise<{ token: string; record: TokenRecord }> {
    const namespace = namespaceSchema.safeParse(input.namespace);
    if (!namespace.success) throw new NyxError(`--namespace ${input.namespace}: ${namespace.error.issues[0]?.message ?? 'invalid'}`);
    const maxUses = input.maxUses ?? 1;
    if (!isValidMaxUses(maxUses)) throw new NyxError(`max uses ${maxUses}: expected a whole number from 1 to ${MAX_TOKEN_USES}`);
    const issued = issueSecret('nyxet');
    const created = this.now();
    const record: TokenRecord = {
      token_id: issued.id,
      token_hash: issued.hash,
      namespace: namespace.data,
      ...(input.description ? { description: input.description } : {}),
      created_at: created.toISOString(),
      expires_at: new Date(created.getTime() + input.ttlMs).toISOString(),
      max_uses: maxUses,
      uses: 0,
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

  /**
   * Exchanges a valid enrollment token for a new agent id and key (the key is returned once, never stored).
   * Each enrollment counts one use with a conditional write (seq_no/primary_term): of agents racing for the
   * last use of a token, exactly one wins, on every replica. A use is counted before the agent is written,
   * so a failure in between costs a use rather than granting one too many.
   */
  async enroll(request: EnrollRequest): Promise<{ agent_id: string; agent_key: string; namespace: string }> {
    const parsed = parseSecret('nyxet', request.token);
    if (!parsed) throw new AgentAuthError('malformed', 'enrollment token');
    const instanceAgentId = request.instance_id ? agentIdOfInstance(parsed.id, request.instance_id) : undefined;
    if (instanceAgentId) {
      const again = await this.reenroll(instanceAgentId, parsed, request);
      if (again) return again;
    }
    const token = await this.claimTokenUse(parsed.id, parsed.secret);
    const issued = issueSecret('nyxak', instanceAgentId);
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
    this.unknownIds.delete(`nyxak:${issued.id}`);
    return { agent_id: issued.id, agent_key: issued.secret, namespace: token.namespace };
  }

  /**
   * The same agent (token + instance id) enrolling again: a new key for its existing record, no use counted. The
   * token must still prove itself and be neither expired nor revoked; a revoked agent stays revoked.
   * Undefined when the instance never enrolled, so the caller enrolls it as new.
   */
  private async reenroll(agentId: string, token: { id: string; secret: string }, request: EnrollRequest): Promise<{ agent_id: string; agent_key: string; namespace: string } | undefined> {
    const agent = await this.getRecord(AGENTS_INDEX, agentId, agentRecordSchema, 'agent key');
    if (!agent) return undefined;
    const record = await this.getRecord(TOKENS_INDEX, token.id, tokenRecordSchema, 'enrollment token');
    if (!record || !secretMatches(token.secret, record.token_hash) || agent.token_id !== token.id) throw new AgentAuthError('unknown', 'enrollment token');
    const status = this.tokenStatus(record);
    if (status === 'expired' || status === 'revoked') throw new AgentAuthError(status, 'enrollment token');
    if (agent.revoked_at) throw new AgentAuthError('revoked', 'agent key');
    const issued = issueSecret('nyxak', agentId);
    const at = this.now().toISOString();
    await this.client.update({
      index: AGENTS_INDEX,
      id: agentId,
      doc: { key_hash: issued.hash, hostname: request.hostname, os: request.os, ip: request.ip, version: request.version, last_seen: at },
      refresh: 'wait_for',
      retry_on_conflict: 3,
    });
    this.agents.delete(agentId);
    this.unknownIds.delete(`nyxak:${agentId}`);
    return { agent_id: agentId, agent_key: issued.secret, namespace: agent.namespace };
  }

  /** Verifies the token and counts one use of it, or throws why not. */
  private async claimTokenUse(tokenId: string, secret: string): Promise<TokenRecord> {
    if (this.unknownIds.has(`nyxet:${tokenId}`)) throw new AgentAuthError('unknown', 'enrollment token');
    for (let attempt = 0; attempt < MAX_CLAIM_ATTEMPTS; attempt++) {
      const found = await this.getVersioned(TOKENS_INDEX, tokenId, tokenRecordSchema, 'enrollment token');
      if (!found || !secretMatches(secret, found.record.token_hash)) throw new AgentAuthError('unknown', 'enrollment token');
      const token = found.record;
      const status = this.tokenStatus(token);
      if (status === 'used up') throw new AgentAuthError('used up', 'enrollment token', `${token.uses} of ${token.max_uses} enrollments made`);
      if (status !== 'active') throw new AgentAuthError(status, 'enrollment token');
      try {
        await this.client.update({
          index: TOKENS_INDEX,
          id: tokenId,
          if_seq_no: found.seqNo,
          if_primary_term: found.primaryTerm,
          doc: { uses: token.uses + 1, last_used_at: this.now().toISOString() },
          // As every other write here: `nyx agents token list` (a search) shows the use as soon as enrollment answers.
          refresh: 'wait_for',
        });
        return token;
      } catch (err) {
        if (!isVersionConflict(err)) throw err;
        // Another enrollment (or a revoke) wrote first: read again and decide on what it left.
        await new Promise((resolve) => setTimeout(resolve, 5 + Math.floor(Math.random() * 20 * Math.min(attempt + 1, 5))));
      }
    }
    throw new EnrollmentContendedError(tokenId);
  }

  /**
   * Verifies an agent key. Throws AgentAuthError; Elasticsearch errors propagate (the API answers 503).
   * An id Elasticsearch did not know is refused from memory for a while, without asking again.
   */
  async authenticate(presentedKey: string): Promise<AgentIdentity> {
    const parsed = parseSecret('nyxak', presentedKey);
    if (!parsed) throw new AgentAuthError('malformed', 'agent key');
    if (this.unknownIds.has(`nyxak:${parsed.id}`)) throw new AgentAuthError('unknown', 'agent key');
    let record = await this.agentRecord(parsed.id);
    // A key that does not match a remembered record may be one re-enrollment just issued (on another replica):
    // ask Elasticsearch once before refusing (failed attempts are throttled per address, so this is bounded).
    if (record && !secretMatches(parsed.secret, record.key_hash)) record = await this.agentRecord(parsed.id, true);
    if (!record || !secretMatches(parsed.secret, record.key_hash)) throw new AgentAuthError('unknown', 'agent key');
    if (record.revoked_at) throw new AgentAuthError('revoked', 'agent key');
    this.touch(record.agent_id);
    return { agentId: record.agent_id, namespace: record.namespace, hostname: record.hostname };
  }

  /**
   * True when the key is one this registry has already verified (memory only, no Elasticsearch): what an
   * address that is being throttled for failed attempts may still present.
   */
  recognisesKey(presentedKey: string): boolean {
    const parsed = parseSecret('nyxak', presentedKey);
    const known = parsed ? this.agents.get(parsed.id) : undefined;
    return !!parsed && !!known && !known.record.revoked_at && secretMatches(parsed.secret, known.record.key_hash);
  }

  async listAgents(): Promise<Array<Omit<AgentRecord, 'key_hash'> & { status: AgentStatus }>> {
    const records = await this.searchAll(AGENTS_INDEX, agentRecordSchema, 'enrolled_at');
    return records.map(({ key_hash: _hash, ...a }) => ({ ...a, status: this.agentStatus(a) }));
  }

  async revokeAgent(agentId: string): Promise<boolean> {
    this.agents.delete(agentId);
    return this.markRevoked(AGENTS_INDEX, agentId);
  }

  agentStatus(agent: Pick<AgentRecord, 'revoked_at' | 'last_seen' | 'enrolled_at'>): AgentStatus {
    if (agent.revoked_at) return 'revoked';
    const seen = Date.parse(agent.last_seen ?? agent.enrolled_at);
    return this.now().getTime() - seen <= this.staleAfterMs ? 'online' : 'stale';
  }

  tokenStatus(token: Pick<TokenRecord, 'revoked_at' | 'expires_at' | 'uses' | 'max_uses'>): TokenStatus {
    if (token.revoked_at) return 'revoked';
    if (Date.parse(token.expires_at) <= this.now().getTime()) return 'expired';
    return token.uses >= token.max_uses ? 'used up' : 'active';
  }

  private async agentRecord(agentId: string, fresh = false): Promise<AgentRecord | undefined> {
    const cached = this.agents.get(agentId);
    const nowMs = this.now().getTime();
    if (cached && !fresh && nowMs - cached.fetchedAt < this.authCacheMs) return cached.record;
    const record = await this.getRecord(AGENTS_INDEX, agentId, agentRecordSchema, 'agent key');
    if (record) this.agents.set(agentId, { record, fetchedAt: nowMs });
    else this.agents.delete(agentId);
    return record;
  }

  /** Records last_seen without holding up the request; a failed write only delays the "online" status. */
  private touch(agentId: string): void {
    if (this.touchedAt.has(agentId)) return;
    this.touchedAt.set(agentId, this.now().getTime());
    this.client
      .update({ index: AGENTS_INDEX, id: agentId, doc: { last_seen: this.now().toISOString() }, retry_on_conflict: 3 })
      .catch((err: Error) => this.log.warn({ err, agent: { id: agentId } }, 'could not record last_seen'));
  }

  private async getRecord<T>(index: string, id: string, schema: z.ZodType<T>, what: 'enrollment token' | 'agent key'): Promise<T | undefined> {
    return (await this.getVersioned(index, id, schema, what))?.record;
  }

  /** One realtime GET; a missing id is remembered as unknown (bounded, for unknownIdCacheMs). */
  private async getVersioned<T>(index: string, id: string, schema: z.ZodType<T>, what: 'enrollment token' | 'agent key'): Promise<{ record: T; seqNo: number; primaryTerm: number } | undefined> {
    const unknownKey = `${what === 'agent key' ? 'nyxak' : 'nyxet'}:${id}`;
    let res;
    try {
      res = await this.client.get({ index, id });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      res = undefined;
    }
    this.onLookup(what, !!res?.found);
    if (!res?.found) {
      this.unknownIds.set(unknownKey, true);
      return undefined;
    }
    const parsed = schema.safeParse(res._source);
    if (!parsed.success) throw new NyxError(`${index}/${id}: stored record is invalid: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`);
    return { record: parsed.data, seqNo: res._seq_no ?? 0, primaryTerm: res._primary_term ?? 0 };
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
      // retry_on_conflict: an enrollment counting a use of this token at the same moment is no reason to fail.
      await this.client.update({ index, id, doc: { revoked_at: this.now().toISOString() }, refresh: 'wait_for', retry_on_conflict: 5 });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }
}

/**
 * The agent id of one agent instance under one token: a hash, so the same pair always names the same agent and
 * no one without the instance id can name it. Starts with a letter (ids are typed as command arguments).
 */
export function agentIdOfInstance(tokenId: string, instanceId: string): string {
  return `i${createHash('sha256').update(`${tokenId}\n${instanceId}`).digest('base64url').slice(0, 15)}`;
}
