import { NyxError } from '../../errors.ts';
import { resolveLogsource, ruleIdOf, SigmaRuleError, type FieldMappings, type MappedSigmaRule, type SigmaCorrelationCondition, type SigmaCorrelationRule, type SigmaCorrelationType } from '../sigma/index.ts';

/**
 * A correlation rule with its references resolved: each referenced detection rule or
 * correlation is known, and every group-by name (and the condition field) is resolved to the
 * ECS field it has in each referenced rule's events (field mappings and `aliases` applied).
 */

/** Where one input of a correlation comes from. */
export type CorrelationInput =
  | { kind: 'rule'; ruleId: string; mapped: MappedSigmaRule; groupFields: string[][]; valueFields: string[] }
  /** A chained correlation: its firings are this correlation's events; group values are carried by name. */
  | { kind: 'correlation'; correlationId: string };

export interface CompiledCorrelation {
  id: string;
  rule: SigmaCorrelationRule;
  type: SigmaCorrelationType;
  inputs: CorrelationInput[];
  /** Group-by names as written (Sigma field names or aliases): the alert's group keys. */
  groupBy: string[];
  /**
   * The ECS field each group-by name resolves to when every rule input agrees (used for alert
   * entity fields and for grouping in Elasticsearch); undefined where inputs differ (aliases).
   */
  groupEcsFields: (string | undefined)[];
  condition: SigmaCorrelationCondition;
  /** True when the condition only has lower bounds (gt/gte): it can fire as soon as it holds. */
  eager: boolean;
  timespanMs: number;
}

export interface CorrelationSet {
  /** In dependency order: a correlation comes after every correlation it references. */
  correlations: CompiledCorrelation[];
  byId: Map<string, CompiledCorrelation>;
  /** Every detection rule some correlation reads, by rule id. */
  baseRules: Map<string, MappedSigmaRule>;
}

export function correlationIdOf(rule: SigmaCorrelationRule): string {
  return rule.id ?? rule.name ?? `${rule.file}#${rule.line}`;
}

/** The condition as a predicate over the measured value (count, distinct values, sum, rules seen). */
export function conditionHolds(c: SigmaCorrelationCondition, n: number): boolean {
  return (c.gt === undefined || n > c.gt) && (c.gte === undefined || n >= c.gte) && (c.lt === undefined || n < c.lt) && (c.lte === undefined || n <= c.lte) && (c.eq === undefined || n === c.eq);
}

/** The smallest value a lower-bound-only condition accepts (for pruning in Elasticsearch). */
export function conditionMinimum(c: SigmaCorrelationCondition): number {
  return Math.max(c.gte ?? -Infinity, c.gt !== undefined ? c.gt + Number.EPSILON : -Infinity);
}

export function describeCondition(c: SigmaCorrelationCondition): string {
  return (['gt', 'gte', 'lt', 'lte', 'eq'] as const)
    .filter((k) => c[k] !== undefined)
    .map((k) => `${{ gt: '>', gte: '>=', lt: '<', lte: '<=', eq: '==' }[k]} ${c[k]}`)
    .join(' and ');
}

function fieldTargets(mapped: MappedSigmaRule, mappings: FieldMappings, name: string): string[] {
  const source = resolveLogsource(mappings, mapped.rule.logsource);
  const resolved = source?.resolveField(name);
  if (!resolved) return [name];
  const t = resolved.target;
  if (typeof t === 'string') return [t];
  if (Array.isArray(t)) return t;
  return [...Object.values(t.hashes)];
}

/**
 * Resolve every correlation's references against the loaded detection rules (by id or name)
 * and the other correlations. A correlation that cannot be resolved becomes an error naming its
 * file and line; the others still compile.
 */
