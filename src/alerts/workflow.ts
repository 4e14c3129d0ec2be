import { errors, type Client, type estypes } from '@elastic/elasticsearch';
import { NyxError } from '../errors.ts';
import { alertSchema, CLOSE_REASONS, type AlertDocument } from './schema.ts';

/**
 * The analyst workflow: open → acknowledged → closed (with a reason), each step recording who and when.
 * A step is a compare-and-swap on the alert's seq_no, so two analysts acting at once cannot both win.
 */

export type AlertStatus = AlertDocument['nyx']['alert']['status'];
export type CloseReason = (typeof CLOSE_REASONS)[number];

export interface StoredAlert {
  id: string;
  index: string;
  alert: AlertDocument;
}

export interface ListAlertsQuery {
  /** Namespace to look in; default every namespace. */
  namespace?: string | undefined;
  status?: AlertStatus | undefined;
  ruleId?: string | undefined;
  /** ISO time or an age such as 24h / 7d: alerts created since then. */
  since?: string | undefined;
  size?: number | undefined;
}

const ALL_ALERTS = 'nyx-alerts-*';

function indexFor(namespace: string | undefined): string {
  return namespace ? `nyx-alerts-${namespace}` : ALL_ALERTS;
}

function sinceToIso(since: string, now = Date.now()): string {
  const age = /^(\d+)([smhd])$/.exec(since);
  if (age) return new Date(now - Number(age[1]) * { s: 1e3, m: 6e4, h: 36e5, d: 864e5 }[age[2] as 's']).toISOString();
  const t = Date.parse(since);
  if (Number.isNaN(t)) throw new NyxError(`--since ${since}: expected an ISO time or an age such as 30m, 24h, 7d`);
  return new Date(t).toISOString();
}

function toStored(hit: { _id?: string | null; _index: string; _source?: unknown }): StoredAlert | undefined {
  const parsed = alertSchema.safeParse(hit._source);
  return parsed.success && hit._id ? { id: hit._id, index: hit._index, alert: hit._source as AlertDocument } : undefined;
}

export async function listAlerts(client: Client, query: ListAlertsQuery = {}): Promise<StoredAlert[]> {
  const filter: estypes.QueryDslQueryContainer[] = [];
  if (query.status) filter.push({ term: { 'nyx.alert.status': query.status } });
  if (query.ruleId) filter.push({ term: { 'rule.id': query.ruleId } });
  if (query.since) filter.push({ range: { '@timestamp': { gte: sinceToIso(query.since) } } });
  const res = await client.search({
    index: indexFor(query.namespace),
    ignore_unavailable: true,
    allow_no_indices: true,
    size: Math.min(query.size ?? 50, 1000),
    sort: [{ '@timestamp': { order: 'desc' } }],
    query: { bool: { filter } },
  });
  return res.hits.hits.map(toStored).filter((a): a is StoredAlert => a !== undefined);
}

export async function getAlert(client: Client, id: string, namespace?: string): Promise<StoredAlert> {
  if (!/^[0-9a-f]{32}$/.test(id)) throw new NyxError(`alert id ${JSON.stringify(id)}: expected 32 hex digits (see \`nyx alerts list\`)`);
  const res = await client.search({ index: indexFor(namespace), ignore_unavailable: true, allow_no_indices: true, size: 10, query: { ids: { values: [id] } } });
  const found = res.hits.hits.map(toStored).filter((a): a is StoredAlert => a !== undefined);
  if (!found.length) throw new NyxError(`no alert ${id}${namespace ? ` in namespace ${namespace}` : ''}`);
  // Ids are per namespace (rule + entity + window): two tenants can have the same one.
  if (found.length > 1) {
    throw new NyxError(`alert ${id} exists in several namespaces (${found.map((a) => a.alert.nyx.alert.namespace).join(', ')})`, 'pass --namespace <ns>');
  }
  return found[0]!;
}

export interface TransitionRequest {
  to: Exclude<AlertStatus, 'open'>;
  by: string;
  reason?: CloseReason | undefined;
  comment?: string | undefined;
  now?: Date | undefined;
}

const ALLOWED: Record<AlertStatus, AlertStatus[]> = { open: ['acknowledged', 'closed'], acknowledged: ['closed'], closed: [] };

/** Moves an alert along the workflow; throws a NyxError naming the problem when the step is not allowed. */
export async function transitionAlert(client: Client, id: string, request: TransitionRequest, namespace?: string): Promise<StoredAlert> {
  if (request.to === 'closed' && !request.reason) throw new NyxError(`closing ${id} needs a reason: ${CLOSE_REASONS.join(', ')}`);
  if (request.reason && !(CLOSE_REASONS as readonly string[]).includes(request.reason)) throw new NyxError(`--reason ${request.reason}: expected one of ${CLOSE_REASONS.join(', ')}`);
  if (!request.by.trim()) throw new NyxError('who acts on the alert is unknown: pass --by <name>');
  for (let attempt = 0; attempt < 3; attempt++) {
    const { index } = await getAlert(client, id, namespace);
    const current = await client.get<AlertDocument>({ index, id });
    const alert = current._source!;
    const from = alert.nyx.alert.status;
    if (!ALLOWED[from].includes(request.to)) throw new NyxError(`alert ${id} is ${from}${alert.nyx.alert.status_reason ? ` (${alert.nyx.alert.status_reason})` : ''}: it cannot become ${request.to}`);
    const at = (request.now ?? new Date()).toISOString();
    const step = { from, to: request.to, by: request.by, at, ...(request.reason ? { reason: request.reason } : {}), ...(request.comment ? { comment: request.comment } : {}) };
    const history = Array.isArray((alert.nyx.alert as Record<string, unknown>).history) ? ((alert.nyx.alert as Record<string, unknown>).history as unknown[]) : [];
    const updated: AlertDocument = {
      ...alert,
      nyx: {
        ...alert.nyx,
        alert: {
          ...alert.nyx.alert,
          status: request.to,
          ...(request.reason ? { status_reason: request.reason } : {}),
          status_changed_at: at,
          status_changed_by: request.by,
          ...(request.to === 'acknowledged' ? { acknowledged_at: at, acknowledged_by: request.by } : {}),
          ...(request.to === 'closed' ? { closed_at: at, closed_by: request.by } : {}),
          history: [...history, step],
        },
      },
    };
    try {
      await client.index({ index, id, document: updated, if_seq_no: current._seq_no!, if_primary_term: current._primary_term!, refresh: 'wait_for' });
      return { id, index, alert: updated };
    } catch (err) {
      // Someone else changed it between our read and write: read again and re-judge the step.
      if (err instanceof errors.ResponseError && err.statusCode === 409) continue;
      throw err;
    }
  }
  throw new NyxError(`alert ${id} kept changing while being updated; try again`);
}
