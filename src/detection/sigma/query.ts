import type { estypes } from '@elastic/elasticsearch';
import { parseIp } from './ip.ts';
import { ownValue } from '../../reserved-keys.ts';
import { mapSigmaRule, type FieldMappings } from './mapping.ts';
import { stringShape } from './matcher.ts';
import { parseSigmaRegex } from './regex.ts';
import type { DetectionExpr, MappedSigmaRule, TargetFieldType, ValueTest } from './types.ts';

/**
 * The query backend: the same DetectionExpr as Elasticsearch query DSL (core queries only:
 * bool, term(s), prefix, wildcard, regexp, range, exists, match_all/none — no scripts, no
 * percolator). Case-insensitive by default through `case_insensitive: true`, as Sigma asks.
 *
 * What the DSL cannot say exactly (fieldref, ranges on non-numeric fields, regexes with
 * inner anchors or lookaround, …) is relaxed to a superset, polarity-aware: true where the
 * test sits under an even number of `not`s, false under an odd number. Such a query has
 * `exact: false` and its hits must be confirmed with the stream matcher; the watcher does
 * that, so both paths report the same matches.
 */

export type EsQuery = estypes.QueryDslQueryContainer;

export interface RuleQuery {
  indices: string[];
  query: EsQuery;
  /** False when hits are a superset and need confirming with the stream matcher. */
  exact: boolean;
}

interface Translated {
  query: EsQuery;
  exact: boolean;
}

const MATCH_ALL: EsQuery = { match_all: {} };
const MATCH_NONE: EsQuery = { match_none: {} };

/** Escape text for `wildcard` queries: `*`, `?` and `\` are special. */
export function escapeWildcard(text: string): string {
  return text.replace(/[\\*?]/g, '\\$&');
}

function wildcardPattern(parts: Extract<ValueTest, { kind: 'string' }>['parts']): string {
  return parts.map((p) => (p.kind === 'text' ? escapeWildcard(p.text) : p.kind === 'anyChars' ? '*' : '?')).join('');
}

function shouldOf(queries: EsQuery[]): EsQuery {
  if (queries.length === 1) return queries[0]!;
  return { bool: { should: queries, minimum_should_match: 1 } };
}

/** One (field, test) pair as a query, or undefined when the DSL cannot express it exactly. */
function leafQuery(field: string, type: TargetFieldType, test: ValueTest): EsQuery | undefined {
  switch (test.kind) {
    case 'string': {
      const s = stringShape(test.parts);
      if (type === 'ip') return s.shape === 'eq' && parseIp(s.text) ? { term: { [field]: { value: s.text } } } : undefined;
      if (type === 'number') return s.shape === 'eq' && s.text.trim() !== '' && Number.isFinite(Number(s.text)) ? { term: { [field]: { value: s.text } } } : undefined;
      if (type === 'boolean') return s.shape === 'eq' && /^(true|false)$/i.test(s.text) ? { term: { [field]: { value: s.text.toLowerCase() === 'true' } } } : undefined;
      const ci = test.cased ? {} : { case_insensitive: true };
      if (s.shape === 'eq') return { term: { [field]: { value: s.text, ...ci } } };
      if (s.shape === 'prefix') return { prefix: { [field]: { value: s.text, ...ci } } };
      return { wildcard: { [field]: { value: wildcardPattern(test.parts), ...ci } } };
    }
    case 'regex': {
      if (type !== 'keyword') return undefined;
      const lucene = parseSigmaRegex(test.source, test.flags).lucene;
      if (lucene === undefined) return undefined;
      return { regexp: { [field]: { value: lucene, flags: 'NONE', ...(test.flags.i ? { case_insensitive: true } : {}) } } };
    }
    case 'cidr':
      return type === 'ip' ? { term: { [field]: { value: test.network } } } : undefined;
    case 'compare':
      return type === 'number' ? { range: { [field]: { [test.op]: test.value } } } : undefined;
    case 'fieldref':
      return undefined; // comparing two fields needs a script; relaxed and confirmed by the matcher
  }
}

function translate(expr: DetectionExpr, positive: boolean, types: Record<string, TargetFieldType>): Translated {
  switch (expr.op) {
    case 'and':
    case 'or': {
      const parts = expr.args.map((a) => translate(a, positive, types));
      const queries = parts.map((p) => p.query);
      const exact = parts.every((p) => p.exact);
      return { query: expr.op === 'and' ? { bool: { filter: queries } } : shouldOf(queries), exact };
    }
    case 'not': {
      const inner = translate(expr.arg, !positive, types);
      return { query: { bool: { must_not: [inner.query] } }, exact: inner.exact };
    }
    case 'const':
      return { query: expr.value ? MATCH_ALL : MATCH_NONE, exact: true };
    case 'exists':
      return { query: shouldOf(expr.fields.map((field) => ({ exists: { field } }))), exact: true };
    case 'match': {
      const queries: EsQuery[] = [];
      let exact = true;
      for (const field of expr.fields) {
        const type = ownValue(types, field) ?? 'keyword';
        // Case-sensitive equality lists collapse into one `terms` query.
        const casedEq: string[] = [];
        for (const test of expr.tests) {
          if (test.kind === 'string' && test.cased && type === 'keyword' && stringShape(test.parts).shape === 'eq') {
            casedEq.push((stringShape(test.parts) as { text: string }).text);
            continue;
          }
          const q = leafQuery(field, type, test);
          if (q) queries.push(q);
          else {
            exact = false;
            // Relaxed: make the whole leaf a superset in this polarity.
            return { query: positive ? MATCH_ALL : MATCH_NONE, exact: false };
          }
        }
        if (casedEq.length === 1) queries.push({ term: { [field]: { value: casedEq[0]! } } });
        else if (casedEq.length) queries.push({ terms: { [field]: casedEq } });
      }
      return { query: queries.length ? shouldOf(queries) : MATCH_NONE, exact };
    }
  }
}

export function compileMappedRuleQuery(mapped: MappedSigmaRule): RuleQuery {
  const { query, exact } = translate(mapped.expr, true, mapped.fieldTypes);
  return { indices: mapped.indices, query, exact };
}

/** Sigma rule → `{indices, query}` for a search (`exact: false` ⇒ confirm hits with the matcher). */
export function compileRuleQuery(rule: Parameters<typeof mapSigmaRule>[0], mappings: FieldMappings): RuleQuery {
  return compileMappedRuleQuery(mapSigmaRule(rule, mappings));
}
