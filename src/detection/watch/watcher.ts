import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Client, estypes } from '@elastic/elasticsearch';
import { buildAlertFromMatch, idOfAlert, writeAlerts, type AlertDocument, type AlertPolicy } from '../../alerts/index.ts';
import { LeaseStore, StateStore, LEASE_INDEX, STATE_INDEX } from '../../coordination/index.ts';
import { getLogger, type Logger } from '../../log/logger.ts';
import { compileMappedRuleQuery, ruleIdOf, SigmaRuleSet, type MappedSigmaRule, type RuleQuery } from '../sigma/index.ts';
import {
  alertingCorrelationIds,
  buildCorrelationAlert,
  compileCorrelationQuery,
  correlationOnlyRuleIds,
  evaluateCorrelationOverElastic,
  type CompiledCorrelation,
  type CorrelationSet,
} from '../correlation/index.ts';
import { checkpointKey, correlationCheckpointKey, memberLeaseName, ruleCheckpointSchema, shardLeaseName, type RuleCheckpoint } from './checkpoint.ts';
import type { WatchConfig } from './config.ts';
import { adaptToMappings } from './text-fields.ts';
import { dataStreamOfIndex, namespaceOfIndex, scopeToNamespace } from '../../elastic/tenancy.ts';

/**
 * `nyx watch`: every rule as an Elasticsearch query on a schedule. Each run searches from the rule's
 * checkpoint (minus an overlap for late events) to now, in slices, confirms hits with the stream matcher
 * when the query is only a superset, writes alerts under deterministic ids (so overlaps, retries and a
 * second replica never duplicate one), and moves the checkpoint. Rules are split into shards; a shard is a
 * lease in Elasticsearch, so replicas share the rules and a dead replica's shards move within the lease time.
 */

export type WatchSettings = WatchConfig;

export interface WatchedRule {
  id: string;
  mapped: MappedSigmaRule;
  query: RuleQuery;
  matcher: SigmaRuleSet;
  shard: number;
}

/** A correlation rule the watcher schedules: the outermost of a chain (inner ones feed it, they do not alert). */
export interface WatchedCorrelation {
  id: string;
  correlation: CompiledCorrelation;
  shard: number;
}

/** The correlations that raise alerts (a chain's inner correlations are evaluated as part of their outer one). */
export function scheduledCorrelations(set: CorrelationSet): CompiledCorrelation[] {
  const alerting = alertingCorrelationIds(set);
  return set.correlations.filter((c) => alerting.has(c.id));
}

export interface RuleRunReport {
  ruleId: string;
  /** Absent for detection rules. */
  kind?: 'correlation';
  from: string;
  to: string;
  slices: number;
  hits: number;
  /** Hits the stream matcher rejected (only when the query is not exact). */
  unconfirmed: number;
  created: number;
  duplicates: number;
  capped: number;
  /** Ids of the alerts this run wrote or found already written (not the capped ones). */
  alertIds: string[];
  gapSeconds?: number;
  skippedSeconds?: number;
  error?: string;
}

export interface RuleWatcherOptions {
  client: Client;
  rules: MappedSigmaRule[];
  /**
   * Correlation rules (DetectionSetup.correlations): each alerting one runs on the schedule like a rule, over
   * [checkpoint − timespan − overlap, now]. Rules that only feed correlations are not run on their own.
   */
  correlations?: CorrelationSet | undefined;
  policy: AlertPolicy;
  settings: WatchSettings;
  /** Namespace for alerts on an index whose name names none (not a `type-dataset-namespace` data stream). */
  defaultNamespace: string;
  holder?: string;
  leaseIndex?: string;
  now?: () => number;
  log?: Logger;
}

export function shardOf(ruleId: string, shards: number): number {
  return createHash('sha1').update(ruleId).digest().readUInt32BE(0) % shards;
}

/** The data stream of a hit, from its index name alone (never from the document, whose fields an agent may write). */
function dataStreamOf(index: string): { name: string; namespace?: string } {
  const ds = dataStreamOfIndex(index);
  return ds ? { name: ds.name, namespace: ds.namespace } : { name: index };
}

/** `logs-endpoint-*` → `logs-endpoint-<ns>` for each namespace (a tenant-scoped watcher). */
export function scopeIndices(patterns: string[], namespaces: string[]): string[] {
  return [...new Set(namespaces.flatMap((ns) => scopeToNamespace(patterns, ns)))];
}

