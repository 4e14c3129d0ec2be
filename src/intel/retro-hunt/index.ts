import { errors, type Client, type estypes } from '@elastic/elasticsearch';
import { z } from 'zod';
import { idOfAlert, writeAlerts, type AlertDocument } from '../../alerts/index.ts';
import type { NyxConfig } from '../../config/index.ts';
import { LeaseStore, StateStore } from '../../coordination/index.ts';
import { getLogger } from '../../log/logger.ts';
import { namespaceOfIndex } from '../../elastic/tenancy.ts';
import { findMatches, ENRICHED_FIELDS } from '../enrichment/enrich.ts';
import { IndicatorSet } from '../enrichment/indicator-set.ts';
import { indicatorAtoms, ipAtom, isIndicatorLive, normaliseDomain, normaliseUrl, type IndicatorAtom, type IndicatorSource, type LatestIndicator } from '../enrichment/indicators.ts';
import { formatIpv6 } from '../enrichment/indicator-set.ts';
import { formatCidr, formatIpv4 } from '../enrichment/ip.ts';
import { hexBytes, type WarningList } from '../enrichment/warning-list.ts';

/**
 * Retro-hunt: new indicators are looked for in the past N days of events. Values are batched into terms
 * queries (one per field group and chunk of values, not one per indicator), results are paged per
 * backing index and shard with search_after on [@timestamp, _doc] (exact within one shard, and needs no
 * point-in-time), every hit becomes an alert with a deterministic id and, the first time, a sighting.
 */

export const RETRO_HUNT_RULE = { id: 'nyx-ioc-retro-hunt', name: 'Known-bad indicator seen in past events (retro-hunt)' } as const;

/** What the feeds side (MISP `/sightings/add`) is told about a match. */
export interface IndicatorSighting {
  indicator: { key: string; type: string; value: string; providers: string[]; feeds: string[]; source_ids: string[] };
  /** The event value that matched (an IP inside a CIDR indicator differs from the indicator's value). */
  observed: string;
  field: string;
  event: { index: string; id: string; timestamp: string };
  namespace: string;
  alertId: string;
}

/** Implemented by the MISP client (or anything that reports sightings back to a feed). */
export type SightingCallback = (sighting: IndicatorSighting) => Promise<void>;

export interface RetroHuntOptions {
  /** Index pattern of the events to sweep (the indicators' own logs-ti_* indices are always excluded). */
  indices: string;
  days: number;
  chunkSize: number;
  pageSize: number;
  /** Tenant the alerts go to when an event's index names none (not a `type-dataset-namespace` data stream). */
  namespace: string;
  onSighting?: SightingCallback;
  warningList?: WarningList;
  /** Set false to count hits without writing alerts (benchmarks). */
  writeAlerts?: boolean;
  now?: Date;
  progress?: (line: string) => void;
}

export interface RetroHuntReport {
  indicators: number;
  values: number;
  queries: number;
  hits: number;
  alertsCreated: number;
  alertsExisting: number;
  alertFailures: string[];
  sightings: number;
  sightingFailures: number;
}

type Group = 'ip' | 'domain' | 'url' | 'hash' | 'email';
const GROUP_FIELDS: Record<Group, string[]> = { ip: [], domain: [], url: [], hash: [], email: [] };
for (const [field, kind] of ENRICHED_FIELDS) GROUP_FIELDS[kind].push(field);

/** The query value of an atom (IPs and networks in their text form: ip fields take CIDRs in terms queries). */
function queryValue(atom: IndicatorAtom): [Group, string] {
  switch (atom.kind) {
    case 'ipv4':
      return ['ip', formatIpv4(atom.ip)];
    case 'ipv6':
      return ['ip', formatIpv6(hexBytes(atom.key))];
    case 'cidr':
      return ['ip', formatCidr(atom.cidr)];
    default:
      return [atom.kind, atom.key];
  }
}

/** The concrete indices behind a pattern (data streams' backing indices) with their shard counts. */
async function shardsOf(client: Client, pattern: string): Promise<Array<{ index: string; shards: number }>> {
  try {
    const res = await client.indices.getSettings({ index: [pattern, '-logs-ti_*'], expand_wildcards: 'open', allow_no_indices: true, ignore_unavailable: true, filter_path: '*.settings.index.number_of_shards' });
    return Object.entries(res)
      .map(([index, s]) => ({ index, shards: Number((s as { settings?: { index?: { number_of_shards?: string } } }).settings?.index?.number_of_shards ?? 1) }))
      .filter((s) => !s.index.includes('logs-ti_'))
      .sort((a, b) => a.index.localeCompare(b.index));
  } catch (err) {
    if (err instanceof errors.ResponseError && err.statusCode === 404) return [];
    throw err;
  }
}

