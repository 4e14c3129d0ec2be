import { errors, type Client } from '@elastic/elasticsearch';
import { z } from 'zod';
import { alertIndex } from '../alerts/index.ts';
import { RESPONSE_LEVELS } from './levels.ts';
import { ACTION_STATUSES, type ActionStatus } from './action-statuses.ts';

/**
 * Where the response worker keeps its records, per namespace:
 * - nyx-response-actions-<ns>: one document per action (_id = the deterministic action id): what, why, the approval,
 *   every call and its result, how to undo it, its TTL. Approvals live on the action, so deciding one is a single CAS.
 * - nyx-response-audit-<ns>: an append-only trail of every decision (applied, refused, failed, approved, expired, released…).
 * - a note on the alert itself (nyx.response.*), so an analyst sees what was done from the alert.
 */
export function actionsIndex(namespace: string): string {
  return `nyx-response-actions-${namespace}`;
}
export function auditIndex(namespace: string): string {
  return `nyx-response-audit-${namespace}`;
}

export { ACTION_STATUSES, type ActionStatus };

const callSchema = z.object({ description: z.string(), request: z.unknown().optional(), status: z.union([z.number(), z.string()]).optional(), result: z.unknown().optional() });

export const actionRecordSchema = z.object({
  id: z.string(),
  namespace: z.string(),
  status: z.enum(ACTION_STATUSES),
  alert: z.object({ id: z.string(), rule_id: z.string(), rule_name: z.string(), severity: z.number(), risk_score: z.number(), entity: z.string().optional() }),
  playbook: z.string(),
  step: z.string(),
  type: z.string(),
  level: z.enum(RESPONSE_LEVELS),
  on_error: z.enum(['stop', 'continue']),
  /** Rendered step parameters (alert fields filled in). */
  params: z.record(z.string(), z.unknown()).optional(),
  target: z.object({ kind: z.string(), value: z.string() }).optional(),
  approval: z
    .object({
      required: z.boolean(),
      by: z.string().optional(),
      decision: z.enum(['approved', 'rejected', 'unattended']).optional(),
      decided_at: z.string().optional(),
      expires_at: z.string().optional(),
    })
    .optional(),
  calls: z.array(callSchema).default([]),
  undo: z.record(z.string(), z.unknown()).optional(),
  /** How to revert it, in words (and `nyx actions undo <id>`). */
  undo_hint: z.string().optional(),
  summary: z.string().optional(),
  error: z.string().optional(),
  ttl_seconds: z.number().optional(),
  expires_at: z.string().optional(),
  created_at: z.string(),
  updated_at: z.string(),
  applied_at: z.string().optional(),
  released_at: z.string().optional(),
  released_by: z.string().optional(),
  holder: z.string().optional(),
  annotations: z.record(z.string(), z.unknown()).optional(),
});
export type ActionRecord = z.infer<typeof actionRecordSchema>;

export interface AuditEntry {
  action_id?: string;
  alert_id?: string;
  playbook?: string;
  step?: string;
  type?: string;
  event: string;
  reason?: string;
  actor: string;
  detail?: unknown;
}

export interface StoredAction {
  record: ActionRecord;
  seqNo: number;
  primaryTerm: number;
}

export class ResponseStore {
  constructor(
    readonly client: Client,
    readonly namespace: string,
    /** Tests and benchmarks want their reads to see their writes at once. */
    private readonly refresh: boolean | 'wait_for' = false,
  ) {}

  get actionsIndex(): string {
    return actionsIndex(this.namespace);
  }

  async getAction(id: string): Promise<StoredAction | undefined> {
    try {
      const res = await this.client.get({ index: this.actionsIndex, id });
      const parsed = actionRecordSchema.safeParse(res._source);
      if (!parsed.success) return undefined;
      return { record: parsed.data, seqNo: res._seq_no!, primaryTerm: res._primary_term! };
    } catch (err) {
      if (err instanceof errors.ResponseError && err.statusCode === 404) return undefined;
      throw err;
    }
  }

  /** Which of these action ids already have a record (one round trip, before any lease is taken). */
  async existingActions(ids: string[]): Promise<Set<string>> {
    if (!ids.length) return new Set();
    try {
      const res = await this.client.mget({ index: this.actionsIndex, ids, _source: false });
      return new Set(res.docs.filter((d) => 'found' in d && d.found).map((d) => d._id));
    } catch (err) {
      if (err instanceof errors.ResponseError && err.statusCode === 404) return new Set();
      throw err;
    }
  }

  /** Writes a record; with `expect`, only if nobody changed it since it was read (compare-and-swap). */
  async putAction(record: ActionRecord, expect?: { seqNo: number; primaryTerm: number }): Promise<boolean> {
    try {
      await this.client.index({
        index: this.actionsIndex,
        id: record.id,
        document: record,
        refresh: this.refresh,
        ...(expect ? { if_seq_no: expect.seqNo, if_primary_term: expect.primaryTerm } : {}),
      });
      return true;
    } catch (err) {
      if (err instanceof errors.ResponseError && err.statusCode === 409) return false;
      throw err;
    }
  }