export class RuleWatcher {
  readonly holder: string;
  readonly rules: WatchedRule[];
  readonly correlations: WatchedCorrelation[];
  private readonly leases: LeaseStore;
  private readonly state: StateStore;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly owned = new Set<number>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly adapted = new Map<string, { at: number; query: RuleQuery }>();

  constructor(private readonly options: RuleWatcherOptions) {
    this.holder = options.holder ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.leases = new LeaseStore(options.client, this.holder, options.leaseIndex ?? LEASE_INDEX);
    this.state = new StateStore(options.client);
    this.now = options.now ?? Date.now;
    this.log = options.log ?? getLogger('watch');
    const feedOnly = options.correlations ? correlationOnlyRuleIds(options.correlations) : new Set<string>();
    this.correlations = options.correlations
      ? scheduledCorrelations(options.correlations).map((c) => ({ id: c.id, correlation: c, shard: shardOf(c.id, options.settings.shards) }))
      : [];
    this.rules = options.rules.filter((mapped) => !feedOnly.has(ruleIdOf(mapped.rule))).map((mapped) => {
      const id = ruleIdOf(mapped.rule);
      const query = compileMappedRuleQuery(mapped);
      if (options.settings.namespaces) query.indices = scopeIndices(query.indices, options.settings.namespaces);
      return { id, mapped, query, matcher: new SigmaRuleSet([mapped]), shard: shardOf(id, options.settings.shards) };
    });
  }

  get settings(): WatchSettings {
    return this.options.settings;
  }

  /** Shards this replica holds right now. */
  ownedShards(): number[] {
    return [...this.owned].sort((a, b) => a - b);
  }

  private get ttlMs(): number {
    return this.settings.lease_ttl_seconds * 1000;
  }

  /** Live replicas of the group (member leases not expired), this one included. */
  private async liveMembers(): Promise<number> {
    const prefix = memberLeaseName(this.settings.group, '');
    try {
      const res = await this.options.client.count({
        index: this.options.leaseIndex ?? LEASE_INDEX,
        query: { bool: { filter: [{ prefix: { name: prefix } }, { range: { expires_at: { gt: new Date(this.now()).toISOString() } } }] } },
      });
      return Math.max(1, res.count);
    } catch {
      return 1;
    }
  }

  /**
   * Heartbeat: renew membership and the shards held, give back what exceeds a fair share, take free shards
   * up to it. A shard whose holder died is free once its lease expires.
   */
  async balance(): Promise<number[]> {
    const { group, shards } = this.settings;
    const now = this.now();
    await this.leases.acquire(memberLeaseName(group, this.holder), this.ttlMs, now);
    await this.options.client.indices.refresh({ index: this.options.leaseIndex ?? LEASE_INDEX }).catch(() => undefined);
    const fair = Math.ceil(shards / (await this.liveMembers()));
    for (const shard of [...this.owned]) {
      const lease = await this.leases.acquire(shardLeaseName(group, shard), this.ttlMs, now);
      if (!lease) {
        this.owned.delete(shard);
        this.log.warn({ shard }, `watch: lost shard ${shard} to another replica`);
      }
    }
    while (this.owned.size > fair) {
      const shard = Math.max(...this.owned);
      this.owned.delete(shard);
      await this.leases.release(shardLeaseName(group, shard));
      this.log.info({ shard }, `watch: handed shard ${shard} back (fair share ${fair})`);
    }
    // Start at a replica-specific shard so replicas do not all race for the same free one.
    const start = shardOf(this.holder, shards);
    for (let k = 0; k < shards && this.owned.size < fair; k++) {
      const shard = (start + k) % shards;
      if (this.owned.has(shard)) continue;
      if (await this.leases.acquire(shardLeaseName(group, shard), this.ttlMs, now)) {
        this.owned.add(shard);
        this.log.info({ shard }, `watch: took shard ${shard}`);
      }
    }
    return this.ownedShards();
  }

  async checkpointOf(ruleId: string): Promise<RuleCheckpoint | undefined> {
    return this.state.get(checkpointKey(this.settings.group, ruleId), ruleCheckpointSchema);
  }

