import type { Client, estypes } from '@elastic/elasticsearch';
import { NyxError } from '../../errors.ts';
import { checkIp, compileHunt, logsIndex, timeRange, type HuntQuery } from './query.ts';
import { dataStreamOfIndex } from '../../elastic/tenancy.ts';

export interface HuntRow {
  id: string;
  index: string;
  timestamp: string;
  dataset?: string | undefined;
  category?: string | undefined;
  action?: string | undefined;
  outcome?: string | undefined;
  severity?: number | undefined;
  host?: string | undefined;
  user?: string | undefined;
  sourceIp?: string | undefined;
  destinationIp?: string | undefined;
  destinationPort?: number | undefined;
  summary: string;
}

export interface HuntResult {
  from: string;
  to: string;
  index: string;
  total: number;
  /** Newest first. */
  events: HuntRow[];
}

type Doc = Record<string, unknown>;

function pick(doc: Doc, path: string): unknown {
  let node: unknown = doc;
  for (const p of path.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    const obj = node as Doc;
    node = p in obj ? obj[p] : undefined;
  }
  if (node === undefined && path in doc) return doc[path];
  return Array.isArray(node) ? node.join(',') : node;
}

function str(doc: Doc, path: string): string | undefined {
  const v = pick(doc, path);
  return v === undefined || v === null ? undefined : String(v);
}

const SUMMARY_FIELDS = ['message', 'process.command_line', 'file.path', 'dns.question.name', 'url.full', 'rule.name'];

export function toRow(hit: { _id?: string | null; _index: string; _source?: unknown }): HuntRow {
  const doc = (hit._source ?? {}) as Doc;
  const summary = SUMMARY_FIELDS.map((f) => str(doc, f)).find((v) => v) ?? '';
  const port = pick(doc, 'destination.port');
  const severity = pick(doc, 'event.severity');
  return {
    id: hit._id ?? '',
    index: hit._index,
    timestamp: str(doc, '@timestamp') ?? '',
    // The data stream the event is in, from its index name: data_stream.dataset is a field inside the document.
    dataset: dataStreamOfIndex(hit._index)?.dataset ?? str(doc, 'event.dataset'),
    category: str(doc, 'event.category'),
    action: str(doc, 'event.action'),
    outcome: str(doc, 'event.outcome'),
    severity: typeof severity === 'number' ? severity : undefined,
    host: str(doc, 'host.name'),
    user: str(doc, 'user.name'),
    sourceIp: str(doc, 'source.ip'),
    destinationIp: str(doc, 'destination.ip'),
    destinationPort: typeof port === 'number' ? port : undefined,
    summary: summary.length > 160 ? `${summary.slice(0, 159)}…` : summary,
  };
}

/** `nyx hunt`: events in the logs-* data streams matching every given filter, newest first. */
export async function hunt(client: Client, q: HuntQuery, now = Date.now()): Promise<HuntResult> {
  const compiled = compileHunt(q, now);
  const res = await client.search({
    index: compiled.index,
    ignore_unavailable: true,
    allow_no_indices: true,
    size: q.size ?? 50,
    track_total_hits: true,
    sort: [{ '@timestamp': { order: 'desc', unmapped_type: 'date' } }],
    query: compiled.query,
    _source: { excludes: ['event.original'] },
  });
  const total = typeof res.hits.total === 'number' ? res.hits.total : (res.hits.total?.value ?? 0);
  return { from: compiled.from, to: compiled.to, index: compiled.index, total, events: res.hits.hits.map(toRow) };
}

export interface PivotRequest {
  ip?: string | undefined;
  user?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  since?: string | undefined;
  namespace?: string | undefined;
  /** Top values per facet. */
  top?: number | undefined;
}

export interface Facet {
  value: string;
  count: number;
}

export interface PivotAlert {
  id: string;
  at: string;
  rule: string;
  severity: number;
  riskScore: number;
  status: string;
  entity: string;
}

export interface PivotReport {
  entity: { type: 'ip' | 'user'; value: string };
  from: string;
  to: string;
  events: number;
  firstSeen: string | null;
  lastSeen: string | null;
  hosts: Facet[];
  users: Facet[];
  sourceIps: Facet[];
  destinations: Facet[];
  destinationPorts: Facet[];
  categories: Facet[];
  actions: Facet[];
  outcomes: Facet[];
  datasets: Facet[];
  alerts: { total: number; items: PivotAlert[] };
}

/** Counts per dataset from counts per backing index, largest first, as a terms facet would list them. */
function datasetFacet(buckets: Array<{ key: string | number; doc_count: number }>, top: number): Facet[] {
  const counts = new Map<string, number>();
  for (const b of buckets) {
    const dataset = dataStreamOfIndex(String(b.key))?.dataset ?? String(b.key);
    counts.set(dataset, (counts.get(dataset) ?? 0) + b.doc_count);
  }
  return [...counts].map(([value, count]) => ({ value, count })).sort((x, y) => y.count - x.count || x.value.localeCompare(y.value)).slice(0, top);
}

