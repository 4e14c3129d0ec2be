import type { Client } from '@elastic/elasticsearch';
import { buildAlertFromMatch, writeAlerts, type AlertDocument, type AlertPolicy } from '../../alerts/index.ts';
import type { IngestHook, IngestHookContext } from '../../ingest/hooks.ts';
import { getLogger } from '../../log/logger.ts';
import { ruleIdOf, SigmaRuleSet, type MappedSigmaRule } from '../sigma/index.ts';
import {
  alertingCorrelationIds,
  buildCorrelationAlert,
  correlationOnlyRuleIds,
  CorrelationState,
  evaluateCorrelationInStream,
  type CorrelationLimits,
  type CorrelationMatch,
  type CorrelationSet,
} from '../correlation/index.ts';
import { indexMatches } from './setup.ts';

/**
 * The stream (fast) path: every event the ingest API stores for the first time meets the rules whose
 * logsource covers its data stream, and each match becomes an alert written at once. Same ids as the
 * watcher's, so whichever path is first stores the alert and the other finds a duplicate.
 *
 * Correlations: the base-rule matches of each stored event feed one CorrelationState per namespace
 * (tenants never share a group), and a timer advances the states so upper-bound windows are judged and
 * idle groups freed. A correlation alert is built exactly as the watcher builds it (buildCorrelationAlert),
 * so both paths store one document per correlation + group + window.
 */

export interface StreamDetectorStats {
  events: number;
  matches: number;
  created: number;
  duplicates: number;
  failed: number;
  /** Batches skipped because Elasticsearch, not Nyx, normalises them (the watcher covers those). */
  skippedUnnormalised: number;
  /** Correlation matches (alerting correlations only) and live correlation groups across namespaces. */
  correlationMatches: number;
  correlationGroups: number;
}

export interface StreamDetector extends IngestHook {
  readonly stats: StreamDetectorStats;
  /** Matches a batch and writes its alerts; the hook's onStored calls this. */
  detect(docs: Array<Record<string, unknown>>, ctx: IngestHookContext): Promise<AlertDocument[]>;
  /** Closes the correlation windows `now` (epoch ms; default each namespace's event-time clock) has passed and writes their alerts. */
  advance(now?: number): Promise<AlertDocument[]>;
  /** Stops the correlation timer. */
  close(): void;
}

export interface StreamDetectorOptions {
  client: Client;
  rules: MappedSigmaRule[];
  /** Correlation rules to evaluate on the stream; rules that only feed them raise no alerts of their own. */
  correlations?: CorrelationSet | undefined;
  /** Per namespace: groups per correlation and occurrences per group (memory bound). */
  correlationLimits?: Partial<CorrelationLimits>;
  /** How often the correlation states are advanced (0: never by timer; call advance()). Default 5 s. */
  correlationTickMs?: number;
  /** At most this many namespaces hold correlation state; the least recently active is dropped beyond it. Default 1,000. */
  maxCorrelationNamespaces?: number;
  policy: AlertPolicy;
  refresh?: boolean;
  /**
   * For batches Elasticsearch will normalise itself (a cluster with ingest processors): the same pipeline run
   * here on a copy, so the stream path still sees ECS. Without it such batches are left to the watcher.
   */
  normalise?: (source: IngestHookContext['source'], doc: Record<string, unknown>, dataStream: string) => Record<string, unknown>;
}

/** The event ids of the batch (alert evidence), aligned with its documents. */
function eventIdsOf(ctx: IngestHookContext): Array<string | undefined> | undefined {
  return ctx.ids;
}