  async correlationCheckpointOf(correlationId: string): Promise<RuleCheckpoint | undefined> {
    return this.state.get(correlationCheckpointKey(this.settings.group, correlationId), ruleCheckpointSchema);
  }

  /** What a run of a rule or correlation leaves behind: how far it got and what it found (`nyx watch status` shows it). */
  private runCheckpoint(id: string, checkpoint: number, started: number, report: RuleRunReport, gap: RuleCheckpoint['gap']): RuleCheckpoint {
    return {
      rule_id: id,
      checkpoint: new Date(checkpoint).toISOString(),
      last_run_at: new Date(started).toISOString(),
      last_run_ms: Math.max(0, this.now() - started),
      last_hits: report.hits,
      last_alerts: report.created,
      last_duplicates: report.duplicates,
      last_capped: report.capped,
      holder: this.holder,
      ...(gap ? { gap } : {}),
    };
  }

  /**
   * Same document as StateStore.put, without its refresh: checkpoints are read back by id (real-time GET),
   * so waiting for a refresh (~1 s per rule per run) buys nothing.
   */
  private async saveCheckpoint(key: string, value: RuleCheckpoint): Promise<void> {
    await this.options.client.index({ index: STATE_INDEX, id: key, document: { key, kind: 'watch-checkpoint', updated_at: new Date().toISOString(), value }, refresh: false });
  }

  /** One cycle: balance shards, then run every rule of an owned shard that is due. */
  async runCycle(options: { force?: boolean } = {}): Promise<RuleRunReport[]> {
    await this.balance();
    const reports: RuleRunReport[] = [];
    for (const rule of this.rules) {
      if (this.stopped) break;
      if (!this.owned.has(rule.shard)) continue;
      const cp = await this.checkpointOf(rule.id);
      const due = options.force || !cp || Date.parse(cp.last_run_at) + this.settings.interval_seconds * 1000 <= this.now();
      if (!due) continue;
      reports.push(await this.runRule(rule, cp));
      // Long catch-ups must not let the leases lapse.
      await this.renewOwned();
    }
    for (const wc of this.correlations) {
      if (this.stopped) break;
      if (!this.owned.has(wc.shard)) continue;
      const cp = await this.correlationCheckpointOf(wc.id);
      const due = options.force || !cp || Date.parse(cp.last_run_at) + this.settings.interval_seconds * 1000 <= this.now();
      if (!due) continue;
      reports.push(await this.runCorrelation(wc, cp));
      await this.renewOwned();
    }
    return reports;
  }

  private async renewOwned(): Promise<void> {
    const now = this.now();
    await this.leases.acquire(memberLeaseName(this.settings.group, this.holder), this.ttlMs, now);
    for (const shard of [...this.owned]) {
      if (!(await this.leases.acquire(shardLeaseName(this.settings.group, shard), this.ttlMs, now))) this.owned.delete(shard);
    }
  }

