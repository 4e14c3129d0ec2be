import type { Client, estypes } from '@elastic/elasticsearch';
import { NyxError } from '../../errors.ts';
import { durationMs, riskConfigSchema, type RiskConfig } from './config.ts';
import { namespaceOfIndex } from '../../elastic/tenancy.ts';

/**
 * Entity risk per host and per user over a window, from the alerts in nyx-alerts-*:
 *   risk(entity) = Σ_alerts risk_score × 0.5^(age / half_life)  ×  burst multiplier
 * where the burst multiplier comes from the most distinct domains (process, persistence, network,
 * credential… from the alert's ATT&CK tactics, else its event.category) seen on the entity within
 * any `domain_window` (5 minutes by default): several kinds of activity on one host at once is how an
 * intrusion looks, and why it outranks many alerts of one kind.
 */

export type RiskEntityType = 'host' | 'user';

export interface RiskContribution {
  id: string;
  rule: string;
  ruleId: string;
  at: string;
  riskScore: number;
  /** riskScore after decay. */
  weight: number;
  domains: string[];
  status: string;
}

export interface EntityRisk {
  type: RiskEntityType;
  name: string;
  /**
   * The tenant whose alerts these are, from the alert index's name: a host or user of one tenant is never scored
   * with another tenant's of the same name. Absent for alerts read without an index.
   */
  namespace?: string;
  /** Rounded to one decimal; not clamped (it ranks entities). */
  score: number;
  base: number;
  multiplier: number;
  domains: string[];
  /** The busiest domain_window: its domains and span. */
  burst: { domains: string[]; start: string; end: string } | null;
  alerts: number;
  /** Largest contributions first (at most 5). */
  contributing: RiskContribution[];
}

export interface EntityRiskQuery {
  entity?: RiskEntityType | 'all';
  namespace?: string | undefined;
  /** Age (24h) or ISO time; default the config's window. */
  since?: string | undefined;
  limit?: number;
  now?: Date;
}

export interface EntityRiskReport {
  since: string;
  now: string;
  alertsRead: number;
  /** True when more alerts than max_alerts were in the window (the oldest were not read). */
  truncated: boolean;
  entities: EntityRisk[];
}

interface AlertHit {
  '@timestamp'?: string;
  event?: { risk_score?: number; category?: string | string[] };
  rule?: { id?: string; name?: string };
  host?: { name?: string | string[] };
  user?: { name?: string | string[] };
  threat?: { tactic?: { id?: string[] | string } };
  nyx?: { alert?: { first_seen?: string; status?: string; status_reason?: string } };
}

