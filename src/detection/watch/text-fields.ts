import type { Client, estypes } from '@elastic/elasticsearch';
import type { RuleQuery } from '../sigma/index.ts';

/**
 * A Sigma string test means "the whole value", but on a `text` field (ECS `message` is one) a term/wildcard query
 * sees analysed tokens: `*new user*` would never match. The cluster's own mappings decide: leaves on text fields
 * become a superset (field exists, or nothing under a `not`), the query is marked inexact, and the watcher
 * confirms hits with the stream matcher — so both paths keep one meaning on any mapping.
 */

type Q = estypes.QueryDslQueryContainer;
/** The DSL as plain data: only bool and string leaves are looked into. */
type Node = { bool?: Partial<Record<'filter' | 'must' | 'should' | 'must_not', Q | Q[]>> & Record<string, unknown> } & Record<string, unknown>;
const TEXT_TYPES = new Set(['text', 'match_only_text', 'annotated_text']);
const STRING_LEAVES = ['term', 'terms', 'prefix', 'wildcard', 'regexp'] as const;

function fieldsOf(query: Q, out: Set<string>): Set<string> {
  const q = query as Node;
  const b = q.bool;
  if (b) {
    for (const key of ['filter', 'must', 'should', 'must_not'] as const) {
      const v = b[key];
      for (const c of Array.isArray(v) ? v : v ? [v] : []) fieldsOf(c, out);
    }
    return out;
  }
  for (const leaf of STRING_LEAVES) {
    const body = q[leaf] as Record<string, unknown> | undefined;
    if (body) for (const f of Object.keys(body)) if (f !== 'boost' && f !== '_name') out.add(f);
  }
  return out;
}

function relax(query: Q, text: Set<string>, positive: boolean): { q: Q; changed: boolean } {
  const q = query as Node;
  const b = q.bool;
  if (b) {
    let changed = false;
    const next: Record<string, unknown> = { ...b };
    for (const key of ['filter', 'must', 'should', 'must_not'] as const) {
      const v = b[key];
      if (!v) continue;
      const list = (Array.isArray(v) ? v : [v]).map((c) => relax(c, text, key === 'must_not' ? !positive : positive));
      changed ||= list.some((r) => r.changed);
      next[key] = list.map((r) => r.q);
    }
    return { q: { bool: next } as Q, changed };
  }
  for (const leaf of STRING_LEAVES) {
    const body = q[leaf] as Record<string, unknown> | undefined;
    const field = body && Object.keys(body).find((f) => f !== 'boost' && f !== '_name');
    if (field && text.has(field)) return { q: positive ? { exists: { field } } : { match_none: {} }, changed: true };
  }
  return { q: query, changed: false };
}

/** The rule's query, adapted to the fields the cluster maps as text (unchanged when there are none). */
export async function adaptToMappings(client: Client, query: RuleQuery): Promise<RuleQuery> {
  const fields = [...fieldsOf(query.query, new Set())];
  if (!fields.length) return query;
  const caps = await client.fieldCaps({ index: query.indices.join(','), fields, ignore_unavailable: true, allow_no_indices: true });
  const text = new Set(Object.entries(caps.fields ?? {}).filter(([, types]) => Object.keys(types).some((t) => TEXT_TYPES.has(t))).map(([f]) => f));
  if (!text.size) return query;
  const { q, changed } = relax(query.query, text, true);
  return changed ? { indices: query.indices, query: q, exact: false } : query;
}