  /** Runs one rule from its checkpoint to now. Never throws: a failure is recorded on the checkpoint. */
  async runRule(rule: WatchedRule, previous?: RuleCheckpoint): Promise<RuleRunReport> {
    const s = this.settings;
    const started = this.now();
    const end = started;
    const intervalMs = s.interval_seconds * 1000;
    const overlapMs = s.overlap_seconds * 1000;
    let from = previous ? Date.parse(previous.checkpoint) - overlapMs : end - intervalMs - overlapMs;
    let gap = previous?.gap;
    const report: RuleRunReport = { ruleId: rule.id, from: '', to: new Date(end).toISOString(), slices: 0, hits: 0, unconfirmed: 0, created: 0, duplicates: 0, capped: 0, alertIds: [] };
    if (previous) {
      const lagMs = end - Date.parse(previous.checkpoint);
      // More than two intervals behind: the watcher (or this rule's shard) was down.
      if (lagMs > 2 * intervalMs + overlapMs) {
        let skippedMs = 0;
        if (end - from > s.max_catchup_seconds * 1000) {
          skippedMs = end - s.max_catchup_seconds * 1000 - from;
          from = end - s.max_catchup_seconds * 1000;
        }
        gap = { detected_at: new Date(end).toISOString(), from: previous.checkpoint, to: new Date(end).toISOString(), seconds: Math.round(lagMs / 1000), caught_up: false, skipped_seconds: Math.round(skippedMs / 1000) };
        report.gapSeconds = gap.seconds;
        report.skippedSeconds = gap.skipped_seconds;
        this.log.warn(
          { rule: rule.id, gap_seconds: gap.seconds, skipped_seconds: gap.skipped_seconds },
          `watch: rule ${rule.id} (${rule.mapped.rule.title}) was not run for ${gap.seconds}s (checkpoint ${previous.checkpoint}); catching up${skippedMs ? `, except the oldest ${gap.skipped_seconds}s beyond watch.max_catchup_seconds` : ''}`,
        );
      }
    }
    report.from = new Date(from).toISOString();
    let alertsLeft = s.max_alerts_per_run;
    const save = async (checkpoint: number, extra: Partial<RuleCheckpoint> = {}): Promise<void> => {
      await this.saveCheckpoint(checkpointKey(s.group, rule.id), { ...this.runCheckpoint(rule.id, checkpoint, started, report, gap), ...extra });
    };
    try {
      let sliceStart = from;
      while (sliceStart < end && !this.stopped) {
        const sliceEnd = Math.min(end, sliceStart + s.catchup_slice_seconds * 1000);
        report.slices++;
        const { reached, alerts, hits, unconfirmed } = await this.searchSlice(rule, sliceStart, sliceEnd);
        report.hits += hits;
        report.unconfirmed += unconfirmed;
        alertsLeft = await this.writeWithinCap(alerts, alertsLeft, report);
        sliceStart = reached;
        if (gap && !gap.caught_up && sliceStart >= end) gap = { ...gap, caught_up: true };
        await save(reached);
      }
      if (report.capped) {
        this.log.warn({ rule: rule.id, capped: report.capped }, `watch: rule ${rule.id} hit watch.max_alerts_per_run (${s.max_alerts_per_run}): ${report.capped} alerts not written this run`);
      }
      if (gap && report.gapSeconds !== undefined && gap.caught_up) this.log.warn({ rule: rule.id }, `watch: rule ${rule.id} caught up (${gap.seconds}s gap)`);
    } catch (err) {
      report.error = (err as Error).message;
      this.log.error({ rule: rule.id, err }, `watch: rule ${rule.id} failed: ${report.error}`);
      await save(previous ? Date.parse(previous.checkpoint) : from + overlapMs, { last_error: report.error }).catch(() => undefined);
    }
    return report;
  }

  /** Namespaces (tenants) with events of the correlation's base rules in [from, to]: each is evaluated alone, so groups never mix tenants. */
  private async correlationNamespaces(wc: WatchedCorrelation, from: number, to: number): Promise<string[]> {
    if (this.settings.namespaces) return this.settings.namespaces;
    const q = compileCorrelationQuery(this.options.correlations!, wc.id, { from, to });
    const res = await this.options.client.search({
      index: q.indices.join(','),
      ignore_unavailable: true,
      allow_no_indices: true,
      size: 0,
      query: q.query,
      // By backing index, not data_stream.namespace: the index a document is in was chosen by the server.
      aggs: { indices: { terms: { field: '_index', size: 10_000 } } },
    });
    const agg = res.aggregations?.indices as { buckets?: Array<{ key: string | number }> } | undefined;
    const namespaces = new Set<string>();
    for (const b of agg?.buckets ?? []) {
      const ns = namespaceOfIndex(String(b.key));
      if (ns) namespaces.add(ns);
    }
    return [...namespaces].sort();
  }