const FACETS: Array<[keyof PivotReport, string]> = [
  ['hosts', 'host.name'],
  ['users', 'user.name'],
  ['sourceIps', 'source.ip'],
  ['destinations', 'destination.ip'],
  ['destinationPorts', 'destination.port'],
  ['categories', 'event.category'],
  ['actions', 'event.action'],
  ['outcomes', 'event.outcome'],
];

/** Backing indices per pivot, at most: each names its dataset, and a dataset has one per rollover. */
const MAX_INDICES = 1000;

/**
 * `nyx hunt pivot --ip X | --user U`: everything about one entity in the window — when it was first
 * and last seen, the hosts, users, peers, ports, kinds of event and the alerts that name it.
 */
export async function pivot(client: Client, req: PivotRequest, now = Date.now()): Promise<PivotReport> {
  if ((req.ip === undefined) === (req.user === undefined)) throw new NyxError('pivot needs exactly one of --ip or --user');
  const entity = req.ip !== undefined ? { type: 'ip' as const, value: checkIp(req.ip) } : { type: 'user' as const, value: req.user! };
  const { from, to } = timeRange(req, now, '7d');
  const base: HuntQuery = {
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    ...(entity.type === 'ip' ? { ip: entity.value } : { user: entity.value }),
    ...(req.namespace ? { namespace: req.namespace } : {}),
  };
  const compiled = compileHunt(base, now);
  const top = req.top ?? 10;
  const aggs: Record<string, estypes.AggregationsAggregationContainer> = {
    first: { min: { field: '@timestamp' } },
    last: { max: { field: '@timestamp' } },
    ...Object.fromEntries(FACETS.map(([name, field]) => [name, { terms: { field, size: top } }])),
    // Datasets by the index the events are in (what the server chose), not by a field inside them.
    indices: { terms: { field: '_index', size: MAX_INDICES } },
  };
  const res = await client.search({ index: compiled.index, ignore_unavailable: true, allow_no_indices: true, size: 0, track_total_hits: true, query: compiled.query, aggs });
  const a = (res.aggregations ?? {}) as Record<string, { value_as_string?: string; value?: number | null; buckets?: Array<{ key: string | number; key_as_string?: string; doc_count: number }> }>;
  const facet = (name: string): Facet[] => (a[name]?.buckets ?? []).map((b) => ({ value: b.key_as_string ?? String(b.key), count: b.doc_count }));
  const report: PivotReport = {
    entity,
    from: compiled.from,
    to: compiled.to,
    events: typeof res.hits.total === 'number' ? res.hits.total : (res.hits.total?.value ?? 0),
    firstSeen: a.first?.value ? new Date(a.first.value).toISOString() : null,
    lastSeen: a.last?.value ? new Date(a.last.value).toISOString() : null,
    hosts: facet('hosts'),
    users: facet('users'),
    sourceIps: facet('sourceIps'),
    destinations: facet('destinations'),
    destinationPorts: facet('destinationPorts'),
    categories: facet('categories'),
    actions: facet('actions'),
    outcomes: facet('outcomes'),
    datasets: datasetFacet(a.indices?.buckets ?? [], top),
    alerts: { total: 0, items: [] },
  };
  // Alerts naming the entity: in its ECS fields, or as (part of) a correlation's group entity.
  const value = entity.value.toLowerCase();
  const named: estypes.QueryDslQueryContainer[] =
    entity.type === 'ip'
      ? [
          ...['source.ip', 'destination.ip', 'host.ip'].map((f) => ({ term: { [f]: entity.value } })),
          { term: { 'nyx.alert.entity': value } },
          ...(entity.value.includes('/') ? [] : [{ wildcard: { 'nyx.alert.entity': { value: `*=${value}` } } }, { wildcard: { 'nyx.alert.entity': { value: `*=${value},*` } } }]),
        ]
      : [
          { term: { 'user.name': { value: entity.value, case_insensitive: true } } },
          { term: { 'nyx.alert.entity': value } },
          { wildcard: { 'nyx.alert.entity': { value: `*user.name=${value}*`, case_insensitive: true } } },
        ];
  const alerts = await client.search<Record<string, unknown>>({
    index: req.namespace ? `nyx-alerts-${req.namespace}` : 'nyx-alerts-*',
    ignore_unavailable: true,
    allow_no_indices: true,
    size: 20,
    track_total_hits: true,
    sort: [{ '@timestamp': { order: 'desc', unmapped_type: 'date' } }],
    query: { bool: { filter: [{ range: { '@timestamp': { gte: compiled.from } } }], should: named, minimum_should_match: 1 } },
  });
  report.alerts = {
    total: typeof alerts.hits.total === 'number' ? alerts.hits.total : (alerts.hits.total?.value ?? 0),
    items: alerts.hits.hits.map((h) => {
      const d = (h._source ?? {}) as Doc;
      return {
        id: h._id ?? '',
        at: str(d, 'nyx.alert.first_seen') ?? str(d, '@timestamp') ?? '',
        rule: str(d, 'rule.name') ?? '',
        severity: Number(pick(d, 'event.severity') ?? 0),
        riskScore: Number(pick(d, 'event.risk_score') ?? 0),
        status: str(d, 'nyx.alert.status') ?? '',
        entity: str(d, 'nyx.alert.entity') ?? '',
      };
    }),
  };
  return report;
}

export { logsIndex };