  async audit(entry: AuditEntry): Promise<void> {
    await this.client.index({ index: auditIndex(this.namespace), document: { '@timestamp': new Date().toISOString(), namespace: this.namespace, ...entry }, refresh: this.refresh });
  }

  async auditTrail(actionId: string): Promise<Array<AuditEntry & { '@timestamp': string }>> {
    try {
      const res = await this.client.search<AuditEntry & { '@timestamp': string }>({
        index: auditIndex(this.namespace),
        query: { term: { action_id: actionId } },
        sort: [{ '@timestamp': 'asc' }],
        size: 500,
      });
      return res.hits.hits.map((h) => h._source!);
    } catch (err) {
      if (err instanceof errors.ResponseError && err.statusCode === 404) return [];
      throw err;
    }
  }

  async auditFor(filter: { alertId?: string; event?: string }): Promise<Array<AuditEntry & { '@timestamp': string }>> {
    const must: Array<Record<string, unknown>> = [];
    if (filter.alertId) must.push({ term: { alert_id: filter.alertId } });
    if (filter.event) must.push({ term: { event: filter.event } });
    try {
      const res = await this.client.search<AuditEntry & { '@timestamp': string }>({ index: auditIndex(this.namespace), query: { bool: { filter: must } }, sort: [{ '@timestamp': 'asc' }], size: 1000 });
      return res.hits.hits.map((h) => h._source!);
    } catch (err) {
      if (err instanceof errors.ResponseError && err.statusCode === 404) return [];
      throw err;
    }
  }

  /** Actions by status (and optionally due before `dueBefore` on expires_at / approval.expires_at). */
  async listActions(filter: { statuses?: ActionStatus[]; alertId?: string; playbook?: string; expiresBefore?: string; approvalExpiresBefore?: string; size?: number } = {}): Promise<ActionRecord[]> {
    const must: Array<Record<string, unknown>> = [];
    if (filter.statuses) must.push({ terms: { status: filter.statuses } });
    if (filter.alertId) must.push({ term: { 'alert.id': filter.alertId } });
    if (filter.playbook) must.push({ term: { playbook: filter.playbook } });
    if (filter.expiresBefore) must.push({ range: { expires_at: { lte: filter.expiresBefore } } });
    if (filter.approvalExpiresBefore) must.push({ range: { 'approval.expires_at': { lte: filter.approvalExpiresBefore } } });
    try {
      const res = await this.client.search({ index: this.actionsIndex, query: { bool: { filter: must } }, sort: [{ created_at: 'desc' }], size: filter.size ?? 200 });
      return res.hits.hits.flatMap((h) => {
        const parsed = actionRecordSchema.safeParse(h._source);
        return parsed.success ? [parsed.data] : [];
      });
    } catch (err) {
      if (err instanceof errors.ResponseError && err.statusCode === 404) return [];
      throw err;
    }
  }

  /**
   * Appends a note to the alert (nyx.response.notes, newest last, bounded) and merges annotations such as Cortex
   * taxonomies. Read-modify-write with CAS, retried on conflict: the cluster may have no scripting.
   */
  async noteOnAlert(alertId: string, note: { action_id: string; playbook: string; step: string; status: string; message: string }, annotations?: Record<string, unknown>): Promise<void> {
    const index = alertIndex(this.namespace);
    for (let attempt = 0; attempt < 5; attempt++) {
      let current;
      try {
        current = await this.client.get<Record<string, unknown>>({ index, id: alertId });
      } catch (err) {
        if (err instanceof errors.ResponseError && err.statusCode === 404) return;
        throw err;
      }
      const nyx = (current._source?.nyx ?? {}) as Record<string, unknown>;
      const response = (nyx.response ?? {}) as { notes?: unknown[]; actions?: string[]; annotations?: Record<string, unknown> };
      const notes = [...(Array.isArray(response.notes) ? response.notes : []), { at: new Date().toISOString(), ...note }].slice(-200);
      const actions = [...new Set([...(response.actions ?? []), note.action_id])];
      const merged = { ...(response.annotations ?? {}), ...(annotations ?? {}) };
      try {
        await this.client.update({
          index,
          id: alertId,
          doc: { nyx: { response: { notes, actions, ...(Object.keys(merged).length ? { annotations: merged } : {}) } } },
          if_seq_no: current._seq_no!,
          if_primary_term: current._primary_term!,
          refresh: this.refresh,
        });
        return;
      } catch (err) {
        if (err instanceof errors.ResponseError && err.statusCode === 409) continue;
        throw err;
      }
    }
  }
}