  /**
   * Runs one correlation from its checkpoint to now. Each slice is evaluated over [slice start − timespan − overlap,
   * slice end], so a window that began before the checkpoint (or an event that arrived late) is seen whole; the
   * overlap re-finds windows already alerted on, under the same deterministic ids. Never throws.
   */
  async runCorrelation(wc: WatchedCorrelation, previous?: RuleCheckpoint): Promise<RuleRunReport> {
    const s = this.settings;
    const set = this.options.correlations!;
    const started = this.now();
    const end = started;
    const intervalMs = s.interval_seconds * 1000;
    const overlapMs = s.overlap_seconds * 1000;
    const lookbackMs = wc.correlation.timespanMs + overlapMs;
    let start = previous ? Date.parse(previous.checkpoint) : end - intervalMs;
    let gap = previous?.gap;
    const report: RuleRunReport = { ruleId: wc.id, kind: 'correlation', from: '', to: new Date(end).toISOString(), slices: 0, hits: 0, unconfirmed: 0, created: 0, duplicates: 0, capped: 0, alertIds: [] };
    if (previous) {
      const lagMs = end - start;
      if (lagMs > 2 * intervalMs + overlapMs) {
        let skippedMs = 0;
        if (lagMs > s.max_catchup_seconds * 1000) {
          skippedMs = lagMs - s.max_catchup_seconds * 1000;
          start = end - s.max_catchup_seconds * 1000;
        }
        gap = { detected_at: new Date(end).toISOString(), from: previous.checkpoint, to: new Date(end).toISOString(), seconds: Math.round(lagMs / 1000), caught_up: false, skipped_seconds: Math.round(skippedMs / 1000) };
        report.gapSeconds = gap.seconds;
        report.skippedSeconds = gap.skipped_seconds;
        this.log.warn({ correlation: wc.id, gap_seconds: gap.seconds }, `watch: correlation ${wc.id} (${wc.correlation.rule.title}) was not run for ${gap.seconds}s; catching up`);
      }
    }
    report.from = new Date(start - lookbackMs).toISOString();
    const notes: string[] = [];
    let alertsLeft = s.max_alerts_per_run;
    const save = async (checkpoint: number, extra: Partial<RuleCheckpoint> = {}): Promise<void> => {
      await this.saveCheckpoint(correlationCheckpointKey(s.group, wc.id), {
        ...this.runCheckpoint(wc.id, checkpoint, started, report, gap),
        ...(notes.length ? { notes: [...new Set(notes)] } : {}),
        ...extra,
      });
    };
    try {
      let sliceStart = start;
      // do…while: a run whose checkpoint is now still evaluates the lookback once.
      do {
        const sliceEnd = Math.min(end, sliceStart + s.catchup_slice_seconds * 1000);
        report.slices++;
        const from = sliceStart - lookbackMs;
        const alerts = new Map<string, AlertDocument>();
        for (const namespace of await this.correlationNamespaces(wc, from, sliceEnd)) {
          const result = await evaluateCorrelationOverElastic(this.options.client, set, wc.id, { from, to: sliceEnd, namespace });
          report.hits += result.eventsRead;
          if (result.truncated) notes.push(...result.notes.filter((n) => n.startsWith('stopped')));
          for (const m of result.matches) {
            const alert = buildCorrelationAlert(set, m, { namespace, policy: this.options.policy, now: new Date(this.now()) });
            if (alert) alerts.set(idOfAlert(alert), alert);
          }
        }
        alertsLeft = await this.writeWithinCap([...alerts.values()], alertsLeft, report);
        sliceStart = sliceEnd;
        if (gap && !gap.caught_up && sliceStart >= end) gap = { ...gap, caught_up: true };
        await save(sliceEnd);
      } while (sliceStart < end && !this.stopped);
      if (report.capped) this.log.warn({ correlation: wc.id, capped: report.capped }, `watch: correlation ${wc.id} hit watch.max_alerts_per_run (${s.max_alerts_per_run}): ${report.capped} alerts not written this run`);
    } catch (err) {
      report.error = (err as Error).message;
      this.log.error({ correlation: wc.id, err }, `watch: correlation ${wc.id} failed: ${report.error}`);
      await save(previous ? Date.parse(previous.checkpoint) : start, { last_error: report.error }).catch(() => undefined);
    }
    return report;
  }

  /** One slice [start, end): hits → confirmed matches → alerts. `reached` is how far the slice was read. */
  /** The rule's query as this cluster's mappings need it (re-checked every few minutes: new backing indices). */
  private async queryFor(rule: WatchedRule): Promise<RuleQuery> {
    const cached = this.adapted.get(rule.id);
    if (cached && cached.at > this.now() - 600_000) return cached.query;
    const query = await adaptToMappings(this.options.client, rule.query);
    this.adapted.set(rule.id, { at: this.now(), query });
    return query;
  }

