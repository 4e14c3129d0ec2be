import type { Client } from '@elastic/elasticsearch';
import { alertIndex, alertSchema, type AlertDocument } from './schema.ts';
import { idOfAlert } from './build.ts';

/**
 * The one way alerts reach Elasticsearch: bulk `create` under the deterministic id, so a retry, a second
 * replica or the other detection path finds the alert already there (a duplicate, not a second alert).
 * An alert that fails validation is reported by id with the field at fault; the rest of the batch is written.
 */

export interface AlertWriteFailure {
  id: string;
  reason: string;
}

export interface AlertWriteResult {
  created: number;
  duplicates: number;
  failed: number;
  /** Ids of the alerts stored by this call (new ones only). */
  createdIds: string[];
  failures: AlertWriteFailure[];
}

export interface WriteAlertsOptions {
  /** Make the alerts searchable before returning (the stream path uses it so analysts see alerts at once). */
  refresh?: boolean | 'wait_for';
}

export async function writeAlerts(client: Client, alerts: AlertDocument[], options: WriteAlertsOptions = {}): Promise<AlertWriteResult> {
  const result: AlertWriteResult = { created: 0, duplicates: 0, failed: 0, createdIds: [], failures: [] };
  const pending: Array<{ id: string; index: string; doc: AlertDocument }> = [];
  const seen = new Set<string>();
  for (const alert of alerts) {
    const checked = alertSchema.safeParse(alert);
    const id = checked.success ? idOfAlert(alert) : '(invalid)';
    if (!checked.success) {
      const issue = checked.error.issues[0]!;
      result.failed++;
      result.failures.push({ id, reason: `'${issue.path.join('.')}': ${issue.message}` });
      continue;
    }
    // Two alerts of one batch with one id in one namespace are one alert (e.g. two events of a burst in one window).
    const index = alertIndex(alert.nyx.alert.namespace);
    if (seen.has(`${index}/${id}`)) {
      result.duplicates++;
      continue;
    }
    seen.add(`${index}/${id}`);
    pending.push({ id, index, doc: alert });
  }
  if (!pending.length) return result;
  const res = await client.bulk({ operations: pending.flatMap((p) => [{ create: { _index: p.index, _id: p.id } }, p.doc]), refresh: options.refresh ?? false });
  res.items.forEach((item, n) => {
    const r = item.create;
    const id = pending[n]!.id;
    if (!r) return;
    if (r.status === 409) result.duplicates++;
    else if (r.error) {
      result.failed++;
      result.failures.push({ id, reason: `${r.status} ${r.error.type}: ${r.error.reason ?? ''}`.trim() });
    } else {
      result.created++;
      result.createdIds.push(id);
    }
  });
  return result;
}
