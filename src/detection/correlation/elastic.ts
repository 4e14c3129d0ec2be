import type { Client, estypes } from '@elastic/elasticsearch';
import { compileMappedRuleQuery, ruleIdOf, SigmaRuleSet, type EcsDocument, type EsQuery, type MappedSigmaRule } from '../sigma/index.ts';
import { CorrelationState, type CorrelationLimits, type CorrelationMatch } from './engine.ts';
import { conditionMinimum, requireCorrelation, type CompiledCorrelation, type CorrelationSet } from './model.ts';
import { scopeToNamespace } from '../../elastic/tenancy.ts';

/**
 * The Elasticsearch evaluator, for `nyx watch` to schedule. Two steps:
 * 1. Candidates: a composite aggregation over the group-by fields of the referenced rules' events,
 *    with per-group measures that can only over-estimate a sliding window's — adjacent
 *    `date_histogram` buckets of `timespan` (any window of that length lies in two adjacent
 *    buckets) for event_count, `cardinality` for value_count, `sum` for value_sum (byte counts and
 *    other non-negative values), per-rule `filters` for temporal. Groups that cannot reach the
 *    condition are dropped here, in the cluster, with core aggregations only (no scripts).
 * 2. Confirmation: the candidate groups' events are read in time order (point in time +
 *    search_after) and replayed through the stream evaluator, after the stream matcher confirms
 *    which rules each event matches. Both paths therefore report the same groups and windows.
 * Chained correlations and `aliases` that map one group-by name to different fields per rule
 * skip step 1 (the reason is reported in `notes`).
 */

export interface CorrelationRange {
  from: Date | string | number;
  to: Date | string | number;
  /**
   * Only this data-stream namespace (tenant); default all. Selected by index name (`logs-endpoint-<ns>`), never by
   * the `data_stream.namespace` field: an agent could write that field into a document of its own tenant.
   */
  namespace?: string | undefined;
}

export interface CorrelationQuery {
  correlationId: string;
  indices: string[];
  /** The referenced rules' events in the range (every rule, chained correlations' included). */
  query: EsQuery;
  /** Each detection rule's own query, by rule id. */
  ruleQueries: Record<string, EsQuery>;
  /** The candidate-group aggregation; absent when grouping cannot be done in Elasticsearch. */
  candidates?: { fields: string[]; aggs: Record<string, estypes.AggregationsAggregationContainer> };
  /** Why there is no candidate aggregation. */
  noCandidates?: string;
}

export interface ElasticCorrelationOptions extends CorrelationRange {
  /** Events read at most (the rest is reported as truncated). Default 50,000. */
  maxEvents?: number;
  pageSize?: number;
  limits?: Partial<CorrelationLimits>;
}

export interface ElasticCorrelationResult {
  correlationId: string;
  matches: CorrelationMatch[];
  /** Groups that passed step 1 (null when step 1 did not run). */
  candidateGroups: number | null;
  groupsSeen: number | null;
  eventsRead: number;
  truncated: boolean;
  notes: string[];
}

const TIMESTAMP = '@timestamp';

function iso(t: Date | string | number): string {
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) throw new Error(`not a time: ${String(t)}`);
  return d.toISOString();
}

function baseRulesOf(set: CorrelationSet, c: CompiledCorrelation, out = new Map<string, MappedSigmaRule>()): Map<string, MappedSigmaRule> {
  for (const input of c.inputs) {
    if (input.kind === 'rule') out.set(input.ruleId, input.mapped);
    else baseRulesOf(set, requireCorrelation(set, input.correlationId), out);
  }
  return out;
}

function rangeFilters(range: CorrelationRange): EsQuery[] {
  return [{ range: { [TIMESTAMP]: { gte: iso(range.from), lte: iso(range.to), format: 'strict_date_optional_time' } } }];
}