  /**
   * Writes at most `alertsLeft` alerts (the per-run cap), counting the rest as capped, and returns what is
   * left of the cap. Rules and correlations share it, so both honour watch.max_alerts_per_run the same way.
   */
  private async writeWithinCap(alerts: AlertDocument[], alertsLeft: number, report: RuleRunReport): Promise<number> {
    const writable = alerts.slice(0, alertsLeft);
    report.capped += alerts.length - writable.length;
    if (!writable.length) return alertsLeft;
    const res = await writeAlerts(this.options.client, writable);
    for (const a of writable) report.alertIds.push(idOfAlert(a));
    report.created += res.created;
    report.duplicates += res.duplicates;
    if (res.failed) throw new Error(`${res.failed} alerts not written: ${res.failures[0]!.reason}`);
    return alertsLeft - res.created;
  }

  private async searchSlice(rule: WatchedRule, start: number, end: number): Promise<{ reached: number; alerts: AlertDocument[]; hits: number; unconfirmed: number }> {
    const size = this.settings.max_hits_per_run;
    const ruleQuery = await this.queryFor(rule);
    const query: estypes.QueryDslQueryContainer = {
      bool: { filter: [ruleQuery.query, { range: { '@timestamp': { gte: new Date(start).toISOString(), lt: new Date(end).toISOString(), format: 'strict_date_optional_time' } } }] },
    };
    const res = await this.options.client.search<Record<string, unknown>>({
      index: rule.query.indices.join(','),
      ignore_unavailable: true,
      allow_no_indices: true,
      size,
      sort: [{ '@timestamp': { order: 'asc', unmapped_type: 'date' } }],
      query,
    });
    const hits = res.hits.hits;
    let reached = end;
    if (hits.length >= size) {
      // More than one read's worth: stop at the last timestamp read (it is read again; ids keep that harmless).
      const last = Number((hits.at(-1)!.sort ?? [])[0]);
      if (Number.isFinite(last) && last > start) reached = last;
      else this.log.warn({ rule: rule.id }, `watch: more than ${size} hits at one timestamp for rule ${rule.id}; the rest of that instant is skipped`);
    }
    const alerts: AlertDocument[] = [];
    let unconfirmed = 0;
    for (const hit of hits) {
      const doc = hit._source ?? {};
      const match = rule.matcher.match(doc)[0];
      if (!match) {
        // The query is a superset when not exact; when it is exact, the two backends disagree (logged: a bug to report).
        unconfirmed++;
        if (ruleQuery.exact) this.log.warn({ rule: rule.id, event: hit._id }, `watch: query hit not confirmed by the stream matcher for rule ${rule.id}`);
        continue;
      }
      const ds = dataStreamOf(hit._index);
      const alert = buildAlertFromMatch(match, doc, {
        namespace: ds.namespace ?? this.options.defaultNamespace,
        policy: this.options.policy,
        rule: rule.mapped,
        index: ds.name,
        eventId: hit._id ?? undefined,
        now: new Date(this.now()),
      });
      if (alert) alerts.push(alert);
    }
    // Hits of one bucket make one alert: keep the first per id so the cap counts alerts, not events.
    const unique = new Map<string, AlertDocument>();
    for (const a of alerts) {
      const key = `${a.rule.id}\u0000${a.nyx.alert.entity}\u0000${a.nyx.alert.bucket_start}`;
      if (!unique.has(key)) unique.set(key, a);
    }
    return { reached, alerts: [...unique.values()], hits: hits.length, unconfirmed };
  }

  /** Runs cycles until stop(): a heartbeat every few seconds keeps the leases; rules run when due. */
  start(onReport?: (reports: RuleRunReport[]) => void): void {
    const tickMs = Math.max(250, Math.min(this.settings.interval_seconds * 1000, (this.settings.lease_ttl_seconds * 1000) / 3));
    const tick = async (): Promise<void> => {
      try {
        const reports = await this.runCycle();
        if (reports.length) onReport?.(reports);
      } catch (err) {
        this.log.error({ err }, `watch: cycle failed: ${(err as Error).message}`);
      }
    };
    const loop = (): void => {
      if (this.stopped) return;
      this.running = tick().finally(() => {
        if (!this.stopped) this.timer = setTimeout(loop, tickMs);
      });
    };
    loop();
  }

  /** Stops after the current rule and gives the shards back, so another replica takes them at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    for (const shard of [...this.owned]) await this.leases.release(shardLeaseName(this.settings.group, shard)).catch(() => undefined);
    await this.leases.release(memberLeaseName(this.settings.group, this.holder)).catch(() => undefined);
    this.owned.clear();
  }
}