export function compileCorrelations(
  correlations: SigmaCorrelationRule[],
  rules: MappedSigmaRule[],
  mappings: FieldMappings,
): { set: CorrelationSet; errors: SigmaRuleError[] } {
  const ruleByRef = new Map<string, MappedSigmaRule>();
  for (const m of rules) {
    ruleByRef.set(ruleIdOf(m.rule), m);
    if (m.rule.id) ruleByRef.set(m.rule.id, m);
    if (m.rule.name) ruleByRef.set(m.rule.name, m);
  }
  const corrByRef = new Map<string, SigmaCorrelationRule>();
  for (const c of correlations) {
    corrByRef.set(correlationIdOf(c), c);
    if (c.name) corrByRef.set(c.name, c);
  }
  const errors: SigmaRuleError[] = [];
  const compiled = new Map<SigmaCorrelationRule, CompiledCorrelation | null>();
  const visiting = new Set<SigmaCorrelationRule>();
  const order: CompiledCorrelation[] = [];

  const compileOne = (c: SigmaCorrelationRule): CompiledCorrelation | null => {
    if (compiled.has(c)) return compiled.get(c)!;
    const fail = (reason: string): null => {
      errors.push(new SigmaRuleError(c.file, c.line, `correlation '${c.title}': ${reason}`));
      compiled.set(c, null);
      return null;
    };
    if (visiting.has(c)) return fail('references itself through a chain of correlations');
    visiting.add(c);
    try {
      const inputs: CorrelationInput[] = [];
      for (const ref of c.rules) {
        const base = ruleByRef.get(ref);
        if (base) {
          const ruleName = base.rule.name;
          const groupFields = c.groupBy.map((g) => {
            const alias = c.aliases[g];
            if (alias) {
              const field = (ruleName !== undefined ? alias[ruleName] : undefined) ?? alias[ref] ?? alias[ruleIdOf(base.rule)];
              if (!field) throw new Error(`alias '${g}' has no field for rule '${ref}' (aliases are keyed by rule name)`);
              return fieldTargets(base, mappings, field);
            }
            return fieldTargets(base, mappings, g);
          });
          const valueFields = c.condition.field ? fieldTargets(base, mappings, c.condition.field) : [];
          inputs.push({ kind: 'rule', ruleId: ruleIdOf(base.rule), mapped: base, groupFields, valueFields });
          continue;
        }
        const chained = corrByRef.get(ref);
        if (chained) {
          const inner = compileOne(chained);
          if (!inner) return fail(`referenced correlation '${ref}' did not compile`);
          const missing = c.groupBy.filter((g) => !inner.groupBy.includes(g));
          if (missing.length) return fail(`group-by ${missing.map((m) => `'${m}'`).join(', ')} is not among the group-by fields of the referenced correlation '${ref}'`);
          if (c.condition.field) return fail(`'condition.field' cannot read fields of the referenced correlation '${ref}'`);
          inputs.push({ kind: 'correlation', correlationId: inner.id });
          continue;
        }
        return fail(`references '${ref}', which is neither a loaded rule (id or name) nor a correlation`);
      }
      const ruleInputs = inputs.filter((i): i is Extract<CorrelationInput, { kind: 'rule' }> => i.kind === 'rule');
      const groupEcsFields = c.groupBy.map((_, gi) => {
        const firsts = new Set(ruleInputs.map((i) => i.groupFields[gi]!.join('|')));
        return firsts.size === 1 && ruleInputs[0]!.groupFields[gi]!.length === 1 ? ruleInputs[0]!.groupFields[gi]![0] : undefined;
      });
      const cond = c.condition;
      const result: CompiledCorrelation = {
        id: correlationIdOf(c),
        rule: c,
        type: c.type,
        inputs,
        groupBy: c.groupBy,
        groupEcsFields: ruleInputs.length ? groupEcsFields : c.groupBy.map(() => undefined),
        condition: cond,
        eager: cond.lt === undefined && cond.lte === undefined && cond.eq === undefined,
        timespanMs: c.timespanMs,
      };
      compiled.set(c, result);
      order.push(result);
      return result;
    } catch (err) {
      return fail((err as Error).message);
    } finally {
      visiting.delete(c);
    }
  };

  for (const c of correlations) compileOne(c);
  const ids = new Map<string, CompiledCorrelation>();
  for (const c of order) {
    if (ids.has(c.id)) errors.push(new SigmaRuleError(c.rule.file, c.rule.line, `correlation id '${c.id}' is used twice`));
    ids.set(c.id, c);
  }
  const baseRules = new Map<string, MappedSigmaRule>();
  for (const c of order) for (const i of c.inputs) if (i.kind === 'rule') baseRules.set(i.ruleId, i.mapped);
  return { set: { correlations: order, byId: ids, baseRules }, errors };
}

export function requireCorrelation(set: CorrelationSet, id: string): CompiledCorrelation {
  const c = set.byId.get(id);
  if (!c) throw new NyxError(`no correlation rule '${id}' is loaded`, `known: ${[...set.byId.keys()].join(', ') || 'none'}`);
  return c;
}