/** Compile a correlation to the searches the Elasticsearch evaluator runs (pure: no I/O). */
export function compileCorrelationQuery(set: CorrelationSet, correlationId: string, range: CorrelationRange): CorrelationQuery {
  const c = requireCorrelation(set, correlationId);
  const rules = baseRulesOf(set, c);
  const ruleQueries: Record<string, EsQuery> = {};
  const indices = new Set<string>();
  for (const [id, mapped] of rules) {
    ruleQueries[id] = compileMappedRuleQuery(mapped).query;
    for (const i of mapped.indices) indices.add(i);
  }
  const query: EsQuery = { bool: { filter: rangeFilters(range), should: Object.values(ruleQueries), minimum_should_match: 1 } };
  const all = [...indices].sort();
  const result: CorrelationQuery = { correlationId: c.id, indices: range.namespace ? scopeToNamespace(all, range.namespace) : all, query, ruleQueries };

  const ruleInputs = c.inputs.filter((i) => i.kind === 'rule');
  if (ruleInputs.length !== c.inputs.length) return { ...result, noCandidates: 'it references another correlation (chained)' };
  if (c.groupEcsFields.some((f) => f === undefined)) return { ...result, noCandidates: 'its group-by fields differ between the referenced rules (aliases)' };
  const fields = c.groupEcsFields as string[];
  const sub: Record<string, estypes.AggregationsAggregationContainer> = {};
  if (c.eager) {
    if (c.type === 'event_count') sub.windows = { date_histogram: { field: TIMESTAMP, fixed_interval: `${c.timespanMs}ms`, min_doc_count: 1 } };
    const valueFieldSets = new Set(ruleInputs.map((i) => (i.kind === 'rule' ? i.valueFields.join('|') : '')));
    const [only] = valueFieldSets;
    const valueField = valueFieldSets.size === 1 && only && !only.includes('|') ? only : undefined;
    if (c.type === 'value_count' && valueField) sub.distinct = { cardinality: { field: valueField } };
    if (c.type === 'value_sum' && valueField) sub.total = { sum: { field: valueField } };
    if (c.type === 'temporal' || c.type === 'temporal_ordered') {
      sub.inputs = { filters: { filters: Object.fromEntries(ruleInputs.map((i, n) => [String(n), ruleQueries[(i as { ruleId: string }).ruleId]!])) } };
    }
  }
  result.candidates = {
    fields,
    aggs: {
      groups: {
        composite: { size: 500, sources: fields.map((f, i) => ({ [`g${i}`]: { terms: { field: f } } })) },
        ...(Object.keys(sub).length ? { aggs: sub } : {}),
      },
    },
  };
  return result;
}

interface GroupBucket {
  key: Record<string, string | number>;
  doc_count: number;
  windows?: { buckets: Array<{ key: number; doc_count: number }> };
  distinct?: { value: number };
  total?: { value: number };
  inputs?: { buckets: Record<string, { doc_count: number }> };
}

/** Could this group's best sliding window meet the condition? (Over-estimates only.) */
function couldMatch(c: CompiledCorrelation, b: GroupBucket): boolean {
  if (!c.eager) return true;
  const min = conditionMinimum(c.condition);
  switch (c.type) {
    case 'event_count': {
      const w = b.windows?.buckets ?? [];
      let best = 0;
      for (let i = 0; i < w.length; i++) {
        const next = w[i + 1] && w[i + 1]!.key - w[i]!.key === c.timespanMs ? w[i + 1]!.doc_count : 0;
        best = Math.max(best, w[i]!.doc_count + next);
      }
      return b.doc_count >= min && (w.length === 0 || best >= min);
    }
    case 'value_count':
      return (b.distinct?.value ?? b.doc_count) >= min && b.doc_count >= min;
    case 'value_sum':
      return b.total === undefined || b.total.value >= min;
    case 'temporal':
    case 'temporal_ordered':
      return b.inputs === undefined || Object.values(b.inputs.buckets).filter((x) => x.doc_count > 0).length >= min;
  }
}

async function candidateGroups(client: Client, q: CorrelationQuery, c: CompiledCorrelation): Promise<{ groups: Array<Record<string, string | number>>; seen: number }> {
  const groups: Array<Record<string, string | number>> = [];
  let seen = 0;
  let after: Record<string, string | number> | undefined;
  const composite = q.candidates!.aggs.groups!;
  for (;;) {
    const aggs = { groups: { ...composite, composite: { ...composite.composite!, ...(after ? { after } : {}) } } } as Record<string, estypes.AggregationsAggregationContainer>;
    const res = await client.search({ index: q.indices.join(','), size: 0, query: q.query, aggs, ignore_unavailable: true, allow_no_indices: true });
    const agg = res.aggregations?.groups as { buckets: GroupBucket[]; after_key?: Record<string, string | number> } | undefined;
    const buckets = agg?.buckets ?? [];
    seen += buckets.length;
    for (const b of buckets) if (couldMatch(c, b)) groups.push(b.key);
    if (!agg?.after_key || buckets.length === 0) break;
    after = agg.after_key;
  }
  return { groups, seen };
}