function severityFor(score: number): number {
  return score >= 70 ? 73 : score >= 40 ? 47 : 21;
}

function entityTypeFor(field: string): AlertDocument['nyx']['alert']['entity_type'] {
  if (field.endsWith('.ip')) return 'ip';
  if (field.includes('hash')) return 'file';
  if (field.startsWith('host.')) return 'host';
  return 'none';
}

/** Sweeps past events for these indicators; every hit becomes an alert (and, when new, a sighting). */
export async function retroHunt(client: Client, indicators: LatestIndicator[], options: RetroHuntOptions): Promise<RetroHuntReport> {
  const now = options.now ?? new Date();
  const report: RetroHuntReport = { indicators: 0, values: 0, queries: 0, hits: 0, alertsCreated: 0, alertsExisting: 0, alertFailures: [], sightings: 0, sightingFailures: 0 };
  // Matching the hits back: the same matcher as in-stream enrichment, over just these indicators.
  const set = new IndicatorSet(options.warningList);
  const byValue = new Map<string, LatestIndicator>();
  const networks: Array<{ atom: IndicatorAtom & { kind: 'cidr' }; indicator: LatestIndicator }> = [];
  const values: Record<Group, string[]> = { ip: [], domain: [], url: [], hash: [], email: [] };
  for (const ind of indicators) {
    if (!isIndicatorLive(ind, now.getTime())) continue;
    if (set.apply(ind, now.getTime()) === 'warning_listed') continue;
    report.indicators++;
    for (const atom of indicatorAtoms(ind)) {
      if (options.warningList?.explain(atom)) continue;
      const [group, value] = queryValue(atom);
      values[group].push(value);
      if (atom.kind === 'cidr') networks.push({ atom, indicator: ind });
      else byValue.set(`${group}\u0000${atom.kind === 'ipv4' || atom.kind === 'ipv6' ? value : atom.key}`, ind);
    }
  }
  const targets = await shardsOf(client, options.indices);
  const since = new Date(now.getTime() - options.days * 86_400_000).toISOString();
  const pending: Array<{ alert: AlertDocument; sighting: IndicatorSighting }> = [];
  const flush = async (): Promise<void> => {
    if (!pending.length) return;
    const batch = pending.splice(0);
    if (options.writeAlerts === false) return;
    const written = await writeAlerts(client, batch.map((p) => p.alert));
    report.alertsCreated += written.created;
    report.alertsExisting += written.duplicates;
    report.alertFailures.push(...written.failures.map((f) => `${f.id}: ${f.reason}`));
    const created = new Set(written.createdIds);
    for (const p of batch) {
      // A sighting per alert stored for the first time: a re-run of the hunt reports nothing twice.
      if (!options.onSighting || !created.has(p.sighting.alertId)) continue;
      created.delete(p.sighting.alertId);
      try {
        await options.onSighting(p.sighting);
        report.sightings++;
      } catch (err) {
        report.sightingFailures++;
        getLogger('retro-hunt').warn({ err, indicator: p.sighting.indicator.key }, 'sighting callback failed; the alert is stored');
      }
    }
  };
  const resolve = (group: Group, atomic: string): LatestIndicator | undefined => {
    let key = atomic.trim().toLowerCase();
    if (group === 'ip') {
      const atom = ipAtom(atomic);
      if (!atom) return undefined;
      if (atom.kind === 'ipv4') key = formatIpv4(atom.ip);
      else if (atom.kind === 'ipv6') key = formatIpv6(hexBytes(atom.key));
      const exact = byValue.get(`ip\u0000${key}`);
      if (exact) return exact;
      // The most specific network containing it.
      const bytes = atom.kind === 'ipv4' ? new Uint8Array([(atom.ip >>> 24) & 255, (atom.ip >>> 16) & 255, (atom.ip >>> 8) & 255, atom.ip & 255]) : atom.kind === 'ipv6' ? hexBytes(atom.key) : undefined;
      if (!bytes) return undefined;
      let best: { prefix: number; indicator: LatestIndicator } | undefined;
      for (const n of networks) {
        if (n.atom.cidr.bytes.length !== bytes.length || (best && best.prefix >= n.atom.cidr.prefix)) continue;
        let inside = true;
        for (let bit = 0; bit < n.atom.cidr.prefix && inside; bit++) inside = ((bytes[bit >> 3]! ^ n.atom.cidr.bytes[bit >> 3]!) & (0x80 >> (bit & 7))) === 0;
        if (inside) best = { prefix: n.atom.cidr.prefix, indicator: n.indicator };
      }
      return best?.indicator;
    }
    if (group === 'domain') key = normaliseDomain(atomic);
    if (group === 'url') key = normaliseUrl(atomic);
    return byValue.get(`${group}\u0000${key}`);
  };

  for (const group of Object.keys(values) as Group[]) {
    const list = [...new Set(values[group])];
    report.values += list.length;
    for (let i = 0; i < list.length; i += options.chunkSize) {
      const chunk = list.slice(i, i + options.chunkSize);
      const query: estypes.QueryDslQueryContainer = {
        bool: {
          filter: [{ range: { '@timestamp': { gte: since, lte: now.toISOString() } } }],
          should: GROUP_FIELDS[group].map((field) => ({ terms: { [field]: chunk } })),
          minimum_should_match: 1,
        },
      };
      for (const target of targets) {
        for (let shard = 0; shard < target.shards; shard++) {
          let after: estypes.SortResults | undefined;
          for (;;) {
            report.queries++;
            const res = await client.search<Record<string, unknown>>({
              index: target.index,
              preference: `_shards:${shard}`,
              size: options.pageSize,
              query,
              sort: [{ '@timestamp': { order: 'asc', unmapped_type: 'date' } }, { _doc: { order: 'asc' } }],
              ...(after ? { search_after: after } : {}),
              track_total_hits: false,
              ignore_unavailable: true,
            });
            const hits = res.hits.hits;
            for (const hit of hits) {
              const doc = hit._source;
              if (!doc) continue;
              for (const m of findMatches(doc, set, options.warningList)) {
                const kind = ENRICHED_FIELDS.find(([f]) => f === m.field)![1];
                if (kind !== group) continue;
                const indicator = resolve(group, m.atomic);
                if (!indicator) continue;
                report.hits++;
                pending.push(buildRetroAlert(doc, hit._index, hit._id ?? '', m.field, m.atomic, indicator, options.namespace, now));
              }
            }
            if (pending.length >= 500) await flush();
            if (hits.length < options.pageSize) break;
            after = hits.at(-1)?.sort;
          }
        }
      }
      options.progress?.(`retro-hunt: ${group} values ${Math.min(i + options.chunkSize, list.length)}/${list.length}, ${report.hits} hits`);
    }
  }
  await flush();
  return report;
}