export function createStreamDetector(options: StreamDetectorOptions): StreamDetector {
  const log = getLogger('stream-detection');
  const correlations = options.correlations;
  const feedOnly = correlations ? correlationOnlyRuleIds(correlations) : new Set<string>();
  const alertingRules = options.rules.filter((r) => !feedOnly.has(ruleIdOf(r.rule)));
  const byId = new Map(alertingRules.map((r) => [ruleIdOf(r.rule), r]));
  const baseIds = new Set(correlations ? correlations.baseRules.keys() : []);
  // Matched once per event: the alerting rules plus the correlations' base rules (deduplicated by id).
  const matchable = [...byId.values()];
  for (const [id, mapped] of correlations?.baseRules ?? []) if (!byId.has(id)) matchable.push(mapped);
  const alertingCorrelations = correlations ? alertingCorrelationIds(correlations) : new Set<string>();

  // One rule set per data stream: only the rules whose logsource indices cover it, as the watcher's query would.
  const sets = new Map<string, SigmaRuleSet>();
  const setFor = (dataStream: string): SigmaRuleSet => {
    let set = sets.get(dataStream);
    if (!set) {
      set = new SigmaRuleSet(matchable.filter((r) => indexMatches(r.indices, dataStream)));
      sets.set(dataStream, set);
    }
    return set;
  };
  const stats: StreamDetectorStats = { events: 0, matches: 0, created: 0, duplicates: 0, failed: 0, skippedUnnormalised: 0, correlationMatches: 0, correlationGroups: 0 };

  // Map order = least → most recently active namespace (re-inserted on use), for the namespace bound.
  // Each namespace keeps an event-time clock: the newest event time seen plus the wall time since it was seen,
  // so a replay of old logs is judged on its own timeline (a tick between two batches does not split a burst)
  // while live traffic tracks the wall clock.
  const states = new Map<string, { state: CorrelationState; latestT: number; seenAt: number }>();
  const maxNamespaces = options.maxCorrelationNamespaces ?? 1_000;
  const stateFor = (namespace: string, eventT: number | undefined): CorrelationState => {
    let entry = states.get(namespace);
    if (entry) states.delete(namespace);
    else {
      entry = { state: new CorrelationState(correlations!, options.correlationLimits), latestT: -Infinity, seenAt: Date.now() };
      if (states.size >= maxNamespaces) {
        const oldest = states.keys().next().value;
        if (oldest !== undefined) states.delete(oldest);
        log.warn({ namespace: oldest }, `stream detection: more than ${maxNamespaces} namespaces with correlation state; dropped the least active (the watcher still covers it)`);
      }
    }
    if (eventT !== undefined && eventT >= entry.latestT) {
      entry.latestT = eventT;
      entry.seenAt = Date.now();
    }
    states.set(namespace, entry);
    return entry.state;
  };
  const eventTime = (doc: Record<string, unknown>): number | undefined => {
    const t = typeof doc['@timestamp'] === 'string' ? Date.parse(doc['@timestamp']) : NaN;
    return Number.isNaN(t) ? undefined : t;
  };
  const countGroups = (): void => {
    stats.correlationGroups = [...states.values()].reduce((n, e) => n + e.state.groupCount, 0);
  };

  const correlationAlerts = (matches: CorrelationMatch[], namespace: string): AlertDocument[] => {
    const out: AlertDocument[] = [];
    for (const m of matches) {
      if (!alertingCorrelations.has(m.correlationId)) continue; // a chain's inner correlation only feeds the outer one
      stats.correlationMatches++;
      const alert = buildCorrelationAlert(correlations!, m, { namespace, policy: options.policy });
      if (alert) out.push(alert);
    }
    return out;
  };

  const write = async (alerts: AlertDocument[], namespace: string | undefined): Promise<void> => {
    if (!alerts.length) return;
    const res = await writeAlerts(options.client, alerts, { refresh: options.refresh ?? true });
    stats.created += res.created;
    stats.duplicates += res.duplicates;
    stats.failed += res.failed;
    if (res.failed) log.error({ failures: res.failures.slice(0, 5), namespace }, `stream detection: ${res.failed} alerts not written (the watcher will retry them)`);
  };

  const detect = async (docs: Array<Record<string, unknown>>, ctx: IngestHookContext): Promise<AlertDocument[]> => {
    const set = setFor(ctx.dataStream);
    if (set.rules.length === 0) return [];
    if (!ctx.normalised) {
      if (!options.normalise) {
        stats.skippedUnnormalised++;
        return [];
      }
      docs = docs.map((d) => options.normalise!(ctx.source, d, ctx.dataStream));
    }
    const ids = eventIdsOf(ctx);
    const alerts: AlertDocument[] = [];
    docs.forEach((doc, i) => {
      stats.events++;
      const matches = set.match(doc);
      const fed: string[] = [];
      for (const match of matches) {
        if (baseIds.has(match.ruleId)) fed.push(match.ruleId);
        const rule = byId.get(match.ruleId);
        if (!rule) continue; // only feeds correlations
        stats.matches++;
        const alert = buildAlertFromMatch(match, doc, { namespace: ctx.namespace, policy: options.policy, rule, index: ctx.dataStream, eventId: ids?.[i] });
        if (alert) alerts.push(alert);
      }
      if (fed.length) {
        const found = evaluateCorrelationInStream(stateFor(ctx.namespace, eventTime(doc)), { doc, ruleIds: fed, id: ids?.[i], index: ctx.dataStream });
        alerts.push(...correlationAlerts(found, ctx.namespace));
      }
    });
    if (correlations) countGroups();
    await write(alerts, ctx.namespace);
    return alerts;
  };

  /** `now`: close windows up to this event time in every namespace; default each namespace's own clock. */
  const advance = async (now?: number): Promise<AlertDocument[]> => {
    const all: AlertDocument[] = [];
    const wall = Date.now();
    for (const [namespace, entry] of [...states]) {
      const clock = now ?? (Number.isFinite(entry.latestT) ? entry.latestT + (wall - entry.seenAt) : wall);
      const alerts = correlationAlerts(entry.state.advance(clock), namespace);
      if (entry.state.groupCount === 0) states.delete(namespace); // an idle tenant costs nothing
      await write(alerts, namespace);
      all.push(...alerts);
    }
    countGroups();
    return all;
  };

  const tickMs = options.correlationTickMs ?? 5_000;
  let timer: NodeJS.Timeout | undefined;
  let ticking = false;
  if (correlations?.correlations.length && tickMs > 0) {
    timer = setInterval(() => {
      if (ticking) return;
      ticking = true;
      advance()
        .catch((err: unknown) => log.error({ err }, `stream detection: correlation tick failed: ${(err as Error).message}`))
        .finally(() => (ticking = false));
    }, tickMs);
    timer.unref(); // never keeps a process alive on its own
  }

  return {
    name: 'sigma-stream-matcher',
    stats,
    detect,
    advance,
    close: () => {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
    onStored: async (docs, ctx) => void (await detect(docs, ctx)),
  };
}