function list<T>(v: T | T[] | undefined): T[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

function sinceMs(since: string, now: number): number {
  const age = durationMs(since);
  if (!Number.isNaN(age)) return now - age;
  const t = Date.parse(since);
  if (Number.isNaN(t)) throw new NyxError(`--since ${since}: expected an age such as 30m, 24h, 7d or an ISO time`);
  return t;
}

/** The alert's domains, its primary (first-listed tactic, else first category) first. */
export function alertDomains(alert: AlertHit, config: RiskConfig): string[] {
  const fromTactics = list(alert.threat?.tactic?.id).flatMap((id) => (config.tactic_domains[id] ? [config.tactic_domains[id]] : []));
  const domains = fromTactics.length ? fromTactics : list(alert.event?.category).flatMap((c) => (config.category_domains[c] ? [config.category_domains[c]] : []));
  return [...new Set(domains)];
}

function multiplierFor(config: RiskConfig, domains: number): number {
  let best = 1;
  let bestKey = -1;
  for (const [k, m] of Object.entries(config.domain_multipliers)) {
    const n = Number(k);
    if (n <= domains && n > bestKey) {
      bestKey = n;
      best = m;
    }
  }
  return best;
}

interface Scored {
  id: string;
  t: number;
  alert: AlertHit;
  domains: string[];
  weight: number;
}

/**
 * The domain_window with the most distinct domains (ties: the earliest). Each alert counts with its
 * primary domain only, so one alert tagged with two tactics is not a multi-domain burst by itself.
 */
function busiestWindow(items: Scored[], windowMs: number): { domains: string[]; start: number; end: number } | null {
  const sorted = [...items].sort((a, b) => a.t - b.t);
  let best: { domains: string[]; start: number; end: number } | null = null;
  for (let i = 0; i < sorted.length; i++) {
    const domains = new Set<string>();
    let end = sorted[i]!.t;
    for (let j = i; j < sorted.length && sorted[j]!.t - sorted[i]!.t <= windowMs; j++) {
      const primary = sorted[j]!.domains[0];
      if (primary) domains.add(primary);
      end = sorted[j]!.t;
    }
    if (domains.size && (!best || domains.size > best.domains.length)) best = { domains: [...domains].sort(), start: sorted[i]!.t, end };
  }
  return best;
}

/** Score entities from already-fetched alerts (pure: tests and other callers can use it without Elasticsearch). */
export function scoreEntities(alerts: Array<{ id: string; source: AlertHit; namespace?: string | undefined }>, options: { config: RiskConfig; now: number; entity: RiskEntityType | 'all' }): EntityRisk[] {
  const { config, now } = options;
  const halfLife = durationMs(config.half_life);
  const groups = new Map<string, { type: RiskEntityType; name: string; namespace: string | undefined; items: Scored[] }>();
  for (const { id, source, namespace } of alerts) {
    const status = source.nyx?.alert?.status;
    if (status === 'closed' && config.ignore_closed_as.includes(source.nyx?.alert?.status_reason as never)) continue;
    const at = Date.parse(source.nyx?.alert?.first_seen ?? source['@timestamp'] ?? '');
    if (Number.isNaN(at)) continue;
    const risk = Number(source.event?.risk_score ?? 0);
    const weight = risk * 0.5 ** (Math.max(0, now - at) / halfLife);
    const scored: Scored = { id, t: at, alert: source, domains: alertDomains(source, config), weight };
    const names: Array<[RiskEntityType, string]> = [
      ...list(source.host?.name).map((n): [RiskEntityType, string] => ['host', n.toLowerCase()]),
      ...list(source.user?.name).map((n): [RiskEntityType, string] => ['user', n.toLowerCase()]),
    ];
    for (const [type, name] of names) {
      if (options.entity !== 'all' && options.entity !== type) continue;
      const key = `${namespace ?? ''}\u0000${type}\u0000${name}`;
      const g = groups.get(key) ?? { type, name, namespace, items: [] };
      g.items.push(scored);
      groups.set(key, g);
    }
  }
  const windowMs = durationMs(config.domain_window);
  const out: EntityRisk[] = [];
  for (const g of groups.values()) {
    const base = g.items.reduce((s, i) => s + i.weight, 0);
    const burst = busiestWindow(g.items, windowMs);
    const multiplier = multiplierFor(config, burst?.domains.length ?? 0);
    out.push({
      type: g.type,
      name: g.name,
      ...(g.namespace !== undefined ? { namespace: g.namespace } : {}),
      score: Math.round(base * multiplier * 10) / 10,
      base: Math.round(base * 10) / 10,
      multiplier,
      domains: [...new Set(g.items.flatMap((i) => i.domains))].sort(),
      burst: burst ? { domains: burst.domains, start: new Date(burst.start).toISOString(), end: new Date(burst.end).toISOString() } : null,
      alerts: g.items.length,
      contributing: [...g.items]
        .sort((a, b) => b.weight - a.weight || b.t - a.t)
        .slice(0, 5)
        .map((i) => ({
          id: i.id,
          rule: i.alert.rule?.name ?? '',
          ruleId: i.alert.rule?.id ?? '',
          at: new Date(i.t).toISOString(),
          riskScore: Number(i.alert.event?.risk_score ?? 0),
          weight: Math.round(i.weight * 10) / 10,
          domains: i.domains,
          status: i.alert.nyx?.alert?.status ?? 'open',
        })),
    });
  }
  return out.sort((a, b) => b.score - a.score || a.name.localeCompare(b.name));
}

/** `nyx risk`: the riskiest hosts and/or users over the window, with the alerts that made their score. */
export async function entityRisk(client: Client, query: EntityRiskQuery = {}, configInput: Partial<RiskConfig> = {}): Promise<EntityRiskReport> {
  const config = riskConfigSchema.parse(configInput);
  const now = (query.now ?? new Date()).getTime();
  const from = sinceMs(query.since ?? config.window, now);
  const filter: estypes.QueryDslQueryContainer[] = [{ range: { '@timestamp': { gte: new Date(from).toISOString() } } }];
  const entity = query.entity ?? 'all';
  if (entity === 'host') filter.push({ exists: { field: 'host.name' } });
  if (entity === 'user') filter.push({ exists: { field: 'user.name' } });
  const res = await client.search<AlertHit>({
    index: query.namespace ? `nyx-alerts-${query.namespace}` : 'nyx-alerts-*',
    ignore_unavailable: true,
    allow_no_indices: true,
    size: config.max_alerts,
    track_total_hits: config.max_alerts + 1,
    sort: [{ '@timestamp': { order: 'desc', unmapped_type: 'date' } }],
    query: { bool: { filter } },
    _source: ['@timestamp', 'event.risk_score', 'event.category', 'rule.id', 'rule.name', 'host.name', 'user.name', 'threat.tactic.id', 'nyx.alert.first_seen', 'nyx.alert.status', 'nyx.alert.status_reason'],
  });
  // The tenant of each alert is its index's (nyx-alerts-<namespace>), never a field inside it.
  const hits = res.hits.hits.map((h) => ({ id: h._id!, source: h._source ?? {}, namespace: namespaceOfIndex(h._index) }));
  const total = typeof res.hits.total === 'number' ? res.hits.total : (res.hits.total?.value ?? hits.length);
  // Alerts store the activity time in first_seen; @timestamp (creation) bounds the search.
  const inWindow = hits.filter((h) => Date.parse(h.source.nyx?.alert?.first_seen ?? h.source['@timestamp'] ?? '') >= from);
  const entities = scoreEntities(inWindow, { config, now, entity });
  return {
    since: new Date(from).toISOString(),
    now: new Date(now).toISOString(),
    alertsRead: hits.length,
    truncated: total > hits.length,
    entities: entities.slice(0, query.limit ?? 10),
  };
}