function buildRetroAlert(doc: Record<string, unknown>, index: string, id: string, field: string, atomic: string, indicator: LatestIndicator, fallbackNamespace: string, now: Date): { alert: AlertDocument; sighting: IndicatorSighting } {
  const ti = indicator.threat.indicator;
  const n = indicator.nyx.indicator;
  const ts = typeof doc['@timestamp'] === 'string' && !Number.isNaN(Date.parse(doc['@timestamp'])) ? new Date(doc['@timestamp']).toISOString() : now.toISOString();
  // The tenant is the one whose data stream holds the event (its index name), never data_stream.namespace:
  // that field is inside the document, where an agent could have written another tenant's name.
  const namespace = namespaceOfIndex(index) ?? fallbackNamespace;
  const score = Math.round(n.confidence_score);
  const providers = Array.isArray(ti.provider) ? ti.provider : [String(ti.provider)];
  const copy: Record<string, unknown> = {};
  for (const group of ['host', 'user', 'source', 'destination']) {
    const v = doc[group];
    if (v && typeof v === 'object' && !Array.isArray(v)) copy[group] = v;
  }
  const entity = atomic.toLowerCase();
  // Deterministic: rule + matched value + the event's own time, so a re-run (or a second replica) finds it stored.
  const alert = {
    '@timestamp': now.toISOString(),
    ...copy,
    event: { kind: 'alert', severity: severityFor(score), risk_score: score, created: now.toISOString(), reference: `${index}/${id}` },
    rule: { id: RETRO_HUNT_RULE.id, name: RETRO_HUNT_RULE.name, ruleset: 'nyx-intel', description: 'A newly received indicator matched an event stored before the indicator arrived.' },
    threat: {
      enrichments: [{ matched: { field, atomic, type: 'indicator_match_rule', id, index, occurred: ts }, indicator: { type: ti.type, provider: providers.join(','), confidence: ti.confidence }, feed: { name: n.feeds.join(',') } }],
    },
    tags: ['ioc:retro_hunt'],
    nyx: {
      alert: {
        status: 'open',
        reason: `${ti.type} ${n.value} (${providers.join(', ')}, confidence ${score}) matched ${field}=${atomic} in an event of ${ts}`,
        entity,
        entity_type: entityTypeFor(field),
        bucket_start: ts,
        namespace,
        first_seen: ts,
        evidence: { event_ids: [id], indices: [index], fields: { [field]: [atomic] } },
        count: 1,
        indicator: { key: n.key },
      },
    },
  } as unknown as AlertDocument;
  const alertId = idOfAlert(alert);
  return {
    alert,
    sighting: {
      indicator: { key: n.key, type: ti.type, value: n.value, providers, feeds: n.feeds, source_ids: n.source_ids ?? [] },
      observed: atomic,
      field,
      event: { index, id, timestamp: ts },
      namespace,
      alertId,
    },
  };
}


