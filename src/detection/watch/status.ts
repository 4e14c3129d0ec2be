import type { Client } from '@elastic/elasticsearch';
import { LeaseStore, StateStore, LEASE_INDEX } from '../../coordination/index.ts';
import { ruleIdOf, type MappedSigmaRule } from '../sigma/index.ts';
import type { CorrelationSet } from '../correlation/index.ts';
import { checkpointKey, correlationCheckpointKey, ruleCheckpointSchema, shardLeaseName, type RuleCheckpoint } from './checkpoint.ts';
import type { WatchConfig } from './config.ts';
import { scheduledCorrelations, shardOf } from './watcher.ts';

/** `nyx watch status`: per rule, where the watcher is and who runs it (read from Elasticsearch, so any replica or none can answer). */
export interface RuleWatchStatus {
  rule_id: string;
  title: string;
  /** A detection rule (one query) or a correlation rule (aggregation + replay over its base rules). */
  kind: 'rule' | 'correlation';
  shard: number;
  holder: string | null;
  last_run: string | null;
  checkpoint: string | null;
  lag_seconds: number | null;
  last_hits: number | null;
  last_alerts: number | null;
  last_capped: number | null;
  gap: string | null;
  error: string | null;
  /** What the last correlation run noted (events truncated at the cap, …). */
  notes: string[] | null;
}

export interface WatchStatusOptions {
  now?: number;
  /** Correlation rules the watcher schedules (DetectionSetup.correlations); listed after the rules. */
  correlations?: CorrelationSet | undefined;
}

export async function watchStatus(client: Client, rules: MappedSigmaRule[], settings: WatchConfig, options: number | WatchStatusOptions = {}): Promise<RuleWatchStatus[]> {
  const { now = Date.now(), correlations } = typeof options === 'number' ? { now: options } : options;
  const leases = new LeaseStore(client, '(status)', LEASE_INDEX);
  const state = new StateStore(client);
  const holders = new Map<number, string | undefined>();
  const out: RuleWatchStatus[] = [];
  const row = async (kind: RuleWatchStatus['kind'], id: string, title: string, key: string): Promise<void> => {
    const shard = shardOf(id, settings.shards);
    if (!holders.has(shard)) holders.set(shard, await leases.holderOf(shardLeaseName(settings.group, shard), now));
    const cp: RuleCheckpoint | undefined = await state.get(key, ruleCheckpointSchema);
    const gap = cp?.gap
      ? `${cp.gap.seconds}s down before ${cp.gap.detected_at}: ${cp.gap.caught_up ? 'caught up' : 'catching up'}${cp.gap.skipped_seconds ? `, ${cp.gap.skipped_seconds}s beyond max_catchup skipped` : ''}`
      : null;
    out.push({
      rule_id: id,
      title,
      kind,
      shard,
      holder: holders.get(shard) ?? null,
      last_run: cp?.last_run_at ?? null,
      checkpoint: cp?.checkpoint ?? null,
      lag_seconds: cp ? Math.max(0, Math.round((now - Date.parse(cp.checkpoint)) / 1000)) : null,
      last_hits: cp?.last_hits ?? null,
      last_alerts: cp?.last_alerts ?? null,
      last_capped: cp?.last_capped ?? null,
      gap,
      error: cp?.last_error ?? null,
      notes: cp?.notes?.length ? cp.notes : null,
    });
  };
  for (const mapped of rules) {
    const id = ruleIdOf(mapped.rule);
    await row('rule', id, mapped.rule.title, checkpointKey(settings.group, id));
  }
  if (correlations) {
    for (const c of scheduledCorrelations(correlations)) await row('correlation', c.id, c.rule.title, correlationCheckpointKey(settings.group, c.id));
  }
  return out;
}