/** Reads the matching events in time order with a point in time (search_after), at most `max`. */
async function* readEvents(client: Client, indices: string[], query: EsQuery, pageSize: number, max: number): AsyncGenerator<{ id: string; index: string; doc: EcsDocument }, boolean> {
  const pit = await client.openPointInTime({ index: indices.join(','), keep_alive: '2m', ignore_unavailable: true, allow_partial_search_results: false });
  let read = 0;
  try {
    let after: estypes.SortResults | undefined;
    for (;;) {
      const res = await client.search({
        pit: { id: pit.id, keep_alive: '2m' },
        size: Math.min(pageSize, max - read + 1),
        query,
        sort: [{ [TIMESTAMP]: { order: 'asc', unmapped_type: 'date' } }, { _shard_doc: 'asc' }],
        ...(after ? { search_after: after } : {}),
        track_total_hits: false,
      });
      const hits = res.hits.hits;
      for (const h of hits) {
        if (read >= max) return true;
        read++;
        yield { id: h._id!, index: h._index, doc: (h._source ?? {}) as EcsDocument };
      }
      if (hits.length === 0 || hits.length < Math.min(pageSize, max - read + 1)) return false;
      after = hits[hits.length - 1]!.sort;
    }
  } finally {
    await client.closePointInTime({ id: pit.id }).catch(() => undefined);
  }
}

/**
 * Evaluate one correlation over [from, to]. Windows that began before `from` are not seen:
 * schedule with `from = last checkpoint − timespan` so a window is always seen whole (the alert
 * id is deterministic per group and window, so the overlap never duplicates an alert).
 */
export async function evaluateCorrelationOverElastic(client: Client, set: CorrelationSet, correlationId: string, options: ElasticCorrelationOptions): Promise<ElasticCorrelationResult> {
  const c = requireCorrelation(set, correlationId);
  const q = compileCorrelationQuery(set, correlationId, options);
  const notes: string[] = [];
  // No index of this namespace among the rules' indices: nothing to read (an empty index list would mean every index).
  if (q.indices.length === 0) return { correlationId: c.id, matches: [], candidateGroups: 0, groupsSeen: 0, eventsRead: 0, truncated: false, notes };
  let query = q.query;
  let candidateCount: number | null = null;
  let groupsSeen: number | null = null;
  if (q.candidates) {
    const { groups, seen } = await candidateGroups(client, q, c);
    candidateCount = groups.length;
    groupsSeen = seen;
    if (groups.length === 0) return { correlationId: c.id, matches: [], candidateGroups: 0, groupsSeen: seen, eventsRead: 0, truncated: false, notes };
    const fields = q.candidates.fields;
    const groupFilter: EsQuery = {
      bool: {
        should: groups.map((g) => ({ bool: { filter: fields.map((f, i) => ({ term: { [f]: g[`g${i}`]! } })) } })),
        minimum_should_match: 1,
      },
    };
    query = { bool: { filter: [q.query, groupFilter] } };
  } else notes.push(`no candidate aggregation: ${q.noCandidates}`);

  const rules = [...baseRulesOf(set, c).values()];
  const matcher = new SigmaRuleSet(rules);
  const wanted = new Set(rules.map((r) => ruleIdOf(r.rule)));
  // Only this correlation (and what it chains) is evaluated: a state over just those.
  const state = new CorrelationState(set, options.limits);
  const matches: CorrelationMatch[] = [];
  const max = options.maxEvents ?? 50_000;
  let eventsRead = 0;
  const reader = readEvents(client, q.indices, query, options.pageSize ?? 1000, max);
  let truncated = false;
  for (;;) {
    const next = await reader.next();
    if (next.done) {
      truncated = next.value;
      break;
    }
    eventsRead++;
    const { id, index, doc } = next.value;
    // The query can be a superset (non-exact rule queries): the stream matcher decides.
    const ruleIds = matcher.match(doc).map((m) => m.ruleId).filter((r) => wanted.has(r));
    if (ruleIds.length) matches.push(...state.observe({ doc, ruleIds, id, index }));
  }
  matches.push(...state.advance(new Date(options.to).getTime()));
  if (truncated) notes.push(`stopped after ${max} events: later windows were not evaluated`);
  return { correlationId: c.id, matches: matches.filter((m) => m.correlationId === c.id), candidateGroups: candidateCount, groupsSeen, eventsRead, truncated, notes };
}