export function retroHuntOptionsFromConfig(config: NyxConfig, extra: Partial<RetroHuntOptions> = {}): RetroHuntOptions {
  const r = config.enrichment.retro_hunt;
  return { indices: r.indices, days: r.days, chunkSize: r.chunk_size, pageSize: r.page_size, namespace: config.namespace, ...extra };
}

const cursorSchema = z.object({ modified_at: z.string() });

/**
 * Runs retro-hunts for indicators as they arrive: reads indicators changed since its cursor (kept in
 * StateStore, so a replica taking over continues), hunts the live ones, then moves the cursor. One
 * replica at a time by lease. The first run hunts the whole active set once.
 */
export class RetroHunter {
  private readonly state: StateStore;
  private readonly leases: LeaseStore;

  constructor(
    private readonly client: Client,
    private readonly source: IndicatorSource,
    private readonly options: RetroHuntOptions,
    holder = `retro-hunt:${process.pid}:${Math.random().toString(36).slice(2, 8)}`,
  ) {
    this.state = new StateStore(client);
    this.leases = new LeaseStore(client, holder);
  }

  private get key(): string {
    return `retro-hunt.${this.options.namespace}`;
  }

  /** One pass; undefined when another replica holds the lease. */
  async runOnce(): Promise<(RetroHuntReport & { cursor: string | null }) | undefined> {
    const lease = await this.leases.acquire(this.key, 30 * 60_000);
    if (!lease) return undefined;
    try {
      const cursor = await this.state.get(this.key, cursorSchema);
      // Changes since the last pass began, less an overlap for the store's refresh lag and clock skew.
      const since = cursor ? new Date(Date.parse(cursor.modified_at) - 10_000) : undefined;
      const started = new Date().toISOString();
      const fresh: LatestIndicator[] = [];
      for await (const ind of this.source.activeIndicators(since ? { since } : {})) if (ind.nyx.indicator.active) fresh.push(ind);
      const report = fresh.length ? await retroHunt(this.client, fresh, this.options) : emptyReport();
      await this.state.put(this.key, 'retro_hunt_cursor', { modified_at: started });
      return { ...report, cursor: started };
    } finally {
      await this.leases.release(lease.name);
    }
  }
}

function emptyReport(): RetroHuntReport {
  return { indicators: 0, values: 0, queries: 0, hits: 0, alertsCreated: 0, alertsExisting: 0, alertFailures: [], sightings: 0, sightingFailures: 0 };
}

/** The part of the MISP client a sighting needs (src/intel MispClient fits). */
export interface MispSightingSink {
  addSighting(sighting: { values: string[]; timestamp?: number; source?: string }): Promise<void>;
}

/**
 * Sightings to MISP for indicators one of `mispFeeds` reported (MISP knows only its own attributes):
 * the indicator's value (a CIDR attribute is sighted as the CIDR), at the event's time.
 */
export function mispSightingCallback(misp: MispSightingSink, mispFeeds: string[], source = 'nyx retro-hunt'): SightingCallback {
  const feeds = new Set(mispFeeds);
  return async (s) => {
    if (!s.indicator.feeds.some((f) => feeds.has(f))) return;
    await misp.addSighting({ values: [s.indicator.value], timestamp: Math.floor(Date.parse(s.event.timestamp) / 1000), source });
  };
}
